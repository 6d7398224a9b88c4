#pragma once
// What a merge run tells its host while it works. The GUI adapts these calls
// to Qt signals (values are plain structs, safe to copy across threads); the
// CLI adapts them to a one-line terminal progress display or log lines.
// All methods are called on the run's thread; the default implementations
// ignore the event.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/merge/recipe.h"
#include "core/util/progress.h"

namespace olm {

enum class MergeStage {
    loading,      // reading config, pool check, datasets
    base_select,  // scoring each pool model whole
    baseline,     // scoring the base
    boundary,     // embeddings + final norm + lm_head
    layers,       // layer-wise search
    tensors,      // tensor-unit search
    references,   // pool soup and every pool model (reference points)
    safeguard,    // paired bootstrap against the best pool model
    exporting,
    done,
};
const char* stage_name(MergeStage s);

// One position of the search: "boundary", a layer "3", a unit "3.q_proj", or
// in the tensor-wise search one part of the boundary ("embed_tokens", "norm",
// "lm_head": kind tensor, layer -1), as the original visits its whole
// parameter list.
struct PositionId {
    enum class Kind { base, boundary, layer, tensor, reference } kind = Kind::layer;
    int layer = -1;    // layer index for layer / tensor (-1: a boundary part)
    std::string unit;  // tensor unit name for tensor (e.g. "q_proj", "embed_tokens"), else ""
    int pass = 1;      // sweep pass (1 = first)
    // The markov window search: the layers [window_first, window_last] are
    // chosen together at layer `layer` (kind layer); -1 when no window.
    int window_first = -1, window_last = -1;
    // report key: "boundary", "3", "3.q_proj", "embed_tokens", "1-3" (a window), "base", "reference"
    std::string key() const;
    bool boundary_part() const { return kind == Kind::tensor && layer < 0; }
    bool window() const { return kind == Kind::layer && window_first >= 0; }
};

enum class CandidateStatus { evaluated, reused_identical, disqualified, failed };
const char* candidate_status_name(CandidateStatus s);

struct CandidateEvent {
    PositionId position;
    std::string name;  // stable readable name: "ft_1", "0.5*(current+ft_1)", "current+(ft_1-base)"
    Recipe recipe;     // what the slot holds for this candidate
    int index = 0;     // 0-based among the position's candidates
    int count = 0;     // candidates at this position
};

struct CandidateResult {
    CandidateStatus status = CandidateStatus::evaluated;
    std::map<std::string, double> scores;    // dataset -> score (lower is better); may be partial
    std::map<std::string, double> accuracy;  // dataset -> accuracy in [0,1] where the mode has one
    std::string reason;                      // disqualified / failed: why
    // disqualified: the scores as measured, where `scores` holds Infinity for
    // the datasets improve_all marked (empty otherwise)
    std::map<std::string, double> measured;
    // Racing: the per-sample values scored so far, per dataset, in sample order
    // (the report keeps them while the position is open, and the winner's after),
    // and, for a candidate the race stopped, how many samples of each dataset it
    // was scored on (its scores are the means over those).
    std::map<std::string, std::vector<double>> per_sample;
    std::map<std::string, long long> stopped;
};

struct PositionDecision {
    PositionId position;
    std::string best_name;                 // winning candidate's name
    Recipe recipe;                         // what the slot holds from now on
    std::map<std::string, double> scores;  // winner's scores per dataset
    bool changed = false;                  // differs from what the slot held before
};

struct MergeProgress {
    long long done = 0;   // evaluations (candidate x dataset) done, this run
    long long total = 0;  // planned evaluations (upper bound when gating may skip some)
    double elapsed_s = 0;
    std::optional<double> eta_s;  // remaining time estimate, once a few units are measured
    std::string stage;            // stage name
    std::string detail;           // "layer 3/8, candidate 2/4 (ft_1), dataset math.json"
};

// What the evaluations of a search cost: the evaluator's counters over the
// search of this run (a resumed run counts only what it evaluated itself).
struct EvaluationWork {
    long long evaluations = 0;       // dataset scorings run
    long long reused = 0;            // answered from the identical-candidate memo
    long long layer_token_rows = 0;  // sum over layer runs of layers x batch rows x tokens
    long long head_rows = 0;         // logits rows computed
    long long generated_tokens = 0;  // greedy steps (generation and greedy-target modes)
};

class MergeEvents : public ProgressSink {
public:
    virtual void stage_changed(MergeStage stage, std::string_view description) {
        (void)stage;
        (void)description;
    }
    virtual void candidate_started(const CandidateEvent& c) { (void)c; }
    virtual void candidate_finished(const CandidateEvent& c, const CandidateResult& r) {
        (void)c;
        (void)r;
    }
    virtual void position_decided(const PositionDecision& d) { (void)d; }
    // One quality-mode generation: dataset, prompt, the model's text, its
    // sample score and the reason for a penalty ("" when none).
    virtual void preview(std::string_view dataset, std::string_view prompt, std::string_view text,
                         double score, std::string_view penalty) {
        (void)dataset;
        (void)prompt;
        (void)text;
        (void)score;
        (void)penalty;
    }
    virtual void merge_progress(const MergeProgress& p) { (void)p; }
    // Once, after the search (before the final scoring and the references).
    virtual void search_work(const EvaluationWork& w) { (void)w; }
    // ProgressSink::log carries log lines; ProgressSink::cancelled is answered by the run.
};

}  // namespace olm
