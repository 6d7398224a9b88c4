#include "tests/model/reference.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace olm::reference {

namespace {

at::Tensor d(const at::Tensor& t) { return t.to(at::kDouble); }

// x [T, n] -> x / sqrt(mean(x^2) + eps) * w, row by row (Gemma: * (1 + w)).
bool g_plus_one = false;  // set per call of logits() from the spec
at::Tensor rms(const at::Tensor& x, const at::Tensor& w_in, double eps) {
    const at::Tensor w = g_plus_one ? w_in + 1.0 : w_in;
    at::Tensor out = at::empty_like(x);
    for (int64_t t = 0; t < x.size(0); ++t) {
        double ss = 0;
        auto row = x[t];
        for (int64_t i = 0; i < x.size(1); ++i) ss += row[i].item<double>() * row[i].item<double>();
        out[t] = row * (1.0 / std::sqrt(ss / static_cast<double>(x.size(1)) + eps)) * w;
    }
    return out;
}

at::Tensor tensor_or_none(const ModelFolder& f, TensorRole role, int layer) {
    for (const TensorTemplate& t : f.architecture().layer)  // roles this architecture may have
        if (t.role == role) {
            const std::string name = tensor_name(f.architecture(), role, layer);
            return f.has(name) ? d(f.tensor(name)) : at::Tensor();
        }
    return {};
}

at::Tensor proj(const at::Tensor& x, const ModelFolder& f, TensorRole w, TensorRole b, int layer) {
    at::Tensor y = at::mm(x, d(f.tensor(w, layer)).t());
    at::Tensor bias = tensor_or_none(f, b, layer);
    return bias.defined() ? y + bias : y;
}

}  // namespace

olm::testing::TinyModelOptions tiny_options(const std::string& architecture, int64_t layers, int64_t vocab,
                                            double weight_scale) {
    olm::testing::TinyModelOptions o;
    o.architecture = architecture;
    o.hidden = 32;
    o.intermediate = 64;
    o.layers = layers;
    o.heads = 4;
    o.kv_heads = 2;
    o.vocab = vocab;
    o.weight_scale = weight_scale;
    return o;
}

