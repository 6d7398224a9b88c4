#include "core/tokenizer/bpe.h"

#include "core/tokenizer/unicode.h"
#include "core/util/error.h"

#include <cstdio>
#include <mutex>
#include <queue>

namespace olm::tok {

void MergeTable::reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    m_keys.assign(cap, kEmpty);
    m_values.assign(cap, {});
    m_mask = cap - 1;
    m_size = 0;
}

void MergeTable::put(int32_t a, int32_t b, std::pair<int32_t, int32_t> value) {
    if ((m_size + 1) * 2 > m_keys.size()) {  // grow, keeping the load factor under 1/2
        std::vector<uint64_t> keys = std::move(m_keys);
        std::vector<std::pair<int32_t, int32_t>> values = std::move(m_values);
        reserve(keys.size());
        for (size_t i = 0; i < keys.size(); ++i)
            if (keys[i] != kEmpty)
                put(static_cast<int32_t>(keys[i] >> 32), static_cast<int32_t>(keys[i] & 0xFFFFFFFF),
                    values[i]);
    }
    const uint64_t key = pack(a, b);
    uint64_t i = mix(key) & m_mask;
    while (m_keys[i] != kEmpty && m_keys[i] != key) i = (i + 1) & m_mask;
    if (m_keys[i] == kEmpty) ++m_size;
    m_keys[i] = key;
    m_values[i] = value;
}

int32_t token_id_from_json(const nlohmann::json& v, const std::string& what) {
    const bool negative = v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0;
    if (!v.is_number_integer() || negative ||
        (!negative && v.get<uint64_t>() > static_cast<uint64_t>(max_token_id)))
        throw Error(what + " has id " + v.dump() + ", outside [0, " + std::to_string(max_token_id) + "]");
    return static_cast<int32_t>(v.get<int64_t>());
}

namespace {

std::string opt_string(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? std::string() : it->get<std::string>();
}

}  // namespace

Bpe::Bpe(const nlohmann::json& model) {
    if (model.value("type", std::string("BPE")) != "BPE")
        throw Error("unsupported model type \"" + model.value("type", std::string()) +
                    "\" (only BPE is supported)");
    const auto& vocab = model.at("vocab");
    m_vocab.reserve(vocab.size());
    int32_t max_id = -1;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const int32_t id =
            token_id_from_json(it.value(), "vocabulary token " + nlohmann::json(it.key()).dump());
        m_vocab.emplace(it.key(), id);
        max_id = std::max(max_id, id);
    }
    m_tokens.assign(static_cast<size_t>(max_id + 1), std::string());
    m_has_token.assign(static_cast<size_t>(max_id + 1), false);
    for (const auto& [tok, id] : m_vocab) {
        m_tokens[id] = tok;
        m_has_token[id] = true;
    }

    m_prefix = opt_string(model, "continuing_subword_prefix");
    m_suffix = opt_string(model, "end_of_word_suffix");
    m_byte_fallback = model.value("byte_fallback", false);
    m_fuse_unk = model.value("fuse_unk", false);
    m_ignore_merges = model.value("ignore_merges", false);
    std::string unk = opt_string(model, "unk_token");
    if (!unk.empty()) {
        auto u = token_to_id(unk);
        if (!u) throw Error("unk_token \"" + unk + "\" is not in the vocabulary");
        m_unk = *u;
    }
    m_byte_ids.assign(256, -1);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        if (auto id = token_to_id(name)) m_byte_ids[b] = *id;
    }

    // Merges: "a b" strings or ["a", "b"] pairs; a later duplicate overrides.
    const auto& merges = model.at("merges");
    m_merges.reserve(merges.size());
    m_ascii_ids.assign(128, -1);
    for (int c = 0; c < 128; ++c)
        if (auto id = token_to_id(std::string(1, static_cast<char>(c)))) m_ascii_ids[c] = *id;
    int32_t rank = 0;
    std::string a, b;
    for (const auto& m : merges) {
        if (m.is_string()) {
            const std::string& s = m.get_ref<const std::string&>();
            size_t sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                throw Error("merge #" + std::to_string(rank) + " \"" + s +
                            "\" is not two tokens separated by a space");
            a.assign(s, 0, sp);
            b.assign(s, sp + 1);
        } else if (m.is_array() && m.size() == 2) {
            a = m[0].get<std::string>();
            b = m[1].get<std::string>();
        } else {
            throw Error("merge #" + std::to_string(rank) + " is neither \"a b\" nor [a, b]");
        }
        auto ia = token_to_id(a), ib = token_to_id(b);
        std::string merged =
            a + (b.compare(0, m_prefix.size(), m_prefix) == 0 ? b.substr(m_prefix.size()) : b);
        auto im = token_to_id(merged);
        if (!ia || !ib || !im)
            throw Error("merge #" + std::to_string(rank) + " (\"" + a + "\", \"" + b +
                        "\") uses a token missing from the vocabulary");
        m_merges.put(*ia, *ib, {rank, *im});
        ++rank;
    }
}

