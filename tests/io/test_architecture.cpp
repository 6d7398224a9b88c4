// The architecture table: names built by the one helper match the names
// Hugging Face checkpoints use (written out literally here), optional tensors
// follow the config, sublayers group a layer's tensors, every tensor's unit is
// its transformers module path, a family's second layout reads the same
// tensors under its own names, unknown architectures list
// the supported ones. Adding an architecture = one table entry + one row here.
#include "core/io/architecture.h"
#include "core/io/model_config.h"
#include "core/util/error.h"

#include <QtTest>

#include <algorithm>
#include <fstream>

#include <set>

using namespace olm;

namespace {

ModelSpec spec_for(const std::string& arch, bool bias, bool qk_norm, bool tied) {
    ModelSpec s;
    s.architecture = arch;
    s.hidden_size = 64;
    s.intermediate_size = 96;
    s.num_hidden_layers = 2;
    s.num_attention_heads = 4;
    s.num_key_value_heads = 2;
    s.head_dim = 32;  // heads*head_dim (128) != hidden (64), as in Qwen3
    s.vocab_size = 100;
    s.attention_bias = bias;
    s.qk_norm = qk_norm;
    s.tie_word_embeddings = tied;
    return s;
}

}  // namespace

class TestArchitecture : public QObject {
    Q_OBJECT
private slots:
    void layer_names_data();
    void layer_names();
    void boundary_and_tying();
    void shapes();
    void sublayers();
    void units_are_module_paths();
    void layouts();
    void layer_of_parses_names();
    void unknown_architecture();
    void readme_lists_the_table();
    void routed_experts();
};

void TestArchitecture::layer_names_data() {
    QTest::addColumn<QString>("arch");
    QTest::addColumn<bool>("bias");
    QTest::addColumn<bool>("qk_norm");
    QTest::addColumn<QStringList>("extra");  // beyond the 9 tensors every layer has
    QTest::newRow("llama") << "LlamaForCausalLM" << false << false << QStringList{};
    QTest::newRow("llama attention_bias") << "LlamaForCausalLM" << true << false
                                          << QStringList{"self_attn.q_proj.bias", "self_attn.k_proj.bias",
                                                         "self_attn.v_proj.bias", "self_attn.o_proj.bias"};
    QTest::newRow("mistral") << "MistralForCausalLM" << false << false << QStringList{};
    QTest::newRow("qwen2") << "Qwen2ForCausalLM" << true << false
                           << QStringList{"self_attn.q_proj.bias", "self_attn.k_proj.bias",
                                          "self_attn.v_proj.bias"};
    QTest::newRow("qwen3") << "Qwen3ForCausalLM" << false << true
                           << QStringList{"self_attn.q_norm.weight", "self_attn.k_norm.weight"};
    QTest::newRow("gemma2") << "Gemma2ForCausalLM" << false << false
                            << QStringList{"pre_feedforward_layernorm.weight",
                                           "post_feedforward_layernorm.weight"};
}

void TestArchitecture::layer_names() {
    QFETCH(QString, arch);
    QFETCH(bool, bias);
    QFETCH(bool, qk_norm);
    QFETCH(QStringList, extra);
    const ModelSpec s = spec_for(arch.toStdString(), bias, qk_norm, false);
    const Architecture& a = architecture_for(s);
    std::set<std::string> expected;
    for (const char* n :
         {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
          "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
          "input_layernorm.weight", "post_attention_layernorm.weight"})
        expected.insert(std::string("model.layers.1.") + n);
    for (const auto& e : extra) expected.insert("model.layers.1." + e.toStdString());
    std::set<std::string> got;
    for (const auto& t : layer_tensors(a, s, 1)) {
        got.insert(t.name);
        QVERIFY(t.required);
    }
    QCOMPARE(got, expected);
    QCOMPARE(tensor_name(a, TensorRole::attn_q, 1), std::string("model.layers.1.self_attn.q_proj.weight"));
    QCOMPARE(tensor_name(a, TensorRole::mlp_down, 17), std::string("model.layers.17.mlp.down_proj.weight"));
}

