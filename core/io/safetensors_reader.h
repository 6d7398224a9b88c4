#pragma once
// Memory-mapped safetensors files. Opening reads the header only; tensor() is
// a zero-copy at::Tensor over the mapped bytes whose deleter keeps the mapping
// alive, so a tensor may outlive the SafetensorsFile that made it.
//
// The mapping is MAP_PRIVATE with PROT_READ|PROT_WRITE: an accidental in-place
// op on a weight copies the touched pages instead of crashing or changing the
// file on disk.
#include "core/io/safetensors_header.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace olm {

at::ScalarType to_scalar_type(DType dtype);
DType from_scalar_type(at::ScalarType type);  // throws for types safetensors lacks

struct FileMapping;  // one mmap of a whole file (defined in the .cpp)

class SafetensorsFile {
public:
    // Reads and validates the header; maps the file without touching its data.
    static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return m_path; }
    const SafetensorsHeader& header() const { return m_header; }
    const std::vector<TensorInfo>& tensors() const { return m_header.tensors; }
    const std::map<std::string, std::string>& metadata() const { return m_header.metadata; }
    uint64_t file_size() const { return m_file_size; }

    const TensorInfo* find(const std::string& name) const;  // nullptr if absent
    bool has(const std::string& name) const { return find(name) != nullptr; }
    const TensorInfo& info(const std::string& name) const;  // throws naming file and tensor

    // Zero-copy CPU tensor over the mapping (copied only when the bytes are
    // misaligned for the dtype). Touching it pages the data in.
    at::Tensor tensor(const std::string& name) const;
    at::Tensor tensor(const TensorInfo& info) const;

    // Raw bytes of a tensor inside the mapping.
    const unsigned char* data(const TensorInfo& info) const;

    // Hint that the pages of a tensor are no longer needed: the kernel may drop
    // them from this process (they are re-read from the file if touched again).
    // Used by the export writer so streaming a model keeps one tensor resident.
    void release(const TensorInfo& info) const;

private:
    std::filesystem::path m_path;
    uint64_t m_file_size = 0;
    SafetensorsHeader m_header;
    std::unordered_map<std::string, size_t> m_index;
    std::shared_ptr<FileMapping> m_mapping;
};

}  // namespace olm
