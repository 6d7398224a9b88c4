// The real `olm` binary on hostile input files: each case must end promptly
// with exit 1 and an error naming the file and the problem, never a crash,
// a hang, unbounded memory or a NaN score reported as success.
//   - token ids outside [0, max] in tokenizer.json (olm tokenize, olm merge)
//   - JSON nested 100,000 levels deep (tokenizer.json, config.json of the
//     merge base, a safetensors __metadata__ value, a dataset)
//   - num_hidden_layers 1e8 (olm inspect)
//   - rope_theta <= 0, rms_norm_eps < 0 (olm eval)
//   - a FIFO or /dev/zero as dataset, weight file, config.json or merge config
#include "tests/support/tiny_model.h"

#include <nlohmann/json.hpp>

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Run {
    bool finished = false;
    bool crashed = false;
    int code = -1;
    QString err;
    qint64 ms = 0;
};

Run run_olm(const QStringList& args, int timeout_ms = 60000) {
    QProcess p;
    QElapsedTimer t;
    t.start();
    p.start(QStringLiteral(OLM_CLI_PATH), args);
    Run r;
    r.finished = p.waitForFinished(timeout_ms);
    if (!r.finished) {
        p.kill();
        p.waitForFinished();
    }
    r.crashed = p.exitStatus() == QProcess::CrashExit;
    r.code = p.exitCode();
    r.err = QString::fromUtf8(p.readAllStandardError());
    r.ms = t.elapsed();
    return r;
}

QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void copy_folder(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// Candidates a merge report recorded (0 when there is no report).
int recorded_candidates(const fs::path& report) {
    if (!fs::exists(report)) return 0;
    const json j = json::parse(read_all(report));
    int n = 0;
    for (const char* s : {"base_model", "boundary_layers"})
        if (j.contains(s) && j[s].contains("candidates")) n += static_cast<int>(j[s]["candidates"].size());
    if (j.contains("layers"))
        for (const auto& l : j["layers"]) n += static_cast<int>(l.value("candidates", json::object()).size());
    return n;
}

std::string deep(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

// Exit 1, promptly, no signal, and stderr contains every needle.
#define EXPECT_REFUSED(run, ...)                                                             \
    do {                                                                                     \
        const Run& r_ = (run);                                                               \
        QVERIFY2(r_.finished, "olm did not finish (hang)");                                  \
        QVERIFY2(!r_.crashed, qPrintable("olm crashed: " + r_.err));                         \
        QVERIFY2(r_.code == 1, qPrintable(QString("exit %1: %2").arg(r_.code).arg(r_.err))); \
        for (const QString& n_ : QStringList{__VA_ARGS__})                                   \
            QVERIFY2(r_.err.contains(n_), qPrintable("missing '" + n_ + "' in: " + r_.err)); \
    } while (0)

}  // namespace

class TestHostileInput : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    fs::path m_root, m_base, m_dataset;

    // A pool folder {base, m1} whose base is `base_folder`, and its merge config.
    fs::path merge_project(const std::string& name, const fs::path& base_folder) {
        const fs::path proj = m_root / name;
        copy_folder(base_folder, proj / "pool" / "base");
        olm::testing::derive_model(m_base, proj / "pool" / "m1", 3, {1});
        fs::copy_file(m_dataset, proj / "data.json");
        const fs::path cfg = proj / "merge.yaml";
        std::ofstream(cfg) << "models_dir: pool\nmodels: [base, m1]\nbase_model_name: base\n"
                              "output_dir: out\ndataset:\n  data.json: {mode: exact}\n";
        return cfg;
    }

    // A copy of the base with config.json edited by fn.
    fs::path with_config(const std::string& name, const std::function<void(json&)>& fn) {
        const fs::path dir = m_root / name;
        copy_folder(m_base, dir);
        json c = json::parse(read_all(dir / "config.json"));
        fn(c);
        std::ofstream(dir / "config.json", std::ios::trunc) << c.dump(2);
        return dir;
    }

    // A copy of the base whose tokenizer.json vocabulary gets token -> id.
    fs::path with_vocab_id(const std::string& name, const std::string& id_json) {
        const fs::path dir = m_root / name;
        copy_folder(m_base, dir);
        json t = json::parse(read_all(dir / "tokenizer.json"));
        t["model"]["vocab"]["zz-hostile"] = json::parse(id_json);
        std::ofstream(dir / "tokenizer.json", std::ios::trunc) << t.dump();
        return dir;
    }

private slots:
    void initTestCase() {
        m_root = m_dir.path().toStdString();
        olm::testing::TinyModelOptions o;
        o.vocab = 512;
        o.eos_ids = {511};
        o.tokenizer_from = fs::path(OLM_TEST_DATA_DIR) / "tokenizers" / "tiny-bytelevel";
        m_base = m_root / "base";
        olm::testing::write_tiny_model(m_base, o);
        m_dataset = m_root / "data.json";
        std::ofstream(m_dataset)
            << R"([{"conversation": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]},
{"conversation": [{"from": "human", "value": "3+3?"}, {"from": "gpt", "value": "6"}]}])";
        // The untouched base is accepted by every command used below.
        const Run ok = run_olm({"eval", q(m_base), "--dataset", q(m_dataset), "--mode", "exact"});
        QVERIFY2(ok.finished && ok.code == 0, qPrintable(ok.err));
    }

    // Defect 3: a negative id wrote outside the token table (segfault); 2^40
    // wrapped to 0 silently.
    void tokenizerIdsOutOfRange_data() {
        QTest::addColumn<QString>("id");
        QTest::newRow("negative") << "-5";
        QTest::newRow("2^40") << "1099511627776";
        QTest::newRow("2^31-1") << "2147483647";  // would size a 2^31-entry table
        QTest::newRow("not an integer") << "1.5";
    }
    void tokenizerIdsOutOfRange() {
        QFETCH(QString, id);
        const fs::path dir =
            with_vocab_id("tok-id-" + std::string(QTest::currentDataTag()), id.toStdString());
        EXPECT_REFUSED(run_olm({"tokenize", q(dir), "hello"}),
                       q(dir / "tokenizer.json") + ": vocabulary token",
                       "\"zz-hostile\" has id " + id + ", outside [0, 4194303]");
    }
    void mergeWithBadBaseTokenizer() {
        const fs::path cfg = merge_project("merge-bad-tok", with_vocab_id("tok-for-merge", "-1"));
        EXPECT_REFUSED(run_olm({"merge", q(cfg)}), "tokenizer.json: vocabulary token",
                       "has id -1, outside [0, 4194303]");
        QCOMPARE(recorded_candidates(cfg.parent_path() / "out" / "merge_report.json"), 0);
    }

    // Defect 4: 100,000+ levels of nesting overflowed the stack.
    void deepTokenizerJson() {
        const fs::path dir = m_root / "tok-deep";
        copy_folder(m_base, dir);
        std::ofstream(dir / "tokenizer.json", std::ios::trunc)
            << R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "normalizer": )" << deep(100000)
            << "}";
        EXPECT_REFUSED(run_olm({"tokenize", q(dir), "hello"}),
                       q(dir / "tokenizer.json") + ": JSON nested deeper than 256 levels (at byte ");
    }
    void deepBaseConfigStopsMergeBeforeTheSearch() {
        const fs::path base = m_root / "cfg-deep";
        copy_folder(m_base, base);
        std::string text = read_all(base / "config.json");
        text.insert(text.rfind('}'), ", \"x\": " + deep(100000));
        std::ofstream(base / "config.json", std::ios::trunc) << text;
        const fs::path cfg = merge_project("merge-deep-cfg", base);
        EXPECT_REFUSED(run_olm({"merge", q(cfg)}), "config.json: JSON nested deeper than 256 levels");
        // Refused before the search scores a candidate (the export used to crash at the end).
        QCOMPARE(recorded_candidates(cfg.parent_path() / "out" / "merge_report.json"), 0);
    }
    void deepSafetensorsMetadata() {
        const fs::path dir = m_root / "st-deep";
        copy_folder(m_base, dir);
        const std::string header = R"({"__metadata__": {"k": )" + deep(100000) + "}}";
        std::string bytes(8, '\0');
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
        std::ofstream(dir / "model.safetensors", std::ios::trunc | std::ios::binary) << bytes << header;
        EXPECT_REFUSED(run_olm({"inspect", q(dir)}),
                       q(dir / "model.safetensors") + ": header JSON nested deeper than 256 levels");
    }
    void deepDataset() {
        const fs::path file = m_root / "deep.json";
        std::ofstream(file) << R"([{"conversation": )" << deep(100000) << "}]";
        EXPECT_REFUSED(run_olm({"eval", q(m_base), "--dataset", q(file), "--mode", "exact"}),
                       "dataset " + q(file) + ": JSON nested deeper than 256 levels");
    }

    // Defect 5: 1e8 layers made inspect grow without bound (7.4 GB in 24 s).
    void hugeLayerCount() {
        const fs::path dir = with_config("layers-1e8", [](json& c) { c["num_hidden_layers"] = 100000000; });
        const Run r = run_olm({"inspect", q(dir)}, 30000);
        EXPECT_REFUSED(r, q(dir / "config.json") +
                              ": key 'num_hidden_layers' is 100000000, above the supported maximum of 4096");
        QVERIFY2(r.ms < 20000, qPrintable(QString("took %1 ms").arg(r.ms)));
    }

    // Defect 9: rope_theta <= 0 or a negative rms_norm_eps gave NaN scores, exit 0.
    void nonPositiveRopeAndEps_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<double>("value");
        QTest::addColumn<QString>("shown");
        QTest::newRow("rope_theta 0") << "rope_theta" << 0.0 << "0";
        QTest::newRow("rope_theta -1e4") << "rope_theta" << -10000.0 << "-10000";
        QTest::newRow("rms_norm_eps -1e-6") << "rms_norm_eps" << -1e-6 << "-1e-06";
    }
    void nonPositiveRopeAndEps() {
        QFETCH(QString, key);
        QFETCH(double, value);
        QFETCH(QString, shown);
        const fs::path dir = with_config("cfg-" + std::string(QTest::currentDataTag()),
                                         [&](json& c) { c[key.toStdString()] = value; });
        EXPECT_REFUSED(
            run_olm({"eval", q(dir), "--dataset", q(m_dataset), "--mode", "exact"}),
            q(dir / "config.json") + ": key '" + key + "' must be a positive number, found " + shown);
    }

    // Defect 10: a FIFO hung; /dev/zero grew memory until std::bad_alloc.
    void specialFiles() {
        const fs::path fifo = m_root / "fifo.json";
        QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);
        EXPECT_REFUSED(run_olm({"eval", q(m_base), "--dataset", q(fifo), "--mode", "exact"}, 30000),
                       "dataset " + q(fifo) + ": a FIFO (named pipe), not a regular file; refused");
        EXPECT_REFUSED(run_olm({"eval", q(m_base), "--dataset", "/dev/zero", "--mode", "exact"}, 30000),
                       "dataset /dev/zero: a character device, not a regular file; refused");

        const fs::path weights = m_root / "fifo-weights";
        copy_folder(m_base, weights);
        fs::remove(weights / "model.safetensors");
        QCOMPARE(::mkfifo((weights / "model.safetensors").c_str(), 0600), 0);
        EXPECT_REFUSED(
            run_olm({"inspect", q(weights)}, 30000),
            q(weights / "model.safetensors") + ": a FIFO (named pipe), not a regular file; refused");

        const fs::path zero_cfg = m_root / "zero-config";
        copy_folder(m_base, zero_cfg);
        fs::remove(zero_cfg / "config.json");
        fs::create_symlink("/dev/zero", zero_cfg / "config.json");
        EXPECT_REFUSED(run_olm({"inspect", q(zero_cfg)}, 30000),
                       q(zero_cfg / "config.json") + ": a character device, not a regular file; refused");

        const fs::path yaml = m_root / "fifo.yaml";
        QCOMPARE(::mkfifo(yaml.c_str(), 0600), 0);
        EXPECT_REFUSED(run_olm({"merge", q(yaml)}, 30000),
                       "merge config " + q(yaml) + ": a FIFO (named pipe), not a regular file; refused");
    }
};

QTEST_GUILESS_MAIN(TestHostileInput)
#include "test_hostile_input.moc"
