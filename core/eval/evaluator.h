#pragma once
// Scores the working model (an olm::Transformer whose slots the merge repoints)
// on tokenised datasets, batched and with the prefix cache of the layer search.
//
// Prefix cache protocol (the search calls it per position):
//   begin_position(L)  layers [0, L) and the embeddings are fixed from now on; the
//                      first score() of each dataset/split computes and keeps the
//                      hidden states entering layer L (teacher-forced modes) or the
//                      prompt state with the K/V of layers [0, L) (quality), later
//                      score() calls run only layers [L, N).
//   end_position()     drops the cache.
// Moving forward (begin_position(L + k) after L) advances the kept states through
// layers [L, L + k) as they are then, instead of recomputing [0, L + k). Every
// score() first checks that the slots of the cached layers still hold the very
// tensors the states were computed with (identity of the held tensors, free to
// check) and recomputes when anything changed, so a stale cache is never used.
// settings.prefix_cache = false turns it off; cached == uncached within 1e-5 relative.
//
// Identical candidates: score() with a content key identifying the whole model
// (e.g. hash_combine over boundary_content_hash and every layer_content_hash, see
// core/eval/content_hash.h) returns the recorded result for the same key, dataset
// and split without evaluating, marked reused.
//
// Progress goes to the ProgressSink; cancelled() is polled between batches and
// throws olm::Cancelled.
#include "core/eval/dataset.h"
#include "core/eval/modes.h"
#include "core/eval/settings.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace olm {

class Transformer;
class Tokenizer;
class ProgressSink;

// One sample's result, for previews and the CLI's --json.
struct SampleResult {
    int64_t index = 0;  // sample index in the file
    double score = 0.0;
    bool correct = false;                // exact match / no quality penalty
    std::string penalty;                 // quality: reason for the penalty score, "" if none
    std::string generated_text;          // quality: the decoded generation
    std::vector<int64_t> generated_ids;  // quality: the generated ids (EOS excluded)
};

struct DatasetScore {
    double score = 0.0;                 // mean of per_sample; lower is better
    double accuracy = 0.0;              // share of samples with correct = true
    std::vector<double> per_sample;     // in sample order of the split
    std::vector<SampleResult> samples;  // same order, with generations and penalties
    EvalSplit split = EvalSplit::selection;
    bool reused = false;       // taken from an identical earlier candidate, not evaluated
    bool from_prefix = false;  // layers [0, L) came from the prefix cache
    double seconds = 0.0;
};

// Work counters (for the benchmark): layer applications to token rows.
struct EvalStats {
    int64_t evaluations = 0;       // score() calls that evaluated
    int64_t reused = 0;            // score() calls answered from the identical-candidate memo
    int64_t layer_token_rows = 0;  // sum over layer runs of layers x batch rows x tokens
    int64_t forward_layers = 0;    // sum over layer runs of layers x batches (calls of one layer)
    int64_t head_rows = 0;         // logits rows computed
    int64_t generated_tokens = 0;
};

class Evaluator {
public:
    // tok decodes generations (the quality mode); model and tok must outlive the evaluator.
    Evaluator(Transformer& model, const Tokenizer& tok, EvalSettings settings = {},
              ProgressSink* sink = nullptr);
    ~Evaluator();
    Evaluator(const Evaluator&) = delete;
    Evaluator& operator=(const Evaluator&) = delete;

    const EvalSettings& settings() const { return m_settings; }
    void set_sink(ProgressSink* sink);

    // Scores the model as its slots are now. The dataset must outlive any prefix
    // cache built for it (until end_position / the next begin_position).
    DatasetScore score(const EvalDataset& dataset, EvalSplit split = EvalSplit::selection,
                       std::optional<uint64_t> content_key = std::nullopt);

    // Prefix cache (see above). first_variable_layer in [0, num_layers].
    void begin_position(int64_t first_variable_layer);
    void end_position();
    std::optional<int64_t> cached_layer() const { return m_prefix_layer; }

    // Identical-candidate memo.
    void forget_scores() { m_memo.clear(); }

    const EvalStats& stats() const { return m_stats; }
    void reset_stats() { m_stats = {}; }

private:
    struct TfBatch;   // a teacher-forced batch plan (and its cached hidden states)
    struct GenBatch;  // a generation batch plan (and its cached prefix state)
    struct Plan;      // all batches of one dataset split
    Plan& plan_for(const EvalDataset& dataset, EvalSplit split);
    DatasetScore score_teacher_forced(const EvalMode& mode, const EvalDataset& dataset, Plan& plan);
    DatasetScore score_generation(const EvalMode& mode, const EvalDataset& dataset, Plan& plan);
    DatasetScore score_greedy_target(const EvalMode& mode, const EvalDataset& dataset, Plan& plan);
    void check_cancel() const;
    void sync_prefix();  // validates / advances the kept states to m_prefix_layer
    void drop_caches();
    std::vector<at::Tensor> fixed_tensors(int64_t end_layer) const;  // embeddings + slots of [0, end_layer)

    Transformer& m_model;
    const Tokenizer& m_tok;
    EvalSettings m_settings;
    ProgressSink* m_sink = nullptr;
    std::optional<int64_t> m_prefix_layer;
    int64_t m_cache_layer = -1;             // the layer the kept states enter; -1 = none kept
    std::vector<at::Tensor> m_cache_fixed;  // what the kept states were computed with (held)
    std::map<std::tuple<const EvalDataset*, int>, std::unique_ptr<Plan>> m_plans;
    std::map<std::tuple<uint64_t, std::string, int>, DatasetScore> m_memo;
    EvalStats m_stats;
};

// Batches for a token budget: sequence lengths -> groups of indices into `lengths`,
// bucketed by length (sorted ascending, stable), each group's count x its longest
// length <= budget (a single longer sequence forms its own group).
std::vector<std::vector<int64_t>> plan_batches(const std::vector<int64_t>& lengths, int64_t budget);

}  // namespace olm
