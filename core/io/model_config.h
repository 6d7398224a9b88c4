#pragma once
// config.json (+ generation_config.json) -> olm::ModelSpec.
// Reads the spellings of transformers 4.x (rope_scaling with "type" or
// "rope_type", torch_dtype) and transformers 5 (rope_parameters carrying
// rope_theta, dtype).
#include "core/io/model_spec.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace olm {

// Reads folder/config.json and, when present, folder/generation_config.json
// (its eos/bos ids are merged in). Missing required keys -> olm::Error naming the key.
ModelSpec load_model_spec(const std::filesystem::path& folder);

// The same from parsed JSON; label names the source in errors.
ModelSpec parse_model_spec(const nlohmann::json& config, const std::string& label);

// Merges generation_config.json's bos/eos ids into spec (deduplicated).
void merge_generation_config(ModelSpec& spec, const nlohmann::json& generation_config);

// Reads a JSON file; errors name the file.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace olm
