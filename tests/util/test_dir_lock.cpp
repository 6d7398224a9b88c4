// DirLock: a second holder is refused naming the first one's pid; a holder
// killed with SIGKILL frees the lock (a stale lock file is taken over); a lock
// that removes its file on release leaves nothing behind.
#include "core/util/dir_lock.h"
#include "core/util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>

namespace fs = std::filesystem;

namespace {
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const olm::Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

class TestDirLock : public QObject {
    Q_OBJECT
private slots:
    void secondHolderIsRefusedWithThePid() {
        QTemporaryDir dir;
        const fs::path f = fs::path(dir.path().toStdString()) / ".olm.lock";
        olm::DirLock a = olm::DirLock::acquire(f, "output_dir X");
        QVERIFY(a.held());
        QCOMPARE(olm::lock_holder_pid(f), static_cast<long>(::getpid()));
        const std::string err = error_of([&] { olm::DirLock::acquire(f, "output_dir X"); });
        QVERIFY2(err.find("output_dir X is in use by another run (pid " + std::to_string(::getpid())) !=
                     std::string::npos,
                 err.c_str());
        a.release();
        QVERIFY(!a.held());
        QVERIFY(olm::DirLock::acquire(f, "output_dir X").held());  // free again
    }

    void killedHolderFreesTheLock() {
        QTemporaryDir dir;
        const fs::path f = fs::path(dir.path().toStdString()) / ".olm.lock";
        int ready[2];
        QVERIFY(::pipe(ready) == 0);
        const pid_t child = ::fork();
        if (child == 0) {
            ::close(ready[0]);
            try {
                olm::DirLock l = olm::DirLock::acquire(f, "x");
                const char c = 'y';
                if (::write(ready[1], &c, 1) != 1) ::_exit(3);
                for (;;) ::pause();
            } catch (...) {
                ::_exit(2);
            }
        }
        ::close(ready[1]);
        char c = 0;
        QCOMPARE(::read(ready[0], &c, 1), ssize_t(1));
        ::close(ready[0]);
        const std::string err = error_of([&] { olm::DirLock::acquire(f, "output_dir Y"); });
        QVERIFY2(err.find("(pid " + std::to_string(child)) != std::string::npos, err.c_str());
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        // The file still names the dead holder, but the lock is free.
        QCOMPARE(olm::lock_holder_pid(f), static_cast<long>(child));
        olm::DirLock mine = olm::DirLock::acquire(f, "output_dir Y");
        QVERIFY(mine.held());
        QCOMPARE(olm::lock_holder_pid(f), static_cast<long>(::getpid()));
    }

    void removeOnRelease() {
        QTemporaryDir dir;
        const fs::path f = fs::path(dir.path().toStdString()) / ".t.olm-lock";
        {
            olm::DirLock l = olm::DirLock::acquire(f, "t", true);
            QVERIFY(fs::exists(f));
        }
        QVERIFY(!fs::exists(f));
    }
};

QTEST_GUILESS_MAIN(TestDirLock)
#include "test_dir_lock.moc"
