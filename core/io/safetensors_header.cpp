#include "core/io/safetensors_header.h"

#include "core/util/error.h"
#include "core/util/json_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace olm {

namespace {

struct DTypeRow {
    DType dtype;
    std::string_view name;
    size_t size;
};
constexpr DTypeRow k_dtypes[] = {
    {DType::BF16, "BF16", 2}, {DType::F16, "F16", 2},   {DType::F32, "F32", 4}, {DType::F64, "F64", 8},
    {DType::I64, "I64", 8},   {DType::I32, "I32", 4},   {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},     {DType::BOOL, "BOOL", 1},
};

const DTypeRow& row(DType d) {
    for (const auto& r : k_dtypes)
        if (r.dtype == d) return r;
    throw Error("internal: unknown dtype enum");
}

[[noreturn]] void fail(const std::string& label, const std::string& what) {
    throw Error(label + ": " + what);
}

std::string supported_dtypes() {
    std::string s;
    for (const auto& r : k_dtypes) s += (s.empty() ? "" : ", ") + std::string(r.name);
    return s;
}

// Non-negative integer from a JSON value, or nullopt.
std::optional<uint64_t> as_u64(const nlohmann::json& v) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer()) {
        const int64_t x = v.get<int64_t>();
        if (x >= 0) return static_cast<uint64_t>(x);
    }
    return std::nullopt;
}

}  // namespace

std::string_view dtype_name(DType dtype) { return row(dtype).name; }
size_t dtype_size(DType dtype) { return row(dtype).size; }

std::optional<DType> dtype_from_name(std::string_view name) {
    for (const auto& r : k_dtypes)
        if (r.name == name) return r.dtype;
    return std::nullopt;
}

std::optional<DType> dtype_from_torch_name(std::string_view name) {
    if (name == "bfloat16" || name == "torch.bfloat16") return DType::BF16;
    if (name == "float16" || name == "torch.float16" || name == "half") return DType::F16;
    if (name == "float32" || name == "torch.float32" || name == "float") return DType::F32;
    return std::nullopt;
}

std::string_view dtype_torch_name(DType dtype) {
    switch (dtype) {
        case DType::BF16:
            return "bfloat16";
        case DType::F16:
            return "float16";
        case DType::F32:
            return "float32";
        case DType::F64:
            return "float64";
        case DType::I64:
            return "int64";
        case DType::I32:
            return "int32";
        case DType::I16:
            return "int16";
        case DType::I8:
            return "int8";
        case DType::U8:
            return "uint8";
        case DType::BOOL:
            return "bool";
    }
    return "";
}

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

uint64_t parse_safetensors_header_length(const unsigned char* first8, uint64_t file_size,
                                         const std::string& label) {
    if (file_size < 8)
        fail(label, "file is " + std::to_string(file_size) +
                        " bytes, too small to be safetensors (needs an 8-byte header length)");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | first8[i];
    if (n > max_safetensors_header_bytes)
        fail(label, "header length " + std::to_string(n) + " bytes is absurd (limit " +
                        std::to_string(max_safetensors_header_bytes) + "); not a safetensors file?");
    if (n > file_size - 8)
        fail(label, "header length " + std::to_string(n) + " is larger than the file (" +
                        std::to_string(file_size) + " bytes); file truncated or not safetensors");
    return n;
}

