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

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

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
    std::vector<std::string> m_tokens;     // id -> token ("" for holes)
    std::vector<bool> m_has_token;         // id has a token
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> m_merges;  // (a,b) -> (rank, new id)
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
