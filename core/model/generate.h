#pragma once
// Batched greedy decoding with a KV cache, and the prefix state that lets the
// evaluation reuse layers [0, L) of a prompt across candidates at layer L.
#include "core/model/transformer.h"

#include <cstdint>
#include <vector>

namespace olm {

class ProgressSink;

struct GenerateOptions {
    int64_t max_new_tokens = 64;
    std::vector<int64_t> eos_ids;  // stop on any of them (spec().eos_token_ids by default in the CLI)
};

enum class StopReason { eos, max_new_tokens };

struct GenerateResult {
    std::vector<std::vector<int64_t>> tokens;  // generated ids per prompt, EOS excluded
    std::vector<StopReason> stop;              // why each sequence ended
};

// The prompt run through embeddings and layers [0, layer): the hidden states
// entering `layer` and the K/V of layers [0, layer). Prompts are left-padded.
struct PrefixState {
    Batch batch;        // the prompts (left-padded)
    at::Tensor hidden;  // [B, T, H] entering layer `layer`
    KvCache cache;      // layers [0, layer) filled
    int64_t layer = 0;
};

PrefixState run_prefix(Transformer& model, const std::vector<std::vector<int64_t>>& prompts, int64_t layer);

// Greedy generation from scratch (= from an empty prefix).
GenerateResult generate(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                        const GenerateOptions& options);
// Greedy generation continuing from a prefix state computed earlier (possibly
// with other tensors in layers >= prefix.layer). The prefix is not modified.
GenerateResult generate(Transformer& model, const PrefixState& prefix, const GenerateOptions& options);

}  // namespace olm
