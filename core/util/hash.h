#pragma once
// Small deterministic hashes and generators: the same numbers on every
// platform and in every build (config hash, seeds, sample splits).
#include <cstdint>
#include <string_view>

namespace olm {

// FNV-1a, 64 bits, over the bytes.
inline uint64_t fnv1a64(std::string_view bytes) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
    return h;
}

// splitmix64: advances `state` and returns the next value of its stream.
inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace olm
