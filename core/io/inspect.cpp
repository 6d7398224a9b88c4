#include "core/io/inspect.h"

#include "core/io/architecture.h"
#include "core/io/model_config.h"
#include "core/io/safetensors_reader.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace olm {

std::string human_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000.0 && u < 4) v /= 1000.0, ++u;
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
    return buf;
}

std::string human_count(int64_t count) {
    char buf[32];
    if (count >= 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.2f B", count / 1e9);
    else if (count >= 1'000'000)
        std::snprintf(buf, sizeof buf, "%.2f M", count / 1e6);
    else if (count >= 1'000)
        std::snprintf(buf, sizeof buf, "%.1f K", count / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(count));
    return buf;
}

uint64_t resident_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return 0;
}

std::string describe_model(const ModelFolder& m) {
    const ModelSpec& s = m.spec();
    std::ostringstream o;
    o << m.path().string() << "\n";
    o << "  architecture   " << s.architecture << " (" << s.model_type << ")\n";
    o << "  layers         " << s.num_hidden_layers << "\n";
    o << "  hidden size    " << s.hidden_size << " (intermediate " << s.intermediate_size << ")\n";
    o << "  heads          " << s.num_attention_heads << " (kv heads " << s.num_key_value_heads
      << ", head_dim " << s.head_dim << ")\n";
    if (s.num_experts > 0) {
        int64_t sparse = 0;
        for (int64_t l = 0; l < s.num_hidden_layers; ++l) sparse += s.layer_is_sparse(l);
        o << "  experts        " << s.num_experts << " per layer, top " << s.num_experts_per_tok
          << " per token" << (s.norm_topk_prob ? " (weights renormalised)" : "") << ", width "
          << s.moe_intermediate_size << ", in " << sparse << " of " << s.num_hidden_layers << " layers\n";
    }
    o << "  vocabulary     " << s.vocab_size << (s.tie_word_embeddings ? " (tied embeddings)" : "") << "\n";
    o << "  parameters     " << human_count(m.parameter_count()) << " (" << m.parameter_count() << ")\n";
    o << "  dtype          " << dtype_name(m.main_dtype());
    if (!s.torch_dtype.empty()) o << " (config: " << s.torch_dtype << ")";
    o << "\n";
    o << "  size on disk   " << human_bytes(m.disk_bytes()) << " in " << m.shard_count()
      << (m.shard_count() == 1 ? " file" : " shards") << "\n";
    o << "  rope           theta " << s.rope_theta;
    if (!s.rope_scaling.type.empty()) o << ", " << s.rope_scaling.type << " x" << s.rope_scaling.factor;
    o << "\n";
    if (!m.architecture().layout.empty()) o << "  layout         " << m.architecture().layout << "\n";
    // Parts outside the language model (a vision tower): not merged, carried from the base.
    for (const CarriedPart& c : m.architecture().carried) {
        int64_t tensors = 0, params = 0;
        for (const auto& name : m.names())
            if (carried_part(m.architecture(), name) == &c) {
                ++tensors;
                params += m.info(name).numel();
            }
        o << "  carried        " << c.prefix << "* " << tensors << " tensors, " << human_count(params)
          << " parameters (copied from the base into a merge unchanged)\n";
    }
    return o.str();
}

std::string describe_pool(const PoolVerdict& v) {
    std::ostringstream o;
    o << "pool check: " << (v.ok ? "compatible" : "NOT compatible") << "\n";
    for (size_t i = 0; i < v.members.size(); ++i) {
        const auto& m = v.members[i];
        o << "  " << m.path.string() << ": ";
        if (!m.ok)
            o << "INCOMPATIBLE: " << m.reason;
        else
            o << (i == 0 ? "base" : "OK");
        o << "\n";
        for (const auto& w : m.warnings) o << "    warning: " << w << "\n";
    }
    return o.str();
}

VerifyReport verify_tensors(const ModelFolder& model, ProgressSink& sink) {
    VerifyReport r;
    const auto names = model.names();
    for (const auto& name : names) {
        if (sink.cancelled()) throw Cancelled();
        const at::Tensor t = model.tensor(name);
        ++r.tensors;
        r.elements += t.numel();
        if (at::isFloatingType(t.scalar_type()) && t.numel() > 0) {
            const at::Tensor f = t.to(at::kFloat);
            TensorHealth h{name, at::isnan(f).sum().item<int64_t>(), at::isinf(f).sum().item<int64_t>()};
            r.nan += h.nan;
            r.inf += h.inf;
            if (h.nan || h.inf) r.bad.push_back(h);
        }
        model.release(name);
        sink.progress("verify", r.tensors, static_cast<long long>(names.size()));
    }
    return r;
}

namespace {

namespace fs = std::filesystem;

// The smallest config parse_model_spec accepts for a family (its defaults do the rest).
nlohmann::json family_probe_config(const Architecture& a) {
    const nlohmann::json sizes = {{"hidden_size", 64},        {"intermediate_size", 128},
                                  {"num_hidden_layers", 2},   {"num_attention_heads", 4},
                                  {"num_key_value_heads", 4}, {"head_dim", 16},
                                  {"vocab_size", 128}};
    nlohmann::json c = {{"architectures", {a.name}}, {"model_type", a.model_types.at(0)}};
    if (a.text_config.empty())
        c.update(sizes);
    else
        c[a.text_config] = sizes;
    return c;
}

std::string features_of(const ModelSpec& s) {
    std::vector<std::string> f;
    if (s.norm_layout == NormLayout::sandwich) f.push_back("sandwich norms");
    if (s.norm_layout == NormLayout::post) f.push_back("post-norms");
    if (s.norm_plus_one) f.push_back("RMSNorm x(1+w)");
    if (s.norm_weight_fp32) f.push_back("RMSNorm weight in float32");
    if (s.qk_norm) f.push_back(s.qk_norm_full ? "q/k norms over the projection" : "per-head q/k norms");
    if (s.attention_bias) f.push_back("q/k/v biases");
    if (s.embed_scale != 1.0) f.push_back("embeddings x sqrt(hidden)");
    if (s.hidden_act != "silu") f.push_back(s.hidden_act);
    if (s.attn_scale)
        f.push_back(s.embedding_multiplier != 1.0 || s.logits_scaling != 1.0 ? "attention_multiplier"
                                                                             : "query_pre_attn_scalar");
    if (s.attn_softcap || s.final_softcap) f.push_back("logit soft-capping");
    if (s.sliding_window)
        f.push_back(s.sliding_layers.empty() ? "sliding window" : "sliding window on some layers");
    if (s.rope_local_theta) f.push_back("local rope base");
    if (s.embedding_multiplier != 1.0 || s.residual_multiplier != 1.0 || s.logits_scaling != 1.0)
        f.push_back("embedding/residual/logits multipliers");
    if (s.num_experts > 0) f.push_back("routed experts");
    std::string out;
    for (const auto& x : f) out += (out.empty() ? "" : ", ") + x;
    return out.empty() ? "the Llama forward" : out;
}

// "model.layers.12.mlp.up_proj.weight" -> "model.layers.{n}.mlp.up_proj.weight"
std::string layer_pattern(const std::string& name) {
    std::string out;
    size_t i = 0;
    bool replaced = false;
    while (i < name.size()) {
        if (!replaced && std::isdigit(static_cast<unsigned char>(name[i])) && i > 0 && name[i - 1] == '.') {
            size_t j = i;
            while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
            if (j == name.size() || name[j] == '.') {
                out += "{n}";
                i = j;
                replaced = true;
                continue;
            }
        }
        out += name[i++];
    }
    return out;
}

// Up to `limit` patterns with their counts: "a.{n}.b (x24), c".
std::string summarize(const std::vector<std::string>& names, size_t limit = 8) {
    std::map<std::string, int> count;
    std::vector<std::string> order;
    for (const auto& n : names) {
        const std::string p = layer_pattern(n);
        if (count[p]++ == 0) order.push_back(p);
    }
    std::string out;
    for (size_t i = 0; i < order.size() && i < limit; ++i) {
        out += (i ? ", " : "") + order[i];
        if (count[order[i]] > 1) out += " (x" + std::to_string(count[order[i]]) + ")";
    }
    if (order.size() > limit) out += ", and " + std::to_string(order.size() - limit) + " more patterns";
    return out;
}

std::set<std::string> folder_tensor_names(const fs::path& folder) {
    std::set<std::string> names;
    std::vector<fs::path> files;
    const fs::path index = folder / "model.safetensors.index.json";
    if (fs::is_regular_file(index)) {
        const auto j = read_json_file(index);
        if (j.contains("weight_map") && j.at("weight_map").is_object())
            for (auto it = j.at("weight_map").begin(); it != j.at("weight_map").end(); ++it)
                names.insert(it.key());
        return names;
    }
    for (const auto& e : fs::directory_iterator(folder))
        if (e.is_regular_file() && e.path().extension() == ".safetensors") files.push_back(e.path());
    for (const auto& f : files) {
        const auto file = SafetensorsFile::open(f);  // keeps its header alive for the loop
        for (const auto& t : file->tensors()) names.insert(t.name);
    }
    return names;
}

}  // namespace

std::string describe_families() {
    std::ostringstream os;
    os << "Supported architectures (core/io/architecture_table.cpp):\n";
    for (const auto& a : architectures()) {
        std::string types;
        for (const auto& t : a.model_types) types += (types.empty() ? "" : ", ") + t;
        std::string features;
        try {
            features = features_of(parse_model_spec(family_probe_config(a), a.name));
        } catch (const std::exception& e) {
            features = e.what();
        }
        for (const auto& t : a.layer)
            if (t.role == TensorRole::attn_qkv || t.role == TensorRole::mlp_gate_up)
                features +=
                    std::string("; fused ") + (t.role == TensorRole::attn_qkv ? "qkv_proj" : "gate_up_proj");
        size_t layer_tensors = a.layer.size();
        std::string carried;
        for (const auto& c : a.carried) carried += (carried.empty() ? "" : ", ") + c.prefix + "*";
        if (!a.text_config.empty()) features += "; language model config under " + a.text_config;
        if (!carried.empty()) features += "; carried from the base unchanged: " + carried;
        for (const Architecture* other : layouts_of(a.name))
            if (other != &a) features += "; also read in " + other->layout;
        os << "  " << a.name << " (model_type " << types << "): " << layer_tensors
           << " tensor roles per layer; " << features << "\n";
    }
    return os.str();
}

std::string explain_unsupported(const fs::path& folder) {
    const fs::path cfg = folder / "config.json";
    if (!fs::is_regular_file(cfg)) return "";
    const nlohmann::json c = read_json_file(cfg);
    std::string arch, model_type;
    if (c.contains("architectures") && c.at("architectures").is_array() && !c.at("architectures").empty() &&
        c.at("architectures")[0].is_string())
        arch = c.at("architectures")[0].get<std::string>();
    if (c.contains("model_type") && c.at("model_type").is_string())
        model_type = c.at("model_type").get<std::string>();
    for (const auto& a : architectures())
        if (a.name == arch) return "";
    const std::set<std::string> present = folder_tensor_names(folder);

    // The family whose names (for this config's sizes) the folder holds most.
    const Architecture* best = nullptr;
    std::vector<std::string> best_absent, best_unknown;
    size_t best_matched = 0, best_expected = 0;
    for (const auto& a : architectures()) {
        nlohmann::json probe = c;
        probe["architectures"] = {a.name};
        probe["model_type"] = a.model_types.at(0);
        ModelSpec spec;
        try {
            spec = parse_model_spec(probe, cfg.string());
        } catch (const std::exception&) {
            continue;  // its config lacks what this family needs (sizes under other names)
        }
        std::set<std::string> expected;
        std::vector<std::string> absent;
        size_t matched = 0;
        for (const auto& t : all_tensors(a, spec)) {
            if (!t.required && !present.count(t.name)) continue;
            expected.insert(t.name);
            if (present.count(t.name))
                ++matched;
            else
                absent.push_back(t.name);
        }
        if (!best || matched > best_matched) {
            best = &a;
            best_matched = matched;
            best_expected = expected.size();
            best_absent = absent;
            best_unknown.clear();
            for (const auto& n : present)
                if (!expected.count(n)) best_unknown.push_back(n);
        }
    }
    std::ostringstream os;
    os << folder.string() << ": " << (arch.empty() ? std::string("(no architectures entry)") : arch)
       << " (model_type " << (model_type.empty() ? "?" : model_type)
       << ") is not a supported architecture.\n";
    if (!best || best_matched == 0) {
        std::vector<std::string> some(present.begin(), present.end());
        os << "  No family's tensor names match its " << present.size() << " tensors (" << summarize(some, 4)
           << ").\n";
    } else {
        os << "  Closest family: " << best->name << ": " << best_matched << " of its " << best_expected
           << " tensors are here by name.\n";
        if (!best_unknown.empty())
            os << "  Here but not in that entry (" << best_unknown.size() << "): " << summarize(best_unknown)
               << "\n";
        if (!best_absent.empty())
            os << "  In that entry but absent here (" << best_absent.size() << "): " << summarize(best_absent)
               << "\n";
        if (best_unknown.empty() && best_absent.empty())
            os << "  Every tensor name matches: the family may need only a table entry, plus any forward "
                  "feature of its modeling code.\n";
    }
    os << "  Supporting it takes an entry in core/io/architecture_table.cpp (tensor roles and names) and any "
          "new forward feature (docs/io.md).\n";
    return os.str();
}

}  // namespace olm
