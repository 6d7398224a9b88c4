#include "core/util/atomic_file.h"

#include "core/util/error.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <random>

namespace olm {

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

void fsync_path(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

void write_file_atomic(const std::filesystem::path& target, std::string_view contents) {
    namespace fs = std::filesystem;
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::random_device rd;
    const fs::path tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw Error("cannot create " + tmp.string() + ": " + errno_text());
    const char* p = contents.data();
    size_t left = contents.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string why = errno_text();
            ::close(fd);
            ::unlink(tmp.c_str());
            throw Error("cannot write " + tmp.string() + ": " + why);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        throw Error("cannot flush " + tmp.string() + ": " + why);
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        throw Error("cannot rename " + tmp.string() + " to " + target.string() + ": " + why);
    }
    fsync_path(dir);
}

}  // namespace olm
