#include "core/io/export_folder.h"

#include "core/io/model_config.h"
#include "core/util/atomic_file.h"
#include "core/util/dir_lock.h"
#include "core/util/error.h"
#include "core/util/json_file.h"
#include "core/util/version.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace olm {

namespace fs = std::filesystem;

namespace {

fs::path normal(const fs::path& p) { return fs::weakly_canonical(fs::absolute(p)); }

// true if inner is outer or lies inside it
bool within(const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;  // trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

bool is_floating(DType d) {
    return d == DType::BF16 || d == DType::F16 || d == DType::F32 || d == DType::F64;
}

// The floating dtype holding most output bytes ("" if none).
std::string output_dtype_name(const std::vector<TensorSource>& tensors) {
    std::map<DType, uint64_t> bytes;
    for (const auto& t : tensors)
        if (is_floating(t.dtype)) bytes[t.dtype] += t.bytes();
    std::string best;
    uint64_t most = 0;
    for (const auto& [d, b] : bytes)
        if (b > most) most = b, best = std::string(dtype_torch_name(d));
    return best;
}

struct TempFolder {
    fs::path path;
    bool keep = false;
    ~TempFolder() {
        if (!keep && !path.empty()) {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
    }
};

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// The marker of the folder being written: created first, flock'ed for the
// whole export (so a cleaner sees the folder is live), rewritten in place with
// the list of files at the end (same inode, so the lock holds through the
// rename), closed after the swap.
class MarkerFile {
public:
    explicit MarkerFile(const fs::path& folder) : m_path(folder / kExportMarker) {
        m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (m_fd < 0) throw Error("cannot create " + m_path.string() + ": " + std::strerror(errno));
        if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0)
            throw Error("cannot lock " + m_path.string() + ": " + std::strerror(errno));
        write(nlohmann::json{{"written_by", "OLM Studio " + version()},
                             {"state", "partial"},
                             {"pid", static_cast<long>(::getpid())},
                             {"started", utc_now()}});
    }
    ~MarkerFile() {
        if (m_fd >= 0) ::close(m_fd);
    }
    MarkerFile(const MarkerFile&) = delete;
    MarkerFile& operator=(const MarkerFile&) = delete;

    void write(const nlohmann::json& j) {
        const std::string text = j.dump(2) + "\n";
        if (::ftruncate(m_fd, 0) != 0 ||
            ::pwrite(m_fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
            ::fsync(m_fd) != 0)
            throw Error("cannot write " + m_path.string() + ": " + std::strerror(errno));
    }

private:
    fs::path m_path;
    int m_fd = -1;
};

// The marker's JSON, or nullopt when absent / not ours.
std::optional<nlohmann::json> read_marker(const fs::path& folder) {
    const fs::path m = folder / kExportMarker;
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(m, ec))) return std::nullopt;
    try {
        auto j = nlohmann::json::parse(read_text_file(m, max_small_json_bytes));
        if (!j.is_object() || j.value("written_by", std::string()).rfind("OLM Studio", 0) != 0)
            return std::nullopt;
        return j;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string list_text(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > 5) out += ", ...";
    return out;
}

// Swaps a and b atomically when the file system can (b must exist).
bool exchange(const fs::path& a, const fs::path& b) {
#ifdef RENAME_EXCHANGE
    return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
#else
    (void)a;
    (void)b;
    return false;
#endif
}

}  // namespace

ExportTargetInfo inspect_export_target(const fs::path& target) {
    ExportTargetInfo info;
    std::error_code ec;
    const auto st = fs::status(target, ec);
    if (ec || !fs::exists(st)) return info;
    if (!fs::is_directory(st)) {
        info.kind = ExportTargetInfo::Kind::foreign;
        info.foreign_files.push_back(target.filename().string() + " (not a folder)");
        return info;
    }
    std::vector<std::string> entries;
    for (const auto& e : fs::directory_iterator(target)) {
        const std::string n = e.path().filename().string();
        if (n != kExportMarker) entries.push_back(e.is_directory() ? n + "/" : n);
    }
    std::sort(entries.begin(), entries.end());
    const auto marker = read_marker(target);
    if (!marker) {
        info.kind = entries.empty() && !fs::exists(fs::symlink_status(target / kExportMarker, ec))
                        ? ExportTargetInfo::Kind::empty
                        : ExportTargetInfo::Kind::foreign;
        info.foreign_files = entries;
        if (info.kind == ExportTargetInfo::Kind::foreign && entries.empty())
            info.foreign_files.push_back(kExportMarker);
        return info;
    }
    std::set<std::string> own;
    for (const auto& f : marker->value("files", nlohmann::json::array()))
        if (f.is_string()) own.insert(f.get<std::string>());
    info.kind = ExportTargetInfo::Kind::previous_export;
    info.written = marker->value("finished", marker->value("started", std::string()));
    for (const auto& n : entries) {
        if (own.count(n)) continue;
        // A write_file_atomic temporary of one of its files (".name.tmpN"), left by a kill.
        const auto tmp = n.rfind(".tmp");
        if (n.size() > 1 && n[0] == '.' && tmp != std::string::npos && own.count(n.substr(1, tmp - 1)))
            continue;
        info.foreign_files.push_back(n);
    }
    return info;
}

void check_export_replaceable(const fs::path& target, bool overwrite, const std::string& overwrite_hint) {
    const ExportTargetInfo info = inspect_export_target(target);
    using K = ExportTargetInfo::Kind;
    if (info.kind == K::absent || info.kind == K::empty) return;
    if (info.kind == K::foreign)
        throw Error("refusing to write the export to " + target.string() +
                    ": it exists and holds files this program did not write (" +
                    list_text(info.foreign_files) + "; no " + kExportMarker +
                    " marker), which are never deleted; choose a new or empty folder, or move them away");
    if (!info.foreign_files.empty())
        throw Error("refusing to replace the previous export in " + target.string() +
                    ": it also holds files the export did not write (" + list_text(info.foreign_files) +
                    "), which are never deleted; move them away or choose another folder");
    if (!overwrite)
        throw Error("export: " + target.string() + " holds a previous export" +
                    (info.written.empty() ? "" : " (written " + info.written + ")") + "; " + overwrite_hint +
                    " to replace it, or choose another folder");
}

std::vector<fs::path> remove_stale_export_folders(const fs::path& target, ProgressSink& sink) {
    std::vector<fs::path> removed;
    const fs::path t = normal(target);
    const fs::path parent = t.parent_path();
    std::error_code ec;
    if (!fs::is_directory(parent, ec)) return removed;
    const std::string stem = "." + t.filename().string() + ".";
    for (const auto& e : fs::directory_iterator(parent, ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind(stem, 0) != 0) continue;
        const std::string rest = n.substr(stem.size());
        if (rest.rfind("partial-", 0) != 0 && rest.rfind("old-", 0) != 0) continue;
        if (!fs::is_directory(fs::symlink_status(e.path(), ec))) continue;
        if (!read_marker(e.path())) {
            sink.log(LogLevel::warning, "left alone: " + e.path().string() +
                                            " looks like the temporary folder of an interrupted export but "
                                            "carries no " +
                                            kExportMarker +
                                            " (an older version's?); delete it by hand if unused");
            continue;
        }
        const fs::path m = e.path() / kExportMarker;
        const int fd = ::open(m.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
        if (free) {
            fs::remove_all(e.path(), ec);
            if (!ec) {
                removed.push_back(e.path());
                sink.log(LogLevel::info, "removed " + e.path().string() + ", left by an interrupted export");
            }
        }
        ::close(fd);
    }
    return removed;
}

void check_export_target(const fs::path& target, const std::vector<fs::path>& protected_folders) {
    const fs::path t = normal(target);
    for (const auto& p : protected_folders) {
        const fs::path q = normal(p);
        if (within(q, t))
            throw Error("refusing to export to " + target.string() + ": it " + (q == t ? "is" : "contains") +
                        " the pool model folder " + p.string() + ", which is never overwritten");
    }
}

ExportResult export_model_folder(const ModelFolder& base, const std::vector<TensorSource>& tensors,
                                 const fs::path& target, const ExportOptions& options, ProgressSink& sink) {
    if (target.empty()) throw Error("export: no output folder given");
    std::vector<fs::path> protect = options.protected_folders;
    protect.push_back(base.path());
    check_export_target(target, protect);
    const fs::path final_path = normal(target);
    check_export_replaceable(final_path, options.overwrite);
    const fs::path parent = final_path.parent_path();
    fs::create_directories(parent);
    // One export per target at a time; then the leftovers of interrupted ones go.
    const DirLock lock = DirLock::acquire(parent / ("." + final_path.filename().string() + ".olm-lock"),
                                          "the export target " + final_path.string(), true);
    remove_stale_export_folders(final_path, sink);
    check_export_replaceable(final_path, options.overwrite);  // again, under the lock

    std::random_device rd;
    TempFolder tmp;
    tmp.path = parent / ("." + final_path.filename().string() + ".partial-" + std::to_string(::getpid()) +
                         "-" + std::to_string(rd() % 1000000));
    fs::create_directory(tmp.path);
    MarkerFile marker(tmp.path);

    ExportResult result;
    result.folder = final_path;
    ShardOptions so;
    so.max_shard_bytes = options.max_shard_bytes;
    so.shard_count = options.shard_count;
    so.metadata = options.metadata;
    result.model = write_safetensors_model(tmp.path, tensors, so, sink);

    // config.json: the base's, key order kept, dtype updated if converted.
    {
        const fs::path cj = base.path() / "config.json";
        auto config = parse_ordered_json_text(read_text_file(cj, max_small_json_bytes), cj.string());
        const std::string dtype = output_dtype_name(tensors);
        if (!dtype.empty()) {
            const bool v5 = config.contains("dtype") && !config.contains("torch_dtype");
            config[v5 ? "dtype" : "torch_dtype"] = dtype;
        }
        write_file_atomic(tmp.path / "config.json", config.dump(2) + "\n");
        result.copied_files.push_back("config.json");
    }
    std::vector<std::string> copies = {"generation_config.json"};
    for (const auto& n : tokenizer_file_names()) copies.push_back(n);
    for (const auto& name : copies) {
        const fs::path src = base.path() / name;
        if (!fs::is_regular_file(src)) continue;
        fs::copy_file(src, tmp.path / name, fs::copy_options::overwrite_existing);
        result.copied_files.push_back(name);
    }
    for (const auto& [name, contents] : options.extra_files) {
        if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
            throw Error("export: extra file name '" + name + "' is not a plain file name");
        write_file_atomic(tmp.path / name, contents);
    }
    if (sink.cancelled()) throw Cancelled();
    {
        nlohmann::json files = nlohmann::json::array();
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(tmp.path))
            if (e.path().filename() != kExportMarker) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        for (const auto& n : names) files.push_back(n);
        marker.write(nlohmann::json{{"written_by", "OLM Studio " + version()},
                                    {"state", "complete"},
                                    {"pid", static_cast<long>(::getpid())},
                                    {"finished", utc_now()},
                                    {"files", files}});
    }
    fsync_path(tmp.path);

    // Swap into place. An existing target (empty, or a previous export checked
    // above) is exchanged atomically with the new folder where the file system
    // can, else moved aside first; then the old contents (marked, so a kill here
    // leaves a folder the next export removes) are deleted.
    if (fs::exists(final_path)) {
        if (exchange(tmp.path, final_path)) {
            fsync_path(parent);
            std::error_code ec;
            fs::remove_all(tmp.path, ec);  // now the previous export
            tmp.keep = true;
            return result;
        }
        const fs::path old = parent / ("." + final_path.filename().string() + ".old-" +
                                       std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000));
        fs::rename(final_path, old);
        try {
            fs::rename(tmp.path, final_path);
        } catch (...) {
            fs::rename(old, final_path);
            throw;
        }
        tmp.keep = true;
        fsync_path(parent);
        std::error_code ec;
        fs::remove_all(old, ec);
        return result;
    }
    fs::rename(tmp.path, final_path);
    tmp.keep = true;
    fsync_path(parent);
    return result;
}

std::vector<TensorSource> passthrough_sources(const ModelFolder& model, std::optional<DType> dtype) {
    std::vector<TensorSource> out;
    for (const auto& name : model.names()) {
        const TensorInfo& info = model.info(name);
        const DType d = dtype && is_floating(info.dtype) ? *dtype : info.dtype;
        out.push_back({name, d, info.shape, [model, name] { return model.tensor(name); },
                       [model, name] { model.release(name); }});
    }
    return out;
}

}  // namespace olm