std::optional<int32_t> Bpe::token_to_id(std::string_view token) const {
    auto it = m_vocab.find(token);
    if (it == m_vocab.end()) return std::nullopt;
    return it->second;
}

const std::string* Bpe::id_to_token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= m_tokens.size() || !m_has_token[id]) return nullptr;
    return &m_tokens[id];
}

void Bpe::tokenize(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (m_ignore_merges) {
        auto it = m_vocab.find(word);
        if (it != m_vocab.end()) {
            out.push_back(it->second);
            return;
        }
    }
    bool cacheable = word.size() < kCacheMaxWord;
    if (cacheable) {
        std::shared_lock lock(m_cache_mutex);
        auto it = m_cache.find(word);
        if (it != m_cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    size_t mark = out.size();
    merge_word(word, out);
    if (cacheable) {
        std::unique_lock lock(m_cache_mutex);
        if (m_cache.size() < kCacheCapacity)
            m_cache.emplace(std::string(word), std::vector<int32_t>(out.begin() + mark, out.end()));
    }
}

void Bpe::merge_word(std::string_view w, std::vector<int32_t>& out) const {
    // Symbols of the word as a doubly linked list over a vector.
    struct Symbol {
        int32_t id;
        int32_t prev, next;
        bool alive;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(w.size());
    auto add = [&](int32_t id) {
        int32_t idx = static_cast<int32_t>(symbols.size());
        symbols.push_back({id, idx - 1, -1, true});
        if (idx > 0) symbols[idx - 1].next = idx;
    };

    int32_t unk = -1;  // pending unknown id, -1 for none (fused when fuse_unk)
    std::string buf;
    size_t i = 0;
    while (i < w.size()) {
        size_t at = i;
        i += unicode::cp_len(static_cast<unsigned char>(w[i]));
        if (i > w.size()) i = w.size();
        bool is_first = at == 0, is_last = i == w.size();
        std::string_view ch = w.substr(at, i - at);
        std::optional<int32_t> id;
        const bool bare = (is_first || m_prefix.empty()) && (!is_last || m_suffix.empty());
        if (bare && ch.size() == 1 && static_cast<unsigned char>(ch[0]) < 128) {
            if (int32_t a = m_ascii_ids[static_cast<unsigned char>(ch[0])]; a >= 0) id = a;
        } else if (bare) {
            id = token_to_id(ch);
        } else {
            buf.clear();
            if (!is_first) buf += m_prefix;
            buf += ch;
            if (is_last) buf += m_suffix;
            id = token_to_id(buf);
        }
        if (id) {
            if (unk >= 0) {
                add(unk);
                unk = -1;
            }
            add(*id);
            continue;
        }
        if (m_byte_fallback) {
            bool all = true;
            for (unsigned char c : ch)
                if (m_byte_ids[c] < 0) all = false;
            if (all) {
                for (unsigned char c : ch) add(m_byte_ids[c]);
                continue;
            }
        }
        if (m_unk) {
            if (unk >= 0 && !m_fuse_unk) add(unk);
            unk = *m_unk;
        }
    }
    if (unk >= 0) add(unk);

    // Merge by rank (then leftmost position) until no known pair remains.
    struct Merge {
        int32_t pos, rank, new_id;
        bool operator<(const Merge& o) const {  // max-heap on "smaller rank, then smaller pos"
            return rank != o.rank ? rank > o.rank : pos > o.pos;
        }
    };
    auto lookup = [&](int32_t a, int32_t b) { return m_merges.find(a, b); };
    std::priority_queue<Merge> queue;
    for (size_t k = 0; k + 1 < symbols.size(); ++k)
        if (auto m = lookup(symbols[k].id, symbols[k + 1].id))
            queue.push({static_cast<int32_t>(k), m->first, m->second});
    while (!queue.empty()) {
        Merge top = queue.top();
        queue.pop();
        Symbol& cur = symbols[top.pos];
        if (!cur.alive || cur.next < 0) continue;
        Symbol& right = symbols[cur.next];
        auto m = lookup(cur.id, right.id);
        if (!m || m->second != top.new_id) continue;  // stale entry
        cur.id = top.new_id;
        right.alive = false;
        cur.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = top.pos;
        if (cur.prev >= 0)
            if (auto p = lookup(symbols[cur.prev].id, cur.id)) queue.push({cur.prev, p->first, p->second});
        if (cur.next >= 0)
            if (auto n = lookup(cur.id, symbols[cur.next].id)) queue.push({top.pos, n->first, n->second});
    }
    for (const auto& s : symbols)
        if (s.alive) out.push_back(s.id);
}

}  // namespace olm::tok
