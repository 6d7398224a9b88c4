#pragma once
// What a merge's scores were measured on: a fingerprint of every dataset file
// and every pool model's files, stored in merge_report.json ("inputs") so a
// resume can prove the inputs are those of the report before it trusts its
// scores (the config hash covers paths and settings, not contents).
//
//   dataset files, config.json, tokenizer files, small weight files (<= 8 MiB):
//       size and a hash of the whole contents ("full": true)
//   larger weight files: size, mtime and a hash of the safetensors header and
//       of 33 blocks of 64 KiB spread over the file ("full": false)
//
// Schema: {"datasets": {name: F}, "models": {name: {"path": p, "files": {file: F}}},
//          "chat_template": F (when a template file is configured)}
//   F = {"path", "size", "mtime_ns", "hash" (16 hex digits), "full"}
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/merge/config.h"

namespace olm {

// Reads the files (throws olm::Error naming one that cannot be read). names:
// the pool models' keys (default: config.model_names()).
nlohmann::json input_fingerprint(const MergeConfig& config, const std::vector<std::string>* names = nullptr);

// One line per difference between a recorded fingerprint and a current one,
// naming the file ("dataset math.json (/data/math.json): contents changed (size
// 120 -> 131 bytes)"); empty when they agree. A weight file hashed in samples
// whose mtime moved counts as changed (a change between the samples cannot be
// ruled out).
std::vector<std::string> fingerprint_changes(const nlohmann::json& recorded, const nlohmann::json& current);

// Pool weight files whose size or mtime differ from the fingerprint now (a
// stat per file, for checks between evaluations); one line each.
std::vector<std::string> changed_weight_files(const nlohmann::json& fingerprint);

}  // namespace olm
