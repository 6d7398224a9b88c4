#include "core/io/safetensors_reader.h"

#include "core/util/error.h"
#include "core/util/json_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

namespace olm {

namespace {

// --- SIGBUS from a mapped file that shrank -----------------------------------
// Reading a page of a mapping past the end of its (truncated) file raises
// SIGBUS inside whatever kernel touched it, on any thread: nothing can unwind
// from there. The handler finds the mapping the address belongs to, writes one
// line naming the file and exits with status 1 (the merge report, saved
// atomically after every candidate, stays resumable). Faults elsewhere go to
// the previous handler, or the default action.
constexpr size_t kMaxMappings = 4096;
constexpr size_t kMaxPath = 1024;
struct MappingSlot {
    std::atomic<uintptr_t> begin{0};
    std::atomic<uintptr_t> end{0};
    char path[kMaxPath];
};
MappingSlot g_mappings[kMaxMappings];
struct sigaction g_previous_sigbus {};

void write_all(const char* s, size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(2, s, n);
        if (w <= 0) return;
        s += w;
        n -= static_cast<size_t>(w);
    }
}
void write_str(const char* s) { write_all(s, std::strlen(s)); }
void write_num(uint64_t v) {
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    write_all(buf + i, sizeof buf - i);
}

void on_sigbus(int sig, siginfo_t* info, void* ctx) {
    const auto a = reinterpret_cast<uintptr_t>(info ? info->si_addr : nullptr);
    for (auto& m : g_mappings) {
        const uintptr_t b = m.begin.load(std::memory_order_acquire);
        if (b == 0 || a < b || a >= m.end.load(std::memory_order_acquire)) continue;
        write_str("\nerror: ");
        write_str(m.path);
        write_str(" changed while in use: reading byte ");
        write_num(a - b);
        write_str(
            " of it failed (bus error: the file was truncated or replaced in place). A model or pool "
            "file must stay as it is while it is open; a merge's report keeps every finished "
            "candidate: restore the file and continue with --resume.\n");
        ::_exit(1);
    }
    if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
        if (g_previous_sigbus.sa_sigaction) return g_previous_sigbus.sa_sigaction(sig, info, ctx);
    } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
        return g_previous_sigbus.sa_handler(sig);
    }
    // Not ours: the default action when the faulting access runs again.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(SIGBUS, &dfl, nullptr);
}

void install_sigbus_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGBUS, &sa, &g_previous_sigbus);
    });
}

// The slot of a mapping (kMaxMappings when the table is full: then a SIGBUS in
// it is the default crash, as before).
size_t register_mapping(const void* addr, size_t length, const std::string& path) {
    install_sigbus_handler();
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    for (size_t i = 0; i < kMaxMappings; ++i) {
        MappingSlot& m = g_mappings[i];
        if (m.begin.load(std::memory_order_relaxed) != 0) continue;
        const size_t n = std::min(path.size(), kMaxPath - 1);
        std::memcpy(m.path, path.data(), n);
        m.path[n] = '\0';
        m.end.store(reinterpret_cast<uintptr_t>(addr) + length, std::memory_order_release);
        m.begin.store(reinterpret_cast<uintptr_t>(addr), std::memory_order_release);
        return i;
    }
    return kMaxMappings;
}

void unregister_mapping(size_t slot) {
    if (slot >= kMaxMappings) return;
    g_mappings[slot].begin.store(0, std::memory_order_release);
    g_mappings[slot].end.store(0, std::memory_order_release);
}

}  // namespace

struct FileMapping {
    void* addr = nullptr;
    size_t length = 0;
    size_t slot = kMaxMappings;
    ~FileMapping() {
        unregister_mapping(slot);
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
    f->m_mapping->slot = register_mapping(f->m_mapping->addr, size, label);
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
