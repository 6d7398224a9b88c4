// config.json -> ModelSpec: the spellings of transformers 4.x and 5, defaults,
// rope scaling types, bos/eos as int or list, generation_config merging, and
// the error for every missing or bad key (data-driven rows).
#include "core/io/architecture.h"
#include "core/io/model_config.h"
#include "core/util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include <sys/stat.h>

#include <fstream>

using namespace olm;
using nlohmann::json;

namespace {

// A Llama-3-8B style config (transformers 4.x), as saved by save_pretrained.
json llama3_config() {
    return json::parse(R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu", "hidden_size": 4096,
  "intermediate_size": 14336, "max_position_embeddings": 131072, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 128256})");
}

// A Qwen3 config as transformers 5 writes it (rope_parameters, dtype).
json qwen3_v5_config() {
    return json::parse(R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "bos_token_id": 151643, "eos_token_id": 151645,
  "head_dim": 128, "hidden_size": 1024, "intermediate_size": 3072, "max_position_embeddings": 40960,
  "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_parameters": {"rope_theta": 1000000, "rope_type": "default"},
  "sliding_window": null, "tie_word_embeddings": true, "dtype": "bfloat16", "vocab_size": 151936})");
}

}  // namespace

class TestModelConfig : public QObject {
    Q_OBJECT
private slots:
    void llama3_transformers4();
    void qwen3_transformers5();
    void qwen2_defaults();
    void gemma2_transformers4();
    void per_layer_sliding_window();
    void granite_olmo2_and_family_defaults();
    void gemma3_both_spellings();
    void gemma3_conditional_generation();
    void rope_variants_data();
    void rope_variants();
    void generation_config_merges_ids();
    void errors_data();
    void errors();
    void deep_nesting_is_refused();
    void only_regular_files_are_read();
    void oversized_config_is_refused();
};

