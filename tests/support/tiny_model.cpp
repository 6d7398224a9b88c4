#include "tests/support/tiny_model.h"

#include "core/io/architecture.h"
#include "core/io/export_folder.h"
#include "core/io/model_config.h"
#include "core/io/model_folder.h"
#include "core/io/safetensors_writer.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/hash.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <random>

namespace olm::testing {

namespace fs = std::filesystem;

namespace {

std::string model_type_of(const std::string& arch) {
    if (arch == "LlamaForCausalLM") return "llama";
    if (arch == "MistralForCausalLM") return "mistral";
    if (arch == "Qwen2ForCausalLM") return "qwen2";
    if (arch == "Qwen3ForCausalLM") return "qwen3";
    if (arch == "Gemma2ForCausalLM") return "gemma2";
    if (arch == "Gemma3ForCausalLM") return "gemma3_text";
    if (arch == "GraniteForCausalLM") return "granite";
    if (arch == "Phi3ForCausalLM") return "phi3";
    if (arch == "Olmo2ForCausalLM") return "olmo2";
    throw Error("write_tiny_model: unsupported architecture '" + arch +
                "' (supported: " + supported_architectures() + ")");
}

nlohmann::json ids_json(const std::vector<int64_t>& ids) {
    if (ids.size() == 1) return ids[0];
    return ids;
}

at::Tensor from_floats(std::vector<float> v, const std::vector<int64_t>& shape) {
    return at::from_blob(v.data(), shape, at::kFloat).clone();
}

}  // namespace

std::vector<float> gaussian(uint64_t seed, const std::string& stream, int64_t n) {
    std::mt19937_64 rng(seed ^ olm::fnv1a64(stream));
    auto uniform = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i += 2) {
        const double r = std::sqrt(-2.0 * std::log(uniform()));
        const double a = 2.0 * M_PI * uniform();
        out[i] = static_cast<float>(r * std::cos(a));
        if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(a));
    }
    return out;
}

