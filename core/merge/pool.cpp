#include "core/merge/pool.h"

#include "core/io/pool_check.h"
#include "core/io/safetensors_reader.h"
#include "core/util/error.h"

#include <algorithm>
#include <map>

namespace olm {

at::Tensor blend_tensors(const std::vector<std::pair<double, at::Tensor>>& terms, at::ScalarType dtype) {
    if (terms.empty()) return {};
    if (terms.size() == 1 && terms[0].first == 1.0) return terms[0].second;
    at::Tensor acc;
    for (const auto& [c, t] : terms) {
        if (!t.defined()) {
            if (acc.defined()) throw Error("blend: a tensor is absent in one model and present in another");
            continue;
        }
        at::Tensor term = t.to(at::kFloat).mul(c);  // float32 math, recipe (name) order
        acc = acc.defined() ? acc.add_(term) : term;
    }
    if (!acc.defined()) return {};
    return acc.to(dtype);
}

namespace {

// Expert e of every part, blended tensor by tensor (blend_tensors' rules).
ExpertWeights blend_expert(std::vector<std::pair<double, LayerWeights>>& parts, size_t e, at::ScalarType dt) {
    ExpertWeights out;
    for (TensorRole role : {TensorRole::expert_gate, TensorRole::expert_up, TensorRole::expert_down}) {
        std::vector<std::pair<double, at::Tensor>> terms;
        for (auto& [c, lw] : parts) terms.emplace_back(c, expert_tensor(lw.experts.at(e), role));
        expert_tensor(out, role) = blend_tensors(terms, dt);
    }
    return out;
}

}  // namespace

MergePool MergePool::open(const std::vector<std::string>& names,
                          const std::vector<std::filesystem::path>& folders,
                          std::vector<std::string>* warnings) {
    if (names.size() != folders.size() || names.empty()) throw Error("merge pool: no models");
    for (size_t i = 0; i < names.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (names[i] == names[j]) throw Error("merge pool: model '" + names[i] + "' is listed twice");
    MergePool p;
    p.m_names = names;
    std::string errors;
    for (size_t i = 0; i < folders.size(); ++i) {
        try {
            p.m_folders.push_back(ModelFolder::open(folders[i]));
        } catch (const std::exception& e) {
            errors += "\n  " + names[i] + " (" + folders[i].string() + "): " + e.what();
        }
    }
    if (!errors.empty()) throw Error("cannot open pool models:" + errors);
    const PoolVerdict v = check_pool(p.m_folders);
    for (size_t i = 0; i < v.members.size(); ++i) {
        if (!v.members[i].ok) errors += "\n  " + names[i] + ": " + v.members[i].reason;
        if (warnings)
            for (const auto& w : v.members[i].warnings) warnings->push_back(names[i] + ": " + w);
    }
    if (!errors.empty()) throw Error("incompatible pool models (compared with " + names[0] + "):" + errors);
    p.m_dtype = p.m_folders.front().main_dtype();
    return p;
}

const ModelFolder& MergePool::folder(const std::string& name) const {
    for (size_t i = 0; i < m_names.size(); ++i)
        if (m_names[i] == name) return m_folders[i];
    throw Error("model '" + name + "' is not in the pool");
}

void MergePool::check_recipe(const Recipe& r) const {
    if (r.empty()) throw Error("empty recipe");
    for (const auto& [name, c] : r) (void)folder(name);
}

std::vector<std::string> MergePool::tensor_units(bool skip_norm) const {
    // The units of every layer, in the order of the architecture table, which is
    // transformers' parameter order (named_parameters(): self_attn's, the MLP's or
    // the router's and experts', then the layer norms), the order the original OLM
    // visits them in. A model with dense and expert layers (Qwen3-MoE's
    // mlp_only_layers) lists both kinds; a unit a layer lacks is absent in every
    // candidate there, so all of them tie. Units the first model does not hold
    // (an optional bias) are left out.
    std::vector<bool> present(kNumLayerUnits, false);
    size_t experts = 0;
    // unit -> its place in the table: (index of its first template, expert).
    const Architecture& arch = first().architecture();
    auto place_of = [&](const ExpectedTensor& t) {
        int i = 0;
        while (i < static_cast<int>(arch.layer.size()) &&
               !(arch.layer[static_cast<size_t>(i)].role == t.role ||
                 (t.expert >= 0 && is_expert_role(arch.layer[static_cast<size_t>(i)].role))))
            ++i;
        return std::make_pair(i, t.expert);
    };
    std::map<std::string, std::pair<int, int>> place;
    for (int l = 0; l < num_layers(); ++l) {
        const LayerWeights w = load_layer_weights(first(), l);
        for (int u = 0; u < kNumLayerUnits; ++u)
            if (w.units[static_cast<size_t>(u)].weight.defined()) present[static_cast<size_t>(u)] = true;
        experts = std::max(experts, w.experts.size());
        for (const ExpectedTensor& t : layer_tensors(arch, spec(), l)) {
            const auto p = place_of(t);
            auto [it, fresh] = place.emplace(t.unit, p);
            if (!fresh) it->second = std::min(it->second, p);
        }
        if (spec().num_experts == 0) break;  // dense models: every layer has the same units
    }
    std::vector<std::string> order;
    for (const auto& [name, p] : place) order.push_back(name);
    std::stable_sort(order.begin(), order.end(),
                     [&](const std::string& a, const std::string& b) { return place.at(a) < place.at(b); });
    std::vector<std::string> out;
    for (const std::string& name : order) {
        if (const int e = unit_expert(name); e >= 0) {
            if (static_cast<size_t>(e) < experts) out.push_back(name);
            continue;
        }
        const LayerUnit unit = layer_unit_from_name(name);
        if (!present[static_cast<size_t>(unit)]) continue;
        if (is_norm_unit(unit) && skip_norm) continue;
        out.push_back(name);
    }
    return out;
}

std::vector<std::string> MergePool::boundary_units(bool skip_norm, const std::string& model) const {
    const BoundaryWeights w = load_boundary_weights(folder(model));
    std::vector<std::string> out;
    for (int p = 0; p < kNumBoundaryParts; ++p) {
        const auto part = static_cast<BoundaryPart>(p);
        if (!w[part].defined())
            continue;  // a tied lm_head: named_parameters() lists it once, as the embeddings
        if (part == BoundaryPart::norm && skip_norm) continue;
        out.push_back(boundary_part_name(part));
    }
    return out;
}

void MergePool::release(int layer) const {
    for (const ModelFolder& f : m_folders) {
        if (layer < 0) {
            for (const std::string& name : f.names()) f.release(name);
            continue;
        }
        for (const ExpectedTensor& t : layer_tensors(f.architecture(), f.spec(), layer)) f.release(t.name);
    }
}

LayerWeights MergePool::layer(int layer, const Recipe& r) const {
    check_recipe(r);
    std::vector<std::pair<double, LayerWeights>> parts;
    for (const auto& [name, c] : r) parts.emplace_back(c, load_layer_weights(folder(name), layer));
    if (parts.size() == 1 && parts[0].first == 1.0) return parts[0].second;
    const at::ScalarType dt = to_scalar_type(m_dtype);
    LayerWeights out;
    for (int u = 0; u < kNumLayerUnits; ++u) {
        std::vector<std::pair<double, at::Tensor>> w, b;
        for (const auto& [c, lw] : parts) {
            w.emplace_back(c, lw.units[static_cast<size_t>(u)].weight);
            b.emplace_back(c, lw.units[static_cast<size_t>(u)].bias);
        }
        out.units[static_cast<size_t>(u)].weight = blend_tensors(w, dt);
        out.units[static_cast<size_t>(u)].bias = blend_tensors(b, dt);
    }
    for (size_t e = 0; e < parts.front().second.experts.size(); ++e)
        out.experts.push_back(blend_expert(parts, e, dt));
    return out;
}

ExpertWeights MergePool::expert(int layer, int expert, const Recipe& r) const {
    check_recipe(r);
    std::vector<std::pair<double, LayerWeights>> parts;
    for (const auto& [name, c] : r) {
        parts.emplace_back(c, load_layer_weights(folder(name), layer));
        if (expert < 0 || static_cast<size_t>(expert) >= parts.back().second.experts.size())
            throw Error("model '" + name + "': layer " + std::to_string(layer) + " has no expert " +
                        std::to_string(expert));
    }
    return blend_expert(parts, static_cast<size_t>(expert), to_scalar_type(m_dtype));
}

UnitTensors MergePool::unit(int layer, const std::string& unit, const Recipe& r) const {
    check_recipe(r);
    const LayerUnit u = layer_unit_from_name(unit);
    const at::ScalarType dt = to_scalar_type(m_dtype);
    std::vector<std::pair<double, at::Tensor>> w, b;
    for (const auto& [name, c] : r) {
        const LayerWeights lw = load_layer_weights(folder(name), layer);
        w.emplace_back(c, lw[u].weight);
        b.emplace_back(c, lw[u].bias);
    }
    return UnitTensors{blend_tensors(w, dt), blend_tensors(b, dt)};
}

BoundaryWeights MergePool::boundary(const Recipe& r) const {
    check_recipe(r);
    const at::ScalarType dt = to_scalar_type(m_dtype);
    std::vector<BoundaryWeights> parts;
    std::vector<double> coeffs;
    bool any_untied = false;
    for (const auto& [name, c] : r) {
        parts.push_back(load_boundary_weights(folder(name)));
        coeffs.push_back(c);
        any_untied = any_untied || parts.back().lm_head.defined();
    }
    BoundaryWeights out;
    for (int p = 0; p < kNumBoundaryParts; ++p) {
        const auto part = static_cast<BoundaryPart>(p);
        std::vector<std::pair<double, at::Tensor>> terms;
        for (size_t i = 0; i < parts.size(); ++i) {
            at::Tensor t = parts[i][part];
            // A tied model's lm_head is its embedding matrix.
            if (part == BoundaryPart::lm_head && any_untied && !t.defined()) t = parts[i].embed_tokens;
            terms.emplace_back(coeffs[i], t);
        }
        out[part] = blend_tensors(terms, dt);
    }
    return out;
}

at::Tensor MergePool::tensor(const std::string& name, const Recipe& r) const {
    check_recipe(r);
    std::vector<std::pair<double, at::Tensor>> terms;
    for (const auto& [m, c] : r) {
        // name is the base's; a pool model in another layout of the family
        // (Gemma 3's two) holds the same tensor under its own name.
        const ModelFolder& f = folder(m);
        const std::string own = name_in_layout(f.architecture(), name);
        if (!f.has(own)) throw Error("model '" + m + "' has no tensor " + own);
        terms.emplace_back(c, f.tensor(own));
    }
    return blend_tensors(terms, to_scalar_type(m_dtype));
}

}  // namespace olm
