#include "core/demo/tiny_llama.h"

#include "core/io/architecture.h"
#include "core/io/model_folder.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace olm::demo {

std::vector<at::Tensor> TinyLlamaLayer::tensors() const {
    return {input_layernorm,          q_proj,    k_proj,  v_proj,   o_proj,
            post_attention_layernorm, gate_proj, up_proj, down_proj};
}

namespace {
at::Tensor copy_leaf(const at::Tensor& t) { return t.detach().clone().set_requires_grad(t.requires_grad()); }
}  // namespace

TinyLlamaLayer TinyLlamaLayer::clone() const {
    TinyLlamaLayer l;
    l.input_layernorm = copy_leaf(input_layernorm);
    l.q_proj = copy_leaf(q_proj);
    l.k_proj = copy_leaf(k_proj);
    l.v_proj = copy_leaf(v_proj);
    l.o_proj = copy_leaf(o_proj);
    l.post_attention_layernorm = copy_leaf(post_attention_layernorm);
    l.gate_proj = copy_leaf(gate_proj);
    l.up_proj = copy_leaf(up_proj);
    l.down_proj = copy_leaf(down_proj);
    return l;
}

TinyLlama TinyLlama::init(const TinyLlamaShape& s, uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto normal = [&](std::initializer_list<int64_t> size) {
        return at::normal(0.0, 0.02, at::IntArrayRef(size), gen, at::TensorOptions().dtype(at::kFloat))
            .set_requires_grad(true);
    };
    auto ones = [&](int64_t n) { return at::ones({n}, at::kFloat).set_requires_grad(true); };
    const int64_t hd = s.head_dim();
    TinyLlama m;
    m.shape = s;
    m.embed_tokens = normal({s.vocab_size, s.hidden_size});
    for (int64_t i = 0; i < s.num_layers; ++i) {
        TinyLlamaLayer l;
        l.input_layernorm = ones(s.hidden_size);
        l.q_proj = normal({s.num_heads * hd, s.hidden_size});
        l.k_proj = normal({s.num_kv_heads * hd, s.hidden_size});
        l.v_proj = normal({s.num_kv_heads * hd, s.hidden_size});
        l.o_proj = normal({s.hidden_size, s.num_heads * hd});
        l.post_attention_layernorm = ones(s.hidden_size);
        l.gate_proj = normal({s.intermediate_size, s.hidden_size});
        l.up_proj = normal({s.intermediate_size, s.hidden_size});
        l.down_proj = normal({s.hidden_size, s.intermediate_size});
        m.layers.push_back(std::move(l));
    }
    m.norm = ones(s.hidden_size);
    m.lm_head = normal({s.vocab_size, s.hidden_size});
    return m;
}

TinyLlama TinyLlama::from_folder(const ModelFolder& folder) {
    const ModelSpec& spec = folder.spec();
    if (spec.architecture != "LlamaForCausalLM" || spec.tie_word_embeddings || spec.attention_bias)
        throw Error("demo: " + folder.path().string() + " is not an untied LlamaForCausalLM without biases");
    TinyLlamaShape s;
    s.vocab_size = spec.vocab_size;
    s.hidden_size = spec.hidden_size;
    s.intermediate_size = spec.intermediate_size;
    s.num_layers = spec.num_hidden_layers;
    s.num_heads = spec.num_attention_heads;
    s.num_kv_heads = spec.num_key_value_heads;
    s.max_position_embeddings = spec.max_position_embeddings;
    s.rope_theta = spec.rope_theta;
    s.rms_norm_eps = spec.rms_norm_eps;
    if (spec.head_dim != s.head_dim()) throw Error("demo: head_dim other than hidden/heads is not supported");
    TinyLlama m = init(s, 0);
    for (auto& [name, t] : m.named_tensors()) {
        at::NoGradGuard no_grad;
        t.copy_(folder.tensor(name).to(at::kFloat));
    }
    return m;
}

TinyLlama TinyLlama::clone() const {
    TinyLlama m;
    m.shape = shape;
    m.embed_tokens = copy_leaf(embed_tokens);
    for (const auto& l : layers) m.layers.push_back(l.clone());
    m.norm = copy_leaf(norm);
    m.lm_head = copy_leaf(lm_head);
    return m;
}

std::vector<std::pair<std::string, at::Tensor>> TinyLlama::named_tensors() const {
    const Architecture& arch = architecture_named("LlamaForCausalLM");
    std::vector<std::pair<std::string, at::Tensor>> out;
    out.emplace_back(tensor_name(arch, TensorRole::embed_tokens), embed_tokens);
    for (size_t i = 0; i < layers.size(); ++i) {
        const int li = static_cast<int>(i);
        const TinyLlamaLayer& l = layers[i];
        for (const auto& [role, t] : std::vector<std::pair<TensorRole, at::Tensor>>{
                 {TensorRole::input_norm, l.input_layernorm},
                 {TensorRole::attn_q, l.q_proj},
                 {TensorRole::attn_k, l.k_proj},
                 {TensorRole::attn_v, l.v_proj},
                 {TensorRole::attn_o, l.o_proj},
                 {TensorRole::post_attention_norm, l.post_attention_layernorm},
                 {TensorRole::mlp_gate, l.gate_proj},
                 {TensorRole::mlp_up, l.up_proj},
                 {TensorRole::mlp_down, l.down_proj}})
            out.emplace_back(tensor_name(arch, role, li), t);
    }
    out.emplace_back(tensor_name(arch, TensorRole::final_norm), norm);
    out.emplace_back(tensor_name(arch, TensorRole::lm_head), lm_head);
    return out;
}

