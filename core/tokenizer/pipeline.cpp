#include "core/tokenizer/pipeline.h"

#include "core/tokenizer/bpe.h"
#include "core/tokenizer/regex.h"
#include "core/tokenizer/unicode.h"
#include "core/util/error.h"

namespace olm::tok {

namespace {

std::string type_of(const json& j, const char* what) {
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
        throw Error(std::string(what) + " without a \"type\": " + j.dump().substr(0, 200));
    return j["type"].get<std::string>();
}

template <class T>
T get_or(const json& j, const char* key, T fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    return it->get<T>();
}

// Replaces one code point `from` (UTF-8) by `to` everywhere.
std::string replace_literal(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (true) {
        size_t hit = s.find(from, pos);
        if (hit == std::string_view::npos) break;
        out.append(s.substr(pos, hit - pos));
        out.append(to);
        pos = hit + from.size();
    }
    out.append(s.substr(pos));
    return out;
}

}  // namespace

// ---------------------------------------------------------------- Pattern

Pattern::Pattern(const json& j) {
    if (j.is_string()) {
        m_literal = j.get<std::string>();
    } else if (j.contains("String")) {
        m_literal = j["String"].get<std::string>();
    } else if (j.contains("Regex")) {
        m_regex = std::make_unique<Regex>(j["Regex"].get<std::string>());
    } else {
        throw Error("pattern is neither {\"String\"} nor {\"Regex\"}: " + j.dump());
    }
}
Pattern::~Pattern() = default;
Pattern::Pattern(Pattern&&) noexcept = default;

std::vector<std::pair<size_t, size_t>> Pattern::find_all(std::string_view text) const {
    if (m_regex) return m_regex->find_all(text);
    std::vector<std::pair<size_t, size_t>> out;
    if (m_literal.empty()) return out;
    size_t pos = 0;
    while ((pos = text.find(m_literal, pos)) != std::string_view::npos) {
        out.emplace_back(pos, pos + m_literal.size());
        pos += m_literal.size();
    }
    return out;
}

std::string Pattern::replace_all(std::string_view text, const std::string& content) const {
    if (!m_regex) return m_literal.empty() ? std::string(text) : replace_literal(text, m_literal, content);
    std::string out;
    size_t prev = 0;
    for (auto [s, e] : m_regex->find_all(text)) {
        out.append(text.substr(prev, s - prev));
        out.append(content);
        prev = e;
    }
    out.append(text.substr(prev));
    return out;
}

// ---------------------------------------------------------------- normalizers

namespace {

class NormalizeForm : public Normalizer {
public:
    explicit NormalizeForm(unicode::NormForm f) : m_form(f) {}
    void apply(std::string& s) const override { s = unicode::normalize(s, m_form); }

private:
    unicode::NormForm m_form;
};

class Lowercase : public Normalizer {
public:
    void apply(std::string& s) const override { s = unicode::to_lowercase(s); }
};

class Prepend : public Normalizer {
public:
    explicit Prepend(std::string p) : m_prepend(std::move(p)) {}
    void apply(std::string& s) const override {
        if (!s.empty()) s.insert(0, m_prepend);
    }

private:
    std::string m_prepend;
};

class ReplaceNorm : public Normalizer {
public:
    ReplaceNorm(const json& pattern, std::string content)
        : m_pattern(pattern), m_content(std::move(content)) {}
    void apply(std::string& s) const override { s = m_pattern.replace_all(s, m_content); }

private:
    Pattern m_pattern;
    std::string m_content;
};

// Leading/trailing Unicode whitespace.
class StripNorm : public Normalizer {
public:
    StripNorm(bool left, bool right) : m_left(left), m_right(right) {}
    void apply(std::string& s) const override {
        size_t i = 0, first = std::string::npos, last_end = 0;
        while (i < s.size()) {
            size_t at = i;
            if (!unicode::is_whitespace(unicode::next_cp(s, i))) {
                if (first == std::string::npos) first = at;
                last_end = i;
            }
        }
        size_t begin = m_left ? (first == std::string::npos ? s.size() : first) : 0;
        size_t end = m_right ? last_end : s.size();
        s = begin < end ? s.substr(begin, end - begin) : std::string();
    }

private:
    bool m_left, m_right;
};

class NormSequence : public Normalizer {
public:
    std::vector<std::unique_ptr<Normalizer>> items;
    void apply(std::string& s) const override {
        for (const auto& n : items) n->apply(s);
    }
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json& j) {
    if (j.is_null()) return nullptr;
    std::string type = type_of(j, "normalizer");
    if (type == "NFC") return std::make_unique<NormalizeForm>(unicode::NormForm::nfc);
    if (type == "NFD") return std::make_unique<NormalizeForm>(unicode::NormForm::nfd);
    if (type == "NFKC") return std::make_unique<NormalizeForm>(unicode::NormForm::nfkc);
    if (type == "NFKD") return std::make_unique<NormalizeForm>(unicode::NormForm::nfkd);
    if (type == "Lowercase") return std::make_unique<Lowercase>();
    if (type == "Prepend") return std::make_unique<Prepend>(j.at("prepend").get<std::string>());
    if (type == "Replace")
        return std::make_unique<ReplaceNorm>(j.at("pattern"), j.at("content").get<std::string>());
    if (type == "Strip")
        return std::make_unique<StripNorm>(get_or(j, "strip_left", true), get_or(j, "strip_right", true));
    if (type == "Sequence") {
        auto seq = std::make_unique<NormSequence>();
        for (const auto& n : j.at("normalizers"))
            if (auto p = make_normalizer(n)) seq->items.push_back(std::move(p));
        return seq;
    }
    throw Error("unsupported normalizer type \"" + type + "\"");
}

// ---------------------------------------------------------------- pre-tokenizers

namespace {

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

Behavior parse_behavior(const std::string& b) {
    if (b == "Removed") return Behavior::removed;
    if (b == "Isolated") return Behavior::isolated;
    if (b == "MergedWithPrevious") return Behavior::merged_with_previous;
    if (b == "MergedWithNext") return Behavior::merged_with_next;
    if (b == "Contiguous") return Behavior::contiguous;
    throw Error("unknown split behavior \"" + b + "\"");
}

struct Span {
    size_t start, end;
    bool flag;  // is_match, then "remove" after applying the behavior
};

// The reference's NormalizedString::split: matches -> spans covering the text
// -> behavior -> non-removed, non-empty pieces.
void split_piece(const Piece& piece, const std::vector<std::pair<size_t, size_t>>& matches, Behavior behavior,
                 bool invert, std::vector<Piece>& out) {
    const std::string& text = piece.text;
    std::vector<Span> spans;
    spans.reserve(matches.size() * 2 + 1);
    size_t prev = 0;
    for (auto [s, e] : matches) {
        if (prev != s) spans.push_back({prev, s, false});
        spans.push_back({s, e, true});
        prev = e;
    }
    if (prev != text.size()) spans.push_back({prev, text.size(), false});
    if (invert)
        for (auto& sp : spans) sp.flag = !sp.flag;

    std::vector<Span> result;
    result.reserve(spans.size());
    switch (behavior) {
        case Behavior::isolated:
            for (auto sp : spans) result.push_back({sp.start, sp.end, false});
            break;
        case Behavior::removed:
            result = spans;
            break;
        case Behavior::contiguous: {
            bool previous = false;
            for (auto sp : spans) {
                if (sp.flag == previous && !result.empty())
                    result.back().end = sp.end;
                else
                    result.push_back({sp.start, sp.end, false});
                previous = sp.flag;
            }
            break;
        }
        case Behavior::merged_with_previous: {
            bool previous = false;
            for (auto sp : spans) {
                if (sp.flag && !previous && !result.empty())
                    result.back().end = sp.end;
                else
                    result.push_back({sp.start, sp.end, false});
                previous = sp.flag;
            }
            break;
        }
        case Behavior::merged_with_next: {
            bool previous = false;
            for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
                if (it->flag && !previous && !result.empty())
                    result.back().start = it->start;
                else
                    result.push_back({it->start, it->end, false});
                previous = it->flag;
            }
            std::reverse(result.begin(), result.end());
            break;
        }
    }
    for (const auto& sp : result) {
        if (sp.flag || sp.end == sp.start) continue;
        out.push_back({text.substr(sp.start, sp.end - sp.start), piece.at_start && sp.start == 0});
    }
}

template <class MatchFn>
void split_all(std::vector<Piece>& pieces, MatchFn&& match, Behavior behavior, bool invert) {
    std::vector<Piece> out;
    out.reserve(pieces.size() * 2);
    for (const auto& p : pieces) split_piece(p, match(p.text), behavior, invert, out);
    pieces = std::move(out);
}

// One match per code point satisfying pred.
template <class Pred>
std::vector<std::pair<size_t, size_t>> char_matches(std::string_view s, Pred&& pred) {
    std::vector<std::pair<size_t, size_t>> out;
    size_t i = 0;
    while (i < s.size()) {
        size_t at = i;
        char32_t c = unicode::next_cp(s, i);
        if (pred(c)) out.emplace_back(at, i);
    }
    return out;
}

constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPre : public PreTokenizer {
public:
    ByteLevelPre(bool add_prefix_space, bool use_regex)
        : m_add_prefix_space(add_prefix_space),
          m_regex(use_regex ? std::make_unique<Regex>(kGpt2Pattern) : nullptr) {}
    void apply(std::vector<Piece>& pieces) const override {
        if (m_add_prefix_space)
            for (auto& p : pieces)
                if (p.text.empty() || p.text[0] != ' ') p.text.insert(p.text.begin(), ' ');
        if (m_regex)
            split_all(
                pieces, [&](std::string_view s) { return m_regex->find_all(s); }, Behavior::isolated, false);
        for (auto& p : pieces) p.text = unicode::bytes_to_bytelevel(p.text);
    }

private:
    bool m_add_prefix_space;
    std::unique_ptr<Regex> m_regex;
};

class SplitPre : public PreTokenizer {
public:
    SplitPre(const json& pattern, Behavior b, bool invert)
        : m_pattern(pattern), m_behavior(b), m_invert(invert) {}
    void apply(std::vector<Piece>& pieces) const override {
        split_all(
            pieces, [&](std::string_view s) { return m_pattern.find_all(s); }, m_behavior, m_invert);
    }

private:
    Pattern m_pattern;
    Behavior m_behavior;
    bool m_invert;
};

class RegexPre : public PreTokenizer {
public:
    RegexPre(const std::string& pattern, Behavior b, bool invert)
        : m_regex(pattern), m_behavior(b), m_invert(invert) {}
    void apply(std::vector<Piece>& pieces) const override {
        split_all(
            pieces, [&](std::string_view s) { return m_regex.find_all(s); }, m_behavior, m_invert);
    }

private:
    Regex m_regex;
    Behavior m_behavior;
    bool m_invert;
};

template <class Pred>
class CharPre : public PreTokenizer {
public:
    CharPre(Pred pred, Behavior b) : m_pred(pred), m_behavior(b) {}
    void apply(std::vector<Piece>& pieces) const override {
        split_all(
            pieces, [&](std::string_view s) { return char_matches(s, m_pred); }, m_behavior, false);
    }

private:
    Pred m_pred;
    Behavior m_behavior;
};

template <class Pred>
std::unique_ptr<PreTokenizer> make_char_pre(Pred pred, Behavior b) {
    return std::make_unique<CharPre<Pred>>(pred, b);
}

enum class PrependScheme { first, always, never };

PrependScheme parse_prepend_scheme(const json& j) {
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string()) {
        std::string s = j["prepend_scheme"].get<std::string>();
        if (s == "first") return PrependScheme::first;
        if (s == "always") return PrependScheme::always;
        if (s == "never") return PrependScheme::never;
        throw Error("unknown Metaspace prepend_scheme \"" + s + "\"");
    }
    return get_or(j, "add_prefix_space", true) ? PrependScheme::always : PrependScheme::never;
}

std::string replacement_of(const json& j) {
    std::string r = get_or<std::string>(j, "replacement", "\xE2\x96\x81");
    if (r.empty()) throw Error("Metaspace replacement is empty");
    return r;
}

class MetaspacePre : public PreTokenizer {
public:
    explicit MetaspacePre(const json& j)
        : m_replacement(replacement_of(j)),
          m_scheme(parse_prepend_scheme(j)),
          m_split(get_or(j, "split", true)) {}
    void apply(std::vector<Piece>& pieces) const override {
        for (auto& p : pieces) {
            p.text = replace_literal(p.text, " ", m_replacement);
            bool starts = p.text.compare(0, m_replacement.size(), m_replacement) == 0;
            if (!starts &&
                (m_scheme == PrependScheme::always || (m_scheme == PrependScheme::first && p.at_start)))
                p.text.insert(0, m_replacement);
        }
        if (m_split) {
            split_all(
                pieces,
                [&](std::string_view s) {
                    std::vector<std::pair<size_t, size_t>> out;
                    size_t pos = 0;
                    while ((pos = s.find(m_replacement, pos)) != std::string_view::npos) {
                        out.emplace_back(pos, pos + m_replacement.size());
                        pos += m_replacement.size();
                    }
                    return out;
                },
                Behavior::merged_with_next, false);
        }
    }

private:
    std::string m_replacement;
    PrependScheme m_scheme;
    bool m_split;
};

class PreSequence : public PreTokenizer {
public:
    std::vector<std::unique_ptr<PreTokenizer>> items;
    void apply(std::vector<Piece>& pieces) const override {
        for (const auto& p : items) p->apply(pieces);
    }
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j) {
    if (j.is_null()) return nullptr;
    std::string type = type_of(j, "pre_tokenizer");
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelPre>(get_or(j, "add_prefix_space", true),
                                              get_or(j, "use_regex", true));
    if (type == "Split")
        return std::make_unique<SplitPre>(
            j.at("pattern"), parse_behavior(j.at("behavior").get<std::string>()), get_or(j, "invert", false));
    if (type == "Digits") {
        bool individual = get_or(j, "individual_digits", false);
        return make_char_pre([](char32_t c) { return unicode::is_numeric(c); },
                             individual ? Behavior::isolated : Behavior::contiguous);
    }
    if (type == "Metaspace") return std::make_unique<MetaspacePre>(j);
    if (type == "Whitespace") return std::make_unique<RegexPre>(R"(\w+|[^\w\s]+)", Behavior::removed, true);
    if (type == "WhitespaceSplit")
        return make_char_pre([](char32_t c) { return unicode::is_whitespace(c); }, Behavior::removed);
    if (type == "Punctuation")
        return make_char_pre([](char32_t c) { return unicode::is_punctuation(c); },
                             parse_behavior(get_or<std::string>(j, "behavior", "Isolated")));
    if (type == "CharDelimiterSplit") {
        std::string d = j.at("delimiter").get<std::string>();
        size_t i = 0;
        char32_t dc = unicode::next_cp(d, i);
        return make_char_pre([dc](char32_t c) { return c == dc; }, Behavior::removed);
    }
    if (type == "Sequence") {
        auto seq = std::make_unique<PreSequence>();
        for (const auto& p : j.at("pretokenizers"))
            if (auto q = make_pre_tokenizer(p)) seq->items.push_back(std::move(q));
        return seq;
    }
    throw Error("unsupported pre_tokenizer type \"" + type + "\"");
}

// ---------------------------------------------------------------- decoders

namespace {

class ByteLevelDec : public Decoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::string bytes;
        for (const auto& t : tokens) {
            size_t mark = bytes.size();
            size_t i = 0;
            bool ok = true;
            while (i < t.size()) {
                int b = unicode::cp_to_byte(unicode::next_cp(t, i));
                if (b < 0) {
                    ok = false;
                    break;
                }
                bytes.push_back(static_cast<char>(b));
            }
            if (!ok) {  // a token outside the byte alphabet passes through as its UTF-8 bytes
                bytes.resize(mark);
                bytes.append(t);
            }
        }
        tokens.assign(1, unicode::from_utf8_lossy(bytes));
    }
};

