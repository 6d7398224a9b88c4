#pragma once
// Writes a complete Hugging Face model folder: sharded safetensors streamed
// tensor by tensor, config.json from the base (dtype updated when the output
// dtype differs), generation_config.json, every tokenizer file of the base and
// any extra files (model card, mergekit YAML).
//
// Everything is written into a temporary folder next to the target
// (.NAME.partial-PID-N) and swapped into place at the end (renameat2
// RENAME_EXCHANGE where the file system has it), so an interrupted export
// never leaves a folder that looks complete. The target may never be (or
// contain) the base or a protected pool folder.
//
// Nothing the program did not write is ever deleted. Every export carries a
// marker file, .olm-export.json, listing the files it wrote; an existing target
// is replaced only when it is empty or holds exactly such a previous export
// (and overwrite is set); a folder with any other file is refused, overwrite or
// not. Temporary folders of interrupted exports carry the marker too and are
// removed by the next export to the same target, once no live process holds
// them (the writer keeps an flock on the marker). Two exports to one target
// exclude each other (flock on .NAME.olm-lock beside it).
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
    bool overwrite = false;  // replace a previous export in target (never a protected or foreign folder)
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

// The marker file every export writes into its folder.
inline constexpr const char* kExportMarker = ".olm-export.json";

// What an existing export target holds.
struct ExportTargetInfo {
    enum class Kind { absent, empty, previous_export, foreign } kind = Kind::absent;
    std::vector<std::string> foreign_files;  // entries the program did not write (first few)
    std::string written;                     // previous export: when (from the marker)
};
ExportTargetInfo inspect_export_target(const std::filesystem::path& target);

// Throws olm::Error naming target and what to do unless an export may write
// there: absent, empty, or (overwrite) a previous export holding only its own
// files. overwrite_hint: how the caller allows replacing (e.g. "pass --overwrite").
void check_export_replaceable(const std::filesystem::path& target, bool overwrite,
                              const std::string& overwrite_hint = "allow overwriting");

// Removes the temporary folders that interrupted exports to target left beside
// it (.NAME.partial-*, .NAME.old-*): only ones carrying the export marker and not
// locked by a live process. Others matching the pattern are left alone with a
// warning through sink. Returns the removed folders.
std::vector<std::filesystem::path> remove_stale_export_folders(const std::filesystem::path& target,
                                                               ProgressSink& sink = null_sink());

// Throws if writing target would touch one of the protected folders (target is
// one of them or contains one).
void check_export_target(const std::filesystem::path& target,
                         const std::vector<std::filesystem::path>& protected_folders);

}  // namespace olm
