#include "core/model/transformer.h"
#include "core/util/error.h"

#include <cmath>

namespace olm {

// HF: inv_freq = 1 / base^(arange(0, dim, 2).float() / dim), all in float32,
// then the rope_scaling rule (modeling_rope_utils.py).
at::Tensor rope_inv_freq(const ModelSpec& spec, int64_t seq_len) {
    const int64_t dim = spec.rotary_dim();
    if (dim <= 0 || dim % 2 != 0) throw Error("rope: head_dim " + std::to_string(dim) + " must be even");
    at::Tensor exponent = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<float>(dim);
    at::Tensor inv_freq = 1.0 / at::pow(static_cast<float>(spec.rope_theta), exponent);  // [dim/2] float32
    const RopeScaling& rs = spec.rope_scaling;
    if (rs.type.empty() || rs.type == "default") return inv_freq;
    if (rs.type == "linear") return inv_freq / static_cast<float>(rs.factor);
    if (rs.type == "longrope") {
        // 1 / (ext * base^(i/dim)), ext = long_factor past the original length (transformers).
        const auto& ext = seq_len > rs.original_max_position_embeddings ? rs.long_factor : rs.short_factor;
        std::vector<float> e(ext.begin(), ext.end());
        const at::Tensor ext_t =
            at::from_blob(e.data(), {static_cast<int64_t>(e.size())}, at::kFloat).clone();
        return 1.0 / (ext_t * at::pow(static_cast<float>(spec.rope_theta), exponent));
    }
    if (rs.type == "llama3") {
        const double factor = rs.factor, low = rs.low_freq_factor, high = rs.high_freq_factor;
        const double old_len = static_cast<double>(rs.original_max_position_embeddings);
        const double low_wavelen = old_len / low, high_wavelen = old_len / high;
        at::Tensor wavelen = 2 * M_PI / inv_freq;
        at::Tensor scaled = at::where(wavelen > low_wavelen, inv_freq / factor, inv_freq);
        at::Tensor smooth = (old_len / wavelen - low) / (high - low);
        at::Tensor smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
        at::Tensor medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen);
        return at::where(medium, smoothed, scaled).to(at::kFloat);
    }
    throw Error("rope_scaling type '" + rs.type + "' is not supported (supported: linear, llama3, longrope)");
}

}  // namespace olm
