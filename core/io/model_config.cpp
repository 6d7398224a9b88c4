#include "core/io/model_config.h"

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
    } else if (type != "linear") {
        fail(label, where + "unsupported type '" + type + "' (supported: linear, llama3)");
    }
    spec.rope_scaling = s;
}

}  // namespace

ModelSpec parse_model_spec(const json& c, const std::string& label) {
    if (!c.is_object()) fail(label, "config is not a JSON object");
    ModelSpec s;
    auto arch = c.find("architectures");
    if (arch == c.end() || !arch->is_array() || arch->empty() || !(*arch)[0].is_string())
        fail(label, "missing required key 'architectures' (a list like [\"LlamaForCausalLM\"])");
    s.architecture = (*arch)[0].get<std::string>();
    if (auto mt = c.find("model_type"); mt != c.end() && mt->is_string())
        s.model_type = mt->get<std::string>();
    else
        fail(label, "missing required key 'model_type'");

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
    s.rms_norm_eps =
        positive_number(opt_number(c, "rms_norm_eps", label).value_or(1e-6), "rms_norm_eps", label);
    if (s.rms_norm_eps >= 1)
        fail(label,
             "key 'rms_norm_eps' must be below 1 (a small epsilon), found " + number_text(s.rms_norm_eps));
    s.max_position_embeddings = opt_int(c, "max_position_embeddings", label).value_or(0);
    if (s.max_position_embeddings < 0 || s.max_position_embeddings > L::max_positions)
        fail(label, "key 'max_position_embeddings' is " + std::to_string(s.max_position_embeddings) +
                        ", outside [0, " + std::to_string(L::max_positions) + "]");
    if (auto t = c.find("tie_word_embeddings"); t != c.end() && t->is_boolean())
        s.tie_word_embeddings = t->get<bool>();

    // Qwen2 always has q/k/v biases (its config has no attention_bias key).
    s.attention_bias = s.model_type == "qwen2" || s.architecture == "Qwen2ForCausalLM";
    if (auto b = c.find("attention_bias"); b != c.end() && b->is_boolean()) s.attention_bias = b->get<bool>();
    s.qk_norm = s.model_type == "qwen3" || s.architecture == "Qwen3ForCausalLM";

    // transformers 5: rope_parameters {rope_type, rope_theta, factor, ...}
    // transformers 4: rope_theta at the top, rope_scaling {type|rope_type, factor, ...}
    s.rope_theta = opt_number(c, "rope_theta", label).value_or(10000.0);
    if (auto rp = c.find("rope_parameters"); rp != c.end() && !rp->is_null()) {
        if (!rp->is_object()) fail(label, "rope_parameters should be an object");
        if (auto th = opt_number(*rp, "rope_theta", label)) s.rope_theta = *th;
        parse_rope(*rp, s, label);
    }
    if (auto rs = c.find("rope_scaling"); rs != c.end() && !rs->is_null()) parse_rope(*rs, s, label);
    positive_number(s.rope_theta, "rope_theta", label);

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
    const bool gemma2 = s.model_type == "gemma2" || s.architecture == "Gemma2ForCausalLM";
    // Gemma 2's sliding window is on by default (4096) on alternate layers.
    if (gemma2 && !c.contains("sliding_window")) s.sliding_window = 4096;
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
    }

    // The MLP's activation (hidden_activation in Gemma's configs).
    for (const char* key : {"hidden_act", "hidden_activation"})
        if (auto a = c.find(key); a != c.end() && a->is_string()) s.hidden_act = a->get<std::string>();
    if (gemma2 && !c.contains("hidden_activation") && !c.contains("hidden_act"))
        s.hidden_act = "gelu_pytorch_tanh";
    if (s.hidden_act == "swish") s.hidden_act = "silu";
    if (s.hidden_act == "gelu_tanh") s.hidden_act = "gelu_pytorch_tanh";
    if (s.hidden_act != "silu" && s.hidden_act != "gelu_pytorch_tanh" && s.hidden_act != "gelu")
        fail(label, "hidden_act '" + s.hidden_act + "' is not supported (silu, gelu_pytorch_tanh, gelu)");

    if (gemma2) {
        s.norm_layout = NormLayout::sandwich;
        s.norm_plus_one = true;
        s.embed_scale = std::sqrt(static_cast<double>(s.hidden_size));
        const double qpas = positive_number(opt_number(c, "query_pre_attn_scalar", label).value_or(256.0),
                                            "query_pre_attn_scalar", label);
        s.attn_scale = 1.0 / std::sqrt(qpas);
        // Absent: Gemma2Config's defaults; null: no capping.
        auto cap = [&](const char* key, double fallback) -> std::optional<double> {
            if (!c.contains(key)) return fallback;
            auto v = opt_number(c, key, label);
            if (v) positive_number(*v, key, label);
            return v;
        };
        s.attn_softcap = cap("attn_logit_softcapping", 50.0);
        s.final_softcap = cap("final_logit_softcapping", 30.0);
    }
    return s;
}

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
