// The mode formulas and their registry.
#include "core/eval/modes.h"

#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>

namespace olm {

std::vector<TokenStats> token_stats(const at::Tensor& logits, const at::Tensor& targets) {
    TORCH_CHECK(logits.dim() == 2 && targets.dim() == 1 && logits.size(0) == targets.size(0),
                "token_stats: logits [T, vocab] and targets [T] expected");
    const at::Tensor x = logits.to(at::kFloat);             // [T, V]
    const at::Tensor lse = at::logsumexp(x, /*dim=*/{-1});  // [T]
    auto [mx, arg] = at::max(x, /*dim=*/-1);                // [T], [T]
    const at::Tensor tgt = x.gather(1, targets.to(x.device(), at::kLong).unsqueeze(1)).squeeze(1);  // [T]
    const at::Tensor packed =
        at::stack({(mx - lse).exp(), tgt - lse, (tgt >= mx).to(at::kFloat), arg.to(at::kFloat)}, 1)
            .to(at::kCPU, at::kDouble)
            .contiguous();  // [T, 4]
    const at::Tensor arg_cpu = arg.to(at::kCPU).contiguous();
    const double* p = packed.data_ptr<double>();
    const int64_t* a = arg_cpu.data_ptr<int64_t>();
    std::vector<TokenStats> out(static_cast<size_t>(x.size(0)));
    for (size_t t = 0; t < out.size(); ++t) {
        out[t].p_max = p[t * 4 + 0];
        out[t].logp_target = p[t * 4 + 1];
        out[t].target_is_argmax = p[t * 4 + 2] > 0.5;
        out[t].argmax = a[t];
    }
    const at::Tensor tgt_cpu = targets.to(at::kCPU, at::kLong).contiguous();
    const int64_t* g = tgt_cpu.data_ptr<int64_t>();
    for (size_t t = 0; t < out.size(); ++t) out[t].target = g[t];
    return out;
}

SampleScore exact_score(const std::vector<TokenStats>& tokens) {
    if (tokens.empty()) throw Error("exact: a sample has no response tokens");
    SampleScore s;
    double sum = 0.0;
    s.correct = true;
    for (const TokenStats& t : tokens) {
        sum += t.target_is_argmax ? 1.0 - t.p_max : 1.0 + t.p_max;
        s.correct = s.correct && t.target_is_argmax;
    }
    s.score = sum / static_cast<double>(tokens.size());
    return s;
}

SampleScore bigram_score(const std::vector<TokenStats>& tokens) {
    if (tokens.empty()) throw Error("bigram: a sample has no response tokens");
    SampleScore s;
    s.correct =
        std::all_of(tokens.begin(), tokens.end(), [](const TokenStats& t) { return t.target_is_argmax; });
    if (tokens.size() == 1) {
        s.score = std::exp(-tokens[0].logp_target);
        return s;
    }
    double sum = 0.0;
    for (size_t t = 0; t + 1 < tokens.size(); ++t) sum += -tokens[t].logp_target - tokens[t + 1].logp_target;
    s.score = std::exp(sum / static_cast<double>(tokens.size() - 1));
    return s;
}

SampleScore exact_match_score(const std::vector<TokenStats>& steps) {
    if (steps.empty()) throw Error("exact_match: a sample has no target tokens");
    SampleScore s;
    double sum = 0.0;
    s.correct = true;
    for (const TokenStats& t : steps) {
        const bool hit = t.argmax == t.target;  // the token greedy decoding picked
        sum += hit ? 1.0 - t.p_max : 1.0 + t.p_max;
        s.correct = s.correct && hit;
    }
    s.score = sum / static_cast<double>(steps.size());
    return s;
}

SampleScore bigram_loss_score(const std::vector<TokenStats>& tokens) {
    if (tokens.empty()) throw Error("bigram_loss: a sample has no target tokens");
    SampleScore s;
    std::vector<double> cost(tokens.size());
    s.correct = true;
    for (size_t t = 0; t < tokens.size(); ++t) {
        // Wrong when the target is less likely than the most likely token (compared
        // on the fp32 logits, so a target that is the maximum is never wrong).
        const bool wrong = !tokens[t].target_is_argmax;
        cost[t] = wrong ? 1.0 : 1.0 - tokens[t].p_max;
        s.correct = s.correct && !wrong;
    }
    if (cost.size() == 1) {
        s.score = 2.0 * cost[0];  // the pair (s_0, s_0)
        return s;
    }
    double sum = 0.0;
    for (size_t t = 0; t + 1 < cost.size(); ++t) sum += cost[t] + cost[t + 1];
    s.score = sum / static_cast<double>(cost.size() - 1);
    return s;
}

std::u32string decode_utf8(const std::string& utf8) {
    std::u32string out;
    out.reserve(utf8.size());
    const auto* s = reinterpret_cast<const unsigned char*>(utf8.data());
    const size_t n = utf8.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        int len = 0;
        char32_t cp = 0;
        if (c < 0x80) {
            len = 1, cp = c;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07;
        }
        bool ok = len > 0 && i + len <= n;
        for (int k = 1; ok && k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                   cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;  // overlong, out of range or a surrogate
        if (!ok) {
            out.push_back(U'\uFFFD');
            ++i;
            continue;
        }
        out.push_back(cp);
        i += static_cast<size_t>(len);
    }
    return out;
}

namespace {

// Python's str.isspace() set (the Unicode White_Space property plus U+001C..U+001F).
bool is_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

std::string encode_utf8(const std::u32string& s) {
    std::string out;
    for (char32_t c : s) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out += static_cast<char>(0xE0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (c >> 18));
            out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

std::string hex_codepoint(char32_t c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
    return buf;
}

}  // namespace

std::vector<std::string> split_words(const std::string& utf8) {
    const std::u32string text = decode_utf8(utf8);
    std::vector<std::string> words;
    std::u32string current;
    for (char32_t c : text) {
        if (is_space(c)) {
            if (!current.empty()) words.push_back(encode_utf8(current));
            current.clear();
        } else {
            current.push_back(c);
        }
    }
    if (!current.empty()) words.push_back(encode_utf8(current));
    return words;
}

SampleScore quality_score(const std::string& text, const EvalSettings& settings) {
    SampleScore s;
    const double L = static_cast<double>(settings.max_length);
    for (char32_t c : decode_utf8(text)) {
        for (const CodepointRange& r : settings.forbidden_scripts) {
            if (c >= r.first && c <= r.last) {
                s.score = L;
                s.penalty = "forbidden script: " + hex_codepoint(c) + " '" +
                            encode_utf8(std::u32string(1, c)) + "' in " + hex_codepoint(r.first) + ".." +
                            hex_codepoint(r.last);
                return s;
            }
        }
    }
    const std::vector<std::string> words = split_words(text);
    const auto n = static_cast<int64_t>(words.size());
    if (n < settings.min_words) {
        s.score = L;
        s.penalty = "too few words: " + std::to_string(n) + " < " + std::to_string(settings.min_words);
        return s;
    }
    for (const std::string& w : words) {
        const auto chars = static_cast<int64_t>(decode_utf8(w).size());
        if (chars > settings.max_word_chars) {
            s.score = L;
            const std::string shown = chars > 40 ? encode_utf8(decode_utf8(w).substr(0, 40)) + "..." : w;
            s.penalty = "word longer than " + std::to_string(settings.max_word_chars) + " characters (" +
                        std::to_string(chars) + "): '" + shown + "'";
            return s;
        }
    }
    if (n == 0) {  // min_words <= 0 and nothing generated: the worst score, not a division by zero
        s.score = L;
        s.penalty = "no words";
        return s;
    }
    const double unique = static_cast<double>(std::set<std::string>(words.begin(), words.end()).size());
    const double length_share = std::min<double>(static_cast<double>(n), L) / L;
    const double diversity = unique / static_cast<double>(n);
    s.score = 1.0 / (length_share * diversity * diversity);
    s.correct = true;
    return s;
}

SampleScore diversity_score(const std::string& text, const EvalSettings& settings) {
    SampleScore s;
    const double L = static_cast<double>(settings.max_length);
    for (char32_t c : decode_utf8(text)) {
        if (c >= 0x4E00 && c <= 0x9FFF) {
            s.score = L;
            s.penalty = "CJK character: " + hex_codepoint(c) + " '" + encode_utf8(std::u32string(1, c)) + "'";
            return s;
        }
    }
    const std::vector<std::string> words = split_words(text);
    const auto unique = static_cast<double>(std::set<std::string>(words.begin(), words.end()).size());
    s.score = L / std::max(unique, 1.0);
    s.correct = true;
    return s;
}

namespace {

struct Registry {
    std::mutex mutex;
    std::vector<EvalMode> modes;            // canonical, registration order
    std::map<std::string, size_t> by_name;  // names and aliases
    std::vector<std::pair<std::string, std::string>> aliases;