void TestModelConfig::llama3_transformers4() {
    const ModelSpec s = parse_model_spec(llama3_config(), "config.json");
    QCOMPARE(s.architecture, std::string("LlamaForCausalLM"));
    QCOMPARE(s.model_type, std::string("llama"));
    QCOMPARE(s.hidden_size, 4096);
    QCOMPARE(s.intermediate_size, 14336);
    QCOMPARE(s.num_hidden_layers, 32);
    QCOMPARE(s.num_attention_heads, 32);
    QCOMPARE(s.num_key_value_heads, 8);
    QCOMPARE(s.head_dim, 128);  // hidden / heads
    QCOMPARE(s.rms_norm_eps, 1e-5);
    QCOMPARE(s.rope_theta, 500000.0);
    QCOMPARE(s.rope_scaling.type, std::string("llama3"));
    QCOMPARE(s.rope_scaling.factor, 8.0);
    QCOMPARE(s.rope_scaling.low_freq_factor, 1.0);
    QCOMPARE(s.rope_scaling.high_freq_factor, 4.0);
    QCOMPARE(s.rope_scaling.original_max_position_embeddings, 8192);
    QCOMPARE(s.vocab_size, 128256);
    QCOMPARE(s.tie_word_embeddings, false);
    QCOMPARE(s.attention_bias, false);
    QCOMPARE(s.qk_norm, false);
    QCOMPARE(s.max_position_embeddings, 131072);
    QCOMPARE(s.torch_dtype, std::string("bfloat16"));
    QCOMPARE(s.bos_token_ids, std::vector<int64_t>{128000});
    QCOMPARE(s.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
}

void TestModelConfig::qwen3_transformers5() {
    const ModelSpec s = parse_model_spec(qwen3_v5_config(), "config.json");
    QCOMPARE(s.head_dim, 128);  // explicit, != hidden/heads (64)
    QCOMPARE(s.rope_theta, 1e6);
    QCOMPARE(s.rope_scaling.type, std::string());
    QCOMPARE(s.torch_dtype, std::string("bfloat16"));
    QCOMPARE(s.tie_word_embeddings, true);
    QCOMPARE(s.qk_norm, true);
    QVERIFY(!s.sliding_window.has_value());
    QCOMPARE(s.eos_token_ids, std::vector<int64_t>{151645});
}

void TestModelConfig::qwen2_defaults() {
    json c = llama3_config();
    c["architectures"] = {"Qwen2ForCausalLM"};
    c["model_type"] = "qwen2";
    c.erase("attention_bias");
    c.erase("num_key_value_heads");
    c.erase("rope_scaling");
    c.erase("rope_theta");
    c.erase("rms_norm_eps");
    c["torch_dtype"] = "torch.float16";
    const ModelSpec s = parse_model_spec(c, "config.json");
    QCOMPARE(s.attention_bias, true);     // Qwen2 always has q/k/v biases
    QCOMPARE(s.num_key_value_heads, 32);  // defaults to heads
    QCOMPARE(s.rope_theta, 10000.0);
    QCOMPARE(s.rms_norm_eps, 1e-6);
    QCOMPARE(s.torch_dtype, std::string("float16"));
}

// google/gemma-2-9b's config.json as published (transformers 4.42).
void TestModelConfig::gemma2_transformers4() {
    const json c = json::parse(R"({
  "architectures": ["Gemma2ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "attn_logit_softcapping": 50.0, "bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": 1,
  "final_logit_softcapping": 30.0, "head_dim": 256, "hidden_act": "gelu_pytorch_tanh",
  "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 3584, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 8192, "model_type": "gemma2",
  "num_attention_heads": 16, "num_hidden_layers": 42, "num_key_value_heads": 8, "pad_token_id": 0,
  "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "sliding_window": 4096,
  "sliding_window_size": 4096, "torch_dtype": "float32", "use_cache": true, "vocab_size": 256000})");
    const ModelSpec s = parse_model_spec(c, "config.json");
    QCOMPARE(s.head_dim, int64_t(256));
    QVERIFY(s.norm_layout == NormLayout::sandwich);
    QVERIFY(s.norm_plus_one);
    QCOMPARE(s.embed_scale, std::sqrt(3584.0));
    QCOMPARE(s.hidden_act, std::string("gelu_pytorch_tanh"));
    QCOMPARE(*s.attn_scale, 1.0 / 16.0);
    QCOMPARE(*s.attn_softcap, 50.0);
    QCOMPARE(*s.final_softcap, 30.0);
    QCOMPARE(*s.sliding_window, int64_t(4096));
    QCOMPARE(s.sliding_layers.size(), size_t(42));
    // transformers 4.x: is_sliding = not bool(layer_idx % 2)
    for (int l = 0; l < 42; ++l) QCOMPARE(s.layer_slides(l), l % 2 == 0);
    // Absent from this file: Gemma2Config's default, tied (the checkpoint has no lm_head).
    QVERIFY(s.tie_word_embeddings);
    // Explicit nulls switch capping off (Gemma 2 configs of transformers 5 may carry them).
    json off = c;
    off["attn_logit_softcapping"] = nullptr;
    off["final_logit_softcapping"] = nullptr;
    const ModelSpec o = parse_model_spec(off, "config.json");
    QVERIFY(!o.attn_softcap && !o.final_softcap);
    // A Llama config keeps every Gemma feature off.
    const ModelSpec l = parse_model_spec(llama3_config(), "config.json");
    QVERIFY(l.norm_layout == NormLayout::pre && !l.norm_plus_one && l.embed_scale == 1.0 && !l.attn_scale &&
            !l.attn_softcap && !l.final_softcap && l.hidden_act == "silu");
}

// transformers 5's layer_types: a window on some layers only (Qwen2's
// max_window_layers, Gemma's local/global pattern).
// Granite's four multipliers and OLMo 2's layout; keys a config leaves out take
// the family's transformers default (GraniteConfig, Olmo2Config, MistralConfig).
void TestModelConfig::granite_olmo2_and_family_defaults() {
    json g = llama3_config();
    g["architectures"] = {"GraniteForCausalLM"};
    g["model_type"] = "granite";
    g["embedding_multiplier"] = 12.0;
    g["attention_multiplier"] = 0.015625;
    g["residual_multiplier"] = 0.22;
    g["logits_scaling"] = 8.0;
    const ModelSpec gs = parse_model_spec(g, "config.json");
    QCOMPARE(gs.embedding_multiplier, 12.0);
    QCOMPARE(*gs.attn_scale, 0.015625);
    QCOMPARE(gs.residual_multiplier, 0.22);
    QCOMPARE(gs.logits_scaling, 8.0);
    QVERIFY(gs.norm_layout == NormLayout::pre);
    json g1 = g;
    for (const char* k :
         {"embedding_multiplier", "attention_multiplier", "residual_multiplier", "logits_scaling"})
        g1.erase(k);
    const ModelSpec gd = parse_model_spec(g1, "config.json");
    QVERIFY(gd.embedding_multiplier == 1.0 && gd.residual_multiplier == 1.0 && gd.logits_scaling == 1.0 &&
            !gd.attn_scale);
    g1["logits_scaling"] = 0;
    QVERIFY_THROWS_EXCEPTION(olm::Error, parse_model_spec(g1, "config.json"));
    g1.erase("logits_scaling");
    g1["mlp_bias"] = true;  // no MLP biases in the table: refused, not dropped
    try {
        parse_model_spec(g1, "config.json");
        QFAIL("mlp_bias: true was accepted");
    } catch (const olm::Error& e) {
        QVERIFY2(std::string(e.what()).find("mlp_bias") != std::string::npos, e.what());
    }

    json o = llama3_config();
    o["architectures"] = {"Olmo2ForCausalLM"};
    o["model_type"] = "olmo2";
    o.erase("rms_norm_eps");
    o.erase("rope_scaling");
    const ModelSpec os = parse_model_spec(o, "config.json");
    QVERIFY(os.norm_layout == NormLayout::post);
    QVERIFY(os.qk_norm && os.qk_norm_full && os.norm_weight_fp32);
    QCOMPARE(os.rms_norm_eps, 1e-5);
    const Architecture& oa = architecture_for(os);
    QCOMPARE(expected_shape(os, TensorRole::attn_q_norm), (std::vector<int64_t>{32 * 128}));
    QCOMPARE(expected_shape(os, TensorRole::attn_k_norm), (std::vector<int64_t>{8 * 128}));
    for (const auto& t : layer_tensors(oa, os, 0)) QVERIFY(t.role != TensorRole::input_norm);

    json m = llama3_config();
    m["architectures"] = {"MistralForCausalLM"};
    m["model_type"] = "mistral";
    const ModelSpec ms = parse_model_spec(m, "config.json");
    QCOMPARE(*ms.sliding_window, int64_t(4096));
    QVERIFY(ms.layer_slides(0) && ms.layer_slides(31));
    m["sliding_window"] = nullptr;
    QVERIFY(!parse_model_spec(m, "config.json").sliding_window);
}

// Gemma 3 text: transformers 4 (rope_theta + rope_local_base_freq +
// sliding_window_pattern) and 5 (rope_parameters and layer_types per layer type).
void TestModelConfig::gemma3_both_spellings() {
    const json v4 = json::parse(R"({
  "architectures": ["Gemma3ForCausalLM"], "attention_bias": false, "attn_logit_softcapping": null,
  "bos_token_id": 2, "eos_token_id": [1, 106], "final_logit_softcapping": null, "head_dim": 256,
  "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 1152, "intermediate_size": 6912,
  "max_position_embeddings": 32768, "model_type": "gemma3_text", "num_attention_heads": 4,
  "num_hidden_layers": 26, "num_key_value_heads": 1, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06,
  "rope_local_base_freq": 10000, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": 512,
  "sliding_window_pattern": 6, "torch_dtype": "bfloat16", "vocab_size": 262144})");
    const ModelSpec s = parse_model_spec(v4, "config.json");
    QVERIFY(s.norm_layout == NormLayout::sandwich && s.norm_plus_one && s.qk_norm && !s.qk_norm_full);
    QVERIFY(!s.attn_softcap && !s.final_softcap);
    QVERIFY(s.tie_word_embeddings);  // Gemma3TextConfig's default
    QCOMPARE(s.rope_theta, 1e6);
    QCOMPARE(*s.rope_local_theta, 1e4);
    QCOMPARE(*s.sliding_window, int64_t(512));
    for (int l = 0; l < 26; ++l) {
        QCOMPARE(s.layer_slides(l), (l + 1) % 6 != 0);
        QCOMPARE(s.layer_has_local_rope(l), (l + 1) % 6 != 0);
    }
    json v5 = v4;
    for (const char* k : {"rope_local_base_freq", "rope_scaling", "rope_theta", "sliding_window_pattern"})
        v5.erase(k);
    v5["rope_parameters"] = {
        {"full_attention", {{"rope_type", "linear"}, {"factor", 8.0}, {"rope_theta", 1000000.0}}},
        {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}}};
    json types = json::array();
    for (int l = 0; l < 26; ++l) types.push_back((l + 1) % 6 ? "sliding_attention" : "full_attention");
    v5["layer_types"] = types;
    const ModelSpec t = parse_model_spec(v5, "config.json");
    QCOMPARE(t.rope_theta, 1e6);
    QCOMPARE(t.rope_scaling.type, std::string("linear"));
    QCOMPARE(t.rope_scaling.factor, 8.0);
    QCOMPARE(*t.rope_local_theta, 1e4);
    QVERIFY(t.rope_local_scaling.type.empty());
    for (int l = 0; l < 26; ++l) QCOMPARE(t.layer_slides(l), s.layer_slides(l));
}

