#pragma once
// Settings shared by dataset loading, the mode formulas and the evaluator.
// Defaults are the original OLM project's values.
#include <cstdint>
#include <string>
#include <vector>

namespace olm {

// An inclusive range of Unicode code points, e.g. the CJK block {0x4E00, 0x9FFF}.
struct CodepointRange {
    char32_t first = 0;
    char32_t last = 0;
};

struct EvalSettings {
    // Dataset selection.
    int64_t samples = 200;  // first N usable samples of each file (file order); <= 0 = all
    double holdout = 0.0;   // share of those N held out (scored, never used for selection)
    uint64_t seed = 0;      // seeds the held-out split
    // Samples whose teacher-forced sequence (context + response) or quality prompt is
    // longer than this are skipped and counted.
    int64_t max_sequence_tokens = 4096;
    // Token budget of one forward batch (padded batch x sequence length).
    int64_t batch_tokens = 4096;
    // Quality mode.
    int64_t quality_max_new_tokens = 512;
    int64_t min_words = 100;
    int64_t max_length = 4096;  // L in the quality formula; also its penalty value
    int64_t max_word_chars = 20;
    std::vector<CodepointRange> forbidden_scripts = {{0x4E00, 0x9FFF}};  // CJK Unified Ideographs
    // Chat template family name (see core/tokenizer/chat_template.h); "" = detect.
    std::string chat_family;
    // Reuse hidden states (and prompt K/V) of the fixed layers while a position is searched.
    bool prefix_cache = true;
};

}  // namespace olm