nlohmann::json TinyLlama::hf_config(int64_t bos_id, int64_t eos_id, const std::string& torch_dtype) const {
    return {{"architectures", {"LlamaForCausalLM"}},
            {"attention_bias", false},
            {"attention_dropout", 0.0},
            {"bos_token_id", bos_id},
            {"eos_token_id", eos_id},
            {"head_dim", shape.head_dim()},
            {"hidden_act", "silu"},
            {"hidden_size", shape.hidden_size},
            {"initializer_range", 0.02},
            {"intermediate_size", shape.intermediate_size},
            {"max_position_embeddings", shape.max_position_embeddings},
            {"mlp_bias", false},
            {"model_type", "llama"},
            {"num_attention_heads", shape.num_heads},
            {"num_hidden_layers", shape.num_layers},
            {"num_key_value_heads", shape.num_kv_heads},
            {"pretraining_tp", 1},
            {"rms_norm_eps", shape.rms_norm_eps},
            {"rope_scaling", nullptr},
            {"rope_theta", shape.rope_theta},
            {"tie_word_embeddings", false},
            {"torch_dtype", torch_dtype},
            {"transformers_version", "4.46.0"},
            {"use_cache", true},
            {"vocab_size", shape.vocab_size}};
}

namespace {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
    return x * at::rsqrt(x.pow(2).mean(/*dim=*/{-1}, /*keepdim=*/true) + eps) * weight;
}

at::Tensor rotate_half(const at::Tensor& x) {
    const int64_t half = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, /*dim=*/-1);
}

}  // namespace

namespace {

// RoPE tables (HF layout: the two halves share frequencies) and the causal mask for seq positions.
struct AttentionTables {
    at::Tensor cos, sin;  // [seq, hd]
    at::Tensor causal;    // [seq, seq], true above the diagonal = masked
};

AttentionTables attention_tables(const TinyLlamaShape& s, int64_t seq) {
    const int64_t hd = s.head_dim();
    auto inv_freq = 1.0 / at::pow(s.rope_theta, at::arange(0, hd, 2, at::kDouble) / static_cast<double>(hd));
    auto freqs = at::outer(at::arange(seq, at::kDouble), inv_freq);
    auto emb = at::cat({freqs, freqs}, -1);
    return {emb.cos().to(at::kFloat), emb.sin().to(at::kFloat), at::ones({seq, seq}, at::kBool).triu(1)};
}

// One decoder layer on x [batch, seq, hidden] -> [batch, seq, hidden].
at::Tensor run_layer(const TinyLlamaShape& s, const TinyLlamaLayer& l, const at::Tensor& x0,
                     const AttentionTables& tab) {
    const int64_t batch = x0.size(0), seq = x0.size(1), hd = s.head_dim();
    const int64_t group = s.num_heads / s.num_kv_heads;
    auto h = rms_norm(x0, l.input_layernorm, s.rms_norm_eps);
    auto q =
        at::matmul(h, l.q_proj.t()).view({batch, seq, s.num_heads, hd}).transpose(1, 2);  // [b, nh, t, hd]
    auto k = at::matmul(h, l.k_proj.t()).view({batch, seq, s.num_kv_heads, hd}).transpose(1, 2);
    auto v = at::matmul(h, l.v_proj.t()).view({batch, seq, s.num_kv_heads, hd}).transpose(1, 2);
    q = q * tab.cos + rotate_half(q) * tab.sin;
    k = k * tab.cos + rotate_half(k) * tab.sin;
    if (group > 1) {
        k = k.repeat_interleave(group, /*dim=*/1);
        v = v.repeat_interleave(group, /*dim=*/1);
    }
    auto scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));  // [b, nh, t, t]
    scores = scores.masked_fill(tab.causal, -std::numeric_limits<float>::infinity());
    auto attn = at::matmul(at::softmax(scores, -1), v);  // [b, nh, t, hd]
    attn = attn.transpose(1, 2).reshape({batch, seq, s.num_heads * hd});
    auto x = x0 + at::matmul(attn, l.o_proj.t());
    h = rms_norm(x, l.post_attention_layernorm, s.rms_norm_eps);
    auto mlp = at::silu(at::matmul(h, l.gate_proj.t())) * at::matmul(h, l.up_proj.t());
    return x + at::matmul(mlp, l.down_proj.t());
}

}  // namespace

at::Tensor layer_forward(const TinyLlamaShape& shape, const TinyLlamaLayer& layer, const at::Tensor& x) {
    return run_layer(shape, layer, x, attention_tables(shape, x.size(1)));
}

TinyLlamaOutput forward(const TinyLlama& model, const at::Tensor& ids,
                        const std::vector<const TinyLlamaLayer*>& layers, int64_t hidden_after,
                        bool keep_layer_inputs) {
    const auto& s = model.shape;
    const int64_t batch = ids.size(0), seq = ids.size(1);
    const AttentionTables tab = attention_tables(s, seq);
    auto x = model.embed_tokens.index_select(0, ids.reshape({-1})).reshape({batch, seq, s.hidden_size});
    TinyLlamaOutput out;
    for (int64_t i = 0; i < s.num_layers; ++i) {
        const TinyLlamaLayer& l =
            layers.empty() ? model.layers[static_cast<size_t>(i)] : *layers[static_cast<size_t>(i)];
        if (keep_layer_inputs) out.layer_inputs.push_back(x);
        x = run_layer(s, l, x, tab);
        if (i == hidden_after) out.hidden = x;
    }
    x = rms_norm(x, model.norm, s.rms_norm_eps);
    if (hidden_after < 0) out.hidden = x;
    out.logits = at::matmul(x, model.lm_head.t());  // [b, t, vocab]
    return out;
}

}  // namespace olm::demo