// google/gemma-3-4b-it's config.json (transformers 4.50): the text config names
// only what differs from Gemma3TextConfig's defaults.
void TestModelConfig::gemma3_conditional_generation() {
    const json c = json::parse(R"({
  "architectures": ["Gemma3ForConditionalGeneration"], "boi_token_index": 255999, "eoi_token_index": 256000,
  "eos_token_id": [1, 106], "image_token_index": 262144, "initializer_range": 0.02,
  "mm_tokens_per_image": 256, "model_type": "gemma3",
  "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
                  "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                  "sliding_window": 1024},
  "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0",
  "vision_config": {"hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
                    "model_type": "siglip_vision_model", "num_attention_heads": 16, "num_hidden_layers": 27,
                    "patch_size": 14, "vision_use_head": false}})");
    const ModelSpec s = parse_model_spec(c, "config.json");
    QCOMPARE(s.architecture, std::string("Gemma3ForConditionalGeneration"));
    QCOMPARE(s.model_type, std::string("gemma3"));
    // Gemma3TextConfig's defaults fill what the text config leaves out.
    QCOMPARE(s.vocab_size, int64_t(262208));
    QCOMPARE(s.num_attention_heads, int64_t(8));
    QCOMPARE(s.num_key_value_heads, int64_t(4));
    QCOMPARE(s.head_dim, int64_t(256));
    QCOMPARE(*s.attn_scale, 1.0 / 16.0);  // query_pre_attn_scalar 256
    QCOMPARE(s.hidden_size, int64_t(2560));
    QCOMPARE(s.num_hidden_layers, int64_t(34));
    QCOMPARE(s.embed_scale, std::sqrt(2560.0));
    QVERIFY(s.norm_layout == NormLayout::sandwich && s.norm_plus_one && s.qk_norm);
    QVERIFY(s.tie_word_embeddings);
    QCOMPARE(s.rope_theta, 1e6);
    QCOMPARE(s.rope_scaling.type, std::string("linear"));
    QCOMPARE(s.rope_scaling.factor, 8.0);
    QCOMPARE(*s.rope_local_theta, 1e4);
    QCOMPARE(*s.sliding_window, int64_t(1024));
    int sliding = 0;
    for (int l = 0; l < 34; ++l) sliding += s.layer_slides(l);
    QCOMPARE(sliding, 29);  // every 6th layer is global
    // The wrapper's keys reach the text model: dtype and end-of-turn ids.
    QCOMPARE(s.torch_dtype, std::string("bfloat16"));
    QCOMPARE(s.eos_token_ids, (std::vector<int64_t>{1, 106}));
    QVERIFY(!s.attn_softcap && !s.final_softcap);
    // Gemma3ForConditionalGeneration does not cap the logits, whatever the text config says.
    json capped = c;
    capped["text_config"]["final_logit_softcapping"] = 30.0;
    QVERIFY(!parse_model_spec(capped, "config.json").final_softcap);
    // The tensors are the language model's under language_model., the vision
    // tower and projector are carried.
    const Architecture& a = architecture_for(s);
    QCOMPARE(tensor_name(a, TensorRole::attn_q, 3),
             std::string("language_model.model.layers.3.self_attn.q_proj.weight"));
    QCOMPARE(tensor_name(a, TensorRole::embed_tokens),
             std::string("language_model.model.embed_tokens.weight"));
    QCOMPARE(layer_of(a, "language_model.model.layers.12.mlp.up_proj.weight"), 12);
    QCOMPARE(layer_of(a, "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight"), -1);
    QVERIFY(carried_part(a, "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight"));
    QVERIFY(carried_part(a, "multi_modal_projector.mm_input_projection_weight"));
    QVERIFY(!carried_part(a, "language_model.model.norm.weight"));
    // Without its text config the error names the key.
    json bare = c;
    bare.erase("text_config");
    try {
        parse_model_spec(bare, "config.json");
        QFAIL("a Gemma3ForConditionalGeneration config without text_config was accepted");
    } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("'text_config'") != std::string::npos, e.what());
    }
}

