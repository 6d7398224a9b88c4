// Models larger than the device (EngineOptions::device_memory): the memory
// plan against published parameter counts (Qwen2.5-7B/14B/32B, Llama-3-70B,
// their model cards), budget parsing, and on the CPU the streamed path (layers
// beyond the budget copied in before use) giving the same bits as the
// resident one: logits, a forward in parts, the KV-cache generation, and after
// slot swaps (a streamed slot's staged copy must not go stale).
#include <QtTest/QtTest>

#include "core/io/model_folder.h"
#include "core/model/batch.h"
#include "core/model/generate.h"
#include "core/model/transformer.h"
#include "core/util/error.h"
#include "support/tiny_model.h"

#include <cmath>

using namespace olm;
namespace fs = std::filesystem;

namespace {

ModelSpec shape(int64_t hidden, int64_t heads, int64_t kv, int64_t inter, int64_t layers, int64_t vocab,
                bool bias) {
    ModelSpec s;
    s.hidden_size = hidden;
    s.num_attention_heads = heads;
    s.num_key_value_heads = kv;
    s.head_dim = hidden / heads;
    s.intermediate_size = inter;
    s.num_hidden_layers = layers;
    s.vocab_size = vocab;
    s.attention_bias = bias;
    return s;
}

bool same(const at::Tensor& a, const at::Tensor& b) { return a.sizes() == b.sizes() && at::equal(a, b); }

}  // namespace

class TestStreaming : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    fs::path m_model, m_other;

