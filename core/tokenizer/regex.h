#pragma once
// A compiled PCRE2 pattern (UTF + Unicode properties, JIT when available)
// with the match iteration the reference library uses for splitting.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace olm {

class Regex {
public:
    explicit Regex(const std::string& pattern);  // throws olm::Error on a bad pattern
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Non-overlapping matches [start, end) in byte offsets, left to right. An
    // empty match is reported and the search resumes one character later.
    // `text` must be valid UTF-8.
    std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
    const std::string& pattern() const { return m_pattern; }

private:
    std::string m_pattern;
    void* m_code = nullptr;  // pcre2_code_8*
};

}  // namespace olm