SafetensorsHeader parse_safetensors_header(std::string_view json_text, uint64_t file_size,
                                           const std::string& label) {
    using nlohmann::json;
    SafetensorsHeader h;
    h.header_size = json_text.size();
    h.data_offset = 8 + h.header_size;
    if (h.data_offset > file_size) fail(label, "header runs past the end of the file");
    h.data_size = file_size - h.data_offset;

    // Duplicate keys: nlohmann keeps the last one silently, so watch the keys
    // of the top-level object while parsing.
    std::set<std::string> seen;
    std::string duplicate;
    if (const size_t at = json_depth_violation(json_text); at != std::string_view::npos)
        fail(label, "header JSON nested deeper than " + std::to_string(max_json_depth) + " levels (at byte " +
                        std::to_string(8 + at) + "); refused");
    json doc;
    try {
        doc = json::parse(json_text.begin(), json_text.end(),
                          [&](int depth, json::parse_event_t event, json& parsed) {
                              if (event == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
                                  if (!seen.insert(parsed.get<std::string>()).second && duplicate.empty())
                                      duplicate = parsed.get<std::string>();
                              }
                              return true;
                          });
    } catch (const json::exception& e) {
        fail(label, std::string("header is not valid JSON: ") + e.what());
    }
    if (!doc.is_object())
        fail(label, std::string("header is not a JSON object (found ") + doc.type_name() + ")");
    if (!duplicate.empty()) fail(label, "duplicate tensor name '" + duplicate + "' in header");

    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const std::string& name = it.key();
        const json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) fail(label, "__metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m)
                h.metadata[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
            continue;
        }
        const std::string where = "tensor '" + name + "': ";
        if (!v.is_object()) fail(label, where + "entry is not an object");
        auto dt = v.find("dtype");
        if (dt == v.end() || !dt->is_string()) fail(label, where + "missing string 'dtype'");
        TensorInfo t;
        t.name = name;
        const auto d = dtype_from_name(dt->get<std::string>());
        if (!d)
            fail(label, where + "unknown dtype '" + dt->get<std::string>() +
                            "' (supported: " + supported_dtypes() + ")");
        t.dtype = *d;

        auto sh = v.find("shape");
        if (sh == v.end() || !sh->is_array()) fail(label, where + "missing array 'shape'");
        uint64_t numel = 1;
        bool overflow = false;
        for (const auto& dim : *sh) {
            const auto x = as_u64(dim);
            if (!x || *x > static_cast<uint64_t>(INT64_MAX))
                fail(label, where + "shape entry " + dim.dump() + " is not a non-negative integer");
            t.shape.push_back(static_cast<int64_t>(*x));
            if (__builtin_mul_overflow(numel, *x, &numel)) overflow = true;
        }
        uint64_t need = 0;
        if (overflow || __builtin_mul_overflow(numel, dtype_size(t.dtype), &need))
            fail(label, where + "shape " + shape_text(t.shape) + " is too large");

        auto off = v.find("data_offsets");
        if (off == v.end() || !off->is_array() || off->size() != 2)
            fail(label, where + "missing 'data_offsets' [begin, end]");
        const auto b = as_u64((*off)[0]);
        const auto e = as_u64((*off)[1]);
        if (!b || !e) fail(label, where + "data_offsets " + off->dump() + " are not non-negative integers");
        if (*e < *b) fail(label, where + "data_offsets " + off->dump() + " end before they begin");
        t.begin = *b;
        t.end = *e;
        if (t.end - t.begin != need)
            fail(label, where + "shape " + shape_text(t.shape) + " x " + std::string(dtype_name(t.dtype)) +
                            " needs " + std::to_string(need) + " bytes but data_offsets span " +
                            std::to_string(t.end - t.begin));
        if (t.end > h.data_size)
            fail(label, where + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                            "] lie outside the data region of " + std::to_string(h.data_size) + " bytes");
        h.tensors.push_back(std::move(t));
    }

    std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const TensorInfo* prev = nullptr;
    for (const auto& t : h.tensors) {
        if (t.begin == t.end) continue;  // empty tensors occupy no bytes
        if (prev && t.begin < prev->end)
            fail(label, "tensors '" + prev->name + "' [" + std::to_string(prev->begin) + ", " +
                            std::to_string(prev->end) + ") and '" + t.name + "' [" + std::to_string(t.begin) +
                            ", " + std::to_string(t.end) + ") overlap");
        prev = &t;
    }
    return h;
}

SafetensorsHeader parse_safetensors_bytes(std::string_view file_bytes, const std::string& label) {
    const uint64_t size = file_bytes.size();
    unsigned char first8[8] = {};
    std::copy_n(file_bytes.data(), std::min<uint64_t>(8, size), first8);
    const uint64_t n = parse_safetensors_header_length(first8, size, label);
    return parse_safetensors_header(file_bytes.substr(8, n), size, label);
}

}  // namespace olm
