// Folder -> slot tensors through the io architecture table (no tensor names
// are formatted here), and the TensorRole <-> LayerUnit mapping.
#include "core/io/model_folder.h"
#include "core/model/transformer.h"
#include "core/model/weights.h"
#include "core/util/error.h"

namespace olm {

LayerTensorRef layer_tensor_ref(TensorRole role) {
    using R = TensorRole;
    using U = LayerUnit;
    switch (role) {
        case R::attn_q:
            return {U::q_proj, false};
        case R::attn_k:
            return {U::k_proj, false};
        case R::attn_v:
            return {U::v_proj, false};
        case R::attn_o:
            return {U::o_proj, false};
        case R::attn_q_bias:
            return {U::q_proj, true};
        case R::attn_k_bias:
            return {U::k_proj, true};
        case R::attn_v_bias:
            return {U::v_proj, true};
        case R::attn_o_bias:
            return {U::o_proj, true};
        case R::attn_q_norm:
            return {U::q_norm, false};
        case R::attn_k_norm:
            return {U::k_norm, false};
        case R::input_norm:
            return {U::input_layernorm, false};
        case R::post_attention_norm:
            return {U::post_attention_layernorm, false};
        case R::pre_feedforward_norm:
            return {U::pre_feedforward_layernorm, false};
        case R::post_feedforward_norm:
            return {U::post_feedforward_layernorm, false};
        case R::attn_qkv:
            return {U::qkv_proj, false};
        case R::mlp_gate_up:
            return {U::gate_up_proj, false};
        case R::mlp_gate:
            return {U::gate_proj, false};
        case R::mlp_up:
            return {U::up_proj, false};
        case R::mlp_down:
            return {U::down_proj, false};
        case R::moe_router:
            return {U::router, false};
        default:
            break;
    }
    throw Error("tensor role '" + std::string(role_name(role)) + "' is not a layer tensor");
}

BoundaryPart boundary_part_of(TensorRole role) {
    switch (role) {
        case TensorRole::embed_tokens:
            return BoundaryPart::embed_tokens;
        case TensorRole::final_norm:
            return BoundaryPart::norm;
        case TensorRole::lm_head:
            return BoundaryPart::lm_head;
        default:
            break;
    }
    throw Error("tensor role '" + std::string(role_name(role)) + "' is not a boundary tensor");
}

LayerWeights load_layer_weights(const ModelFolder& folder, int64_t layer) {
    const ModelSpec& spec = folder.spec();
    if (layer < 0 || layer >= spec.num_hidden_layers)
        throw Error(folder.path().string() + ": layer " + std::to_string(layer) + " out of range");
    LayerWeights w;
    for (const ExpectedTensor& t : layer_tensors(folder.architecture(), spec, static_cast<int>(layer))) {
        if (!t.required && !folder.has(t.name)) continue;
        if (is_expert_role(t.role)) {
            if (w.experts.size() <= static_cast<size_t>(t.expert))
                w.experts.resize(static_cast<size_t>(t.expert) + 1);
            expert_tensor(w.experts[static_cast<size_t>(t.expert)], t.role) = folder.tensor(t.name);
            continue;
        }
        const LayerTensorRef ref = layer_tensor_ref(t.role);
        UnitTensors& u = w[ref.unit];
        (ref.bias ? u.bias : u.weight) = folder.tensor(t.name);
    }
    return w;
}

BoundaryWeights load_boundary_weights(const ModelFolder& folder) {
    BoundaryWeights w;
    const ModelSpec& spec = folder.spec();
    for (const ExpectedTensor& t : boundary_tensors(folder.architecture(), spec)) {
        // A tied model computes logits with embed_tokens (HF ties the parameter).
        if (t.role == TensorRole::lm_head && spec.tie_word_embeddings) continue;
        if (!t.required && !folder.has(t.name)) continue;
        w[boundary_part_of(t.role)] = folder.tensor(t.name);
    }
    return w;
}

Transformer Transformer::from_folder(const ModelFolder& folder, EngineOptions options) {
    Transformer model(folder.spec(), options);
    model.set_boundary(load_boundary_weights(folder));
    for (int64_t l = 0; l < model.num_layers(); ++l) model.set_layer(l, load_layer_weights(folder, l));
    model.commit();
    return model;
}

void Transformer::set_tensor(TensorRole role, int64_t layer, const at::Tensor& tensor, int expert) {
    if (!is_layer_role(role)) {
        set_boundary_part(boundary_part_of(role), tensor);
        return;
    }
    if (is_expert_role(role)) {
        const LayerWeights lw = this->layer(layer);
        if (expert < 0 || static_cast<size_t>(expert) >= lw.experts.size())
            throw Error("set_tensor: layer " + std::to_string(layer) + " has no expert " +
                        std::to_string(expert));
        ExpertWeights e = lw.experts[static_cast<size_t>(expert)];
        expert_tensor(e, role) = tensor;
        set_expert(layer, expert, e);
        return;
    }
    const LayerTensorRef ref = layer_tensor_ref(role);
    UnitTensors u = this->layer(layer)[ref.unit];
    (ref.bias ? u.bias : u.weight) = tensor;
    set_layer_unit(layer, ref.unit, u);
}

}  // namespace olm
