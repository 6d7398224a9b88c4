#include "app/cli/bench_timing.h"

#include <c10/core/InferenceMode.h>

#include "core/merge/run.h"

namespace olm::cli {

double matmul_gflops(at::ScalarType dtype, int64_t m, int64_t k, int64_t n, int reps, at::Device device) {
    c10::InferenceMode guard;
    at::Tensor a = at::randn({m, k}).to(device, dtype), b = at::randn({n, k}).to(device, dtype);
    // a @ b^T, as the engine's projections; on a GPU the wait for the result is timed too.
    const double t = best_time(reps, [&] {
        at::Tensor c = at::linear(a, b);
        if (device.is_cuda()) c.select(0, 0).select(0, 0).item<float>();
    });
    return 2.0 * double(m) * double(k) * double(n) / t / 1e9;
}

}  // namespace olm::cli

namespace olm::cli {

double timed_merge(const MergeConfig& cfg, MergeEvents& events) {
    MergeRunOptions opt;
    opt.export_model = false;
    opt.verify_export = false;
    const auto t0 = Clock::now();
    MergeRun run(cfg, events, opt);
    run.run();
    return seconds_since(t0);
}

}  // namespace olm::cli
