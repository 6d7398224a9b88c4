// Batched greedy generation against greedy decoding by full float64
// recomputation (tests/model/reference.*), EOS stops, determinism, and
// generation from a prefix state (layers [0, L) kept while layer L changes).
#include "core/io/model_folder.h"
#include "core/model/generate.h"
#include "core/util/error.h"
#include "tests/model/reference.h"
#include "tests/support/tiny_model.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace olm;

namespace {

olm::testing::TinyModelOptions opts(const std::string& arch) {
    auto o = reference::tiny_options(arch, 3, 64, 0.3);
    o.eos_ids = {2, 3};
    return o;
}

const std::vector<std::vector<int64_t>> kPrompts = {
    {1, 17, 5, 40, 12}, {1, 9}, {1, 33, 34, 35, 36, 37, 38, 39}};

}  // namespace

class TestGenerate : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    std::filesystem::path root() const { return std::filesystem::path(m_dir.path().toStdString()); }

private slots:
    void initTestCase() {
        olm::testing::write_tiny_model(root() / "llama", opts("LlamaForCausalLM"));
        olm::testing::write_tiny_model(root() / "qwen3", opts("Qwen3ForCausalLM"));
        olm::testing::derive_model(root() / "llama", root() / "llama_ft",
                                   {.seed = 3, .scale = 0.2, .layers = {1, 2}});
    }

    void greedy_matches_reference_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("llama") << "llama";
        QTest::newRow("qwen3") << "qwen3";
    }

    void greedy_matches_reference() {
        QFETCH(QString, name);
        ModelFolder folder = ModelFolder::open(root() / name.toStdString());
        Transformer model = Transformer::from_folder(folder);
        GenerateOptions go;
        go.max_new_tokens = 6;
        go.eos_ids = {};  // no stop: compare all 6 tokens
        GenerateResult got = generate(model, kPrompts, go);
        QCOMPARE(got.tokens.size(), kPrompts.size());
        for (size_t i = 0; i < kPrompts.size(); ++i) {
            QCOMPARE(got.tokens[i], reference::greedy(folder, kPrompts[i], 6, {}));
            QVERIFY(got.stop[i] == StopReason::max_new_tokens);
        }
    }

    void stops_per_sequence_on_any_eos() {
        ModelFolder folder = ModelFolder::open(root() / "llama");
        Transformer model = Transformer::from_folder(folder);
        GenerateOptions go;
        go.max_new_tokens = 8;
        const GenerateResult free_run = generate(model, kPrompts, go);
        // Make the third token of prompt 0 an EOS: prompt 0 stops there, the
        // others go on unless they produce that token too.
        const int64_t stop_tok = free_run.tokens[0].at(2);
        go.eos_ids = {1000, stop_tok};
        const GenerateResult got = generate(model, kPrompts, go);
        for (size_t i = 0; i < kPrompts.size(); ++i) {
            const auto& full = free_run.tokens[i];
            const auto it = std::find(full.begin(), full.end(), stop_tok);
            const std::vector<int64_t> want(full.begin(), it);
            QCOMPARE(got.tokens[i], want);
            QVERIFY(got.stop[i] == (it == full.end() ? StopReason::max_new_tokens : StopReason::eos));
        }
        QCOMPARE(got.tokens[0].size(), size_t{2});
        go.max_new_tokens = 0;
        QVERIFY(generate(model, kPrompts, go).tokens[0].empty());
    }

    void deterministic() {
        ModelFolder folder = ModelFolder::open(root() / "qwen3");
        Transformer model = Transformer::from_folder(folder);
        GenerateOptions go;
        go.max_new_tokens = 10;
        const auto a = generate(model, kPrompts, go);
        const auto b = generate(model, kPrompts, go);
        QCOMPARE(a.tokens, b.tokens);
        QVERIFY(a.tokens[0].size() > 0);
    }

    void prefix_state_reused_across_candidates() {
        ModelFolder base = ModelFolder::open(root() / "llama"), ft = ModelFolder::open(root() / "llama_ft");
        Transformer model = Transformer::from_folder(base);
        GenerateOptions go;
        go.max_new_tokens = 5;
        // Layers [0, 1) are fixed; candidates for layer 1 (and the later layers
        // as they are) come and go while the prefix is computed once.
        const PrefixState prefix = run_prefix(model, kPrompts, 1);
        QCOMPARE(prefix.hidden.size(1), int64_t{8});
        const auto base_tokens = generate(model, prefix, go).tokens;

        model.set_layer(1, load_layer_weights(ft, 1));
        const auto cand = generate(model, prefix, go).tokens;
        const auto scratch = generate(model, kPrompts, go).tokens;
        QCOMPARE(cand, scratch);
        for (size_t i = 0; i < kPrompts.size(); ++i)
            QCOMPARE(cand[i], reference::greedy(base, kPrompts[i], 5, {}, {nullptr, &ft}));
        QVERIFY(cand != base_tokens);  // the candidate layer matters

        model.set_layer(1, load_layer_weights(base, 1));
        QCOMPARE(generate(model, prefix, go).tokens, base_tokens);  // prefix not modified

        // Prefix at every split point gives the same continuation.
        for (int64_t L = 0; L <= model.num_layers(); ++L)
            QCOMPARE(generate(model, run_prefix(model, kPrompts, L), go).tokens, base_tokens);
    }

    void errors() {
        ModelFolder folder = ModelFolder::open(root() / "llama");
        Transformer model = Transformer::from_folder(folder);
        QVERIFY_THROWS_EXCEPTION(olm::Error, run_prefix(model, kPrompts, 9));
        QVERIFY_THROWS_EXCEPTION(olm::Error, generate(model, {{1, 2}, {}}, GenerateOptions{}));
    }
};

QTEST_GUILESS_MAIN(TestGenerate)
#include "test_generate.moc"
