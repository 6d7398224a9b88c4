#include "core/io/safetensors_writer.h"

#include "core/io/safetensors_reader.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace olm {

namespace {

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, const void* data, size_t n, const std::filesystem::path& file) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const size_t chunk = std::min<size_t>(n, 1u << 30);
        const ssize_t w = ::write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw Error(file.string() + ": write failed: " + errno_text());
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

class OutFile {
public:
    explicit OutFile(const std::filesystem::path& path) : m_path(path) {
        m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (m_fd < 0) throw Error(path.string() + ": cannot create: " + errno_text());
    }
    ~OutFile() {
        if (m_fd >= 0) ::close(m_fd);
    }
    void write(const void* p, size_t n) { write_all(m_fd, p, n, m_path); }
    void finish() {
        if (::fsync(m_fd) != 0 || ::close(m_fd) != 0) {
            m_fd = -1;
            throw Error(m_path.string() + ": cannot flush: " + errno_text());
        }
        m_fd = -1;
    }

private:
    std::filesystem::path m_path;
    int m_fd = -1;
};

// 8-byte length + header padded with spaces so 8 + N is a multiple of 8.
std::string framed_header(std::string json) {
    while (json.size() % 8 != 0) json.push_back(' ');
    std::string out(8, '\0');
    uint64_t n = json.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + json;
}

// Produces, checks and serialises one tensor, then writes its bytes.
void write_tensor(OutFile& out, const TensorSource& src, const std::filesystem::path& file) {
    if (!src.produce) throw Error(file.string() + ": tensor '" + src.name + "' has no producer");
    at::Tensor t = src.produce();
    if (!t.defined()) throw Error(file.string() + ": producer of '" + src.name + "' returned no tensor");
    if (t.sizes().vec() != src.shape)
        throw Error(file.string() + ": producer of '" + src.name + "' returned shape " +
                    shape_text(t.sizes().vec()) + ", expected " + shape_text(src.shape));
    const auto want = to_scalar_type(src.dtype);
    if (t.device().type() != at::kCPU) t = t.to(at::kCPU);
    if (t.scalar_type() != want) t = t.to(want);
    t = t.contiguous();
    const uint64_t n = static_cast<uint64_t>(t.numel()) * dtype_size(src.dtype);
    if (n != src.bytes()) throw Error("internal: byte count mismatch for '" + src.name + "'");
    out.write(t.data_ptr(), n);
}

// Shards in data order: filled up to max_shard_bytes, or exactly shard_count
// shards balanced by cumulative bytes (empty ones dropped).
std::vector<std::vector<const TensorSource*>> plan_shards(const std::vector<TensorSource>& tensors,
                                                          const ShardOptions& options) {
    std::vector<std::vector<const TensorSource*>> plan;
    if (options.shard_count > 0) {
        uint64_t total = 0;
        for (const auto& t : tensors) total += t.bytes();
        plan.resize(options.shard_count);
        uint64_t before = 0;
        for (const auto& t : tensors) {
            const uint64_t mid2 = 2 * before + t.bytes();  // twice the tensor's midpoint
            size_t s = total == 0
                           ? 0
                           : static_cast<size_t>((static_cast<long double>(mid2) * options.shard_count) /
                                                 (2.0L * total));
            plan[std::min(s, options.shard_count - 1)].push_back(&t);
            before += t.bytes();
        }
        plan.erase(std::remove_if(plan.begin(), plan.end(), [](const auto& v) { return v.empty(); }),
                   plan.end());
        return plan;
    }
    plan.emplace_back();
    uint64_t current = 0;
    for (const auto& t : tensors) {
        const uint64_t n = t.bytes();
        if (!plan.back().empty() && current + n > options.max_shard_bytes) {
            plan.emplace_back();
            current = 0;
        }
        plan.back().push_back(&t);
        current += n;
    }
    return plan;
}

}  // namespace

uint64_t TensorSource::bytes() const {
    uint64_t n = dtype_size(dtype);
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    return n;
}

std::string shard_file_name(size_t index, size_t count) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", index + 1, count);
    return buf;
}

std::string safetensors_header_json(const std::vector<TensorSource>& tensors,
                                    const std::map<std::string, std::string>& metadata) {
    // ordered_json keeps __metadata__ first and tensors in data order.
    nlohmann::ordered_json h;
    if (!metadata.empty()) {
        nlohmann::ordered_json m = nlohmann::ordered_json::object();
        for (const auto& [k, v] : metadata) m[k] = v;
        h["__metadata__"] = m;
    }
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        if (h.contains(t.name)) throw Error("duplicate tensor name '" + t.name + "' in output");
        const uint64_t n = t.bytes();
        h[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                     {"shape", t.shape},
                     {"data_offsets", {offset, offset + n}}};
        offset += n;
    }
    return h.dump();
}

WrittenModel write_safetensors_model(const std::filesystem::path& dir,
                                     const std::vector<TensorSource>& tensors, const ShardOptions& options,
                                     ProgressSink& sink) {
    if (tensors.empty()) throw Error(dir.string() + ": nothing to write (no tensors)");
    std::vector<std::vector<const TensorSource*>> plan = plan_shards(tensors, options);
    std::map<std::string, std::string> metadata = options.metadata;
    metadata["format"] = "pt";

    WrittenModel written;
    written.indexed = plan.size() > 1 || options.always_index;
    nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
    long long done = 0;
    const long long total = static_cast<long long>(tensors.size());
    for (size_t s = 0; s < plan.size(); ++s) {
        const std::string name = written.indexed ? shard_file_name(s, plan.size()) : "model.safetensors";
        const auto file = dir / name;
        std::vector<TensorSource> layout;  // header only needs name/dtype/shape
        for (const auto* t : plan[s]) layout.push_back({t->name, t->dtype, t->shape, {}, {}});
        OutFile out(file);
        const std::string header = framed_header(safetensors_header_json(layout, metadata));
        out.write(header.data(), header.size());
        for (const auto* t : plan[s]) {
            if (sink.cancelled()) throw Cancelled();
            write_tensor(out, *t, file);
            if (t->done) t->done();
            written.total_size += t->bytes();
            weight_map[t->name] = name;
            sink.progress("write", ++done, total);
        }
        out.finish();
        written.files.push_back(name);
    }
    if (written.indexed) {
        nlohmann::ordered_json index;
        index["metadata"] = {{"total_size", written.total_size}};
        index["weight_map"] = weight_map;
        write_file_atomic(dir / "model.safetensors.index.json", index.dump(2) + "\n");
    }
    return written;
}

void write_safetensors_file(const std::filesystem::path& file,
                            const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                            const std::map<std::string, std::string>& metadata) {
    std::vector<TensorSource> layout;
    for (const auto& [name, t] : tensors)
        layout.push_back(
            {name, from_scalar_type(t.scalar_type()), t.sizes().vec(), [t = t] { return t; }, {}});
    OutFile out(file);
    const std::string header = framed_header(safetensors_header_json(layout, metadata));
    out.write(header.data(), header.size());
    for (const auto& src : layout) write_tensor(out, src, file);
    out.finish();
}

}  // namespace olm
