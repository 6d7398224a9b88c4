#include "core/eval/scripts.h"

#include "core/util/error.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace olm {
namespace {

const std::map<std::string, std::vector<CodepointRange>>& script_table() {
    static const std::map<std::string, std::vector<CodepointRange>> table = {
        {"cjk", {{0x4E00, 0x9FFF}}},
        {"han", {{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}, {0x20000, 0x2FA1F}}},
        {"hiragana", {{0x3040, 0x309F}}},
        {"katakana", {{0x30A0, 0x30FF}, {0x31F0, 0x31FF}}},
        {"hangul", {{0x1100, 0x11FF}, {0x3130, 0x318F}, {0xAC00, 0xD7AF}}},
        {"cyrillic", {{0x0400, 0x052F}}},
        {"greek", {{0x0370, 0x03FF}}},
        {"arabic", {{0x0600, 0x06FF}, {0x0750, 0x077F}}},
        {"hebrew", {{0x0590, 0x05FF}}},
        {"thai", {{0x0E00, 0x0E7F}}},
        {"devanagari", {{0x0900, 0x097F}}},
    };
    return table;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// "U+4E00" or "4E00" -> code point; false if not hex.
bool parse_codepoint(std::string s, char32_t& out) {
    if (s.size() > 2 && (s[0] == 'U' || s[0] == 'u') && s[1] == '+') s = s.substr(2);
    if (s.empty() || s.size() > 6) return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    out = static_cast<char32_t>(std::stoul(s, nullptr, 16));
    return out <= 0x10FFFF;
}

}  // namespace

std::vector<std::string> known_script_names() {
    std::vector<std::string> names;
    for (const auto& [name, ranges] : script_table()) names.push_back(name);
    return names;
}

std::vector<CodepointRange> parse_script_ranges(const std::string& entry) {
    const auto it = script_table().find(lower(entry));
    if (it != script_table().end()) return it->second;
    const size_t dash = entry.find('-');
    CodepointRange r;
    const bool ok = dash == std::string::npos
                        ? parse_codepoint(entry, r.first) && (r.last = r.first, true)
                        : parse_codepoint(entry.substr(0, dash), r.first) &&
                              parse_codepoint(entry.substr(dash + 1), r.last) && r.first <= r.last;
    if (!ok) {
        std::string known;
        for (const std::string& n : known_script_names()) known += (known.empty() ? "" : ", ") + n;
        throw Error("forbidden script \"" + entry + "\": not a known script (" + known +
                    ") or a range like U+4E00-U+9FFF");
    }
    return {r};
}

std::vector<CodepointRange> parse_script_ranges(const std::vector<std::string>& entries) {
    std::vector<CodepointRange> out;
    for (const std::string& e : entries) {
        const auto r = parse_script_ranges(e);
        out.insert(out.end(), r.begin(), r.end());
    }
    return out;
}

}  // namespace olm
