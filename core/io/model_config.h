#pragma once
// config.json (+ generation_config.json) -> olm::ModelSpec.
// Reads the spellings of transformers 4.x (rope_scaling with "type" or
// "rope_type", torch_dtype) and transformers 5 (rope_parameters carrying
// rope_theta, dtype).
#include "core/io/model_spec.h"
#include "core/util/json_file.h"  // read_json_file

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace olm {

// Bounds on config.json values, far above any released model (the largest
// have ~130 layers, 128 heads, hidden 16-32k, vocab 256k, context 10M).
struct ModelSpecLimits {
    static constexpr int64_t max_layers = 4096;
    static constexpr int64_t max_heads = 4096;
    static constexpr int64_t max_hidden = 1 << 20;
    static constexpr int64_t max_intermediate = 1 << 22;
    static constexpr int64_t max_head_dim = 8192;
    static constexpr int64_t max_vocab = 1 << 22;
    static constexpr int64_t max_positions = 1ll << 30;
    static constexpr int64_t max_experts = 1 << 16;
};

// Reads folder/config.json and, when present, folder/generation_config.json
// (its eos/bos ids are merged in). Missing required keys -> olm::Error naming the key.
// Every size is checked against the bounds below (and rope_theta, rms_norm_eps
// must be positive and finite), so a hostile config cannot drive allocation.
ModelSpec load_model_spec(const std::filesystem::path& folder);

// The same from parsed JSON; label names the source in errors.
ModelSpec parse_model_spec(const nlohmann::json& config, const std::string& label);

// Merges generation_config.json's bos/eos ids into spec (deduplicated).
void merge_generation_config(ModelSpec& spec, const nlohmann::json& generation_config);

}  // namespace olm
