#include "core/merge/fingerprint.h"

#include "core/io/model_folder.h"
#include "core/util/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iomanip>
#include <set>
#include <sstream>

namespace olm {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

constexpr uint64_t kFullHashBytes = 8ull << 20;  // files up to this size are hashed whole
constexpr uint64_t kBlock = 64 << 10;
constexpr int kSampledBlocks = 32;
constexpr uint64_t kMaxHeader = 100ull << 20;

// A 64-bit streaming hash over bytes (FNV-1a per 8-byte word, then a final mix).
struct Hasher {
    uint64_t h = 1469598103934665603ULL;
    void add(const unsigned char* p, size_t n) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            std::memcpy(&w, p + i, 8);
            h = (h ^ w) * 1099511628211ULL;
        }
        for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    }
    void add_u64(uint64_t v) { add(reinterpret_cast<const unsigned char*>(&v), 8); }
    std::string hex() const {
        uint64_t x = h;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        std::ostringstream o;
        o << std::hex << std::setw(16) << std::setfill('0') << x;
        return o.str();
    }
};

class File {
public:
    explicit File(const fs::path& p) : m_path(p) {
        m_fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (m_fd < 0)
            throw Error("cannot read " + p.string() + " to fingerprint it: " + std::strerror(errno));
    }
    ~File() { ::close(m_fd); }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    // Hashes [offset, offset + n) (short at the end of the file).
    void hash_range(Hasher& h, uint64_t offset, uint64_t n) {
        std::vector<unsigned char> buf(static_cast<size_t>(std::min<uint64_t>(n, 1 << 20)));
        while (n > 0) {
            const ssize_t r =
                ::pread(m_fd, buf.data(), static_cast<size_t>(std::min<uint64_t>(n, buf.size())),
                        static_cast<off_t>(offset));
            if (r < 0) {
                if (errno == EINTR) continue;
                throw Error("cannot read " + m_path.string() + " to fingerprint it: " + std::strerror(errno));
            }
            if (r == 0) break;
            h.add(buf.data(), static_cast<size_t>(r));
            offset += static_cast<uint64_t>(r);
            n -= static_cast<uint64_t>(r);
        }
    }
    uint64_t header_bytes() {
        unsigned char b[8] = {};
        if (::pread(m_fd, b, 8, 0) != 8) return 0;
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
        return std::min<uint64_t>(n + 8, kMaxHeader);
    }

private:
    fs::path m_path;
    int m_fd = -1;
};

Json fingerprint_file(const fs::path& p, bool sample_large) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0)
        throw Error("cannot read " + p.string() + " to fingerprint it: " + std::strerror(errno));
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    File f(p);
    Hasher h;
    h.add_u64(size);
    const bool full = !sample_large || size <= kFullHashBytes;
    if (full) {
        f.hash_range(h, 0, size);
    } else {
        const uint64_t header = p.extension() == ".safetensors" ? f.header_bytes() : 0;
        f.hash_range(h, 0, std::max<uint64_t>(header, kBlock));
        for (int i = 0; i <= kSampledBlocks; ++i) {
            const uint64_t at = (size - kBlock) / kSampledBlocks * static_cast<uint64_t>(i);
            f.hash_range(h, at, kBlock);
        }
    }
    return Json{{"path", p.string()}, {"size", size}, {"mtime_ns", mtime}, {"hash", h.hex()}, {"full", full}};
}

// The files of a model folder the program reads.
std::vector<fs::path> model_files(const fs::path& folder) {
    std::set<std::string> tok(tokenizer_file_names().begin(), tokenizer_file_names().end());
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(folder, ec)) {
        const std::string n = e.path().filename().string();
        if (n.empty() || n[0] == '.' || !e.is_regular_file()) continue;
        const auto ext = e.path().extension();
        if (ext == ".safetensors" || ext == ".json" || tok.count(n)) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string describe(const Json& a, const Json& b) {
    const uint64_t sa = a.value("size", uint64_t{0}), sb = b.value("size", uint64_t{0});
    if (sa != sb)
        return "contents changed (size " + std::to_string(sa) + " -> " + std::to_string(sb) + " bytes)";
    if (a.value("hash", std::string()) != b.value("hash", std::string()))
        return "contents changed (same size)";
    if (!a.value("full", true) && a.value("mtime_ns", int64_t{0}) != b.value("mtime_ns", int64_t{0}))
        return "modified since (mtime moved; the sampled blocks match, but a change between them cannot be "
               "ruled out)";
    return "";
}

void compare_map(const std::string& what, const Json& old_files, const Json& new_files,
                 std::vector<std::string>& out) {
    for (auto it = old_files.begin(); it != old_files.end(); ++it) {
        const std::string path = it.value().value("path", it.key());
        auto n = new_files.find(it.key());
        if (n == new_files.end()) {
            out.push_back(what + it.key() + " (" + path + "): gone");
            continue;
        }
        const std::string d = describe(it.value(), *n);
        if (!d.empty()) out.push_back(what + it.key() + " (" + path + "): " + d);
    }
    for (auto it = new_files.begin(); it != new_files.end(); ++it)
        if (!old_files.contains(it.key()))
            out.push_back(what + it.key() + " (" + it.value().value("path", it.key()) + "): new");
}

}  // namespace

