#pragma once
// What `olm inspect` prints, as library calls (the CLI and the GUI share them).
#include "core/io/model_folder.h"
#include "core/io/pool_check.h"
#include "core/util/progress.h"

#include <string>
#include <vector>

namespace olm {

// Multi-line summary: architecture, layers, hidden size, heads/kv heads,
// parameters, dtype, size on disk, shard count, vocabulary, tying, RoPE.
std::string describe_model(const ModelFolder& model);

// The pool verdict as text: one line per member (base / OK / INCOMPATIBLE:
// reason) and its warnings.
std::string describe_pool(const PoolVerdict& verdict);

struct TensorHealth {
    std::string name;
    int64_t nan = 0;
    int64_t inf = 0;
};

struct VerifyReport {
    int64_t tensors = 0;
    int64_t elements = 0;
    int64_t nan = 0;
    int64_t inf = 0;
    std::vector<TensorHealth> bad;  // tensors with any NaN/Inf, in name order
};

// Reads every tensor once (releasing its pages afterwards) and counts
// NaN/Inf in the floating ones. Polls sink.cancelled() between tensors.
VerifyReport verify_tensors(const ModelFolder& model, ProgressSink& sink = null_sink());

// The supported families, one line each: architecture, model_type values and
// the forward features the family switches on (`olm inspect --architectures`).
std::string describe_families();

// For a folder whose config names an architecture outside the table: which
// family's tensor names it shares most, and what is missing against it (the
// folder's tensors no family entry names, the entry's tensors the folder
// lacks). "" when the architecture is supported or the folder has no config.
std::string explain_unsupported(const std::filesystem::path& folder);

// "1.50 GB", "512 B"; "8.03 B" / "1.2 M" for parameter counts.
std::string human_bytes(uint64_t bytes);
std::string human_count(int64_t count);

// This process's resident set (VmRSS) in bytes, 0 if unknown.
uint64_t resident_bytes();

}  // namespace olm
