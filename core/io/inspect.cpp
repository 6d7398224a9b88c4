#include "core/io/inspect.h"

#include "core/util/error.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace olm {

std::string human_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000.0 && u < 4) v /= 1000.0, ++u;
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
    return buf;
}

std::string human_count(int64_t count) {
    char buf[32];
    if (count >= 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.2f B", count / 1e9);
    else if (count >= 1'000'000)
        std::snprintf(buf, sizeof buf, "%.2f M", count / 1e6);
    else if (count >= 1'000)
        std::snprintf(buf, sizeof buf, "%.1f K", count / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(count));
    return buf;
}

uint64_t resident_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return 0;
}

std::string describe_model(const ModelFolder& m) {
    const ModelSpec& s = m.spec();
    std::ostringstream o;
    o << m.path().string() << "\n";
    o << "  architecture   " << s.architecture << " (" << s.model_type << ")\n";
    o << "  layers         " << s.num_hidden_layers << "\n";
    o << "  hidden size    " << s.hidden_size << " (intermediate " << s.intermediate_size << ")\n";
    o << "  heads          " << s.num_attention_heads << " (kv heads " << s.num_key_value_heads
      << ", head_dim " << s.head_dim << ")\n";
    o << "  vocabulary     " << s.vocab_size << (s.tie_word_embeddings ? " (tied embeddings)" : "") << "\n";
    o << "  parameters     " << human_count(m.parameter_count()) << " (" << m.parameter_count() << ")\n";
    o << "  dtype          " << dtype_name(m.main_dtype());
    if (!s.torch_dtype.empty()) o << " (config: " << s.torch_dtype << ")";
    o << "\n";
    o << "  size on disk   " << human_bytes(m.disk_bytes()) << " in " << m.shard_count()
      << (m.shard_count() == 1 ? " file" : " shards") << "\n";
    o << "  rope           theta " << s.rope_theta;
    if (!s.rope_scaling.type.empty()) o << ", " << s.rope_scaling.type << " x" << s.rope_scaling.factor;
    o << "\n";
    return o.str();
}

std::string describe_pool(const PoolVerdict& v) {
    std::ostringstream o;
    o << "pool check: " << (v.ok ? "compatible" : "NOT compatible") << "\n";
    for (size_t i = 0; i < v.members.size(); ++i) {
        const auto& m = v.members[i];
        o << "  " << m.path.string() << ": ";
        if (!m.ok)
            o << "INCOMPATIBLE: " << m.reason;
        else
            o << (i == 0 ? "base" : "OK");
        o << "\n";
        for (const auto& w : m.warnings) o << "    warning: " << w << "\n";
    }
    return o.str();
}

VerifyReport verify_tensors(const ModelFolder& model, ProgressSink& sink) {
    VerifyReport r;
    const auto names = model.names();
    for (const auto& name : names) {
        if (sink.cancelled()) throw Cancelled();
        const at::Tensor t = model.tensor(name);
        ++r.tensors;
        r.elements += t.numel();
        if (at::isFloatingType(t.scalar_type()) && t.numel() > 0) {
            const at::Tensor f = t.to(at::kFloat);
            TensorHealth h{name, at::isnan(f).sum().item<int64_t>(), at::isinf(f).sum().item<int64_t>()};
            r.nan += h.nan;
            r.inf += h.inf;
            if (h.nan || h.inf) r.bad.push_back(h);
        }
        model.release(name);
        sink.progress("verify", r.tensors, static_cast<long long>(names.size()));
    }
    return r;
}

}  // namespace olm
