#include "core/demo/bpe_trainer.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <tuple>

namespace olm::demo {

const char* const kQwen2SplitRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const char* const kChatMlTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% "
    "endif %}";

namespace {

// GPT-2's byte-to-unicode table: printable bytes keep their code point, the
// others are moved to 256 + n, so every byte has a visible symbol.
const std::array<std::string, 256>& byte_symbols() {
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        auto utf8 = [](uint32_t cp) {
            std::string s;
            if (cp < 0x80) {
                s += static_cast<char>(cp);
            } else {  // every symbol here is below U+0800
                s += static_cast<char>(0xC0 | (cp >> 6));
                s += static_cast<char>(0x80 | (cp & 0x3F));
            }
            return s;
        };
        int shifted = 0;
        for (int b = 0; b < 256; ++b) {
            const bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[static_cast<size_t>(b)] =
                utf8(keep ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + shifted++));
        }
        return t;
    }();
    return table;
}

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_newline(char c) { return c == '\n' || c == '\r'; }
bool is_punct(char c) { return !is_space(c) && !is_letter(c) && !is_digit(c); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Length of the Qwen2 regex match at position i (the alternatives in order).
size_t match_at(std::string_view s, size_t i) {
    const size_t n = s.size();
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (s[i] == '\'' && i + 1 < n) {
        const char a = lower(s[i + 1]);
        const char b = i + 2 < n ? lower(s[i + 2]) : '\0';
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    {
        size_t j = i;
        if (!is_newline(s[j]) && !is_letter(s[j]) && !is_digit(s[j]) && j + 1 < n && is_letter(s[j + 1])) ++j;
        if (is_letter(s[j])) {
            while (j < n && is_letter(s[j])) ++j;
            return j - i;
        }
    }
    // \p{N}
    if (is_digit(s[i])) return 1;
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    {
        size_t j = i;
        if (s[j] == ' ' && j + 1 < n && is_punct(s[j + 1])) ++j;
        if (is_punct(s[j])) {
            while (j < n && is_punct(s[j])) ++j;
            while (j < n && is_newline(s[j])) ++j;
            return j - i;
        }
    }
    // The rest start with whitespace.
    size_t k = i;
    while (k < n && is_space(s[k])) ++k;
    // \s*[\r\n]+ : up to the last newline of the whitespace run
    for (size_t p = k; p > i; --p)
        if (is_newline(s[p - 1])) return p - i;
    // \s+(?!\S)
    if (k == n) return k - i;
    if (k - 1 > i) return k - 1 - i;
    // \s+
    return k - i;
}

}  // namespace

std::vector<std::string> pretokenize_ascii(std::string_view text) {
    std::vector<std::string> out;
    for (size_t i = 0; i < text.size();) {
        if (static_cast<unsigned char>(text[i]) >= 0x80)
            throw Error("demo tokenizer: non-ASCII byte at offset " + std::to_string(i) +
                        " (the demo corpus is ASCII)");
        const size_t len = match_at(text, i);
        out.emplace_back(text.substr(i, len));
        i += len;
    }
    return out;
}

namespace {

// Splits text into (is_special, piece) runs, matching special tokens literally.
std::vector<std::pair<int64_t, std::string>> split_specials(std::string_view text,
                                                            const std::vector<std::string>& specials) {
    std::vector<std::pair<int64_t, std::string>> out;  // special index or -1
    std::string plain;
    for (size_t i = 0; i < text.size();) {
        int64_t hit = -1;
        for (size_t k = 0; k < specials.size(); ++k)
            if (text.compare(i, specials[k].size(), specials[k]) == 0) hit = static_cast<int64_t>(k);
        if (hit >= 0) {
            if (!plain.empty()) out.emplace_back(-1, std::move(plain)), plain.clear();
            out.emplace_back(hit, specials[static_cast<size_t>(hit)]);
            i += specials[static_cast<size_t>(hit)].size();
        } else {
            plain += text[i++];
        }
    }
    if (!plain.empty()) out.emplace_back(-1, std::move(plain));
    return out;
}

// Replaces every occurrence of the pair (a, b), left to right, by merged.
void merge_pair(std::vector<int64_t>& sym, int64_t a, int64_t b, int64_t merged) {
    std::vector<int64_t> next;
    for (size_t i = 0; i < sym.size(); ++i) {
        if (i + 1 < sym.size() && sym[i] == a && sym[i + 1] == b) {
            next.push_back(merged);
            ++i;
        } else {
            next.push_back(sym[i]);
        }
    }
    sym.swap(next);
}

}  // namespace

void ByteBpe::index() {
    m_token_id.clear();
    m_merge.clear();
    for (size_t i = 0; i < tokens.size(); ++i) m_token_id[tokens[i]] = static_cast<int64_t>(i);
    for (size_t r = 0; r < merges.size(); ++r) {
        const auto& [a, b] = merges[r];
        m_merge[{m_token_id.at(a), m_token_id.at(b)}] = {static_cast<int64_t>(r), m_token_id.at(a + b)};
    }
}

int64_t ByteBpe::special_id(std::string_view special) const {
    for (size_t k = 0; k < specials.size(); ++k)
        if (specials[k] == special) return static_cast<int64_t>(tokens.size() + k);
    throw Error("demo tokenizer: unknown special token " + std::string(special));
}

std::vector<int64_t> ByteBpe::encode_word(const std::string& word) const {
    std::vector<int64_t> sym;
    for (unsigned char b : word) sym.push_back(b);
    for (;;) {
        int64_t best_rank = -1;
        size_t best_at = 0;
        int64_t merged = 0;
        for (size_t i = 0; i + 1 < sym.size(); ++i) {
            auto it = m_merge.find({sym[i], sym[i + 1]});
            if (it != m_merge.end() && (best_rank < 0 || it->second.first < best_rank)) {
                best_rank = it->second.first;
                best_at = i;
                merged = it->second.second;
            }
        }
        if (best_rank < 0) break;
        merge_pair(sym, sym[best_at], sym[best_at + 1], merged);
    }
    return sym;
}

std::vector<int64_t> ByteBpe::encode(std::string_view text) const {
    std::vector<int64_t> ids;
    for (const auto& [special, piece] : split_specials(text, specials)) {
        if (special >= 0) {
            ids.push_back(static_cast<int64_t>(tokens.size()) + special);
            continue;
        }
        for (const auto& word : pretokenize_ascii(piece)) {
            auto w = encode_word(word);
            ids.insert(ids.end(), w.begin(), w.end());
        }
    }
    return ids;
}

std::string ByteBpe::decode(const std::vector<int64_t>& ids) const {
    // Map each symbol back to bytes through the inverse byte table.
    std::map<std::string, unsigned char> inverse;
    for (int b = 0; b < 256; ++b)
        inverse[byte_symbols()[static_cast<size_t>(b)]] = static_cast<unsigned char>(b);
    std::string out;
    for (int64_t id : ids) {
        if (id < 0 || id >= vocab_size())
            throw Error("demo tokenizer: id " + std::to_string(id) + " out of range");
        if (id >= static_cast<int64_t>(tokens.size())) {
            out += specials[static_cast<size_t>(id) - tokens.size()];
            continue;
        }
        const std::string& t = tokens[static_cast<size_t>(id)];
        for (size_t i = 0; i < t.size();) {
            const size_t len = (static_cast<unsigned char>(t[i]) < 0x80) ? 1 : 2;
            out += static_cast<char>(inverse.at(t.substr(i, len)));
            i += len;
        }
    }
    return out;
}

nlohmann::json ByteBpe::tokenizer_json() const {
    using nlohmann::json;
    json added = json::array();
    for (size_t k = 0; k < specials.size(); ++k)
        added.push_back({{"id", tokens.size() + k},
                         {"content", specials[k]},
                         {"single_word", false},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", false},
                         {"special", true}});
    json vocab = json::object();
    for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
    json merge_list = json::array();
    for (const auto& [a, b] : merges) merge_list.push_back(a + " " + b);
    const json byte_level = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
    return {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", added},
            {"normalizer", {{"type", "NFC"}}},
            {"pre_tokenizer",
             {{"type", "Sequence"},
              {"pretokenizers", json::array({{{"type", "Split"},
                                              {"pattern", {{"Regex", kQwen2SplitRegex}}},
                                              {"behavior", "Isolated"},
                                              {"invert", false}},
                                             byte_level})}}},
            {"post_processor", byte_level},
            {"decoder", byte_level},
            {"model",
             {{"type", "BPE"},
              {"dropout", nullptr},
              {"unk_token", nullptr},
              {"continuing_subword_prefix", ""},
              {"end_of_word_suffix", ""},
              {"fuse_unk", false},
              {"byte_fallback", false},
              {"ignore_merges", false},
              {"vocab", vocab},
              {"merges", merge_list}}}};
}

nlohmann::json ByteBpe::tokenizer_config_json(int64_t model_max_length) const {
    using nlohmann::json;
    json decoder = json::object();
    for (size_t k = 0; k < specials.size(); ++k)
        decoder[std::to_string(tokens.size() + k)] = {{"content", specials[k]}, {"lstrip", false},
                                                      {"normalized", false},    {"rstrip", false},
                                                      {"single_word", false},   {"special", true}};
    return {{"add_bos_token", false},
            {"add_prefix_space", false},
            {"added_tokens_decoder", decoder},
            {"additional_special_tokens", json::array({"<|im_start|>", "<|im_end|>"})},
            {"bos_token", nullptr},
            {"chat_template", kChatMlTemplate},
            {"clean_up_tokenization_spaces", false},
            {"eos_token", "<|im_end|>"},
            {"errors", "replace"},
            {"model_max_length", model_max_length},
            {"pad_token", "<|endoftext|>"},
            {"split_special_tokens", false},
            {"tokenizer_class", "Qwen2Tokenizer"},
            {"unk_token", nullptr}};
}

ByteBpe train_byte_bpe(const std::vector<std::string>& texts, int merge_count,
                       const std::vector<std::string>& specials) {
    ByteBpe bpe;
    bpe.specials = specials;
    for (int b = 0; b < 256; ++b) bpe.tokens.push_back(byte_symbols()[static_cast<size_t>(b)]);

    // Word frequencies over the pre-tokenised corpus, as symbol id sequences.
    std::map<std::string, int64_t> freq;
    for (const auto& text : texts)
        for (const auto& [special, piece] : split_specials(text, specials))
            if (special < 0)
                for (auto& w : pretokenize_ascii(piece)) ++freq[w];
    std::vector<std::pair<std::vector<int64_t>, int64_t>> words;
    for (const auto& [w, f] : freq) {
        std::vector<int64_t> sym;
        for (unsigned char b : w) sym.push_back(b);
        words.emplace_back(std::move(sym), f);
    }

    for (int m = 0; m < merge_count; ++m) {
        std::map<std::pair<int64_t, int64_t>, int64_t> pairs;
        for (const auto& [sym, f] : words)
            for (size_t i = 0; i + 1 < sym.size(); ++i) pairs[{sym[i], sym[i + 1]}] += f;
        if (pairs.empty()) break;
        // Most frequent; ties -> lexicographically smallest (left, right) spelling.
        const std::pair<int64_t, int64_t>* best = nullptr;
        int64_t best_count = 0;
        for (const auto& [p, count] : pairs) {
            if (!best || count > best_count ||
                (count == best_count && std::tie(bpe.tokens[static_cast<size_t>(p.first)],
                                                 bpe.tokens[static_cast<size_t>(p.second)]) <
                                            std::tie(bpe.tokens[static_cast<size_t>(best->first)],
                                                     bpe.tokens[static_cast<size_t>(best->second)]))) {
                best = &p;
                best_count = count;
            }
        }
        const auto [a, b] = *best;
        // A spelling reached by two different pairs keeps its first id (as the HF trainer does).
        const std::string joined = bpe.tokens[static_cast<size_t>(a)] + bpe.tokens[static_cast<size_t>(b)];
        const auto existing = std::find(bpe.tokens.begin(), bpe.tokens.end(), joined);
        const int64_t merged = static_cast<int64_t>(existing - bpe.tokens.begin());
        bpe.merges.emplace_back(bpe.tokens[static_cast<size_t>(a)], bpe.tokens[static_cast<size_t>(b)]);
        if (existing == bpe.tokens.end()) bpe.tokens.push_back(joined);
        for (auto& [sym, f] : words) merge_pair(sym, a, b, merged);
    }
    bpe.index();
    return bpe;
}

}  // namespace olm::demo