void TestModelConfig::per_layer_sliding_window() {
    json c = llama3_config();
    c["num_hidden_layers"] = 4;
    c["sliding_window"] = 128;
    c["layer_types"] = {"full_attention", "full_attention", "sliding_attention", "sliding_attention"};
    const ModelSpec s = parse_model_spec(c, "config.json");
    QCOMPARE(s.layer_slides(0), false);
    QCOMPARE(s.layer_slides(1), false);
    QCOMPARE(s.layer_slides(2), true);
    QCOMPARE(s.layer_slides(3), true);
    c["layer_types"] = {"full_attention", "full_attention", "full_attention", "full_attention"};
    const ModelSpec none = parse_model_spec(c, "config.json");
    QVERIFY(!none.sliding_window);
    for (int l = 0; l < 4; ++l) QVERIFY(!none.layer_slides(l));
    c.erase("layer_types");
    const ModelSpec all = parse_model_spec(c, "config.json");
    for (int l = 0; l < 4; ++l) QVERIFY(all.layer_slides(l));
}

void TestModelConfig::rope_variants_data() {
    QTest::addColumn<QString>("scaling");  // JSON text
    QTest::addColumn<bool>("v5");
    QTest::addColumn<QString>("type");
    QTest::addColumn<double>("factor");
    QTest::newRow("linear with 'type' (4.x)")
        << R"({"type":"linear","factor":4.0})" << false << "linear" << 4.0;
    QTest::newRow("linear with 'rope_type'")
        << R"({"rope_type":"linear","factor":2.0})" << false << "linear" << 2.0;
    QTest::newRow("null") << "null" << false << "" << 1.0;
    QTest::newRow("default type") << R"({"rope_type":"default"})" << false << "" << 1.0;
    QTest::newRow("v5 linear in rope_parameters")
        << R"({"rope_type":"linear","factor":3.0,"rope_theta":77.0})" << true << "linear" << 3.0;
}

