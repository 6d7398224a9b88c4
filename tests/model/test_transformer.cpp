// The engine against an independent float64 reference (tests/model/reference.*)
// on tiny generated HF folders, and its invariants: batched == single, KV-cached
// == full recompute, split at every layer == full, slot swap and back ==
// bit-identical, deterministic.
#include "core/io/model_folder.h"
#include "core/model/transformer.h"
#include "core/util/error.h"
#include "tests/model/reference.h"
#include "tests/support/tiny_model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/version.h>

using namespace olm;
using olm::testing::TinyModelOptions;

Q_DECLARE_METATYPE(TinyModelOptions)

namespace {

TinyModelOptions opts(const std::string& arch) { return reference::tiny_options(arch, 2, 96, 0.25); }

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

const std::vector<int64_t> kIds = {1, 17, 5, 88, 42, 3, 64, 9, 30, 2, 11};

}  // namespace

class TestTransformer : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    int m_count = 0;

    ModelFolder write(const TinyModelOptions& o) {
        const auto path =
            std::filesystem::path(m_dir.path().toStdString()) / ("m" + std::to_string(m_count++));
        olm::testing::write_tiny_model(path, o);
        return ModelFolder::open(path);
    }

private slots:
    // skip_norm's units (is_norm_unit, read from the architecture table's norm
    // roles): exactly the modules whose Hugging Face name is a norm.
    void norm_units_are_the_norms() {
        int norms = 0;
        for (int u = 0; u < olm::kNumLayerUnits; ++u) {
            const auto unit = static_cast<olm::LayerUnit>(u);
            const std::string name = olm::layer_unit_name(unit);
            const bool named_norm = name.size() >= 4 && name.compare(name.size() - 4, 4, "norm") == 0;
            QVERIFY2(olm::is_norm_unit(unit) == named_norm, name.c_str());
            norms += named_norm;
        }
        QCOMPARE(norms, 6);  // input, post-attention, pre/post-feedforward layernorms, q/k norms
    }

    void matches_reference_data() {
        QTest::addColumn<TinyModelOptions>("options");
        QTest::newRow("llama gqa untied") << opts("LlamaForCausalLM");
        auto tied = opts("LlamaForCausalLM");
        tied.tied = true;
        tied.attention_bias = true;  // q/k/v/o biases
        QTest::newRow("llama tied + attention_bias") << tied;
        auto l3 = opts("LlamaForCausalLM");
        l3.hidden = 64;  // head_dim 16: high, medium and low llama3 frequency bands
        l3.rope_scaling = "llama3";
        l3.rope_factor = 8.0;
        QTest::newRow("llama3 rope scaling") << l3;
        auto lin = opts("LlamaForCausalLM");
        lin.rope_scaling = "linear";
        lin.kv_heads = 4;  // plain multi-head
        QTest::newRow("linear rope scaling, MHA") << lin;
        auto mistral = opts("MistralForCausalLM");
        mistral.kv_heads = 1;  // multi-query
        QTest::newRow("mistral MQA") << mistral;
        auto q2 = opts("Qwen2ForCausalLM");
        q2.tied = true;
        QTest::newRow("qwen2 biases tied") << q2;
        auto q3 = opts("Qwen3ForCausalLM");
        q3.head_dim = 16;  // explicit head_dim != hidden / heads
        QTest::newRow("qwen3 qk-norm explicit head_dim") << q3;
        auto q3s = opts("Qwen3ForCausalLM");
        q3s.shards = 2;
        q3s.rope_theta = 1000000.0;
        QTest::newRow("qwen3 sharded") << q3s;
        // Gemma 2: every feature at a strength that moves the logits.
        auto g2 = opts("Gemma2ForCausalLM");
        g2.tied = true;
        g2.head_dim = 16;
        g2.query_pre_attn_scalar = 12;
        g2.sliding_window = 4;  // kIds has 11 tokens; layer 0 slides, layer 1 does not
        g2.attn_softcap = 1.5;
        g2.final_softcap = 4.0;
        QTest::newRow("gemma2 (transformers 4 config)") << g2;
        auto g2v5 = g2;
        g2v5.transformers5 = true;  // layer_types written out
        g2v5.tied = false;
        g2v5.attn_softcap = 0;  // null: no capping
        QTest::newRow("gemma2 (transformers 5 config, untied, no attention cap)") << g2v5;
        // Gemma 3: per-head q/k norms with (1 + w), a local layer (0) with its own
        // rotary base and a global one (1) with linear scaling, no capping.
        auto g3 = opts("Gemma3ForCausalLM");
        g3.head_dim = 16;
        g3.query_pre_attn_scalar = 20;
        g3.sliding_window = 4;
        g3.sliding_pattern = 2;
        g3.rope_local_theta = 100.0;
        g3.rope_theta = 1000000.0;
        g3.rope_scaling = "linear";
        g3.rope_factor = 4.0;
        g3.attn_softcap = 0;
        g3.final_softcap = 0;
        g3.tied = true;
        QTest::newRow("gemma3 local/global rope, q/k norms") << g3;
        // Phi-3: fused qkv_proj and gate_up_proj; then longrope past its original
        // length (kIds has 11 tokens, the original 8) with partial rotary (Phi-4-mini).
        auto phi = opts("Phi3ForCausalLM");
        QTest::newRow("phi3 fused projections") << phi;
        auto phil = opts("Phi3ForCausalLM");
        phil.head_dim = 16;
        phil.rope_scaling = "longrope";
        phil.max_position = 64;
        phil.original_max_position = 8;
        phil.partial_rotary_factor = 0.75;
        QTest::newRow("phi3 longrope (long factors), partial rotary") << phil;
        auto phis = phil;
        phis.original_max_position = 32;  // short factors
        phis.partial_rotary_factor = 1.0;
        QTest::newRow("phi3 longrope (short factors)") << phis;
        // Granite: every multiplier away from 1.
        auto gr = opts("GraniteForCausalLM");
        gr.embedding_multiplier = 3.0;
        gr.attention_multiplier = 0.6;
        gr.residual_multiplier = 0.4;
        gr.logits_scaling = 2.5;
        QTest::newRow("granite multipliers") << gr;
        // OLMo 2: post-norms and full-width q/k norms, GQA, tied.
        auto olmo = opts("Olmo2ForCausalLM");
        olmo.tied = true;
        QTest::newRow("olmo2 post-norms, full-width q/k norms") << olmo;
    }

    void matches_reference() {
        QFETCH(TinyModelOptions, options);
        ModelFolder folder = write(options);
        Transformer model = Transformer::from_folder(folder);
        at::Tensor got = model.forward(make_batch({kIds}))[0];  // [T, V]
        at::Tensor want = reference::logits(folder, kIds);
        QVERIFY(want.abs().max().item<double>() > 0.5);  // the test is not vacuous
        const double diff = max_abs_diff(got, want);
        QVERIFY2(diff <= 1e-4, qPrintable(QString("max |dlogit| = %1").arg(diff)));
        QCOMPARE(got.scalar_type(), at::kFloat);
    }

    void rope_inv_freq_matches_reference() {
        auto o = opts("LlamaForCausalLM");
        o.hidden = 64;
        o.rope_scaling = "llama3";
        o.rope_factor = 8.0;
        ModelFolder folder = write(o);
        at::Tensor got = rope_inv_freq(folder.spec());
        const auto want = reference::inv_freq(folder.spec());
        QCOMPARE(got.numel(), static_cast<int64_t>(want.size()));
        for (size_t i = 0; i < want.size(); ++i)
            QVERIFY(std::abs(got[i].item<double>() - want[i]) <= 1e-6 * want[i]);
    }

    void batched_equals_single_data() {
        QTest::addColumn<int>("side");
        QTest::newRow("right padding") << static_cast<int>(PadSide::right);
        QTest::newRow("left padding") << static_cast<int>(PadSide::left);
    }

    void batched_equals_single() {
        QFETCH(int, side);
        ModelFolder folder = write(opts("Qwen2ForCausalLM"));
        Transformer model = Transformer::from_folder(folder);
        const std::vector<std::vector<int64_t>> seqs = {
            {5, 6, 7, 8, 9}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {40, 41}};
        Batch batch = make_batch(seqs, static_cast<PadSide>(side));
        at::Tensor all = model.forward(batch);
        for (size_t b = 0; b < seqs.size(); ++b) {
            at::Tensor alone = model.forward(make_batch({seqs[b]}))[0];
            for (int64_t j = 0; j < static_cast<int64_t>(seqs[b].size()); ++j) {
                const double diff = max_abs_diff(all[b][batch.column(b, j)], alone[j]);
                QVERIFY2(diff <= 1e-5, qPrintable(QString("row %1 pos %2: %3").arg(b).arg(j).arg(diff)));
            }
        }
        QVERIFY(!at::isnan(all).any().item<bool>());  // padding rows stay finite
    }

    void forward_chunks_within_budget() {
        ModelFolder folder = write(opts("LlamaForCausalLM"));
        EngineOptions small;
        small.max_batch_tokens = 6;  // forces one row per chunk
        Transformer chunked = Transformer::from_folder(folder, small);
        Transformer whole = Transformer::from_folder(folder);
        Batch batch = make_batch({{1, 2, 3, 4}, {5, 6}, {7, 8, 9}});
        QVERIFY(max_abs_diff(chunked.forward(batch), whole.forward(batch)) <= 1e-5);
        QVERIFY(whole.token_budget() > 0);
    }

    void kv_cache_incremental_equals_full() {
        ModelFolder folder = write(opts("Qwen3ForCausalLM"));
        Transformer model = Transformer::from_folder(folder);
        const std::vector<std::vector<int64_t>> seqs = {{3, 4, 5, 6, 7, 8, 9, 10, 11},
                                                        {20, 21, 22, 23, 24, 25, 26}};
        // Prompt: first 4 tokens of each, left-padded the same way as generation does.
        KvCache cache(model.num_layers());
        std::vector<std::vector<int64_t>> prompt = {{3, 4, 5, 6}, {20, 21, 22, 23}};
        Batch p = make_batch(prompt, PadSide::left);
        at::Tensor h = model.run_layers(model.embed(p), p, 0, model.num_layers(), &cache);
        std::vector<at::Tensor> got = {model.head(h)};  // [B, 4, V]
        // Then one token at a time, then a chunk of two.
        for (int64_t j = 4; j < 7;) {
            const int64_t n = j == 4 ? 1 : (j == 5 ? 2 : 1);
            std::vector<std::vector<int64_t>> step = {{}, {}};
            for (int64_t k = 0; k < n; ++k) {
                step[0].push_back(seqs[0][j + k]);
                step[1].push_back(seqs[1][j + k]);
            }
            Batch s = make_batch(step, PadSide::right, 0, /*first_position=*/j);
            at::Tensor hs = model.run_layers(model.embed(s), s, 0, model.num_layers(), &cache);
            got.push_back(model.head(hs));
            j += n;
        }
        at::Tensor inc = at::cat(got, 1);  // [B, 7, V]
        for (int b = 0; b < 2; ++b) {
            std::vector<int64_t> first7(seqs[b].begin(), seqs[b].begin() + 7);
            at::Tensor full = model.forward(make_batch({first7}))[0];
            const double diff = max_abs_diff(inc[b], full);
            QVERIFY2(diff <= 1e-5, qPrintable(QString("row %1: %2").arg(b).arg(diff)));
        }
        QCOMPARE(cache.layer_length(0), int64_t{7});
    }

    void kv_cache_grows_by_doubling() {
        KvCache cache(1);
        at::Tensor k = at::ones({2, 1, 1, 4});
        std::vector<int64_t> caps;
        for (int i = 0; i < 9; ++i) {
            cache.append(0, k * i, k * -i);
            caps.push_back(cache.layer_capacity(0));
        }
        QCOMPARE(caps, (std::vector<int64_t>{1, 2, 4, 4, 8, 8, 8, 8, 16}));
        auto kv = cache.append(0, k * 9, k * -9);
        QCOMPARE(kv.first.size(2), int64_t{10});
        for (int i = 0; i < 10; ++i) QCOMPARE(kv.first[1][0][i][3].item<float>(), static_cast<float>(i));
        KvCache hinted(1, 64);
        hinted.append(0, k, k);
        QCOMPARE(hinted.layer_capacity(0), int64_t{64});
    }

    void split_at_every_layer_equals_full() {
        auto o = opts("LlamaForCausalLM");
        o.layers = 4;
        ModelFolder folder = write(o);
        Transformer model = Transformer::from_folder(folder);
        Batch batch = make_batch({{1, 2, 3, 4, 5}, {6, 7, 8}});
        at::Tensor full = model.forward(batch);
        for (int64_t L = 0; L <= model.num_layers(); ++L) {
            at::Tensor h = model.run_layers(model.embed(batch), batch, 0, L);
            h = model.run_layers(h, batch, L, model.num_layers());
            QVERIFY2(at::equal(model.head(h), full), qPrintable(QString("split at %1").arg(L)));
        }
        // Only selected rows: (0, 4) and (1, 2).
        at::Tensor h = model.run_layers(model.embed(batch), batch, 0, model.num_layers());
        at::Tensor rows = model.head_at(h, at::tensor({0, 1}, at::kLong), at::tensor({4, 2}, at::kLong));
        QCOMPARE(rows.sizes(), (at::IntArrayRef{2, 96}));
        QVERIFY(max_abs_diff(rows[0], full[0][4]) <= 1e-6);
        QVERIFY(max_abs_diff(rows[1], full[1][2]) <= 1e-6);
    }

    void slot_swap_and_back_is_bit_identical() {
        const auto root = std::filesystem::path(m_dir.path().toStdString());
        auto o = opts("Qwen2ForCausalLM");
        o.layers = 3;
        olm::testing::write_tiny_model(root / "swap_a", o);
        olm::testing::derive_model(root / "swap_a", root / "swap_b",
                                   {.seed = 9, .scale = 0.05, .layers = {1}});
        ModelFolder a = ModelFolder::open(root / "swap_a"), b = ModelFolder::open(root / "swap_b");
        Transformer model = Transformer::from_folder(a);
        Batch batch = make_batch({kIds});
        at::Tensor base = model.forward(batch);

        model.set_layer(1, load_layer_weights(b, 1));
        // No copy on CPU fp32: the slot points at B's mapped bytes.
        QCOMPARE(model.layer(1)[LayerUnit::q_proj].weight.data_ptr(),
                 b.tensor(TensorRole::attn_q, 1).data_ptr());
        at::Tensor swapped = model.forward(batch)[0];
        QVERIFY(max_abs_diff(swapped, base[0]) > 1e-3);
        at::Tensor want = reference::logits(a, kIds, {nullptr, &b, nullptr});
        QVERIFY(max_abs_diff(swapped, want) <= 1e-4);

        model.set_layer(1, load_layer_weights(a, 1));
        QVERIFY(at::equal(model.forward(batch), base));

        // Tensor-unit granularity: only mlp.down_proj of layer 1 from B, then back.
        model.set_tensor(TensorRole::mlp_down, 1, b.tensor(TensorRole::mlp_down, 1));
        QVERIFY(!at::equal(model.forward(batch), base));
        QCOMPARE(model.layer(1)[LayerUnit::up_proj].weight.data_ptr(),
                 a.tensor(TensorRole::mlp_up, 1).data_ptr());
        model.set_tensor(TensorRole::mlp_down, 1, a.tensor(TensorRole::mlp_down, 1));
        QVERIFY(at::equal(model.forward(batch), base));

        // Boundary slot: B's final norm equals A's here (only layer 1 differs), so
        // point lm_head (untied? qwen2 tiny is untied) at a scaled copy and back.
        at::Tensor lm = a.tensor(TensorRole::lm_head);
        model.set_boundary_part(BoundaryPart::lm_head, lm * 2);
        QVERIFY(max_abs_diff(model.forward(batch), base * 2) <= 1e-4);
        model.set_boundary_part(BoundaryPart::lm_head, lm);
        QVERIFY(at::equal(model.forward(batch), base));
    }

    void unit_swap_matches_reference() {
        // B differs from A only in layer 0's mlp unit; taking A's model with
        // gate/up/down of layer 0 from B equals the reference with B's layer 0.
        const auto root = std::filesystem::path(m_dir.path().toStdString());
        olm::testing::write_tiny_model(root / "unit_a", opts("LlamaForCausalLM"));
        olm::testing::derive_model(root / "unit_a", root / "unit_b",
                                   {.seed = 4, .scale = 0.1, .layers = {0}, .sublayers = {"mlp"}});
        ModelFolder a = ModelFolder::open(root / "unit_a"), b = ModelFolder::open(root / "unit_b");
        Transformer model = Transformer::from_folder(a);
        for (const ExpectedTensor& t : sublayer_tensors(b.architecture(), b.spec(), 0, "mlp"))
            model.set_tensor(t.role, 0, b.tensor(t.name));
        at::Tensor got = model.forward(make_batch({kIds}))[0];
        QVERIFY(max_abs_diff(got, reference::logits(a, kIds, {&b})) <= 1e-4);
        QVERIFY(max_abs_diff(got, reference::logits(a, kIds)) > 1e-3);
    }

    void owned_blended_tensors_in_a_slot() {
        // The merge puts computed tensors (Σ coeff × tensor) in slots.
        const auto root = std::filesystem::path(m_dir.path().toStdString());
        olm::testing::write_tiny_model(root / "blend_a", opts("MistralForCausalLM"));
        olm::testing::derive_model(root / "blend_a", root / "blend_b",
                                   {.seed = 5, .scale = 0.05, .layers = {1}});
        ModelFolder a = ModelFolder::open(root / "blend_a"), b = ModelFolder::open(root / "blend_b");
        Transformer model = Transformer::from_folder(a);
        LayerWeights wa = load_layer_weights(a, 1), wb = load_layer_weights(b, 1), mix;
        for (int u = 0; u < kNumLayerUnits; ++u)
            if (wa.units[u].weight.defined())
                mix.units[u].weight = wa.units[u].weight * 0.0 + wb.units[u].weight * 1.0;
        model.set_layer(1, mix);
        at::Tensor want = reference::logits(a, kIds, {nullptr, &b});
        QVERIFY(max_abs_diff(model.forward(make_batch({kIds}))[0], want) <= 1e-4);
    }

    void bf16_close_to_fp32() {
        ModelFolder folder = write(opts("LlamaForCausalLM"));
        Transformer fp32 = Transformer::from_folder(folder);
        Transformer bf16 = Transformer::from_folder(folder, make_engine_options("cpu", "bf16"));
        Batch batch = make_batch({kIds});
        at::Tensor x = fp32.forward(batch), y = bf16.forward(batch);
        QCOMPARE(y.scalar_type(), at::kFloat);
        const double rel = ((x - y).abs().max() / x.abs().max()).item<double>();
        QVERIFY2(rel < 0.05, qPrintable(QString("relative %1").arg(rel)));
    }

    // The fused at::scaled_dot_product_attention (libtorch 2.x) against the
    // explicit matmul/softmax path, as the engine uses them: causal mask, GQA
    // stacking (and MQA, MHA), right and left padding, KV-cached decoding.
    void sdpa_equals_explicit_data() {
        QTest::addColumn<TinyModelOptions>("options");
        QTest::addColumn<QString>("dtype");
        QTest::newRow("llama gqa fp32") << opts("LlamaForCausalLM") << "fp32";
        auto mqa = opts("MistralForCausalLM");
        mqa.kv_heads = 1;
        QTest::newRow("mistral mqa fp32") << mqa << "fp32";
        auto mha = opts("LlamaForCausalLM");
        mha.kv_heads = 4;
        mha.attention_bias = true;
        QTest::newRow("llama mha + bias fp32") << mha << "fp32";
        auto q3 = opts("Qwen3ForCausalLM");
        q3.head_dim = 16;
        QTest::newRow("qwen3 qk-norm head_dim 16 fp32") << q3 << "fp32";
        QTest::newRow("qwen2 gqa bf16") << opts("Qwen2ForCausalLM") << "bf16";
    }

    void sdpa_equals_explicit() {
        QFETCH(TinyModelOptions, options);
        QFETCH(QString, dtype);
        if (!sdpa_available())
            QSKIP("libtorch " TORCH_VERSION
                  " has no at::scaled_dot_product_attention (2.0+): the engine "
                  "has only the explicit attention path here");
        ModelFolder folder = write(options);
        EngineOptions fused = make_engine_options("cpu", dtype.toStdString());
        fused.sdpa = true;
        EngineOptions plain = fused;
        plain.sdpa = false;
        Transformer a = Transformer::from_folder(folder, fused), b = Transformer::from_folder(folder, plain);
        // bf16: the paths round differently (the fused kernel keeps the scores
        // in float32). Relative to max |logit|, within the engine's bf16 bound
        // (bf16_close_to_fp32) of each other, and the fused one of fp32.
        const bool fp32 = dtype == "fp32";
        const double tol = fp32 ? 1e-5 : 0.05;
        EngineOptions fp32_plain;
        fp32_plain.sdpa = false;
        Transformer exact = Transformer::from_folder(folder, fp32_plain);
        double worst = 0, fused_vs_fp32 = 0, plain_vs_fp32 = 0;
        auto check = [&](const at::Tensor& x, const at::Tensor& y, const char* what) {
            const double scale = fp32 ? 1.0 : y.abs().max().item<double>();
            const double d = max_abs_diff(x, y);
            worst = std::max(worst, d / scale);
            QVERIFY(y.abs().max().item<double>() > 0.5);  // not vacuous
            QVERIFY2(d <= tol * scale, qPrintable(QString("%1: max |d| = %2").arg(what).arg(d)));
        };
        const std::vector<std::vector<int64_t>> seqs = {kIds, {5, 6, 7}, {40, 41, 42, 43, 44, 45}};
        for (PadSide side : {PadSide::right, PadSide::left}) {
            const Batch batch = make_batch(seqs, side);
            const at::Tensor x = a.forward(batch), y = b.forward(batch);
            check(x, y, side == PadSide::right ? "right padding" : "left padding");
            if (QTest::currentTestFailed()) return;
            if (!fp32) {
                const at::Tensor z = exact.forward(batch);
                const double scale = z.abs().max().item<double>();
                fused_vs_fp32 = std::max(fused_vs_fp32, max_abs_diff(x, z) / scale);
                plain_vs_fp32 = std::max(plain_vs_fp32, max_abs_diff(y, z) / scale);
                QVERIFY2(fused_vs_fp32 < tol,
                         qPrintable(QString("sdpa bf16 vs fp32: %1").arg(fused_vs_fp32)));
            }
        }
        // KV-cached: a left-padded prompt, then one token and a chunk of three
        // (the mask then spans cached columns, query rows offset by `past`).
        // Positions as make_batch gives them: the same input for both paths.
        KvCache ca(a.num_layers()), cb(b.num_layers());
        const Batch p = make_batch({{3, 4, 5, 6}, {20, 21}}, PadSide::left);
        check(a.head(a.run_layers(a.embed(p), p, 0, a.num_layers(), &ca)),
              b.head(b.run_layers(b.embed(p), p, 0, b.num_layers(), &cb)), "cached prompt");
        for (const auto& step : {std::vector<std::vector<int64_t>>{{7}, {22}},
                                 std::vector<std::vector<int64_t>>{{8, 9, 10}, {23, 24, 25}}}) {
            const Batch s = make_batch(step, PadSide::right, 0, ca.layer_length(0));
            check(a.head(a.run_layers(a.embed(s), s, 0, a.num_layers(), &ca)),
                  b.head(b.run_layers(b.embed(s), s, 0, b.num_layers(), &cb)), "cached step");
            if (QTest::currentTestFailed()) return;
        }
        if (fp32)
            qInfo("libtorch %s: max |d logit| sdpa vs explicit = %.3g", TORCH_VERSION, worst);
        else
            qInfo(
                "libtorch %s bf16, relative to max |logit|: sdpa vs explicit %.3g, sdpa vs fp32 %.3g, "
                "explicit vs fp32 %.3g",
                TORCH_VERSION, worst, fused_vs_fp32, plain_vs_fp32);
    }

    void attention_path_from_environment() {
        qputenv("OLM_ATTENTION", "explicit");
        const bool explicit_off = !make_engine_options("cpu", "").sdpa;
        qputenv("OLM_ATTENTION", "sdpa");
        const bool sdpa_on = make_engine_options("cpu", "").sdpa;
        qputenv("OLM_ATTENTION", "flash");
        QString error;
        try {
            make_engine_options("cpu", "");
        } catch (const Error& e) {
            error = QString::fromStdString(e.what());
        }
        qunsetenv("OLM_ATTENTION");
        QVERIFY(explicit_off);
        QVERIFY(sdpa_on);
        QVERIFY2(error.contains("OLM_ATTENTION 'flash'"), qPrintable(error));
        QVERIFY(make_engine_options("cpu", "").sdpa);
    }

    void deterministic() {
        ModelFolder folder = write(opts("Qwen3ForCausalLM"));
        Transformer m1 = Transformer::from_folder(folder), m2 = Transformer::from_folder(folder);
        Batch batch = make_batch({kIds, {4, 5, 6}});
        QVERIFY(at::equal(m1.forward(batch), m2.forward(batch)));
        QVERIFY(at::equal(m1.forward(batch), m1.forward(batch)));
    }

    void errors_data() {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("expect");
        QTest::newRow("bad device") << 0 << "expected cpu, cuda or cuda:N";
        QTest::newRow("bad dtype") << 1 << "expected fp32, bf16 or fp16";
        QTest::newRow("fp16 on cpu") << 2 << "not supported on cpu";
        QTest::newRow("wrong shape") << 3 << "layer 1 self_attn.k_proj.weight: shape";
        QTest::newRow("empty slot") << 4 << "slot is empty";
        QTest::newRow("unknown rope scaling") << 5 << "yarn";
        QTest::newRow("layer out of range") << 6 << "out of range";
        QTest::newRow("unknown unit") << 7 << "unknown layer unit";
        if (!at::hasCUDA()) QTest::newRow("cuda without cuda") << 8 << "no CUDA";
    }

    void errors() {
        QFETCH(int, which);
        QFETCH(QString, expect);
        ModelFolder folder = write(opts("LlamaForCausalLM"));
        try {
            switch (which) {
                case 0:
                    parse_device("gpu0");
                    break;
                case 1:
                    parse_dtype("int8");
                    break;
                case 2:
                    make_engine_options("cpu", "fp16");
                    break;
                case 3: {
                    Transformer m = Transformer::from_folder(folder);
                    LayerWeights w = load_layer_weights(folder, 1);
                    w[LayerUnit::k_proj].weight = at::zeros({3, 32});
                    m.set_layer(1, w);
                    break;
                }
                case 4: {
                    Transformer m(folder.spec());
                    m.forward(make_batch({{1, 2}}));
                    break;
                }
                case 5: {
                    ModelSpec s = folder.spec();
                    s.rope_scaling.type = "yarn";
                    Transformer m(s);
                    break;
                }
                case 6:
                    Transformer::from_folder(folder).set_layer(7, load_layer_weights(folder, 0));
                    break;
                case 7:
                    layer_unit_from_name("mlp.fc1");
                    break;
                case 8:
                    parse_device("cuda:0");
                    break;
            }
            QFAIL("no error thrown");
        } catch (const olm::Error& e) {
            QVERIFY2(QString(e.what()).contains(expect), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestTransformer)
#include "test_transformer.moc"
