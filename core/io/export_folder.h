#pragma once
// Writes a complete Hugging Face model folder: sharded safetensors streamed
// tensor by tensor, config.json from the base (dtype updated when the output
// dtype differs), generation_config.json, every tokenizer file of the base and
// any extra files (model card, mergekit YAML).
//
// Everything is written into a temporary folder next to the target and renamed
// into place at the end, so an interrupted export never leaves a folder that
// looks complete. The target may never be (or contain) the base or a protected
// pool folder.
#include "core/io/model_folder.h"
#include "core/io/safetensors_writer.h"
#include "core/util/progress.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace olm {

struct ExportOptions {
    uint64_t max_shard_bytes = 5'000'000'000ull;
    size_t shard_count = 0;  // > 0: exactly this many shards
    std::vector<std::filesystem::path>
        protected_folders;   // pool models: never written, replaced or contained
    bool overwrite = false;  // replace an existing target folder (never a protected one)
    std::map<std::string, std::string> extra_files;  // file name -> contents (README.md, ...)
    std::map<std::string, std::string> metadata;     // safetensors __metadata__ additions
};

struct ExportResult {
    std::filesystem::path folder;
    WrittenModel model;
    std::vector<std::string> copied_files;  // config, generation config, tokenizer files
};

// tensors: one recipe per output tensor (see TensorSource); typically every
// name of base with a producer that blends pool tensors in float32.
ExportResult export_model_folder(const ModelFolder& base, const std::vector<TensorSource>& tensors,
                                 const std::filesystem::path& target, const ExportOptions& options = {},
                                 ProgressSink& sink = null_sink());

// Sources that copy every tensor of model unchanged (dtype given: floating
// tensors are converted). Each releases its source pages once written.
std::vector<TensorSource> passthrough_sources(const ModelFolder& model,
                                              std::optional<DType> dtype = std::nullopt);

// Throws if writing target would touch one of the protected folders (target is
// one of them or contains one).
void check_export_target(const std::filesystem::path& target,
                         const std::vector<std::filesystem::path>& protected_folders);

}  // namespace olm
