#pragma once
// A Hugging Face `tokenizer.json` tokenizer, exact to the reference `tokenizers`
// library: added tokens -> normalizer -> pre-tokenizer -> BPE model ->
// post-processor on encode; id -> token -> decoder chain on decode.
//
// Supported: BPE (byte-level and sentencepiece-style with byte_fallback,
// unk/fuse_unk, ignore_merges), normalizers NFC/NFD/NFKC/NFKD, Lowercase,
// Prepend, Replace, Strip, Sequence; pre-tokenizers ByteLevel, Split, Digits,
// Metaspace, Whitespace, WhitespaceSplit, Punctuation, Sequence;
// post-processors TemplateProcessing, ByteLevel, Sequence; decoders ByteLevel,
// Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence.
//
// A Tokenizer is immutable after loading and cheap to copy (shared state);
// encode/decode are safe to call from several threads at once.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace olm {

struct AddedToken {
    std::string content;
    int32_t id = -1;
    bool special = false;
    bool lstrip = false;
    bool rstrip = false;
    bool single_word = false;
    bool normalized = false;
};

class Tokenizer {
public:
    // Folder with tokenizer.json (+ optional tokenizer_config.json,
    // special_tokens_map.json). Throws olm::Error naming the file and field.
    static Tokenizer from_folder(const std::filesystem::path& dir);
    // From the text of tokenizer.json (+ optional tokenizer_config.json text).
    static Tokenizer from_json(std::string_view tokenizer_json, std::string_view config_json = {},
                               const std::string& origin = "tokenizer.json");

    // Text -> ids. add_special_tokens applies the post-processor (e.g. BOS).
    // Invalid UTF-8 input throws olm::Error with the byte offset.
    std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const;
    // Ids -> text, exactly as the reference library's decode (unknown ids are
    // skipped, invalid byte sequences become U+FFFD). No clean-up of spaces.
    std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const;
    // decode() followed by transformers' clean_up_tokenization when
    // tokenizer_config.json sets clean_up_tokenization_spaces (as transformers does).
    std::string decode_for_display(const std::vector<int32_t>& ids, bool skip_special_tokens) const;
    // transformers' clean_up_tokenization (" ." -> ".", " n't" -> "n't", ...).
    static std::string clean_up_tokenization(std::string text);

    std::optional<int32_t> token_to_id(std::string_view token) const;
    std::string id_to_token(int32_t id) const;  // "" for an unknown id
    std::vector<std::string> id_to_pieces(const std::vector<int32_t>& ids) const;
    int64_t vocab_size() const;  // including added tokens (max id + 1)
    const std::vector<AddedToken>& added_tokens() const;
    bool is_special(int32_t id) const;

    std::optional<std::string> chat_template() const;  // from tokenizer_config.json
    // bos/eos/pad/unk from tokenizer_config.json (or special_tokens_map.json) where present.
    std::optional<std::string> bos_token() const;
    std::optional<std::string> eos_token() const;
    std::optional<std::string> pad_token() const;
    std::optional<std::string> unk_token() const;
    std::optional<int32_t> bos_id() const;
    std::optional<int32_t> eos_id() const;
    std::optional<int32_t> pad_id() const;
    std::optional<int32_t> unk_id() const;
    std::optional<bool> add_bos_token() const;  // tokenizer_config.json's add_bos_token
    bool clean_up_tokenization_spaces() const;

    struct Impl;

private:
    static Tokenizer build(std::string_view tokenizer_json, std::string_view config_json,
                           std::string_view special_map_json, const std::string& origin);
    const Impl& impl() const;  // throws olm::Error on a default-constructed Tokenizer
    std::shared_ptr<const Impl> m_impl;
};

}  // namespace olm
