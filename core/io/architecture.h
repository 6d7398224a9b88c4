#pragma once
// Architectures as data: for each supported Hugging Face architecture, the
// tensor role -> name pattern table (boundary tensors and per-layer tensors),
// which tensors are optional, and how a layer's tensors group into sublayers.
// The table itself is core/io/architecture_table.cpp; adding an architecture is
// one entry there plus a test row (docs/io.md).
//
// One helper builds names: tensor_name(arch, TensorRole::attn_q, 3)
//   -> "model.layers.3.self_attn.q_proj.weight". No other code formats names.
//
// The words, used the same way in io, the engine, the search and the report:
//   role      what a tensor is (TensorRole::attn_q), independent of its name;
//   unit      what the tensor-wise search swaps as one: a module of a layer with
//             its bias ("self_attn.q_proj", "input_layernorm"), a routed expert
//             ("mlp.experts.3") or a boundary part ("embed_tokens", "norm",
//             "lm_head"); unit_name(role) is the one place these are named;
//   sublayer  a layer's attention, mlp or norms: the roles a test derives
//             together (derive_model) and the families' table groups;
//   layout    where a checkpoint keeps the tensors: a family may have more than
//             one (Gemma 3's Hub layout and transformers' in-memory one), and a
//             folder's entry is the one whose names it holds.
#include "core/io/model_spec.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace olm {

enum class TensorRole {  // kNumTensorRoles below counts them
    // boundary
    embed_tokens,
    final_norm,
    lm_head,
    // per layer
    attn_q,
    attn_k,
    attn_v,
    attn_o,
    attn_q_bias,
    attn_k_bias,
    attn_v_bias,
    attn_o_bias,
    attn_q_norm,  // Qwen3: per-head RMSNorm weight [head_dim]
    attn_k_norm,
    input_norm,             // input_layernorm
    post_attention_norm,    // post_attention_layernorm (Gemma: after attention, before the residual add)
    pre_feedforward_norm,   // Gemma 2/3: before the MLP
    post_feedforward_norm,  // Gemma 2/3: after the MLP, before the residual add
    mlp_gate,
    mlp_up,
    mlp_down,
    attn_qkv,     // Phi-3: fused q/k/v projection
    mlp_gate_up,  // Phi-3: fused gate/up projection
    // routed experts (Mixtral, Qwen3-MoE): the router and each expert's MLP;
    // expert roles' patterns hold {expert} as well as {layer}
    moe_router,   // [experts, hidden]
    expert_gate,  // [expert width, hidden]
    expert_up,
    expert_down,  // [hidden, expert width]
};
inline constexpr int kNumTensorRoles = static_cast<int>(TensorRole::expert_down) + 1;

std::string_view role_name(TensorRole role);  // "attn_q", "mlp_up", ...
bool is_layer_role(TensorRole role);
bool is_norm_role(TensorRole role);    // RMSNorm weights: final, per-layer and q/k norms
bool is_expert_role(TensorRole role);  // expert_gate / expert_up / expert_down (one per expert)

// The unit a tensor of this role belongs to (see the words above):
//   attn_q / attn_q_bias -> "self_attn.q_proj", input_norm -> "input_layernorm",
//   moe_router -> "mlp.gate", expert roles -> "mlp.experts.<expert>",
//   embed_tokens / final_norm / lm_head -> "embed_tokens" / "norm" / "lm_head".
// Units are transformers' module paths relative to the layer (or the model), the
// same in every family and layout. expert is required for expert roles.
std::string unit_name(TensorRole role, int expert = -1);
std::string expert_unit_name(int expert);  // "mlp.experts.3"
// The expert of a routed-expert unit ("mlp.experts.3" -> 3), -1 for any other name.
int unit_expert(const std::string& unit);

// When a tensor of the table is present in a model of this architecture.
enum class Presence {
    required,
    if_attention_bias,  // spec.attention_bias
    if_qk_norm,         // spec.qk_norm
    if_untied,          // !spec.tie_word_embeddings (lm_head); optional when tied
    if_sparse,          // layers with routed experts (spec.layer_is_sparse)
    if_dense,           // layers with a dense MLP in a model with experts (Qwen3-MoE's mlp_only_layers)
};

struct TensorTemplate {
    TensorRole role;
    std::string pattern;  // "model.layers.{layer}.self_attn.q_proj.weight"
    Presence presence = Presence::required;
    std::string sublayer;  // layer tensors: "attention", "mlp", "norms"; boundary: ""
};

// A part of a checkpoint outside the language model (Gemma 3's vision tower and
// multimodal projector): every tensor whose name starts with `prefix`. It is
// not scored or merged: the export copies it from the base model unchanged.
struct CarriedPart {
    std::string prefix;           // "vision_tower."
    std::string mergekit_module;  // its module in mergekit's modular template ("vision_tower")
};

