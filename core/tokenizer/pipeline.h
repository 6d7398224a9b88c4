#pragma once
// The stages of a tokenizer.json pipeline, built from their JSON objects:
// normalizers, pre-tokenizers, post-processors and decoders. Internal to
// core/tokenizer; Tokenizer (tokenizer.h) is the public face.
//
// Offsets are not tracked (the project only needs ids); the one place the
// reference library consults offsets — Metaspace's prepend_scheme "first" —
// is served by Piece::at_start.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace olm {
class Regex;
}

namespace olm::tok {

using json = nlohmann::json;

// A `{"String": s}` or `{"Regex": r}` pattern (Split, Replace).
class Pattern {
public:
    explicit Pattern(const json& j);
    ~Pattern();
    Pattern(Pattern&&) noexcept;
    // Non-overlapping matches [start, end) in byte offsets.
    std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
    // Replaces every match with `content`.
    std::string replace_all(std::string_view text, const std::string& content) const;

private:
    std::string m_literal;
    std::unique_ptr<olm::Regex> m_regex;
};

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void apply(std::string& s) const = 0;
};
// nullptr for JSON null. Throws olm::Error for an unsupported type.
std::unique_ptr<Normalizer> make_normalizer(const json& j);

// A piece of text between added tokens, then between pre-tokenizer splits.
struct Piece {
    std::string text;
    bool at_start = false;  // begins at offset 0 of the original input
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    virtual void apply(std::vector<Piece>& pieces) const = 0;
};
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j);

class Decoder {
public:
    virtual ~Decoder() = default;
    // Rewrites the token strings in place (the reference's decode_chain).
    virtual void apply(std::vector<std::string>& tokens) const = 0;
};
std::unique_ptr<Decoder> make_decoder(const json& j);

// Special-token lookups a post-processor needs at load time.
class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    virtual void apply(std::vector<int32_t>& ids) const = 0;  // only called with add_special_tokens
};
std::unique_ptr<PostProcessor> make_post_processor(const json& j);

}  // namespace olm::tok
