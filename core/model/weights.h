#pragma once
// The tensors of one decoder layer and of the model boundary (embeddings,
// final norm, lm_head). Tensors are usually the zero-copy memory-mapped ones
// from a ModelFolder; they may also be owned, computed tensors (a blended layer
// Σ coeff × tensor from the merge). An undefined at::Tensor means "absent".
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace olm {

class ModelFolder;  // core/io/model_folder.h
struct ModelSpec;
enum class TensorRole;  // core/io/architecture.h

// The replaceable units of a decoder layer: one module each (weight + optional bias).
enum class LayerUnit : int {
    input_layernorm = 0,
    q_proj,
    k_proj,
    v_proj,
    o_proj,
    q_norm,  // Qwen3: per-head RMSNorm on q before RoPE, weight [head_dim]
    k_norm,
    post_attention_layernorm,
    gate_proj,
    up_proj,
    down_proj,
    pre_feedforward_layernorm,   // Gemma 2/3 (NormLayout::sandwich)
    post_feedforward_layernorm,  // Gemma 2/3
    qkv_proj,      // Phi-3: q, k and v in one projection, [(heads + 2 kv_heads) * head_dim, hidden]
    gate_up_proj,  // Phi-3: gate and up in one projection, [2 * intermediate, hidden]
    router,        // Mixtral / Qwen3-MoE: the experts' router, [experts, hidden]
};
inline constexpr int kNumLayerUnits = 16;

// The unit a slot holds, by io's unit_name of the role whose weight it holds:
// "input_layernorm", "self_attn.q_proj", ..., "mlp.down_proj";
// layer_unit_from_name throws olm::Error on unknown names.
const char* layer_unit_name(LayerUnit unit);
// The norms among the units (input/post-attention/feed-forward layernorms, q/k norms).
bool is_norm_unit(LayerUnit unit);
LayerUnit layer_unit_from_name(const std::string& name);

struct UnitTensors {
    at::Tensor weight;  // linear: [out, in]; norm: [dim]
    at::Tensor bias;    // [out] or undefined
};

// One routed expert (Mixtral's w1/w3/w2, Qwen3-MoE's gate/up/down_proj): a
// unit of its own for the tensor-wise search, named "mlp.experts.<e>" (io's
// expert_unit_name / unit_expert).
struct ExpertWeights {
    at::Tensor gate;  // [expert width, hidden]
    at::Tensor up;    // [expert width, hidden]
    at::Tensor down;  // [hidden, expert width]
};
at::Tensor& expert_tensor(ExpertWeights& w, TensorRole role);  // by expert role; throws for others

struct LayerWeights {
    std::array<UnitTensors, kNumLayerUnits> units;
    std::vector<ExpertWeights> experts;  // empty in a dense layer

    UnitTensors& operator[](LayerUnit u) { return units[static_cast<int>(u)]; }
    const UnitTensors& operator[](LayerUnit u) const { return units[static_cast<int>(u)]; }
};

enum class BoundaryPart : int { embed_tokens = 0, norm, lm_head };
inline constexpr int kNumBoundaryParts = 3;
const char* boundary_part_name(BoundaryPart part);  // io's unit_name: "embed_tokens", "norm", "lm_head"
bool is_boundary_part_name(const std::string& name);
BoundaryPart boundary_part_from_name(const std::string& name);  // throws olm::Error on another name

struct BoundaryWeights {
    at::Tensor embed_tokens;  // [vocab, hidden]
    at::Tensor norm;          // [hidden]
    at::Tensor lm_head;       // [vocab, hidden]; undefined = tied to embed_tokens

    at::Tensor& operator[](BoundaryPart p);
    const at::Tensor& operator[](BoundaryPart p) const;
};

// Where an io tensor role lives in a LayerWeights / BoundaryWeights.
struct LayerTensorRef {
    LayerUnit unit;
    bool bias = false;
};
LayerTensorRef layer_tensor_ref(TensorRole role);  // throws for boundary roles
BoundaryPart boundary_part_of(TensorRole role);    // throws for layer roles

// Checks every tensor's presence and shape against the spec; the error names
// the layer, unit and expected vs found shape.
void check_layer_weights(const ModelSpec& spec, const LayerWeights& w, int64_t layer);
void check_boundary_weights(const ModelSpec& spec, const BoundaryWeights& w);

// From a model folder, through the io architecture table (no names formatted here).
LayerWeights load_layer_weights(const ModelFolder& folder, int64_t layer);
BoundaryWeights load_boundary_weights(const ModelFolder& folder);

}  // namespace olm
