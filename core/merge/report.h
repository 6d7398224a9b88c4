#pragma once
// merge_report.json: the record of a merge and its checkpoint.
//
// Schema (docs/report-format.md has the full description):
//   version, config (resolved), config_hash, pool [names], datasets {name: {mode}},
//   base_model     {name, metrics {dataset: score}, candidates {...}}
//   boundary_layers{name, metrics {dataset: score}, recipe, candidates {...}}
//   layers  {"i":      {metrics {dataset: {candidate: score}}, best_model, recipe, order, candidates {...}}}
//   tensors {"i.unit": {... same ...}}
//   sweeps  {"2": {layers {...}, tensors {...}}, ...}    passes after the first
//   tensors {"i.unit": {..., es {es_svd: run, es_norm: run}}}   ES fine-tuning after the decision
//   recipe  {base, boundary, layers {"i": recipe}, tensors {"i.unit": recipe},
//            es {"i.unit": [run, ...]}}   the merge so far
//   final, references, safeguard, export, timings, status
// A candidate entry: {recipe, status, scores, accuracy, reason, seconds}.
// Everything except keys named "seconds" and "timings" is reproduced exactly by
// a resumed run.
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/merge/search.h"

namespace olm {

inline constexpr int kMergeReportVersion = 1;

class MergeReport : public CandidateStore {
public:
    MergeReport();
    explicit MergeReport(nlohmann::json j);
    static MergeReport load(const std::filesystem::path& path);

    // When set, every record() / record_decision() saves the report atomically there.
    void set_autosave(const std::filesystem::path& path) { m_path = path; }
    void save() const;
    void save_to(const std::filesystem::path& path) const;

    nlohmann::json& json() { return m_json; }
    const nlohmann::json& json() const { return m_json; }

    std::optional<CandidateResult> find(const PositionId& pos, const std::string& name,
                                        const Recipe& recipe) const override;
    void record(const PositionId& pos, const CandidateEvent& c, const CandidateResult& r,
                double seconds) override;
    void record_decision(const PositionDecision& d, const std::vector<std::string>& order) override;
    void record_state(const MergeState& state) override;
    void record_search_pool(const std::vector<std::string>& kept) override;
    std::optional<EsRun> find_es(const PositionId& pos, EsKind kind) const override;
    void record_es(const PositionId& pos, const EsRun& run) override;
    // Sections marked "imported" (an original OLM report being continued).
    std::optional<PositionDecision> fixed_decision(const PositionId& pos) const override;

    // The merge recorded under "recipe" (throws olm::Error when absent or malformed).
    MergeState state(int num_layers) const;

private:
    nlohmann::json& section(const PositionId& pos);
    const nlohmann::json* section_if(const PositionId& pos) const;

    nlohmann::json m_json;
    std::filesystem::path m_path;
};

// A candidate's result as the report holds it (without recipe and seconds), and
// back; `where` names the candidate in errors.
nlohmann::json candidate_result_to_json(const CandidateResult& r);
CandidateResult candidate_result_from_json(const nlohmann::json& j, const std::string& where);

// An ES fine-tuning as the report holds it (tensors.<key>.es.<kind>, and in
// the recipe's es section), and back; `where` names it in errors.
nlohmann::json es_run_to_json(const EsRun& run);
EsRun es_run_from_json(const nlohmann::json& j, const std::string& where);

// A copy without timing fields (keys "seconds" and "timings"), for comparisons.
nlohmann::json without_timings(const nlohmann::json& j);

}  // namespace olm
