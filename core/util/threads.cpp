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

ThreadSettings cpu_threads(int n) {
    ThreadSettings s;
    if (n > 0) s.intra_op = 1, s.blas = n;
    return s;
}

int apply_thread_settings(const ThreadSettings& s) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int intra = s.intra_op > 0 ? s.intra_op : 1;
    if (const int env = env_int("OLM_THREADS"); env > 0) intra = env;
    const int blas_env = env_int("OPENBLAS_NUM_THREADS");
    int blas = s.blas > 0 ? s.blas : blas_env > 0 ? blas_env : cores;
    if (const int env = env_int("OLM_BLAS_THREADS"); env > 0) blas = env;
    // For libraries loaded later, and for the record; OpenBLAS already loaded
    // is set directly below.
    ::setenv("OPENBLAS_NUM_THREADS", std::to_string(blas).c_str(), 1);
    set_blas_threads(blas);
    at::set_num_threads(intra);
    return intra;
}

}  // namespace olm
