#include "core/util/threads.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <string>
#include <thread>

namespace olm {

int apply_thread_settings(const ThreadSettings& s) {
    int intra = s.intra_op;
    if (const char* env = std::getenv("OLM_THREADS"); env && *env) intra = std::atoi(env);
    if (intra <= 0) intra = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // BLAS threads are read by OpenBLAS at load; setting them here covers
    // libraries loaded later and documents the intent.
    const std::string blas = std::to_string(std::max(1, s.blas));
    ::setenv("OPENBLAS_NUM_THREADS", blas.c_str(), 0);
    at::set_num_threads(intra);
    return intra;
}

}  // namespace olm
