#pragma once
// The BPE model of tokenizer.json: vocabulary, ranked merges, and the
// reference library's merge algorithm (rank-ordered queue, O(n log n) per
// word) with byte_fallback, unk/fuse_unk, ignore_merges and a word cache.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace olm::tok {

// Token ids of a tokenizer.json lie in [0, max_token_id]: the table is sized by
// the largest id, so 2^22 (4.2M, 16 times the largest released vocabulary)
// bounds what a file can make the loader allocate. Matches the vocab_size
// bound on config.json (ModelSpecLimits::max_vocab).
constexpr int64_t max_token_id = (int64_t(1) << 22) - 1;

// A token id from tokenizer.json: an integer in [0, max_token_id], else
// olm::Error naming `what` (no silent wrap of 2^40 to 0, no negative index).
int32_t token_id_from_json(const nlohmann::json& v, const std::string& what);

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// (left id, right id) -> (rank, merged id): open addressing, linear probing.
class MergeTable {
public:
    void reserve(size_t n);
    void put(int32_t a, int32_t b, std::pair<int32_t, int32_t> value);
    const std::pair<int32_t, int32_t>* find(int32_t a, int32_t b) const {
        const uint64_t key = pack(a, b);
        for (uint64_t i = mix(key) & m_mask;; i = (i + 1) & m_mask) {
            if (m_keys[i] == key) return &m_values[i];
            if (m_keys[i] == kEmpty) return nullptr;
        }
    }

private:
    static constexpr uint64_t kEmpty = ~uint64_t(0);  // ids are >= 0, so no real key is all ones
    static uint64_t pack(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }
    static uint64_t mix(uint64_t k) {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdULL;
        return k ^ (k >> 33);
    }
    std::vector<uint64_t> m_keys = std::vector<uint64_t>(1, kEmpty);
    std::vector<std::pair<int32_t, int32_t>> m_values = std::vector<std::pair<int32_t, int32_t>>(1);
    uint64_t m_mask = 0;
    size_t m_size = 0;
};

class Bpe {
public:
    explicit Bpe(const nlohmann::json& model);  // the "model" object of tokenizer.json

    // Appends the ids of one pre-tokenized word.
    void tokenize(std::string_view word, std::vector<int32_t>& out) const;

    std::optional<int32_t> token_to_id(std::string_view token) const;
    const std::string* id_to_token(int32_t id) const;  // nullptr when unknown
    int64_t max_id() const { return static_cast<int64_t>(m_tokens.size()) - 1; }
    int64_t size() const { return static_cast<int64_t>(m_vocab.size()); }  // number of entries

private:
    void merge_word(std::string_view word, std::vector<int32_t>& out) const;

    StringIdMap m_vocab;
    std::vector<std::string> m_tokens;  // id -> token ("" for holes)
    std::vector<bool> m_has_token;      // id has a token
    MergeTable m_merges;                // (a,b) -> (rank, new id)
    std::vector<int32_t> m_ascii_ids;   // single ASCII char -> id (-1: not in the vocabulary)
    std::optional<int32_t> m_unk;
    std::string m_prefix, m_suffix;  // continuing_subword_prefix, end_of_word_suffix
    bool m_byte_fallback = false, m_fuse_unk = false, m_ignore_merges = false;
    std::vector<int32_t> m_byte_ids;  // <0xNN> -> id, -1 when missing

    // Word cache (words shorter than kCacheMaxWord bytes, up to kCacheCapacity entries).
    static constexpr size_t kCacheCapacity = 20000;
    static constexpr size_t kCacheMaxWord = 256;
    mutable std::shared_mutex m_cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> m_cache;
};

}  // namespace olm::tok
