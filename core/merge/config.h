#pragma once
// The merge configuration: a YAML file compatible with the original OLM
// olm_config.yaml, plus new keys with defaults. docs/merge.md lists every key.
//
//   MergeConfig c = load_merge_config("olm_config.yaml");   // throws olm::Error with the line
//   for (auto& w : c.warnings) ...                          // unknown keys, "did you mean"
//   save_merge_config(c, "copy.yaml");                      // the GUI edits and saves
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace olm {

struct MergeDatasetEntry {
    std::string name;            // the key as written, e.g. "math.json"
    std::filesystem::path path;  // resolved: dataset_dir / name (or absolute)
    std::string mode = "exact";  // exact | bigram | quality | exact_match | bigram_loss | diversity
    bool think = false;          // the original's modes: no reasoning mask after the context
};

struct MergeConfig {
    // Where the file was loaded from; relative paths resolve against its folder.
    std::filesystem::path config_path;

    // --- keys of the original OLM config -----------------------------------
    std::filesystem::path models_dir;   // resolved
    std::vector<std::string> models;    // as written: org/name (Hugging Face cache, then models_dir) or paths
    std::filesystem::path output_dir;   // resolved
    std::filesystem::path dataset_dir;  // resolved
    std::vector<MergeDatasetEntry> datasets;  // `dataset:` map, in file order
    std::string direction = "forward";        // forward | backward
    std::string base_model_name;  // "" = first model (or base_select); may name a model outside `models`
    bool base_select = false;
    bool boundary_select = false;
    bool layer_swap = false;  // defaults as the original's code (its shipped YAML sets them)
    bool tensor_swap = false;
    bool skip_norm = false;
    std::string improve_all;  // "" (off) | all | base | <mode name>
    int64_t samples = 200;    // first N usable samples per dataset, 0 = all
    int64_t markov = 0;       // the markov window search (model_scanner.py): layers chosen markov+1 at a time
    int64_t max_models = 0;   // keep the best N pool models (each scored whole) before the search; 0 = all
    std::string selection;  // ranks | rank_sum | copeland | geomean; "" = the preset's (effective_selection)
    bool load_merge_report = false;  // resume from output_dir/merge_report.json
    bool download = true;            // fetch pool models named org/name from the Hub when missing
    // ES fine-tuning of each tensor-wise decision's weight tensor (tensor_swap only; core/merge/es_tune.h)
    bool es_svd = false;
    int64_t es_svd_generations = 1;
    double es_svd_sigma = 0.5;
    bool es_norm = false;
    int64_t es_norm_generations = 1;
    double es_norm_sigma = 0.01;

    // --- new keys ----------------------------------------------------------
    std::string device;  // "" (auto: the first GPU when libtorch has one, else cpu) | cpu | cuda | cuda:N
    std::string dtype;   // "" (auto: bfloat16 on a GPU, else float32) | float32 | bfloat16 | float16
                         // (fp32, bf16, fp16 accepted and stored under these names)
    int64_t batch_tokens = 4096;  // padded tokens per evaluation batch
    int64_t threads = 0;  // CPU cores used: BLAS N, libtorch intra-op 1 (cpu_threads); 0 = the default
    // Device bytes for the working model's weights; beyond them layers stream
    // from host memory (EngineOptions::device_memory): 0 = no limit, -1 = auto.
    int64_t device_memory = 0;
    int64_t quality_max_new_tokens = 512;
    int64_t min_words = 100;  // quality mode: shorter answers are penalised
    std::vector<std::string> forbidden_scripts = {
        "cjk"};                          // quality mode: script names or ranges (core/eval/scripts.h)
    double holdout = 0.0;                // share of the samples held out of selection (scored, reported)
    std::string chat_template = "auto";  // auto | none | <template file>
    bool prefix_cache = true;
    uint64_t seed = 0;
    uint64_t es_seed = 0;  // seeds every tensor's ES fine-tuning (es_tensor_seed)

    // --- search options beyond the original (issue 8) -----------------------
    std::string search = "original";  // preset: original | better | thorough
    // Explicit keys override the preset; unset = the preset's value.
    std::optional<std::vector<double>> interpolate;  // blend weights w: w*current + (1-w)*candidate
    std::optional<bool> task_arithmetic;             // current + (candidate - base)
    std::optional<int> sweeps;                       // passes over all positions (>= 1)
    // Candidates scored on growing chunks of samples, stopped once they cannot
    // win (SearchOptions::racing); unset = the preset's (better, thorough: on).
    std::optional<bool> racing;
    double racing_confidence = 0.999;  // one-sided confidence of each paired comparison
    std::string safeguard = "warn";    // warn | strict | off
    bool references = true;            // score the pool soup and every pool model
    int64_t bootstrap_samples = 2000;  // paired bootstrap resamples (safeguard)

    // Warnings from loading (unknown keys with the nearest known key).
    std::vector<std::string> warnings;

    // Effective values after applying the preset.
    std::vector<double> effective_interpolate() const;
    bool effective_task_arithmetic() const;
    int effective_sweeps() const;
    bool effective_racing() const;
    std::string effective_selection() const;  // original: ranks; better, thorough: geomean

    // Folder of each pool model, in `models` order: a path as written; a name
    // from the Hugging Face cache (org/name[@revision]), else models_dir/org_name
    // (or models_dir/org/name); a missing one as models_dir/org_name.
    std::vector<std::filesystem::path> model_paths() const;
    // Display name of each pool model (the entry as written, or the folder name of a path).
    std::vector<std::string> model_names() const;
    // The base: base_model_name's folder (a pool entry, or resolved as a pool entry
    // would be: models_dir/name with '/' -> '_', or a path), else the first model's.
    std::filesystem::path base_path() const;
    // base_model_name names no pool entry: the base starts the working model but is
    // no candidate (the original's behaviour).
    bool base_outside_pool() const;
    // The base's display name ("" when none is set and base_select decides).
    std::string base_display_name() const;
    std::filesystem::path report_path() const { return output_dir / "merge_report.json"; }
};

// Loads and validates. Unknown keys -> a warning naming the nearest known key;
// wrong types / values -> olm::Error "file:line: key: ...".
MergeConfig load_merge_config(const std::filesystem::path& path);
// Same, from text (base_dir resolves relative paths; name is used in messages).
MergeConfig parse_merge_config(const std::string& yaml_text, const std::filesystem::path& base_dir,
                               const std::string& name = "<config>");

// Why output_dir may not be written ("" when it may): it is "/", is or lies
// inside a pool model's folder, is the folder of a dataset file, or is or lies
// inside an explicit dataset_dir (one other than the config file's folder).
// The loader refuses such a config (file:line); MergeRun::run checks again.
std::string output_dir_problem(const MergeConfig& config);
void check_output_dir(const MergeConfig& config);  // throws olm::Error with the problem

// Writes every key (paths relative to the file's folder when below it), atomically.
void save_merge_config(const MergeConfig& config, const std::filesystem::path& path);
std::string merge_config_to_yaml(const MergeConfig& config, const std::filesystem::path& base_dir);

// The resolved config as JSON (stored in merge_report.json) and the hash of the
// parts that decide the result (everything except device, output_dir,
// load_merge_report and warnings): resuming with a different hash is refused.
nlohmann::json merge_config_to_json(const MergeConfig& config);
std::string merge_config_hash(const MergeConfig& config);

// "fp32"/"float32" -> "float32", "bf16" -> "bfloat16", "fp16" -> "float16", ""/"auto" -> "";
// anything else is an olm::Error.
std::string canonical_dtype(const std::string& dtype);

// All keys the loader knows (for the GUI and for "did you mean").
const std::vector<std::string>& merge_config_keys();

}  // namespace olm
