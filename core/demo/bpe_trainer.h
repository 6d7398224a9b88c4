#pragma once
// A small byte-level BPE trainer for the demo vocabulary, writing Hugging Face
// tokenizer.json / tokenizer_config.json in the Qwen2 layout: a Split pre-tokenizer
// with the Qwen2 regex, ByteLevel (no regex) pre-tokenizer and decoder, learned
// merges over the 256 byte symbols, and the ChatML special tokens.
//
// The trainer's own encoder exists to tokenise the training corpus; the product
// reads the written tokenizer.json through core/tokenizer, and tests check the
// two agree on the corpus. Input text must be ASCII (the pre-tokenizer here
// implements the Qwen2 regex for ASCII only and says so when given anything else).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace olm::demo {

// The Qwen2 pre-tokenizer split pattern, as written into tokenizer.json.
extern const char* const kQwen2SplitRegex;

// The ChatML chat template (Jinja) written into tokenizer_config.json.
extern const char* const kChatMlTemplate;

// Splits ASCII text the way the Qwen2 regex does; throws olm::Error on non-ASCII.
std::vector<std::string> pretokenize_ascii(std::string_view text);

class ByteBpe {
public:
    // ids [0, 256): the byte symbols in byte order; then one id per merge; then the special tokens.
    std::vector<std::string> tokens;  // byte-level (GPT-2 byte-to-unicode) spelling, UTF-8
    std::vector<std::pair<std::string, std::string>> merges;  // in rank order
    std::vector<std::string> specials;                        // "<|endoftext|>", "<|im_start|>", "<|im_end|>"

    int64_t vocab_size() const { return static_cast<int64_t>(tokens.size() + specials.size()); }
    int64_t special_id(std::string_view special) const;  // throws when unknown
    // Special tokens are matched literally first; the rest is pre-tokenised and merged.
    std::vector<int64_t> encode(std::string_view text) const;
    std::string decode(const std::vector<int64_t>& ids) const;

    nlohmann::json tokenizer_json() const;
    nlohmann::json tokenizer_config_json(int64_t model_max_length) const;

    // Rebuilds the lookup tables after tokens/merges changed (the trainer calls it).
    void index();

private:
    std::vector<int64_t> encode_word(const std::string& word) const;
    std::map<std::string, int64_t> m_token_id;
    std::map<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>> m_merge;  // (a,b) -> (rank, merged id)
};

// Learns `merge_count` merges from the texts (special tokens removed first).
// Deterministic: pairs are counted exactly and ties go to the lexicographically
// smallest pair.
ByteBpe train_byte_bpe(const std::vector<std::string>& texts, int merge_count,
                       const std::vector<std::string>& specials);

}  // namespace olm::demo
