#pragma once
// Timing helpers shared by the benchmarks (olm bench engine, merge).
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace olm {
struct MergeConfig;
class MergeEvents;
}  // namespace olm

namespace olm::cli {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best of `reps` timings of fn (after one warm-up call).
template <class F>
double best_time(int reps, F&& fn) {
    fn();
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = Clock::now();
        fn();
        best = std::min(best, seconds_since(t0));
    }
    return best;
}

// GFLOP/s of at::linear([m, k] x [n, k]^T) in dtype, as the engine's
// projections run it: best of `reps` after a warm-up.
double matmul_gflops(at::ScalarType dtype, int64_t m, int64_t k, int64_t n, int reps,
                     at::Device device = at::kCPU);

// Wall seconds of a merge of `cfg` (its search and report; no export).
double timed_merge(const MergeConfig& cfg, MergeEvents& events);

}  // namespace olm::cli
