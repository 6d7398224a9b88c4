#pragma once
// Where and in which precision the engine computes: device (cpu / cuda:N),
// compute dtype (fp32 / bf16 / fp16) and the activation budget.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace olm {

struct EngineOptions {
    at::Device device = at::Device(at::kCPU);
    // Compute dtype of weights and activations. Norms and softmax always run in
    // float32 (HF semantics); logits handed out are always float32.
    at::ScalarType dtype = at::kFloat;
    // Upper bound on batch×tokens of one forward chunk; 0 = derived from free
    // memory (see Transformer::token_budget()).
    int64_t max_batch_tokens = 0;
    // Attention through at::scaled_dot_product_attention where libtorch has it
    // (2.x; see sdpa_available()); false, or libtorch 1.x, = the explicit path
    // (matmul, float32 softmax, matmul). Same semantics; the environment
    // variable OLM_ATTENTION=explicit makes make_engine_options() pick false.
    bool sdpa = true;
};

// Whether this libtorch has at::scaled_dot_product_attention (2.0 and later).
bool sdpa_available();

// "cpu", "cuda", "cuda:N" -> device. Throws olm::Error on anything else, and on
// a CUDA device when this libtorch has no CUDA (or the index is out of range).
at::Device parse_device(const std::string& text);
// "fp32"/"float32"/"f32", "bf16"/"bfloat16", "fp16"/"float16"/"half".
at::ScalarType parse_dtype(const std::string& text);
// kFloat -> "fp32", kBFloat16 -> "bf16", kHalf -> "fp16".
std::string dtype_name(at::ScalarType dtype);
std::string device_name(const at::Device& device);

// Sane defaults: CPU computes fp32, CUDA bf16. Empty strings mean "default"
// ("" device = cuda:0 when libtorch has CUDA and a GPU is present, else cpu).
// fp16 on CPU is refused (slow and lossy there).
EngineOptions make_engine_options(const std::string& device = "", const std::string& dtype = "");

}  // namespace olm
