// The real `olm merge` binary on a tiny planted pool: SIGKILL at several
// moments and Ctrl-C (SIGINT, exit 130), then --resume, give the same report
// (timings aside) and bit-identical exported weights as an uninterrupted run;
// `olm export --report` rebuilds the same weights; --dry-run prints the plan
// (and --device-memory's).
// Run integrity: nothing the program did not write is deleted (export target,
// output_dir/merged), one run per output_dir (lock), resume refuses changed
// inputs, NaN scores read back, a shrinking pool file is a clear error, and
// duplicate YAML keys / an output_dir inside the pool are refused.
#include <QtTest/QtTest>

#include "core/io/model_folder.h"
#include "core/merge/report.h"
#include "core/util/json_text.h"
#include "merge/tiny_pool.h"

#include "tests/support/test_files.h"

#include <cmath>
#include <csignal>
#include <fstream>
#include <limits>

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
    nlohmann::json j;
    try {  // reports may hold NaN / Infinity literals
        j = olm::parse_json_text(std::string(std::istreambuf_iterator<char>(in), {}));
    } catch (const std::exception&) {
        return 0;
    }
    int n = 0;
    for (const char* s : {"base_model", "boundary_layers"})
        if (j.contains(s) && j[s].contains("candidates")) n += static_cast<int>(j[s]["candidates"].size());
    if (j.contains("layers"))
        for (const auto& l : j["layers"])
            n += static_cast<int>(l.value("candidates", nlohmann::json::object()).size());
    return n;
}

QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

std::string slurp(const fs::path& p) { return testing::read_text(p); }

