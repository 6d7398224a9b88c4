// `olm eval` as a child process: --json output re-computed independently from the
// printed ids with the float64 reference forward pass; errors exit 1 with context.
#include "core/eval/modes.h"
#include "core/io/model_folder.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/model/reference.h"
#include "tests/support/tiny_model.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace fs = std::filesystem;

class TestEvalCli : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    fs::path m_model, m_data, m_quality;

    struct Result {
        int code;
        QString out, err;
    };
    static Result run(const QStringList& args) {
        QProcess p;
        p.start(QStringLiteral(OLM_CLI_PATH), args);
        p.waitForFinished(120000);
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }
    static QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

private slots:
    void initTestCase() {
        const fs::path root = m_dir.path().toStdString();
        olm::testing::TinyModelOptions o;
        o.layers = 2;
        o.vocab = 512;
        o.weight_scale = 0.25;
        o.eos_ids = {511};
        o.tokenizer_from = fs::path(OLM_TEST_DATA_DIR) / "tokenizers" / "tiny-bytelevel";
        m_model = root / "model";
        olm::testing::write_tiny_model(m_model, o);
        m_data = root / "data.jsonl";
        std::ofstream(m_data)
            << R"({"conversation": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]})"
            << "\n"
            << R"({"messages": [{"role": "user", "content": "Name a color"}, {"role": "assistant", "content": "Blue, like the sea"}]})"
            << "\n";
        m_quality = root / "quality.json";
        std::ofstream(m_quality)
            << R"([{"conversation": [{"from": "human", "value": "Tell me a story"}, {"from": "gpt", "value": ""}]}])";
    }

    void jsonIsRecomputableFromTheIds() {
        const Result r = run({"eval", q(m_model), "--dataset", q(m_data), "--mode", "exact", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["mode"].get<std::string>(), std::string("exact"));
        QCOMPARE(j["samples"].size(), size_t(2));
        const olm::ModelFolder folder = olm::ModelFolder::open(m_model);
        double sum = 0.0;
        for (const auto& s : j["samples"]) {
            const auto ctx = s["context_ids"].get<std::vector<int64_t>>();
            const auto resp = s["response_ids"].get<std::vector<int64_t>>();
            std::vector<int64_t> seq = ctx;
            seq.insert(seq.end(), resp.begin(), resp.end() - 1);
            const at::Tensor lg = olm::reference::logits(folder, seq).to(at::kDouble);  // [S, V]
            double cost = 0.0;
            for (size_t t = 0; t < resp.size(); ++t) {
                const at::Tensor p = at::softmax(lg[static_cast<int64_t>(ctx.size() - 1 + t)], 0);
                const double pmax = p.max().item<double>();
                const bool hit = p[resp[t]].item<double>() >= pmax;
                cost += hit ? 1.0 - pmax : 1.0 + pmax;
            }
            cost /= static_cast<double>(resp.size());
            QVERIFY2(std::abs(cost - s["score"].get<double>()) < 1e-4,
                     qPrintable(QString("%1 vs %2").arg(cost).arg(s["score"].get<double>())));
            sum += cost;
        }
        QVERIFY(std::abs(sum / 2 - j["score"].get<double>()) < 1e-4);
        QVERIFY(j["accuracy"].is_number());
    }

    void qualityPrintsGenerations() {
        const Result r = run({"eval", q(m_model), "--dataset", q(m_quality), "--mode", "quality",
                              "--max-new-tokens", "6", "--min-words", "1", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        const auto& s = j["samples"][0];
        QVERIFY(s.contains("generated_text"));
        QVERIFY(s.contains("penalty"));
        olm::EvalSettings settings;
        settings.min_words = 1;
        const auto want = olm::quality_score(s["generated_text"].get<std::string>(), settings);
        QCOMPARE(s["score"].get<double>(), want.score);
        const Result text = run(
            {"eval", q(m_model), "--dataset", q(m_quality), "--mode", "quality", "--max-new-tokens", "6"});
        QVERIFY2(text.code == 0, qPrintable(text.err));
        QVERIFY2(text.out.contains("score") && text.out.contains("--- sample 0"), qPrintable(text.out));
        QVERIFY2(text.out.contains("penalty: too few words"), qPrintable(text.out));
    }

    void errors_data() {
        QTest::addColumn<QStringList>("extra");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown mode")
            << QStringList{"--dataset", "DATA", "--mode", "rouge"} << "known modes: exact";
        QTest::newRow("no dataset") << QStringList{"--mode", "exact"} << "--dataset";
        QTest::newRow("no mode") << QStringList{"--dataset", "DATA"} << "--mode";
        QTest::newRow("missing file")
            << QStringList{"--dataset", "/no/such.json", "--mode", "exact"} << "/no/such.json";
        QTest::newRow("bad split") << QStringList{"--dataset", "DATA", "--mode", "exact", "--split", "x"}
                                   << "--split";
        QTest::newRow("bad script") << QStringList{"--dataset",           "DATA",  "--mode", "quality",
                                                   "--forbidden-scripts", "elvish"}
                                    << "elvish";
        QTest::newRow("empty holdout")
            << QStringList{"--dataset", "DATA", "--mode", "exact", "--split", "holdout"} << "holdout";
    }
    void errors() {
        QFETCH(QStringList, extra);
        QFETCH(QString, message);
        QStringList args = {"eval", q(m_model)};
        for (QString a : extra) args << (a == "DATA" ? q(m_data) : a);
        const Result r = run(args);
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestEvalCli)
#include "test_eval_cli.moc"