std::vector<double> inv_freq(const ModelSpec& s, int64_t seq_len) {
    const int64_t dim = s.rotary_dim();
    std::vector<double> f(dim / 2);
    for (int64_t i = 0; i < dim / 2; ++i) f[i] = 1.0 / std::pow(s.rope_theta, (2.0 * i) / dim);
    const auto& rs = s.rope_scaling;
    if (rs.type == "longrope") {  // Phi-3: per-frequency divisors, long past the original length
        const auto& ext = seq_len > rs.original_max_position_embeddings ? rs.long_factor : rs.short_factor;
        for (size_t i = 0; i < f.size(); ++i) f[i] /= ext.at(i);
    } else if (rs.type == "linear") {
        for (double& x : f) x /= rs.factor;
    } else if (rs.type == "llama3") {
        const double old_len = static_cast<double>(rs.original_max_position_embeddings);
        for (double& x : f) {
            const double wavelen = 2 * M_PI / x;
            if (wavelen < old_len / rs.high_freq_factor) continue;  // high frequency: unchanged
            if (wavelen > old_len / rs.low_freq_factor) {           // low frequency: scaled
                x /= rs.factor;
                continue;
            }
            const double smooth =
                (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
            x = (1 - smooth) * x / rs.factor + smooth * x;
        }
    }
    return f;
}

at::Tensor logits(const ModelFolder& folder, const std::vector<int64_t>& ids,
                  const std::vector<const ModelFolder*>& layer_source) {
    using R = TensorRole;
    const ModelSpec& s = folder.spec();
    const int64_t T = static_cast<int64_t>(ids.size());
    const int64_t nh = s.num_attention_heads, nkv = s.num_key_value_heads, hd = s.head_dim;
    const auto freq_global = inv_freq(s, T);
    const int64_t rd = s.rotary_dim();  // Phi-4-mini: only the first rd dims rotate
    const double gain = s.rope_scaling.type == "longrope" ? s.rope_scaling.attention_factor : 1.0;
    // Gemma 3: the sliding layers rotate with their own base (and scaling).
    std::vector<double> freq_local;
    if (s.rope_local_theta) {
        ModelSpec ls = s;
        ls.rope_theta = *s.rope_local_theta;
        ls.rope_scaling = s.rope_local_scaling;
        freq_local = inv_freq(ls);
    }
    const std::vector<double>* freq_ptr = &freq_global;
    at::Tensor embed = d(folder.tensor(R::embed_tokens));
    at::Tensor h = at::empty({T, s.hidden_size}, at::kDouble);
    for (int64_t t = 0; t < T; ++t) h[t] = embed[ids[t]];
    // Gemma 2 (modeling_gemma2): embeddings x sqrt(hidden), norms x (1 + w),
    // a norm after attention and around the MLP, GELU-tanh, scores x
    // query_pre_attn_scalar^-1/2 capped by c tanh(s / c), final logits capped.
    const bool gemma = s.norm_layout == NormLayout::sandwich;
    g_plus_one = s.norm_plus_one;
    const bool post = s.norm_layout == NormLayout::post;
    h = h * s.embed_scale * s.embedding_multiplier;
    const double scale = s.attn_scale ? *s.attn_scale : 1.0 / std::sqrt(static_cast<double>(hd));
    auto cap = [](double v, const std::optional<double>& c) { return c ? *c * std::tanh(v / *c) : v; };

    // Rotary embedding of one head vector at position p (rotate-half convention).
    auto rope = [&](const at::Tensor& v, int64_t p) {
        at::Tensor out = at::empty_like(v);
        out.copy_(v);
        for (int64_t i = 0; i < rd / 2; ++i) {
            const std::vector<double>& freq = *freq_ptr;
            const double c = gain * std::cos(p * freq[i]), sn = gain * std::sin(p * freq[i]);
            const double a = v[i].item<double>(), b = v[i + rd / 2].item<double>();
            out[i] = a * c - b * sn;
            out[i + rd / 2] = b * c + a * sn;
        }
        return out;
    };

    for (int l = 0; l < s.num_hidden_layers; ++l) {
        const ModelFolder& f =
            (l < static_cast<int>(layer_source.size()) && layer_source[l]) ? *layer_source[l] : folder;
        freq_ptr = s.layer_has_local_rope(l) ? &freq_local : &freq_global;
        // OLMo 2 (modeling_olmo2): no input norm, the attention and MLP outputs
        // are normed before the residual add, q/k normed over the whole projection.
        at::Tensor x = post ? h : rms(h, d(f.tensor(R::input_norm, l)), s.rms_norm_eps);
        at::Tensor q, k, v;
        const bool fused = tensor_or_none(f, R::attn_qkv, l).defined();
        if (fused) {  // Phi-3: rows q | k | v of one projection
            const at::Tensor qkv = at::mm(x, d(f.tensor(R::attn_qkv, l)).t());
            q = qkv.narrow(1, 0, nh * hd);
            k = qkv.narrow(1, nh * hd, nkv * hd);
            v = qkv.narrow(1, (nh + nkv) * hd, nkv * hd).reshape({T, nkv, hd});
        } else {
            q = proj(x, f, R::attn_q, R::attn_q_bias, l);
            k = proj(x, f, R::attn_k, R::attn_k_bias, l);
            v = proj(x, f, R::attn_v, R::attn_v_bias, l).view({T, nkv, hd});
        }
        if (s.qk_norm_full) {
            q = rms(q, d(f.tensor(R::attn_q_norm, l)), s.rms_norm_eps);
            k = rms(k, d(f.tensor(R::attn_k_norm, l)), s.rms_norm_eps);
        }
        q = q.reshape({T, nh, hd});
        k = k.reshape({T, nkv, hd});
        if (s.qk_norm && !s.qk_norm_full) {
            at::Tensor qn = d(f.tensor(R::attn_q_norm, l)), kn = d(f.tensor(R::attn_k_norm, l));
            for (int64_t hh = 0; hh < nh; ++hh)
                q.select(1, hh).copy_(rms(q.select(1, hh), qn, s.rms_norm_eps));
            for (int64_t hh = 0; hh < nkv; ++hh)
                k.select(1, hh).copy_(rms(k.select(1, hh), kn, s.rms_norm_eps));
        }
        for (int64_t t = 0; t < T; ++t) {
            for (int64_t hh = 0; hh < nh; ++hh) q[t][hh].copy_(rope(q[t][hh], t));
            for (int64_t hh = 0; hh < nkv; ++hh) k[t][hh].copy_(rope(k[t][hh], t));
        }
        at::Tensor attn = at::zeros({T, nh * hd}, at::kDouble);
        for (int64_t hh = 0; hh < nh; ++hh) {
            const int64_t g = hh / (nh / nkv);  // the KV head this query head reads
            for (int64_t t = 0; t < T; ++t) {
                // A sliding layer sees keys j with t - j < window.
                const int64_t first =
                    s.layer_slides(l) ? std::max<int64_t>(0, t - *s.sliding_window + 1) : int64_t{0};
                std::vector<double> sc(t + 1, 0.0);
                double mx = -INFINITY;
                for (int64_t j = first; j <= t; ++j) {
                    sc[j] = cap(at::dot(q[t][hh], k[j][g]).item<double>() * scale, s.attn_softcap);
                    mx = std::max(mx, sc[j]);
                }
                double z = 0;
                for (int64_t j = first; j <= t; ++j) z += (sc[j] = std::exp(sc[j] - mx));
                at::Tensor o = at::zeros({hd}, at::kDouble);
                for (int64_t j = first; j <= t; ++j) o += v[j][g] * (sc[j] / z);
                attn[t].narrow(0, hh * hd, hd).copy_(o);
            }
        }
        at::Tensor a = proj(attn, f, R::attn_o, R::attn_o_bias, l);
        // Granite: each sub-block's output x residual_multiplier.
        const double rm = s.residual_multiplier;
        if (post) {
            h = h + rm * rms(a, d(f.tensor(R::post_attention_norm, l)), s.rms_norm_eps);
            x = h;
        } else if (gemma) {
            h = h + rms(a, d(f.tensor(R::post_attention_norm, l)), s.rms_norm_eps);
            x = rms(h, d(f.tensor(R::pre_feedforward_norm, l)), s.rms_norm_eps);
        } else {
            h = h + rm * a;
            x = rms(h, d(f.tensor(R::post_attention_norm, l)), s.rms_norm_eps);
        }
        at::Tensor gate, up;
        if (tensor_or_none(f, R::mlp_gate_up, l).defined()) {  // Phi-3: rows gate | up
            const at::Tensor gu = at::mm(x, d(f.tensor(R::mlp_gate_up, l)).t());
            gate = gu.narrow(1, 0, s.intermediate_size);
            up = gu.narrow(1, s.intermediate_size, s.intermediate_size);
        } else {
            gate = at::mm(x, d(f.tensor(R::mlp_gate, l)).t());
            up = at::mm(x, d(f.tensor(R::mlp_up, l)).t());
        }
        at::Tensor act;
        if (s.hidden_act == "gelu_pytorch_tanh")  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            act = 0.5 * gate * (1 + at::tanh(std::sqrt(2.0 / M_PI) * (gate + 0.044715 * gate.pow(3)))) * up;
        else
            act = gate / (1 + at::exp(-gate)) * up;  // SiLU(gate) * up
        at::Tensor m = at::mm(act, d(f.tensor(R::mlp_down, l)).t());
        h = h + rm * (gemma || post ? rms(m, d(f.tensor(R::post_feedforward_norm, l)), s.rms_norm_eps) : m);
    }
    h = rms(h, d(folder.tensor(R::final_norm)), s.rms_norm_eps);
    at::Tensor lm = s.tie_word_embeddings ? embed : d(folder.tensor(R::lm_head));
    at::Tensor out = at::mm(h, lm.t());
    out = out / s.logits_scaling;
    if (s.final_softcap) out = *s.final_softcap * at::tanh(out / *s.final_softcap);
    return out;
}

std::vector<int64_t> greedy(const ModelFolder& folder, std::vector<int64_t> ids, int64_t max_new,
                            const std::vector<int64_t>& eos,
                            const std::vector<const ModelFolder*>& layer_source) {
    std::vector<int64_t> out;
    for (int64_t i = 0; i < max_new; ++i) {
        at::Tensor lg = logits(folder, ids, layer_source);
        const int64_t next = lg[lg.size(0) - 1].argmax().item<int64_t>();
        if (std::find(eos.begin(), eos.end(), next) != eos.end()) break;
        out.push_back(next);
        ids.push_back(next);
    }
    return out;
}

}  // namespace olm::reference