std::string tiny_config_json(const TinyModelOptions& o) {
    const std::string type = model_type_of(o.architecture);
    const int64_t head_dim = o.head_dim > 0 ? o.head_dim : o.hidden / o.heads;
    nlohmann::ordered_json c;
    c["architectures"] = {o.architecture};
    if (type != "qwen2") c["attention_bias"] = o.attention_bias;
    c["attention_dropout"] = 0.0;
    c["bos_token_id"] = o.bos_id;
    c["eos_token_id"] = ids_json(o.eos_ids);
    if (type != "qwen2" || o.head_dim > 0) c["head_dim"] = head_dim;
    const bool gemma = type == "gemma2" || type == "gemma3_text";
    c["hidden_act"] = gemma ? "gelu_pytorch_tanh" : "silu";
    if (type == "gemma3_text") {
        // Gemma 3: local layers on rope_local_base_freq; global every pattern-th layer.
        c["rope_local_base_freq"] = o.rope_local_theta;
        c["sliding_window_pattern"] = o.sliding_pattern;
    }
    if (gemma) {
        c["hidden_activation"] = "gelu_pytorch_tanh";
        c["query_pre_attn_scalar"] =
            o.query_pre_attn_scalar > 0 ? o.query_pre_attn_scalar : static_cast<double>(head_dim);
        c["attn_logit_softcapping"] = o.attn_softcap > 0 ? nlohmann::ordered_json(o.attn_softcap) : nullptr;
        c["final_logit_softcapping"] =
            o.final_softcap > 0 ? nlohmann::ordered_json(o.final_softcap) : nullptr;
        c["sliding_window"] = o.sliding_window > 0 ? nlohmann::ordered_json(o.sliding_window) : nullptr;
        if (o.transformers5 && o.sliding_window > 0) {
            nlohmann::ordered_json types = nlohmann::ordered_json::array();
            for (int64_t l = 0; l < o.layers; ++l) {
                const bool slides = type == "gemma2" ? l % 2 == 0 : (l + 1) % o.sliding_pattern != 0;
                types.push_back(slides ? "sliding_attention" : "full_attention");
            }
            c["layer_types"] = types;
        }
    }
    if (type == "granite") {
        c["embedding_multiplier"] = o.embedding_multiplier;
        c["attention_multiplier"] = o.attention_multiplier > 0
                                        ? o.attention_multiplier
                                        : 1.0 / std::sqrt(static_cast<double>(head_dim));
        c["residual_multiplier"] = o.residual_multiplier;
        c["logits_scaling"] = o.logits_scaling;
    }
    if (type == "phi3" && o.partial_rotary_factor != 1.0)
        c["partial_rotary_factor"] = o.partial_rotary_factor;
    c["hidden_size"] = o.hidden;
    c["initializer_range"] = 0.02;
    c["intermediate_size"] = o.intermediate;
    c["max_position_embeddings"] = o.max_position;
    if (type == "qwen2" || type == "qwen3") c["max_window_layers"] = o.layers;
    if (type == "llama" || type == "granite") c["mlp_bias"] = false;
    c["model_type"] = type;
    c["num_attention_heads"] = o.heads;
    c["num_hidden_layers"] = o.layers;
    c["num_key_value_heads"] = o.kv_heads;
    c["rms_norm_eps"] = o.rms_norm_eps;
    nlohmann::ordered_json rope = nullptr;
    if (o.rope_scaling == "linear") {
        rope = {{"factor", o.rope_factor}, {"rope_type", "linear"}};
    } else if (o.rope_scaling == "llama3") {
        rope = {{"factor", o.rope_factor},
                {"high_freq_factor", 4.0},
                {"low_freq_factor", 1.0},
                {"original_max_position_embeddings", o.max_position / 2},
                {"rope_type", "llama3"}};
    } else if (o.rope_scaling == "longrope") {
        const int64_t half =
            static_cast<int64_t>(static_cast<double>(head_dim) * o.partial_rotary_factor) / 2;
        std::vector<double> sf = o.short_factor, lf = o.long_factor;
        if (sf.empty())
            for (int64_t i = 0; i < half; ++i) sf.push_back(1.0 + 0.5 * static_cast<double>(i));
        if (lf.empty())
            for (int64_t i = 0; i < half; ++i) lf.push_back(2.0 + static_cast<double>(i));
        rope = {{"long_factor", lf}, {"rope_type", "longrope"}, {"short_factor", sf}};
        c["original_max_position_embeddings"] =
            o.original_max_position > 0 ? o.original_max_position : o.max_position / 2;
    } else if (!o.rope_scaling.empty()) {
        throw Error("write_tiny_model: rope_scaling '" + o.rope_scaling + "' (use '', 'linear' or 'llama3')");
    }
    if (o.transformers5) {
        nlohmann::ordered_json p = rope.is_null() ? nlohmann::ordered_json{{"rope_type", "default"}} : rope;
        p["rope_theta"] = o.rope_theta;
        c["rope_parameters"] = p;
    } else {
        c["rope_scaling"] = rope;
        c["rope_theta"] = o.rope_theta;
    }
    if (type == "mistral" || type == "qwen2" || type == "qwen3") c["sliding_window"] = nullptr;
    c["tie_word_embeddings"] = o.tied;
    c[o.transformers5 ? "dtype" : "torch_dtype"] = std::string(dtype_torch_name(o.dtype));
    c["transformers_version"] = o.transformers5 ? "5.0.0" : "4.46.0";
    c["use_cache"] = true;
    if (type == "qwen2" || type == "qwen3") c["use_sliding_window"] = false;
    c["vocab_size"] = o.vocab;
    return c.dump(2) + "\n";
}

