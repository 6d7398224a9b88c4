#include "core/model/engine_options.h"

#include "core/util/error.h"

#include <ATen/Context.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace olm {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

}  // namespace

at::Device parse_device(const std::string& text) {
    const std::string t = lower(text);
    if (t == "cpu") return at::Device(at::kCPU);
    if (t == "cuda" || t.rfind("cuda:", 0) == 0) {
        int64_t index = 0;
        if (t.size() > 5) {
            const std::string digits = t.substr(5);
            if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit))
                throw Error("device '" + text + "': expected cuda:N with N a GPU index");
            index = std::stoll(digits);
        }
        if (!at::hasCUDA())
            throw Error("device '" + text + "': this build of libtorch has no CUDA support (use cpu)");
        // Device count without CUDA headers: the CUDA hooks know it.
        const int64_t count = static_cast<int64_t>(at::detail::getCUDAHooks().getNumGPUs());
        if (index >= count)
            throw Error("device '" + text + "': GPU index out of range (" + std::to_string(count) +
                        " GPU(s) visible)");
        return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    throw Error("device '" + text + "': expected cpu, cuda or cuda:N");
}

at::ScalarType parse_dtype(const std::string& text) {
    const std::string t = lower(text);
    if (t == "fp32" || t == "float32" || t == "f32" || t == "float") return at::kFloat;
    if (t == "bf16" || t == "bfloat16") return at::kBFloat16;
    if (t == "fp16" || t == "float16" || t == "half" || t == "f16") return at::kHalf;
    throw Error("dtype '" + text + "': expected fp32, bf16 or fp16");
}

std::string dtype_name(at::ScalarType dtype) {
    switch (dtype) {
        case at::kFloat:
            return "fp32";
        case at::kBFloat16:
            return "bf16";
        case at::kHalf:
            return "fp16";
        case at::kDouble:
            return "fp64";
        default:
            return std::string(c10::toString(dtype));
    }
}

std::string device_name(const at::Device& device) { return device.str(); }

bool sdpa_available() {
#if TORCH_VERSION_MAJOR >= 2
    return true;
#else
    return false;
#endif
}

EngineOptions make_engine_options(const std::string& device, const std::string& dtype) {
    EngineOptions o;
    if (device.empty()) {
        o.device = (at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0) ? at::Device(at::kCUDA, 0)
                                                                                  : at::Device(at::kCPU);
    } else {
        o.device = parse_device(device);
    }
    if (dtype.empty()) {
        o.dtype = o.device.is_cuda() ? at::kBFloat16 : at::kFloat;
    } else {
        o.dtype = parse_dtype(dtype);
        if (o.device.is_cpu() && o.dtype == at::kHalf)
            throw Error("dtype fp16 is not supported on cpu (use fp32 or bf16)");
    }
    if (const char* env = std::getenv("OLM_ATTENTION")) {
        const std::string a = lower(env);
        if (a == "explicit")
            o.sdpa = false;
        else if (a != "sdpa" && !a.empty())
            throw Error("OLM_ATTENTION '" + std::string(env) + "': expected sdpa or explicit");
    }
    return o;
}

}  // namespace olm
