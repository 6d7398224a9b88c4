#pragma once
// A differentiable Llama written with plain torch ops, for training the demo
// pool. Independent of the inference engine in core/model on purpose: tests
// check that the engine's logits on a written model equal this forward.
//
// Weights are float32 leaf tensors named and shaped as in Hugging Face's
// LlamaForCausalLM (nn.Linear weights are [out, in]).
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace olm {
class ModelFolder;
}

namespace olm::demo {

struct TinyLlamaShape {
    int64_t vocab_size = 0;
    int64_t hidden_size = 64;
    int64_t intermediate_size = 192;
    int64_t num_layers = 6;
    int64_t num_heads = 4;
    int64_t num_kv_heads = 2;
    int64_t max_position_embeddings = 256;
    double rope_theta = 10000.0;
    double rms_norm_eps = 1e-5;
    int64_t head_dim() const { return hidden_size / num_heads; }
};

struct TinyLlamaLayer {
    at::Tensor input_layernorm;           // [hidden]
    at::Tensor q_proj, k_proj, v_proj;    // [heads*hd, hidden], [kv*hd, hidden] x2
    at::Tensor o_proj;                    // [hidden, heads*hd]
    at::Tensor post_attention_layernorm;  // [hidden]
    at::Tensor gate_proj, up_proj;        // [inter, hidden]
    at::Tensor down_proj;                 // [hidden, inter]

    std::vector<at::Tensor> tensors() const;
    TinyLlamaLayer clone() const;  // detached deep copy
};

struct TinyLlama {
    TinyLlamaShape shape;
    at::Tensor embed_tokens;  // [vocab, hidden]
    std::vector<TinyLlamaLayer> layers;
    at::Tensor norm;     // [hidden]
    at::Tensor lm_head;  // [vocab, hidden]

    // Random initialisation (normal(0, 0.02), norms at 1) from a seed.
    static TinyLlama init(const TinyLlamaShape& shape, uint64_t seed);
    // The weights of a written LlamaForCausalLM folder, as float32 (for checks).
    static TinyLlama from_folder(const ModelFolder& folder);
    TinyLlama clone() const;
    // Every tensor with its Hugging Face name, in a fixed order.
    std::vector<std::pair<std::string, at::Tensor>> named_tensors() const;
    // config.json of a LlamaForCausalLM with this shape (transformers' own keys).
    nlohmann::json hf_config(int64_t bos_id, int64_t eos_id, const std::string& torch_dtype) const;
};

struct TinyLlamaOutput {
    at::Tensor logits;                     // [batch, seq, vocab]
    at::Tensor hidden;                     // [batch, seq, hidden] after layer `hidden_after` (see forward)
    std::vector<at::Tensor> layer_inputs;  // [batch, seq, hidden] per layer, when asked for
};

// Causal forward over right-padded ids [batch, seq]. layers[i] is the layer run
// at position i (so a specialist's own layers can be swapped for the base's);
// empty = model.layers. hidden_after: which layer's output to return in
// TinyLlamaOutput::hidden (-1 = the final normalised hidden state).
// keep_layer_inputs: also return each layer's input (the residual stream before it).
TinyLlamaOutput forward(const TinyLlama& model, const at::Tensor& ids,
                        const std::vector<const TinyLlamaLayer*>& layers = {}, int64_t hidden_after = -1,
                        bool keep_layer_inputs = false);

// One decoder layer applied to a residual stream x [batch, seq, hidden] (causal,
// positions 0..seq-1): the layer's output [batch, seq, hidden].
at::Tensor layer_forward(const TinyLlamaShape& shape, const TinyLlamaLayer& layer, const at::Tensor& x);

}  // namespace olm::demo
