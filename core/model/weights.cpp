#include "core/model/weights.h"

#include "core/io/model_spec.h"
#include "core/util/error.h"

#include <sstream>

namespace olm {

namespace {

constexpr const char* kUnitNames[kNumLayerUnits] = {
    "input_layernorm",
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "self_attn.q_norm",
    "self_attn.k_norm",
    "post_attention_layernorm",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
    "pre_feedforward_layernorm",
    "post_feedforward_layernorm",
};

std::string shape_str(at::IntArrayRef s) {
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
    o << "]";
    return o.str();
}

void expect_shape(const at::Tensor& t, std::vector<int64_t> want, const std::string& what) {
    if (!t.defined()) throw Error(what + ": missing (expected shape " + shape_str(want) + ")");
    if (t.sizes() != at::IntArrayRef(want))
        throw Error(what + ": shape " + shape_str(t.sizes()) + ", expected " + shape_str(want));
    if (!at::isFloatingType(t.scalar_type()))
        throw Error(what + ": dtype " + std::string(c10::toString(t.scalar_type())) +
                    " is not floating point");
}

}  // namespace

const char* layer_unit_name(LayerUnit unit) { return kUnitNames[static_cast<int>(unit)]; }

bool is_norm_unit(LayerUnit unit) {
    switch (unit) {
        case LayerUnit::input_layernorm:
        case LayerUnit::post_attention_layernorm:
        case LayerUnit::pre_feedforward_layernorm:
        case LayerUnit::post_feedforward_layernorm:
        case LayerUnit::q_norm:
        case LayerUnit::k_norm:
            return true;
        default:
            return false;
    }
}

LayerUnit layer_unit_from_name(const std::string& name) {
    for (int i = 0; i < kNumLayerUnits; ++i)
        if (name == kUnitNames[i]) return static_cast<LayerUnit>(i);
    std::string known;
    for (int i = 0; i < kNumLayerUnits; ++i) known += std::string(i ? ", " : "") + kUnitNames[i];
    throw Error("unknown layer unit '" + name + "' (known: " + known + ")");
}

const char* boundary_part_name(BoundaryPart part) {
    switch (part) {
        case BoundaryPart::embed_tokens:
            return "embed_tokens";
        case BoundaryPart::norm:
            return "norm";
        case BoundaryPart::lm_head:
            return "lm_head";
    }
    return "?";
}

at::Tensor& BoundaryWeights::operator[](BoundaryPart p) {
    switch (p) {
        case BoundaryPart::embed_tokens:
            return embed_tokens;
        case BoundaryPart::norm:
            return norm;
        case BoundaryPart::lm_head:
            return lm_head;
    }
    throw Error("bad boundary part");
}

const at::Tensor& BoundaryWeights::operator[](BoundaryPart p) const {
    return const_cast<BoundaryWeights&>(*this)[p];
}

void check_layer_weights(const ModelSpec& spec, const LayerWeights& w, int64_t layer) {
    const int64_t h = spec.hidden_size, hd = spec.head_dim, nh = spec.num_attention_heads,
                  nkv = spec.num_key_value_heads, im = spec.intermediate_size;
    const std::string where = "layer " + std::to_string(layer) + " ";
    auto unit = [&](LayerUnit u, std::vector<int64_t> shape, bool required = true) {
        const UnitTensors& t = w[u];
        const std::string what = where + layer_unit_name(u);
        if (!required && !t.weight.defined()) return;
        expect_shape(t.weight, shape, what + ".weight");
        if (t.bias.defined()) expect_shape(t.bias, {shape[0]}, what + ".bias");
    };
    unit(LayerUnit::input_layernorm, {h});
    unit(LayerUnit::post_attention_layernorm, {h});
    unit(LayerUnit::q_proj, {nh * hd, h});
    unit(LayerUnit::k_proj, {nkv * hd, h});
    unit(LayerUnit::v_proj, {nkv * hd, h});
    unit(LayerUnit::o_proj, {h, nh * hd});
    unit(LayerUnit::q_norm, {hd}, spec.qk_norm);
    unit(LayerUnit::k_norm, {hd}, spec.qk_norm);
    unit(LayerUnit::gate_proj, {im, h});
    unit(LayerUnit::up_proj, {im, h});
    unit(LayerUnit::down_proj, {h, im});
    const bool sandwich = spec.norm_layout == NormLayout::sandwich;
    unit(LayerUnit::pre_feedforward_layernorm, {h}, sandwich);
    unit(LayerUnit::post_feedforward_layernorm, {h}, sandwich);
    if (spec.attention_bias) {
        for (LayerUnit u : {LayerUnit::q_proj, LayerUnit::k_proj, LayerUnit::v_proj})
            if (!w[u].bias.defined())
                throw Error(where + layer_unit_name(u) + ".bias: missing (attention_bias)");
    }
}

void check_boundary_weights(const ModelSpec& spec, const BoundaryWeights& w) {
    expect_shape(w.embed_tokens, {spec.vocab_size, spec.hidden_size}, "embed_tokens");
    expect_shape(w.norm, {spec.hidden_size}, "norm");
    if (w.lm_head.defined())
        expect_shape(w.lm_head, {spec.vocab_size, spec.hidden_size}, "lm_head");
    else if (!spec.tie_word_embeddings)
        throw Error("lm_head: missing and tie_word_embeddings is false");
}

}  // namespace olm
