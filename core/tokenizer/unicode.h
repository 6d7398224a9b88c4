#pragma once
// UTF-8 and Unicode helpers with the semantics of Rust's char/str methods,
// which the reference tokenizers library relies on.
#include <cstdint>
#include <string>
#include <string_view>

namespace olm::unicode {

// Decodes the code point at s[i] (s must be valid UTF-8); advances i.
char32_t next_cp(std::string_view s, size_t& i);
// Byte length of the UTF-8 sequence starting with lead byte c (1 for invalid leads).
inline size_t cp_len(unsigned char c) {
    return c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
}
void append_utf8(std::string& out, char32_t cp);
// Byte offset of the first invalid UTF-8 sequence, or npos when valid.
size_t find_invalid_utf8(std::string_view s);
// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes U+FFFD.
std::string from_utf8_lossy(std::string_view bytes);

bool is_whitespace(char32_t c);    // Rust char::is_whitespace (White_Space)
bool is_alphanumeric(char32_t c);  // Rust char::is_alphanumeric
bool is_numeric(char32_t c);       // Rust char::is_numeric (Nd, Nl, No)
bool is_punctuation(char32_t c);   // ASCII punctuation or Unicode P*

enum class NormForm { nfc, nfd, nfkc, nfkd };
std::string normalize(std::string_view s, NormForm form);
std::string to_lowercase(std::string_view s);  // per char, full mapping (like Rust)

// GPT-2 byte <-> printable code point table used by ByteLevel.
char32_t byte_to_cp(uint8_t b);
int cp_to_byte(char32_t cp);  // -1 when cp is not in the table
// Maps every byte of s to its ByteLevel code point, as UTF-8.
std::string bytes_to_bytelevel(std::string_view s);

}  // namespace olm::unicode