class MetaspaceDec : public Decoder {
public:
    explicit MetaspaceDec(const json& j)
        : m_replacement(replacement_of(j)), m_scheme(parse_prepend_scheme(j)) {}
    void apply(std::vector<std::string>& tokens) const override {
        for (size_t k = 0; k < tokens.size(); ++k) {
            bool drop = k == 0 && m_scheme != PrependScheme::never;
            tokens[k] = replace_literal(tokens[k], m_replacement, drop ? "" : " ");
        }
    }

private:
    std::string m_replacement;
    PrependScheme m_scheme;
};

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class ByteFallbackDec : public Decoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string pending;
        auto flush = [&] {
            if (pending.empty()) return;
            if (unicode::find_invalid_utf8(pending) == std::string::npos) {
                out.push_back(pending);
            } else {
                for (size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
            }
            pending.clear();
        };
        for (auto& t : tokens) {
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex_digit(t[3]) >= 0 &&
                hex_digit(t[4]) >= 0) {
                pending.push_back(static_cast<char>(hex_digit(t[3]) * 16 + hex_digit(t[4])));
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens = std::move(out);
    }
};

class FuseDec : public Decoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.assign(1, std::move(all));
    }
};

class StripDec : public Decoder {
public:
    explicit StripDec(const json& j)
        : m_start(get_or<size_t>(j, "start", 0)), m_stop(get_or<size_t>(j, "stop", 0)) {
        std::string c = j.at("content").get<std::string>();
        size_t i = 0;
        m_content = unicode::next_cp(c, i);
    }
    void apply(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            std::vector<std::pair<size_t, char32_t>> chars;  // (byte offset, code point)
            size_t i = 0;
            while (i < t.size()) {
                size_t at = i;
                chars.emplace_back(at, unicode::next_cp(t, i));
            }
            size_t start_cut = 0;
            for (size_t k = 0; k < chars.size() && k < m_start; ++k) {
                if (chars[k].second != m_content) break;
                start_cut = k + 1;
            }
            size_t stop_cut = chars.size();
            for (size_t k = 0; k < chars.size() && k < m_stop; ++k) {
                size_t idx = chars.size() - 1 - k;
                if (chars[idx].second != m_content) break;
                stop_cut = idx;
            }
            if (start_cut >= stop_cut) {
                t.clear();
                continue;
            }
            size_t b0 = start_cut < chars.size() ? chars[start_cut].first : t.size();
            size_t b1 = stop_cut < chars.size() ? chars[stop_cut].first : t.size();
            t = t.substr(b0, b1 - b0);
        }
    }

