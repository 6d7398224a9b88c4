// `olm logits` and `olm generate` end to end, against the float64 reference.
#include "core/io/model_folder.h"
#include "tests/model/reference.h"
#include "tests/support/tiny_model.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

using namespace olm;

namespace {

struct Result {
    int code = -1;
    QByteArray out, err;
};

Result run_olm(const QStringList& args) {
    QProcess p;
    p.start(OLM_CLI_PATH, args);
    p.waitForFinished(120000);
    return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
}

}  // namespace

class TestEngineCli : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_model;

private slots:
    void initTestCase() {
        olm::testing::TinyModelOptions o;
        o.architecture = "Qwen3ForCausalLM";
        o.vocab = 80;
        o.weight_scale = 0.3;
        o.eos_ids = {2, 7};
        m_model = m_dir.filePath("qwen3");
        olm::testing::write_tiny_model(m_model.toStdString(), o);
    }

    void logits_json_matches_reference() {
        const Result r = run_olm({"logits", m_model, "--ids", "1,5,9,33,12", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const auto j = nlohmann::json::parse(r.out.toStdString());
        const auto& rows = j.at("logits");
        QCOMPARE(rows.size(), size_t{5});
        const at::Tensor want =
            reference::logits(ModelFolder::open(m_model.toStdString()), {1, 5, 9, 33, 12});
        double diff = 0;
        for (size_t t = 0; t < 5; ++t) {
            QCOMPARE(rows[t].size(), size_t{80});
            for (size_t v = 0; v < 80; ++v)
                diff = std::max(diff, std::abs(rows[t][v].get<double>() - want[t][v].item<double>()));
        }
        QVERIFY2(diff <= 1e-4, qPrintable(QString::number(diff)));
    }

    void logits_top_k() {
        const Result r = run_olm({"logits", m_model, "--ids", "1,5,9", "--top-k", "3"});
        QVERIFY2(r.code == 0, r.err.constData());
        const at::Tensor want = reference::logits(ModelFolder::open(m_model.toStdString()), {1, 5, 9});
        const int64_t best = want[2].argmax().item<int64_t>();
        const QList<QByteArray> lines = r.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 4);  // header + 3
        QCOMPARE(lines[1].simplified().split(' ').value(1).toLongLong(), best);
    }

    void generate_json_matches_reference() {
        const Result r = run_olm({"generate", m_model, "--ids", "1,5,9", "--max-new-tokens", "5", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const auto j = nlohmann::json::parse(r.out.toStdString());
        const auto want = reference::greedy(ModelFolder::open(m_model.toStdString()), {1, 5, 9}, 5, {2, 7});
        QCOMPARE(j.at("ids").get<std::vector<int64_t>>(), want);
        QVERIFY(j.at("text").is_null());  // no tokenizer.json in this folder
        QCOMPARE(QString::fromStdString(j.at("stop").get<std::string>()), want.size() < 5 ? "eos" : "length");
    }

    void errors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expect");
        QTest::newRow("no model") << QStringList{"logits", "/nonexistent/model", "--ids", "1"}
                                  << "nonexistent";
        QTest::newRow("ids and prompt")
            << QStringList{"generate", "MODEL", "--ids", "1", "--prompt", "x"} << "exactly one";
        QTest::newRow("prompt without tokenizer")
            << QStringList{"generate", "MODEL", "--prompt", "x"} << "no tokenizer.json";
        QTest::newRow("bad device") << QStringList{"logits", "MODEL", "--ids", "1", "--device", "tpu"}
                                    << "expected cpu, cuda or cuda:N";
        QTest::newRow("id out of vocab")
            << QStringList{"logits", "MODEL", "--ids", "1,80"} << "outside the vocabulary";
        QTest::newRow("unknown benchmark") << QStringList{"bench", "nothing"} << "unknown benchmark";
    }

    void errors() {
        QFETCH(QStringList, args);
        QFETCH(QString, expect);
        args.replaceInStrings("MODEL", m_model);
        const Result r = run_olm(args);
        QCOMPARE(r.code, 1);
        QVERIFY2(QString(r.err).contains(expect), r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestEngineCli)
#include "test_engine_cli.moc"
