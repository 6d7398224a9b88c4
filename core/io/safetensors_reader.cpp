#include "core/io/safetensors_reader.h"

#include "core/util/error.h"
#include "core/util/json_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace olm {

struct FileMapping {
    void* addr = nullptr;
    size_t length = 0;
    ~FileMapping() {
        if (addr && addr != MAP_FAILED) ::munmap(addr, length);
    }
};

namespace {

std::string errno_text() { return std::strerror(errno); }

class Fd {
public:
    explicit Fd(int fd) : m_fd(fd) {}
    ~Fd() {
        if (m_fd >= 0) ::close(m_fd);
    }
    int get() const { return m_fd; }

private:
    int m_fd;
};

void read_exact(int fd, void* buf, size_t n, uint64_t offset, const std::string& label) {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
        if (r < 0) {
            if (errno == EINTR) continue;
            throw Error(label + ": read failed: " + errno_text());
        }
        if (r == 0) throw Error(label + ": unexpected end of file");
        p += r;
        n -= static_cast<size_t>(r);
        offset += static_cast<uint64_t>(r);
    }
}

}  // namespace

at::ScalarType to_scalar_type(DType dtype) {
    switch (dtype) {
        case DType::BF16:
            return at::kBFloat16;
        case DType::F16:
            return at::kHalf;
        case DType::F32:
            return at::kFloat;
        case DType::F64:
            return at::kDouble;
        case DType::I64:
            return at::kLong;
        case DType::I32:
            return at::kInt;
        case DType::I16:
            return at::kShort;
        case DType::I8:
            return at::kChar;
        case DType::U8:
            return at::kByte;
        case DType::BOOL:
            return at::kBool;
    }
    throw Error("internal: unknown dtype");
}

DType from_scalar_type(at::ScalarType type) {
    switch (type) {
        case at::kBFloat16:
            return DType::BF16;
        case at::kHalf:
            return DType::F16;
        case at::kFloat:
            return DType::F32;
        case at::kDouble:
            return DType::F64;
        case at::kLong:
            return DType::I64;
        case at::kInt:
            return DType::I32;
        case at::kShort:
            return DType::I16;
        case at::kChar:
            return DType::I8;
        case at::kByte:
            return DType::U8;
        case at::kBool:
            return DType::BOOL;
        default:
            break;
    }
    throw Error(std::string("tensor type ") + c10::toString(type) + " cannot be stored in safetensors");
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
    const std::string label = path.string();
    // A FIFO or a device is refused by stat before open (open would wait for a
    // writer); O_NONBLOCK covers a swap between the two, fstat refuses it.
    require_regular_file(path);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) throw Error(label + ": cannot open: " + errno_text());
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw Error(label + ": cannot stat: " + errno_text());
    if (!S_ISREG(st.st_mode)) throw Error(label + ": not a regular file; refused");
    const uint64_t size = static_cast<uint64_t>(st.st_size);

    unsigned char first8[8] = {};
    if (size >= 8) read_exact(fd.get(), first8, 8, 0, label);
    const uint64_t n = parse_safetensors_header_length(first8, size, label);
    std::string json(n, '\0');
    read_exact(fd.get(), json.data(), n, 8, label);

    auto f = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
    f->m_path = path;
    f->m_file_size = size;
    f->m_header = parse_safetensors_header(json, size, label);
    for (size_t i = 0; i < f->m_header.tensors.size(); ++i) {
        f->m_header.tensors[i].file = path;
        f->m_index.emplace(f->m_header.tensors[i].name, i);
    }
    f->m_mapping = std::make_shared<FileMapping>();
    f->m_mapping->length = size;
    // MAP_NORESERVE: a writable private mapping of a 15 GB model must not be
    // charged as committed memory; pages are only copied if someone writes.
    f->m_mapping->addr =
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd.get(), 0);
    if (f->m_mapping->addr == MAP_FAILED && errno == ENOMEM)  // strict overcommit: fall back to read-only
        f->m_mapping->addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (f->m_mapping->addr == MAP_FAILED) {
        f->m_mapping->addr = nullptr;
        throw Error(label + ": mmap failed: " + errno_text());
    }
    return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_header.tensors[it->second];
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
    const TensorInfo* t = find(name);
    if (!t) throw Error(m_path.string() + ": no tensor named '" + name + "'");
    return *t;
}

const unsigned char* SafetensorsFile::data(const TensorInfo& info) const {
    return static_cast<const unsigned char*>(m_mapping->addr) + m_header.data_offset + info.begin;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const { return tensor(info(name)); }

at::Tensor SafetensorsFile::tensor(const TensorInfo& info) const {
    const auto options = at::TensorOptions().dtype(to_scalar_type(info.dtype)).device(at::kCPU);
    auto* p = const_cast<unsigned char*>(data(info));
    if (reinterpret_cast<uintptr_t>(p) % dtype_size(info.dtype) != 0) {
        // Misaligned for its element type (legal in the format, rare in practice).
        at::Tensor t = at::empty(info.shape, options);
        std::memcpy(t.data_ptr(), p, info.bytes());
        return t;
    }
    std::shared_ptr<FileMapping> keep = m_mapping;
    return at::from_blob(
        p, info.shape, [keep](void*) mutable { keep.reset(); }, options);
}

void SafetensorsFile::release(const TensorInfo& info) const {
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<uintptr_t>(data(info));
    const uintptr_t end = begin + info.bytes();
    // Whole pages strictly inside the tensor, so neighbours keep their pages.
    const uintptr_t first = (begin + page - 1) / page * page;
    const uintptr_t last = end / page * page;
    if (last <= first) return;
#ifdef MADV_PAGEOUT
    // Reclaims clean pages; pages modified in place (copied-on-write) stay.
    if (::madvise(reinterpret_cast<void*>(first), last - first, MADV_PAGEOUT) == 0) return;
#endif
#ifdef MADV_COLD
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_COLD);
#endif
}

}  // namespace olm
