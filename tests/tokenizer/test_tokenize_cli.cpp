// `olm tokenize`: the --jsonl mode reproduces the reference goldens row for
// row; text, --decode and --chat modes; error exits.
#include <nlohmann/json.hpp>

#include <QProcess>
#include <QtTest>

#include <fstream>

using nlohmann::json;

namespace {

const QString kTiny = QString(OLM_TEST_DATA_DIR) + "/tokenizers/tiny-bytelevel";

struct Run {
    int code;
    QByteArray out, err;
};

Run olm(const QStringList& args, const QByteArray& input = {}) {
    QProcess p;
    p.start(OLM_CLI_PATH, args);
    p.waitForStarted();
    if (!input.isEmpty()) p.write(input);
    p.closeWriteChannel();
    p.waitForFinished(60000);
    return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
}

}  // namespace

class TestTokenizeCli : public QObject {
    Q_OBJECT
private slots:
    void jsonl_reproduces_goldens() {
        std::ifstream in(std::string(OLM_TEST_DATA_DIR) + "/tokenizers/tiny-bytelevel/golden.jsonl");
        std::vector<json> want;
        QByteArray input;
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            want.push_back(json::parse(line));
            input += QByteArray::fromStdString(json(want.back()["text"]).dump() + "\n");
        }
        QVERIFY(want.size() > 100);
        auto r = olm({"tokenize", kTiny, "--jsonl"}, input);
        QCOMPARE(r.code, 0);
        auto lines = r.out.split('\n');
        if (lines.last().isEmpty()) lines.removeLast();
        QCOMPARE(static_cast<size_t>(lines.size()), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            auto got = json::parse(lines[static_cast<int>(i)].toStdString());
            if (got != want[i])
                QFAIL(("row " + std::to_string(i) + ": " + got.dump() + " != " + want[i].dump()).c_str());
        }
    }

    void text_mode_prints_ids_and_pieces() {
        auto r = olm({"tokenize", kTiny, "<|im_start|>user\nHello world"});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.startsWith("ids ("), r.out.constData());
        QVERIFY(r.out.contains("\t510\t\"<|im_start|>\"\tspecial"));
        QVERIFY(r.out.contains("\"Ġworld\"") || r.out.contains("\"Ġw"));
    }

    void decode_mode() {
        auto ids = olm({"tokenize", kTiny, "--jsonl"}, "\"Hello, world!\"\n");
        auto row = json::parse(ids.out.toStdString());
        std::string list;
        for (int id : row["ids"]) {
            if (!list.empty()) list += ',';
            list += std::to_string(id);
        }
        auto r = olm({"tokenize", kTiny, "--decode", QString::fromStdString(list + ",511")});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QByteArray("Hello, world!<|im_end|>\n"));
        r = olm({"tokenize", kTiny, "--decode", QString::fromStdString(list + ",511"), "--skip-special"});
        QCOMPARE(r.out, QByteArray("Hello, world!\n"));
    }

    void chat_mode() {
        QTemporaryDir dir;
        QString path = dir.filePath("chat.json");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"([{"role": "human", "content": "Hi"}, {"role": "gpt", "content": "Hello."}])");
        f.close();
        auto r = olm({"tokenize", kTiny, "--chat", path});
        QCOMPARE(r.code, 0);
        auto j = json::parse(r.out.toStdString());
        QCOMPARE(j["family"].get<std::string>(), std::string("chatml"));
        QCOMPARE(j["context"].get<std::string>(),
                 std::string("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
        QCOMPARE(j["response"].get<std::string>(), std::string("Hello.<|im_end|>"));
    }

    void errors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QString>("needle");
        QTest::newRow("no folder") << QStringList{"tokenize", "/nonexistent/dir", "x"} << QByteArray()
                                   << "no tokenizer.json";
        QTest::newRow("no model dir") << QStringList{"tokenize"} << QByteArray() << "MODEL_DIR";
        QTest::newRow("bad jsonl") << QStringList{"tokenize", kTiny, "--jsonl"}
                                   << QByteArray("\"ok\"\n{oops\n") << "line 2";
        QTest::newRow("jsonl not string")
            << QStringList{"tokenize", kTiny, "--jsonl"} << QByteArray("[1]\n") << "JSON string";
        QTest::newRow("bad id list") << QStringList{"tokenize", kTiny, "--decode", "1,x"} << QByteArray()
                                     << "x";
        QTest::newRow("bad family") << QStringList{"tokenize",  kTiny,      "--chat",
                                                   "/dev/null", "--family", "klingon"}
                                    << QByteArray() << "";
    }
    void errors() {
        QFETCH(QStringList, args);
        QFETCH(QByteArray, input);
        QFETCH(QString, needle);
        auto r = olm(args, input);
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(needle.toUtf8()), r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestTokenizeCli)
#include "test_tokenize_cli.moc"
