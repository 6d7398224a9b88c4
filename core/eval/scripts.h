#pragma once
// Named code point ranges for the quality mode's forbidden-script check.
#include "core/eval/settings.h"

#include <string>
#include <vector>

namespace olm {

// One entry: a script name (case-insensitive: cjk, han, hiragana, katakana,
// hangul, cyrillic, greek, arabic, hebrew, thai, devanagari) or an explicit
// range "U+4E00-U+9FFF" / "4E00-9FFF" / a single "U+4E00". "cjk" is the
// default block U+4E00..U+9FFF; "han" adds Extension A, the compatibility
// ideographs and the supplementary planes' ideographs. Throws olm::Error
// naming the entry and the known names.
std::vector<CodepointRange> parse_script_ranges(const std::string& entry);
std::vector<CodepointRange> parse_script_ranges(const std::vector<std::string>& entries);
std::vector<std::string> known_script_names();

}  // namespace olm
