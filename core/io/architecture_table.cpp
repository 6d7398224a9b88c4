// The architecture table: one entry per supported Hugging Face architecture.
// To add one: append an entry to k_table (name, model_types, boundary and layer
// templates with their presence and sublayer) and a row to tests/io/test_architecture.cpp.
// A family's further checkpoint layouts go in k_layouts.
#include "core/io/architecture.h"

namespace olm {

namespace {

using R = TensorRole;
using P = Presence;

// root: where the decoder's tensors live ("model."; "language_model.model." in a
// checkpoint that wraps the language model), head: the lm_head's prefix.
std::vector<TensorTemplate> llama_boundary(const std::string& root = "model.", const std::string& head = "") {
    return {
        {R::embed_tokens, root + "embed_tokens.weight", P::required, ""},
        {R::final_norm, root + "norm.weight", P::required, ""},
        {R::lm_head, head + "lm_head.weight", P::if_untied, ""},
    };
}

// Llama-style decoder layer; bias presence and q/k norms vary by architecture.
std::vector<TensorTemplate> decoder_layer(Presence qkv_bias, bool o_bias, bool qk_norm,
                                          const std::string& root = "model.") {
    const std::string L = root + "layers.{layer}.";
    std::vector<TensorTemplate> t = {
        {R::attn_q, L + "self_attn.q_proj.weight", P::required, "attention"},
        {R::attn_k, L + "self_attn.k_proj.weight", P::required, "attention"},
        {R::attn_v, L + "self_attn.v_proj.weight", P::required, "attention"},
        {R::attn_o, L + "self_attn.o_proj.weight", P::required, "attention"},
        {R::attn_q_bias, L + "self_attn.q_proj.bias", qkv_bias, "attention"},
        {R::attn_k_bias, L + "self_attn.k_proj.bias", qkv_bias, "attention"},
        {R::attn_v_bias, L + "self_attn.v_proj.bias", qkv_bias, "attention"},
    };
    if (o_bias) t.push_back({R::attn_o_bias, L + "self_attn.o_proj.bias", P::if_attention_bias, "attention"});
    if (qk_norm) {
        t.push_back({R::attn_q_norm, L + "self_attn.q_norm.weight", P::if_qk_norm, "attention"});
        t.push_back({R::attn_k_norm, L + "self_attn.k_norm.weight", P::if_qk_norm, "attention"});
    }
    t.push_back({R::mlp_gate, L + "mlp.gate_proj.weight", P::required, "mlp"});
    t.push_back({R::mlp_up, L + "mlp.up_proj.weight", P::required, "mlp"});
    t.push_back({R::mlp_down, L + "mlp.down_proj.weight", P::required, "mlp"});
    t.push_back({R::input_norm, L + "input_layernorm.weight", P::required, "norms"});
    t.push_back({R::post_attention_norm, L + "post_attention_layernorm.weight", P::required, "norms"});
    return t;
}

// Gemma 2/3: the Llama layer plus a norm before and after the MLP (and
// post_attention_layernorm after attention rather than before the MLP).
std::vector<TensorTemplate> sandwich_layer(bool qk_norm, const std::string& root = "model.") {
    std::vector<TensorTemplate> t = decoder_layer(P::if_attention_bias, true, qk_norm, root);
    const std::string L = root + "layers.{layer}.";
    t.push_back({R::pre_feedforward_norm, L + "pre_feedforward_layernorm.weight", P::required, "norms"});
    t.push_back({R::post_feedforward_norm, L + "post_feedforward_layernorm.weight", P::required, "norms"});
    return t;
}

// OLMo 2: no input norm; a norm after attention and after the MLP; q/k norms
// over the whole projection (shape [heads * head_dim], see expected_shape).
std::vector<TensorTemplate> post_norm_layer() {
    std::vector<TensorTemplate> t;
    for (auto& x : decoder_layer(P::if_attention_bias, true, true))
        if (x.role != R::input_norm) t.push_back(std::move(x));
    t.push_back({R::post_feedforward_norm, "model.layers.{layer}.post_feedforward_layernorm.weight",
                 P::required, "norms"});
    return t;
}

// Phi-3 / Phi-4: one qkv_proj and one gate_up_proj per layer (Phi3Attention, Phi3MLP).
std::vector<TensorTemplate> fused_layer() {
    const std::string L = "model.layers.{layer}.";
    return {
        // Phi3Attention registers o_proj before qkv_proj (transformers' parameter order).
        {R::attn_o, L + "self_attn.o_proj.weight", P::required, "attention"},
        {R::attn_qkv, L + "self_attn.qkv_proj.weight", P::required, "attention"},
        {R::mlp_gate_up, L + "mlp.gate_up_proj.weight", P::required, "mlp"},
        {R::mlp_down, L + "mlp.down_proj.weight", P::required, "mlp"},
        {R::input_norm, L + "input_layernorm.weight", P::required, "norms"},
        {R::post_attention_norm, L + "post_attention_layernorm.weight", P::required, "norms"},
    };
}

// Mixtral / Qwen3-MoE: the Llama attention, then a router and routed experts
// under `block` (the Hub's "block_sparse_moe." / "mlp."), each expert a gated
// MLP named gate/up/down. dense_mlp: layers without experts keep a dense MLP
// (Qwen3-MoE's mlp_only_layers); otherwise the layer has no dense MLP.
// The order is transformers' parameter order: attention, the dense MLP or the
// sparse block (router_first: the router before the experts, as MixtralSparseMoeBlock
// registers them; Qwen3MoeSparseMoeBlock registers the experts first), then the norms.
std::vector<TensorTemplate> moe_layer(const std::string& block, const char* gate, const char* up,
                                      const char* down, bool qk_norm, bool dense_mlp, bool router_first) {
    const std::string L = "model.layers.{layer}.";
    const std::string E = L + block + "experts.{expert}.";
    const TensorTemplate router = {R::moe_router, L + block + "gate.weight", P::if_sparse, "mlp"};
    std::vector<TensorTemplate> t;
    for (auto& x : decoder_layer(P::if_attention_bias, true, qk_norm)) {
        const bool mlp = x.role == R::mlp_gate || x.role == R::mlp_up || x.role == R::mlp_down;
        if (x.role == R::input_norm) {  // the sparse block goes after the (dense) MLP, before the norms
            if (router_first) t.push_back(router);
            t.push_back({R::expert_gate, E + gate + ".weight", P::if_sparse, "mlp"});
            t.push_back({R::expert_up, E + up + ".weight", P::if_sparse, "mlp"});
            t.push_back({R::expert_down, E + down + ".weight", P::if_sparse, "mlp"});
            if (!router_first) t.push_back(router);
        }
        if (mlp && !dense_mlp) continue;
        if (mlp) x.presence = P::if_dense;
        t.push_back(std::move(x));
    }
    return t;
}

const std::vector<std::string> k_sublayers = {"attention", "mlp", "norms"};

}  // namespace

const std::vector<Architecture>& architectures() {
    static const std::vector<Architecture> k_table = {
        // q/k/v/o biases when config.attention_bias (HF LlamaAttention)
        {"LlamaForCausalLM",
         {"llama"},
         llama_boundary(),
         decoder_layer(P::if_attention_bias, true, false),
         k_sublayers},
        {"MistralForCausalLM",
         {"mistral"},
         llama_boundary(),
         decoder_layer(P::if_attention_bias, true, false),
         k_sublayers},
        // q/k/v biases always (parse_model_spec sets attention_bias for qwen2), no o_proj bias
        {"Qwen2ForCausalLM",
         {"qwen2"},
         llama_boundary(),
         decoder_layer(P::if_attention_bias, false, false),
         k_sublayers},
        // per-head q_norm/k_norm; biases when config.attention_bias
        {"Qwen3ForCausalLM",
         {"qwen3"},
         llama_boundary(),
         decoder_layer(P::if_attention_bias, true, true),
         k_sublayers},
        // Gemma 2: sandwich norms with (1 + w), embeddings × √hidden, GELU-tanh,
        // attention and final-logit soft-capping, query_pre_attn_scalar,
        // sliding-window attention on alternate layers (parse_model_spec).
        {"Gemma2ForCausalLM", {"gemma2"}, llama_boundary(), sandwich_layer(false), k_sublayers},
        // Gemma 3 (text): Gemma 2's layer plus per-head q/k norms with (1 + w), no
        // soft-capping by default, and its own rotary base on the sliding layers.
        {"Gemma3ForCausalLM", {"gemma3_text"}, llama_boundary(), sandwich_layer(true), k_sublayers},
        // Gemma 3 as most fine-tunes ship it: the Gemma 3 text model under
        // language_model. (the Hub's layout, which transformers 5 also writes),
        // its config under text_config, and the SigLIP vision tower and the
        // projector carried from the base model into the export unchanged.
        {"Gemma3ForConditionalGeneration",
         {"gemma3"},
         llama_boundary("language_model.model.", "language_model."),
         sandwich_layer(true, "language_model.model."),
         k_sublayers,
         "text_config",
         "text_decoder",
         {{"vision_tower.", "vision_tower"}, {"multi_modal_projector.", "multi_modal_projector"}}},
        // Phi-3 and Phi-4: fused projections, longrope scaling, partial rotary.
        {"Phi3ForCausalLM", {"phi3"}, llama_boundary(), fused_layer(), k_sublayers},
        // Granite: the Llama layer with embedding, attention, residual and logits multipliers.
        {"GraniteForCausalLM",
         {"granite"},
         llama_boundary(),
         decoder_layer(P::if_attention_bias, true, false),
         k_sublayers},
        // OLMo 2: post-norms and full-width q/k norms (parse_model_spec).
        {"Olmo2ForCausalLM", {"olmo2"}, llama_boundary(), post_norm_layer(), k_sublayers},
        // Mixtral: the Mistral attention and routed experts (w1 gate, w3 up, w2 down).
        {"MixtralForCausalLM",
         {"mixtral"},
         llama_boundary(),
         moe_layer("block_sparse_moe.", "w1", "w3", "w2", false, false, true),
         k_sublayers},
        // Qwen3-MoE: the Qwen 3 attention (q/k norms) and routed experts; layers in
        // mlp_only_layers have Qwen 3's dense MLP.
        {"Qwen3MoeForCausalLM",
         {"qwen3_moe"},
         llama_boundary(),
         moe_layer("mlp.", "gate_proj", "up_proj", "down_proj", true, true, false),
         k_sublayers},
    };
    return k_table;
}

const std::vector<Architecture>& secondary_layouts() {
    static const std::vector<Architecture> k_layouts = {
        // Gemma 3 under transformers' in-memory names (Gemma3ForConditionalGeneration's
        // state_dict since transformers 4.52: model.language_model.*, model.vision_tower.*,
        // model.multi_modal_projector.*, lm_head), as fine-tunes saved from a state
        // dict ship it. transformers loads both layouts; mergekit's gemma3 template
        // names only the Hub's.
        {"Gemma3ForConditionalGeneration",
         {"gemma3"},
         llama_boundary("model.language_model.", ""),
         sandwich_layer(true, "model.language_model."),
         k_sublayers,
         "text_config",
         "text_decoder",
         {{"model.vision_tower.", "vision_tower"}, {"model.multi_modal_projector.", "multi_modal_projector"}},
         "transformers' in-memory names (model.language_model.*)",
         false},
    };
    return k_layouts;
}

}  // namespace olm
