#pragma once
// A batch of variable-length token sequences, padded to one width, with the
// mask and the HF position ids (0, 1, 2, ... over real tokens only).
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace olm {

enum class PadSide { right, left };

struct Batch {
    at::Tensor ids;                // [B, T] int64; pads hold pad_id
    at::Tensor mask;               // [B, T] bool, true = real token
    at::Tensor positions;          // [B, T] int64 position ids (pads: 0)
    std::vector<int64_t> lengths;  // real tokens per sequence
    PadSide side = PadSide::right;

    int64_t size() const { return ids.defined() ? ids.size(0) : 0; }
    int64_t width() const { return ids.defined() ? ids.size(1) : 0; }
    // Column of the j-th real token of sequence b.
    int64_t column(int64_t b, int64_t j) const;
    // Rows [begin, end) of the batch (same width).
    Batch slice(int64_t begin, int64_t end) const;
};

// Pads to the longest sequence. first_position offsets the position ids (for a
// continuation after cached tokens). Throws olm::Error on an empty sequence.
Batch make_batch(const std::vector<std::vector<int64_t>>& sequences, PadSide side = PadSide::right,
                 int64_t pad_id = 0, int64_t first_position = 0);

}  // namespace olm
