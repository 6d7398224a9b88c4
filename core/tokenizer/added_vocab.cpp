#include "core/tokenizer/added_vocab.h"

#include "core/tokenizer/unicode.h"

#include <algorithm>

namespace olm::tok {

namespace {

// Rust regex `\w`: alphanumeric, marks, connector punctuation.
bool is_word_char(char32_t c) { return c == '_' || unicode::is_alphanumeric(c); }

char32_t last_cp(std::string_view s) {
    size_t i = s.size();
    while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i;
    if (i > 0) --i;
    size_t j = i;
    return unicode::next_cp(s, j);
}

}  // namespace

int32_t AddedMatcher::child(int32_t node, unsigned char c) const {
    const auto& ch = m_nodes[node].children;
    auto it = std::lower_bound(ch.begin(), ch.end(), std::make_pair(c, int32_t(-1)));
    return it != ch.end() && it->first == c ? it->second : -1;
}

void AddedMatcher::build(const std::vector<AddedToken>& tokens, bool normalized) {
    m_nodes.assign(1, Node{});
    m_tokens.clear();
    m_first.fill(false);
    for (const auto& t : tokens) {
        if (t.normalized != normalized || t.content.empty()) continue;
        int32_t node = 0;
        for (unsigned char c : t.content) {
            int32_t next = child(node, c);
            if (next < 0) {
                next = static_cast<int32_t>(m_nodes.size());
                m_nodes.push_back(Node{});
                auto& ch = m_nodes[node].children;
                ch.insert(std::lower_bound(ch.begin(), ch.end(), std::make_pair(c, int32_t(-1))), {c, next});
            }
            node = next;
        }
        m_nodes[node].token = static_cast<int32_t>(m_tokens.size());
        m_tokens.push_back(t);
        m_first[static_cast<unsigned char>(t.content[0])] = true;
    }
}

std::vector<Split> AddedMatcher::split(std::string_view text) const {
    std::vector<Split> out;
    size_t start_offset = 0;
    size_t i = 0;
    while (i < text.size()) {
        if (!m_first[static_cast<unsigned char>(text[i])]) {
            ++i;
            continue;
        }
        // Longest token starting at i.
        int32_t node = 0, best = -1;
        size_t best_end = 0;
        for (size_t k = i; k < text.size(); ++k) {
            node = child(node, static_cast<unsigned char>(text[k]));
            if (node < 0) break;
            if (m_nodes[node].token >= 0) {
                best = m_nodes[node].token;
                best_end = k + 1;
            }
        }
        if (best < 0) {
            ++i;
            continue;
        }
        const AddedToken& tok = m_tokens[best];
        size_t start = i, stop = best_end;
        i = best_end;  // the search resumes after this match either way
        if (tok.single_word) {
            bool start_ok = start == 0 || !is_word_char(last_cp(text.substr(0, start)));
            size_t j = stop;
            bool stop_ok = stop == text.size() || !is_word_char(unicode::next_cp(text, j));
            if (!start_ok || !stop_ok) continue;
        }
        if (tok.lstrip) {
            size_t s = start;
            while (s > start_offset) {
                size_t p = s - 1;
                while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
                size_t q = p;
                if (!unicode::is_whitespace(unicode::next_cp(text, q))) break;
                s = p;
            }
            start = s;
        }
        if (tok.rstrip) {
            size_t j = stop;
            while (j < text.size()) {
                size_t at = j;
                if (!unicode::is_whitespace(unicode::next_cp(text, j))) {
                    j = at;
                    break;
                }
            }
            stop = j;
            i = std::max(i, stop);
        }
        if (start > start_offset) out.push_back({start_offset, start, -1});
        out.push_back({start, stop, tok.id});
        start_offset = stop;
    }
    if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
    return out;
}

}  // namespace olm::tok
