// launch_from_env: torchrun's and SLURM's variables as those launchers set
// them (torch.distributed.run's worker environment; SLURM's srun(1) OUTPUT
// ENVIRONMENT VARIABLES), the agent's store, and clear errors for what is
// missing or malformed; rank_device places one rank per GPU.
#include <QtTest/QtTest>

#include "core/dist/peers.h"
#include "core/util/error.h"

#include <map>
#include <string>

using namespace olm;

namespace {

using Env = std::map<std::string, std::string>;

std::optional<LaunchInfo> launch(const Env& env) {
    return launch_from_env([&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

QString error_of(const Env& env) {
    try {
        launch(env);
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestLaunchEnv : public QObject {
    Q_OBJECT
private slots:
    void noLaunchIsOneProcess() {
        QVERIFY(!launch({}));
        QVERIFY(!launch({{"RANK", "0"}, {"WORLD_SIZE", "1"}}));
        QVERIFY(!launch({{"SLURM_NTASKS", "1"}, {"SLURM_PROCID", "0"}}));
    }

    void torchrun() {
        // What torchrun --nproc-per-node 4 --nnodes 2 sets on the second host's third worker.
        const auto i = launch({{"RANK", "6"},
                               {"WORLD_SIZE", "8"},
                               {"LOCAL_RANK", "2"},
                               {"LOCAL_WORLD_SIZE", "4"},
                               {"MASTER_ADDR", "node0"},
                               {"MASTER_PORT", "29400"},
                               {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                               {"TORCHELASTIC_RUN_ID", "abc"},
                               {"TORCHELASTIC_RESTART_COUNT", "1"}});
        QVERIFY(i);
        QCOMPARE(i->rank, 6);
        QCOMPARE(i->world_size, 8);
        QCOMPARE(i->local_rank, 2);
        QCOMPARE(i->local_world_size, 4);
        QCOMPARE(i->master_addr, std::string("node0"));
        QCOMPARE(i->master_port, 29400);
        QVERIFY(i->agent_store);
        // The agent holds MASTER_PORT with a store of its own torch's protocol:
        // olm's store (rank 0 hosts it) is on the next port, or on OLM_DIST_PORT.
        QCOMPARE(i->store_port, 29401);
        QCOMPARE(i->run_id, std::string("abc.1"));
        QCOMPARE(i->timeout_s, 10.0);
        // By hand: no agent, the default port.
        const auto h = launch({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}});
        QVERIFY(h && !h->agent_store);
        QCOMPARE(h->master_port, 29500);
        QCOMPARE(h->store_port, 29500);
        QCOMPARE(h->run_id, std::string("run"));
        const auto o = launch({{"RANK", "1"},
                               {"WORLD_SIZE", "2"},
                               {"MASTER_ADDR", "node0"},
                               {"MASTER_PORT", "29400"},
                               {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                               {"OLM_DIST_PORT", "31000"}});
        QVERIFY(o);
        QCOMPARE(o->store_port, 31000);
        QVERIFY_THROWS_EXCEPTION(Error, launch({{"RANK", "1"},
                                                {"WORLD_SIZE", "2"},
                                                {"MASTER_ADDR", "node0"},
                                                {"MASTER_PORT", "65535"},
                                                {"TORCHELASTIC_USE_AGENT_STORE", "True"}}));
        QVERIFY_THROWS_EXCEPTION(
            Error,
            launch(
                {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "node0"}, {"OLM_DIST_PORT", "70000"}}));
    }

    void slurm() {
        const auto i = launch({{"SLURM_PROCID", "5"},
                               {"SLURM_NTASKS", "8"},
                               {"SLURM_LOCALID", "1"},
                               {"SLURM_TASKS_PER_NODE", "4(x2)"},
                               {"SLURM_JOB_ID", "77"},
                               {"SLURM_STEP_ID", "0"},
                               {"SLURM_LAUNCH_NODE_IPADDR", "10.0.0.1"},
                               {"OLM_DIST_TIMEOUT", "30"}});
        QVERIFY(i);
        QCOMPARE(i->rank, 5);
        QCOMPARE(i->world_size, 8);
        QCOMPARE(i->local_rank, 1);
        QCOMPARE(i->local_world_size, 4);
        QCOMPARE(i->master_addr, std::string("10.0.0.1"));
        QCOMPARE(i->run_id, std::string("77.0"));
        QCOMPARE(i->launcher, std::string("slurm"));
        QCOMPARE(i->timeout_s, 30.0);
        // MASTER_ADDR wins over the launch node.
        const auto m = launch({{"SLURM_PROCID", "0"},
                               {"SLURM_NTASKS", "2"},
                               {"MASTER_ADDR", "head"},
                               {"SLURM_LAUNCH_NODE_IPADDR", "10.0.0.1"}});
        QCOMPARE(m->master_addr, std::string("head"));
    }

    void errorsNameTheVariable_data() {
        QTest::addColumn<QVariantMap>("env");
        QTest::addColumn<QString>("message");
        QTest::newRow("rank alone") << QVariantMap{{"RANK", "1"}}
                                    << "RANK and WORLD_SIZE must be set together";
        QTest::newRow("no master") << QVariantMap{{"RANK", "1"}, {"WORLD_SIZE", "2"}}
                                   << "MASTER_ADDR is not set";
        QTest::newRow("bad rank") << QVariantMap{{"RANK", "x"}, {"WORLD_SIZE", "2"}}
                                  << "RANK='x' is not an integer";
        QTest::newRow("rank too big") << QVariantMap{{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}
                                      << "rank 2 is outside 0..1";
        QTest::newRow("bad port") << QVariantMap{{"RANK", "0"},
                                                 {"WORLD_SIZE", "2"},
                                                 {"MASTER_ADDR", "h"},
                                                 {"MASTER_PORT", "70000"}}
                                  << "MASTER_PORT must be in 1..65535";
        QTest::newRow("slurm without procid")
            << QVariantMap{{"SLURM_NTASKS", "2"}} << "SLURM_NTASKS is set but SLURM_PROCID is not";
        QTest::newRow("slurm without master") << QVariantMap{{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "0"}}
                                              << "set MASTER_ADDR to the first node";
        QTest::newRow("bad timeout") << QVariantMap{{"OLM_DIST_TIMEOUT", "0"}}
                                     << "OLM_DIST_TIMEOUT must be at least 1";
    }
    void errorsNameTheVariable() {
        QFETCH(QVariantMap, env);
        QFETCH(QString, message);
        Env e;
        for (auto it = env.begin(); it != env.end(); ++it)
            e[it.key().toStdString()] = it.value().toString().toStdString();
        const QString got = error_of(e);
        QVERIFY2(got.contains(message), qPrintable(got));
    }

    void cpuRanksStayOnTheCpu() {
        LaunchInfo i;
        i.rank = 1;
        i.local_rank = 1;
        i.world_size = 2;
        QCOMPARE(rank_device("cpu", i), std::string("cpu"));
        // This build's host has no GPU (CI): auto means cpu, cuda is refused by name.
        if (!at::hasCUDA()) {
            QCOMPARE(rank_device("", i), std::string(""));
            QVERIFY_THROWS_EXCEPTION(Error, rank_device("cuda", i));
        }
    }
};

QTEST_APPLESS_MAIN(TestLaunchEnv)
#include "test_launch_env.moc"
