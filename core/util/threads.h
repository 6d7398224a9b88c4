#pragma once
// Thread settings for libtorch and BLAS, chosen once per process.
// On small machines libtorch's intra-op pool and OpenBLAS's own threads
// oversubscribe the cores; we give libtorch the threads and BLAS one.

namespace olm {

struct ThreadSettings {
    int intra_op = 0;  // 0 = number of physical cores reported by the OS
    int blas = 1;      // OpenBLAS/OMP threads inside one libtorch task
};

// Applies the settings (at::set_num_threads, OPENBLAS/OMP env for BLAS).
// Reads OLM_THREADS if set. Returns the intra-op thread count in effect.
int apply_thread_settings(const ThreadSettings& s = {});

}  // namespace olm
