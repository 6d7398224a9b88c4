#include "core/io/pool_check.h"

#include "core/io/model_config.h"
#include "core/util/error.h"

#include <fstream>
#include <map>
#include <sstream>

namespace olm {

namespace fs = std::filesystem;

namespace {

// "model.layers.3.mlp.up_proj.weight" -> "layer 3 mlp.up_proj"
std::string short_name(const Architecture& arch, const std::string& name) {
    std::string s = name;
    const int layer = layer_of(arch, name);
    if (layer >= 0) {
        const std::string prefix = "model.layers." + std::to_string(layer) + ".";
        if (s.rfind(prefix, 0) == 0) s = "layer " + std::to_string(layer) + " " + s.substr(prefix.size());
    }
    const std::string w = ".weight";
    if (s.size() > w.size() && s.compare(s.size() - w.size(), w.size(), w) == 0)
        s.resize(s.size() - w.size());
    return s;
}

std::string bytes_of(const fs::path& p) { return read_text_file(p, max_tokenizer_json_bytes); }

template <class T>
std::string differs(const char* what, const T& base, const T& other) {
    std::ostringstream os;
    os << what << " is " << other << ", base has " << base;
    return os.str();
}

// "added tokens differ from the base (same vocabulary and merges): id 151665
// '<tool>' only here; id 2 is '<eos>' here, '</s>' in the base; ..." (at most 6).
std::string added_tokens_difference(const nlohmann::json& base, const nlohmann::json& other) {
    auto by_id = [](const nlohmann::json& list) {
        std::map<int64_t, nlohmann::json> out;
        if (list.is_array())
            for (const auto& t : list)
                if (t.is_object() && t.contains("id") && t.at("id").is_number_integer())
                    out[t.at("id").get<int64_t>()] = t;
        return out;
    };
    auto content = [](const nlohmann::json& t) {
        return t.contains("content") && t.at("content").is_string()
                   ? "'" + t.at("content").get<std::string>() + "'"
                   : std::string("(no content)");
    };
    const auto b = by_id(base), o = by_id(other);
    std::vector<std::string> diffs;
    size_t total = 0;
    auto add = [&](std::string d) {
        if (++total <= 6) diffs.push_back(std::move(d));
    };
    for (const auto& [id, t] : o) {
        const auto it = b.find(id);
        if (it == b.end())
            add("id " + std::to_string(id) + " " + content(t) + " only here");
        else if (content(t) != content(it->second))
            add("id " + std::to_string(id) + " is " + content(t) + " here, " + content(it->second) +
                " in the base");
        else if (t != it->second)
            add("id " + std::to_string(id) + " " + content(t) +
                " has other flags (special, normalized, ...)");
    }
    for (const auto& [id, t] : b)
        if (!o.count(id)) add("id " + std::to_string(id) + " " + content(t) + " only in the base");
    std::string text = "added tokens differ from the base (vocabulary and merges are the same): ";
    if (diffs.empty()) return text + "their order differs";
    for (size_t i = 0; i < diffs.size(); ++i) text += (i ? "; " : "") + diffs[i];
    if (total > diffs.size()) text += "; and " + std::to_string(total - diffs.size()) + " more";
    return text;
}

}  // namespace

std::string incompatibility(const ModelFolder& base, const ModelFolder& other) {
    const ModelSpec& b = base.spec();
    const ModelSpec& o = other.spec();
    if (b.architecture != o.architecture) return differs("architecture", b.architecture, o.architecture);
    if (b.num_hidden_layers != o.num_hidden_layers)
        return differs("num_hidden_layers", b.num_hidden_layers, o.num_hidden_layers);
    if (b.vocab_size != o.vocab_size) return differs("vocab_size", b.vocab_size, o.vocab_size);
    if (b.hidden_size != o.hidden_size) return differs("hidden_size", b.hidden_size, o.hidden_size);
    if (b.num_attention_heads != o.num_attention_heads)
        return differs("num_attention_heads", b.num_attention_heads, o.num_attention_heads);
    if (b.num_key_value_heads != o.num_key_value_heads)
        return differs("num_key_value_heads", b.num_key_value_heads, o.num_key_value_heads);
    if (b.head_dim != o.head_dim) return differs("head_dim", b.head_dim, o.head_dim);
    // Tensor by tensor, each under its own folder's names (the two may use two
    // layouts of one family).
    const Architecture& arch = base.architecture();
    for (const auto& e : all_tensors(arch, b)) {
        const std::string on = name_in_layout(other.architecture(), e.name);
        const bool in_b = base.has(e.name);
        const bool in_o = other.has(on);
        if (!in_b && !in_o) continue;
        if (in_b != in_o)
            return short_name(arch, e.name) +
                   (in_o ? " is present, base has none" : " is missing, base has it");
        const auto& sb = base.info(e.name).shape;
        const auto& so = other.info(on).shape;
        if (sb != so)
            return short_name(arch, e.name) + " is " + shape_text(so) + ", base has " + shape_text(sb);
    }
    if (b.tie_word_embeddings != o.tie_word_embeddings)
        return std::string("tie_word_embeddings is ") + (o.tie_word_embeddings ? "true" : "false") +
               ", base has " + (b.tie_word_embeddings ? "true" : "false");
    return "";
}

std::vector<std::string> config_warnings(const ModelFolder& base, const ModelFolder& other) {
    std::vector<std::string> w;
    const ModelSpec& b = base.spec();
    const ModelSpec& o = other.spec();
    if (b.rope_theta != o.rope_theta) w.push_back(differs("rope_theta", b.rope_theta, o.rope_theta));
    if (b.rope_scaling.type != o.rope_scaling.type || b.rope_scaling.factor != o.rope_scaling.factor)
        w.push_back("rope_scaling is '" + o.rope_scaling.type + "' x" +
                    std::to_string(o.rope_scaling.factor) + ", base has '" + b.rope_scaling.type + "' x" +
                    std::to_string(b.rope_scaling.factor));
    if (b.rms_norm_eps != o.rms_norm_eps)
        w.push_back(differs("rms_norm_eps", b.rms_norm_eps, o.rms_norm_eps));
    // The forward features a config switches on: the merged model runs with the
    // base's, so a pool model trained with others is worth a warning.
    auto opt = [](const auto& v) {  // an optional as text, "none" when unset
        std::ostringstream os;
        if (v)
            os << *v;
        else
            os << "none";
        return os.str();
    };
    auto feature = [&](const char* what, const auto& bv, const auto& ov) {
        if (bv != ov) w.push_back(differs(what, bv, ov));
    };
    feature("hidden_act", b.hidden_act, o.hidden_act);
    feature("attention scale", opt(b.attn_scale), opt(o.attn_scale));
    feature("attn_logit_softcapping", opt(b.attn_softcap), opt(o.attn_softcap));
    feature("final_logit_softcapping", opt(b.final_softcap), opt(o.final_softcap));
    feature("embedding_multiplier", b.embedding_multiplier, o.embedding_multiplier);
    feature("residual_multiplier", b.residual_multiplier, o.residual_multiplier);
    feature("logits_scaling", b.logits_scaling, o.logits_scaling);
    feature("sliding_window", opt(b.sliding_window), opt(o.sliding_window));
    if (b.sliding_window && o.sliding_window)
        for (int64_t l = 0; l < b.num_hidden_layers && l < o.num_hidden_layers; ++l)
            if (b.layer_slides(l) != o.layer_slides(l)) {
                w.push_back("layer " + std::to_string(l) +
                            (o.layer_slides(l) ? " slides" : " attends globally") + ", the base's " +
                            (b.layer_slides(l) ? "slides" : "attends globally"));
                break;
            }
    feature("rope_local_base_freq", opt(b.rope_local_theta), opt(o.rope_local_theta));
    if (base.main_dtype() != other.main_dtype())
        w.push_back("weights are " + std::string(dtype_name(other.main_dtype())) + ", base has " +
                    std::string(dtype_name(base.main_dtype())));
    return w;
}

std::optional<std::string> tokenizer_difference(const fs::path& base, const fs::path& other) {
    // tokenizer.json: compare the model (vocab, merges) and the added tokens.
    const fs::path bj = base / "tokenizer.json", oj = other / "tokenizer.json";
    if (fs::exists(bj) != fs::exists(oj))
        return std::string("tokenizer.json ") +
               (fs::exists(oj) ? "present, base has none" : "missing, base has one");
    if (fs::exists(bj)) {
        const auto b = read_json_file(bj, max_tokenizer_json_bytes);
        const auto o = read_json_file(oj, max_tokenizer_json_bytes);
        auto part = [](const nlohmann::json& j, const char* k) {
            return j.contains(k) ? j.at(k) : nlohmann::json();
        };
        const auto bm = part(b, "model"), om = part(o, "model");
        if (part(bm, "vocab") != part(om, "vocab")) return "tokenizer vocabulary differs from the base";
        if (part(bm, "merges") != part(om, "merges")) return "tokenizer merges differ from the base";
        if (bm != om) return "tokenizer model settings differ from the base";
        if (part(b, "added_tokens") != part(o, "added_tokens"))
            return added_tokens_difference(part(b, "added_tokens"), part(o, "added_tokens"));
    }
    for (const char* name : {"vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json"}) {
        const fs::path bf = base / name, of = other / name;
        if (fs::exists(bf) != fs::exists(of))
            return std::string(name) +
                   (fs::exists(of) ? " present, base has none" : " missing, base has one");
        if (fs::exists(bf) && bytes_of(bf) != bytes_of(of))
            return std::string(name) + " differs from the base";
    }
    return std::nullopt;
}

PoolVerdict check_pool(const std::vector<ModelFolder>& models) {
    PoolVerdict v;
    v.ok = !models.empty();
    for (size_t i = 0; i < models.size(); ++i) {
        PoolMember m;
        m.path = models[i].path();
        m.ok = true;
        if (i > 0) {
            m.reason = incompatibility(models[0], models[i]);
            m.ok = m.reason.empty();
            if (m.ok) m.warnings = config_warnings(models[0], models[i]);
            try {
                if (auto t = tokenizer_difference(models[0].path(), models[i].path()))
                    m.warnings.push_back(*t);
            } catch (const Error& e) {
                m.warnings.push_back(std::string("tokenizer not compared: ") + e.what());
            }
        }
        v.ok = v.ok && m.ok;
        v.members.push_back(std::move(m));
    }
    return v;
}

PoolVerdict check_pool(const std::vector<fs::path>& folders) {
    std::vector<ModelFolder> opened;
    std::vector<std::optional<std::string>> errors;
    for (const auto& f : folders) {
        try {
            opened.push_back(ModelFolder::open(f));
            errors.push_back(std::nullopt);
        } catch (const Error& e) {
            opened.emplace_back();
            errors.push_back(e.what());
        }
    }
    PoolVerdict v;
    v.ok = !folders.empty();
    if (!folders.empty() && errors[0]) {
        // Without a base nothing can be compared.
        for (size_t i = 0; i < folders.size(); ++i)
            v.members.push_back(
                {folders[i], false, errors[i] ? *errors[i] : "base model could not be opened", {}});
        v.ok = false;
        return v;
    }
    std::vector<ModelFolder> good;
    for (size_t i = 0; i < folders.size(); ++i)
        if (!errors[i]) good.push_back(opened[i]);
    PoolVerdict inner = check_pool(good);
    size_t g = 0;
    for (size_t i = 0; i < folders.size(); ++i) {
        if (errors[i])
            v.members.push_back({folders[i], false, *errors[i], {}});
        else
            v.members.push_back(inner.members[g++]);
        v.ok = v.ok && v.members.back().ok;
    }
    return v;
}

}  // namespace olm
