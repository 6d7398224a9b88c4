#pragma once
// The original OLM's merge_report.json (olm.py / model_scanner.py), read as a
// merge recipe:
//
//   base_model       {name, metrics {dataset: score}}
//   boundary_layers  {name, metrics}                       boundary_select
//   layers  {"i":    {metrics {dataset: {model: score}}, best_model}}
//   tensors {"model.layers.3.self_attn.q_proj.weight": {metrics, best_model}}
//
// Python writes a degraded or failed candidate's score as the literal
// Infinity (not JSON); the report loader accepts it. The merge the original
// rebuilds from such a report (its get_model_from_merge_report) is: the base
// whole, the boundary (embeddings, final norm, lm_head) from boundary_layers'
// model, each recorded layer from its best_model, then each recorded tensor's
// module (weight and bias together) from its best_model. A tensor entry for
// model.embed_tokens / model.norm / lm_head replaces that one boundary part.
// ES fine-tuning (es_svd, es_norm) changes weights the report does not record;
// a report of such a run rebuilds the swaps only, as the original's does.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/io/architecture.h"
#include "core/merge/pool.h"
#include "core/merge/report.h"
#include "core/merge/search.h"

namespace olm {

// True for a report the original wrote: no "version" key (every report of this
// program has one) and a base_model entry with a name.
bool is_original_report(const nlohmann::json& report);

// The recipe such a report describes, for a pool of `pool` (display names, as
// the original names its models) whose models have architecture `arch` and
// spec `spec`. Throws olm::Error naming the entry: a best_model that is not in
// the pool, a layer index outside the model, a tensor the architecture does not
// have.
MergeState original_report_state(const nlohmann::json& report, const std::vector<std::string>& pool,
                                 const Architecture& arch, const ModelSpec& spec);

// The sections of this program's report that continue the original's: every
// position the original decided becomes a decided position marked "imported"
// (its best_model, its metrics; candidates with an Infinity score are
// "disqualified"), which the search keeps as it is (fixed_decision). Throws
// olm::Error when the config would not visit a position the original decided
// (layer_swap off, a skipped norm, a boundary tensor), naming it.
nlohmann::json import_original_report(const nlohmann::json& report, const SearchOptions& options,
                                      const MergePool& pool);

// The recipe a report holds, whoever wrote it: this program's "recipe", or
// the original's best_model entries (for the pool's models).
MergeState report_state(const MergeReport& report, const MergePool& pool);

}  // namespace olm
