#include "core/io/architecture.h"

#include "core/util/error.h"

#include <cstdlib>
#include <utility>

namespace olm {

namespace {

const TensorTemplate* find_template(const Architecture& arch, TensorRole role) {
    for (const auto& t : arch.boundary)
        if (t.role == role) return &t;
    for (const auto& t : arch.layer)
        if (t.role == role) return &t;
    return nullptr;
}

bool present(const TensorTemplate& t, const ModelSpec& spec, int layer, bool* required) {
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
        case Presence::if_sparse:
            return layer >= 0 && spec.layer_is_sparse(layer);
        case Presence::if_dense:
            return layer >= 0 && !spec.layer_is_sparse(layer);
    }
    return true;
}

std::string substitute_key(const std::string& pattern, const std::string& key, int value) {
    const auto pos = pattern.find(key);
    if (pos == std::string::npos) return pattern;
    return pattern.substr(0, pos) + std::to_string(value) + pattern.substr(pos + key.size());
}

std::string substitute(const std::string& pattern, int layer, int expert = -1) {
    return substitute_key(substitute_key(pattern, "{layer}", layer), "{expert}", expert);
}

// Digits at the start of s: their value and length, or {-1, 0}.
std::pair<int, size_t> leading_number(std::string_view s) {
    size_t n = 0;
    while (n < s.size() && n < 9 && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0) return {-1, 0};
    return {std::atoi(std::string(s.substr(0, n)).c_str()), n};
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
        case TensorRole::moe_router:
            return "moe_router";
        case TensorRole::expert_gate:
            return "expert_gate";
        case TensorRole::expert_up:
            return "expert_up";
        case TensorRole::expert_down:
            return "expert_down";
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

bool is_expert_role(TensorRole role) {
    return role == TensorRole::expert_gate || role == TensorRole::expert_up ||
           role == TensorRole::expert_down;
}

std::string unit_name(TensorRole role, int expert) {
    using R = TensorRole;
    if (is_expert_role(role)) {
        if (expert < 0)
            throw Error("unit_name: role " + std::string(role_name(role)) + " needs an expert index");
        return expert_unit_name(expert);
    }
    switch (role) {
        case R::embed_tokens:
            return "embed_tokens";
        case R::final_norm:
            return "norm";
        case R::lm_head:
            return "lm_head";
        case R::attn_q:
        case R::attn_q_bias:
            return "self_attn.q_proj";
        case R::attn_k:
        case R::attn_k_bias:
            return "self_attn.k_proj";
        case R::attn_v:
        case R::attn_v_bias:
            return "self_attn.v_proj";
        case R::attn_o:
        case R::attn_o_bias:
            return "self_attn.o_proj";
        case R::attn_q_norm:
            return "self_attn.q_norm";
        case R::attn_k_norm:
            return "self_attn.k_norm";
        case R::input_norm:
            return "input_layernorm";
        case R::post_attention_norm:
            return "post_attention_layernorm";
        case R::pre_feedforward_norm:
            return "pre_feedforward_layernorm";
        case R::post_feedforward_norm:
            return "post_feedforward_layernorm";
        case R::mlp_gate:
            return "mlp.gate_proj";
        case R::mlp_up:
            return "mlp.up_proj";
        case R::mlp_down:
            return "mlp.down_proj";
        case R::attn_qkv:
            return "self_attn.qkv_proj";
        case R::mlp_gate_up:
            return "mlp.gate_up_proj";
        case R::moe_router:
            return "mlp.gate";
        default:
            break;
    }
    return "?";
}

std::string expert_unit_name(int expert) { return "mlp.experts." + std::to_string(expert); }

int unit_expert(const std::string& unit) {
    const std::string prefix = "mlp.experts.";
    if (unit.size() <= prefix.size() || unit.compare(0, prefix.size(), prefix) != 0) return -1;
    const std::string digits = unit.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoi(digits);
}

bool is_layer_role(TensorRole role) {
    return role != TensorRole::embed_tokens && role != TensorRole::final_norm && role != TensorRole::lm_head;
}

std::vector<const Architecture*> layouts_of(const std::string& name) {
    std::vector<const Architecture*> out{&architecture_named(name)};
    for (const auto& a : secondary_layouts())
        if (a.name == name) out.push_back(&a);
    return out;
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

const Architecture& architecture_for(const ModelSpec& spec,
                                     const std::function<bool(const std::string&)>& has) {
    const auto layouts = layouts_of(spec.architecture);
    for (const Architecture* a : layouts)
        if (has(tensor_name(*a, TensorRole::embed_tokens))) return *a;
    return *layouts.front();
}

std::string tensor_name(const Architecture& arch, TensorRole role, int layer, int expert) {
    const TensorTemplate* t = find_template(arch, role);
    if (!t) throw Error(arch.name + " has no tensor role " + std::string(role_name(role)));
    if (is_layer_role(role) && layer < 0)
        throw Error("tensor_name: role " + std::string(role_name(role)) + " needs a layer index");
    if (!is_layer_role(role) && layer >= 0)
        throw Error("tensor_name: role " + std::string(role_name(role)) + " is not a layer tensor");
    if (is_expert_role(role) != (expert >= 0))
        throw Error("tensor_name: role " + std::string(role_name(role)) +
                    (expert >= 0 ? " is not an expert tensor" : " needs an expert index"));
    return substitute(t->pattern, layer, expert);
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
        case TensorRole::moe_router:
            return {s.num_experts, s.hidden_size};
        case TensorRole::expert_gate:
        case TensorRole::expert_up:
            return {s.moe_intermediate_size, s.hidden_size};
        case TensorRole::expert_down:
            return {s.hidden_size, s.moe_intermediate_size};
    }
    return {};
}

std::vector<ExpectedTensor> layer_tensors(const Architecture& arch, const ModelSpec& spec, int layer) {
    if (layer < 0 || layer >= spec.num_hidden_layers)
        throw Error("layer " + std::to_string(layer) + " out of range (model has " +
                    std::to_string(spec.num_hidden_layers) + " layers)");
    std::vector<ExpectedTensor> out;
    // The expert templates expand where the first of them stands, expert by
    // expert (expert 0's matrices, then expert 1's, ...).
    std::vector<const TensorTemplate*> experts;
    for (const auto& t : arch.layer) {
        bool required = true;
        if (is_expert_role(t.role) && present(t, spec, layer, &required)) experts.push_back(&t);
    }
    bool expanded = false;
    for (const auto& t : arch.layer) {
        bool required = true;
        if (!present(t, spec, layer, &required)) continue;
        if (is_expert_role(t.role)) {
            if (expanded) continue;
            expanded = true;
            for (int e = 0; e < spec.num_experts; ++e)
                for (const TensorTemplate* x : experts)
                    out.push_back({x->role, substitute(x->pattern, layer, e), x->sublayer,
                                   unit_name(x->role, e), true, expected_shape(spec, x->role), e});
            continue;
        }
        out.push_back({t.role, substitute(t.pattern, layer), t.sublayer, unit_name(t.role), required,
                       expected_shape(spec, t.role)});
    }
    return out;
}

std::vector<ExpectedTensor> sublayer_tensors(const Architecture& arch, const ModelSpec& spec, int layer,
                                             const std::string& sublayer) {
    bool known = false;
    for (const auto& u : arch.sublayers) known = known || u == sublayer;
    if (!known) throw Error(arch.name + " has no sublayer '" + sublayer + "'");
    std::vector<ExpectedTensor> out;
    for (auto& t : layer_tensors(arch, spec, layer))
        if (t.sublayer == sublayer) out.push_back(std::move(t));
    return out;
}

std::vector<ExpectedTensor> boundary_tensors(const Architecture& arch, const ModelSpec& spec) {
    std::vector<ExpectedTensor> out;
    for (const auto& t : arch.boundary) {
        bool required = true;
        if (!present(t, spec, -1, &required)) continue;
        out.push_back({t.role, t.pattern, "", unit_name(t.role), required, expected_shape(spec, t.role)});
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

std::optional<TensorKey> tensor_key(const Architecture& arch, const std::string& name) {
    for (const auto& t : arch.boundary)
        if (t.pattern == name) return TensorKey{t.role, -1, -1};
    for (const auto& t : arch.layer) {
        const auto pos = t.pattern.find("{layer}");
        if (pos == std::string::npos) continue;
        const std::string prefix = t.pattern.substr(0, pos);
        if (name.compare(0, prefix.size(), prefix) != 0) continue;
        const auto [layer, len] = leading_number(std::string_view(name).substr(prefix.size()));
        if (layer < 0) continue;
        // The rest must match the pattern after {layer}, an {expert} matching digits.
        std::string_view rest = std::string_view(name).substr(prefix.size() + len);
        std::string_view tail = std::string_view(t.pattern).substr(pos + 7);
        int expert = -1;
        const auto ex = tail.find("{expert}");
        if (ex != std::string_view::npos) {
            if (rest.substr(0, ex) != tail.substr(0, ex)) continue;
            const auto [e, elen] = leading_number(rest.substr(ex));
            if (e < 0) continue;
            expert = e;
            rest = rest.substr(ex + elen);
            tail = tail.substr(ex + 8);
        }
        if (rest != tail) continue;
        return TensorKey{t.role, layer, expert};
    }
    return std::nullopt;
}

int layer_of(const Architecture& arch, const std::string& name) {
    const auto key = tensor_key(arch, name);
    return key ? key->layer : -1;
}

std::string name_in_layout(const Architecture& to, const std::string& name) {
    if (tensor_key(to, name)) return name;
    for (const Architecture* a : layouts_of(to.name)) {
        if (a == &to) continue;
        if (const auto key = tensor_key(*a, name)) return tensor_name(to, key->role, key->layer, key->expert);
        for (const auto& c : a->carried)  // a carried part: the same suffix under to's prefix
            if (name.compare(0, c.prefix.size(), c.prefix) == 0)
                for (const auto& tc : to.carried)
                    if (tc.mergekit_module == c.mergekit_module)
                        return tc.prefix + name.substr(c.prefix.size());
    }
    return name;
}

}  // namespace olm
