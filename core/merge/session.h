#pragma once
// Everything a merge needs open at once, built from a MergeConfig: the pool
// (checked), the base tokenizer, the tokenised datasets, the working model and
// its evaluator, plus the CandidateScorer the search drives. Used by MergeRun
// and by the export's re-scoring.
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/eval/dataset.h"
#include "core/eval/evaluator.h"
#include "core/merge/config.h"
#include "core/merge/es_tune.h"
#include "core/merge/pool.h"
#include "core/merge/search.h"
#include "core/model/transformer.h"
#include "core/tokenizer/tokenizer.h"

namespace olm {

EvalSettings eval_settings_from(const MergeConfig& config);

class MergeSession : public CandidateScorer {
public:
    // Opens and checks the pool (throws listing every incompatible model),
    // loads the tokenizer of the base (base_model_name, else the first model)
    // and every dataset. sink receives evaluator progress and is polled for cancel.
    // pool_names: display names of the models (default: config.model_names()).
    MergeSession(const MergeConfig& config, const std::string& device, ProgressSink* sink,
                 std::vector<std::string>* warnings = nullptr,
                 const std::vector<std::string>* pool_names = nullptr);
    ~MergeSession() override;

    const MergeConfig& config() const { return m_config; }
    const MergePool& pool() const { return m_pool; }
    const Tokenizer& tokenizer() const { return m_tok; }
    const std::vector<EvalDataset>& datasets() const { return m_datasets; }
    Transformer& model() { return *m_model; }
    Evaluator& evaluator() { return *m_eval; }
    bool has_holdout() const;

    SearchOptions search_options() const;

    // Receives preview texts (quality-mode generations, first samples) from score().
    void set_events(MergeEvents* events) { m_events = events; }

    // The working model holds `state` (every slot).
    void apply(const MergeState& state);
    // One tensor-wise unit of a layer: an engine unit or a routed expert; layer
    // -1: one part of the boundary ("embed_tokens", "norm", "lm_head").
    void set_unit(int layer, const std::string& unit, const Recipe& recipe);
    // Every dataset on one split (no prefix cache).
    std::vector<DatasetScore> score_all(EvalSplit split);

    // CandidateScorer
    void set_slot(const PositionId& pos, const Recipe& recipe) override;
    void begin_position(const PositionId& pos) override;
    ScoreResult score(int dataset, ScoreSplit split) override;
    long long sample_count(int dataset) const override;
    ScoreResult score_samples(int dataset, long long begin, long long end) override;
    // ES fine-tuning of a tensor position's weight (an engine unit; a routed
    // expert's three tensors are not tuned).
    int es_begin(const PositionId& pos, EsKind kind, double initial_sigma, uint64_t seed,
                 std::string& why) override;
    double es_sigma() const override;
    void es_draw() override;
    void es_offspring(int i) override;
    void es_accept(int winner, bool more) override;
    void es_end() override;

private:
    ScoreResult scored(const EvalDataset& ds, const DatasetScore& s);
    MergeConfig m_config;
    MergePool m_pool;
    // Layer whose pool tensors the current position reads (-1: whole models).
    static constexpr int kNothingTouched = -2;
    int m_touched = kNothingTouched;
    Tokenizer m_tok;
    std::vector<EvalDataset> m_datasets;
    // Racing's chunks: (dataset, begin, end) -> the selection samples [begin, end)
    // as a dataset of their own (kept: the evaluator's plans and prefix cache
    // are per dataset object).
    std::map<std::tuple<int, long long, long long>, std::unique_ptr<EvalDataset>> m_chunks;
    std::unique_ptr<Transformer> m_model;
    std::unique_ptr<Evaluator> m_eval;
    MergeEvents* m_events = nullptr;
    // The tuning under way (es_begin .. es_end) and the unit it tunes.
    std::unique_ptr<EsTensorTuner> m_es;
    int m_es_layer = -1;  // -1: the boundary part m_es_part
    LayerUnit m_es_unit = LayerUnit::q_proj;
    BoundaryPart m_es_part = BoundaryPart::embed_tokens;
    at::Tensor m_es_bias;
    void es_put(const at::Tensor& weight);
};

}  // namespace olm
