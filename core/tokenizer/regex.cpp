#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/tokenizer/regex.h"

#include "core/tokenizer/unicode.h"
#include "core/util/error.h"

#include <pcre2.h>

namespace olm {

namespace {

// One match-data block per thread, reused across calls (the hot path of encode).
struct MatchData {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
    pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
    MatchData() {
        if (stack) pcre2_jit_stack_assign(ctx, nullptr, stack);
    }
    ~MatchData() {
        pcre2_match_data_free(data);
        pcre2_match_context_free(ctx);
        if (stack) pcre2_jit_stack_free(stack);
    }
};

MatchData& thread_match_data() {
    thread_local MatchData md;
    return md;
}

}  // namespace

Regex::Regex(const std::string& pattern) : m_pattern(pattern) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &offset, nullptr);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        throw Error("bad regex '" + pattern + "' at offset " + std::to_string(offset) + ": " +
                    reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
    m_code = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(m_code)); }

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
    std::vector<std::pair<size_t, size_t>> out;
    auto* code = static_cast<pcre2_code*>(m_code);
    auto& md = thread_match_data();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t start = 0;
    while (start <= text.size()) {
        int rc = pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, md.data, md.ctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            throw Error("regex '" + m_pattern + "' failed: " + reinterpret_cast<const char*>(msg));
        }
        PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
        size_t s = ov[0], e = ov[1];
        out.emplace_back(s, e);
        if (e > s) {
            start = e;
        } else {
            if (s >= text.size()) break;
            start = s + unicode::cp_len(static_cast<unsigned char>(text[s]));
        }
    }
    return out;
}

}  // namespace olm
