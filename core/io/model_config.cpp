#include "core/io/model_config.h"

#include "core/io/architecture.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace olm {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& label, const std::string& what) {
    throw Error(label + ": " + what);
}

int64_t get_int(const json& j, const char* key, const std::string& label) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) fail(label, std::string("missing required key '") + key + "'");
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        fail(label, std::string("key '") + key + "' is out of range, found " + it->dump());
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_number_float()) {
        const double d = it->get<double>();
        // 2^62: any larger value is out of every bound below, and the cast stays defined.
        if (d == std::floor(d) && std::fabs(d) < 4.6e18) return static_cast<int64_t>(d);
        if (d == std::floor(d))
            fail(label, std::string("key '") + key + "' is out of range, found " + it->dump());
    }
    fail(label, std::string("key '") + key + "' should be an integer, found " + it->dump());
}

std::string number_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// v in [1, max]: a value past any real model is refused before it sizes anything.
int64_t bounded(int64_t v, int64_t max, const char* key, const std::string& label) {
    if (v <= 0) fail(label, std::string("key '") + key + "' must be positive, found " + std::to_string(v));
    if (v > max)
        fail(label, std::string("key '") + key + "' is " + std::to_string(v) +
                        ", above the supported maximum of " + std::to_string(max));
    return v;
}

// A positive, finite number.
double positive_number(double v, const char* key, const std::string& label) {
    if (!std::isfinite(v) || v <= 0)
        fail(label, std::string("key '") + key + "' must be a positive number, found " + number_text(v));
    return v;
}

std::optional<int64_t> opt_int(const json& j, const char* key, const std::string& label) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return get_int(j, key, label);
}

std::optional<double> opt_number(const json& j, const char* key, const std::string& label) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number())
        fail(label, std::string("key '") + key + "' should be a number, found " + it->dump());
    return it->get<double>();
}

// int or list of ints (or null) -> list
std::vector<int64_t> id_list(const json& j, const char* key, const std::string& label) {
    std::vector<int64_t> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    auto one = [&](const json& v) {
        if (!v.is_number_integer())
            fail(label, std::string("key '") + key + "' should be an integer or a list of integers, found " +
                            it->dump());
        out.push_back(v.get<int64_t>());
    };
    if (it->is_array())
        for (const auto& v : *it) one(v);
    else
        one(*it);
    return out;
}

void add_unique(std::vector<int64_t>& to, const std::vector<int64_t>& from) {
    for (int64_t v : from)
        if (std::find(to.begin(), to.end(), v) == to.end()) to.push_back(v);
}

