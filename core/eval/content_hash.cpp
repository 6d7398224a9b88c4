// XXH64 over a tensor's bytes, seeded with its dtype and shape.
#include "core/eval/content_hash.h"

#include "core/model/weights.h"

#include <cstring>

namespace olm {
namespace {

constexpr uint64_t P1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t P3 = 0x165667B19E3779F9ULL;
constexpr uint64_t P4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t P5 = 0x27D4EB2F165667C5ULL;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t read64(const unsigned char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline uint32_t read32(const unsigned char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline uint64_t round(uint64_t acc, uint64_t input) { return rotl(acc + input * P2, 31) * P1; }
inline uint64_t merge_round(uint64_t acc, uint64_t val) { return (acc ^ round(0, val)) * P1 + P4; }

uint64_t xxh64(const void* data, size_t len, uint64_t seed) {
    const auto* p = static_cast<const unsigned char*>(data);
    const unsigned char* const end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        const unsigned char* const limit = end - 32;
        do {
            v1 = round(v1, read64(p));
            v2 = round(v2, read64(p + 8));
            v3 = round(v3, read64(p + 16));
            v4 = round(v4, read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = merge_round(h, v1);
        h = merge_round(h, v2);
        h = merge_round(h, v3);
        h = merge_round(h, v4);
    } else {
        h = seed + P5;
    }
    h += static_cast<uint64_t>(len);
    while (p + 8 <= end) {
        h ^= round(0, read64(p));
        h = rotl(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= static_cast<uint64_t>(read32(p)) * P1;
        h = rotl(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p) * P5;
        h = rotl(h, 11) * P1;
        ++p;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

}  // namespace

uint64_t hash_combine(uint64_t seed, uint64_t value) {
    return seed ^ (value + 0x9E3779B97F4A7C15ULL + (seed << 12) + (seed >> 4));
}

uint64_t tensor_content_hash(const at::Tensor& t) {
    if (!t.defined()) return 0;
    uint64_t seed = static_cast<uint64_t>(t.scalar_type()) + 1;
    for (int64_t d : t.sizes()) seed = hash_combine(seed, static_cast<uint64_t>(d));
    at::Tensor c = t;
    if (!c.device().is_cpu()) c = c.to(at::kCPU);
    c = c.contiguous();
    return xxh64(c.data_ptr(), c.numel() * c.element_size(), seed);
}

uint64_t layer_content_hash(const LayerWeights& w) {
    uint64_t h = 0x4C4159455221ULL;  // "LAYER!"
    for (const UnitTensors& u : w.units) {
        h = hash_combine(h, tensor_content_hash(u.weight));
        h = hash_combine(h, tensor_content_hash(u.bias));
    }
    return h;
}

uint64_t boundary_content_hash(const BoundaryWeights& w) {
    uint64_t h = 0x424F554E44ULL;  // "BOUND"
    for (int p = 0; p < kNumBoundaryParts; ++p)
        h = hash_combine(h, tensor_content_hash(w[static_cast<BoundaryPart>(p)]));
    return h;
}

}  // namespace olm