ModelSpec write_tiny_model(const fs::path& dir, const TinyModelOptions& o) {
    if (o.dtype != DType::F32 && o.dtype != DType::BF16 && o.dtype != DType::F16)
        throw Error("write_tiny_model: dtype must be F32, BF16 or F16");
    fs::create_directories(dir);
    write_file_atomic(dir / "config.json", tiny_config_json(o));
    nlohmann::ordered_json gen;
    gen["_from_model_config"] = true;
    gen["bos_token_id"] = o.bos_id;
    gen["eos_token_id"] = ids_json(o.eos_ids);
    gen["transformers_version"] = "4.46.0";
    write_file_atomic(dir / "generation_config.json", gen.dump(2) + "\n");

    const ModelSpec spec = load_model_spec(dir);
    const Architecture& arch = architecture_for(spec);
    std::vector<TensorSource> sources;
    for (const auto& e : all_tensors(arch, spec)) {
        if (!e.required) continue;  // lm_head of a tied model is not written
        const bool norm = is_norm_role(e.role);
        const double norm_base = spec.norm_plus_one ? 0.0 : 1.0;  // Gemma scales by (1 + w)
        const bool bias = e.role == TensorRole::attn_q_bias || e.role == TensorRole::attn_k_bias ||
                          e.role == TensorRole::attn_v_bias || e.role == TensorRole::attn_o_bias;
        const std::string name = e.name;
        const auto shape = e.shape;
        const uint64_t seed = o.seed;
        const double scale = o.weight_scale;
        sources.push_back({name,
                           o.dtype,
                           shape,
                           [=] {
                               int64_t n = 1;
                               for (int64_t d : shape) n *= d;
                               at::Tensor t = from_floats(gaussian(seed, name, n), shape);
                               // norms near 1, biases and weights small
                               if (norm) return norm_base + 0.1 * t;
                               return (bias ? 0.5 * scale : scale) * t;
                           },
                           {}});
    }
    ShardOptions so;
    so.shard_count = static_cast<size_t>(std::max(1, o.shards));
    so.always_index = o.shards > 1;
    write_safetensors_model(dir, sources, so);

    if (!o.tokenizer_from.empty())
        for (const auto& name : tokenizer_file_names())
            if (fs::is_regular_file(o.tokenizer_from / name))
                fs::copy_file(o.tokenizer_from / name, dir / name, fs::copy_options::overwrite_existing);
    return spec;
}

void derive_model(const fs::path& src, const fs::path& dst, const DeriveOptions& d) {
    const ModelFolder base = ModelFolder::open(src);
    const Architecture& arch = base.architecture();
    // name -> sublayer ("" for boundary) of every tensor to perturb
    std::map<std::string, std::string> chosen;
    auto sublayer_ok = [&](const std::string& sublayer) {
        return d.sublayers.empty() ||
               std::find(d.sublayers.begin(), d.sublayers.end(), sublayer) != d.sublayers.end();
    };
    for (int layer : d.layers)
        for (const auto& e : layer_tensors(arch, base.spec(), layer))
            if (sublayer_ok(e.sublayer)) chosen[e.name] = e.sublayer;
    if (d.boundary)
        for (const auto& e : boundary_tensors(arch, base.spec()))
            if (base.has(e.name)) chosen[e.name] = "";

    std::vector<TensorSource> sources = passthrough_sources(base);
    for (auto& s : sources) {
        if (!chosen.count(s.name)) continue;
        const std::string name = s.name;
        const uint64_t seed = d.seed;
        const double scale = d.scale;
        s.produce = [base, name, seed, scale] {
            at::Tensor t = base.tensor(name).to(at::kFloat);
            return t + scale * from_floats(gaussian(seed, "derive:" + name, t.numel()), t.sizes().vec());
        };
    }
    ExportOptions eo;
    eo.shard_count = base.shard_count();
    eo.overwrite = true;
    export_model_folder(base, sources, dst, eo);
}

void derive_model(const fs::path& src, const fs::path& dst, uint64_t seed, const std::vector<int>& layers,
                  double scale, bool boundary) {
    DeriveOptions d;
    d.seed = seed;
    d.layers = layers;
    d.scale = scale;
    d.boundary = boundary;
    derive_model(src, dst, d);
}

}  // namespace olm::testing
