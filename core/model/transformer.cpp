#include "core/model/transformer.h"

#include "core/util/error.h"

#include <c10/core/Event.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

namespace olm {

namespace {

constexpr int kLayerEntries = kNumLayerUnits * 2;  // weight, bias per unit; then gate, up, down per expert

size_t weight_index(LayerUnit u) { return static_cast<size_t>(u) * 2; }
size_t bias_index(LayerUnit u) { return static_cast<size_t>(u) * 2 + 1; }
size_t expert_index(int64_t expert, int part) {
    return kLayerEntries + static_cast<size_t>(expert) * 3 + part;
}

// Same tensor: the same memory viewed the same way. A fresh at::Tensor over
// the same mmapped bytes counts as the same; slots treat tensors as immutable.
bool same_tensor(const at::Tensor& a, const at::Tensor& b) {
    if (!a.defined() || !b.defined()) return a.defined() == b.defined();
    if (a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl()) return true;
    return a.data_ptr() == b.data_ptr() && a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
           a.strides() == b.strides() && a.device() == b.device();
}

// rotate_half(x) = cat(-x2, x1) over the last dim (HF convention).
at::Tensor rotate_half(const at::Tensor& x) {
    const int64_t half = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// x [..., in] · wᵀ [in, out] (+ b). One row (a decode step at batch 1) goes
// through matrix-vector: OpenBLAS 0.3.21's sgemm packs the whole weight even
// for one row, 2-3× slower than sgemv on CPU.
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
    if (x.numel() == x.size(-1) && x.is_cpu() && x.scalar_type() == at::kFloat) {
        std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
        shape.back() = w.size(0);
        at::Tensor y = at::mv(w, x.reshape({-1}));
        if (b.defined()) y = y + b;
        return y.view(shape);
    }
    return b.defined() ? at::linear(x, w, b) : at::linear(x, w);
}

int64_t read_mem_available_bytes() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    int64_t kb = 0;
    std::string unit;
    while (in >> key >> kb >> unit)
        if (key == "MemAvailable:") return kb * 1024;
    return int64_t{4} << 30;
}

// Free GPU memory without CUDA headers: cudaMemGetInfo when libcudart's symbol
// is visible in the process (libtorch_cuda links it), else 0 (unknown).
int64_t cuda_free_bytes(const at::Device& device) {
    using MemGetInfo = int (*)(size_t*, size_t*);
    using SetDevice = int (*)(int);
    auto get = reinterpret_cast<MemGetInfo>(::dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
    auto set = reinterpret_cast<SetDevice>(::dlsym(RTLD_DEFAULT, "cudaSetDevice"));
    if (!get) return 0;
    if (set) set(device.has_index() ? device.index() : 0);
    size_t free_b = 0, total_b = 0;
    if (get(&free_b, &total_b) != 0) return 0;
    return static_cast<int64_t>(free_b);
}

}  // namespace

Transformer::Transformer(ModelSpec spec, EngineOptions options)
    : m_spec(std::move(spec)), m_options(options) {
    const ModelSpec& s = m_spec;
    if (s.hidden_size <= 0 || s.num_hidden_layers <= 0 || s.num_attention_heads <= 0 || s.vocab_size <= 0 ||
        s.intermediate_size <= 0)
        throw Error(
            "model spec: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads and "
            "vocab_size must be positive");
    if (m_spec.num_key_value_heads <= 0) m_spec.num_key_value_heads = m_spec.num_attention_heads;
    if (m_spec.head_dim <= 0) m_spec.head_dim = m_spec.hidden_size / m_spec.num_attention_heads;
    if (m_spec.num_attention_heads % m_spec.num_key_value_heads != 0)
        throw Error("model spec: num_attention_heads " + std::to_string(m_spec.num_attention_heads) +
                    " is not a multiple of num_key_value_heads " +
                    std::to_string(m_spec.num_key_value_heads));
    if (m_options.device.is_cuda() && !at::hasCUDA())
        throw Error("device " + m_options.device.str() + ": this libtorch has no CUDA support");
    m_inv_freq = rope_inv_freq(m_spec).to(m_options.device);
    if (m_spec.rope_scaling.type == "longrope")
        m_inv_freq_long = rope_inv_freq(m_spec, m_spec.rope_scaling.original_max_position_embeddings + 1)
                              .to(m_options.device);
    if (m_spec.rope_local_theta) {
        ModelSpec local = m_spec;
        local.rope_theta = *m_spec.rope_local_theta;
        local.rope_scaling = m_spec.rope_local_scaling;
        m_inv_freq_local = rope_inv_freq(local).to(m_options.device);
    }
    m_slots.resize(static_cast<size_t>(m_spec.num_hidden_layers + kNumBoundaryParts));
    for (int64_t i = 0; i < m_spec.num_hidden_layers; ++i)
        m_slots[i].current.resize(kLayerEntries + (m_spec.layer_is_sparse(i) ? 3 * m_spec.num_experts : 0));
    for (int p = 0; p < kNumBoundaryParts; ++p) m_slots[m_spec.num_hidden_layers + p].current.resize(1);
    int64_t budget = m_options.device_memory;
    if (budget < 0)  // auto: what the device has free, less a quarter for activations and the K/V
        budget = m_options.device.is_cuda() ? cuda_free_bytes(m_options.device) / 4 * 3 : 0;
    m_plan = plan_device_memory(m_spec, m_options.dtype, budget);
}

// ---- streaming ---------------------------------------------------------------

struct Transformer::Staged {
    int64_t layer = -1;
    std::vector<at::Tensor> tensors;  // the slot's entries on the device
    std::optional<c10::Event> ready;  // GPU: the copy's end on the side stream
};

void Transformer::stage(int64_t layer) {
    if (m_staged.empty())
        for (int i = 0; i < 2; ++i) m_staged.push_back(std::make_shared<Staged>());
    for (const auto& st : m_staged)
        if (st->layer == layer) return;
    // The buffer not holding the layer just before (still in use by the compute).
    std::shared_ptr<Staged> st = m_staged[0]->layer == layer - 1 ? m_staged[1] : m_staged[0];
    st->layer = -1;
    st->tensors.clear();
    st->ready.reset();
    const Slot& slot = m_slots.at(static_cast<size_t>(layer));
    const at::Device dev = m_options.device;
    if (dev.is_cuda()) {
        c10::impl::VirtualGuardImpl impl(dev.type());
        const c10::Stream compute = impl.getStream(dev);
        const c10::Stream side = impl.getStreamFromGlobalPool(dev);
        // Allocated on the compute stream, written on the side stream after the
        // compute's earlier use of that memory.
        c10::Event freed(dev.type());
        freed.record(compute);
        for (const auto& e : slot.current)
            st->tensors.push_back(e.compute.defined()
                                      ? at::empty_like(e.compute, e.compute.options().device(dev))
                                      : at::Tensor());
        c10::StreamGuard on_side(side);
        freed.block(side);
        for (size_t i = 0; i < slot.current.size(); ++i)
            if (st->tensors[i].defined())
                st->tensors[i].copy_(slot.current[i].compute, /*non_blocking=*/true);
        st->ready.emplace(dev.type());
        st->ready->record(side);
    } else {
        // The same path on the CPU: a copy of the host tensors, bit for bit.
        for (const auto& e : slot.current)
            st->tensors.push_back(e.compute.defined() ? e.compute.clone() : at::Tensor());
    }
    st->layer = layer;
}

void Transformer::use(int64_t layer) {
    stage(layer);
    for (const auto& st : m_staged)
        if (st->layer == layer && st->ready) {
            c10::impl::VirtualGuardImpl impl(m_options.device.type());
            st->ready->block(impl.getStream(m_options.device));
            st->ready.reset();
        }
}

void Transformer::unstage() {
    for (const auto& st : m_staged) {
        st->layer = -1;
        st->tensors.clear();
        st->ready.reset();
    }
}

const at::Tensor& Transformer::entry(int64_t layer, size_t index) const {
    if (!streamed(layer)) return m_slots[static_cast<size_t>(layer)].current[index].compute;
    for (const auto& st : m_staged)
        if (st->layer == layer) return st->tensors[index];
    throw Error("layer " + std::to_string(layer) + " is streamed but not on the device (internal)");
}

// ---- slots -----------------------------------------------------------------

at::Tensor Transformer::prepare(const at::Tensor& source, bool streamed) const {
    if (!source.defined()) return {};
    // A streamed layer stays in host memory in the compute dtype (pinned for
    // asynchronous copies when the device is a GPU).
    if (streamed && m_options.device.is_cuda())
        return source.to(at::kCPU, m_options.dtype).contiguous().pin_memory();
    if (streamed) return source.to(m_options.dtype).contiguous();
    // No copy when device, dtype and layout already fit (the CPU fp32 case).
    return source.to(m_options.device, m_options.dtype).contiguous();
}

void Transformer::assign(int slot, size_t index, const at::Tensor& source) {
    Slot& s = m_slots.at(slot);
    if (m_round_slot != slot) {
        if (m_round_slot >= 0) m_slots[m_round_slot].earlier.clear();  // release the old round
        s.earlier = s.current;                                         // shares tensors: no copy
        m_round_slot = slot;
    }
    Entry& e = s.current.at(index);
    if (same_tensor(e.source, source)) return;
    if (!s.earlier.empty() && same_tensor(s.earlier[index].source, source)) {
        e = s.earlier[index];  // pointing back: free
        return;
    }
    e.source = source;
    e.compute = prepare(source, streamed(slot));
    for (const auto& st : m_staged)  // a staged copy of the old tensors is stale
        if (st->layer == slot) st->layer = -1;
}

void Transformer::commit() {
    if (m_round_slot >= 0) m_slots[m_round_slot].earlier.clear();
    m_round_slot = -1;
}

void Transformer::set_layer(int64_t layer, const LayerWeights& weights) {
    if (layer < 0 || layer >= num_layers())
        throw Error("set_layer: layer " + std::to_string(layer) + " out of range [0, " +
                    std::to_string(num_layers()) + ")");
    check_layer_weights(m_spec, weights, layer);
    for (int u = 0; u < kNumLayerUnits; ++u) {
        const auto unit = static_cast<LayerUnit>(u);
        assign(static_cast<int>(layer), weight_index(unit), weights[unit].weight);
        assign(static_cast<int>(layer), bias_index(unit), weights[unit].bias);
    }
    for (size_t e = 0; e < weights.experts.size(); ++e) {
        const ExpertWeights& x = weights.experts[e];
        assign(static_cast<int>(layer), expert_index(static_cast<int64_t>(e), 0), x.gate);
        assign(static_cast<int>(layer), expert_index(static_cast<int64_t>(e), 1), x.up);
        assign(static_cast<int>(layer), expert_index(static_cast<int64_t>(e), 2), x.down);
    }
}

void Transformer::set_expert(int64_t layer, int64_t expert, const ExpertWeights& weights) {
    if (layer < 0 || layer >= num_layers())
        throw Error("set_expert: layer " + std::to_string(layer) + " out of range");
    LayerWeights check = this->layer(layer);
    if (expert < 0 || static_cast<size_t>(expert) >= check.experts.size())
        throw Error("set_expert: layer " + std::to_string(layer) + " has no expert " +
                    std::to_string(expert));
    check.experts[static_cast<size_t>(expert)] = weights;
    check_layer_weights(m_spec, check, layer);
    assign(static_cast<int>(layer), expert_index(expert, 0), weights.gate);
    assign(static_cast<int>(layer), expert_index(expert, 1), weights.up);
    assign(static_cast<int>(layer), expert_index(expert, 2), weights.down);
}

void Transformer::set_layer_unit(int64_t layer, LayerUnit unit, const UnitTensors& tensors) {
    if (layer < 0 || layer >= num_layers())
        throw Error("set_layer_unit: layer " + std::to_string(layer) + " out of range");
    LayerWeights check = this->layer(layer);
    check[unit] = tensors;
    check_layer_weights(m_spec, check, layer);
    assign(static_cast<int>(layer), weight_index(unit), tensors.weight);
    assign(static_cast<int>(layer), bias_index(unit), tensors.bias);
}

LayerWeights Transformer::layer(int64_t layer) const {
    const Slot& s = m_slots.at(layer);
    LayerWeights w;
    for (int u = 0; u < kNumLayerUnits; ++u) {
        w.units[u].weight = s.current[u * 2].source;
        w.units[u].bias = s.current[u * 2 + 1].source;
    }
    const size_t experts = (s.current.size() - kLayerEntries) / 3;
    for (size_t e = 0; e < experts; ++e)
        w.experts.push_back({s.current[expert_index(static_cast<int64_t>(e), 0)].source,
                             s.current[expert_index(static_cast<int64_t>(e), 1)].source,
                             s.current[expert_index(static_cast<int64_t>(e), 2)].source});
    return w;
}

void Transformer::set_boundary(const BoundaryWeights& weights) {
    check_boundary_weights(m_spec, weights);
    for (int p = 0; p < kNumBoundaryParts; ++p)
        assign(static_cast<int>(num_layers()) + p, 0, weights[static_cast<BoundaryPart>(p)]);
}

void Transformer::set_boundary_part(BoundaryPart part, const at::Tensor& tensor) {
    BoundaryWeights check = boundary();
    check[part] = tensor;
    if (check.embed_tokens.defined() && check.norm.defined()) check_boundary_weights(m_spec, check);
    assign(static_cast<int>(num_layers()) + static_cast<int>(part), 0, tensor);
}

BoundaryWeights Transformer::boundary() const {
    BoundaryWeights w;
    for (int p = 0; p < kNumBoundaryParts; ++p)
        w[static_cast<BoundaryPart>(p)] = m_slots[num_layers() + p].current[0].source;
    return w;
}

const at::Tensor& Transformer::w(int64_t layer, LayerUnit unit) const {
    return entry(layer, weight_index(unit));
}

const at::Tensor& Transformer::b(int64_t layer, LayerUnit unit) const {
    return entry(layer, bias_index(unit));
}

void Transformer::check_ready(int64_t begin, int64_t end) const {
    if (begin < 0 || end > num_layers() || begin > end)
        throw Error("run_layers: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") outside [0, " + std::to_string(num_layers()) + "]");
    for (int64_t l = begin; l < end; ++l)
        if (!m_slots[static_cast<size_t>(l)].current[weight_index(LayerUnit::o_proj)].source.defined())
            throw Error("layer " + std::to_string(l) + ": slot is empty (set_layer first)");
}

// ---- math ------------------------------------------------------------------

// HF RMSNorm: float32 statistics, cast back, then weight × (in the compute
// dtype). Gemma's: x̂ · (1 + w) in float32, then cast back; OLMo 2's: w · x̂ in
// float32, then cast back.
at::Tensor Transformer::rms_norm(const at::Tensor& x, const at::Tensor& weight) const {
    at::Tensor xf = x.to(at::kFloat);
    at::Tensor var = xf.pow(2).mean(-1, /*keepdim=*/true);
    xf = xf * at::rsqrt(var + m_spec.rms_norm_eps);
    if (m_spec.norm_plus_one) return (xf * (weight.to(at::kFloat) + 1.0)).to(x.scalar_type());
    if (m_spec.norm_weight_fp32) return (weight.to(at::kFloat) * xf).to(x.scalar_type());  // OLMo 2
    return weight * xf.to(x.scalar_type());
}

at::Tensor Transformer::activation(const at::Tensor& gate) const {
    const std::string& act = m_spec.hidden_act;
    return act == "gelu_pytorch_tanh" ? at::gelu(gate, "tanh")
           : act == "gelu"            ? at::gelu(gate)
                                      : at::silu(gate);
}

// Routed experts, as MixtralSparseMoeBlock / Qwen3MoeSparseMoeBlock with
// transformers 5's default experts kernel (grouped_mm): the router's float32
// softmax, the top-k experts per token (their weights renormalised when
// norm_topk_prob), each expert's gated MLP over its (token, k) rows in the
// compute dtype, times the row's weight (float32 for Mixtral, so the product
// is float32), summed over k in that dtype and cast back once.
at::Tensor Transformer::moe(int64_t l, const at::Tensor& x) {
    const int64_t H = x.size(-1), k = m_spec.num_experts_per_tok;
    const at::Tensor flat = x.reshape({-1, H});                                     // [N, H]
    const at::Tensor logits = linear(flat, w(l, LayerUnit::router), at::Tensor());  // [N, E]
    const at::Tensor probs = at::softmax(logits.to(at::kFloat), /*dim=*/-1);
    auto [top, index] = at::topk(probs, k, /*dim=*/-1);  // [N, k]
    if (m_spec.norm_topk_prob) top = top / top.sum(/*dim=*/-1, /*keepdim=*/true);
    if (!m_spec.router_weights_fp32) top = top.to(logits.scalar_type());
    const at::Tensor weight = top.reshape({-1});    // [N k]
    const at::Tensor expert = index.reshape({-1});  // [N k]
    at::Tensor rows =
        at::zeros({flat.size(0) * k, H},
                  flat.options().dtype(at::promote_types(flat.scalar_type(), top.scalar_type())));
    for (int64_t e = 0; e < m_spec.num_experts; ++e) {
        const at::Tensor hit = (expert == e).nonzero().reshape({-1});  // (token, k) rows routed to e
        if (hit.size(0) == 0) continue;
        const at::Tensor cur = flat.index_select(0, at::div(hit, k, "floor"));
        const at::Tensor gate = linear(cur, entry(l, expert_index(e, 0)), at::Tensor());
        const at::Tensor up = linear(cur, entry(l, expert_index(e, 1)), at::Tensor());
        const at::Tensor y = linear(activation(gate) * up, entry(l, expert_index(e, 2)), at::Tensor());
        rows.index_copy_(0, hit, y * weight.index_select(0, hit).unsqueeze(-1));
    }
    return rows.view({flat.size(0), k, H}).sum(/*dim=*/1).to(x.scalar_type()).view(x.sizes());
}

at::Tensor Transformer::mlp(int64_t l, const at::Tensor& x) {
    if (m_spec.layer_is_sparse(l)) return moe(l, x);
    at::Tensor gate, up;
    if (w(l, LayerUnit::gate_up_proj).defined()) {  // Phi-3: [.., 2*im] = gate | up
        const at::Tensor gu = linear(x, w(l, LayerUnit::gate_up_proj), b(l, LayerUnit::gate_up_proj));
        const int64_t im = m_spec.intermediate_size;
        gate = gu.narrow(-1, 0, im);
        up = gu.narrow(-1, im, im);
    } else {
        gate = linear(x, w(l, LayerUnit::gate_proj), b(l, LayerUnit::gate_proj));
        up = linear(x, w(l, LayerUnit::up_proj), b(l, LayerUnit::up_proj));
    }
    return linear(activation(gate) * up, w(l, LayerUnit::down_proj), b(l, LayerUnit::down_proj));
}

// The fused kernel knows neither soft-capping nor another scale; those models
// (Gemma 2) run the explicit path, as transformers runs them eagerly.
bool Transformer::use_sdpa() const {
    return m_options.sdpa && sdpa_available() && !m_spec.attn_softcap && !m_spec.attn_scale;
}

// x [B, T, H]; cos/sin [B, 1, T, hd]; mask: see attention_mask().
at::Tensor Transformer::attention(int64_t l, const at::Tensor& x, const at::Tensor& mask,
                                  const at::Tensor& cos, const at::Tensor& sin, KvCache* cache) {
    const int64_t B = x.size(0), T = x.size(1);
    const int64_t nh = m_spec.num_attention_heads, nkv = m_spec.num_key_value_heads, hd = m_spec.head_dim;
    const int64_t rep = nh / nkv;
    at::Tensor q, k, v;
    if (w(l, LayerUnit::qkv_proj).defined()) {  // Phi-3: [.., (nh + 2 nkv) hd] = q | k | v
        const at::Tensor qkv = linear(x, w(l, LayerUnit::qkv_proj), b(l, LayerUnit::qkv_proj));
        q = qkv.narrow(-1, 0, nh * hd);
        k = qkv.narrow(-1, nh * hd, nkv * hd);
        v = qkv.narrow(-1, (nh + nkv) * hd, nkv * hd).reshape({B, T, nkv, hd});
    } else {
        q = linear(x, w(l, LayerUnit::q_proj), b(l, LayerUnit::q_proj));  // [B, T, nh*hd]
        k = linear(x, w(l, LayerUnit::k_proj), b(l, LayerUnit::k_proj));  // [B, T, nkv*hd]
        v = linear(x, w(l, LayerUnit::v_proj), b(l, LayerUnit::v_proj)).view({B, T, nkv, hd});
    }
    if (m_spec.qk_norm && m_spec.qk_norm_full) {  // OLMo 2: over the whole projection
        q = rms_norm(q, w(l, LayerUnit::q_norm));
        k = rms_norm(k, w(l, LayerUnit::k_norm));
    }
    q = q.reshape({B, T, nh, hd});
    k = k.reshape({B, T, nkv, hd});
    if (m_spec.qk_norm && !m_spec.qk_norm_full) {  // Qwen 3: per head
        q = rms_norm(q, w(l, LayerUnit::q_norm));
        k = rms_norm(k, w(l, LayerUnit::k_norm));
    }
    q = q.transpose(1, 2);  // [B, nh, T, hd]
    k = k.transpose(1, 2);  // [B, nkv, T, hd]
    v = v.transpose(1, 2);
    const int64_t rd = cos.size(-1);
    if (rd == hd) {
        q = q * cos + rotate_half(q) * sin;
        k = k * cos + rotate_half(k) * sin;
    } else {  // partial rotary: the first rd dims rotate, the rest pass through
        const at::Tensor qr = q.narrow(-1, 0, rd), kr = k.narrow(-1, 0, rd);
        q = at::cat({qr * cos + rotate_half(qr) * sin, q.narrow(-1, rd, hd - rd)}, -1);
        k = at::cat({kr * cos + rotate_half(kr) * sin, k.narrow(-1, rd, hd - rd)}, -1);
    }
    if (cache) {
        auto kv = cache->append(l, k, v);  // [B, nkv, S, hd]
        k = kv.first;
        v = kv.second;
    }
    const int64_t S = k.size(2);
    // Grouped-query attention without repeating K/V: the rep query heads that
    // share a KV head are stacked along the row axis. [B, nkv, rep*T, hd]
    at::Tensor qg = q.reshape({B, nkv, rep * T, hd});
    at::Tensor out;  // [B, nkv, rep*T, hd]
    if (use_sdpa()) {
#if TORCH_VERSION_MAJOR >= 2
        // mask = allowed [B, 1, rep*T, S] (True = may attend); scale head_dim^-0.5 (the default).
        out = at::scaled_dot_product_attention(qg, k, v, mask);
#endif
    } else {
        // mask = blocked [B, 1, 1, T, S]
        at::Tensor scores = at::matmul(qg, k.transpose(2, 3));  // [B, nkv, rep*T, S], a fresh tensor
        // × head_dim^-0.5 (or the model's own scale) in the compute dtype (HF)
        scores.mul_(m_spec.attn_scale ? *m_spec.attn_scale : 1.0 / std::sqrt(static_cast<double>(hd)));
        if (m_spec.attn_softcap) {  // Gemma 2, in the compute dtype as transformers
            scores.div_(*m_spec.attn_softcap);
            scores.tanh_();
            scores.mul_(*m_spec.attn_softcap);
        }
        scores = scores.to(at::kFloat).view({B, nkv, rep, T, S});
        scores.masked_fill_(mask, -std::numeric_limits<float>::infinity());
        at::Tensor probs = at::softmax(scores, -1).to(x.scalar_type()).view({B, nkv, rep * T, S});
        out = at::matmul(probs, v);
    }
    out = out.view({B, nh, T, hd}).transpose(1, 2).reshape({B, T, nh * hd});
    return linear(out, w(l, LayerUnit::o_proj), b(l, LayerUnit::o_proj));
}

// ---- execution ---------------------------------------------------------------

at::Tensor Transformer::embed(const Batch& batch) {
    c10::InferenceMode guard;
    const at::Tensor& table =
        m_slots[num_layers() + static_cast<int>(BoundaryPart::embed_tokens)].current[0].compute;
    if (!table.defined()) throw Error("embed: the embed_tokens slot is empty (set_boundary first)");
    at::Tensor ids = batch.ids.to(m_options.device);
    // [B, T, H]
    at::Tensor h = table.index_select(0, ids.reshape({-1})).view({ids.size(0), ids.size(1), table.size(1)});
    // Gemma: × √hidden, the factor rounded to the compute dtype first (as transformers).
    if (m_spec.embed_scale != 1.0)
        h = h * at::scalar_tensor(m_spec.embed_scale, at::TensorOptions().dtype(at::kFloat))
                    .to(h.scalar_type())
                    .to(h.device());
    // Granite: × embedding_multiplier, a float scalar on the compute dtype (as transformers).
    if (m_spec.embedding_multiplier != 1.0) h = h * m_spec.embedding_multiplier;
    return h;
}

at::Tensor Transformer::run_layers(const at::Tensor& hidden, const Batch& batch, int64_t begin, int64_t end,
                                   KvCache* cache) {
    c10::InferenceMode guard;
    check_ready(begin, end);
    if (begin == end) return hidden;
    const int64_t B = hidden.size(0), T = hidden.size(1);
    if (batch.size() != B || batch.width() != T)
        throw Error("run_layers: hidden [" + std::to_string(B) + ", " + std::to_string(T) +
                    "] does not match the batch [" + std::to_string(batch.size()) + ", " +
                    std::to_string(batch.width()) + "]");
    const at::Device dev = m_options.device;
    at::Tensor mask = batch.mask.to(dev);
    at::Tensor positions = batch.positions.to(dev);

    // Rotary tables, HF: freqs = inv_freq ⊗ positions in float32, emb = cat(freqs, freqs).
    // longrope: × its attention factor, and the long table once the call's
    // longest sequence (max position + 1) passes the original length.
    const bool longrope = m_spec.rope_scaling.type == "longrope";
    const double rope_gain = longrope ? m_spec.rope_scaling.attention_factor : 1.0;
    auto rotary = [&](const at::Tensor& inv_freq) {
        at::Tensor freqs =
            positions.to(at::kFloat).unsqueeze(-1) * inv_freq.view({1, 1, -1});  // [B, T, rd/2]
        at::Tensor emb = at::cat({freqs, freqs}, -1);                            // [B, T, rd]
        at::Tensor c = emb.cos(), s = emb.sin();
        if (rope_gain != 1.0) {
            c = c * rope_gain;
            s = s * rope_gain;
        }
        return std::make_pair(c.to(m_options.dtype).unsqueeze(1),  // [B, 1, T, rd]
                              s.to(m_options.dtype).unsqueeze(1));
    };
    const bool use_long = longrope && positions.max().item<int64_t>() + 1 >
                                          m_spec.rope_scaling.original_max_position_embeddings;
    const auto [cos, sin] = rotary(use_long ? m_inv_freq_long : m_inv_freq);
    at::Tensor cos_local, sin_local;  // Gemma 3's sliding layers: their own base
    for (int64_t l = begin; l < end && !cos_local.defined(); ++l)
        if (m_spec.layer_has_local_rope(l)) std::tie(cos_local, sin_local) = rotary(m_inv_freq_local);

    // Which keys each query may see: real, not in the future; a query always sees
    // itself (so a padding row never has an empty softmax).
    int64_t past = 0;
    at::Tensor key_valid = mask;  // [B, S]
    if (cache) {
        if (cache->num_layers() != num_layers() || (cache->batch_size() != 0 && cache->batch_size() != B))
            throw Error("run_layers: the KV cache does not fit this model/batch");
        past = cache->layer_length(begin);
        for (int64_t l = begin; l < end; ++l)
            if (cache->layer_length(l) != past)
                throw Error("run_layers: KV cache layers " + std::to_string(begin) + ".." +
                            std::to_string(end - 1) + " hold different lengths");
        cache->set_valid(past, mask);
        key_valid = cache->valid(past + T);
    }
    const int64_t S = past + T;
    at::Tensor qcol = at::arange(past, S, at::TensorOptions().dtype(at::kLong).device(dev)).view({T, 1});
    at::Tensor kcol = at::arange(0, S, at::TensorOptions().dtype(at::kLong).device(dev)).view({1, S});
    at::Tensor allowed = (kcol <= qcol).unsqueeze(0) & key_valid.view({B, 1, S});  // [B, T, S]
    at::Tensor allowed_sliding;  // the same with the window, for the layers that slide
    bool any_slides = false;
    for (int64_t l = begin; l < end; ++l) any_slides = any_slides || m_spec.layer_slides(l);
    if (any_slides && *m_spec.sliding_window < S) {
        // Sliding-window attention (Mistral): a query sees the keys less than
        // `window` positions back (transformers: kv_idx > q_idx - window).
        // Counted in positions, not cache columns, so padding between a prompt
        // and its generated tokens does not shrink the window: the position of
        // a real key is the number of real keys before it.
        const at::Tensor key_pos = key_valid.to(at::kLong).cumsum(-1) - 1;          // [B, S]
        const at::Tensor dist = positions.unsqueeze(-1) - key_pos.view({B, 1, S});  // [B, T, S]
        allowed_sliding = allowed & (dist < *m_spec.sliding_window);
    }
    const at::Tensor self_col = (kcol == qcol).unsqueeze(0);
    allowed = allowed | self_col;
    if (allowed_sliding.defined()) allowed_sliding = allowed_sliding | self_col;
    // The explicit path masks the keys a query may not see, [B, 1, 1, T, S];
    // the fused kernel takes the allowed ones with the rows of the stacked
    // query heads, [B, 1, rep*T, S].
    const int64_t rep = m_spec.num_attention_heads / m_spec.num_key_value_heads;
    auto kernel_mask = [&](const at::Tensor& a) {
        return use_sdpa() ? a.view({B, 1, 1, T, S}).expand({B, 1, rep, T, S}).reshape({B, 1, rep * T, S})
                          : a.logical_not().view({B, 1, 1, T, S});
    };
    const at::Tensor attn_mask = kernel_mask(allowed);
    const at::Tensor sliding_mask = allowed_sliding.defined() ? kernel_mask(allowed_sliding) : attn_mask;

    at::Tensor h = hidden;
    for (int64_t l = begin; l < end; ++l) {
        if (streamed(l)) {
            use(l);                         // its copy done (staged before when it could be)
            if (l + 1 < end) stage(l + 1);  // the next one's copy runs under this layer's compute
        } else if (l + 1 < end && streamed(l + 1)) {
            stage(l + 1);
        }
        const at::Tensor& m = m_spec.layer_slides(l) ? sliding_mask : attn_mask;
        const bool local = m_spec.layer_has_local_rope(l);
        const at::Tensor& cos_l = local ? cos_local : cos;
        const at::Tensor& sin_l = local ? sin_local : sin;
        // Granite scales each sub-block's output before the residual add.
        const double rm = m_spec.residual_multiplier;
        auto scaled = [rm](const at::Tensor& t) { return rm == 1.0 ? t : t * rm; };
        if (m_spec.norm_layout == NormLayout::post) {
            // OLMo 2: the sub-blocks see the residual stream itself; their outputs are normed.
            h = h + scaled(rms_norm(attention(l, h, m, cos_l, sin_l, cache),
                                    w(l, LayerUnit::post_attention_layernorm)));
            h = h + scaled(rms_norm(mlp(l, h), w(l, LayerUnit::post_feedforward_layernorm)));
        } else if (m_spec.norm_layout == NormLayout::sandwich) {
            // Gemma 2/3: every sub-block's output is normed before the residual add.
            at::Tensor a =
                attention(l, rms_norm(h, w(l, LayerUnit::input_layernorm)), m, cos_l, sin_l, cache);
            h = h + rms_norm(a, w(l, LayerUnit::post_attention_layernorm));
            at::Tensor f = mlp(l, rms_norm(h, w(l, LayerUnit::pre_feedforward_layernorm)));
            h = h + rms_norm(f, w(l, LayerUnit::post_feedforward_layernorm));
        } else {
            at::Tensor x = rms_norm(h, w(l, LayerUnit::input_layernorm));
            h = h + scaled(attention(l, x, m, cos_l, sin_l, cache));
            x = rms_norm(h, w(l, LayerUnit::post_attention_layernorm));
            h = h + scaled(mlp(l, x));
        }
    }
    if (m_plan.streamed_layers > 0 && end == num_layers()) unstage();  // device memory back after a full pass
    return h;
}

at::Tensor Transformer::head(const at::Tensor& hidden_rows) {
    c10::InferenceMode guard;
    const int64_t n = num_layers();
    const at::Tensor& norm = m_slots[n + static_cast<int>(BoundaryPart::norm)].current[0].compute;
    const at::Tensor& lm = m_slots[n + static_cast<int>(BoundaryPart::lm_head)].current[0].compute;
    const at::Tensor& tied = m_slots[n + static_cast<int>(BoundaryPart::embed_tokens)].current[0].compute;
    if (!norm.defined()) throw Error("head: the final norm slot is empty (set_boundary first)");
    const at::Tensor& matrix = lm.defined() ? lm : tied;
    if (!matrix.defined()) throw Error("head: neither lm_head nor embed_tokens is set");
    at::Tensor x = rms_norm(hidden_rows, norm);
    at::Tensor logits = linear(x, matrix, at::Tensor());                        // [..., V], compute dtype
    if (m_spec.logits_scaling != 1.0) logits = logits / m_spec.logits_scaling;  // Granite
    if (m_spec.final_softcap) {  // Gemma 2: cap · tanh(logits / cap), in the compute dtype as transformers
        logits = logits / *m_spec.final_softcap;
        logits = at::tanh(logits) * *m_spec.final_softcap;
    }
    return logits.to(at::kFloat);
}

at::Tensor Transformer::head_at(const at::Tensor& hidden, const at::Tensor& rows, const at::Tensor& cols) {
    c10::InferenceMode guard;
    const at::Device dev = hidden.device();
    at::Tensor flat = rows.to(dev) * hidden.size(1) + cols.to(dev);  // [R]
    return head(hidden.reshape({-1, hidden.size(2)}).index_select(0, flat));
}

int64_t Transformer::token_budget() const {
    if (m_options.max_batch_tokens > 0) return m_options.max_batch_tokens;
    // Bytes of activations per token of a 512-wide sequence: the layer's
    // intermediates (compute dtype) and float32 attention scores + softmax,
    // plus the float32 logits of that token.
    const int64_t es = static_cast<int64_t>(c10::elementSize(m_options.dtype));
    const int64_t width = 512;
    const int64_t per_token = es * (6 * m_spec.hidden_size + 3 * m_spec.intermediate_size +
                                    2 * m_spec.num_attention_heads * m_spec.head_dim) +
                              4 * (2 * m_spec.num_attention_heads * width) + 4 * m_spec.vocab_size;
    int64_t free_bytes = m_options.device.is_cuda() ? cuda_free_bytes(m_options.device) : 0;
    if (!m_options.device.is_cuda()) free_bytes = read_mem_available_bytes();
    if (free_bytes <= 0) free_bytes = int64_t{4} << 30;  // unknown: assume 4 GiB
    // A quarter of what is free, to leave room for the allocator and the K/V.
    return std::max<int64_t>(width, free_bytes / 4 / std::max<int64_t>(per_token, 1));
}

at::Tensor Transformer::forward(const Batch& batch) {
    c10::InferenceMode guard;
    check_ready(0, num_layers());
    const int64_t B = batch.size(), T = batch.width();
    const int64_t rows = std::max<int64_t>(1, token_budget() / std::max<int64_t>(T, 1));
    std::vector<at::Tensor> parts;
    for (int64_t r = 0; r < B; r += rows) {
        const Batch sub = (r == 0 && rows >= B) ? batch : batch.slice(r, std::min(B, r + rows));
        at::Tensor h = run_layers(embed(sub), sub, 0, num_layers());
        parts.push_back(head(h));  // [b, T, V]
    }
    return parts.size() == 1 ? parts[0] : at::cat(parts, 0);
}

}  // namespace olm