void TestModelConfig::rope_variants() {
    QFETCH(QString, scaling);
    QFETCH(bool, v5);
    QFETCH(QString, type);
    QFETCH(double, factor);
    json c = llama3_config();
    c.erase("rope_scaling");
    c[v5 ? "rope_parameters" : "rope_scaling"] = json::parse(scaling.toStdString());
    const ModelSpec s = parse_model_spec(c, "config.json");
    QCOMPARE(QString::fromStdString(s.rope_scaling.type), type);
    QCOMPARE(s.rope_scaling.factor, factor);
    if (v5) QCOMPARE(s.rope_theta, 77.0);
}

void TestModelConfig::generation_config_merges_ids() {
    QTemporaryDir tmp;
    const std::filesystem::path dir = tmp.path().toStdString();
    json c = llama3_config();
    c["eos_token_id"] = 128001;
    std::ofstream(dir / "config.json") << c.dump();
    std::ofstream(dir / "generation_config.json")
        << R"({"bos_token_id":128000,"eos_token_id":[128001,128009]})";
    const ModelSpec s = load_model_spec(dir);
    QCOMPARE(s.eos_token_ids, (std::vector<int64_t>{128001, 128009}));
    QCOMPARE(s.bos_token_ids, std::vector<int64_t>{128000});
}

