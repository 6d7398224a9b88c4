#include "core/model/weights.h"

#include "core/io/architecture.h"
#include "core/io/model_spec.h"
#include "core/util/error.h"

#include <algorithm>
#include <array>
#include <sstream>

namespace olm {

namespace {

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

const char* layer_unit_name(LayerUnit unit) {
    // Each slot holds one role's weight (and maybe its bias): the unit is that role's.
    static const std::array<std::string, kNumLayerUnits> k_names = [] {
        std::array<std::string, kNumLayerUnits> n;
        for (int r = 0; r < kNumTensorRoles; ++r) {
            const auto role = static_cast<TensorRole>(r);
            if (!is_layer_role(role) || is_expert_role(role)) continue;
            const LayerTensorRef ref = layer_tensor_ref(role);
            if (!ref.bias) n[static_cast<size_t>(ref.unit)] = unit_name(role);
        }
        return n;
    }();
    return k_names[static_cast<size_t>(unit)].c_str();
}

bool is_norm_unit(LayerUnit unit) {
    // The architecture table's answer: the role whose weight this unit holds is a norm role.
    for (const Architecture& a : architectures())
        for (const TensorTemplate& t : a.layer) {
            if (is_expert_role(t.role)) continue;
            const LayerTensorRef ref = layer_tensor_ref(t.role);
            if (ref.unit == unit && !ref.bias) return is_norm_role(t.role);
        }
    return false;
}

at::Tensor& expert_tensor(ExpertWeights& w, TensorRole role) {
    switch (role) {
        case TensorRole::expert_gate:
            return w.gate;
        case TensorRole::expert_up:
            return w.up;
        case TensorRole::expert_down:
            return w.down;
        default:
            break;
    }
    throw Error("tensor role '" + std::string(role_name(role)) + "' is not an expert tensor");
}

LayerUnit layer_unit_from_name(const std::string& name) {
    for (int i = 0; i < kNumLayerUnits; ++i)
        if (name == layer_unit_name(static_cast<LayerUnit>(i))) return static_cast<LayerUnit>(i);
    std::string known;
    for (int i = 0; i < kNumLayerUnits; ++i)
        known += std::string(i ? ", " : "") + layer_unit_name(static_cast<LayerUnit>(i));
    throw Error("unknown layer unit '" + name + "' (known: " + known + ")");
}

const char* boundary_part_name(BoundaryPart part) {
    static const std::array<std::string, kNumBoundaryParts> k_names = {unit_name(TensorRole::embed_tokens),
                                                                       unit_name(TensorRole::final_norm),
                                                                       unit_name(TensorRole::lm_head)};
    return k_names[static_cast<size_t>(part)].c_str();
}

namespace {

// The part named `name`, or -1.
int boundary_part_index(const std::string& name) {
    for (int p = 0; p < kNumBoundaryParts; ++p)
        if (name == boundary_part_name(static_cast<BoundaryPart>(p))) return p;
    return -1;
}

}  // namespace

bool is_boundary_part_name(const std::string& name) { return boundary_part_index(name) >= 0; }

BoundaryPart boundary_part_from_name(const std::string& name) {
    const int p = boundary_part_index(name);
    if (p < 0) throw Error("unknown boundary part '" + name + "' (known: embed_tokens, norm, lm_head)");
    return static_cast<BoundaryPart>(p);
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
    // What a layer holds comes from the architecture table (roles, presence,
    // shapes): the same description io checks files against.
    const std::string where = "layer " + std::to_string(layer) + " ";
    std::array<bool, kNumLayerUnits * 2> expected{};  // [unit * 2 + bias]
    size_t experts = 0;
    for (const ExpectedTensor& t : layer_tensors(architecture_for(spec), spec, static_cast<int>(layer))) {
        if (is_expert_role(t.role)) {
            const std::string what =
                where + expert_unit_name(t.expert) + " " + std::string(role_name(t.role));
            if (static_cast<size_t>(t.expert) >= w.experts.size())
                throw Error(what + ": missing (the layer has " + std::to_string(w.experts.size()) + " of " +
                            std::to_string(spec.num_experts) + " experts)");
            expect_shape(
                expert_tensor(const_cast<ExpertWeights&>(w.experts[static_cast<size_t>(t.expert)]), t.role),
                t.shape, what);
            experts = std::max(experts, static_cast<size_t>(t.expert) + 1);
            continue;
        }
        const LayerTensorRef ref = layer_tensor_ref(t.role);
        const UnitTensors& u = w[ref.unit];
        const at::Tensor& x = ref.bias ? u.bias : u.weight;
        expected[static_cast<size_t>(ref.unit) * 2 + ref.bias] = true;
        if (!t.required && !x.defined()) continue;
        expect_shape(x, t.shape, where + layer_unit_name(ref.unit) + (ref.bias ? ".bias" : ".weight"));
    }
    for (int i = 0; i < kNumLayerUnits; ++i) {
        const auto unit = static_cast<LayerUnit>(i);
        for (int bias = 0; bias < 2; ++bias)
            if (!expected[static_cast<size_t>(i) * 2 + bias] &&
                (bias ? w[unit].bias : w[unit].weight).defined())
                throw Error(where + layer_unit_name(unit) + (bias ? ".bias" : ".weight") + ": " +
                            spec.architecture + " with this config has no such tensor");
    }
    if (w.experts.size() != experts)
        throw Error(where + "has " + std::to_string(w.experts.size()) + " experts, expected " +
                    std::to_string(experts));
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
