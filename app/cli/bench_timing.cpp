#include "app/cli/bench_timing.h"

#include <c10/core/InferenceMode.h>

namespace olm::cli {

double matmul_gflops(at::ScalarType dtype, int64_t m, int64_t k, int64_t n, int reps) {
    c10::InferenceMode guard;
    at::Tensor a = at::randn({m, k}).to(dtype), b = at::randn({n, k}).to(dtype);
    const double t = best_time(reps, [&] { at::linear(a, b); });  // a @ b^T, as the engine's projections
    return 2.0 * double(m) * double(k) * double(n) / t / 1e9;
}

}  // namespace olm::cli
