// `olm merge` as several processes on one machine over loopback, with the
// launch variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and SLURM's (SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID): 2 and 3 ranks write the same report (timings
// aside) and bit-identical weights as one process, raced and not; a rank
// killed with SIGKILL stops the others within seconds with an error naming
// it, and --resume with another number of ranks then gives the one-process
// result; losing rank 0 (the store's host) is an error on the others; a rank
// with another config stops every rank with an error naming it.
#include <QtTest/QtTest>

#include "core/merge/report.h"
#include "core/util/json_text.h"
#include "merge/tiny_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>

using namespace olm;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// A loopback port nobody listens on now.
int free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

std::map<std::string, std::string> file_bytes(const fs::path& folder) {
    std::map<std::string, std::string> out;
    if (!fs::is_directory(folder)) return out;
    for (const auto& e : fs::directory_iterator(folder)) {
        if (e.path().extension() != ".safetensors") continue;
        std::ifstream in(e.path(), std::ios::binary);
        out[e.path().filename().string()] = std::string((std::istreambuf_iterator<char>(in)), {});
    }
    return out;
}

// The report without what differs between output folders and runs.
std::string report_text(const fs::path& out) {
    nlohmann::json j = without_timings(MergeReport::load(out / "merge_report.json").json());
    j["config"].erase("output_dir");
    if (j.contains("export")) j["export"].erase("folder");
    return j.dump();
}

// Candidates recorded in a report (0 while it is absent or half-written).
int recorded(const fs::path& report) {
    try {
        const nlohmann::json j = MergeReport::load(report).json();
        int n = 0;
        for (const char* s : {"base_model", "boundary_layers"})
            if (j.contains(s) && j[s].contains("candidates"))
                n += static_cast<int>(j[s]["candidates"].size());
        if (j.contains("layers"))
            for (const auto& l : j["layers"])
                n += static_cast<int>(l.value("candidates", nlohmann::json::object()).size());
        return n;
    } catch (const std::exception&) {
        return 0;
    }
}

enum class Launcher { torchrun, slurm };

// The ranks of one launch of `olm merge config extra...`.
class Launch {
public:
    Launch(const fs::path& config, int ranks, Launcher how, const QStringList& extra = {},
           const std::map<int, fs::path>& config_of = {}) {
        const QString port = QString::number(free_port());
        for (int r = 0; r < ranks; ++r) {
            auto p = std::make_unique<QProcess>();
            p->setProcessChannelMode(QProcess::MergedChannels);
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert("MASTER_ADDR", "127.0.0.1");
            env.insert("MASTER_PORT", port);
            env.insert("OLM_DIST_TIMEOUT", "3");
            if (how == Launcher::torchrun) {
                env.insert("RANK", QString::number(r));
                env.insert("WORLD_SIZE", QString::number(ranks));
                env.insert("LOCAL_RANK", QString::number(r));
                env.insert("LOCAL_WORLD_SIZE", QString::number(ranks));
            } else {
                env.insert("SLURM_PROCID", QString::number(r));
                env.insert("SLURM_NTASKS", QString::number(ranks));
                env.insert("SLURM_LOCALID", QString::number(r));
                env.insert("SLURM_NTASKS_PER_NODE", QString::number(ranks));
                env.insert("SLURM_JOB_ID", "4242");
            }
            p->setProcessEnvironment(env);
            const fs::path c = config_of.count(r) ? config_of.at(r) : config;
            p->start(OLM_CLI_PATH, QStringList{"merge", QString::fromStdString(c.string())} << extra);
            m_procs.push_back(std::move(p));
        }
        for (auto& p : m_procs) p->waitForStarted();
    }
    ~Launch() {
        for (auto& p : m_procs)
            if (p->state() != QProcess::NotRunning) {
                p->kill();
                p->waitForFinished();
            }
    }
    QProcess& rank(int r) { return *m_procs.at(static_cast<size_t>(r)); }
    int size() const { return static_cast<int>(m_procs.size()); }
    // Waits for every rank; false when one is still running after timeout_ms.
    bool wait(int timeout_ms = 240000) {
        for (auto& p : m_procs)
            if (!p->waitForFinished(timeout_ms) && p->state() != QProcess::NotRunning) return false;
        return true;
    }
    QString output(int r) { return QString::fromUtf8(rank(r).readAll()); }

private:
    std::vector<std::unique_ptr<QProcess>> m_procs;
};

}  // namespace

class TestDistributedCli : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    testing::PlantedPool m_pool;
    // By preset: the one-process report, and its weight files' bytes.
    std::map<std::string, std::string> m_report;
    std::map<std::string, std::map<std::string, std::string>> m_weights;

    // A config of the pool writing to out_<name>.
    fs::path config(const std::string& name, const std::string& search) {
        const fs::path c = m_pool.dir / (name + ".yaml");
        std::ofstream(c) << testing::pool_config(m_pool, "output_dir: out_" + name + "\nsearch: " + search +
                                                             "\nboundary_select: true\nsafeguard: warn\n");
        return c;
    }
    fs::path out(const std::string& name) const { return m_pool.dir / ("out_" + name); }

    void expect_single_process_result(const std::string& name, const std::string& search) {
        QCOMPARE(report_text(out(name)), m_report.at(search));
        QVERIFY(file_bytes(out(name) / "merged") == m_weights.at(search));
    }