private slots:
    void initTestCase() {
        testing::TinyModelOptions o;
        o.architecture = "Qwen2ForCausalLM";
        o.layers = 6;
        o.hidden = 64;
        o.intermediate = 128;
        o.vocab = 256;
        o.weight_scale = 0.2;
        m_model = fs::path(m_tmp.path().toStdString()) / "m";
        testing::write_tiny_model(m_model, o);
        m_other = fs::path(m_tmp.path().toStdString()) / "o";
        testing::derive_model(m_model, m_other, 7, {3, 4, 5}, 0.2);
    }

    // Parameters in bf16 (2 bytes each) against the published counts.
    void planMatchesPublishedSizes_data() {
        QTest::addColumn<qlonglong>("hidden");
        QTest::addColumn<qlonglong>("heads");
        QTest::addColumn<qlonglong>("kv");
        QTest::addColumn<qlonglong>("inter");
        QTest::addColumn<qlonglong>("layers");
        QTest::addColumn<qlonglong>("vocab");
        QTest::addColumn<bool>("bias");
        QTest::addColumn<double>("params");
        QTest::newRow("Qwen2.5-7B") << 3584LL << 28LL << 4LL << 18944LL << 28LL << 152064LL << true << 7.61e9;
        QTest::newRow("Qwen2.5-14B") << 5120LL << 40LL << 8LL << 13824LL << 48LL << 152064LL << true
                                     << 14.7e9;
        QTest::newRow("Qwen2.5-32B") << 5120LL << 40LL << 8LL << 27648LL << 64LL << 152064LL << true
                                     << 32.5e9;
        QTest::newRow("Llama-3-70B") << 8192LL << 64LL << 8LL << 28672LL << 80LL << 128256LL << false
                                     << 70.6e9;
    }
    void planMatchesPublishedSizes() {
        QFETCH(qlonglong, hidden);
        QFETCH(qlonglong, heads);
        QFETCH(qlonglong, kv);
        QFETCH(qlonglong, inter);
        QFETCH(qlonglong, layers);
        QFETCH(qlonglong, vocab);
        QFETCH(bool, bias);
        QFETCH(double, params);
        const ModelSpec s = shape(hidden, heads, kv, inter, layers, vocab, bias);
        const MemoryPlan all = plan_device_memory(s, at::kBFloat16, 0);
        QCOMPARE(all.resident_layers, layers);
        QCOMPARE(all.streamed_layers, 0LL);
        const double bytes = static_cast<double>(all.peak_bytes);
        QVERIFY2(std::abs(bytes / 2 - params) / params < 0.015, qPrintable(QString::number(bytes / 2)));
        // 80 GB of weights: the 70B model streams, the others fit.
        const MemoryPlan gpu = plan_device_memory(s, at::kBFloat16, int64_t{80} * 1000 * 1000 * 1000);
        QCOMPARE(gpu.streamed_layers > 0, params > 40e9);
        QVERIFY(gpu.peak_bytes <= int64_t{80} * 1000 * 1000 * 1000);
        QCOMPARE(gpu.resident_layers + gpu.streamed_layers, layers);
    }

    void planRefusesTooSmallABudget() {
        const ModelSpec s = shape(8192, 64, 8, 28672, 80, 128256, false);
        QVERIFY_THROWS_EXCEPTION(Error, plan_device_memory(s, at::kBFloat16, int64_t{2} << 30));
    }

    void parseSizes() {
        QCOMPARE(parse_memory_size("20GiB"), int64_t{20} << 30);
        QCOMPARE(parse_memory_size("80GB"), int64_t{80} * 1000 * 1000 * 1000);
        QCOMPARE(parse_memory_size("512 MiB"), int64_t{512} << 20);
        QCOMPARE(parse_memory_size("1.5G"), int64_t{3} << 29);
        QCOMPARE(parse_memory_size("4096"), int64_t{4096});
        QCOMPARE(parse_memory_size("auto"), int64_t{-1});
        for (const char* bad : {"", "lots", "-3GiB", "0", "12 parsecs"})
            QVERIFY_THROWS_EXCEPTION(Error, parse_memory_size(bad));
    }

    // The same bits with half the layers streamed: logits, layers in two
    // parts (the prefix cache's way), and greedy generation with the KV cache.
    void streamedEqualsResidentOnCpu() {
        const ModelFolder folder = ModelFolder::open(m_model);
        Transformer resident = Transformer::from_folder(folder);
        EngineOptions o;
        const MemoryPlan full = plan_device_memory(folder.spec(), at::kFloat, 0);
        o.device_memory = full.boundary_bytes + 5 * full.layer_bytes;  // 3 resident, 2 in flight
        Transformer streamed = Transformer::from_folder(folder, o);
        QCOMPARE(streamed.memory_plan().resident_layers, 3LL);
        QCOMPARE(streamed.memory_plan().streamed_layers, 3LL);

        const Batch batch = make_batch({{5, 9, 17, 33, 2, 7}, {11, 4, 90}});
        QVERIFY(same(streamed.forward(batch), resident.forward(batch)));
        at::Tensor a = resident.run_layers(resident.embed(batch), batch, 0, 4);
        at::Tensor b = streamed.run_layers(streamed.embed(batch), batch, 0, 4);
        QVERIFY(same(a, b));
        QVERIFY(same(streamed.run_layers(b, batch, 4, 6), resident.run_layers(a, batch, 4, 6)));

        GenerateOptions go;
        go.max_new_tokens = 8;
        const std::vector<std::vector<int64_t>> prompts = {{3, 1, 4, 1, 5}, {9, 2, 6}};
        QCOMPARE(generate(streamed, prompts, go).tokens, generate(resident, prompts, go).tokens);
    }

    // A streamed slot repointed after a forward: the next forward uses the new
    // tensors, not the staged copy of the old ones.
    void swapsReachStreamedLayers() {
        const ModelFolder base = ModelFolder::open(m_model), other = ModelFolder::open(m_other);
        const MemoryPlan full = plan_device_memory(base.spec(), at::kFloat, 0);
        EngineOptions o;
        o.device_memory = full.boundary_bytes + 4 * full.layer_bytes;
        Transformer streamed = Transformer::from_folder(base, o);
        Transformer resident = Transformer::from_folder(base);
        QVERIFY(streamed.memory_plan().streamed_layers > 0);
        const Batch batch = make_batch({{5, 9, 17, 33}, {11, 4}});
        streamed.forward(batch);
        Transformer donor = Transformer::from_folder(other);
        for (int64_t l : {2, 5}) {
            streamed.set_layer(l, donor.layer(l));
            resident.set_layer(l, donor.layer(l));
            QVERIFY(same(streamed.forward(batch), resident.forward(batch)));
            streamed.set_layer(l, Transformer::from_folder(base).layer(l));  // and back
            resident.set_layer(l, Transformer::from_folder(base).layer(l));
            QVERIFY(same(streamed.forward(batch), resident.forward(batch)));
        }
    }
};

QTEST_APPLESS_MAIN(TestStreaming)
#include "test_streaming.moc"
