#include "app/cli/bench_tokenizer.h"

#include <vector>

namespace olm::cli {

std::string byte_level_char(unsigned char byte) {
    static const std::vector<std::string> table = [] {
        std::vector<std::string> t(256);
        int extra = 0;
        for (int c = 0; c < 256; ++c) {
            const bool printable =
                (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
            const int cp = printable ? c : 256 + extra++;
            std::string s;
            if (cp < 0x80) {
                s += static_cast<char>(cp);
            } else {
                s += static_cast<char>(0xC0 | (cp >> 6));
                s += static_cast<char>(0x80 | (cp & 0x3F));
            }
            t[static_cast<size_t>(c)] = s;
        }
        return t;
    }();
    return table[byte];
}

nlohmann::json byte_level_bpe_json(const nlohmann::json& vocab, const nlohmann::json& merges,
                                   const nlohmann::json& added_tokens) {
    return {
        {"version", "1.0"},
        {"truncation", nullptr},
        {"padding", nullptr},
        {"added_tokens", added_tokens},
        {"normalizer", nullptr},
        {"pre_tokenizer",
         {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        {"post_processor", nullptr},
        {"decoder",
         {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
        {"model",
         {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"vocab", vocab},
          {"merges", merges}}}};
}

}  // namespace olm::cli
