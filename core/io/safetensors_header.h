#pragma once
// The safetensors header: an 8-byte little-endian length N, then N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data region. Offsets are relative to the data region.
//
// This unit parses and validates a header without libtorch, so the fuzz target
// can compile it alone (tests/io/fuzz_safetensors_header.cpp).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace olm {

enum class DType { BF16, F16, F32, F64, I64, I32, I16, I8, U8, BOOL };

std::string_view dtype_name(DType dtype);                     // "BF16"
std::optional<DType> dtype_from_name(std::string_view name);  // safetensors spelling
size_t dtype_size(DType dtype);                               // bytes per element
// transformers' config spelling: "bfloat16", "float16", "float32"; nullopt otherwise.
std::optional<DType> dtype_from_torch_name(std::string_view name);
std::string_view dtype_torch_name(DType dtype);  // "bfloat16", ...

// One tensor as the header describes it.
struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // offset inside the data region
    uint64_t end = 0;
    std::filesystem::path file;  // the shard holding it (set by the reader)

    uint64_t bytes() const { return end - begin; }
    int64_t numel() const;
};

struct SafetensorsHeader {
    uint64_t header_size = 0;                     // N
    uint64_t data_offset = 0;                     // 8 + N: where the data region starts in the file
    uint64_t data_size = 0;                       // file size - data_offset
    std::vector<TensorInfo> tensors;              // in data-offset order
    std::map<std::string, std::string> metadata;  // __metadata__ (non-strings are dumped as JSON)
};

// Headers larger than this are refused as absurd (real ones are a few hundred KB).
constexpr uint64_t max_safetensors_header_bytes = 100ull * 1024 * 1024;

// Reads N from the first 8 bytes and checks it against the file size.
// label names the file in errors.
uint64_t parse_safetensors_header_length(const unsigned char* first8, uint64_t file_size,
                                         const std::string& label);

// Validates the JSON of a header of a file of file_size bytes: every check the
// format allows (dtype, shape x dtype size = span, offsets inside the data
// region, no overlap, no duplicate names). Throws olm::Error naming label and tensor.
SafetensorsHeader parse_safetensors_header(std::string_view json_text, uint64_t file_size,
                                           const std::string& label);

// Both steps over a whole file held in memory (tests and the fuzz target).
SafetensorsHeader parse_safetensors_bytes(std::string_view file_bytes, const std::string& label);

// "[4096, 11008]"
std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace olm
