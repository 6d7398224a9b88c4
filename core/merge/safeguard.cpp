#include "core/merge/safeguard.h"

#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

namespace olm {

BootstrapResult paired_bootstrap(const std::vector<std::vector<double>>& merge,
                                 const std::vector<std::vector<double>>& member, int64_t resamples,
                                 uint64_t seed) {
    if (merge.size() != member.size()) throw Error("paired bootstrap: dataset counts differ");
    std::vector<std::vector<double>> diffs;  // scaled, per dataset
    BootstrapResult r;
    for (size_t d = 0; d < merge.size(); ++d) {
        if (merge[d].size() != member[d].size())
            throw Error("paired bootstrap: dataset " + std::to_string(d) + " has " +
                        std::to_string(merge[d].size()) + " merge samples and " +
                        std::to_string(member[d].size()) + " member samples");
        const size_t n = merge[d].size();
        if (n == 0) continue;
        double mean = 0;
        for (size_t i = 0; i < n; ++i) mean += merge[d][i] + member[d][i];
        mean /= static_cast<double>(2 * n);
        double var = 0;
        for (size_t i = 0; i < n; ++i)
            var +=
                (merge[d][i] - mean) * (merge[d][i] - mean) + (member[d][i] - mean) * (member[d][i] - mean);
        double sd = std::sqrt(var / static_cast<double>(2 * n));
        if (!(sd > 0)) sd = 1.0;
        std::vector<double> x(n);
        for (size_t i = 0; i < n; ++i) x[i] = (member[d][i] - merge[d][i]) / sd;
        diffs.push_back(std::move(x));
        r.samples += static_cast<int64_t>(n);
    }
    if (diffs.empty()) throw Error("paired bootstrap: no samples");
    auto statistic = [&](const std::vector<std::vector<double>>& ds) {
        double s = 0;
        for (const auto& x : ds) {
            double m = 0;
            for (double v : x) m += v;
            s += m / static_cast<double>(x.size());
        }
        return s / static_cast<double>(ds.size());
    };
    r.mean = statistic(diffs);
    std::mt19937_64 rng(seed ^ 0x5eed5afe9a4dULL);
    std::vector<double> stats;
    stats.reserve(static_cast<size_t>(std::max<int64_t>(resamples, 1)));
    for (int64_t b = 0; b < resamples; ++b) {
        double s = 0;
        for (const auto& x : diffs) {
            std::uniform_int_distribution<size_t> pick(0, x.size() - 1);
            double m = 0;
            for (size_t i = 0; i < x.size(); ++i) m += x[pick(rng)];
            s += m / static_cast<double>(x.size());
        }
        stats.push_back(s / static_cast<double>(diffs.size()));
    }
    std::sort(stats.begin(), stats.end());
    auto q = [&](double p) {
        if (stats.empty()) return r.mean;
        const double pos = p * static_cast<double>(stats.size() - 1);
        const size_t lo = static_cast<size_t>(std::floor(pos));
        const size_t hi = std::min(stats.size() - 1, lo + 1);
        return stats[lo] + (stats[hi] - stats[lo]) * (pos - static_cast<double>(lo));
    };
    r.low = q(0.025);
    r.high = q(0.975);
    r.verdict = r.low > 0 ? "better" : (r.high < 0 ? "worse" : "not distinguishable");
    return r;
}

nlohmann::json bootstrap_to_json(const BootstrapResult& r) {
    return {
        {"verdict", r.verdict}, {"mean", r.mean}, {"low", r.low}, {"high", r.high}, {"samples", r.samples}};
}

}  // namespace olm
