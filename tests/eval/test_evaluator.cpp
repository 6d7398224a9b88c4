// The evaluator on a tiny real model folder with the tiny byte-level tokenizer:
// exact and bigram against naive float64 re-computations over an independent
// reference forward pass (tests/model/reference.*), quality against reference
// greedy decoding, batch == single, prefix-cached == uncached while a layer slot
// changes, identical-candidate reuse, held-out split, cancel.
#include "core/eval/content_hash.h"
#include "core/eval/evaluator.h"
#include "core/io/model_folder.h"
#include "core/model/transformer.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "core/util/progress.h"
#include "tests/model/reference.h"
#include "tests/support/tiny_model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>

namespace fs = std::filesystem;
using namespace olm;

namespace {

const fs::path kTokenizer = fs::path(OLM_TEST_DATA_DIR) / "tokenizers" / "tiny-bytelevel";

// Naive float64 exact / bigram cost of one sample from reference logits.
double naive_score(const std::string& mode, const ModelFolder& folder, const EvalSample& s, bool* correct,
                   const std::vector<const ModelFolder*>& layer_source = {}) {
    std::vector<int64_t> seq = s.context_ids;
    seq.insert(seq.end(), s.response_ids.begin(), s.response_ids.end() - 1);
    const at::Tensor lg =
        reference::logits(folder, seq, layer_source).to(at::kDouble).contiguous();  // [S, V]
    const int64_t V = lg.size(1);
    const auto C = static_cast<int64_t>(s.context_ids.size());
    std::vector<double> cost, ce;
    *correct = true;
    for (size_t t = 0; t < s.response_ids.size(); ++t) {
        const double* row = lg.data_ptr<double>() + (C - 1 + static_cast<int64_t>(t)) * V;
        double mx = row[0];
        for (int64_t v = 1; v < V; ++v) mx = std::max(mx, row[v]);
        double z = 0.0;
        for (int64_t v = 0; v < V; ++v) z += std::exp(row[v] - mx);
        const double pmax = 1.0 / z;
        const double target = row[s.response_ids[t]];
        const bool hit = target >= mx;
        *correct = *correct && hit;
        cost.push_back(hit ? 1.0 - pmax : 1.0 + pmax);
        ce.push_back(-(target - mx - std::log(z)));
    }
    if (mode == "exact") {
        double sum = 0.0;
        for (double c : cost) sum += c;
        return sum / static_cast<double>(cost.size());
    }
    if (ce.size() == 1) return std::exp(ce[0]);
    double sum = 0.0;
    for (size_t t = 0; t + 1 < ce.size(); ++t) sum += ce[t] + ce[t + 1];
    return std::exp(sum / static_cast<double>(ce.size() - 1));
}

bool close(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max(1.0, std::abs(b)); }

struct CancelAfter : ProgressSink {
    mutable int polls = 0;
    int limit = 0;
    bool cancelled() const override { return ++polls > limit; }
};

}  // namespace

class TestEvaluator : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    fs::path m_base, m_ft, m_data_tf, m_data_q;
    std::unique_ptr<Tokenizer> m_tok;

    fs::path root() const { return m_dir.path().toStdString(); }

    EvalSettings settings() const {
        EvalSettings s;
        s.quality_max_new_tokens = 10;
        s.min_words = 1;
        s.batch_tokens = 256;
        return s;
    }

