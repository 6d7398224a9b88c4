#pragma once
// Generated tokenizers for the benchmarks: GPT-2's byte-level alphabet and a
// tokenizer.json of the BPE model with its ByteLevel pre-tokenizer and decoder,
// as the Hugging Face tokenizers library writes it.
#include <nlohmann/json.hpp>

#include <string>

namespace olm::cli {

// GPT-2's byte -> printable code point mapping of one byte, as UTF-8 ("Ġ" for ' ').
std::string byte_level_char(unsigned char byte);

// tokenizer.json text fields around a BPE vocabulary ({"token": id}), its
// merges (["a b", ...]) and added tokens (the "added_tokens" array).
nlohmann::json byte_level_bpe_json(const nlohmann::json& vocab, const nlohmann::json& merges,
                                   const nlohmann::json& added_tokens);

}  // namespace olm::cli