void parse_rope(const json& r, ModelSpec& spec, const std::string& label) {
    if (!r.is_object()) fail(label, "rope_scaling should be an object, found " + r.dump());
    std::string type;
    if (auto t = r.find("rope_type"); t != r.end() && t->is_string())
        type = t->get<std::string>();
    else if (auto t2 = r.find("type"); t2 != r.end() && t2->is_string())
        type = t2->get<std::string>();
    const std::string where = "rope_scaling: ";
    if (type.empty() || type == "default") {
        spec.rope_scaling = RopeScaling{};
        return;
    }
    RopeScaling s;
    s.type = type;
    if (type == "linear" || type == "llama3") {
        auto f = opt_number(r, "factor", label);
        if (!f) fail(label, where + "type '" + type + "' needs 'factor'");
        if (!std::isfinite(*f) || *f <= 0)
            fail(label, where + "factor must be positive, found " + number_text(*f));
        s.factor = *f;
    }
    if (type == "llama3") {
        auto lo = opt_number(r, "low_freq_factor", label);
        auto hi = opt_number(r, "high_freq_factor", label);
        auto orig = opt_int(r, "original_max_position_embeddings", label);
        if (!lo || !hi || !orig)
            fail(label, where +
                            "type 'llama3' needs low_freq_factor, high_freq_factor and "
                            "original_max_position_embeddings");
        s.low_freq_factor = *lo;
        s.high_freq_factor = *hi;
        s.original_max_position_embeddings = *orig;
        if (!std::isfinite(s.low_freq_factor) || !std::isfinite(s.high_freq_factor) ||
            s.low_freq_factor <= 0 || s.original_max_position_embeddings <= 0 ||
            s.original_max_position_embeddings > ModelSpecLimits::max_positions)
            fail(label, where +
                            "low_freq_factor, high_freq_factor and original_max_position_embeddings must be "
                            "positive");
        if (s.high_freq_factor <= s.low_freq_factor)
            fail(label, where + "high_freq_factor must be larger than low_freq_factor");
    } else if (type == "longrope" || type == "su") {
        // Phi-3: short/long factor lists; original_max_position_embeddings here
        // or at the config's top level (parse_model_spec fills it in then).
        s.type = "longrope";
        auto list = [&](const char* key) {
            auto it = r.find(key);
            if (it == r.end() || !it->is_array() || it->empty())
                fail(label, where + "type 'longrope' needs the list '" + std::string(key) + "'");
            std::vector<double> out;
            for (const auto& v : *it) {
                if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0)
                    fail(label, where + std::string(key) + " holds " + v.dump() + ", not a positive number");
                out.push_back(v.get<double>());
            }
            return out;
        };
        s.short_factor = list("short_factor");
        s.long_factor = list("long_factor");
        if (auto f = opt_number(r, "factor", label))
            s.factor = *f;
        else
            s.factor = 0;  // the config's max / original positions (parse_model_spec)
        if (auto a = opt_number(r, "attention_factor", label)) s.attention_factor = *a;
        if (auto orig = opt_int(r, "original_max_position_embeddings", label))
            s.original_max_position_embeddings = *orig;
        else
            s.original_max_position_embeddings = 0;
    } else if (type != "linear") {
        fail(label, where + "unsupported type '" + type + "' (supported: linear, llama3, longrope)");
    }
    spec.rope_scaling = s;
}

// Gemma3TextConfig's defaults for the keys its published configs leave out
// (google/gemma-3-*-it write little more than the sizes that differ).
const json& gemma3_text_defaults() {
    static const json d = {{"vocab_size", 262208},      {"hidden_size", 2304},
                           {"intermediate_size", 9216}, {"num_hidden_layers", 26},
                           {"num_attention_heads", 8},  {"num_key_value_heads", 4},
                           {"head_dim", 256},           {"max_position_embeddings", 131072}};
    return d;
}

ModelSpec parse_text_model(const json& c, ModelSpec s, const std::string& label);

