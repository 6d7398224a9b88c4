// The real `olm merge` binary on a tiny planted pool: SIGKILL at several
// moments and Ctrl-C (SIGINT, exit 130), then --resume, give the same report
// (timings aside) and bit-identical exported weights as an uninterrupted run;
// `olm export --report` rebuilds the same weights; --dry-run prints the plan.
#include <QtTest/QtTest>

#include "core/io/model_folder.h"
#include "core/merge/report.h"
#include "merge/tiny_pool.h"

#include <csignal>
#include <fstream>

using namespace olm;
namespace fs = std::filesystem;

namespace {

struct Run {
    int code = -1;
    QString out;
};

Run olm_cli(const QStringList& args, int timeout_ms = 120000) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(OLM_CLI_PATH, QStringList{} << args);
    p.waitForFinished(timeout_ms);
    return {p.exitCode(), QString::fromUtf8(p.readAll())};
}

std::map<std::string, std::string> file_bytes(const fs::path& folder) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(folder)) {
        if (e.path().extension() != ".safetensors") continue;
        std::ifstream in(e.path(), std::ios::binary);
        out[e.path().filename().string()] = std::string((std::istreambuf_iterator<char>(in)), {});
    }
    return out;
}

// Candidates recorded in a report file (0 when absent or unreadable).
int recorded(const fs::path& report) {
    std::ifstream in(report);
    if (!in) return 0;
    const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return 0;
    int n = 0;
    for (const char* s : {"base_model", "boundary_layers"})
        if (j.contains(s) && j[s].contains("candidates")) n += static_cast<int>(j[s]["candidates"].size());
    if (j.contains("layers"))
        for (const auto& l : j["layers"])
            n += static_cast<int>(l.value("candidates", nlohmann::json::object()).size());
    return n;
}

}  // namespace

class TestMergeCli : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    testing::PlantedPool m_pool;
    fs::path m_config;
    fs::path m_out;
    std::string m_report;
    std::map<std::string, std::string> m_weights;

private slots:
    void initTestCase() {
        m_pool = testing::make_planted_pool(fs::path(m_tmp.path().toStdString()) / "pool", 3);
        m_config = m_pool.dir / "cli.yaml";
        std::ofstream(m_config) << testing::pool_config(
            m_pool, "base_model_name: base\nboundary_select: true\nsafeguard: warn\n");
        m_out = m_pool.dir / "out";
        const Run r = olm_cli({"merge", QString::fromStdString(m_config.string())});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QVERIFY2(r.out.contains("safeguard: the merge vs the best pool model"), qPrintable(r.out));
        m_report = without_timings(MergeReport::load(m_out / "merge_report.json").json()).dump();
        m_weights = file_bytes(m_out / "merged");
        QVERIFY(!m_weights.empty());
    }

    void dryRunPrintsPlan() {
        const Run r = olm_cli({"merge", QString::fromStdString(m_config.string()), "--dry-run"});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QVERIFY2(r.out.contains("pool: 4 models (compatible), 3 layers"), qPrintable(r.out));
        QVERIFY2(r.out.contains("by preset: original"), qPrintable(r.out));
        QVERIFY2(r.out.contains("estimated time"), qPrintable(r.out));
    }

    void sigkillThenResume_data() {
        QTest::addColumn<int>("after");
        QTest::newRow("during the baseline") << 1;
        QTest::newRow("in the boundary step") << 3;
        QTest::newRow("mid layer") << 10;
    }
    void sigkillThenResume() {
        QFETCH(int, after);
        fs::remove_all(m_out);
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(OLM_CLI_PATH, {"merge", QString::fromStdString(m_config.string())});
        QVERIFY(p.waitForStarted());
        bool killed = false;
        while (p.state() != QProcess::NotRunning) {
            if (recorded(m_out / "merge_report.json") >= after) {
                p.kill();  // SIGKILL: no chance to clean up
                killed = true;
                break;
            }
            QThread::msleep(2);
        }
        p.waitForFinished();
        if (!killed) QSKIP("the merge finished before the kill point");
        const Run r = olm_cli({"merge", QString::fromStdString(m_config.string()), "--resume"});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QCOMPARE(without_timings(MergeReport::load(m_out / "merge_report.json").json()).dump(), m_report);
        QVERIFY(file_bytes(m_out / "merged") == m_weights);
    }

    void ctrlCExits130AndResumes() {
        fs::remove_all(m_out);
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(OLM_CLI_PATH, {"merge", QString::fromStdString(m_config.string())});
        QVERIFY(p.waitForStarted());
        while (p.state() != QProcess::NotRunning && recorded(m_out / "merge_report.json") < 6)
            QThread::msleep(2);
        if (p.state() == QProcess::NotRunning) QSKIP("the merge finished before the interrupt");
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 130);
        QVERIFY(QString::fromUtf8(p.readAll()).contains("--resume"));
        const Run r = olm_cli({"merge", QString::fromStdString(m_config.string()), "--resume"});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QCOMPARE(without_timings(MergeReport::load(m_out / "merge_report.json").json()).dump(), m_report);
        QVERIFY(file_bytes(m_out / "merged") == m_weights);
    }

    void exportFromReport() {
        const fs::path dst = m_pool.dir / "rebuilt";
        const Run r =
            olm_cli({"export", "--report", QString::fromStdString((m_out / "merge_report.json").string()),
                     "--out", QString::fromStdString(dst.string())});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QVERIFY2(r.out.contains("verified"), qPrintable(r.out));
        QVERIFY(file_bytes(dst) == m_weights);
        QVERIFY(fs::exists(dst / "README.md"));
        QVERIFY(fs::exists(dst / "mergekit_config.yml"));
    }

    void badConfigExitsWithLine() {
        const fs::path bad = m_pool.dir / "bad.yaml";
        std::ofstream(bad) << "models: [base]\ndataset: {planted.json: {mode: exact}}\ndirection: sideways\n";
        const Run r = olm_cli({"merge", QString::fromStdString(bad.string())});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains("bad.yaml:3: direction"), qPrintable(r.out));
    }
};

QTEST_GUILESS_MAIN(TestMergeCli)
#include "test_merge_cli.moc"
