#pragma once
// Thread settings for libtorch and BLAS, chosen once per process.
// libtorch's intra-op pool and OpenBLAS's own threads oversubscribe the cores
// when both have them all, so one of the two gets the cores. On CPU the merge
// is matmul-bound and libtorch hands fp32 matmuls to OpenBLAS whole, so BLAS
// gets the cores and libtorch one thread: `olm bench merge --thread-sweep`
// measured intra-op 1 x BLAS 2 1.54x faster than intra-op 2 x BLAS 1 on a
// 2-core machine, and 2 x 2 1.7x slower (docs/bench-engine.md).

namespace olm {

struct ThreadSettings {
    int intra_op = 0;  // libtorch intra-op threads; 0 = the default, 1
    int blas = 0;      // OpenBLAS threads; 0 = the default: OPENBLAS_NUM_THREADS when set, else every core
};

// The settings for "use N cores" (--threads N, the config's threads): BLAS N,
// libtorch 1; n <= 0 = the defaults.
ThreadSettings cpu_threads(int n);

// Applies the settings (at::set_num_threads, OpenBLAS's thread count).
// OLM_THREADS and OLM_BLAS_THREADS, when set, override them. Returns the
// intra-op thread count in effect.
int apply_thread_settings(const ThreadSettings& s = {});

// Sets OpenBLAS's own thread count at run time (openblas_set_num_threads,
// looked up in the loaded library; the OPENBLAS_NUM_THREADS variable is only
// read when the library loads). Returns the count in effect, or 0 when the
// BLAS in use does not expose it.
int set_blas_threads(int n);
// OpenBLAS's thread count now (0 = unknown BLAS).
int blas_threads();

}  // namespace olm
