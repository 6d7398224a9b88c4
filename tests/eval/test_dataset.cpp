// Dataset files: accepted forms, errors row by row, the samples limit and the
// seeded held-out split.
#include "core/eval/dataset.h"
#include "core/util/error.h"
#include "support/test_files.h"

#include <sys/stat.h>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <set>

namespace fs = std::filesystem;

class TestDataset : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    fs::path write(const std::string& name, const std::string& text) {
        const fs::path p = fs::path(m_dir.path().toStdString()) / name;
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
private slots:
    void conversationForm() {
        const auto p = write("conv.json", R"([
          {"conversation": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "2+2?"},
                            {"from": "gpt", "value": "4"}], "source": "x", "answer_index": 1, "nbytes": 3},
          {"conversation": [{"from": "user", "value": "Hi"}, {"from": "assistant", "value": "Hello"}]}
        ])");
        const auto recs = olm::read_dataset_file(p, true);
        QCOMPARE(recs.size(), size_t(2));
        QCOMPARE(recs[0].turns.size(), size_t(3));
        QCOMPARE(recs[0].turns[0].role, std::string("system"));
        QCOMPARE(recs[0].turns[1].role, std::string("user"));
        QCOMPARE(recs[0].turns[2].role, std::string("assistant"));
        QCOMPARE(recs[0].turns[2].content, std::string("4"));
        QCOMPARE(recs[1].index, int64_t(1));
        QCOMPARE(recs[1].turns[0].role, std::string("user"));
    }
    void messagesFormAndJsonLines() {
        const auto p =
            write("msgs.jsonl",
                  "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", "
                  "\"content\": \"b\"}]}\n\n"
                  "{\"conversation\": [{\"from\": \"human\", \"value\": \"c\"}, {\"from\": \"gpt\", "
                  "\"value\": \"d\"}]}\n");
        const auto recs = olm::read_dataset_file(p, true);
        QCOMPARE(recs.size(), size_t(2));
        QCOMPARE(recs[0].turns[1].content, std::string("b"));
        QCOMPARE(recs[1].turns[0].content, std::string("c"));
        const auto arr = write("msgs.json", R"([{"messages": [{"role": "system", "content": "s"},
            {"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}]}])");
        QCOMPARE(olm::read_dataset_file(arr, true)[0].turns.size(), size_t(3));
    }
    void qualityAllowsAnEmptyFinalTurn() {
        const auto p = write(
            "quality.json",
            R"([{"conversation": [{"from": "human", "value": "Write a story."}, {"from": "gpt", "value": ""}]}])");
        QCOMPARE(olm::read_dataset_file(p, false).size(), size_t(1));
        QVERIFY_THROWS_EXCEPTION(olm::Error, olm::read_dataset_file(p, true));
    }

    void errors_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("requireResponse");
        QTest::addColumn<QString>("where");
        QTest::addColumn<QString>("problem");
        const QString ok =
            R"({"conversation": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "r"}]})";
        QTest::newRow("empty file") << "  \n"
                                    << true << ""
                                    << "empty";
        QTest::newRow("not json") << "[{\"conversation\": [}" << true << ""
                                  << "not JSON";
        QTest::newRow("plain text") << "hello" << true << ""
                                    << "not JSON";
        QTest::newRow("empty array") << "[]" << true << ""
                                     << "no samples";
        QTest::newRow("sample not object") << "[" + ok + ", 3]" << true << "sample 1"
                                           << "expected an object";
        QTest::newRow("no conversation key") << "[" + ok + ", {\"text\": \"x\"}]" << true << "sample 1"
                                             << "no \"conversation\" or \"messages\"";
        QTest::newRow("turns not array") << R"([{"conversation": "q"}])" << true << "sample 0"
                                         << "must be an array";
        QTest::newRow("no turns") << R"([{"conversation": []}])" << true << "sample 0"
                                  << "no turns";
        QTest::newRow("turn not object") << R"([{"conversation": ["q", "r"]}])" << true << "sample 0, turn 0"
                                         << "expected an object";
        QTest::newRow("unknown role")
            << R"([{"conversation": [{"from": "robot", "value": "q"}, {"from": "gpt", "value": "r"}]}])"
            << true << "sample 0, turn 0"
            << "unknown role \"robot\"";
        QTest::newRow("last not assistant")
            << "[" + ok +
                   R"(, {"conversation": [{"from": "gpt", "value": "r"}, {"from": "human", "value": "q"}]}])"
            << true << "sample 1"
            << "last turn must be the assistant";
        QTest::newRow("empty response")
            << R"([{"conversation": [{"from": "human", "value": "q"}, {"from": "gpt", "value": ""}]}])"
            << true << "sample 0"
            << "expected response";
        QTest::newRow("value not string")
            << R"([{"conversation": [{"from": "human", "value": 3}, {"from": "gpt", "value": "r"}]}])" << true
            << "sample 0, turn 0"
            << "must be a string";
        QTest::newRow("missing value")
            << R"([{"messages": [{"role": "user"}, {"role": "assistant", "content": "r"}]}])" << true
            << "sample 0, turn 0"
            << "no \"content\"";
        // A number past double's range is nlohmann's out_of_range, once not caught.
        QTest::newRow("number too large") << R"([{"conversation": [{"from": 6E666666666}]}])" << true << ""
                                          << "not JSON";
        QTest::newRow("jsonl number too large") << ok + "\n{\"conversation\": 1e999999}\n"
                                                << true << "sample 1 (line 2)"
                                                << "not JSON";
        QTest::newRow("jsonl bad line") << ok + "\n" + ok + "\n{oops\n"
                                        << true << "sample 2 (line 3)"
                                        << "not JSON";
        // 100,000 levels once overflowed the stack; refused past 256 by a pre-scan.
        const QString deep = QString(100000, '[') + QString(100000, ']');
        QTest::newRow("deep array") << "[{\"conversation\": " + deep + "}]" << true << ""
                                    << "JSON nested deeper than 256 levels (at byte 272); refused";
        QTest::newRow("deep jsonl line") << ok + "\n{\"conversation\": " + deep + "}\n"
                                         << true << "sample 1 (line 2)"
                                         << "JSON nested deeper than 256 levels (at column 273); refused";
    }
    void errors() {
        QFETCH(QString, text);
        QFETCH(bool, requireResponse);
        QFETCH(QString, where);
        QFETCH(QString, problem);
        const auto p = write("bad.json", text.toStdString());
        try {
            olm::read_dataset_file(p, requireResponse);
            QFAIL("expected olm::Error");
        } catch (const olm::Error& e) {
            const QString msg = e.what();
            QVERIFY2(msg.contains("bad.json"), e.what());
            QVERIFY2(msg.contains(where), e.what());
            QVERIFY2(msg.contains(problem), e.what());
        }
    }
    void missingFileNamesIt() {
        try {
            olm::read_dataset_file("/no/such/data.json", true);
            QFAIL("expected olm::Error");
        } catch (const olm::Error& e) {
            QVERIFY(QString(e.what()).contains("/no/such/data.json"));
        }
    }

    // A FIFO once hung the reader and /dev/zero grew memory until bad_alloc.
    void onlyRegularFilesAreRead() {
        const auto fifo = std::filesystem::path(m_dir.path().toStdString()) / "fifo.json";
        QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);
        QCOMPARE(QString::fromStdString(olm::testing::error_of([&] { olm::read_dataset_file(fifo, true); })),
                 QString::fromStdString("dataset " + fifo.string() +
                                        ": a FIFO (named pipe), not a regular file; refused"));
        QCOMPARE(
            QString::fromStdString(olm::testing::error_of([] { olm::read_dataset_file("/dev/zero", true); })),
            QString("dataset /dev/zero: a character device, not a regular file; refused"));
        QCOMPARE(QString::fromStdString(olm::testing::error_of(
                     [&] { olm::read_dataset_file(m_dir.path().toStdString(), true); })),
                 QString::fromStdString("dataset " + m_dir.path().toStdString() +
                                        ": a directory, not a regular file; refused"));
    }

    void samplesLimitKeepsFileOrder() {
        const auto s = olm::split_samples(10, 4, 0.0, 1);
        QCOMPARE(s.selection, (std::vector<int64_t>{0, 1, 2, 3}));
        QVERIFY(s.holdout.empty());
        QCOMPARE(olm::split_samples(3, 200, 0.0, 1).selection.size(), size_t(3));
        QCOMPARE(olm::split_samples(5, 0, 0.0, 1).selection.size(), size_t(5));
    }
    void holdoutIsSeededAndDisjoint() {
        const auto a = olm::split_samples(100, 50, 0.2, 7);
        QCOMPARE(a.holdout.size(), size_t(10));
        QCOMPARE(a.selection.size(), size_t(40));
        std::set<int64_t> all(a.selection.begin(), a.selection.end());
        all.insert(a.holdout.begin(), a.holdout.end());
        QCOMPARE(all.size(), size_t(50));
        QCOMPARE(*all.rbegin(), int64_t(49));
        QVERIFY(std::is_sorted(a.holdout.begin(), a.holdout.end()));
        const auto again = olm::split_samples(100, 50, 0.2, 7);
        QCOMPARE(again.holdout, a.holdout);
        const auto other = olm::split_samples(100, 50, 0.2, 8);
        QVERIFY(other.holdout != a.holdout);
        // Never everything held out.
        QCOMPARE(olm::split_samples(2, 0, 0.9, 1).selection.size(), size_t(1));
        QVERIFY_THROWS_EXCEPTION(olm::Error, olm::split_samples(10, 0, 1.0, 1));
    }
};

QTEST_GUILESS_MAIN(TestDataset)
#include "test_dataset.moc"
