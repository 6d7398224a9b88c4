#include "core/io/export_folder.h"

#include "core/io/model_config.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <fstream>
#include <random>
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

}  // namespace

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
    if (fs::exists(final_path) && !options.overwrite)
        throw Error("export: " + target.string() +
                    " already exists (choose another folder or allow overwriting)");
    if (fs::exists(final_path) && !fs::is_directory(final_path))
        throw Error("export: " + target.string() + " exists and is not a folder");
    const fs::path parent = final_path.parent_path();
    fs::create_directories(parent);

    std::random_device rd;
    TempFolder tmp;
    tmp.path = parent / ("." + final_path.filename().string() + ".partial-" + std::to_string(::getpid()) +
                         "-" + std::to_string(rd() % 1000000));
    fs::create_directory(tmp.path);

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
    fsync_path(tmp.path);

    // Swap into place; an existing (unprotected) target is moved aside first.
    fs::path old;
    if (fs::exists(final_path)) {
        old = parent / ("." + final_path.filename().string() + ".old-" + std::to_string(::getpid()));
        fs::rename(final_path, old);
    }
    try {
        fs::rename(tmp.path, final_path);
    } catch (...) {
        if (!old.empty()) fs::rename(old, final_path);
        throw;
    }
    tmp.keep = true;
    if (!old.empty()) fs::remove_all(old);
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
