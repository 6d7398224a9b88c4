#include "core/util/threads.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

namespace olm {

namespace {

int env_int(const char* name) {
    const char* v = std::getenv(name);
    return (v && *v) ? std::atoi(v) : 0;
}

}  // namespace

int set_blas_threads(int n) {
    using Set = void (*)(int);
    auto set = reinterpret_cast<Set>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (!set) return 0;
    set(std::max(1, n));
    return blas_threads();
}

int blas_threads() {
    using Get = int (*)();
    auto get = reinterpret_cast<Get>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return get ? get() : 0;
}

int apply_thread_settings(const ThreadSettings& s) {
    int intra = s.intra_op;
    if (const int env = env_int("OLM_THREADS"); env > 0) intra = env;
    if (intra <= 0) intra = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int blas = std::max(1, s.blas);
    if (const int env = env_int("OLM_BLAS_THREADS"); env > 0) blas = env;
    // For libraries loaded later, and for the record; OpenBLAS already loaded
    // is set directly below.
    ::setenv("OPENBLAS_NUM_THREADS", std::to_string(blas).c_str(), 0);
    set_blas_threads(blas);
    at::set_num_threads(intra);
    return intra;
}

}  // namespace olm
