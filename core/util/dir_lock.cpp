#include "core/util/dir_lock.h"

#include "core/util/error.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace olm {

namespace {

std::string read_fd_text(int fd) {
    std::string out;
    char buf[512];
    off_t at = 0;
    for (;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        at += n;
        if (out.size() > 4096) break;
    }
    return out;
}

std::string own_command() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), {});
    for (auto& c : s)
        if (c == '\0') c = ' ';
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (s.size() > 300) s = s.substr(0, 300) + "...";
    return s;
}

std::string now_text() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

// "pid N, <command>, since <time>" from the lock file's lines.
std::string holder_text(const std::string& contents) {
    std::istringstream in(contents);
    std::string pid, command, since;
    std::getline(in, pid);
    std::getline(in, command);
    std::getline(in, since);
    if (pid.empty()) return "pid unknown: it has not written it yet";
    std::string out = "pid " + pid;
    if (!command.empty()) out += ", " + command;
    if (!since.empty()) out += ", since " + since;
    return out;
}

}  // namespace

DirLock DirLock::try_acquire(const std::filesystem::path& lock_file, bool remove_on_release,
                             std::string* holder) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        const int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            throw Error("cannot create the lock file " + lock_file.string() + ": " + std::strerror(errno));
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            if (holder) *holder = holder_text(read_fd_text(fd));
            ::close(fd);
            if (err == EWOULDBLOCK) return DirLock();
            throw Error("cannot lock " + lock_file.string() + ": " + std::strerror(err));
        }
        // A holder that removes its file on release may have unlinked it between
        // our open and our flock: then we hold a lock nobody else sees. Retry.
        struct stat a {
        }, b{};
        if (::fstat(fd, &a) != 0 || ::stat(lock_file.c_str(), &b) != 0 || a.st_ino != b.st_ino ||
            a.st_dev != b.st_dev) {
            ::close(fd);
            continue;
        }
        const std::string text = std::to_string(::getpid()) + "\n" + own_command() + "\n" + now_text() + "\n";
        if (::ftruncate(fd, 0) == 0) {
            const ssize_t n = ::pwrite(fd, text.data(), text.size(), 0);
            (void)n;  // the pid is for messages only; the lock is what counts
        }
        DirLock l;
        l.m_fd = fd;
        l.m_path = lock_file;
        l.m_remove = remove_on_release;
        return l;
    }
    throw Error("cannot lock " + lock_file.string() + ": it keeps being replaced by another process");
}

DirLock DirLock::acquire(const std::filesystem::path& lock_file, const std::string& what,
                         bool remove_on_release) {
    std::string holder;
    DirLock l = try_acquire(lock_file, remove_on_release, &holder);
    if (!l.held())
        throw Error(what + " is in use by another run (" + holder + "; lock file " + lock_file.string() +
                    "); wait for it to finish or stop it, or use another folder");
    return l;
}

DirLock::DirLock(DirLock&& o) noexcept : m_fd(o.m_fd), m_path(std::move(o.m_path)), m_remove(o.m_remove) {
    o.m_fd = -1;
}

DirLock& DirLock::operator=(DirLock&& o) noexcept {
    if (this != &o) {
        release();
        m_fd = o.m_fd;
        m_path = std::move(o.m_path);
        m_remove = o.m_remove;
        o.m_fd = -1;
    }
    return *this;
}

DirLock::~DirLock() { release(); }

void DirLock::release() {
    if (m_fd < 0) return;
    if (m_remove)
        ::unlink(m_path.c_str());  // while still locked: see acquire's inode check
    else if (::ftruncate(m_fd, 0) != 0) {
        // the stale pid only makes a later message less precise
    }
    ::close(m_fd);
    m_fd = -1;
}

long lock_holder_pid(const std::filesystem::path& lock_file) {
    std::ifstream in(lock_file);
    long pid = 0;
    if (in >> pid) return pid;
    return 0;
}

}  // namespace olm
