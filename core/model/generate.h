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
// The book-keeping every batched greedy decoding loop shares: the rows still
// generating, the next position of each, the stop rules (any EOS id, max new
// tokens) and dropping finished rows from the KV cache.
class GreedyRows {
public:
    // Starts with every prompt of the (left-padded) prompt batch active.
    GreedyRows(const Batch& prompts, const GenerateOptions& options, GenerateResult& result);

    // Picks each active row's next token from logits [n, V] (first maximum on
    // ties), records it in the result or stops the row, and drops stopped rows
    // from `cache`. Returns false when no row is left.
    bool advance(const at::Tensor& logits, KvCache& cache);

    // Active row r -> prompt index, and the token it feeds now (after advance).
    const std::vector<int64_t>& active() const { return m_active; }
    const std::vector<int64_t>& tokens() const { return m_tokens; }
    // Position of each active row's token fed now.
    const std::vector<int64_t>& positions() const { return m_next_pos; }
    int64_t size() const { return static_cast<int64_t>(m_active.size()); }
    // The one-token batch [n, 1] feeding tokens() at positions().
    Batch step_batch() const;
    // Call once the step's tokens are fed: positions move on by one.
    void fed();

private:
    const GenerateOptions& m_options;
    GenerateResult& m_result;
    std::vector<int64_t> m_active;    // batch row -> prompt index
    std::vector<int64_t> m_next_pos;  // per active row
    std::vector<int64_t> m_tokens;    // per active row, set by advance()
};

// Greedy generation continuing from a prefix state computed earlier (possibly
// with other tensors in layers >= prefix.layer). The prefix is not modified.
GenerateResult generate(Transformer& model, const PrefixState& prefix, const GenerateOptions& options);

}  // namespace olm