void TestModelConfig::errors_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("value");  // JSON, or "-" to delete the key
    QTest::addColumn<QString>("expected");
    QTest::newRow("no architectures") << "architectures"
                                      << "-"
                                      << "missing required key 'architectures'";
    QTest::newRow("no model_type") << "model_type"
                                   << "-"
                                   << "missing required key 'model_type'";
    QTest::newRow("no hidden_size") << "hidden_size"
                                    << "-"
                                    << "missing required key 'hidden_size'";
    QTest::newRow("no intermediate_size") << "intermediate_size"
                                          << "-"
                                          << "missing required key 'intermediate_size'";
    QTest::newRow("no num_hidden_layers") << "num_hidden_layers"
                                          << "-"
                                          << "missing required key 'num_hidden_layers'";
    QTest::newRow("no num_attention_heads") << "num_attention_heads"
                                            << "-"
                                            << "missing required key 'num_attention_heads'";
    QTest::newRow("no vocab_size") << "vocab_size"
                                   << "-"
                                   << "missing required key 'vocab_size'";
    QTest::newRow("string hidden_size") << "hidden_size"
                                        << "\"4096\""
                                        << "key 'hidden_size' should be an integer";
    QTest::newRow("zero layers") << "num_hidden_layers"
                                 << "0"
                                 << "key 'num_hidden_layers' must be positive";
    QTest::newRow("kv heads not dividing") << "num_key_value_heads"
                                           << "5"
                                           << "must be a positive multiple of num_key_value_heads (5)";
    QTest::newRow("unknown rope type")
        << "rope_scaling"
        << R"({"rope_type":"yarn","factor":4})"
        << "rope_scaling: unsupported type 'yarn' (supported: linear, llama3, longrope)";
    QTest::newRow("linear without factor") << "rope_scaling"
                                           << R"({"type":"linear"})"
                                           << "type 'linear' needs 'factor'";
    QTest::newRow("llama3 incomplete") << "rope_scaling"
                                       << R"({"rope_type":"llama3","factor":8})"
                                       << "type 'llama3' needs low_freq_factor";
    QTest::newRow("eos not int") << "eos_token_id"
                                 << R"(["x"])"
                                 << "key 'eos_token_id' should be an integer or a list";
    QTest::newRow("odd head_dim") << "head_dim"
                                  << "7"
                                  << "head_dim must be positive and even";
    // Bounds: a hostile value is refused before it sizes anything.
    QTest::newRow("1e8 layers")
        << "num_hidden_layers"
        << "100000000"
        << "key 'num_hidden_layers' is 100000000, above the supported maximum of 4096";
    QTest::newRow("1e300 layers") << "num_hidden_layers"
                                  << "1e300"
                                  << "key 'num_hidden_layers' is out of range";
    QTest::newRow("2^64-1 hidden") << "hidden_size"
                                   << "18446744073709551615"
                                   << "key 'hidden_size' is out of range, found 18446744073709551615";
    QTest::newRow("huge intermediate")
        << "intermediate_size"
        << "1099511627776"
        << "key 'intermediate_size' is 1099511627776, above the supported maximum";
    QTest::newRow("huge vocab") << "vocab_size"
                                << "33554432"
                                << "key 'vocab_size' is 33554432, above the supported maximum of 4194304";
    QTest::newRow("huge heads") << "num_attention_heads"
                                << "65536"
                                << "key 'num_attention_heads' is 65536, above the supported maximum of 4096";
    QTest::newRow("zero kv heads") << "num_key_value_heads"
                                   << "0"
                                   << "key 'num_key_value_heads' must be positive, found 0";
    QTest::newRow("huge head_dim") << "head_dim"
                                   << "1048576"
                                   << "key 'head_dim' is 1048576, above the supported maximum of 8192";
    QTest::newRow("negative positions") << "max_position_embeddings"
                                        << "-1"
                                        << "key 'max_position_embeddings' is -1, outside [0, 1073741824]";
    QTest::newRow("zero rope_theta") << "rope_theta"
                                     << "0"
                                     << "key 'rope_theta' must be a positive number, found 0";
    QTest::newRow("negative rope_theta") << "rope_theta"
                                         << "-10000"
                                         << "key 'rope_theta' must be a positive number, found -10000";
    QTest::newRow("zero rope_theta (v5)") << "rope_parameters"
                                          << R"({"rope_type":"default","rope_theta":0})"
                                          << "key 'rope_theta' must be a positive number, found 0";
    QTest::newRow("negative eps") << "rms_norm_eps"
                                  << "-1e-06"
                                  << "key 'rms_norm_eps' must be a positive number, found -1e-06";
    QTest::newRow("zero eps") << "rms_norm_eps"
                              << "0"
                              << "key 'rms_norm_eps' must be a positive number, found 0";
    QTest::newRow("eps above 1") << "rms_norm_eps"
                                 << "2.5"
                                 << "key 'rms_norm_eps' must be below 1";
    QTest::newRow("negative rope factor") << "rope_scaling"
                                          << R"({"rope_type":"linear","factor":-2})"
                                          << "factor must be positive, found -2";
    QTest::newRow("zero sliding_window") << "sliding_window"
                                         << "0"
                                         << "sliding_window must be positive, found 0";
    QTest::newRow("layer_types count") << "layer_types"
                                       << R"(["sliding_attention", "full_attention"])"
                                       << "layer_types has 2 entries for 32 layers";
    QTest::newRow("sliding layer without a window")
        << "layer_types"
        << R"(["sliding_attention")" + QString(R"(, "full_attention")").repeated(31) + "]"
        << "layer_types names sliding_attention layers but sliding_window is not set";
    QTest::newRow("unknown activation") << "hidden_act"
                                        << R"("relu2")"
                                        << "hidden_act 'relu2' is not supported";
}