void TestArchitecture::boundary_and_tying() {
    const Architecture& a = architecture_named("LlamaForCausalLM");
    QCOMPARE(tensor_name(a, TensorRole::embed_tokens), std::string("model.embed_tokens.weight"));
    QCOMPARE(tensor_name(a, TensorRole::final_norm), std::string("model.norm.weight"));
    QCOMPARE(tensor_name(a, TensorRole::lm_head), std::string("lm_head.weight"));
    auto untied = boundary_tensors(a, spec_for("LlamaForCausalLM", false, false, false));
    auto tied = boundary_tensors(a, spec_for("LlamaForCausalLM", false, false, true));
    QCOMPARE(untied.size(), size_t(3));
    QCOMPARE(tied.size(), size_t(3));
    QVERIFY(untied[2].required);
    QVERIFY(!tied[2].required);  // a tied checkpoint may omit lm_head
    QVERIFY_EXCEPTION_THROWN(tensor_name(a, TensorRole::attn_q), Error);      // needs a layer
    QVERIFY_EXCEPTION_THROWN(tensor_name(a, TensorRole::lm_head, 0), Error);  // not a layer tensor
    QVERIFY_EXCEPTION_THROWN(layer_tensors(a, spec_for("LlamaForCausalLM", 0, 0, 0), 2), Error);  // 2 layers
    const Architecture& q2 = architecture_named("Qwen2ForCausalLM");
    QVERIFY_EXCEPTION_THROWN(tensor_name(q2, TensorRole::attn_o_bias, 0), Error);  // Qwen2 has none
}

void TestArchitecture::shapes() {
    const ModelSpec s = spec_for("Qwen3ForCausalLM", true, true, false);
    QCOMPARE(expected_shape(s, TensorRole::attn_q), (std::vector<int64_t>{128, 64}));
    QCOMPARE(expected_shape(s, TensorRole::attn_k), (std::vector<int64_t>{64, 64}));
    QCOMPARE(expected_shape(s, TensorRole::attn_v), (std::vector<int64_t>{64, 64}));
    QCOMPARE(expected_shape(s, TensorRole::attn_o), (std::vector<int64_t>{64, 128}));
    QCOMPARE(expected_shape(s, TensorRole::attn_q_bias), std::vector<int64_t>{128});
    QCOMPARE(expected_shape(s, TensorRole::attn_k_bias), std::vector<int64_t>{64});
    QCOMPARE(expected_shape(s, TensorRole::attn_o_bias), std::vector<int64_t>{64});
    QCOMPARE(expected_shape(s, TensorRole::attn_q_norm), std::vector<int64_t>{32});
    QCOMPARE(expected_shape(s, TensorRole::mlp_gate), (std::vector<int64_t>{96, 64}));
    QCOMPARE(expected_shape(s, TensorRole::mlp_up), (std::vector<int64_t>{96, 64}));
    QCOMPARE(expected_shape(s, TensorRole::mlp_down), (std::vector<int64_t>{64, 96}));
    QCOMPARE(expected_shape(s, TensorRole::embed_tokens), (std::vector<int64_t>{100, 64}));
    QCOMPARE(expected_shape(s, TensorRole::input_norm), std::vector<int64_t>{64});
}

void TestArchitecture::sublayers() {
    const ModelSpec s = spec_for("Qwen3ForCausalLM", false, true, false);
    const Architecture& a = architecture_for(s);
    QCOMPARE(a.sublayers, (std::vector<std::string>{"attention", "mlp", "norms"}));
    auto names = [&](const std::string& sublayer) {
        std::vector<std::string> n;
        for (const auto& t : sublayer_tensors(a, s, 0, sublayer)) n.push_back(t.name);
        return n;
    };
    QCOMPARE(names("attention"),
             (std::vector<std::string>{
                 "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                 "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
                 "model.layers.0.self_attn.q_norm.weight", "model.layers.0.self_attn.k_norm.weight"}));
    QCOMPARE(names("mlp"), (std::vector<std::string>{"model.layers.0.mlp.gate_proj.weight",
                                                     "model.layers.0.mlp.up_proj.weight",
                                                     "model.layers.0.mlp.down_proj.weight"}));
    QCOMPARE(names("norms"), (std::vector<std::string>{"model.layers.0.input_layernorm.weight",
                                                       "model.layers.0.post_attention_layernorm.weight"}));
    // Sublayers partition the layer.
    QCOMPARE(names("attention").size() + names("mlp").size() + names("norms").size(),
             layer_tensors(a, s, 0).size());
    QVERIFY_EXCEPTION_THROWN(sublayer_tensors(a, s, 0, "experts"), Error);
    QCOMPARE(all_tensors(a, s).size(), size_t(3 + 2 * 11));
}

