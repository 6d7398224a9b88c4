// Measurement driver for docs/bench-io.md (not a test):
//   bench_io make-model DIR [layers hidden intermediate vocab shards]
//       writes a random bf16 Llama model (default: 8 layers, hidden 2048,
//       intermediate 8192, vocab 32000, 4 shards = 1.34 GB)
//   bench_io export SRC DST
//       streams SRC into a new folder DST unchanged (passthrough sources)
//   bench_io compare A B
//       reopens both and compares every tensor bit for bit
// Run under /usr/bin/time -v to read the peak resident memory.
#include "core/io/export_folder.h"
#include "core/io/inspect.h"
#include "tests/support/tiny_model.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>

using namespace olm;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int make_model(int argc, char** argv) {
    testing::TinyModelOptions o;
    o.layers = argc > 3 ? std::atoi(argv[3]) : 8;
    o.hidden = argc > 4 ? std::atoi(argv[4]) : 2048;
    o.intermediate = argc > 5 ? std::atoi(argv[5]) : 8192;
    o.vocab = argc > 6 ? std::atoi(argv[6]) : 32000;
    o.shards = argc > 7 ? std::atoi(argv[7]) : 4;
    o.heads = 16;
    o.kv_heads = 16;
    o.dtype = DType::BF16;
    const auto t0 = std::chrono::steady_clock::now();
    testing::write_tiny_model(argv[2], o);
    const auto m = ModelFolder::open(argv[2]);
    std::cout << "wrote " << argv[2] << ": " << human_bytes(m.disk_bytes()) << " in " << m.shard_count()
              << " shards, " << human_count(m.parameter_count()) << " parameters, " << seconds_since(t0)
              << " s\n";
    return 0;
}

int export_model(char** argv) {
    const auto src = ModelFolder::open(argv[2]);
    uint64_t largest = 0;
    for (const auto& n : src.names()) largest = std::max(largest, src.info(n).bytes());
    const uint64_t rss0 = resident_bytes();
    const auto t0 = std::chrono::steady_clock::now();
    ExportOptions eo;
    eo.shard_count = src.shard_count();
    const auto r = export_model_folder(src, passthrough_sources(src), argv[3], eo);
    const double secs = seconds_since(t0);
    std::cout << "exported " << r.model.files.size() << " shards, " << human_bytes(r.model.total_size)
              << " in " << secs << " s; largest tensor " << human_bytes(largest) << "; RSS at start "
              << human_bytes(rss0) << "\n";
    return 0;
}

// Reload and compare bit for bit, one tensor at a time.
int compare_models(char** argv) {
    const auto src = ModelFolder::open(argv[2]);
    const auto out = ModelFolder::open(argv[3]);
    if (out.names() != src.names()) {
        std::cerr << "tensor names differ\n";
        return 1;
    }
    for (const auto& n : src.names()) {
        const at::Tensor a = src.tensor(n), b = out.tensor(n);
        if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes() ||
            std::memcmp(a.data_ptr(), b.data_ptr(), src.info(n).bytes()) != 0) {
            std::cerr << "tensor " << n << " differs\n";
            return 1;
        }
        src.release(n);
        out.release(n);
    }
    std::cout << "reloaded " << out.names().size() << " tensors: bit-exact\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc >= 3 && std::strcmp(argv[1], "make-model") == 0) return make_model(argc, argv);
        if (argc == 4 && std::strcmp(argv[1], "export") == 0) return export_model(argv);
        if (argc == 4 && std::strcmp(argv[1], "compare") == 0) return compare_models(argv);
    } catch (const std::exception& e) {
        std::cerr << "bench_io: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "usage: bench_io make-model DIR [layers hidden intermediate vocab shards] | bench_io export "
                 "SRC DST | bench_io compare A B\n";
    return 2;
}
