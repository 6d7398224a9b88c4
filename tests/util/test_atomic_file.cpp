#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

class TestAtomicFile : public QObject {
    Q_OBJECT
private:
    static std::string slurp(const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
private slots:
    void writesNewFile() {
        QTemporaryDir dir;
        const fs::path target = fs::path(dir.path().toStdString()) / "report.json";
        olm::write_file_atomic(target, "{\"a\": 1}");
        QCOMPARE(QString::fromStdString(slurp(target)), QStringLiteral("{\"a\": 1}"));
    }
    void replacesAndLeavesNoTemporaries() {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        const fs::path target = root / "report.json";
        olm::write_file_atomic(target, std::string(100000, 'x'));
        olm::write_file_atomic(target, "short");
        QCOMPARE(QString::fromStdString(slurp(target)), QStringLiteral("short"));
        int entries = 0;
        for (const auto& e : fs::directory_iterator(root)) {
            (void)e;
            ++entries;
        }
        QCOMPARE(entries, 1);
    }
    void missingFolderIsAnErrorNamingThePath() {
        QTemporaryDir dir;
        const fs::path target = fs::path(dir.path().toStdString()) / "no" / "such" / "report.json";
        try {
            olm::write_file_atomic(target, "x");
            QFAIL("expected olm::Error");
        } catch (const olm::Error& e) {
            QVERIFY(std::string(e.what()).find("report.json") != std::string::npos);
        }
    }
};

QTEST_GUILESS_MAIN(TestAtomicFile)
#include "test_atomic_file.moc"