// Routed experts: MixtralConfig (num_local_experts 8, top 2, each expert
// intermediate_size wide, top-k weights always renormalised and kept in
// float32) and Qwen3MoeConfig (num_experts 128, top 8, moe_intermediate_size
// 768, norm_topk_prob false, weights cast to the compute dtype; layers in
// mlp_only_layers or off the decoder_sparse_step grid have a dense MLP).
void parse_experts(const json& c, ModelSpec& s, bool mixtral, const std::string& label) {
    using L = ModelSpecLimits;
    std::optional<int64_t> n = opt_int(c, "num_local_experts", label);
    if (!n) n = opt_int(c, "num_experts", label);
    s.num_experts = n.value_or(mixtral ? 8 : 128);
    if (s.num_experts < 0 || s.num_experts > L::max_experts)
        fail(label, "key 'num_experts' is " + std::to_string(s.num_experts) + ", outside [0, " +
                        std::to_string(L::max_experts) + "]");
    if (s.num_experts == 0) {
        if (mixtral) fail(label, "key 'num_local_experts' must be positive for MixtralForCausalLM");
        return;  // Qwen3MoeDecoderLayer: every layer dense
    }
    s.num_experts_per_tok = opt_int(c, "num_experts_per_tok", label).value_or(mixtral ? 2 : 8);
    if (s.num_experts_per_tok < 1 || s.num_experts_per_tok > s.num_experts)
        fail(label, "key 'num_experts_per_tok' is " + std::to_string(s.num_experts_per_tok) +
                        ", expected 1 to num_experts (" + std::to_string(s.num_experts) + ")");
    s.moe_intermediate_size = mixtral ? s.intermediate_size
                                      : bounded(opt_int(c, "moe_intermediate_size", label).value_or(768),
                                                L::max_intermediate, "moe_intermediate_size", label);
    s.norm_topk_prob = mixtral;
    if (!mixtral)
        if (auto b = c.find("norm_topk_prob"); b != c.end() && b->is_boolean())
            s.norm_topk_prob = b->get<bool>();
    s.router_weights_fp32 = mixtral;
    if (mixtral) return;
    const int64_t step = opt_int(c, "decoder_sparse_step", label).value_or(1);
    if (step < 1) fail(label, "key 'decoder_sparse_step' must be at least 1, found " + std::to_string(step));
    std::vector<bool> sparse(static_cast<size_t>(s.num_hidden_layers), true);
    for (int64_t l = 0; l < s.num_hidden_layers; ++l) sparse[static_cast<size_t>(l)] = (l + 1) % step == 0;
    if (auto m = c.find("mlp_only_layers"); m != c.end() && !m->is_null()) {
        if (!m->is_array()) fail(label, "key 'mlp_only_layers' should be a list of layer indices");
        for (const auto& v : *m) {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= s.num_hidden_layers)
                fail(label, "mlp_only_layers: " + v.dump() + " is not a layer index below " +
                                std::to_string(s.num_hidden_layers));
            sparse[static_cast<size_t>(v.get<int64_t>())] = false;
        }
    }
    bool all = true;
    for (bool x : sparse) all = all && x;
    if (!all) s.sparse_layers = sparse;
}

}  // namespace

ModelSpec parse_model_spec(const json& config, const std::string& label) {
    if (!config.is_object()) fail(label, "config is not a JSON object");
    ModelSpec s;
    auto arch = config.find("architectures");
    if (arch == config.end() || !arch->is_array() || arch->empty() || !(*arch)[0].is_string())
        fail(label, "missing required key 'architectures' (a list like [\"LlamaForCausalLM\"])");
    s.architecture = (*arch)[0].get<std::string>();
    if (auto mt = config.find("model_type"); mt != config.end() && mt->is_string())
        s.model_type = mt->get<std::string>();
    else
        fail(label, "missing required key 'model_type'");
    std::string nested;
    for (const auto& a : architectures())
        if (a.name == s.architecture) nested = a.text_config;
    if (nested.empty()) return parse_text_model(config, s, label);
    // A checkpoint that wraps the language model: its config is config[nested];
    // the keys the wrapper's config holds for it (dtype, token ids, tying) are
    // inherited where the nested one lacks them.
    auto t = config.find(nested);
    if (t == config.end() || !t->is_object())
        fail(label, s.architecture + " needs the language model's config as object '" + nested + "'");
    json text = *t;
    for (const char* key : {"torch_dtype", "dtype", "bos_token_id", "eos_token_id", "tie_word_embeddings"})
        if (!text.contains(key) && config.contains(key)) text[key] = config[key];
    return parse_text_model(text, s, label + " (" + nested + ")");
}

