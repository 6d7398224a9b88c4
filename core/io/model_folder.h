#pragma once
// A Hugging Face model folder opened for reading: config.json -> ModelSpec,
// the architecture table entry, and every tensor of model.safetensors or of
// the shards named by model.safetensors.index.json, memory-mapped.
// Opening reads headers only; no tensor data is touched until used.
// Pickle checkpoints (pytorch_model.bin, *.pt) are refused, never unpickled.
//
// Cheap to copy (shards are shared). Thread-safe for concurrent reads.
#include "core/io/architecture.h"
#include "core/io/model_spec.h"
#include "core/io/safetensors_reader.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace olm {

// Tokenizer files an export copies from the base, in this order, when they exist.
const std::vector<std::string>& tokenizer_file_names();

class ModelFolder {
public:
    ModelFolder() = default;
    // Opens folder and checks every expected tensor of the architecture is
    // present with its expected shape (errors name the file and tensor).
    static ModelFolder open(const std::filesystem::path& folder);

    bool valid() const { return m_state != nullptr; }
    const std::filesystem::path& path() const;
    const ModelSpec& spec() const;
    const Architecture& architecture() const;

    bool has(const std::string& name) const;
    const TensorInfo& info(const std::string& name) const;  // dtype, shape, file, bytes
    at::Tensor tensor(const std::string& name) const;       // zero-copy view of the mapping
    std::vector<std::string> names() const;                 // sorted
    // The tensor for a role (lm_head of a tied model resolves to embed_tokens).
    at::Tensor tensor(TensorRole role, int layer = -1) const;
    std::string resolve(TensorRole role, int layer = -1) const;

    // Drop the resident pages of a tensor (see SafetensorsFile::release).
    void release(const std::string& name) const;

    size_t shard_count() const;
    const std::vector<std::shared_ptr<SafetensorsFile>>& shards() const;
    uint64_t tensor_bytes() const;  // sum of tensor data sizes
    uint64_t disk_bytes() const;    // sum of shard file sizes
    int64_t parameter_count() const;
    // The dtype most bytes are stored in (BF16 for a typical checkpoint).
    DType main_dtype() const;

private:
    struct State;
    std::shared_ptr<const State> m_state;
    const State& state() const;
};

// Throws olm::Error if path is (or folder holds only) a pickle checkpoint;
// the message says why it is unsafe and how to convert it.
void refuse_pickle(const std::filesystem::path& path);

}  // namespace olm
