// Runs the real `olm` binary as a child process.
#include <QProcess>
#include <QtTest>

class TestCli : public QObject {
    Q_OBJECT
private:
    static QProcess* run(const QStringList& args) {
        auto* p = new QProcess;
        p->start(QStringLiteral(OLM_CLI_PATH), args);
        p->waitForFinished(60000);
        return p;
    }
private slots:
    void versionPrintsVersion() {
        std::unique_ptr<QProcess> p(run({QStringLiteral("--version")}));
        QCOMPARE(p->exitCode(), 0);
        const QString out = QString::fromUtf8(p->readAllStandardOutput());
        QVERIFY2(out.startsWith(QStringLiteral("olm 0.")), qPrintable(out));
        QVERIFY2(out.contains(QStringLiteral("libtorch")), qPrintable(out));
    }
    void helpListsCommands() {
        std::unique_ptr<QProcess> p(run({QStringLiteral("--help")}));
        QCOMPARE(p->exitCode(), 0);
        const QString out = QString::fromUtf8(p->readAllStandardOutput());
        QVERIFY2(out.contains(QStringLiteral("Commands:")), qPrintable(out));
        QVERIFY2(out.contains(QStringLiteral("version")), qPrintable(out));
    }
    void unknownCommandFails() {
        std::unique_ptr<QProcess> p(run({QStringLiteral("no-such-command")}));
        QCOMPARE(p->exitCode(), 2);
        QVERIFY(QString::fromUtf8(p->readAllStandardError()).contains(QStringLiteral("unknown command")));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
