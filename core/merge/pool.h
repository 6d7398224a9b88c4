#pragma once
// The merge pool: the opened model folders (memory-mapped, never copied) and
// the one place recipes become tensors. A recipe {model: coeff} at a slot is
// sum(coeff * tensor) computed in float32 and cast to the pool's storage dtype
// (the export dtype); a single-model recipe {m: 1} is m's tensor as stored
// (zero copy). The search and the export use the same blend, so the exported
// weights are bit-identical to what the search scored.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/io/model_folder.h"
#include "core/merge/recipe.h"
#include "core/model/weights.h"

namespace olm {

class MergePool {
public:
    // Opens every folder, runs the pool check and throws olm::Error listing
    // every incompatible model with its reason, before any evaluation.
    // names: display names, same order as folders.
    static MergePool open(const std::vector<std::string>& names,
                          const std::vector<std::filesystem::path>& folders,
                          std::vector<std::string>* warnings = nullptr);

    const std::vector<std::string>& names() const { return m_names; }
    const ModelFolder& folder(const std::string& name) const;
    const ModelFolder& first() const { return m_folders.front(); }
    const ModelSpec& spec() const { return first().spec(); }
    int num_layers() const { return static_cast<int>(spec().num_hidden_layers); }
    DType storage_dtype() const { return m_dtype; }

    // Tensor units searched tensor-wise (engine unit names, e.g. "self_attn.q_proj",
    // then "mlp.experts.0".. for routed experts), norms left out when skip_norm.
    std::vector<std::string> tensor_units(bool skip_norm) const;
    // The boundary parts the tensor-wise search visits as units, in
    // transformers' parameter order as `model` holds them: "embed_tokens",
    // "norm" (not when skip_norm), "lm_head" (not when tied to the embeddings).
    std::vector<std::string> boundary_units(bool skip_norm, const std::string& model) const;

    LayerWeights layer(int layer, const Recipe& r) const;
    UnitTensors unit(int layer, const std::string& unit, const Recipe& r) const;
    // One routed expert (the unit "mlp.experts.<expert>").
    ExpertWeights expert(int layer, int expert, const Recipe& r) const;
    BoundaryWeights boundary(const Recipe& r) const;
    // One tensor of the model by its file name (for the export).
    at::Tensor tensor(const std::string& name, const Recipe& r) const;
    void check_recipe(const Recipe& r) const;  // every name in the pool
    // Drops the resident pages of every pool model's tensors of one layer
    // (layer < 0: of every tensor), so that a search keeps about one working
    // model resident whatever the pool size. A hint only: a tensor still in
    // use reads its pages back on its next use.
    void release(int layer) const;

private:
    std::vector<std::string> m_names;
    std::vector<ModelFolder> m_folders;
    DType m_dtype = DType::F32;
};

// sum(coeff_i * t_i) in float32, cast to dtype; a single {t: 1} term is returned as is.
// Undefined tensors in every term -> undefined.
at::Tensor blend_tensors(const std::vector<std::pair<double, at::Tensor>>& terms, at::ScalarType dtype);

}  // namespace olm