private slots:
    void initTestCase() {
        m_pool = testing::make_planted_pool(fs::path(m_tmp.path().toStdString()) / "pool", 4, 0.01, 16);
        for (const std::string search : {"original", "better"}) {
            QProcess p;
            p.setProcessChannelMode(QProcess::MergedChannels);
            p.start(OLM_CLI_PATH,
                    {"merge", QString::fromStdString(config("one_" + search, search).string())});
            QVERIFY(p.waitForFinished(240000));
            QVERIFY2(p.exitCode() == 0, p.readAll().constData());
            m_report[search] = report_text(out("one_" + search));
            m_weights[search] = file_bytes(out("one_" + search) / "merged");
            QVERIFY(!m_weights[search].empty());
        }
        // The raced search stopped candidates, so its exchanges carry partial results.
        QVERIFY(m_report["better"].find("\"stopped\"") != std::string::npos);
    }

    void ranksGiveTheSingleProcessResult_data() {
        QTest::addColumn<QString>("search");
        QTest::addColumn<int>("ranks");
        QTest::addColumn<bool>("slurm");
        QTest::newRow("original, 2 ranks") << "original" << 2 << false;
        QTest::newRow("original, 3 ranks") << "original" << 3 << false;
        QTest::newRow("better (raced), 2 ranks") << "better" << 2 << false;
        QTest::newRow("better (raced), 3 ranks") << "better" << 3 << false;
        QTest::newRow("better (raced), 2 ranks under SLURM") << "better" << 2 << true;
    }
    void ranksGiveTheSingleProcessResult() {
        QFETCH(QString, search);
        QFETCH(int, ranks);
        QFETCH(bool, slurm);
        const std::string name = search.toStdString() + "_" + std::to_string(ranks) + (slurm ? "_slurm" : "");
        Launch l(config(name, search.toStdString()), ranks, slurm ? Launcher::slurm : Launcher::torchrun);
        QVERIFY(l.wait());
        for (int r = 0; r < ranks; ++r) {
            const QString o = l.output(r);
            QVERIFY2(l.rank(r).exitStatus() == QProcess::NormalExit && l.rank(r).exitCode() == 0,
                     qPrintable(o));
            if (r > 0) QVERIFY2(o.contains("search done; rank 0 writes"), qPrintable(o));
        }
        expect_single_process_result(name, search.toStdString());
        const auto j = MergeReport::load(out(name) / "merge_report.json").json();
        QCOMPARE(j["timings"]["ranks"].get<int>(), ranks);
    }

    // SIGKILL one rank mid-search: the others stop within seconds naming it;
    // the report then resumes over 2 ranks to the one-process result.
    void killedRankStopsTheOthersAndResumes() {
        const fs::path c = config("killed", "better");
        const fs::path report = out("killed") / "merge_report.json";
        {
            Launch l(c, 3, Launcher::torchrun);
            while (recorded(report) < 8 && l.rank(0).state() != QProcess::NotRunning) QThread::msleep(2);
            QVERIFY2(l.rank(0).state() != QProcess::NotRunning, "the merge ended before the kill point");
            ::kill(static_cast<pid_t>(l.rank(1).processId()), SIGKILL);
            const auto t0 = Clock::now();
            QVERIFY(l.wait(60000));
            const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
            for (int r : {0, 2}) {
                const QString o = l.output(r);
                QVERIFY2(l.rank(r).exitCode() != 0, qPrintable(o));
                QVERIFY2(o.contains("rank 1 of 3 stopped responding"), qPrintable(o));
                QVERIFY2(o.contains("--resume"), qPrintable(o));
            }
            // OLM_DIST_TIMEOUT 3 s, a heartbeat a second, a check every 0.5 s.
            QVERIFY2(waited < 20, qPrintable(QString::number(waited)));
        }
        QCOMPARE(MergeReport::load(report).json()["status"].get<std::string>(), std::string("running"));
        Launch resumed(c, 2, Launcher::torchrun, {"--resume"});
        QVERIFY(resumed.wait());
        for (int r = 0; r < 2; ++r) QVERIFY2(resumed.rank(r).exitCode() == 0, qPrintable(resumed.output(r)));
        expect_single_process_result("killed", "better");
    }

    // Rank 0 hosts the store: when it dies the others stop at once.
    void losingRankZeroStopsTheOthers() {
        const fs::path c = config("lost0", "original");
        Launch l(c, 2, Launcher::torchrun);
        while (recorded(out("lost0") / "merge_report.json") < 3 && l.rank(0).state() != QProcess::NotRunning)
            QThread::msleep(2);
        QVERIFY2(l.rank(0).state() != QProcess::NotRunning, "the merge ended before the kill point");
        ::kill(static_cast<pid_t>(l.rank(0).processId()), SIGKILL);
        QVERIFY(l.rank(1).waitForFinished(30000));
        const QString o = l.output(1);
        QVERIFY2(l.rank(1).exitCode() != 0, qPrintable(o));
        QVERIFY2(o.contains("rank 1 lost the store on 127.0.0.1"), qPrintable(o));
    }

    // Every rank must run rank 0's config: the odd one out names itself and
    // rank 0 shows its error.
    void anotherConfigOnOneRankIsRefused() {
        const fs::path c = config("mismatch", "original");
        const fs::path other = m_pool.dir / "mismatch_other.yaml";
        std::ofstream(other) << testing::pool_config(m_pool, "output_dir: out_mismatch\nsearch: better\n");
        Launch l(c, 2, Launcher::torchrun, {}, {{1, other}});
        QVERIFY(l.wait(60000));
        const QString o0 = l.output(0), o1 = l.output(1);
        QVERIFY2(l.rank(1).exitCode() != 0, qPrintable(o1));
        QVERIFY2(o1.contains("rank 1 of 2: its config differs from rank 0's"), qPrintable(o1));
        QVERIFY2(l.rank(0).exitCode() != 0, qPrintable(o0));
        QVERIFY2(o0.contains("rank 1 of 2 failed"), qPrintable(o0));
    }
};

QTEST_GUILESS_MAIN(TestDistributedCli)
#include "test_distributed_cli.moc"