// A tensor's unit is the module that holds it, as transformers names modules:
// the checkpoint name is <root>layers.<L>.<unit>.weight|bias (boundary:
// <root><unit>.weight). The one exception is Mixtral, whose checkpoints keep the
// block_sparse_moe. names of transformers 4 while transformers 5's module is mlp.
void TestArchitecture::units_are_module_paths() {
    for (const Architecture& a : architectures()) {
        ModelSpec s = spec_for(a.name, true, true, false);
        s.qk_norm_full = false;
        if (a.name == "MixtralForCausalLM" || a.name == "Qwen3MoeForCausalLM") {
            s.num_experts = 2;
            s.num_experts_per_tok = 1;
            s.moe_intermediate_size = 48;
        }
        for (const ExpectedTensor& t : all_tensors(a, s)) {
            std::string unit = t.unit;
            if (a.name == "MixtralForCausalLM") {
                const std::string m = "mlp.";
                if (unit.compare(0, m.size(), m) == 0) unit = "block_sparse_moe." + unit.substr(m.size());
                for (const auto& [role, w] : {std::pair{TensorRole::expert_gate, "w1"},
                                              {TensorRole::expert_up, "w3"},
                                              {TensorRole::expert_down, "w2"}})
                    if (t.role == role) unit += std::string(".") + w;
            } else if (is_expert_role(t.role)) {
                unit += t.role == TensorRole::expert_gate ? ".gate_proj"
                        : t.role == TensorRole::expert_up ? ".up_proj"
                                                          : ".down_proj";
            }
            const std::string where = t.expert >= 0 || is_layer_role(t.role)
                                          ? "layers." + std::to_string(layer_of(a, t.name)) + "." + unit
                                          : unit;
            const bool w =
                t.name.size() >= where.size() + 7 &&
                t.name.compare(t.name.size() - where.size() - 7, where.size() + 7, where + ".weight") == 0;
            const bool b =
                t.name.size() >= where.size() + 5 &&
                t.name.compare(t.name.size() - where.size() - 5, where.size() + 5, where + ".bias") == 0;
            QVERIFY2(w || b, (a.name + ": " + t.name + " is not in unit " + t.unit).c_str());
        }
    }
    QCOMPARE(unit_name(TensorRole::attn_q_bias), std::string("self_attn.q_proj"));
    QCOMPARE(unit_name(TensorRole::final_norm), std::string("norm"));
    QCOMPARE(unit_name(TensorRole::expert_up, 3), std::string("mlp.experts.3"));
    QVERIFY_EXCEPTION_THROWN(unit_name(TensorRole::expert_up), Error);
    QCOMPARE(unit_expert("mlp.experts.12"), 12);
    QCOMPARE(unit_expert("mlp.experts."), -1);
    QCOMPARE(unit_expert("mlp.gate"), -1);
}

// Gemma 3 fine-tunes ship in two layouts: the Hub's (language_model.model.*,
// which transformers 5 writes) and the state dict's (model.language_model.*).
// A folder gets the layout whose embed_tokens it holds; names translate between
// the two.
void TestArchitecture::layouts() {
    const auto ls = layouts_of("Gemma3ForConditionalGeneration");
    QCOMPARE(ls.size(), size_t(2));
    const Architecture& hub = *ls[0];
    const Architecture& mem = *ls[1];
    QVERIFY(&hub == &architecture_named("Gemma3ForConditionalGeneration"));
    QVERIFY(hub.layout.empty() && !mem.layout.empty());
    QVERIFY(hub.mergekit_names && !mem.mergekit_names);
    QCOMPARE(layouts_of("LlamaForCausalLM").size(), size_t(1));
    for (const auto& a : architectures()) QVERIFY(a.layout.empty());  // architectures() lists families once

    QCOMPARE(tensor_name(hub, TensorRole::embed_tokens),
             std::string("language_model.model.embed_tokens.weight"));
    QCOMPARE(tensor_name(mem, TensorRole::embed_tokens),
             std::string("model.language_model.embed_tokens.weight"));
    QCOMPARE(tensor_name(hub, TensorRole::lm_head), std::string("language_model.lm_head.weight"));
    QCOMPARE(tensor_name(mem, TensorRole::lm_head), std::string("lm_head.weight"));
    QCOMPARE(tensor_name(mem, TensorRole::pre_feedforward_norm, 4),
             std::string("model.language_model.layers.4.pre_feedforward_layernorm.weight"));
    QCOMPARE(name_in_layout(hub, "model.language_model.layers.4.self_attn.q_norm.weight"),
             std::string("language_model.model.layers.4.self_attn.q_norm.weight"));
    QCOMPARE(name_in_layout(mem, "language_model.model.norm.weight"),
             std::string("model.language_model.norm.weight"));
    QCOMPARE(name_in_layout(mem, "model.language_model.norm.weight"),
             std::string("model.language_model.norm.weight"));
    QCOMPARE(name_in_layout(hub, "model.vision_tower.vision_model.post_layernorm.weight"),
             std::string("vision_tower.vision_model.post_layernorm.weight"));
    QCOMPARE(name_in_layout(mem, "multi_modal_projector.mm_input_projection_weight"),
             std::string("model.multi_modal_projector.mm_input_projection_weight"));
    QCOMPARE(name_in_layout(hub, "unknown.tensor"), std::string("unknown.tensor"));
    QVERIFY(carried_part(mem, "model.vision_tower.vision_model.post_layernorm.weight"));
    QVERIFY(!carried_part(mem, "vision_tower.vision_model.post_layernorm.weight"));

    ModelSpec s = spec_for("Gemma3ForConditionalGeneration", false, true, true);
    auto holds = [](std::set<std::string> names) {
        return [names](const std::string& n) { return names.count(n) > 0; };
    };
    QVERIFY(&architecture_for(s, holds({"model.language_model.embed_tokens.weight"})) == &mem);
    QVERIFY(&architecture_for(s, holds({"language_model.model.embed_tokens.weight"})) == &hub);
    QVERIFY(&architecture_for(s, holds({})) == &hub);
    // The two layouts list the same tensors in the same order.
    const auto th = all_tensors(hub, s), tm = all_tensors(mem, s);
    QCOMPARE(th.size(), tm.size());
    for (size_t i = 0; i < th.size(); ++i) {
        QCOMPARE(name_in_layout(mem, th[i].name), tm[i].name);
        QCOMPARE(th[i].unit, tm[i].unit);
    }
}