private slots:
    void initTestCase() {
        testing::TinyModelOptions o;
        o.layers = 3;
        o.hidden = 32;
        o.intermediate = 64;
        o.vocab = 512;
        o.weight_scale = 0.25;
        o.eos_ids = {511};
        o.tokenizer_from = kTokenizer;
        m_base = root() / "base";
        m_ft = root() / "ft";
        testing::write_tiny_model(m_base, o);
        testing::derive_model(m_base, m_ft, {.seed = 9, .scale = 0.2, .layers = {1, 2}});
        m_tok = std::make_unique<Tokenizer>(Tokenizer::from_folder(m_base));

        const char* tf = R"([
          {"conversation": [{"from": "human", "value": "What is 2+2?"}, {"from": "gpt", "value": "4"}]},
          {"conversation": [{"from": "system", "value": "Answer in a sentence."}, {"from": "human", "value": "Name a color."},
                            {"from": "gpt", "value": "The sky is blue today."}], "source": "ignored"},
          {"conversation": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello there, friend"}]},
          {"messages": [{"role": "user", "content": "Count to five"}, {"role": "assistant", "content": "1 2 3 4 5"}]},
          {"conversation": [{"from": "human", "value": "A much longer question about many things, with commas"},
                            {"from": "gpt", "value": "ok"}]},
          {"conversation": [{"from": "human", "value": "x"}, {"from": "gpt", "value": "yes and no"}]}
        ])";
        m_data_tf = root() / "tf.json";
        std::ofstream(m_data_tf) << tf;
        const char* q = R"([
          {"conversation": [{"from": "human", "value": "Write a story."}, {"from": "gpt", "value": ""}]},
          {"conversation": [{"from": "human", "value": "Describe the sea at night, slowly."}, {"from": "gpt", "value": ""}]},
          {"conversation": [{"from": "human", "value": "Why?"}, {"from": "gpt", "value": ""}]}
        ])";
        m_data_q = root() / "q.json";
        std::ofstream(m_data_q) << q;
    }

    void teacherForcedMatchesNaiveReference_data() {
        QTest::addColumn<QString>("mode");
        QTest::newRow("exact") << "exact";
        QTest::newRow("bigram") << "bigram";
    }
    void teacherForcedMatchesNaiveReference() {
        QFETCH(QString, mode);
        const auto ds = load_eval_dataset(m_data_tf, mode.toStdString(), *m_tok, settings());
        QCOMPARE(ds.selection.size(), size_t(6));
        const ModelFolder folder = ModelFolder::open(m_base);
        Transformer model = Transformer::from_folder(folder);
        Evaluator ev(model, *m_tok, settings());
        const DatasetScore got = ev.score(ds);
        QCOMPARE(got.per_sample.size(), size_t(6));
        double sum = 0.0, correct = 0.0;
        for (size_t i = 0; i < ds.selection.size(); ++i) {
            bool ok = false;
            const double want = naive_score(ds.mode, folder, ds.selection[i], &ok);
            QVERIFY2(close(got.per_sample[i], want, 1e-4),
                     qPrintable(QString("sample %1: %2 vs %3").arg(i).arg(got.per_sample[i]).arg(want)));
            QCOMPARE(got.samples[i].correct, ok);
            QCOMPARE(got.samples[i].index, ds.selection[i].index);
            sum += want;
            correct += ok ? 1 : 0;
        }
        QVERIFY(close(got.score, sum / 6.0, 1e-4));
        QCOMPARE(got.accuracy, correct / 6.0);
        QVERIFY(got.score > 0.0);
        QVERIFY(!got.reused);
    }

    void batchEqualsSingle_data() {
        QTest::addColumn<QString>("mode");
        QTest::newRow("exact") << "exact";
        QTest::newRow("quality") << "quality";
    }
    void batchEqualsSingle() {
        QFETCH(QString, mode);
        const fs::path file = mode == "quality" ? m_data_q : m_data_tf;
        const auto ds = load_eval_dataset(file, mode.toStdString(), *m_tok, settings());
        Transformer model = Transformer::from_folder(ModelFolder::open(m_base));
        EvalSettings big = settings(), single = settings();
        big.batch_tokens = 100000;
        single.batch_tokens = 1;  // every sample alone
        Evaluator a(model, *m_tok, big), b(model, *m_tok, single);
        const DatasetScore x = a.score(ds), y = b.score(ds);
        QVERIFY(a.stats().forward_layers < b.stats().forward_layers);
        for (size_t i = 0; i < x.per_sample.size(); ++i) {
            QVERIFY2(close(x.per_sample[i], y.per_sample[i], 1e-5), qPrintable(QString::number(i)));
            QCOMPARE(x.samples[i].generated_ids, y.samples[i].generated_ids);
        }
    }

    void qualityMatchesReferenceGreedy() {
        const auto ds = load_eval_dataset(m_data_q, "quality", *m_tok, settings());
        QCOMPARE(ds.mode, std::string("quality"));
        const ModelFolder folder = ModelFolder::open(m_base);
        Transformer model = Transformer::from_folder(folder);
        Evaluator ev(model, *m_tok, settings());
        const DatasetScore got = ev.score(ds);
        const std::vector<int64_t> eos = {509, 511};  // <|endoftext|>, <|im_end|> (config eos)
        for (size_t i = 0; i < ds.selection.size(); ++i) {
            const std::vector<int64_t> gen = reference::greedy(folder, ds.selection[i].context_ids, 10, eos);
            QCOMPARE(got.samples[i].generated_ids, gen);
            const std::string text = m_tok->decode(std::vector<int32_t>(gen.begin(), gen.end()), true);
            QCOMPARE(got.samples[i].generated_text, text);
            const SampleScore want = quality_score(text, settings());
            QCOMPARE(got.per_sample[i], want.score);
            QCOMPARE(got.samples[i].penalty, want.penalty);
        }
    }

    void qualityPenaltyKeepsReason() {
        EvalSettings s = settings();
        s.min_words = 1000;  // 10 new tokens can never reach it
        const auto ds = load_eval_dataset(m_data_q, "quality", *m_tok, s);
        Transformer model = Transformer::from_folder(ModelFolder::open(m_base));
        Evaluator ev(model, *m_tok, s);
        const DatasetScore got = ev.score(ds);
        QCOMPARE(got.score, 4096.0);
        QCOMPARE(got.accuracy, 0.0);
        for (const SampleResult& r : got.samples)
            QVERIFY2(QString::fromStdString(r.penalty).startsWith("too few words"), r.penalty.c_str());
    }

    // A forward layer search: at each position L the candidates (base, ft) are
    // swapped into L with [0, L) fixed, the winner stays; the kept states are
    // advanced from one position to the next.
    void prefixCachedEqualsUncached_data() {
        QTest::addColumn<QString>("mode");
        QTest::newRow("exact") << "exact";
        QTest::newRow("bigram") << "bigram";
        QTest::newRow("quality") << "quality";
    }
    void prefixCachedEqualsUncached() {
        QFETCH(QString, mode);
        const fs::path file = mode == "quality" ? m_data_q : m_data_tf;
        const auto ds = load_eval_dataset(file, mode.toStdString(), *m_tok, settings());
        const ModelFolder base = ModelFolder::open(m_base), ft = ModelFolder::open(m_ft);
        Transformer model = Transformer::from_folder(base);
        EvalSettings off = settings();
        off.prefix_cache = false;
        Evaluator cached(model, *m_tok, settings()), plain(model, *m_tok, off);
        for (int64_t layer = 0; layer < 3; ++layer) {
            cached.begin_position(layer);
            plain.begin_position(layer);
            const LayerWeights cands[2] = {load_layer_weights(base, layer), load_layer_weights(ft, layer)};
            double best = 1e300;
            int winner = 0;
            for (int c = 0; c < 2; ++c) {
                model.set_layer(layer, cands[c]);
                const DatasetScore a = cached.score(ds), b = plain.score(ds);
                QCOMPARE(a.from_prefix, layer > 0);
                QVERIFY(!b.from_prefix);
                for (size_t i = 0; i < a.per_sample.size(); ++i) {
                    QVERIFY2(close(a.per_sample[i], b.per_sample[i], 1e-5),
                             qPrintable(QString("layer %1 candidate %2 sample %3: %4 vs %5")
                                            .arg(layer)
                                            .arg(c)
                                            .arg(i)
                                            .arg(a.per_sample[i])
                                            .arg(b.per_sample[i])));
                    QCOMPARE(a.samples[i].generated_ids, b.samples[i].generated_ids);
                }
                if (b.score < best) best = b.score, winner = c;
            }
            // Keep the worse one half of the time, so the fixed part really changes.
            model.set_layer(layer, cands[layer % 2 == 0 ? winner : 1 - winner]);
            model.commit();
        }
        QVERIFY2(cached.stats().layer_token_rows < plain.stats().layer_token_rows,
                 qPrintable(QString("%1 vs %2")
                                .arg(cached.stats().layer_token_rows)
                                .arg(plain.stats().layer_token_rows)));
        cached.end_position();
        QVERIFY(!cached.cached_layer().has_value());
    }

    void qualitySharesGeneratedTokensWithTheRecordedRun() {
        // At layer 2: the first candidate's generation is recorded; a candidate that
        // generates the same tokens skips layers [0, 2) for them, one that diverges
        // catches up; both equal the uncached generations.
        const auto ds = load_eval_dataset(m_data_q, "quality", *m_tok, settings());
        const ModelFolder base = ModelFolder::open(m_base), ft = ModelFolder::open(m_ft);
        Transformer model = Transformer::from_folder(base);
        EvalSettings off = settings();
        off.prefix_cache = false;
        Evaluator cached(model, *m_tok, settings()), plain(model, *m_tok, off);
        cached.begin_position(2);
        const DatasetScore first = cached.score(ds);
        const int64_t w1 = cached.stats().layer_token_rows;
        const DatasetScore same = cached.score(ds);
        const int64_t w2 = cached.stats().layer_token_rows - w1;
        int64_t fed = 0;
        for (const auto& r : first.samples) fed += static_cast<int64_t>(r.generated_ids.size()) - 1;
        QVERIFY2(w2 <= w1 - 2 * fed, qPrintable(QString("%1 %2 %3").arg(w1).arg(w2).arg(fed)));
        const DatasetScore want = plain.score(ds);
        for (size_t i = 0; i < first.samples.size(); ++i) {
            QCOMPARE(same.samples[i].generated_ids, want.samples[i].generated_ids);
            QCOMPARE(first.samples[i].generated_ids, want.samples[i].generated_ids);
        }
        model.set_layer(2, load_layer_weights(ft, 2));
        const DatasetScore other = cached.score(ds), other_plain = plain.score(ds);
        for (size_t i = 0; i < other.samples.size(); ++i)
            QCOMPARE(other.samples[i].generated_ids, other_plain.samples[i].generated_ids);
    }

    void changedFixedLayerIsNoticed() {
        // The contract is broken on purpose: layer 0 changes while the position is 2.
        // The evaluator sees the slot change and recomputes instead of using stale states.
        const auto ds = load_eval_dataset(m_data_tf, "exact", *m_tok, settings());
        const ModelFolder base = ModelFolder::open(m_base), ft = ModelFolder::open(m_ft);
        Transformer model = Transformer::from_folder(base);
        EvalSettings off = settings();
        off.prefix_cache = false;
        Evaluator cached(model, *m_tok, settings()), plain(model, *m_tok, off);
        cached.begin_position(2);
        (void)cached.score(ds);
        model.set_layer(1, load_layer_weights(ft, 1));
        const DatasetScore a = cached.score(ds), b = plain.score(ds);
        for (size_t i = 0; i < a.per_sample.size(); ++i)
            QVERIFY(close(a.per_sample[i], b.per_sample[i], 1e-5));
    }

    void cachedScoreFollowsTheCandidate() {
        // Not stale: the candidate in the variable layer changes the score, and it
        // equals the naive reference with that layer swapped in.
        const auto ds = load_eval_dataset(m_data_tf, "bigram", *m_tok, settings());
        const ModelFolder base = ModelFolder::open(m_base), ft = ModelFolder::open(m_ft);
        Transformer model = Transformer::from_folder(base);
        Evaluator ev(model, *m_tok, settings());
        ev.begin_position(2);
        const DatasetScore before = ev.score(ds);
        model.set_layer(2, load_layer_weights(ft, 2));
        const DatasetScore after = ev.score(ds);
        QVERIFY(std::abs(before.score - after.score) > 1e-6);
        bool ok = false;
        const std::vector<const ModelFolder*> source = {nullptr, nullptr, &ft};
        for (size_t i = 0; i < 2; ++i)
            QVERIFY(
                close(after.per_sample[i], naive_score("bigram", base, ds.selection[i], &ok, source), 1e-4));
    }

    void identicalCandidateIsReused() {
        const auto ds = load_eval_dataset(m_data_tf, "exact", *m_tok, settings());
        const ModelFolder base = ModelFolder::open(m_base), ft = ModelFolder::open(m_ft);
        Transformer model = Transformer::from_folder(base);
        Evaluator ev(model, *m_tok, settings());
        const LayerWeights l0 = load_layer_weights(base, 0),
                           copy0 = load_layer_weights(ft, 0);  // layer 0 unperturbed
        const LayerWeights l1 = load_layer_weights(base, 1), ft1 = load_layer_weights(ft, 1);
        QCOMPARE(layer_content_hash(l0), layer_content_hash(copy0));
        QVERIFY(layer_content_hash(l1) != layer_content_hash(ft1));
        const DatasetScore first = ev.score(ds, EvalSplit::selection, layer_content_hash(l0));
        model.set_layer(0, copy0);
        const DatasetScore again = ev.score(ds, EvalSplit::selection, layer_content_hash(copy0));
        QVERIFY(!first.reused);
        QVERIFY(again.reused);
        QCOMPARE(again.per_sample, first.per_sample);
        QCOMPARE(ev.stats().evaluations, int64_t(1));
        QCOMPARE(ev.stats().reused, int64_t(1));
    }

    void tensorHashSeesBytesShapeAndDtype() {
        const at::Tensor a = at::arange(12, at::kFloat).view({3, 4});
        QCOMPARE(tensor_content_hash(a), tensor_content_hash(a.clone()));
        QCOMPARE(tensor_content_hash(a.t().contiguous().t()), tensor_content_hash(a));
        at::Tensor b = a.clone();
        b[2][3] = 11.0001f;
        QVERIFY(tensor_content_hash(a) != tensor_content_hash(b));
        QVERIFY(tensor_content_hash(a) != tensor_content_hash(a.view({4, 3})));
        QVERIFY(tensor_content_hash(a) != tensor_content_hash(a.to(at::kInt)));
        QCOMPARE(tensor_content_hash(at::Tensor()), uint64_t(0));
    }

    void holdoutIsScoredSeparately() {
        EvalSettings s = settings();
        s.holdout = 0.5;
        s.seed = 3;
        const auto ds = load_eval_dataset(m_data_tf, "exact", *m_tok, s);
        QCOMPARE(ds.selection.size(), size_t(3));
        QCOMPARE(ds.holdout.size(), size_t(3));
        Transformer model = Transformer::from_folder(ModelFolder::open(m_base));
        Evaluator ev(model, *m_tok, s);
        const DatasetScore sel = ev.score(ds, EvalSplit::selection), held = ev.score(ds, EvalSplit::holdout);
        QCOMPARE(held.split, EvalSplit::holdout);
        QCOMPARE(held.samples.size(), size_t(3));
        for (size_t i = 0; i < 3; ++i) QCOMPARE(held.samples[i].index, ds.holdout[i].index);
        QVERIFY(sel.samples[0].index != held.samples[0].index ||
                sel.samples[1].index != held.samples[1].index);
    }

    void samplesLimitAndSkippedCount() {
        EvalSettings s = settings();
        s.samples = 4;
        s.max_sequence_tokens = 40;  // the long question does not fit
        const auto ds = load_eval_dataset(m_data_tf, "exact", *m_tok, s);
        QCOMPARE(ds.records, int64_t(6));
        QVERIFY(ds.skipped >= 1);
        QCOMPARE(ds.selection.size(), size_t(4));
        for (const EvalSample& e : ds.selection) QVERIFY(e.index != 4);
        s.max_sequence_tokens = 3;  // nothing fits
        try {
            load_eval_dataset(m_data_tf, "exact", *m_tok, s);
            QFAIL("expected olm::Error");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("no usable samples"), e.what());
        }
    }

    void tokenisedWithTheChatTemplate() {
        const auto ds = load_eval_dataset(m_data_tf, "exact", *m_tok, settings());
        const std::string ctx = m_tok->decode(
            std::vector<int32_t>(ds.selection[0].context_ids.begin(), ds.selection[0].context_ids.end()),
            false);
        const std::string resp = m_tok->decode(
            std::vector<int32_t>(ds.selection[0].response_ids.begin(), ds.selection[0].response_ids.end()),
            false);
        QCOMPARE(ctx, std::string("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"));
        QVERIFY2(resp.rfind("4", 0) == 0, resp.c_str());
    }

    void unknownModeListsKnownOnes() {
        try {
            load_eval_dataset(m_data_tf, "rouge", *m_tok, settings());
            QFAIL("expected olm::Error");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("known modes: exact"), e.what());
        }
    }

    void cancelBetweenBatches() {
        EvalSettings s = settings();
        s.batch_tokens = 1;  // one sample per batch
        const auto ds = load_eval_dataset(m_data_tf, "exact", *m_tok, s);
        Transformer model = Transformer::from_folder(ModelFolder::open(m_base));
        CancelAfter sink;
        sink.limit = 2;
        Evaluator ev(model, *m_tok, s, &sink);
        QVERIFY_THROWS_EXCEPTION(Cancelled, ev.score(ds));
        QCOMPARE(sink.polls, 3);
    }
};

QTEST_GUILESS_MAIN(TestEvaluator)
#include "test_evaluator.moc"
