#include "core/io/architecture.h"

#include "core/util/error.h"

#include <cstdlib>

namespace olm {

namespace {

const TensorTemplate* find_template(const Architecture& arch, TensorRole role) {
    for (const auto& t : arch.boundary)
        if (t.role == role) return &t;
    for (const auto& t : arch.layer)
        if (t.role == role) return &t;
    return nullptr;
}

bool present(const TensorTemplate& t, const ModelSpec& spec, bool* required) {
    *required = true;
    switch (t.presence) {
        case Presence::required:
            return true;
        case Presence::if_attention_bias:
            return spec.attention_bias;
        case Presence::if_qk_norm:
            return spec.qk_norm;
        case Presence::if_untied:
            *required = !spec.tie_word_embeddings;
            return true;
    }
    return true;
}

std::string substitute(const std::string& pattern, int layer) {
    const std::string key = "{layer}";
    const auto pos = pattern.find(key);
    if (pos == std::string::npos) return pattern;
    return pattern.substr(0, pos) + std::to_string(layer) + pattern.substr(pos + key.size());
}

}  // namespace

std::string_view role_name(TensorRole role) {
    switch (role) {
        case TensorRole::embed_tokens:
            return "embed_tokens";
        case TensorRole::final_norm:
            return "final_norm";
        case TensorRole::lm_head:
            return "lm_head";
        case TensorRole::attn_q:
            return "attn_q";
        case TensorRole::attn_k:
            return "attn_k";
        case TensorRole::attn_v:
            return "attn_v";
        case TensorRole::attn_o:
            return "attn_o";
        case TensorRole::attn_q_bias:
            return "attn_q_bias";
        case TensorRole::attn_k_bias:
            return "attn_k_bias";
        case TensorRole::attn_v_bias:
            return "attn_v_bias";
        case TensorRole::attn_o_bias:
            return "attn_o_bias";
        case TensorRole::attn_q_norm:
            return "attn_q_norm";
        case TensorRole::attn_k_norm:
            return "attn_k_norm";
        case TensorRole::input_norm:
            return "input_norm";
        case TensorRole::post_attention_norm:
            return "post_attention_norm";
        case TensorRole::pre_feedforward_norm:
            return "pre_feedforward_norm";
        case TensorRole::post_feedforward_norm:
            return "post_feedforward_norm";
        case TensorRole::mlp_gate:
            return "mlp_gate";
        case TensorRole::mlp_up:
            return "mlp_up";
        case TensorRole::mlp_down:
            return "mlp_down";
        case TensorRole::attn_qkv:
            return "attn_qkv";
        case TensorRole::mlp_gate_up:
            return "mlp_gate_up";
    }
    return "?";
}

bool is_norm_role(TensorRole role) {
    switch (role) {
        case TensorRole::final_norm:
        case TensorRole::input_norm:
        case TensorRole::post_attention_norm:
        case TensorRole::pre_feedforward_norm:
        case TensorRole::post_feedforward_norm:
        case TensorRole::attn_q_norm:
        case TensorRole::attn_k_norm:
            return true;
        default:
            return false;
    }
}

bool is_layer_role(TensorRole role) {
    return role != TensorRole::embed_tokens && role != TensorRole::final_norm && role != TensorRole::lm_head;
}

std::string supported_architectures() {
    std::string s;
    for (const auto& a : architectures()) s += (s.empty() ? "" : ", ") + a.name;
    return s;
}

const Architecture& architecture_named(const std::string& name) {
    for (const auto& a : architectures())
        if (a.name == name) return a;
    throw Error("unsupported architecture '" + name + "' (supported: " + supported_architectures() + ")");
}

const Architecture& architecture_for(const ModelSpec& spec) { return architecture_named(spec.architecture); }

std::string tensor_name(const Architecture& arch, TensorRole role, int layer) {
    const TensorTemplate* t = find_template(arch, role);
    if (!t) throw Error(arch.name + " has no tensor role " + std::string(role_name(role)));
    if (is_layer_role(role) && layer < 0)
        throw Error("tensor_name: role " + std::string(role_name(role)) + " needs a layer index");
    if (!is_layer_role(role) && layer >= 0)
        throw Error("tensor_name: role " + std::string(role_name(role)) + " is not a layer tensor");
    return substitute(t->pattern, layer);
}

std::vector<int64_t> expected_shape(const ModelSpec& s, TensorRole role) {
    const int64_t q = s.num_attention_heads * s.head_dim;
    const int64_t kv = s.num_key_value_heads * s.head_dim;
    switch (role) {
        case TensorRole::embed_tokens:
        case TensorRole::lm_head:
            return {s.vocab_size, s.hidden_size};
        case TensorRole::final_norm:
        case TensorRole::input_norm:
        case TensorRole::post_attention_norm:
        case TensorRole::pre_feedforward_norm:
        case TensorRole::post_feedforward_norm:
        case TensorRole::attn_o_bias:
            return {s.hidden_size};
        case TensorRole::attn_q:
            return {q, s.hidden_size};
        case TensorRole::attn_k:
        case TensorRole::attn_v:
            return {kv, s.hidden_size};
        case TensorRole::attn_o:
            return {s.hidden_size, q};
        case TensorRole::attn_q_bias:
            return {q};
        case TensorRole::attn_k_bias:
        case TensorRole::attn_v_bias:
            return {kv};
        case TensorRole::attn_q_norm:
            return {s.qk_norm_full ? q : s.head_dim};
        case TensorRole::attn_k_norm:
            return {s.qk_norm_full ? kv : s.head_dim};
        case TensorRole::mlp_gate:
        case TensorRole::mlp_up:
            return {s.intermediate_size, s.hidden_size};
        case TensorRole::mlp_down:
            return {s.hidden_size, s.intermediate_size};
        case TensorRole::attn_qkv:
            return {q + 2 * kv, s.hidden_size};
        case TensorRole::mlp_gate_up:
            return {2 * s.intermediate_size, s.hidden_size};
    }
    return {};
}

std::vector<ExpectedTensor> layer_tensors(const Architecture& arch, const ModelSpec& spec, int layer) {
    if (layer < 0 || layer >= spec.num_hidden_layers)
        throw Error("layer " + std::to_string(layer) + " out of range (model has " +
                    std::to_string(spec.num_hidden_layers) + " layers)");
    std::vector<ExpectedTensor> out;
    for (const auto& t : arch.layer) {
        bool required = true;
        if (!present(t, spec, &required)) continue;
        out.push_back({t.role, substitute(t.pattern, layer), t.unit, required, expected_shape(spec, t.role)});
    }
    return out;
}

std::vector<ExpectedTensor> unit_tensors(const Architecture& arch, const ModelSpec& spec, int layer,
                                         const std::string& unit) {
    bool known = false;
    for (const auto& u : arch.units) known = known || u == unit;
    if (!known) throw Error(arch.name + " has no tensor unit '" + unit + "'");
    std::vector<ExpectedTensor> out;
    for (auto& t : layer_tensors(arch, spec, layer))
        if (t.unit == unit) out.push_back(std::move(t));
    return out;
}

std::vector<ExpectedTensor> boundary_tensors(const Architecture& arch, const ModelSpec& spec) {
    std::vector<ExpectedTensor> out;
    for (const auto& t : arch.boundary) {
        bool required = true;
        if (!present(t, spec, &required)) continue;
        out.push_back({t.role, t.pattern, "", required, expected_shape(spec, t.role)});
    }
    return out;
}

std::vector<ExpectedTensor> all_tensors(const Architecture& arch, const ModelSpec& spec) {
    auto out = boundary_tensors(arch, spec);
    for (int l = 0; l < spec.num_hidden_layers; ++l)
        for (auto& t : layer_tensors(arch, spec, l)) out.push_back(std::move(t));
    return out;
}

const CarriedPart* carried_part(const Architecture& arch, const std::string& name) {
    for (const auto& c : arch.carried)
        if (name.compare(0, c.prefix.size(), c.prefix) == 0) return &c;
    return nullptr;
}

int layer_of(const Architecture& arch, const std::string& name) {
    for (const auto& t : arch.layer) {
        const auto pos = t.pattern.find("{layer}");
        if (pos == std::string::npos) continue;
        const std::string prefix = t.pattern.substr(0, pos);
        const std::string suffix = t.pattern.substr(pos + 7);
        if (name.size() <= prefix.size() + suffix.size()) continue;
        if (name.compare(0, prefix.size(), prefix) != 0) continue;
        if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
        const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
        if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
        return std::atoi(digits.c_str());
    }
    return -1;
}

}  // namespace olm
