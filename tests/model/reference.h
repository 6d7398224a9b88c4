#pragma once
// An independent float64 reference of the Hugging Face forward pass
// (modeling_llama / modeling_qwen2 / modeling_qwen3 / modeling_gemma2), written from the HF
// formulas with plain per-position, per-head loops over double tensors. It
// reads the tensors straight from the model folder through core/io and shares
// no code with core/model.
#include "core/io/model_folder.h"
#include "tests/support/tiny_model.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace olm::reference {

// The tiny models of the engine tests: hidden 32, intermediate 64, 4 heads,
// 2 KV heads, weights large enough that logits are of order 1-10.
olm::testing::TinyModelOptions tiny_options(const std::string& architecture, int64_t layers, int64_t vocab,
                                            double weight_scale);

// Rotary inverse frequencies in double, with linear / llama3 scaling.
std::vector<double> inv_freq(const ModelSpec& spec, int64_t seq_len = 0);

// Logits [T, V] (double) of one unpadded sequence. layer_from[l] >= 0 takes
// layer l from `others[layer_from[l]]` instead of `folder`.
at::Tensor logits(const ModelFolder& folder, const std::vector<int64_t>& ids,
                  const std::vector<const ModelFolder*>& layer_source = {});

// Greedy continuation by full recomputation (no cache), stopping on eos.
std::vector<int64_t> greedy(const ModelFolder& folder, std::vector<int64_t> ids, int64_t max_new,
                            const std::vector<int64_t>& eos,
                            const std::vector<const ModelFolder*>& layer_source = {});

}  // namespace olm::reference