private:
    char32_t m_content;
    size_t m_start, m_stop;
};

class ReplaceDec : public Decoder {
public:
    ReplaceDec(const json& pattern, std::string content)
        : m_pattern(pattern), m_content(std::move(content)) {}
    void apply(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) t = m_pattern.replace_all(t, m_content);
    }

private:
    Pattern m_pattern;
    std::string m_content;
};

class DecSequence : public Decoder {
public:
    std::vector<std::unique_ptr<Decoder>> items;
    void apply(std::vector<std::string>& tokens) const override {
        for (const auto& d : items) d->apply(tokens);
    }
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& j) {
    if (j.is_null()) return nullptr;
    std::string type = type_of(j, "decoder");
    if (type == "ByteLevel") return std::make_unique<ByteLevelDec>();
    if (type == "Metaspace") return std::make_unique<MetaspaceDec>(j);
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDec>();
    if (type == "Fuse") return std::make_unique<FuseDec>();
    if (type == "Strip") return std::make_unique<StripDec>(j);
    if (type == "Replace")
        return std::make_unique<ReplaceDec>(j.at("pattern"), j.at("content").get<std::string>());
    if (type == "Sequence") {
        auto seq = std::make_unique<DecSequence>();
        for (const auto& d : j.at("decoders"))
            if (auto p = make_decoder(d)) seq->items.push_back(std::move(p));
        return seq;
    }
    throw Error("unsupported decoder type \"" + type + "\"");
}