struct Architecture {
    std::string name;                      // "LlamaForCausalLM"
    std::vector<std::string> model_types;  // config.json model_type values it accepts
    std::vector<TensorTemplate> boundary;  // embed_tokens, final_norm, lm_head
    std::vector<TensorTemplate> layer;     // per-layer tensors
    std::vector<std::string> sublayers;    // "attention", "mlp", "norms"
    // Checkpoints that wrap the language model (Gemma3ForConditionalGeneration):
    // the config key holding the language model's config ("" = the top level),
    // the language model's module in mergekit's modular template, and the parts
    // carried through unchanged.
    std::string text_config;
    std::string mergekit_module;
    std::vector<CarriedPart> carried;
    // A second layout of the same family (see the words above): "" for the
    // family's first entry, else what the layout is ("transformers' in-memory
    // names, model.language_model.*").
    std::string layout;
    // mergekit's template for the family names this layout's tensors (an
    // export writes mergekit_config.yml only then).
    bool mergekit_names = true;
};

// The supported architectures, in table order (each family's first layout).
const std::vector<Architecture>& architectures();
// The families' further layouts (architecture_table.cpp); layouts_of reads them.
const std::vector<Architecture>& secondary_layouts();
// Every layout of the family `name`, the first being architecture_named(name)'s.
std::vector<const Architecture*> layouts_of(const std::string& name);
// "LlamaForCausalLM, MistralForCausalLM, ..."
std::string supported_architectures();
// By config.json architectures[0]; unknown -> olm::Error listing the supported ones.
const Architecture& architecture_named(const std::string& name);
const Architecture& architecture_for(const ModelSpec& spec);
// The layout of spec's family that a checkpoint holding the tensors `has` says
// uses: the first whose embed_tokens is present, else the first layout.
const Architecture& architecture_for(const ModelSpec& spec,
                                     const std::function<bool(const std::string&)>& has);

// The one name builder. layer is required for layer roles and must be -1 for
// boundary roles; expert is required for expert roles. Throws if the
// architecture has no such role.
std::string tensor_name(const Architecture& arch, TensorRole role, int layer = -1, int expert = -1);

// Shape a tensor of this role must have for spec:
//   attn_q [heads*head_dim, hidden], attn_k/v [kv_heads*head_dim, hidden],
//   attn_o [hidden, heads*head_dim], mlp_gate/up [intermediate, hidden],
//   attn_qkv [(heads + 2*kv_heads)*head_dim, hidden], mlp_gate_up [2*intermediate, hidden],
//   mlp_down [hidden, intermediate], embed/lm_head [vocab, hidden], norms [hidden],
//   q/k norms [head_dim] (OLMo 2: [heads*head_dim] / [kv_heads*head_dim]), biases [out features],
//   moe_router [experts, hidden], expert_gate/up [expert width, hidden], expert_down [hidden, expert width].
std::vector<int64_t> expected_shape(const ModelSpec& spec, TensorRole role);

// A tensor a model of (arch, spec) has or may have.
struct ExpectedTensor {
    TensorRole role;
    std::string name;
    std::string sublayer;  // "" for boundary tensors
    std::string unit;      // unit_name(role, expert): "self_attn.q_proj", "mlp.experts.3", "norm"
    bool required = true;  // false: may be absent (lm_head of a tied model)
    std::vector<int64_t> shape;
    int expert = -1;  // expert roles: which expert
};

// The tensors of one layer that spec says exist, in table order, which is
// transformers' parameter order (the expert roles' templates expand where the
// first of them stands, expert by expert: tests/conformance/test_tensor_order.py).
std::vector<ExpectedTensor> layer_tensors(const Architecture& arch, const ModelSpec& spec, int layer);
// The tensors of one sublayer of one layer ("attention", "mlp", "norms").
std::vector<ExpectedTensor> sublayer_tensors(const Architecture& arch, const ModelSpec& spec, int layer,
                                             const std::string& sublayer);
// embed_tokens, final_norm and lm_head (lm_head not required when tied).
std::vector<ExpectedTensor> boundary_tensors(const Architecture& arch, const ModelSpec& spec);
// Every tensor of the model: boundary first, then layers 0..n-1.
std::vector<ExpectedTensor> all_tensors(const Architecture& arch, const ModelSpec& spec);

// The carried part (see CarriedPart) a tensor name belongs to, or nullptr.
const CarriedPart* carried_part(const Architecture& arch, const std::string& name);

// What a tensor name of this layout is: its role, layer (-1 for boundary
// tensors) and expert (-1 unless an expert role); nullopt for a name outside
// the table (a carried part, an unknown tensor).
struct TensorKey {
    TensorRole role;
    int layer = -1;
    int expert = -1;
};
std::optional<TensorKey> tensor_key(const Architecture& arch, const std::string& name);
// The layer a tensor name belongs to, or -1 for a non-layer name.
int layer_of(const Architecture& arch, const std::string& name);
// The same tensor's name in layout `to` of the same family: name itself when
// `to` has it, else the name of the tensor another layout of the family calls
// `name`; name unchanged when no layout knows it.
std::string name_in_layout(const Architecture& to, const std::string& name);

}  // namespace olm
