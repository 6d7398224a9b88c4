// olm bench racing CONFIG: what racing saves and whether it changes a merge.
// The config's merge runs three times in one process, without export,
// references or safeguard, into a temporary output folder:
//   full      racing off: every candidate scored on every sample;
//   values    racing on at confidence 1 (no candidate ever stops): every
//             candidate scored on every sample through racing's chunks, so every
//             per-sample value racing would see is recorded;
//   racing    racing on at the configured (or --confidence) confidence.
// From the values run, every position is raced again offline (the same
// schedule and stopping rule as the search): how often the raced choice differs
// from the full evaluation's at the same position, and the samples it needs.
// The racing run gives the real wall time and its merge is compared with full's.
#include "app/cli/args.h"
#include "app/cli/bench.h"
#include "app/cli/bench_timing.h"
#include "core/merge/config.h"
#include "core/merge/run.h"
#include "core/merge/search.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

namespace olm {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using cli::seconds_since;
using cli::timed_merge;

struct PositionRecord {
    PositionId pos;
    std::vector<std::string> names;                        // candidate order
    std::vector<std::vector<std::vector<double>>> values;  // [candidate][dataset][sample]
    std::vector<bool> reused;                              // the working model itself: free
    std::string best;
};

class Recorder : public MergeEvents {
public:
    explicit Recorder(std::vector<std::string> datasets) : m_datasets(std::move(datasets)) {}
    void candidate_finished(const CandidateEvent& c, const CandidateResult& r) override {
        PositionRecord& p = m_open[key(c.position)];
        p.pos = c.position;
        if (p.names.size() < static_cast<size_t>(c.count)) {
            p.names.resize(static_cast<size_t>(c.count));
            p.values.resize(static_cast<size_t>(c.count));
            p.reused.resize(static_cast<size_t>(c.count), false);
        }
        const auto j = static_cast<size_t>(c.index);
        p.names[j] = c.name;
        p.reused[j] = r.status == CandidateStatus::reused_identical;
        p.values[j].clear();
        if (r.status == CandidateStatus::failed) return;
        for (const auto& d : m_datasets) {
            auto it = r.per_sample.find(d);
            p.values[j].push_back(it != r.per_sample.end() ? it->second : std::vector<double>{});
        }
    }
    void position_decided(const PositionDecision& d) override {
        auto it = m_open.find(key(d.position));
        if (it == m_open.end()) return;
        it->second.best = d.best_name;
        positions.push_back(std::move(it->second));
        m_open.erase(it);
    }
    std::vector<PositionRecord> positions;  // decision order

private:
    static std::string key(const PositionId& p) { return std::to_string(p.pass) + "/" + p.key(); }
    std::vector<std::string> m_datasets;
    std::map<std::string, PositionRecord> m_open;
};

struct Run {
    double seconds = 0;
    nlohmann::json report;
    std::vector<PositionRecord> positions;
};

Run run_merge(MergeConfig cfg, const fs::path& out, bool racing, double confidence) {
    fs::remove_all(out);
    cfg.output_dir = out;
    cfg.load_merge_report = false;
    cfg.references = false;
    cfg.safeguard = "off";
    cfg.racing = racing;
    cfg.racing_confidence = confidence;
    std::vector<std::string> names;
    for (const auto& d : cfg.datasets) names.push_back(d.name);
    Recorder rec(names);
    Run r;
    r.seconds = timed_merge(cfg, rec);
    std::ifstream in(out / "merge_report.json");
    r.report = nlohmann::json::parse(in);
    r.positions = std::move(rec.positions);
    return r;
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// A raced position replayed on recorded values, as the search races it.
struct Replay {
    std::string best;       // racing's choice
    std::string full_best;  // the choice on every sample
    long long scored = 0, full = 0;
};

Replay replay(const PositionRecord& p, SelectionRule rule, double confidence) {
    const size_t n = p.values.size();
    size_t nd = 0;
    for (const auto& v : p.values) nd = std::max(nd, v.size());
    std::vector<std::vector<long long>> bounds(nd);
    size_t rounds = 0;
    for (size_t d = 0; d < nd; ++d) {
        long long count = 0;
        for (const auto& v : p.values)
            if (v.size() == nd) count = std::max(count, static_cast<long long>(v[d].size()));
        bounds[d] = racing_chunks(count);
        rounds = std::max(rounds, bounds[d].size());
    }
    auto bound = [&](size_t d, size_t k) { return bounds[d][std::min(k, bounds[d].size() - 1)]; };
    const bool slot = p.pos.kind == PositionId::Kind::layer || p.pos.kind == PositionId::Kind::tensor;
    std::vector<bool> alive(n);
    std::vector<int> stopped(n, -1);
    for (size_t j = 0; j < n; ++j) alive[j] = !p.reused[j] && p.values[j].size() == nd;
    auto cut_to = [&](size_t j, size_t k) {
        std::vector<std::vector<double>> c(nd);
        if (p.values[j].size() != nd) return std::vector<std::vector<double>>{};
        for (size_t d = 0; d < nd; ++d) {
            const auto& v = p.values[j][d];
            const size_t m = std::min(v.size(), static_cast<size_t>(bound(d, k)));
            c[d].assign(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m));
        }
        return c;
    };
    for (size_t k = 0; k + 1 < rounds; ++k) {
        std::vector<std::vector<std::vector<double>>> cut(n);
        for (size_t j = 0; j < n; ++j)
            cut[j] = cut_to(j, stopped[j] >= 0 ? static_cast<size_t>(stopped[j]) : k);
        const auto out = racing_cannot_win(cut, alive, rule, slot, confidence);
        for (size_t j = 0; j < n; ++j)
            if (out[j]) alive[j] = false, stopped[j] = static_cast<int>(k);
    }
    Replay r;
    std::vector<std::vector<double>> table(n, std::vector<double>(nd, 0.0)),
        full(n, std::vector<double>(nd, 0.0));
    std::vector<bool> eligible(n);
    for (size_t j = 0; j < n; ++j) {
        eligible[j] = p.values[j].size() == nd;
        if (!eligible[j]) continue;
        const auto c = cut_to(j, stopped[j] >= 0 ? static_cast<size_t>(stopped[j]) : rounds);
        for (size_t d = 0; d < nd; ++d) {
            table[j][d] = mean(c[d]);
            full[j][d] = mean(p.values[j][d]);
            if (!p.reused[j]) {
                r.scored += static_cast<long long>(c[d].size());
                r.full += static_cast<long long>(p.values[j][d].size());
            }
        }
    }
    int best = select_best(table, eligible, rule, slot);
    if (best >= 0 && stopped[static_cast<size_t>(best)] >= 0) {
        for (size_t j = 0; j < n; ++j)
            if (stopped[j] >= 0) eligible[j] = false;
        best = select_best(table, eligible, rule, slot);
    }
    std::vector<bool> all(n);
    for (size_t j = 0; j < n; ++j) all[j] = p.values[j].size() == nd;
    const int fb = select_best(full, all, rule, slot);
    r.best = best >= 0 ? p.names[static_cast<size_t>(best)] : "";
    r.full_best = fb >= 0 ? p.names[static_cast<size_t>(fb)] : "";
    return r;
}

long long samples_of(const std::vector<PositionRecord>& ps) {
    long long n = 0;
    for (const auto& p : ps)
        for (size_t j = 0; j < p.values.size(); ++j)
            if (!p.reused[j])
                for (const auto& v : p.values[j]) n += static_cast<long long>(v.size());
    return n;
}

int run_bench(const std::vector<std::string>& argv) {
    cli::Args args(argv, {"confidence", "selection", "search"}, {});
    if (args.positional().size() != 1)
        throw Error("bench racing: expected one merge config (olm bench racing CONFIG.yaml)");
    MergeConfig cfg = load_merge_config(args.positional()[0]);
    if (auto s = args.value("search")) cfg.search = *s;
    if (auto s = args.value("selection")) cfg.selection = *s;
    const double confidence = args.double_or("confidence", cfg.racing_confidence);
    if (!(confidence >= 0.5 && confidence < 1))
        throw Error("bench racing: --confidence must lie in [0.5, 1)");
    if (!cfg.improve_all.empty())
        std::printf("note: improve_all '%s' gates the layer and tensor positions, which are then not raced\n",
                    cfg.improve_all.c_str());
    const SelectionRule rule = parse_selection_rule(cfg.effective_selection());
    const fs::path tmp = fs::temp_directory_path() / ("olm-bench-racing-" + std::to_string(::getpid()));
    std::printf("olm bench racing: %s (search %s, selection %s, racing confidence %.4g)\n",
                args.positional()[0].c_str(), cfg.search.c_str(), cfg.effective_selection().c_str(),
                confidence);
    std::fflush(stdout);

    const Run full = run_merge(cfg, tmp / "full", false, confidence);
    std::printf("full evaluation: %.1f s\n", full.seconds);
    std::fflush(stdout);
    const Run values = run_merge(cfg, tmp / "values", true, 1.0);
    std::printf("every sample through racing's chunks: %.1f s\n", values.seconds);
    std::fflush(stdout);
    const Run raced = run_merge(cfg, tmp / "racing", true, confidence);
    std::printf("racing: %.1f s\n\n", raced.seconds);
    fs::remove_all(tmp);

    // Offline: each position of the full path, raced on its recorded values.
    int differ = 0, raced_positions = 0;
    long long scored = 0, all = 0;
    std::printf("%-14s %-8s %-22s %-22s %10s %10s\n", "position", "pass", "full evaluation", "racing",
                "samples", "of");
    for (const auto& p : values.positions) {
        if (p.values.size() < 2) continue;
        const Replay r = replay(p, rule, confidence);
        ++raced_positions;
        differ += r.best != r.full_best;
        scored += r.scored;
        all += r.full;
        std::printf("%-14s %-8d %-22s %-22s %10lld %10lld%s\n", p.pos.key().c_str(), p.pos.pass,
                    r.full_best.c_str(), r.best.c_str(), r.scored, r.full,
                    r.best != r.full_best ? "  DIFFERS" : "");
    }
    const bool same_path =
        full.report.value("recipe", nlohmann::json()) == values.report.value("recipe", nlohmann::json());
    const bool same_merge =
        full.report.value("recipe", nlohmann::json()) == raced.report.value("recipe", nlohmann::json());
    const auto& rs = raced.report.value("racing", nlohmann::json::object());
    std::printf(
        "\noffline, on the full path: raced choice differs at %d of %d positions; samples %lld of %lld "
        "(%.1f%% saved, %.2fx less work)\n",
        differ, raced_positions, scored, all, all ? 100.0 * (1 - double(scored) / double(all)) : 0.0,
        scored ? double(all) / double(scored) : 0.0);
    std::printf(
        "the racing merge: samples %lld of %lld (%.1f%% saved); wall %.1f s vs %.1f s (%.2fx); "
        "merge identical to the full evaluation's: %s\n",
        rs.value("samples_scored", 0LL), rs.value("samples_full", 0LL), 100.0 * rs.value("work_saved", 0.0),
        raced.seconds, full.seconds, raced.seconds > 0 ? full.seconds / raced.seconds : 0.0,
        same_merge ? "yes" : "NO");
    std::printf("(values run's merge identical to the full evaluation's: %s; its %lld samples)\n",
                same_path ? "yes" : "NO", samples_of(values.positions));
    return 0;
}

}  // namespace
}  // namespace olm

OLM_BENCHMARK("racing", "what racing saves, and whether it changes the merge (three runs of CONFIG)",
              "CONFIG.yaml [--confidence 0.999] [--selection RULE] [--search PRESET]\n"
              "  runs the merge with racing off, on at confidence 1 (every value recorded) and on,\n"
              "  without export, references or safeguard, in a temporary folder",
              olm::run_bench);
