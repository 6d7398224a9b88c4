#include "core/util/json_file.h"

#include "core/util/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace olm {

namespace {

std::string name_of(const std::filesystem::path& path, const std::string& what) {
    return what.empty() ? path.string() : what + " " + path.string();
}

const char* kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

class Fd {
public:
    explicit Fd(int fd) : m_fd(fd) {}
    ~Fd() {
        if (m_fd >= 0) ::close(m_fd);
    }
    int get() const { return m_fd; }

private:
    int m_fd;
};

template <class Json>
Json parse_checked(std::string_view text, const std::string& label) {
    const std::string prefix = label.empty() ? std::string() : label + ": ";
    const size_t at = json_depth_violation(text);
    if (at != std::string_view::npos)
        throw Error(prefix + "JSON nested deeper than " + std::to_string(max_json_depth) +
                    " levels (at byte " + std::to_string(at) + "); refused");
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {
        throw Error(prefix + "not valid JSON: " + e.what());
    }
}

}  // namespace

void require_regular_file(const std::filesystem::path& path, const std::string& what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw Error(name_of(path, what) + ": cannot open: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        throw Error(name_of(path, what) + ": " + kind_of(st.st_mode) + ", not a regular file; refused");
}

std::string read_text_file(const std::filesystem::path& path, uint64_t max_bytes, const std::string& what) {
    const std::string name = name_of(path, what);
    require_regular_file(path, what);
    // O_NONBLOCK: should the path have been swapped for a FIFO since the stat,
    // open must not wait for a writer; fstat below refuses it.
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) throw Error(name + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw Error(name + ": cannot stat: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        throw Error(name + ": " + kind_of(st.st_mode) + ", not a regular file; refused");
    auto too_large = [&](uint64_t size) {
        return Error(name + ": " + std::to_string(size) + " bytes is larger than the limit of " +
                     mib(max_bytes) + " for this file; refused");
    };
    if (static_cast<uint64_t>(st.st_size) > max_bytes) throw too_large(static_cast<uint64_t>(st.st_size));
    std::string out;
    out.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
        const ssize_t r = ::read(fd.get(), buf, sizeof buf);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw Error(name + ": read failed: " + std::strerror(errno));
        }
        if (r == 0) break;
        // A file growing while read (or a /proc file with no size) stays bounded.
        if (out.size() + static_cast<size_t>(r) > max_bytes)
            throw too_large(out.size() + static_cast<size_t>(r));
        out.append(buf, static_cast<size_t>(r));
    }
    return out;
}

size_t json_depth_violation(std::string_view text, int max_depth) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;  // the escaped character cannot end the string
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '[':
            case '{':
                if (++depth > max_depth) return i;
                break;
            case ']':
            case '}':
                if (depth > 0) --depth;  // unbalanced input is the parser's to reject
                break;
            default:
                break;
        }
    }
    return std::string_view::npos;
}

nlohmann::json parse_json_text(std::string_view text, const std::string& label) {
    return parse_checked<nlohmann::json>(text, label);
}

nlohmann::ordered_json parse_ordered_json_text(std::string_view text, const std::string& label) {
    return parse_checked<nlohmann::ordered_json>(text, label);
}

nlohmann::json read_json_file(const std::filesystem::path& path, uint64_t max_bytes) {
    return parse_json_text(read_text_file(path, max_bytes), path.string());
}

}  // namespace olm
