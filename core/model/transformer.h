#pragma once
// The working model: a decoder-only transformer (the families of
// core/io/architecture_table.cpp, routed experts included) whose
// layer positions and boundary parts are SLOTS pointing at tensor sets from
// pool models.
//
// Slots: set_layer / set_layer_unit / set_boundary_part repoint a slot. On CPU,
// when the tensor's dtype is the compute dtype, this is O(1) (the memory-mapped
// tensor is used as is). Otherwise (GPU, or a dtype conversion) the new tensors
// are uploaded/converted once; the slot remembers what it held before the
// current round of changes, so pointing it back is free. Changing another slot
// ends the round (the old tensors are released): the GPU holds the working
// model plus one candidate layer.
//
// Split execution: embed(batch) -> hidden [B, T, H]; run_layers(hidden, batch,
// begin, end, cache) -> hidden; head(rows) -> float32 logits of only those rows.
// forward(batch) = all of it, logits [B, T, V] float32.
//
// Attention: at::scaled_dot_product_attention on libtorch 2.x, the explicit
// matmul/softmax path on 1.x or with EngineOptions::sdpa = false (tested equal).
//
// All entry points run under c10::InferenceMode. CPU results are deterministic
// (same input, same bits).
#include "core/io/model_spec.h"
#include "core/model/batch.h"
#include "core/model/engine_options.h"
#include "core/model/kv_cache.h"
#include "core/model/weights.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace olm {

class ModelFolder;

class Transformer {
public:
    // Slots start empty; fill them with set_layer / set_boundary before running.
    Transformer(ModelSpec spec, EngineOptions options = {});
    // Every slot pointing at the folder's tensors (memory-mapped; not copied on CPU).
    static Transformer from_folder(const ModelFolder& folder, EngineOptions options = {});

    const ModelSpec& spec() const { return m_spec; }
    const EngineOptions& options() const { return m_options; }
    int64_t num_layers() const { return m_spec.num_hidden_layers; }

    // ---- slots -------------------------------------------------------------
    void set_layer(int64_t layer, const LayerWeights& weights);
    void set_layer_unit(int64_t layer, LayerUnit unit, const UnitTensors& tensors);
    // One routed expert of a layer with experts (a tensor-wise unit "mlp.experts.<e>").
    void set_expert(int64_t layer, int64_t expert, const ExpertWeights& weights);
    // The tensors a layer slot points at (as given, before upload/conversion).
    LayerWeights layer(int64_t layer) const;
    void set_boundary(const BoundaryWeights& weights);
    void set_boundary_part(BoundaryPart part, const at::Tensor& tensor);
    BoundaryWeights boundary() const;
    // One tensor by its io role (core/io/architecture.h), e.g. the merge's
    // tensor units: set_tensor(TensorRole::mlp_down, 7, other.tensor(...)).
    // layer is ignored for boundary roles; expert names the expert of an expert role.
    void set_tensor(TensorRole role, int64_t layer, const at::Tensor& tensor, int expert = -1);
    // Ends the current round of changes: slots forget their earlier tensors.
    void commit();

    // ---- execution ---------------------------------------------------------
    // Logits [B, T, V] float32 on the engine device. Large batches are split into
    // row chunks within token_budget().
    at::Tensor forward(const Batch& batch);
    // Hidden states [B, T, H] (compute dtype) entering layer 0.
    at::Tensor embed(const Batch& batch);
    // Runs layers [begin, end) over hidden [B, T, H]; batch gives mask and
    // positions of these T tokens. With a cache, K/V of these layers are appended
    // to it and attention covers the cached columns too (the batch then holds only
    // the new tokens, positions continuing after the cached ones).
    at::Tensor run_layers(const at::Tensor& hidden, const Batch& batch, int64_t begin, int64_t end,
                          KvCache* cache = nullptr);
    // Final norm + lm_head over hidden rows [..., H] -> float32 logits [..., V].
    at::Tensor head(const at::Tensor& hidden_rows);
    // Logits at selected positions: rows/cols int64 [R] index hidden [B, T, H] -> [R, V].
    at::Tensor head_at(const at::Tensor& hidden, const at::Tensor& rows, const at::Tensor& cols);

    // Max batch×tokens per forward chunk (from options or free memory).
    int64_t token_budget() const;
    // Where the weights live under options().device_memory (all resident when 0).
    const MemoryPlan& memory_plan() const { return m_plan; }

private:
    struct Entry {
        at::Tensor source;   // what the slot points at
        at::Tensor compute;  // on device, compute dtype (== source when no copy is needed)
    };
    struct Slot {
        std::vector<Entry> current;
        std::vector<Entry> earlier;  // before this round of changes (empty = none)
    };
    void assign(int slot, size_t index, const at::Tensor& source);
    at::Tensor prepare(const at::Tensor& source, bool streamed) const;
    bool streamed(int64_t layer) const { return layer < num_layers() && layer >= m_plan.resident_layers; }
    // Layer slot entry `index` as the compute uses it (a streamed layer's staged copy).
    const at::Tensor& entry(int64_t layer, size_t index) const;
    // Streaming: the layer's tensors onto the device, on a side stream on a GPU
    // (its copy overlaps the compute before it); use() makes the compute wait.
    void stage(int64_t layer);
    void use(int64_t layer);
    void unstage();
    const at::Tensor& w(int64_t layer, LayerUnit unit) const;
    const at::Tensor& b(int64_t layer, LayerUnit unit) const;
    // mask: allowed keys [B, 1, rep*T, S] on the fused path (use_sdpa()), else
    // blocked keys [B, 1, 1, T, S].
    at::Tensor attention(int64_t layer, const at::Tensor& x, const at::Tensor& mask, const at::Tensor& cos,
                         const at::Tensor& sin, KvCache* cache);
    // at::scaled_dot_product_attention (options().sdpa on libtorch 2.x), else the explicit path.
    bool use_sdpa() const;
    at::Tensor mlp(int64_t layer, const at::Tensor& x);
    at::Tensor moe(int64_t layer, const at::Tensor& x);   // routed experts (spec.layer_is_sparse)
    at::Tensor activation(const at::Tensor& gate) const;  // spec.hidden_act
    at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight) const;
    void check_ready(int64_t begin, int64_t end) const;

    ModelSpec m_spec;
    EngineOptions m_options;
    at::Tensor m_inv_freq;
    at::Tensor m_inv_freq_local;
    at::Tensor
        m_inv_freq_long;  // longrope's table past original_max_position_embeddings  // the sliding layers'
                          // table when they have their own (Gemma 3)      // [head_dim / 2] float32 on device
    std::vector<Slot> m_slots;  // layers 0..N-1, then boundary parts
    MemoryPlan m_plan;
    struct Staged;
    std::vector<std::shared_ptr<Staged>> m_staged;  // two buffers in flight (streamed layers only)
    int m_round_slot = -1;                          // the slot changed in the current round
};

// Rotary inverse frequencies as HF computes them (float32, [head_dim / 2]):
// 1 / theta^(2i/d), then rope_scaling "linear" (÷ factor) or "llama3" (smoothed
// by wavelength). Throws olm::Error on an unknown scaling type.
// seq_len: the longest sequence of the call (longrope picks its long factors past
// original_max_position_embeddings); 0 = short.
at::Tensor rope_inv_freq(const ModelSpec& spec, int64_t seq_len = 0);

}  // namespace olm
