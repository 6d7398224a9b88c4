#pragma once
// JSON text with non-finite numbers, as Python's json module writes it (and
// as the original OLM's merge_report.json holds it): the bare literals NaN,
// Infinity and -Infinity. nlohmann::json holds such doubles but writes them as
// null and refuses to read the literals; these two functions round-trip them.
//
//   write_file_atomic(p, dump_json_text(j));     // NaN stays NaN
//   nlohmann::json j = parse_json_text(text);    // NaN, Infinity, -Infinity accepted
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace olm {

// Parses JSON that may contain NaN / Infinity / -Infinity outside strings (they
// become doubles). Other errors throw nlohmann's parse_error for the text as
// given (positions unchanged).
nlohmann::json parse_json_text(std::string_view text);

// dump(indent), with non-finite numbers written as NaN, Infinity, -Infinity
// instead of null.
std::string dump_json_text(const nlohmann::json& j, int indent = 2);

// True when j holds a non-finite number anywhere.
bool has_non_finite(const nlohmann::json& j);

}  // namespace olm