    void add(EvalMode mode, const std::vector<std::string>& alias_list) {
        if (by_name.count(mode.name))
            throw Error("evaluation mode \"" + mode.name + "\" is already registered");
        for (const std::string& a : alias_list)
            if (by_name.count(a)) throw Error("evaluation mode alias \"" + a + "\" is already registered");
        const size_t idx = modes.size();
        by_name[mode.name] = idx;
        for (const std::string& a : alias_list) {
            by_name[a] = idx;
            aliases.emplace_back(a, mode.name);
        }
        modes.push_back(std::move(mode));
    }
};

Registry& registry() {
    static Registry* reg = [] {
        auto* r = new Registry;
        r->add({"exact",
                "teacher-forced: 1 - p(argmax) per correct token, 1 + p(argmax) per wrong one",
                ModeKind::teacher_forced,
                true,
                false,
                exact_score,
                {}},
               {});
        r->add({"bigram",
                "teacher-forced: exp(mean of CE(t) + CE(t+1)) over the response",
                ModeKind::teacher_forced,
                true,
                false,
                bigram_score,
                {}},
               {});
        r->add({"quality",
                "greedy generation: length and word diversity, penalties for scripts and junk",
                ModeKind::generation,
                false,
                false,
                {},
                quality_score},
               {});
        r->add({"exact_match",
                "the original's: greedy steps vs the target, 1 - p_max per hit, 1 + p_max per miss",
                ModeKind::greedy_target,
                false,
                true,
                exact_match_score,
                {}},
               {});
        r->add({"bigram_loss",
                "the original's: teacher-forced, mean of s_t + s_{t+1}, s = 1 if wrong else 1 - p_max",
                ModeKind::teacher_forced,
                false,
                true,
                bigram_loss_score,
                {}},
               {});
        r->add({"diversity",
                "the original's: greedy generation, max_length / unique words (CJK: max_length)",
                ModeKind::generation,
                false,
                true,
                {},
                diversity_score},
               {});
        return r;
    }();
    return *reg;
}

}  // namespace

void register_mode(EvalMode mode, const std::vector<std::string>& aliases) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.add(std::move(mode), aliases);
}

const EvalMode& find_mode(const std::string& name) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.by_name.find(name);
    if (it == r.by_name.end()) {
        std::string known;
        for (const EvalMode& m : r.modes) known += (known.empty() ? "" : ", ") + m.name;
        for (const auto& [alias, target] : r.aliases) known += ", " + alias + " (= " + target + ")";
        throw Error("unknown evaluation mode \"" + name + "\"; known modes: " + known);
    }
    return r.modes[it->second];
}

std::vector<std::string> mode_names() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    std::vector<std::string> out;
    for (const EvalMode& m : r.modes) out.push_back(m.name);
    return out;
}

std::vector<std::pair<std::string, std::string>> mode_aliases() {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    return r.aliases;
}

}  // namespace olm