// A config over the planted pool's models at explicit places.
std::string fp_config(const std::vector<std::string>& models, const std::string& extra) {
    std::string y = "models_dir: models\ndataset_dir: datasets_fp\nmodels:\n";
    for (const auto& m : models) y += "  - " + m + "\n";
    return y + "dataset:\n  planted.json:\n    mode: bigram\nsamples: 0\nbase_model_name: base\n" + extra;
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
        QVERIFY2(
            r.out.contains("weights on the device: ") && r.out.contains("(all 3 layers resident) on cpu"),
            qPrintable(r.out));
    }

    // --device-memory overrides the config: auto on the CPU keeps everything
    // resident; a budget below boundary + two layers is refused with the
    // least that works; a malformed size names the flag.
    void deviceMemoryFlag() {
        const QString cfg = QString::fromStdString(m_config.string());
        Run r = olm_cli({"merge", cfg, "--dry-run", "--device-memory", "auto"});
        QVERIFY2(r.code == 0 && r.out.contains("(all 3 layers resident)"), qPrintable(r.out));
        r = olm_cli({"merge", cfg, "--dry-run", "--device-memory", "1"});
        QVERIFY2(r.code != 0 && r.out.contains("cannot hold the boundary") && r.out.contains("at least"),
                 qPrintable(r.out));
        r = olm_cli({"merge", cfg, "--dry-run", "--device-memory", "12 parsecs"});
        QVERIFY2(r.code != 0 && r.out.contains("--device-memory: memory size '12 parsecs'"),
                 qPrintable(r.out));
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

    // Defect 1: `olm export --out DIR` never deletes a folder it did not write,
    // with or without --overwrite; the user's files stay.
    void exportRefusesAFolderOfUserFiles() {
        const fs::path dst = m_pool.dir / "user_folder";
        fs::create_directories(dst / "sub");
        testing::write_text(dst / "notes.txt", "mine");
        testing::write_text(dst / "sub" / "data.csv", "1,2");
        for (bool overwrite : {false, true}) {
            QStringList a{"export", "--report", q(m_out / "merge_report.json"),
                          "--out",  q(dst),     "--no-verify"};
            if (overwrite) a << "--overwrite";
            const Run r = olm_cli(a);
            QCOMPARE(r.code, 1);
            QVERIFY2(r.out.contains(q(dst)) && r.out.contains("notes.txt") && r.out.contains("never deleted"),
                     qPrintable(r.out));
            QCOMPARE(slurp(dst / "notes.txt"), std::string("mine"));
            QCOMPARE(slurp(dst / "sub" / "data.csv"), std::string("1,2"));
        }
    }

    // A previous export is replaced only with --overwrite, atomically, leaving
    // no temporary folder beside it.
    void exportReplacesAPreviousExportWithOverwrite() {
        const fs::path dst = m_pool.dir / "exported_twice";
        const QStringList a{"export", "--report", q(m_out / "merge_report.json"),
                            "--out",  q(dst),     "--no-verify"};
        Run r = olm_cli(a);
        QVERIFY2(r.code == 0, qPrintable(r.out));
        r = olm_cli(a);
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains("holds a previous export") && r.out.contains("--overwrite"),
                 qPrintable(r.out));
        r = olm_cli(QStringList(a) << "--overwrite");
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QVERIFY(file_bytes(dst) == m_weights);
        for (const auto& e : fs::directory_iterator(m_pool.dir))
            QVERIFY2(e.path().filename().string().rfind(".exported_twice.", 0) != 0, e.path().c_str());
    }

    // Defect 13: the temporary folder a killed export left is removed by the
    // next export to that target; one that is not recognisably ours is not.
    void exportRemovesStalePartialFolders() {
        const fs::path dst = m_pool.dir / "after_kill";
        const fs::path stale = m_pool.dir / ".after_kill.partial-99999-1";
        const fs::path foreign = m_pool.dir / ".after_kill.partial-5-5";
        fs::create_directories(stale);
        testing::write_text(stale / ".olm-export.json",
                            R"({"written_by": "OLM Studio 0.1.0", "state": "partial", "pid": 99999})");
        testing::write_text(stale / "model-00001-of-00002.safetensors", std::string(4096, 'x'));
        fs::create_directories(foreign);
        testing::write_text(foreign / "keep.txt", "not ours");
        const Run r =
            olm_cli({"export", "--report", q(m_out / "merge_report.json"), "--out", q(dst), "--no-verify"});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QVERIFY(!fs::exists(stale));
        QVERIFY2(r.out.contains("removed " + q(stale)), qPrintable(r.out));
        QCOMPARE(slurp(foreign / "keep.txt"), std::string("not ours"));
        QVERIFY2(r.out.contains("left alone: " + q(foreign)), qPrintable(r.out));
    }

    // Defect 2: output_dir/merged holding the user's files is refused before
    // the search starts, and kept.
    void mergeRefusesAMergedFolderOfUserFiles() {
        const fs::path cfg = m_pool.dir / "user_merged.yaml";
        std::ofstream(cfg) << testing::pool_config(m_pool, "base_model_name: base\noutput_dir: out_user\n");
        fs::create_directories(m_pool.dir / "out_user" / "merged");
        testing::write_text(m_pool.dir / "out_user" / "merged" / "model.safetensors", "my own model");
        const Run r = olm_cli({"merge", q(cfg)});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains(q(m_pool.dir / "out_user" / "merged")) && r.out.contains("never deleted"),
                 qPrintable(r.out));
        QCOMPARE(slurp(m_pool.dir / "out_user" / "merged" / "model.safetensors"),
                 std::string("my own model"));
        QVERIFY(!fs::exists(m_pool.dir / "out_user" / "merge_report.json"));  // refused before the search
    }

    // Defect 7: a second merge on a busy output_dir is refused naming the
    // first one's pid; once the first is killed its lock is taken over.
    void secondRunOnOneFolderIsRefused() {
        fs::remove_all(m_out);
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(OLM_CLI_PATH, {"merge", q(m_config)});
        QVERIFY(p.waitForStarted());
        while (p.state() != QProcess::NotRunning && recorded(m_out / "merge_report.json") < 1)
            QThread::msleep(2);
        if (p.state() == QProcess::NotRunning) QSKIP("the merge finished before the second run");
        ::kill(static_cast<pid_t>(p.processId()), SIGSTOP);  // holds the lock, does nothing
        const Run second = olm_cli({"merge", q(m_config)});
        const QString pid = QString::number(p.processId());
        ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
        p.waitForFinished();
        QCOMPARE(second.code, 1);
        QVERIFY2(second.out.contains("is in use by another run (pid " + pid), qPrintable(second.out));
        QVERIFY(recorded(m_out / "merge_report.json") >= 1);  // the first run's report is intact
        const Run r = olm_cli({"merge", q(m_config), "--resume"});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QCOMPARE(without_timings(MergeReport::load(m_out / "merge_report.json").json()).dump(), m_report);
    }

    // Defect 6: a pool model with NaN weights: its scores are NaN in the report
    // (not null), and --resume and export read that report.
    void nanScoresReadBack() {
        testing::write_model_from(m_pool.dir / "models" / "base", m_pool.dir / "models" / "nanmodel",
                                  [](const std::string&, const at::Tensor& t) {
                                      return at::full_like(t, std::numeric_limits<float>::quiet_NaN());
                                  });
        testing::PlantedPool with_nan = m_pool;
        with_nan.models.push_back("nanmodel");
        const fs::path cfg = m_pool.dir / "nan.yaml";
        std::ofstream(cfg) << testing::pool_config(
            with_nan, "base_model_name: base\nlayer_swap: false\noutput_dir: out_nan\n");
        Run r = olm_cli({"merge", q(cfg)});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        const fs::path report = m_pool.dir / "out_nan" / "merge_report.json";
        const std::string text = slurp(report);
        QVERIFY2(text.find("NaN") != std::string::npos, text.c_str());
        const auto j = MergeReport::load(report).json();
        QVERIFY(std::isnan(j["references"]["nanmodel"]["metrics"]["planted.json"].get<double>()));
        QVERIFY(j["safeguard"]["best_model"].get<std::string>() != "nanmodel");  // no NaN yardstick
        r = olm_cli({"merge", q(cfg), "--resume"});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        r = olm_cli({"export", "--report", q(report), "--out", q(m_pool.dir / "nan_export")});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QVERIFY2(r.out.contains("verified"), qPrintable(r.out));
    }

    // Defect 8: --resume after a dataset's or a pool weight file's contents
    // changed (same paths) is refused naming the file; --force accepts.
    void resumeRefusesChangedInputs() {
        fs::create_directories(m_pool.dir / "datasets_fp");
        fs::copy_file(m_pool.dir / "datasets" / m_pool.dataset, m_pool.dir / "datasets_fp" / m_pool.dataset,
                      fs::copy_options::overwrite_existing);
        fs::remove_all(m_pool.dir / "models" / "m2copy");
        fs::copy(m_pool.dir / "models" / "m2", m_pool.dir / "models" / "m2copy", fs::copy_options::recursive);
        const fs::path cfg = m_pool.dir / "fp.yaml";
        std::ofstream(cfg) << fp_config({"base", "m0", "m1", "m2copy"},
                                        "layer_swap: false\noutput_dir: out_fp\n");
        Run r = olm_cli({"merge", q(cfg), "--no-export"});
        QVERIFY2(r.code == 0, qPrintable(r.out));

        const fs::path ds = m_pool.dir / "datasets_fp" / m_pool.dataset;
        const std::string original = slurp(ds);
        auto j = nlohmann::json::parse(original);
        QVERIFY(j.is_array() && j.size() > 1);
        j.erase(j.size() - 1);  // one conversation fewer
        testing::write_text(ds, j.dump());
        r = olm_cli({"merge", q(cfg), "--no-export", "--resume"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains("dataset planted.json (" + q(ds) + "): contents changed"), qPrintable(r.out));
        QVERIFY2(r.out.contains("--force"), qPrintable(r.out));
        r = olm_cli({"merge", q(cfg), "--no-export", "--resume", "--force"});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        QVERIFY2(r.out.contains("resuming despite changed inputs"), qPrintable(r.out));
        // The forced run recorded the new contents: a plain resume agrees now.
        r = olm_cli({"merge", q(cfg), "--no-export", "--resume"});
        QVERIFY2(r.code == 0, qPrintable(r.out));

        const fs::path weights = m_pool.dir / "models" / "m2copy" / "model.safetensors";
        testing::write_model_from(m_pool.dir / "models" / "m2", m_pool.dir / "m2scaled",
                                  [](const std::string&, const at::Tensor& t) { return t * 1.5; });
        fs::copy_file(m_pool.dir / "m2scaled" / "model.safetensors", weights,
                      fs::copy_options::overwrite_existing);
        r = olm_cli({"merge", q(cfg), "--no-export", "--resume"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains("pool model m2copy: file model.safetensors (" + q(weights) +
                                "): contents changed"),
                 qPrintable(r.out));
    }

    // Defect 12: a pool file truncated while the merge runs is a clear error
    // naming it (not a silent SIGBUS death); restored, the report resumes.
    void poolFileTruncatedDuringTheRun() {
        fs::create_directories(m_pool.dir / "datasets_fp");
        fs::copy_file(m_pool.dir / "datasets" / m_pool.dataset, m_pool.dir / "datasets_fp" / m_pool.dataset,
                      fs::copy_options::overwrite_existing);
        fs::remove_all(m_pool.dir / "models" / "m2trunc");
        fs::copy(m_pool.dir / "models" / "m2", m_pool.dir / "models" / "m2trunc",
                 fs::copy_options::recursive);
        const fs::path cfg = m_pool.dir / "trunc.yaml";
        std::ofstream(cfg) << fp_config({"base", "m0", "m1", "m2trunc"}, "output_dir: out_trunc\n");
        const fs::path weights = m_pool.dir / "models" / "m2trunc" / "model.safetensors";
        const std::string bytes = slurp(weights);
        const fs::path report = m_pool.dir / "out_trunc" / "merge_report.json";
        fs::remove_all(m_pool.dir / "out_trunc");
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(OLM_CLI_PATH, {"merge", q(cfg)});
        QVERIFY(p.waitForStarted());
        // waitForReadyRead drains the child's output (a full pipe would block it) and
        // updates the process state, which a plain sleep never does.
        while (p.state() != QProcess::NotRunning && recorded(report) < 1) p.waitForReadyRead(5);
        // Held still while the file shrinks, so a fast machine cannot finish the
        // merge first: the truncation lands mid-run whatever the speed.
        const bool stopped = p.state() != QProcess::NotRunning && ::kill(p.processId(), SIGSTOP) == 0;
        if (!stopped) QSKIP("the merge finished before the truncation");
        fs::resize_file(weights, bytes.size() / 2);
        ::kill(p.processId(), SIGCONT);
        QVERIFY(p.waitForFinished(120000));
        const QString out = QString::fromUtf8(p.readAll());
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);  // no death by signal
        QCOMPARE(p.exitCode(), 1);
        QVERIFY2(out.contains(q(weights)), qPrintable(out));
        QVERIFY2(out.contains("--resume"), qPrintable(out));
        testing::write_text(weights, bytes);  // restored
        const Run r = olm_cli({"merge", q(cfg), "--resume"});
        QVERIFY2(r.code == 0, qPrintable(r.out));
    }

    // Defect 11: a duplicated key names both lines; an output_dir inside a pool
    // model's folder is refused before anything is written.
    void configDuplicateKeyAndOutputInsideThePool() {
        const fs::path dup = m_pool.dir / "dup.yaml";
        std::ofstream(dup) << "models: [base, m0]\nmodels_dir: models\ndataset_dir: datasets\n"
                              "dataset: {planted.json: {mode: bigram}}\nmodels: [m1]\n";
        Run r = olm_cli({"merge", q(dup)});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains("dup.yaml:5: models: duplicate key (first at line 1)"), qPrintable(r.out));
        const fs::path inside = m_pool.dir / "inside.yaml";
        std::ofstream(inside) << testing::pool_config(m_pool, "output_dir: models/m0/merge\n");
        r = olm_cli({"merge", q(inside)});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains("output_dir: " + q(m_pool.dir / "models" / "m0" / "merge") +
                                " lies inside the folder of pool model m0"),
                 qPrintable(r.out));
        QVERIFY(!fs::exists(m_pool.dir / "models" / "m0" / "merge"));
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