namespace {

ModelSpec parse_text_model(const json& config, ModelSpec s, const std::string& label) {
    const bool gemma3 = s.model_type == "gemma3_text" || s.model_type == "gemma3" ||
                        s.architecture == "Gemma3ForCausalLM" ||
                        s.architecture == "Gemma3ForConditionalGeneration";
    json filled;
    if (gemma3) {
        filled = config;
        for (const auto& [k, v] : gemma3_text_defaults().items())
            if (!filled.contains(k)) filled[k] = v;
    }
    const json& c = gemma3 ? filled : config;

    using L = ModelSpecLimits;
    s.hidden_size = bounded(get_int(c, "hidden_size", label), L::max_hidden, "hidden_size", label);
    s.intermediate_size =
        bounded(get_int(c, "intermediate_size", label), L::max_intermediate, "intermediate_size", label);
    s.num_hidden_layers =
        bounded(get_int(c, "num_hidden_layers", label), L::max_layers, "num_hidden_layers", label);
    s.num_attention_heads =
        bounded(get_int(c, "num_attention_heads", label), L::max_heads, "num_attention_heads", label);
    s.num_key_value_heads = opt_int(c, "num_key_value_heads", label).value_or(s.num_attention_heads);
    bounded(s.num_key_value_heads, L::max_heads, "num_key_value_heads", label);
    if (s.num_attention_heads % s.num_key_value_heads != 0)
        fail(label, "num_attention_heads (" + std::to_string(s.num_attention_heads) +
                        ") must be a positive multiple of num_key_value_heads (" +
                        std::to_string(s.num_key_value_heads) + ")");
    if (auto hd = opt_int(c, "head_dim", label)) {
        s.head_dim = *hd;
    } else {
        if (s.hidden_size % s.num_attention_heads != 0)
            fail(label, "hidden_size " + std::to_string(s.hidden_size) +
                            " is not divisible by num_attention_heads " +
                            std::to_string(s.num_attention_heads) + " and no head_dim is given");
        s.head_dim = s.hidden_size / s.num_attention_heads;
    }
    if (s.head_dim <= 0 || s.head_dim % 2 != 0)
        fail(label, "head_dim must be positive and even (RoPE), found " + std::to_string(s.head_dim));
    bounded(s.head_dim, L::max_head_dim, "head_dim", label);
    if (s.num_attention_heads * s.head_dim > L::max_hidden)
        fail(label, "num_attention_heads x head_dim = " + std::to_string(s.num_attention_heads * s.head_dim) +
                        " is above the supported maximum of " + std::to_string(L::max_hidden));
    s.vocab_size = bounded(get_int(c, "vocab_size", label), L::max_vocab, "vocab_size", label);
    // Absent keys take the family's transformers default (Olmo2Config: eps 1e-5;
    // Gemma2Config: tied embeddings; MistralConfig: a 4096 window).
    const bool olmo2 = s.model_type == "olmo2" || s.architecture == "Olmo2ForCausalLM";
    const bool granite = s.model_type == "granite" || s.architecture == "GraniteForCausalLM";
    const bool gemma2 = s.model_type == "gemma2" || s.architecture == "Gemma2ForCausalLM";
    const bool mistral = s.model_type == "mistral" || s.architecture == "MistralForCausalLM";
    const bool phi3 = s.model_type == "phi3" || s.architecture == "Phi3ForCausalLM";
    const bool mixtral = s.model_type == "mixtral" || s.architecture == "MixtralForCausalLM";
    const bool qwen3_moe = s.model_type == "qwen3_moe" || s.architecture == "Qwen3MoeForCausalLM";
    s.rms_norm_eps =
        positive_number(opt_number(c, "rms_norm_eps", label).value_or(olmo2 || phi3 || mixtral ? 1e-5 : 1e-6),
                        "rms_norm_eps", label);
    if (s.rms_norm_eps >= 1)
        fail(label,
             "key 'rms_norm_eps' must be below 1 (a small epsilon), found " + number_text(s.rms_norm_eps));
    s.max_position_embeddings = opt_int(c, "max_position_embeddings", label).value_or(0);
    if (s.max_position_embeddings < 0 || s.max_position_embeddings > L::max_positions)
        fail(label, "key 'max_position_embeddings' is " + std::to_string(s.max_position_embeddings) +
                        ", outside [0, " + std::to_string(L::max_positions) + "]");
    s.tie_word_embeddings = gemma2 || gemma3;
    if (auto t = c.find("tie_word_embeddings"); t != c.end() && t->is_boolean())
        s.tie_word_embeddings = t->get<bool>();

    // Qwen2 always has q/k/v biases (its config has no attention_bias key).
    s.attention_bias = s.model_type == "qwen2" || s.architecture == "Qwen2ForCausalLM";
    if (auto b = c.find("attention_bias"); b != c.end() && b->is_boolean()) s.attention_bias = b->get<bool>();
    s.qk_norm =
        s.model_type == "qwen3" || s.architecture == "Qwen3ForCausalLM" || olmo2 || gemma3 || qwen3_moe;
    // The table has no MLP biases (Llama's and Granite's mlp_bias); refuse rather than drop them.
    if (auto mb = c.find("mlp_bias"); mb != c.end() && mb->is_boolean() && mb->get<bool>())
        fail(label, "mlp_bias: true is not supported (MLP projections with biases)");

    // transformers 5: rope_parameters {rope_type, rope_theta, factor, ...}
    // transformers 4: rope_theta at the top, rope_scaling {type|rope_type, factor, ...}
    // Gemma 3: global layers default to base 1e6 and local ones to 1e4
    // (Gemma3TextConfig.default_theta); transformers 4 writes rope_theta,
    // rope_local_base_freq and rope_scaling (global layers only), transformers 5
    // rope_parameters per layer type.
    s.rope_theta = opt_number(c, "rope_theta", label).value_or(gemma3 || mixtral ? 1e6 : 10000.0);
    if (gemma3) s.rope_local_theta = opt_number(c, "rope_local_base_freq", label).value_or(10000.0);
    if (auto rp = c.find("rope_parameters"); rp != c.end() && !rp->is_null()) {
        if (!rp->is_object()) fail(label, "rope_parameters should be an object");
        if (rp->contains("full_attention") || rp->contains("sliding_attention")) {
            for (const char* kind : {"full_attention", "sliding_attention"}) {
                auto k = rp->find(kind);
                if (k == rp->end() || k->is_null()) continue;
                if (!k->is_object())
                    fail(label, std::string("rope_parameters.") + kind + " should be an object");
                ModelSpec part;
                part.rope_theta = std::string(kind) == "full_attention"
                                      ? s.rope_theta
                                      : s.rope_local_theta.value_or(s.rope_theta);
                if (auto th = opt_number(*k, "rope_theta", label)) part.rope_theta = *th;
                parse_rope(*k, part, label);
                if (std::string(kind) == "full_attention") {
                    s.rope_theta = part.rope_theta;
                    s.rope_scaling = part.rope_scaling;
                } else {
                    s.rope_local_theta = part.rope_theta;
                    s.rope_local_scaling = part.rope_scaling;
                }
            }
        } else {
            if (auto th = opt_number(*rp, "rope_theta", label)) s.rope_theta = *th;
            parse_rope(*rp, s, label);
        }
    }
    if (auto rs = c.find("rope_scaling"); rs != c.end() && !rs->is_null()) parse_rope(*rs, s, label);
    positive_number(s.rope_theta, "rope_theta", label);
    if (s.rope_local_theta) positive_number(*s.rope_local_theta, "rope_local_base_freq", label);
    // Partial rotary (Phi-4-mini): top level in transformers 4, in rope_parameters in 5.
    if (auto p = opt_number(c, "partial_rotary_factor", label)) s.partial_rotary_factor = *p;
    if (auto rp = c.find("rope_parameters"); rp != c.end() && rp->is_object())
        if (auto p = opt_number(*rp, "partial_rotary_factor", label)) s.partial_rotary_factor = *p;
    if (!(s.partial_rotary_factor > 0 && s.partial_rotary_factor <= 1) || s.rotary_dim() < 2 ||
        s.rotary_dim() % 2 != 0)
        fail(label, "partial_rotary_factor " + number_text(s.partial_rotary_factor) +
                        " must be in (0, 1] and give an even rotary dimension (head_dim " +
                        std::to_string(s.head_dim) + ")");
    if (s.rope_scaling.type == "longrope") {
        RopeScaling& r = s.rope_scaling;
        if (r.original_max_position_embeddings <= 0)
            r.original_max_position_embeddings =
                opt_int(c, "original_max_position_embeddings", label).value_or(s.max_position_embeddings);
        if (r.original_max_position_embeddings <= 0)
            fail(label, "rope longrope: original_max_position_embeddings is not set");
        if (r.factor <= 0)
            r.factor = static_cast<double>(s.max_position_embeddings) /
                       static_cast<double>(r.original_max_position_embeddings);
        if (r.attention_factor <= 0)
            r.attention_factor =
                r.factor <= 1.0
                    ? 1.0
                    : std::sqrt(1 + std::log(r.factor) /
                                        std::log(static_cast<double>(r.original_max_position_embeddings)));
        const size_t want = static_cast<size_t>(s.rotary_dim() / 2);
        if (r.short_factor.size() != want || r.long_factor.size() != want)
            fail(label, "rope longrope: short_factor and long_factor need " + std::to_string(want) +
                            " entries (rotary dim / 2), found " + std::to_string(r.short_factor.size()) +
                            " and " + std::to_string(r.long_factor.size()));
    }

    if (auto d = c.find("torch_dtype"); d != c.end() && d->is_string()) s.torch_dtype = d->get<std::string>();
    if (auto d = c.find("dtype"); d != c.end() && d->is_string()) s.torch_dtype = d->get<std::string>();
    if (s.torch_dtype.rfind("torch.", 0) == 0) s.torch_dtype = s.torch_dtype.substr(6);

    s.bos_token_ids = id_list(c, "bos_token_id", label);
    s.eos_token_ids = id_list(c, "eos_token_id", label);
    if (auto sw = opt_int(c, "sliding_window", label)) {
        bool use = true;
        if (auto u = c.find("use_sliding_window"); u != c.end() && u->is_boolean()) use = u->get<bool>();
        if (use) s.sliding_window = *sw;
        if (s.sliding_window && *s.sliding_window <= 0)
            fail(label, "sliding_window must be positive, found " + std::to_string(*s.sliding_window));
    }
    // Gemma 2's sliding window is on by default (4096) on alternate layers,
    // Mistral's on every layer.
    if ((gemma2 || gemma3 || mistral) && !c.contains("sliding_window")) s.sliding_window = 4096;
    // transformers 5 names the attention of every layer (sliding_attention or
    // full_attention); without the key, Gemma 2 slides on even layers and the
    // others slide on every layer when a window is set.
    if (auto lt = c.find("layer_types"); lt != c.end() && lt->is_array() && !lt->empty()) {
        if (static_cast<int64_t>(lt->size()) != s.num_hidden_layers)
            fail(label, "layer_types has " + std::to_string(lt->size()) + " entries for " +
                            std::to_string(s.num_hidden_layers) + " layers");
        size_t sliding = 0;
        for (const auto& t : *lt) {
            const std::string kind = t.is_string() ? t.get<std::string>() : t.dump();
            if (kind != "sliding_attention" && kind != "full_attention")
                fail(label, "layer_types: '" + kind + "' is not sliding_attention or full_attention");
            s.sliding_layers.push_back(kind == "sliding_attention");
            sliding += kind == "sliding_attention";
        }
        if (sliding == 0) {
            s.sliding_window.reset();
            s.sliding_layers.clear();
        } else if (!s.sliding_window) {
            fail(label, "layer_types names sliding_attention layers but sliding_window is not set");
        }
    } else if (gemma2 && s.sliding_window) {
        for (int64_t l = 0; l < s.num_hidden_layers; ++l) s.sliding_layers.push_back(l % 2 == 0);
    } else if (gemma3 && s.sliding_window) {
        // Gemma3TextConfig: every sliding_window_pattern-th layer (default 6) is global.
        const int64_t pattern = opt_int(c, "sliding_window_pattern", label).value_or(6);
        if (pattern <= 0)
            fail(label, "sliding_window_pattern must be positive, found " + std::to_string(pattern));
        for (int64_t l = 0; l < s.num_hidden_layers; ++l) s.sliding_layers.push_back((l + 1) % pattern != 0);
    }
    if (!s.sliding_window) s.rope_local_theta.reset();  // no sliding layers: one rotary table

    // The MLP's activation (hidden_activation in Gemma's configs).
    for (const char* key : {"hidden_act", "hidden_activation"})
        if (auto a = c.find(key); a != c.end() && a->is_string()) s.hidden_act = a->get<std::string>();
    if ((gemma2 || gemma3) && !c.contains("hidden_activation") && !c.contains("hidden_act"))
        s.hidden_act = "gelu_pytorch_tanh";
    if (s.hidden_act == "swish") s.hidden_act = "silu";
    if (s.hidden_act == "gelu_tanh") s.hidden_act = "gelu_pytorch_tanh";
    if (s.hidden_act != "silu" && s.hidden_act != "gelu_pytorch_tanh" && s.hidden_act != "gelu")
        fail(label, "hidden_act '" + s.hidden_act + "' is not supported (silu, gelu_pytorch_tanh, gelu)");

    if (gemma2 || gemma3) {
        s.norm_layout = NormLayout::sandwich;
        s.norm_plus_one = true;
        s.embed_scale = std::sqrt(static_cast<double>(s.hidden_size));
        const double qpas = positive_number(opt_number(c, "query_pre_attn_scalar", label).value_or(256.0),
                                            "query_pre_attn_scalar", label);
        s.attn_scale = 1.0 / std::sqrt(qpas);
        // Absent: the config class's default (Gemma 2: 50 / 30; Gemma 3: none); null: no capping.
        auto cap = [&](const char* key, std::optional<double> fallback) -> std::optional<double> {
            if (!c.contains(key)) return fallback;
            auto v = opt_number(c, key, label);
            if (v) positive_number(*v, key, label);
            return v;
        };
        s.attn_softcap = cap("attn_logit_softcapping", gemma3 ? std::nullopt : std::optional<double>(50.0));
        s.final_softcap = cap("final_logit_softcapping", gemma3 ? std::nullopt : std::optional<double>(30.0));
        // Gemma3ForConditionalGeneration.forward returns lm_head's logits as they
        // are: the text config's final_logit_softcapping is Gemma3ForCausalLM's only.
        if (s.architecture == "Gemma3ForConditionalGeneration") s.final_softcap.reset();
    }
    if (olmo2) {
        // Olmo2DecoderLayer: norms after attention and after the MLP, q/k
        // norms over the whole projection, w · x̂ multiplied in float32.
        s.norm_layout = NormLayout::post;
        s.norm_weight_fp32 = true;
        s.qk_norm_full = true;
    }
    if (mixtral || qwen3_moe) parse_experts(c, s, mixtral, label);
    if (granite) {
        // GraniteConfig's defaults are 1.0 (no change) for all four.
        auto multiplier = [&](const char* key) {
            return positive_number(opt_number(c, key, label).value_or(1.0), key, label);
        };
        s.embedding_multiplier = multiplier("embedding_multiplier");
        s.residual_multiplier = multiplier("residual_multiplier");
        s.logits_scaling = multiplier("logits_scaling");
        if (c.contains("attention_multiplier")) s.attn_scale = multiplier("attention_multiplier");
    }
    return s;
}

}  // namespace

void merge_generation_config(ModelSpec& spec, const json& g) {
    if (!g.is_object()) return;
    const std::string label = "generation_config.json";
    add_unique(spec.bos_token_ids, id_list(g, "bos_token_id", label));
    add_unique(spec.eos_token_ids, id_list(g, "eos_token_id", label));
}

ModelSpec load_model_spec(const std::filesystem::path& folder) {
    const auto config = folder / "config.json";
    if (!std::filesystem::exists(config))
        throw Error(folder.string() + ": no config.json (not a Hugging Face model folder?)");
    ModelSpec s = parse_model_spec(read_json_file(config), config.string());
    const auto gen = folder / "generation_config.json";
    if (std::filesystem::exists(gen)) merge_generation_config(s, read_json_file(gen));
    return s;
}

}  // namespace olm
