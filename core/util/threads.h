#pragma once
// Thread settings for libtorch and BLAS, chosen once per process.
// On small machines libtorch's intra-op pool and OpenBLAS's own threads
// oversubscribe the cores; we give libtorch the threads and BLAS one.
// (`olm bench engine` measures the combinations; docs/bench-engine.md.)

namespace olm {

struct ThreadSettings {
    int intra_op = 0;  // 0 = number of cores reported by the OS
    int blas = 1;      // OpenBLAS threads inside one libtorch task
};

// Applies the settings (at::set_num_threads, OpenBLAS's thread count).
// Reads OLM_THREADS and OLM_BLAS_THREADS if set. Returns the intra-op thread
// count in effect.
int apply_thread_settings(const ThreadSettings& s = {});

// Sets OpenBLAS's own thread count at run time (openblas_set_num_threads,
// looked up in the loaded library; the OPENBLAS_NUM_THREADS variable is only
// read when the library loads). Returns the count in effect, or 0 when the
// BLAS in use does not expose it.
int set_blas_threads(int n);
// OpenBLAS's thread count now (0 = unknown BLAS).
int blas_threads();

}  // namespace olm
