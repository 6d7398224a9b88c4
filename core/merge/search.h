#pragma once
// The OLM search, written against a small abstract scorer so the algorithm
// (ranks, Copeland, gating, tie-breaking, base selection, boundary, layer-wise,
// tensor-wise, interpolated candidates, sweeps) is tested with hand-made score
// tables, and the real run wires the engine and the evaluator behind it.
//
// Resume is exact: every candidate's result is recorded (CandidateStore) before
// the next one starts; a resumed search replays the same decisions from the
// recorded results and evaluates only what is missing.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/merge/events.h"
#include "core/merge/recipe.h"
#include "core/util/error.h"

namespace olm {

enum class ScoreSplit { selection, heldout };

struct ScoreResult {
    double score = 0;                // lower is better
    std::optional<double> accuracy;  // in [0,1] where the mode has one
    std::vector<double> per_sample;  // per-sample values, lower is better (for the paired bootstrap)
};

// --- ES fine-tuning (the original's es_svd / es_norm; core/merge/es_tune.h) --

enum class EsKind { svd, norm };
const char* es_kind_name(EsKind kind);              // "es_svd" | "es_norm"
EsKind es_kind_from_name(const std::string& name);  // throws olm::Error on another name
// λ = max(4, floor(4 + 3 ln r)) for r singular values (es_svd) or rows (es_norm); 0 for r < 1.
int es_population(long long r);
// The seed of one tensor's tuning: es_seed, the position's report key
// ("3.self_attn.q_proj") and the kind mixed (FNV-1a, splitmix64), below 2^31.
uint64_t es_tensor_seed(uint64_t es_seed, const std::string& key, EsKind kind);

struct EsOffspring {
    bool scored = false;
    std::map<std::string, double> scores;  // dataset -> score (scored and not failed)
    std::string failed;                    // why it could not be scored ("" when it was)
};

// One generation of a (1+λ) ES: every offspring's scores and the winner.
struct EsGeneration {
    double sigma = 0;
    std::vector<EsOffspring> offspring;  // [λ]
    std::optional<int> winner;           // unset while open; -1: no offspring improved
};

// One fine-tuning of a tensor position's weight tensor.
struct EsRun {
    EsKind kind = EsKind::svd;
    uint64_t seed = 0;
    double initial_sigma = 0;
    int generations = 0;                     // as configured
    int population = 0;                      // λ; 0 when the tensor was not tuned
    std::string skipped;                     // why it was not tuned
    std::map<std::string, double> baseline;  // the scores it started from
    std::map<std::string, double> result;    // its best's scores (the baseline when none won)
    std::vector<EsGeneration> history;       // generations begun, in order
    bool finished() const;                   // every generation has its winner (or skipped)
    std::vector<int> winners() const;        // per finished generation
};

// The original's selection among the offspring of a generation: ranks on
// each dataset among the valid offspring (stable: equal scores keep offspring
// order), then Copeland (a point per other candidate ranked better on more
// datasets than worse) among the improved ones only (better than `best` on
// at least one dataset), ties -> earliest offspring; -1 when none improved.
int es_select(const std::vector<std::vector<double>>& scores, const std::vector<bool>& valid,
              const std::vector<double>& best);

// "Score the working model as it is now."
class CandidateScorer {
public:
    virtual ~CandidateScorer() = default;
    // From now on the slot at `pos` holds `recipe`. Kind::base sets every slot
    // (boundary, all layers, no unit overrides): a whole model.
    // Kind::layer clears the layer's unit overrides.
    virtual void set_slot(const PositionId& pos, const Recipe& recipe) = 0;
    // Candidates at `pos` are about to be scored; everything before it is fixed
    // until the next begin_position (prefix cache).
    virtual void begin_position(const PositionId& pos) { (void)pos; }
    virtual ScoreResult score(int dataset, ScoreSplit split) = 0;
    // Racing: the number of selection samples of a dataset (0: this scorer cannot
    // score parts of a dataset, so the search never races), and the selection
    // samples [begin, end) of it scored alone (per_sample in sample order; score
    // and accuracy over those samples).
    virtual long long sample_count(int dataset) const {
        (void)dataset;
        return 0;
    }
    virtual ScoreResult score_samples(int dataset, long long begin, long long end) {
        (void)dataset;
        (void)begin;
        (void)end;
        throw Error("this scorer cannot score part of a dataset");
    }
    // ES fine-tuning of the weight tensor at tensor position `pos` as the slot
    // holds it now (EsTensorTuner): returns λ, or 0 with `why` when that tensor
    // cannot be tuned. es_draw draws a generation; es_offspring(i) puts
    // offspring i in the slot; es_accept(winner, more) ends the generation
    // (-1: none won) and puts the best in the slot; es_end forgets the tuning.
    virtual int es_begin(const PositionId& pos, EsKind kind, double initial_sigma, uint64_t seed,
                         std::string& why) {
        (void)pos;
        (void)kind;
        (void)initial_sigma;
        (void)seed;
        why = "this scorer cannot fine-tune tensors";
        return 0;
    }
    virtual double es_sigma() const { return 0; }
    virtual void es_draw() {}
    virtual void es_offspring(int i) { (void)i; }
    virtual void es_accept(int winner, bool more) {
        (void)winner;
        (void)more;
    }
    virtual void es_end() {}
};

// Where the search keeps and finds candidate results (the report).
class CandidateStore {
public:
    virtual ~CandidateStore() = default;
    virtual std::optional<CandidateResult> find(const PositionId& pos, const std::string& name,
                                                const Recipe& recipe) const = 0;
    virtual void record(const PositionId& pos, const CandidateEvent& c, const CandidateResult& r,
                        double seconds) = 0;
    virtual void record_decision(const PositionDecision& d, const std::vector<std::string>& order) = 0;
    // A position decided before this program saw it (an original OLM report
    // being continued): the search takes the decision as it is, scores and all,
    // and evaluates nothing there.
    virtual std::optional<PositionDecision> fixed_decision(const PositionId& pos) const {
        (void)pos;
        return std::nullopt;
    }
    // The search finished a stage; the final recipe so far.
    virtual void record_state(const struct MergeState& state) = 0;
    // The pool models max_models kept, best first.
    virtual void record_search_pool(const std::vector<std::string>& kept) { (void)kept; }
    // ES fine-tuning at a tensor position: what is recorded of one (kind), and
    // the record of one as it goes (after every offspring).
    virtual std::optional<EsRun> find_es(const PositionId& pos, EsKind kind) const {
        (void)pos;
        (void)kind;
        return std::nullopt;
    }
    virtual void record_es(const PositionId& pos, const EsRun& run) {
        (void)pos;
        (void)run;
    }
};

// What every slot holds.
struct MergeState {
    std::string base;
    Recipe boundary;
    std::vector<Recipe> layers;           // [num_layers]
    std::map<std::string, Recipe> units;  // "layer.unit" -> recipe (tensor-wise overrides)
    // "embed_tokens" | "norm" | "lm_head" -> recipe: one part of the boundary
    // taken apart from the others (an original OLM report's tensor-wise choices).
    std::map<std::string, Recipe> boundary_parts;
    // "layer.unit" -> the ES fine-tunings of the unit's weight tensor, in the
    // order they ran (each starts from what the previous left).
    std::map<std::string, std::vector<EsRun>> tuned;
    Recipe unit_recipe(int layer, const std::string& unit) const;  // override or the layer's
    Recipe boundary_recipe(const std::string& part) const;         // override or the boundary
};

// How the candidates at a position are compared across datasets (see select_best).
//  ranks     the original OLM (its default "ranks"): at layer and tensor positions
//            Copeland on the per-dataset ranks (a candidate scores one point per other
//            candidate it ranks better than on more datasets; draws and losses score 0),
//            at the base and boundary positions the sum of the per-dataset ranks
//  rank_sum  the sum of per-dataset ranks everywhere (the original with any other
//            `selection` value; a majority vote when few candidates differ: noise-level
//            losses on two datasets veto a large gain on one)
//  copeland  most pairwise wins on the scores everywhere, a draw counting half,
//            ties -> smaller rank sum
//  geomean   geometric mean of the scores: relative changes add up, so a large gain on
//            one dataset outweighs small losses on the others
enum class SelectionRule { ranks, rank_sum, copeland, geomean };
SelectionRule parse_selection_rule(const std::string& name);  // throws on an unknown name
const char* selection_rule_name(SelectionRule rule);

struct SearchOptions {
    std::vector<std::string> pool;           // model names, pool order
    std::vector<std::string> datasets;       // dataset names, config order
    std::vector<std::string> dataset_modes;  // mode of each dataset
    int num_layers = 0;
    std::vector<std::string> tensor_units;  // unit names per layer, skip_norm applied
    // The parts of the boundary the tensor-wise search visits as units of
    // their own, as the original's parameter list holds them: "embed_tokens"
    // before the layers, "norm" and "lm_head" after them (skip_norm drops
    // "norm", a tied lm_head is absent). Empty: the boundary is no tensor unit.
    std::vector<std::string> boundary_units;
    std::string base_model_name;  // "" = first; may be outside the pool (the scorer knows it)
    bool base_select = false;
    bool boundary_select = false;
    bool layer_swap = true;
    // The markov window search of the original's model_scanner.py: at layer L
    // the layers [max(0, L-markov), L] (backward: [L, min(n-1, L+markov)]) are
    // chosen together among every combination of pool models
    // (pool^window candidates, "window_a-b_combo_i" in itertools.product
    // order), the winner ranked as model_scanner.py's rank_models does under
    // `ranks` (pool_order: Copeland on ranks, ties -> smaller rank sum). 0: one
    // layer at a time. No blends, no sweeps.
    int markov = 0;
    bool tensor_swap = false;
    bool backward = false;
    std::string improve_all;  // "" | all | base | <mode>
    SelectionRule selection = SelectionRule::ranks;
    std::vector<double> interpolate;  // blend weights
    bool task_arithmetic = false;
    int sweeps = 1;
    // Racing: the candidates of a position are scored on growing chunks of each
    // dataset's samples (racing_chunks), and a candidate stops being scored once
    // a paired per-sample confidence bound shows it cannot win under `selection`
    // (racing_cannot_win). Positions that improve_all gates, and the whole-model
    // scoring that max_models ranks, are never raced.
    bool racing = false;
    double racing_confidence = 0.999;  // one-sided, per paired comparison
    // Keep the best max_models pool models (every one scored whole at the base
    // position, ordered by pool_order) as the candidates of every later
    // position; 0 or >= the pool size keeps them all.
    int max_models = 0;
    // ES fine-tuning of each tensor position's weight tensor after its decision
    // (the original's es_svd, then es_norm), only with tensor_swap.
    bool es_svd = false, es_norm = false;
    int es_svd_generations = 1, es_norm_generations = 1;
    double es_svd_sigma = 0.5, es_norm_sigma = 0.01;
    uint64_t es_seed = 0;
    // λ of each tensor unit (tensor_units order, then boundary_units; 0: not
    // tuned), for the plan only.
    std::vector<int> es_svd_population, es_norm_population;
};

// The tensor positions of one pass in the order the search visits them: the
// original's parameter list (embed_tokens, every layer's units, norm,
// lm_head), reversed as a whole when backward. Boundary parts have layer -1.
std::vector<PositionId> tensor_positions(const SearchOptions& o, int pass = 1);

// --- pure helpers (unit-tested with hand-made tables) -----------------------

// ranks[c][d]: rank 1..M of candidate c on dataset d among eligible ones
// (stable: equal scores keep candidate order); 0 for ineligible candidates.
std::vector<std::vector<int>> dataset_ranks(const std::vector<std::vector<double>>& scores,
                                            const std::vector<bool>& eligible);
// Index of the winner, or -1 when none is eligible. slot: a layer or tensor
// position (where ranks means Copeland), else a whole-model choice (base,
// boundary, references). rank_sum (and ranks off slots): smallest rank sum, ties
// -> earliest candidate. ranks at a slot: most points, a point per candidate b
// that a has a better rank than on more datasets than b has on a, ties ->
// earliest candidate (the original breaks them by Python set order). copeland:
// most pairwise wins on the scores (a beats b when a scores better on more
// datasets than b; a draw counts half), ties -> smaller rank sum, then earliest
// candidate. geomean: smallest mean over datasets of log(score) (scores clamped
// at 1e-9), i.e. the largest mean log-ratio to any fixed reference such as the
// incumbent, ties -> earliest candidate.
int select_best(const std::vector<std::vector<double>>& scores, const std::vector<bool>& eligible,
                SelectionRule rule, bool slot = false);

// The pool models best first, as the original's model_scanner.py ranks them
// for max_models: Copeland on the per-dataset ranks (a point per other model
// ranked better on more datasets than worse), ties -> smaller rank sum, then
// earlier candidate (the original's order there is Python set order).
// Ineligible candidates are left out.
std::vector<int> pool_order(const std::vector<std::vector<double>>& scores,
                            const std::vector<bool>& eligible);

// --- racing (pure; unit-tested with hand-made per-sample tables) ------------

// The sample counts after which a raced position compares its candidates:
// the first chunk max(8, ceil(n/16)) samples (all of them when n is smaller),
// each next bound twice the last, the last bound n.
std::vector<long long> racing_chunks(long long n);

// The one-sided Student-t quantile for `confidence` with `dof` degrees of
// freedom (Cornish-Fisher expansion around the normal quantile; exact in the
// limit of many samples). Confidence 1 gives infinity: nothing is ever decided.
double student_t_quantile(double confidence, long long dof);

// Paired comparison of two candidates on one dataset over their common prefix
// of per-sample values (lower is better): +1 when a is better with the given
// confidence (the mean of a_i - b_i plus t * its standard error is below 0), -1
// when b is, 0 when undecided (fewer than 2 common samples, or within the bound).
int paired_relation(const std::vector<double>& a, const std::vector<double>& b, double confidence);

// values[c][d]: candidate c's per-sample values on dataset d so far, a prefix of
// the dataset's samples (empty for a candidate that failed: it takes no part).
// alive[c]: c is still being scored. Returns, for every alive candidate, whether
// it cannot win under `rule` (slot as in select_best) whatever the unscored
// samples hold, given the pairwise relations paired_relation decides:
//  rank_sum (ranks off slots)  its smallest possible rank sum exceeds the largest
//                              possible rank sum of another candidate
//  ranks at a slot, copeland   its most possible Copeland points are fewer than
//                              the fewest possible points of another candidate
//  geomean                     the sum over datasets of log(m_c / m_x), c's mean over
//                              another candidate's on their common samples, less t
//                              times its standard error (delta method: the paired
//                              standard error of m_c - m_x over m_c per dataset,
//                              datasets independent, t at the fewest samples' degrees
//                              of freedom) is above 0
// Undecided relations may go either way; ties keep the earlier candidate only in
// select_best, so a candidate is stopped only when it loses strictly.
std::vector<bool> racing_cannot_win(const std::vector<std::vector<std::vector<double>>>& values,
                                    const std::vector<bool>& alive, SelectionRule rule, bool slot,
                                    double confidence);

// The candidates at one position: every pool model's slot, then blends
// w*current + (1-w)*model for each weight, then current + (model - base);
// duplicates (same recipe) removed, first kept.
struct Candidate {
    std::string name;
    Recipe recipe;
};
std::vector<Candidate> position_candidates(const std::vector<std::string>& pool, const std::string& base,
                                           const Recipe& current, const std::vector<double>& interpolate,
                                           bool task_arithmetic);

// The markov window at layer L of n: [first, last].
std::pair<int, int> markov_window(int layer, int num_layers, int markov, bool backward);
// The pool models that are candidates after max_models, and how many
// combinations of them the markov window at `layer` has.
long long candidate_pool_size(const SearchOptions& o);
long long window_combinations(const SearchOptions& o, int layer);
// Its candidates: every combination of pool models over the window's layers,
// in itertools.product order (the last layer's model varies fastest).
std::vector<Candidate> window_candidates(const std::vector<std::string>& pool, int first, int last);

// Number of candidate x dataset evaluations a search plans (upper bound).
long long planned_evaluations(const SearchOptions& o);

// --- the search ------------------------------------------------------------

// Thrown by a hook to end the whole run (e.g. a pool file changed under it):
// unlike other errors while a candidate is scored, it is not recorded as that
// candidate's failure, so the report stays as it was for a resume.
class AbortRun : public Error {
public:
    using Error::Error;
};

// The other processes of a distributed search (core/dist: torch.distributed's
// launch conventions over a c10d TCPStore). Every rank runs the same search in
// lockstep on its own working model and store: at each position the
// candidates that are not in the store yet are dealt round-robin over the
// ranks, each rank scores its share, and all_gather hands every rank every
// result, so all ranks record the same results and take the same decisions
// (rank 0's store is the report on disk). A raced position exchanges after
// every round of chunks.
class SearchPeers {
public:
    virtual ~SearchPeers() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Called by every rank in the same order; returns every rank's text, in
    // rank order (its own included). Throws olm::Error when a rank failed or
    // stopped responding.
    virtual std::vector<std::string> all_gather(const std::string& mine) = 0;
    // Rank 0's text to every rank (read on rank 0 only).
    virtual std::string broadcast(const std::string& text) {
        return all_gather(rank() == 0 ? text : std::string()).front();
    }
    // This rank is done exchanging (rank 0 waits for the others' last reads).
    virtual void finish() {}
};

struct SearchHooks {
    std::function<void()> checkpoint;  // between evaluations: pause / cancel (may throw Cancelled, AbortRun)
    MergeEvents* events = nullptr;
    SearchPeers* peers = nullptr;  // a distributed search; nullptr or size 1: this process alone
};

struct SearchResult {
    MergeState state;
    std::map<std::string, ScoreResult> final_scores;  // dataset -> the merged model's selection scores
    long long evaluations = 0;                        // evaluated in this run (not reused), every rank's
    long long evaluations_here = 0;                   // of those, what this rank evaluated
    int passes = 0;
    // Racing: selection samples the search's evaluated candidates were scored on,
    // and what scoring each of them on every sample would have been (resumed
    // positions included: the figures describe the merge, not this run).
    long long samples_scored = 0;
    long long samples_full = 0;
};

SearchResult run_search(const SearchOptions& options, CandidateScorer& scorer, CandidateStore& store,
                        const SearchHooks& hooks);

}  // namespace olm
