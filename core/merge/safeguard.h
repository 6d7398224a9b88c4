#pragma once
// The final safeguard: is the merge better than the best single pool model?
// A paired bootstrap over samples, stratified by dataset.
//
// Per dataset d, diff_i = member_i - merge_i on the same sample (lower is
// better, so positive = the merge is better), divided by the spread of that
// dataset's per-sample values (pooled standard deviation of both; 1 when it is
// 0) so that datasets with different scales weigh alike. The statistic is the
// mean over datasets of the mean scaled difference; resamples draw samples
// with replacement within each dataset. Verdict from the 95% interval:
// better (low > 0), worse (high < 0), else not distinguishable.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace olm {

struct BootstrapResult {
    std::string verdict;  // "better" | "not distinguishable" | "worse"
    double mean = 0;      // the statistic on the observed samples
    double low = 0;       // 2.5th percentile of the resampled statistic
    double high = 0;      // 97.5th percentile
    int64_t samples = 0;  // paired samples used (all datasets)
};

// merge[d][i], member[d][i]: per-sample values (lower is better) on dataset d.
// Throws olm::Error when the shapes differ or no dataset has samples.
BootstrapResult paired_bootstrap(const std::vector<std::vector<double>>& merge,
                                 const std::vector<std::vector<double>>& member, int64_t resamples,
                                 uint64_t seed);

nlohmann::json bootstrap_to_json(const BootstrapResult& r);

}  // namespace olm