void TestArchitecture::layer_of_parses_names() {
    const Architecture& a = architecture_named("MistralForCausalLM");
    QCOMPARE(layer_of(a, "model.layers.12.mlp.up_proj.weight"), 12);
    QCOMPARE(layer_of(a, "model.layers.0.input_layernorm.weight"), 0);
    QCOMPARE(layer_of(a, "model.norm.weight"), -1);
    QCOMPARE(layer_of(a, "model.layers.x.mlp.up_proj.weight"), -1);
    QCOMPARE(layer_of(a, "model.layers..mlp.up_proj.weight"), -1);
}

void TestArchitecture::unknown_architecture() {
    std::string err;
    try {
        architecture_named("GPTNeoXForCausalLM");
    } catch (const Error& e) {
        err = e.what();
    }
    QCOMPARE(err,
             std::string("unsupported architecture 'GPTNeoXForCausalLM' (supported: LlamaForCausalLM, "
                         "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma2ForCausalLM, "
                         "Gemma3ForCausalLM, Gemma3ForConditionalGeneration, Phi3ForCausalLM, "
                         "GraniteForCausalLM, Olmo2ForCausalLM, MixtralForCausalLM, Qwen3MoeForCausalLM)"));
}

// Mixtral's and Qwen3-MoE's expert tensors as their Hub checkpoints name them
// (mistralai/Mixtral-8x7B-v0.1, Qwen/Qwen3-30B-A3B), from their config keys;
// Qwen3-MoE's mlp_only_layers keep the dense MLP.
void TestArchitecture::routed_experts() {
    nlohmann::json c = {{"architectures", {"MixtralForCausalLM"}},
                        {"model_type", "mixtral"},
                        {"hidden_size", 64},
                        {"intermediate_size", 96},
                        {"num_hidden_layers", 2},
                        {"num_attention_heads", 4},
                        {"num_key_value_heads", 2},
                        {"vocab_size", 100},
                        {"num_local_experts", 8},
                        {"num_experts_per_tok", 2}};
    const ModelSpec m = parse_model_spec(c, "mixtral");
    QCOMPARE(m.num_experts, int64_t(8));
    QCOMPARE(m.moe_intermediate_size, int64_t(96));
    QVERIFY(m.norm_topk_prob && m.router_weights_fp32);
    QCOMPARE(m.rope_theta, 1e6);  // MixtralConfig's default
    QCOMPARE(m.rms_norm_eps, 1e-5);
    const Architecture& mx = architecture_for(m);
    std::vector<std::string> names;
    for (const auto& t : layer_tensors(mx, m, 1)) names.push_back(t.name);
    QCOMPARE(names.size(), size_t(6 + 1 + 3 * 8));
    // transformers' parameter order (MixtralDecoderLayer): attention, the sparse
    // block (router, then the experts, expert by expert), the norms.
    QCOMPARE(names[3], std::string("model.layers.1.self_attn.o_proj.weight"));
    QCOMPARE(names[4], std::string("model.layers.1.block_sparse_moe.gate.weight"));
    QCOMPARE(names[5], std::string("model.layers.1.block_sparse_moe.experts.0.w1.weight"));
    QCOMPARE(names[6], std::string("model.layers.1.block_sparse_moe.experts.0.w3.weight"));
    QCOMPARE(names[7], std::string("model.layers.1.block_sparse_moe.experts.0.w2.weight"));
    QCOMPARE(names[names.size() - 3], std::string("model.layers.1.block_sparse_moe.experts.7.w2.weight"));
    QCOMPARE(names[names.size() - 2], std::string("model.layers.1.input_layernorm.weight"));
    QCOMPARE(names.back(), std::string("model.layers.1.post_attention_layernorm.weight"));
    QCOMPARE(tensor_name(mx, TensorRole::expert_down, 3, 5),
             std::string("model.layers.3.block_sparse_moe.experts.5.w2.weight"));
    QVERIFY_EXCEPTION_THROWN(tensor_name(mx, TensorRole::expert_down, 3), Error);
    QCOMPARE(expected_shape(m, TensorRole::moe_router), (std::vector<int64_t>{8, 64}));
    QCOMPARE(expected_shape(m, TensorRole::expert_down), (std::vector<int64_t>{64, 96}));
    QCOMPARE(layer_of(mx, "model.layers.12.block_sparse_moe.experts.7.w1.weight"), 12);
    QCOMPARE(layer_of(mx, "model.layers.12.block_sparse_moe.experts.x.w1.weight"), -1);
    QCOMPARE(layer_of(mx, "model.layers.12.block_sparse_moe.gate.weight"), 12);

    c["architectures"] = {"Qwen3MoeForCausalLM"};
    c["model_type"] = "qwen3_moe";
    c.erase("num_local_experts");
    c["num_experts"] = 4;
    c["moe_intermediate_size"] = 24;
    c["norm_topk_prob"] = true;
    c["mlp_only_layers"] = {0};
    c["head_dim"] = 16;
    const ModelSpec q = parse_model_spec(c, "qwen3_moe");
    QCOMPARE(q.num_experts, int64_t(4));
    QVERIFY(q.norm_topk_prob && !q.router_weights_fp32 && q.qk_norm);
    QVERIFY(!q.layer_is_sparse(0) && q.layer_is_sparse(1));
    const Architecture& qa = architecture_for(q);
    names.clear();
    for (const auto& t : layer_tensors(qa, q, 0)) names.push_back(t.name);
    QVERIFY(std::find(names.begin(), names.end(), "model.layers.0.mlp.down_proj.weight") != names.end());
    QVERIFY(std::find(names.begin(), names.end(), "model.layers.0.mlp.gate.weight") == names.end());
    names.clear();
    for (const auto& t : layer_tensors(qa, q, 1)) names.push_back(t.name);
    QVERIFY(std::find(names.begin(), names.end(), "model.layers.1.mlp.down_proj.weight") == names.end());
    QVERIFY(std::find(names.begin(), names.end(), "model.layers.1.mlp.experts.3.down_proj.weight") !=
            names.end());
    QCOMPARE(expected_shape(q, TensorRole::expert_gate), (std::vector<int64_t>{24, 64}));
    c["num_experts_per_tok"] = 5;
    QVERIFY_EXCEPTION_THROWN(parse_model_spec(c, "qwen3_moe"), Error);
    c["num_experts_per_tok"] = 2;
    c["mlp_only_layers"] = {7};
    QVERIFY_EXCEPTION_THROWN(parse_model_spec(c, "qwen3_moe"), Error);
}

// README's "Supported architectures" is the table, in table order.
void TestArchitecture::readme_lists_the_table() {
    std::ifstream in(std::string(OLM_SOURCE_DIR) + "/README.md");
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const std::string open = "<!-- architectures", close = "<!-- /architectures -->";
    const auto a = text.find(open);
    QVERIFY2(a != std::string::npos, "README.md has no <!-- architectures --> block");
    const auto from = text.find("-->", a) + 3;
    const auto to = text.find(close, from);
    QVERIFY(to != std::string::npos);
    std::string want;
    for (const auto& arch : architectures()) want += (want.empty() ? "`" : ", `") + arch.name + "`";
    QCOMPARE(text.substr(from, to - from), want);
}

QTEST_GUILESS_MAIN(TestArchitecture)
#include "test_architecture.moc"