void TestModelConfig::errors() {
    QFETCH(QString, key);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    json c = llama3_config();
    if (value == "-")
        c.erase(key.toStdString());
    else
        c[key.toStdString()] = json::parse(value.toStdString());
    std::string err;
    try {
        parse_model_spec(c, "/m/config.json");
    } catch (const Error& e) {
        err = e.what();
    }
    QVERIFY2(err.find(expected.toStdString()) != std::string::npos, err.c_str());
    QVERIFY2(err.rfind("/m/config.json: ", 0) == 0, err.c_str());
}

// 100,000 levels of nesting once overflowed the stack (segfault); every JSON
// file is now pre-scanned and refused past max_json_depth, naming the file.
void TestModelConfig::deep_nesting_is_refused() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    json c = llama3_config();
    std::string text = c.dump();
    text.insert(text.size() - 1, ", \"x\": " + std::string(100000, '[') + std::string(100000, ']'));
    std::ofstream(folder / "config.json") << text;
    std::string err;
    try {
        load_model_spec(folder);
    } catch (const Error& e) {
        err = e.what();
    }
    const std::string want =
        (folder / "config.json").string() + ": JSON nested deeper than 256 levels (at byte ";
    QVERIFY2(err.rfind(want, 0) == 0, err.c_str());
    QVERIFY2(err.find("); refused") != std::string::npos, err.c_str());

    // generation_config.json goes through the same reader.
    std::ofstream(folder / "config.json", std::ios::trunc) << c.dump();
    std::ofstream(folder / "generation_config.json") << std::string(300, '[') + std::string(300, ']');
    err.clear();
    try {
        load_model_spec(folder);
    } catch (const Error& e) {
        err = e.what();
    }
    QVERIFY2(err.rfind((folder / "generation_config.json").string() + ": JSON nested deeper than 256 levels",
                       0) == 0,
             err.c_str());

    // 256 levels are still fine: the bound is exact, not a guess.
    QVERIFY(json_depth_violation(std::string(256, '[') + std::string(256, ']')) == std::string_view::npos);
    QCOMPARE(json_depth_violation(std::string(257, '[') + std::string(257, ']')), size_t(256));
    // Brackets inside strings (and escaped quotes) do not count.
    QVERIFY(json_depth_violation("[\"" + std::string(1000, '[') + "\\\"\"]") == std::string_view::npos);
}

// A FIFO as config.json once hung, /dev/zero grew memory until bad_alloc:
// stat refuses anything but a regular file before it is opened.
void TestModelConfig::only_regular_files_are_read() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    const auto cfg = folder / "config.json";
    QCOMPARE(::mkfifo(cfg.c_str(), 0600), 0);
    std::string err;
    try {
        load_model_spec(folder);
    } catch (const Error& e) {
        err = e.what();
    }
    QCOMPARE(err, cfg.string() + ": a FIFO (named pipe), not a regular file; refused");

    std::filesystem::remove(cfg);
    std::filesystem::create_symlink("/dev/zero", cfg);
    err.clear();
    try {
        load_model_spec(folder);
    } catch (const Error& e) {
        err = e.what();
    }
    QCOMPARE(err, cfg.string() + ": a character device, not a regular file; refused");
}

void TestModelConfig::oversized_config_is_refused() {
    QTemporaryDir dir;
    const std::filesystem::path cfg = std::filesystem::path(dir.path().toStdString()) / "config.json";
    {
        std::ofstream out(cfg);
        out << "{\"pad\": \"";
    }
    std::filesystem::resize_file(cfg, max_small_json_bytes + 1);  // sparse: no disk used
    std::string err;
    try {
        read_json_file(cfg);
    } catch (const Error& e) {
        err = e.what();
    }
    QCOMPARE(err, cfg.string() + ": " + std::to_string(max_small_json_bytes + 1) +
                      " bytes is larger than the limit of 64 MiB for this file; refused");
}

QTEST_GUILESS_MAIN(TestModelConfig)
#include "test_model_config.moc"
