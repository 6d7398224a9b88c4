#pragma once
// Added tokens (special and not) and their matcher: leftmost-longest search
// over a byte trie, with the reference library's single_word / lstrip / rstrip
// rules. Tokens with normalized=false match the raw input; normalized=true ones
// match each normalized piece.
#include "core/tokenizer/tokenizer.h"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace olm::tok {

struct Split {
    size_t start, end;
    int32_t id;  // -1: plain text, else the added token's id
};

class AddedMatcher {
public:
    void build(const std::vector<AddedToken>& tokens, bool normalized);
    bool empty() const { return m_nodes.size() <= 1; }
    // Splits covering `text` (non-empty pieces only), added tokens tagged with their id.
    std::vector<Split> split(std::string_view text) const;

private:
    struct Node {
        std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
        int32_t token = -1;  // index into m_tokens when a token ends here
    };
    int32_t child(int32_t node, unsigned char c) const;
    std::vector<Node> m_nodes;
    std::vector<AddedToken> m_tokens;
    std::array<bool, 256> m_first{};
};

}  // namespace olm::tok
