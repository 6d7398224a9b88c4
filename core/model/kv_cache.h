#pragma once
// Key/value cache of a batch: per layer K and V [B, kv_heads, capacity, head_dim]
// in the compute dtype, plus which columns hold real tokens. Capacity grows by
// doubling, so decoding does not reallocate at every step.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace olm {

class KvCache {
public:
    KvCache() = default;
    // capacity_hint: columns to reserve at the first append (0 = exactly what is appended).
    explicit KvCache(int64_t num_layers, int64_t capacity_hint = 0);

    int64_t num_layers() const { return static_cast<int64_t>(m_layers.size()); }
    // Columns filled in layer l (layers filled by a split run may differ).
    int64_t layer_length(int64_t layer) const;
    // Reserved columns of layer l (0 before its first append).
    int64_t layer_capacity(int64_t layer) const;
    int64_t batch_size() const { return m_valid.defined() ? m_valid.size(0) : 0; }

    // Appends k, v [B, kv_heads, t, head_dim] to layer l and returns the filled
    // views [B, kv_heads, past + t, head_dim].
    std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k, const at::Tensor& v);
    // Records which of the columns [begin, begin + t) are real tokens (mask [B, t]).
    void set_valid(int64_t begin, const at::Tensor& mask);
    // [B, n] bool: real-token flags of the first n columns.
    at::Tensor valid(int64_t n) const;

    // Columns to reserve at the next growth of each layer (e.g. prompt + max new tokens).
    void reserve_hint(int64_t columns) { m_capacity_hint = std::max(m_capacity_hint, columns); }

    // Deep copy of layers [0, end) (all when end < 0); later layers come back empty.
    KvCache clone(int64_t end_layer = -1) const;
    // Keeps only batch rows `rows` (int64 indices), e.g. to drop finished sequences.
    void select_rows(const at::Tensor& rows);

private:
    struct Layer {
        at::Tensor k, v;  // [B, kv_heads, capacity, head_dim]
        int64_t length = 0;
    };
    int64_t grown_capacity(int64_t current, int64_t needed) const;

    std::vector<Layer> m_layers;
    at::Tensor m_valid;  // [B, capacity] bool
    int64_t m_capacity_hint = 0;
};

}  // namespace olm
