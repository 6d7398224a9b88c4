#pragma once
// Tiny but real Hugging Face model folders for tests: config.json in
// transformers' own format, safetensors written by core/io's writer,
// generation_config.json, optionally tokenizer files copied from a folder.
// Weights come from a seeded generator (mt19937_64 + Box-Muller), so the same
// options give the same bytes on every machine and libtorch version.
//
//   auto spec = olm::testing::write_tiny_model(dir / "base", {.layers = 2});
//   olm::testing::derive_model(dir / "base", dir / "ft1", /*seed=*/7, /*layers=*/{1});
#include "core/io/model_spec.h"
#include "core/io/safetensors_header.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace olm::testing {

struct TinyModelOptions {
    std::string architecture =
        "LlamaForCausalLM";  // | Mistral | Qwen2 | Qwen3 | Gemma2 | Granite | Olmo2 ForCausalLM
    int64_t hidden = 32;
    int64_t intermediate = 64;
    int64_t layers = 2;
    int64_t heads = 4;
    int64_t kv_heads = 2;
    int64_t head_dim = 0;  // 0 = hidden / heads
    int64_t vocab = 128;
    bool tied = false;
    bool attention_bias = false;  // Llama/Mistral/Qwen3; Qwen2 always has q/k/v biases
    std::string rope_scaling;     // "" | "linear" | "llama3" | "longrope"
    double rope_factor = 2.0;     // for rope_scaling
    double rope_theta = 10000.0;
    double rms_norm_eps = 1e-6;
    int64_t max_position = 512;
    DType dtype = DType::F32;  // F32 | BF16 | F16
    uint64_t seed = 1;
    int shards = 1;  // 1 = model.safetensors; N = exactly N indexed shards
    int64_t bos_id = 1;
    std::vector<int64_t> eos_ids = {2};
    double weight_scale = 0.02;            // std of the projection/embedding weights
    bool transformers5 = false;            // write rope_parameters/dtype (transformers 5 spelling)
    std::filesystem::path tokenizer_from;  // copy tokenizer files from here when set
    // Gemma 2 and 3 (their config keys; 0 = the key is written as null / left out)
    double attn_softcap = 50.0;
    double final_softcap = 30.0;
    double query_pre_attn_scalar = 0;  // 0 = head_dim
    int64_t sliding_window = 0;        // 0 = none; Gemma 2 slides on even layers
    // Gemma 3 only
    double rope_local_theta = 10000.0;  // rope_local_base_freq
    int64_t sliding_pattern = 6;        // sliding_window_pattern
    // Phi-3 only: longrope factor lists (rotary_dim / 2 entries; empty = 1.0 + 0.5 i
    // short, 2.0 + i long) and the original length they switch at (0 = max_position / 2)
    std::vector<double> short_factor, long_factor;
    int64_t original_max_position = 0;
    double partial_rotary_factor = 1.0;
    // Granite only
    double embedding_multiplier = 1.0;
    double attention_multiplier = 0;  // 0 = head_dim^-1/2
    double residual_multiplier = 1.0;
    double logits_scaling = 1.0;
};

// Writes dir (created; must not exist or be empty) and returns the spec
// load_model_spec reads back from it.
ModelSpec write_tiny_model(const std::filesystem::path& dir, const TinyModelOptions& options = {});

// The config.json a TinyModelOptions produces (to edit before writing by hand).
std::string tiny_config_json(const TinyModelOptions& options);

struct DeriveOptions {
    uint64_t seed = 1;
    double scale = 0.01;      // std of the added perturbation (relative to nothing: absolute)
    std::vector<int> layers;  // layers to perturb; empty = none
    bool boundary = false;    // also perturb embed_tokens, final norm, lm_head
    std::vector<std::string>
        sublayers;  // restrict to these sublayers ("attention", "mlp", "norms"); empty = all
};

// A "fine-tune" of src: every tensor copied, the chosen ones plus seeded
// Gaussian noise (computed in float32, stored in the source dtype). Config,
// generation config and tokenizer files are copied; shard count kept.
void derive_model(const std::filesystem::path& src, const std::filesystem::path& dst,
                  const DeriveOptions& options);
// Shorthand: perturb whole layers.
void derive_model(const std::filesystem::path& src, const std::filesystem::path& dst, uint64_t seed,
                  const std::vector<int>& layers, double scale = 0.01, bool boundary = false);

// The deterministic noise used above: n samples of N(0, 1) for (seed, stream).
std::vector<float> gaussian(uint64_t seed, const std::string& stream, int64_t n);

}  // namespace olm::testing
