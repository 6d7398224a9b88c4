#pragma once
// What config.json says about a decoder-only model, in one plain struct.
// Parsed by core/io/model_config.* (transformers 4.x and 5 spellings);
// consumed by the engine (core/model) and the pool check.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace olm {

struct RopeScaling {
    std::string type;  // "" (none), "linear", "llama3"
    double factor = 1.0;
    // llama3 only
    double low_freq_factor = 1.0;
    double high_freq_factor = 4.0;
    int64_t original_max_position_embeddings = 8192;
    // longrope (Phi-3's "su"): per-frequency divisors for sequences up to
    // original_max_position_embeddings (short) and beyond (long), and the
    // factor cos/sin are multiplied by (0 = sqrt(1 + ln f / ln original)).
    std::vector<double> short_factor, long_factor;
    double attention_factor = 0;
};

// Where a decoder layer's norms sit.
enum class NormLayout {
    pre,       // Llama: x + attn(norm(x)), x + mlp(norm(x))
    sandwich,  // Gemma 2/3: x + norm(attn(norm(x))), x + norm(mlp(norm(x)))
    post,      // OLMo 2: x + norm(attn(x)), x + norm(mlp(x)) (no input norm)
};

struct ModelSpec {
    std::string architecture;  // e.g. "LlamaForCausalLM" (architectures[0])
    std::string model_type;    // e.g. "llama", "qwen2", "qwen3", "mistral"
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t num_hidden_layers = 0;
    int64_t num_attention_heads = 0;
    int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
    int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    RopeScaling rope_scaling;
    double partial_rotary_factor = 1.0;  // the first head_dim x this dims rotate (Phi-4-mini: 0.75)
    int64_t rotary_dim() const {
        return static_cast<int64_t>(static_cast<double>(head_dim) * partial_rotary_factor);
    }
    // The sliding layers' own rotary base and scaling (Gemma 3's local layers:
    // rope_local_base_freq, transformers 5's rope_parameters.sliding_attention);
    // unset = every layer uses rope_theta / rope_scaling.
    std::optional<double> rope_local_theta;
    RopeScaling rope_local_scaling;
    int64_t vocab_size = 0;
    bool tie_word_embeddings = false;
    bool attention_bias = false;  // q/k/v biases (Qwen2 always has them)
    bool qk_norm = false;         // per-head RMSNorm on q and k before RoPE (Qwen3)
    int64_t max_position_embeddings = 0;
    std::string torch_dtype;  // "bfloat16", "float16", "float32" (or "" if absent)
    std::vector<int64_t> bos_token_ids;
    std::vector<int64_t> eos_token_ids;     // config + generation_config.json, deduplicated
    std::optional<int64_t> sliding_window;  // keys less than this many positions back
    // Per layer: true = sliding-window attention (transformers 5 layer_types,
    // Gemma 2's alternation); empty = every layer when sliding_window is set.
    std::vector<bool> sliding_layers;

    // Forward features beyond Llama's (all off for Llama, Mistral, Qwen 2/3).
    NormLayout norm_layout = NormLayout::pre;
    bool norm_plus_one = false;       // Gemma RMSNorm: x̂ · (1 + w), multiplied in float32
    double embed_scale = 1.0;         // Gemma: embeddings × √hidden (in the compute dtype)
    std::string hidden_act = "silu";  // MLP activation: silu, gelu_pytorch_tanh, gelu
    std::optional<double>
        attn_scale;  // scores × this (default head_dim^-0.5); Gemma: query_pre_attn_scalar^-0.5
    std::optional<double> attn_softcap;   // scores = cap · tanh(scores / cap) (Gemma 2)
    std::optional<double> final_softcap;  // logits = cap · tanh(logits / cap) (Gemma 2)
    bool norm_weight_fp32 = false;        // OLMo 2 RMSNorm: w · x̂ in float32, then cast
    bool qk_norm_full = false;            // OLMo 2: q/k norms over the whole projection, [heads·head_dim]
    // Granite's multipliers (1 = off), applied with a float scalar as transformers does.
    double embedding_multiplier = 1.0;  // embeddings × this
    double residual_multiplier = 1.0;   // x + sub-block(x) × this
    double logits_scaling = 1.0;        // logits ÷ this

    // Routed experts (MixtralForCausalLM, Qwen3MoeForCausalLM); 0 = a dense MLP.
    // Each token's router softmax (float32) picks its top num_experts_per_tok
    // experts; their weights are renormalised to sum 1 when norm_topk_prob
    // (Mixtral always) and multiply the experts' outputs in float32
    // (router_weights_fp32, Mixtral) or after a cast to the compute dtype (Qwen3-MoE).
    int64_t num_experts = 0;
    int64_t num_experts_per_tok = 0;
    int64_t moe_intermediate_size = 0;  // each expert's width (Mixtral: intermediate_size)
    bool norm_topk_prob = false;
    bool router_weights_fp32 = false;
    // Per layer: true = routed experts; empty = every layer when num_experts > 0
    // (Qwen3-MoE's mlp_only_layers and decoder_sparse_step make some dense).
    std::vector<bool> sparse_layers;
    bool layer_is_sparse(int64_t layer) const {
        return num_experts > 0 && (sparse_layers.empty() || sparse_layers.at(static_cast<size_t>(layer)));
    }

    // The rotary parameters of one layer's table.
    bool layer_has_local_rope(int64_t layer) const { return rope_local_theta && layer_slides(layer); }

    bool layer_slides(int64_t layer) const {
        return sliding_window && (sliding_layers.empty() || sliding_layers.at(static_cast<size_t>(layer)));
    }
};

}  // namespace olm
