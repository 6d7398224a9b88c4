#pragma once
// Writing the merged model: every tensor of the base computed from the pool
// and the recipe (sum(coeff * tensor) in float32, cast to the pool's storage
// dtype, streamed tensor by tensor through the io export folder writer), the
// base's config and tokenizer files, merge_report.json, a README.md model card
// and a mergekit YAML that rebuilds the recipe.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/merge/pool.h"
#include "core/merge/search.h"
#include "core/util/progress.h"

namespace olm {

class MergeSession;

struct MergeExportResult {
    std::filesystem::path folder;
    std::vector<std::string> files;  // shard files
};

// How the folder is written: the tensors' dtype ("" = the pool's storage
// dtype; float32 | bfloat16 | float16) and the largest shard.
struct MergeExportOptions {
    std::string dtype;
    uint64_t max_shard_bytes = 5'000'000'000ull;
    // Replace a previous export of this program in target. Never a pool folder,
    // never a folder holding other files (refused, overwrite or not).
    bool overwrite = true;
};

// target must be new, empty or (options.overwrite) hold a previous export of
// this program, which is replaced.
MergeExportResult export_merge(const MergePool& pool, const MergeState& state, const nlohmann::json& report,
                               const std::filesystem::path& target, ProgressSink& sink = null_sink());
MergeExportResult export_merge(const MergePool& pool, const MergeState& state, const nlohmann::json& report,
                               const std::filesystem::path& target, ProgressSink& sink,
                               const MergeExportOptions& options);

// mergekit configuration reproducing the recipe: `passthrough` slices per run of
// layers taken whole from one model; `linear` (normalize: false) with per-source
// weights, filtered per tensor unit, when any slot is blended.
// model_refs: how to name each pool model in the YAML (name -> path or hub id).
// An architecture with carried parts (Gemma3ForConditionalGeneration) gets
// mergekit's modular form: the slices under the language model's module, each
// carried part taken whole from the base.
std::string mergekit_yaml(const MergeState& state, int num_layers,
                          const std::map<std::string, std::string>& model_refs, const std::string& dtype,
                          const Architecture* arch = nullptr);

// README.md: base, pool, layer-by-layer recipe, scores of the merge vs the base,
// every pool model and the soup (selection and held-out), safeguard verdict.
// with_mergekit: the folder holds mergekit_config.yml (not for the expert families).
std::string model_card(const nlohmann::json& report, const MergeState& state, bool with_mergekit = true);

// Scores the exported folder from disk with the session's tokenizer and
// datasets (selection split) and compares with `expected` (dataset -> score).
// Returns {dataset: {"exported": s, "expected": e, "rel_diff": d}}; throws
// olm::Error when a relative difference exceeds tolerance.
nlohmann::json verify_export(MergeSession& session, const std::filesystem::path& folder,
                             const std::map<std::string, double>& expected, double tolerance = 1e-5);

}  // namespace olm
