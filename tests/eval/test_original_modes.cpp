// The original OLM project's current modes (exact_match, bigram_loss, diversity,
// with and without think) against figures computed by the original's own code
// on the committed tiny models of tests/data/original (a tiny Qwen2 base and four
// perturbed copies, the tiny byte-level tokenizer with ChatML tokens).
//
// The figures in tests/data/original/golden.json come from the original's
// olm.py at commit 7731be5 (github.com/jeffmeloy/olm), its functions called
// unchanged (get_evaluation_cache, compute_exact_match, compute_bigram_loss,
// compute_response_diversity with max_length 16, evaluate_model_on_dataset), its
// load_model replaced by the same call in float32:
//   PYTHONHASHSEED=0 python make_original_goldens.py tests/data/original --seed 5
// with torch 2.15 and transformers 5.24 on CPU. The driver lives outside this
// repository; it also runs the original's whole merge (olm.olm) with
// selection ranks and rank_sum, whose decisions test_search checks.
#include "core/eval/evaluator.h"
#include "core/io/model_folder.h"
#include "core/model/transformer.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "tests/support/test_files.h"

#include <QtTest>

#include <cmath>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using namespace olm;

namespace {

const fs::path kDir = fs::path(OLM_TEST_DATA_DIR) / "original";

double rel_err(double got, double want) { return std::abs(got - want) / std::max(std::abs(want), 1e-12); }

}  // namespace

class TestOriginalModes : public QObject {
    Q_OBJECT
    nlohmann::json m_golden;
    std::unique_ptr<Tokenizer> m_tok;

    EvalSettings settings(const std::string& mode) const {
        EvalSettings s;
        s.samples = 200;
        s.batch_tokens = 256;  // several batches, left/right padding exercised
        if (mode == "diversity") s.max_length = m_golden["diversity_max_length"].get<int64_t>();
        return s;
    }

private slots:
    void initTestCase() {
        m_golden = nlohmann::json::parse(olm::testing::read_text(kDir / "golden.json"));
        m_tok = std::make_unique<Tokenizer>(Tokenizer::from_folder(kDir / "models" / "base"));
    }

    void reasoningMaskIsTheOriginalsLiteralText() {
        // Backslash-n pairs, not newlines: the original writes "\\n" in its Python literal.
        const std::string mask = kOriginalReasoningMask;
        QCOMPARE(mask, std::string("<think>") + '\\' + "n" + '\\' + "n</think>" + '\\' + "n" + '\\' +
                           "nCorrect answer:");
        const std::vector<DatasetTurn> turns = {
            {"system", "S"}, {"user", "U1"}, {"assistant", "A1"}, {"user", "U2"}, {"assistant", "A2"}};
        QCOMPARE(
            original_context(turns, true),
            std::string("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n"
                        "<|im_start|>assistant\n<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\n"));
        QCOMPARE(original_context(turns, false), original_context(turns, true) + mask);
    }

    void oneTokenTargetScoresThePairWithItself() {
        TokenStats hit;
        hit.p_max = 0.75;
        hit.target_is_argmax = true;
        QCOMPARE(bigram_loss_score({hit}).score, 2 * (1 - 0.75));
        TokenStats miss = hit;
        miss.target_is_argmax = false;
        QCOMPARE(bigram_loss_score({miss}).score, 2.0);
        // Two positions: one pair (s_0 + s_1).
        QCOMPARE(bigram_loss_score({hit, miss}).score, 0.25 + 1.0);
    }

    void scoresMatchTheOriginal_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("key");
        for (const auto& [model, per] : m_golden["samples"].items())
            for (const auto& [key, v] : per.items())
                if (key.find("|mean") == std::string::npos)
                    QTest::newRow((model + " " + key).c_str())
                        << QString::fromStdString(model) << QString::fromStdString(key);
    }
    void scoresMatchTheOriginal() {
        QFETCH(QString, model);
        QFETCH(QString, key);
        const std::string k = key.toStdString();
        const std::string file = k.substr(0, k.find('|'));
        const bool think = k.find("think=true") != std::string::npos;
        const std::string mode = m_golden["modes"][file].get<std::string>();
        const EvalSettings st = settings(mode);
        const EvalDataset ds = load_eval_dataset(kDir / "datasets" / file, mode, *m_tok, st, file, think);
        const ModelFolder folder = ModelFolder::open(kDir / "models" / model.toStdString());
        Transformer tf = Transformer::from_folder(folder);
        Evaluator ev(tf, *m_tok, st);
        const DatasetScore got = ev.score(ds);
        const auto& want = m_golden["samples"][model.toStdString()][k];
        QCOMPARE(got.per_sample.size(), want.size());
        double worst = 0;
        QString line;
        for (size_t i = 0; i < want.size(); ++i) {
            const double w = want[i].get<double>();
            const double e = rel_err(got.per_sample[i], w);
            worst = std::max(worst, e);
            line += QString(" %1/%2").arg(w, 0, 'g', 9).arg(got.per_sample[i], 0, 'g', 9);
        }
        qInfo("%s %s (original/ours):%s  max rel err %.2e", qPrintable(model), qPrintable(key),
              qPrintable(line), worst);
        QVERIFY2(worst <= 1e-5, qPrintable(line));
        const std::string mean_key = k + "|mean";
        if (m_golden["samples"][model.toStdString()].contains(mean_key))
            QVERIFY(rel_err(got.score, m_golden["samples"][model.toStdString()][mean_key].get<double>()) <=
                    1e-5);
    }

    void exactMatchSameWithoutPrefixCacheAndBatching() {
        // One sample per batch and no prefix cache give the same numbers as batched.
        const std::string file = "exact.json";
        EvalSettings a = settings("exact_match"), b = a;
        b.batch_tokens = 1;
        b.prefix_cache = false;
        const EvalDataset ds =
            load_eval_dataset(kDir / "datasets" / file, "exact_match", *m_tok, a, file, false);
        Transformer tf = Transformer::from_folder(ModelFolder::open(kDir / "models" / "olm-c"));
        Evaluator ea(tf, *m_tok, a), eb(tf, *m_tok, b);
        ea.begin_position(1);
        const DatasetScore x = ea.score(ds), y = eb.score(ds);
        for (size_t i = 0; i < x.per_sample.size(); ++i)
            QVERIFY(rel_err(x.per_sample[i], y.per_sample[i]) <= 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestOriginalModes)
#include "test_original_modes.moc"
