#pragma once
// Content hashes of tensors and slots, for identical-candidate detection: two
// candidates with byte-identical tensors at a position score identically.
// The hash covers dtype, shape and the bytes (XXH64-style over 8-byte words).
#include <ATen/ATen.h>

#include <cstdint>

namespace olm {

struct LayerWeights;
struct BoundaryWeights;

// 0 for an undefined tensor. Non-contiguous or device tensors are hashed through
// a contiguous CPU copy.
uint64_t tensor_content_hash(const at::Tensor& t);
uint64_t layer_content_hash(const LayerWeights& w);
uint64_t boundary_content_hash(const BoundaryWeights& w);
// Order-dependent combination (boost-style).
uint64_t hash_combine(uint64_t seed, uint64_t value);

}  // namespace olm