// ---------------------------------------------------------------- post-processors

namespace {

// TemplateProcessing's "single" template: special tokens around sequence A.
class TemplatePost : public PostProcessor {
public:
    explicit TemplatePost(const json& j) {
        const json& specials = j.contains("special_tokens") ? j["special_tokens"] : json::object();
        for (const auto& item : j.at("single")) {
            if (item.contains("Sequence")) {
                m_items.push_back({true, {}});
            } else if (item.contains("SpecialToken")) {
                std::string id = item["SpecialToken"].at("id").get<std::string>();
                if (!specials.contains(id))
                    throw Error("TemplateProcessing uses special token \"" + id +
                                "\" missing from special_tokens");
                std::vector<int32_t> ids;
                for (const auto& v : specials[id].at("ids"))
                    ids.push_back(token_id_from_json(v, "TemplateProcessing special token \"" + id + "\""));
                m_items.push_back({false, std::move(ids)});
            } else {
                throw Error("TemplateProcessing: unknown template item " + item.dump());
            }
        }
    }
    void apply(std::vector<int32_t>& ids) const override {
        std::vector<int32_t> out;
        out.reserve(ids.size() + 4);
        for (const auto& it : m_items) {
            if (it.sequence)
                out.insert(out.end(), ids.begin(), ids.end());
            else
                out.insert(out.end(), it.ids.begin(), it.ids.end());
        }
        ids = std::move(out);
    }

private:
    struct Item {
        bool sequence;
        std::vector<int32_t> ids;
    };
    std::vector<Item> m_items;
};

// Bert/Roberta: cls + A + sep, ids given inline as ["[CLS]", 101].
class ClsSepPost : public PostProcessor {
public:
    explicit ClsSepPost(const json& j)
        : m_cls(token_id_from_json(j.at("cls").at(1), "post_processor cls")),
          m_sep(token_id_from_json(j.at("sep").at(1), "post_processor sep")) {}
    void apply(std::vector<int32_t>& ids) const override {
        ids.insert(ids.begin(), m_cls);
        ids.push_back(m_sep);
    }

private:
    int32_t m_cls, m_sep;
};

class NoOpPost : public PostProcessor {  // ByteLevel: offsets only
public:
    void apply(std::vector<int32_t>&) const override {}
};

class PostSequence : public PostProcessor {
public:
    std::vector<std::unique_ptr<PostProcessor>> items;
    void apply(std::vector<int32_t>& ids) const override {
        for (const auto& p : items) p->apply(ids);
    }
};

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j) {
    if (j.is_null()) return nullptr;
    std::string type = type_of(j, "post_processor");
    if (type == "TemplateProcessing") return std::make_unique<TemplatePost>(j);
    if (type == "ByteLevel") return std::make_unique<NoOpPost>();
    if (type == "BertProcessing" || type == "RobertaProcessing") return std::make_unique<ClsSepPost>(j);
    if (type == "Sequence") {
        auto seq = std::make_unique<PostSequence>();
        for (const auto& p : j.at("processors"))
            if (auto q = make_post_processor(p)) seq->items.push_back(std::move(q));
        return seq;
    }
    throw Error("unsupported post_processor type \"" + type + "\"");
}

}  // namespace olm::tok
