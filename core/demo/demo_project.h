#pragma once
// The demo project: a trained tiny Llama pool (a base and one specialist per
// skill), three conversation datasets (one per evaluation mode) and the merge
// config, generated deterministically from a seed.
//
//   DIR/olm_config.yaml
//   DIR/datasets/{arithmetic,reverse,story}.json
//   DIR/pool/{base,arithmetic,reverse,story}/   Hugging Face folders: config.json,
//        generation_config.json, model.safetensors (bf16), tokenizer.json,
//        tokenizer_config.json, special_tokens_map.json
//   DIR/training.json                            schedule, losses, timings, diagnostics
//
// The shipped copy lives in resources/demo/; `olm demo generate --out DIR`
// rebuilds it (same seed and thread count -> the same files on the same machine).
#include "core/demo/trainer.h"
#include "core/util/progress.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace olm::demo {

struct DemoOptions {
    uint64_t seed = 20261128;
    TinyLlamaShape shape;   // vocab_size is set from the tokenizer
    int merge_count = 189;  // BPE merges (vocabulary = 256 bytes + merges + 3 specials)
    int train_samples_per_task = 4000;
    int dataset_samples = 1000;         // per dataset file (selection + held-out) ...
    int quality_dataset_samples = 500;  // ... but the quality one (generation is the costly mode)
    int quality_max_new_tokens = 48;    // written into olm_config.yaml, with min_words
    int min_words = 25;
    double holdout = 0.4;  // written into olm_config.yaml
    int base_steps = 600;
    int specialist_steps = 1000;
    int batch_size = 32;
    double base_lr = 3e-3;
    double specialist_lr = 3e-3;
    int threads = 1;  // intra-op threads while training (1 is fastest on 2 cores)
    std::string dtype = "bfloat16";
    // Specialist layout: task i trains layers own_layers[i].
    std::vector<std::vector<int64_t>> own_layers = {{0, 1}, {2, 3}, {4, 5}};
    // The base learns the weak versions of the skills (make_base_conversation).
    double base_reverse_share = 0.5;                  // share of reversals among the base's letter samples
    double base_long_story_share = 0.0;               // share of full stories among the base's stories
    bool base_per_sample_mean = true;                 // base loss: every sample counts the same
    TrainSettings specialist = default_specialist();  // own_share, swap_dropout, locality weights, ...
    // Non-empty: take the base from this model folder (a pool/base written by an
    // earlier run with the same corpus options) instead of training it, to try
    // specialist settings without re-training the base.
    std::filesystem::path base_dir;

    static TrainSettings default_specialist();

    // A much shorter schedule with the same pipeline, for tests.
    static DemoOptions quick();
    // Sets one option by name ("base_steps", "layer_locality_weight", ...), as
    // `olm demo generate --set KEY=VALUE` does; throws with the known names.
    void set(const std::string& key, const std::string& value);
};

struct DemoResult {
    std::vector<std::string> models;  // pool folder names, base first
    std::filesystem::path config;     // olm_config.yaml
    nlohmann::json log;               // what training.json holds
};

// Generates the whole project into out_dir (created; existing files are replaced).
DemoResult generate_demo_project(const std::filesystem::path& out_dir, const DemoOptions& options,
                                 ProgressSink& sink = null_sink());

// The bundled (read-only) project: OLM_DEMO_DIR in the environment, else
// resources_dir()/demo (core/util/resources.h).
std::filesystem::path bundled_demo_dir();

// Names of the pool models, base first: "base", "arithmetic", "reverse", "story".
std::vector<std::string> demo_model_names();

}  // namespace olm::demo
