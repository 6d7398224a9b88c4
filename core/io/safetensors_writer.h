#pragma once
// Streaming safetensors writer. Output tensors are described up front (name,
// dtype, shape) and produced one at a time by a callable, so writing a model
// holds about one tensor in memory: the shard layout and headers are known
// before any data is produced.
//
// Shards are filled in order up to a size limit (default 5 GB) and named
// model-0000N-of-0000M.safetensors with model.safetensors.index.json
// (metadata.total_size, weight_map) written last; a single shard is named
// model.safetensors unless always_index is set. Headers carry
// __metadata__ {"format": "pt"} and are padded with spaces so the data region
// starts 8-byte aligned.
#include "core/io/safetensors_header.h"
#include "core/util/progress.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace olm {

// One output tensor. produce() returns a tensor of `shape` in any floating or
// matching dtype (on any device); it is cast to `dtype` (float32 math happens
// in the producer) and written. done(), if set, runs after the bytes are
// written (e.g. to release the source pages of a memory-mapped input).
struct TensorSource {
    std::string name;
    DType dtype = DType::BF16;
    std::vector<int64_t> shape;
    std::function<at::Tensor()> produce;
    std::function<void()> done;

    uint64_t bytes() const;
};

struct ShardOptions {
    uint64_t max_shard_bytes =
        5'000'000'000ull;       // tensor bytes per shard (a bigger tensor gets its own shard)
    size_t shard_count = 0;     // > 0: exactly this many shards (balanced by bytes) instead of the size limit
    bool always_index = false;  // write an index even for a single shard
    std::map<std::string, std::string> metadata;  // added to __metadata__ next to format=pt
};

struct WrittenModel {
    std::vector<std::string> files;  // shard file names, in order
    uint64_t total_size = 0;         // sum of tensor bytes (index metadata.total_size)
    bool indexed = false;            // model.safetensors.index.json written
};

// Writes the shards (and index) into the existing folder dir. Polls
// sink.cancelled() between tensors (throws olm::Cancelled) and reports
// progress in tensors under stage "write".
WrittenModel write_safetensors_model(const std::filesystem::path& dir,
                                     const std::vector<TensorSource>& tensors,
                                     const ShardOptions& options = {}, ProgressSink& sink = null_sink());

// One file from in-memory tensors (kept in the order given; dtype as stored).
void write_safetensors_file(const std::filesystem::path& file,
                            const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                            const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// The header JSON (unpadded) for tensors laid out back to back in this order.
std::string safetensors_header_json(const std::vector<TensorSource>& tensors,
                                    const std::map<std::string, std::string>& metadata);

// "model-00002-of-00004.safetensors"
std::string shard_file_name(size_t index, size_t count);

}  // namespace olm
