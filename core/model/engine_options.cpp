#include "core/model/engine_options.h"

#include "core/io/model_spec.h"
#include "core/util/error.h"
#include "core/util/memory_size.h"

#include <ATen/Context.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
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

MemoryPlan plan_device_memory(const ModelSpec& s, at::ScalarType dtype, int64_t budget) {
    const int64_t es = static_cast<int64_t>(c10::elementSize(dtype));
    const int64_t h = s.hidden_size, hd = s.head_dim > 0
                                              ? s.head_dim
                                              : s.hidden_size / std::max<int64_t>(1, s.num_attention_heads);
    const int64_t q = s.num_attention_heads * hd, kv = s.num_key_value_heads * hd;
    const int64_t attn = h * q + 2 * h * kv + q * h + q + 2 * kv + h;  // biases counted, an upper bound
    const int64_t dense = 3 * h * s.intermediate_size;
    const int64_t experts = s.num_experts > 0 ? s.num_experts * 3 * h *
                                                        (s.moe_intermediate_size > 0 ? s.moe_intermediate_size
                                                                                     : s.intermediate_size) +
                                                    h * s.num_experts
                                              : 0;
    MemoryPlan p;
    p.layer_bytes = es * (attn + std::max(dense, experts) + 8 * h + 4 * hd);
    p.boundary_bytes = es * (s.vocab_size * h * (s.tie_word_embeddings ? 1 : 2) + h);
    const int64_t layers = s.num_hidden_layers;
    if (budget <= 0 || p.boundary_bytes + layers * p.layer_bytes <= budget) {
        p.resident_layers = layers;
        p.peak_bytes = p.boundary_bytes + layers * p.layer_bytes;
        return p;
    }
    const int64_t room = budget - p.boundary_bytes - 2 * p.layer_bytes;  // two layers in flight
    if (room < 0)
        throw Error("device_memory " + size_text(budget) + " cannot hold the boundary (" +
                    size_text(p.boundary_bytes) + ") and two streamed layers (" + size_text(p.layer_bytes) +
                    " each) of this model: at least " + size_text(p.boundary_bytes + 2 * p.layer_bytes));
    p.resident_layers = std::min(layers, room / p.layer_bytes);
    p.streamed_layers = layers - p.resident_layers;
    p.peak_bytes =
        p.boundary_bytes + (p.resident_layers + std::min<int64_t>(2, p.streamed_layers)) * p.layer_bytes;
    return p;
}

std::string memory_plan_text(const MemoryPlan& p) {
    const int64_t layers = p.resident_layers + p.streamed_layers;
    if (p.streamed_layers == 0)
        return "weights on the device: " + size_text(p.peak_bytes) + " (all " + std::to_string(layers) +
               " layers resident)";
    return "weights on the device: at most " + size_text(p.peak_bytes) + " (boundary " +
           size_text(p.boundary_bytes) + ", " + std::to_string(p.resident_layers) + " of " +
           std::to_string(layers) + " layers resident, " + std::to_string(p.streamed_layers) +
           " streamed from host memory, " + std::to_string(std::min<int64_t>(2, p.streamed_layers)) +
           " in flight)";
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
