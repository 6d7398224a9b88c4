#pragma once
// Reading the text files the program trusts least: config.json, tokenizer
// files, datasets, merge configs, reports, shard indexes, safetensors headers.
//
// - Only regular files are read: a FIFO, a device (/dev/zero), a socket or a
//   directory is refused by stat before anything blocks or grows.
// - Each kind of file has a size limit; a larger file is refused by name.
// - JSON nesting is bounded (max_json_depth) by a linear pre-scan before the
//   parser builds anything, so no input can exhaust the stack.
// Every error names the file (label) and what was wrong. No libtorch here: the
// fuzz targets compile this unit alone.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace olm {

// Deepest nesting of arrays/objects accepted in any JSON the program reads.
// Real files nest a few levels (tokenizer.json about 6).
constexpr int max_json_depth = 256;

// Size limits, by kind of file.
constexpr uint64_t max_small_json_bytes = 64ull
                                          << 20;  // config.json, generation/tokenizer config, index, YAML
constexpr uint64_t max_tokenizer_json_bytes = 1ull << 30;  // tokenizer.json (real ones: 2-35 MB)
constexpr uint64_t max_dataset_bytes = 4ull << 30;         // one dataset file
constexpr uint64_t max_report_bytes = 1ull << 30;          // merge_report.json

// Throws olm::Error unless path is an existing regular file (symlinks followed).
// what describes the file in errors ("dataset", "config.json", ...); may be empty.
void require_regular_file(const std::filesystem::path& path, const std::string& what = {});

// The whole content of a regular file of at most max_bytes bytes.
std::string read_text_file(const std::filesystem::path& path, uint64_t max_bytes,
                           const std::string& what = {});

// Offset of the first bracket nesting deeper than max_depth (strings and
// escapes skipped), or npos when the text stays within it.
size_t json_depth_violation(std::string_view text, int max_depth = max_json_depth);

// Parses JSON text after the depth pre-scan; label names the source in errors
// ("<label>: not valid JSON: ..." / "<label>: JSON nested deeper than ...";
// no prefix when label is empty).
nlohmann::json parse_json_text(std::string_view text, const std::string& label);
nlohmann::ordered_json parse_ordered_json_text(std::string_view text, const std::string& label);

// read_text_file + parse_json_text, label = the path.
nlohmann::json read_json_file(const std::filesystem::path& path, uint64_t max_bytes = max_small_json_bytes);

}  // namespace olm
