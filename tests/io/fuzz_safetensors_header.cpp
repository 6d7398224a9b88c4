// Bounded random-mutation fuzzer for the safetensors header parser, built with
// AddressSanitizer (see tests/io/CMakeLists.txt). Seeds are valid files; each
// iteration mutates one (bit flips, interesting bytes, token splices, length
// prefix edits, truncation) and parses it from an exactly-sized heap buffer.
// A parse must either succeed with every tensor inside the buffer (whose bytes
// are then read) or throw olm::Error; anything else fails the run. ASan turns
// any out-of-bounds read into a crash.
//
// Usage: fuzz_safetensors_header [iterations] [seconds] [seed]
//
// Built with -DOLM_LIBFUZZER (tests/fuzz/, clang's libFuzzer) the same check
// runs as LLVMFuzzerTestOneInput on coverage-guided inputs instead.
#include "core/io/safetensors_header.h"
#include "core/util/error.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

// 1: accepted, 0: rejected with olm::Error, -1: a broken invariant (reported).
int check_one(std::string_view view, const char* where) {
    static volatile unsigned sink = 0;
    try {
        const olm::SafetensorsHeader h = olm::parse_safetensors_bytes(view, "fuzz");
        for (const auto& t : h.tensors) {
            if (h.data_offset + t.end > view.size() || t.begin > t.end) {
                std::fprintf(stderr, "%s: accepted tensor '%s' outside the buffer\n", where, t.name.c_str());
                return -1;
            }
            for (uint64_t b = t.begin; b < t.end; ++b)
                sink = sink + static_cast<unsigned char>(view[h.data_offset + b]);
        }
        return 1;
    } catch (const olm::Error&) {
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: unexpected exception type: %s\n", where, e.what());
        return -1;
    }
}

}  // namespace

#ifdef OLM_LIBFUZZER

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (check_one(std::string_view(reinterpret_cast<const char*>(data), size), "input") < 0) std::abort();
    return 0;
}

#else

namespace {

std::string frame(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + header + data;
}

std::vector<std::string> seeds() {
    return {
        frame(R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
              R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}})",
              std::string(22, '\x11')),
        frame(
            R"({"x":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"y":{"dtype":"I64","shape":[0],"data_offsets":[1,1]}})",
            "z"),
        frame(
            R"({"w":{"dtype":"F16","shape":[1,1,1,4],"data_offsets":[8,16]},"v":{"dtype":"BOOL","shape":[8],"data_offsets":[0,8]}})",
            std::string(16, '\x01')),
        frame("{}", ""),
    };
}

const std::vector<std::string> k_tokens = {
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "0",
    "-1",
    "18446744073709551615",
    "9223372036854775807",
    "1e999",
    "\"dtype\"",
    "\"shape\"",
    "\"data_offsets\"",
    "\"__metadata__\"",
    "\"F32\"",
    "\"BF16\"",
    "\"BOOL\"",
    "\"F8\"",
    "null",
    "true",
    "\\u0000",
    "\\ud800",
    "[[[[[[[[",
    "\"a\":{}",
};

std::string mutate(std::string s, std::mt19937_64& rng) {
    auto pick = [&](size_t n) { return n == 0 ? size_t(0) : static_cast<size_t>(rng() % n); };
    const int steps = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < steps; ++i) {
        switch (rng() % 8) {
            case 0:  // bit flip
                if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
                break;
            case 1:  // interesting byte
                if (!s.empty()) s[pick(s.size())] = "\x00\xff{}[]\",:0-9"[rng() % 13];
                break;
            case 2:  // token splice into the header region
                s.insert(std::min(s.size(), 8 + pick(s.size())), k_tokens[pick(k_tokens.size())]);
                break;
            case 3:  // delete a run
                if (!s.empty()) {
                    const size_t at = pick(s.size());
                    s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
                }
                break;
            case 4:  // truncate
                s.resize(pick(s.size() + 1));
                break;
            case 5: {  // rewrite the length prefix (keep it honest half of the time)
                if (s.size() < 8) break;
                uint64_t n = rng() % 2 ? s.size() - 8 - pick(s.size() - 7) : rng() >> (rng() % 64);
                for (int b = 0; b < 8; ++b) s[b] = static_cast<char>((n >> (8 * b)) & 0xff);
                break;
            }
            case 6:  // duplicate a run
                if (!s.empty()) {
                    const size_t at = pick(s.size());
                    s.insert(at, s.substr(at, 1 + pick(32)));
                }
                break;
            case 7:  // digit change inside numbers
                for (size_t k = 8; k < s.size(); ++k)
                    if (s[k] >= '0' && s[k] <= '9' && rng() % 8 == 0)
                        s[k] = static_cast<char>('0' + rng() % 10);
                break;
        }
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const long iterations = argc > 1 ? std::atol(argv[1]) : 200000;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 20.0;
    const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20261129;
    std::mt19937_64 rng(seed);
    const auto corpus = seeds();
    const auto start = std::chrono::steady_clock::now();
    long ok = 0, rejected = 0, it = 0;
    for (; it < iterations; ++it) {
        if ((it & 1023) == 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds)
            break;
        std::string input = corpus[rng() % corpus.size()];
        if (it > 0) input = mutate(std::move(input), rng);
        // Exactly-sized heap copy: ASan flags any read past its end.
        std::unique_ptr<char[]> buf(new char[input.size() ? input.size() : 1]);
        std::memcpy(buf.get(), input.data(), input.size());
        const std::string_view view(buf.get(), input.size());
        const std::string where = "iteration " + std::to_string(it);
        const int r = check_one(view, where.c_str());
        if (r < 0) return 1;
        ++(r ? ok : rejected);
    }
    std::printf(
        "fuzz_safetensors_header: %ld inputs (%ld accepted, %ld rejected with olm::Error), seed %llu\n", it,
        ok, rejected, static_cast<unsigned long long>(seed));
    return it > 0 ? 0 : 1;
}

#endif  // OLM_LIBFUZZER
