#pragma once
// Where and in which precision the engine computes: device (cpu / cuda:N),
// compute dtype (fp32 / bf16 / fp16) and the activation budget.
#include "core/util/memory_size.h"

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
    // Bytes the working model's weights may take on the device; 0 = no limit.
    // Under a limit the boundary and the first layers are resident and the
    // remaining layers stay in host memory (pinned on a GPU) and are streamed to
    // the device during the forward, each layer's copy overlapped with the
    // previous layer's compute (plan_device_memory says which). On the CPU the
    // same path runs: a streamed layer is copied before use, which changes no bit.
    int64_t device_memory = 0;
};

// The weight bytes of one layer, of the boundary (embed_tokens, norm, lm_head
// unless tied), in the compute dtype, from a spec's shapes.
struct MemoryPlan {
    int64_t layer_bytes = 0;  // the largest layer
    int64_t boundary_bytes = 0;
    int64_t resident_layers = 0;  // layers 0..resident_layers-1 live on the device
    int64_t streamed_layers = 0;  // the rest: host memory, streamed
    int64_t peak_bytes = 0;       // weights on the device at most: boundary + resident + 2 staged layers
};
struct ModelSpec;
// The plan for `budget` bytes (0: everything resident). Throws olm::Error when
// the budget cannot hold the boundary and two layers in flight.
MemoryPlan plan_device_memory(const ModelSpec& spec, at::ScalarType dtype, int64_t budget);
// "weights on the device: 13.9 GiB (all 28 layers resident)", or with streaming
// "weights on the device: at most 9.8 GiB (boundary 1.0 GiB, 14 of 28 layers
// resident, 14 streamed from host memory, 2 in flight)".
std::string memory_plan_text(const MemoryPlan& plan);

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