Json input_fingerprint(const MergeConfig& c, const std::vector<std::string>* pool_names) {
    Json j = Json::object();
    Json ds = Json::object();
    for (const auto& d : c.datasets) ds[d.name] = fingerprint_file(d.path, /*sample_large=*/false);
    j["datasets"] = ds;
    Json models = Json::object();
    const auto names = pool_names ? *pool_names : c.model_names();
    const auto paths = c.model_paths();
    for (size_t i = 0; i < names.size() && i < paths.size(); ++i) {
        Json files = Json::object();
        for (const auto& f : model_files(paths[i]))
            files[f.filename().string()] = fingerprint_file(f, f.extension() == ".safetensors");
        models[names[i]] = {{"path", paths[i].string()}, {"files", files}};
    }
    if (!pool_names && c.base_outside_pool()) {  // the base is read too (tokenizer, base weights)
        std::error_code ec;
        if (fs::is_directory(c.base_path(), ec)) {
            Json files = Json::object();
            for (const auto& f : model_files(c.base_path()))
                files[f.filename().string()] = fingerprint_file(f, f.extension() == ".safetensors");
            models[c.base_display_name()] = {{"path", c.base_path().string()}, {"files", files}};
        }
    }
    j["models"] = models;
    if (c.chat_template != "auto" && c.chat_template != "none") {
        fs::path t(c.chat_template);
        if (t.is_relative()) t = c.config_path.parent_path() / t;
        std::error_code ec;
        if (fs::is_regular_file(t, ec)) j["chat_template"] = fingerprint_file(t, false);
    }
    return j;
}

std::vector<std::string> fingerprint_changes(const Json& recorded, const Json& current) {
    std::vector<std::string> out;
    compare_map("dataset ", recorded.value("datasets", Json::object()),
                current.value("datasets", Json::object()), out);
    const Json om = recorded.value("models", Json::object());
    const Json nm = current.value("models", Json::object());
    for (auto it = om.begin(); it != om.end(); ++it) {
        auto n = nm.find(it.key());
        if (n == nm.end()) {
            out.push_back("pool model " + it.key() + ": no longer in the pool");
            continue;
        }
        compare_map("pool model " + it.key() + ": file ", it.value().value("files", Json::object()),
                    n->value("files", Json::object()), out);
    }
    for (auto it = nm.begin(); it != nm.end(); ++it)
        if (!om.contains(it.key())) out.push_back("pool model " + it.key() + ": new in the pool");
    if (recorded.contains("chat_template") || current.contains("chat_template")) {
        const Json a = recorded.value("chat_template", Json::object());
        const Json b = current.value("chat_template", Json::object());
        const std::string d = a.empty() || b.empty() ? "added or removed" : describe(a, b);
        if (!d.empty())
            out.push_back("chat template " + b.value("path", a.value("path", std::string())) + ": " + d);
    }
    return out;
}

std::vector<std::string> changed_weight_files(const Json& fp) {
    std::vector<std::string> out;
    const Json models = fp.value("models", Json::object());
    for (auto m = models.begin(); m != models.end(); ++m) {
        const Json files = m.value().value("files", Json::object());
        for (auto f = files.begin(); f != files.end(); ++f) {
            const std::string path = f.value().value("path", std::string());
            if (fs::path(path).extension() != ".safetensors") continue;
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) {
                out.push_back(path + " (pool model " + m.key() + "): " + std::strerror(errno));
                continue;
            }
            const uint64_t size = static_cast<uint64_t>(st.st_size);
            const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
            const uint64_t was = f.value().value("size", uint64_t{0});
            if (size != was)
                out.push_back(path + " (pool model " + m.key() + "): size " + std::to_string(was) + " -> " +
                              std::to_string(size) + " bytes");
            else if (mtime != f.value().value("mtime_ns", int64_t{0}))
                out.push_back(path + " (pool model " + m.key() + "): modified (mtime moved)");
        }
    }
    return out;
}

}  // namespace olm
