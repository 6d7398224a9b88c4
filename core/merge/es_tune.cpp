#include "core/merge/es_tune.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "core/util/error.h"

namespace olm {

namespace {

constexpr double kEpsilon = 1e-10;
constexpr double kNoiseClamp = 3.0;

// Python's max(x, eps) as the original writes it: a NaN stays NaN.
double py_max_eps(double x) { return std::isnan(x) || x >= kEpsilon ? x : kEpsilon; }

std::string shape_text(const std::vector<int64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

}  // namespace

EsTensorTuner::EsTensorTuner(EsKind kind, const at::Tensor& start, double initial_sigma, uint64_t seed)
    : m_kind(kind),
      m_dtype(start.scalar_type()),
      m_shape(start.sizes().begin(), start.sizes().end()),
      m_initial_sigma(initial_sigma),
      m_gen(at::detail::createCPUGenerator(seed)) {
    if (!at::isFloatingType(m_dtype)) {
        m_why = "not a floating-point tensor";
        return;
    }
    if (es_planned_population(kind, start.sizes()) == 0) {
        m_why = "shape " + shape_text(m_shape) + " (only 2-D tensors with both sizes above 1 are tuned)";
        return;
    }
    const at::Tensor w = start.to(at::kCPU);
    if (kind == EsKind::svd) {
        m_best_flat = w.to(at::kFloat).flatten().clone();
        decompose();
        if (!m_s.defined() || m_s.numel() == 0) {
            m_why = "its SVD keeps no singular value above 1e-10";
            return;
        }
        m_dim = m_s.numel();
        m_sigma = initial_sigma * py_max_eps(m_s.std().item<double>());
    } else {
        // In the tensor's dtype, as the original computes on its parameter.
        const at::Tensor norms =
            at::linalg_vector_norm(w, 2, at::IntArrayRef{1}, /*keepdim=*/true, c10::nullopt);
        m_directions = w / (norms + kEpsilon);
        m_magnitudes = norms.squeeze(1).clone();
        m_dim = m_magnitudes.numel();
        m_sigma = initial_sigma;
    }
    m_population = es_population(m_dim);
    m_delta = at::empty({m_population, m_dim}, at::TensorOptions().dtype(at::kFloat));
}

void EsTensorTuner::decompose() {
    m_u = m_s = m_vh = at::Tensor();
    at::Tensor a = m_best_flat.reshape(m_shape).clone();
    const double max_val = a.abs().max().item<double>();
    if (!(max_val > kEpsilon)) return;
    a.div_(max_val);
    auto [u, s, vh] = at::linalg_svd(a, /*full_matrices=*/false);
    // Singular values come sorted, largest first: those above epsilon are a prefix.
    const int64_t keep = (s > kEpsilon).sum().item<int64_t>();
    if (keep == 0) return;
    m_u = u.narrow(1, 0, keep);
    m_s = s.narrow(0, 0, keep);
    m_vh = vh.narrow(0, 0, keep);
}

void EsTensorTuner::draw() {
    if (!tunable()) throw Error("fine-tuning a tensor that cannot be tuned (" + m_why + ")");
    m_delta.normal_(0, 1, m_gen);
    m_delta.mul_(m_sigma);
}

at::Tensor EsTensorTuner::svd_noise(int i) const {
    const at::Tensor max_s = m_s.abs().max();
    at::Tensor scaled;
    if (max_s.item<double>() > kEpsilon) {
        at::Tensor scaling = at::sqrt(max_s / (m_s.abs() + kEpsilon));
        scaling.div_(scaling.mean());
        scaled = m_delta[i] * scaling;
    } else {
        scaled = m_delta[i];
    }
    at::Tensor additive = at::matmul(at::matmul(m_u, at::diag(scaled)), m_vh).reshape(m_shape).flatten();
    additive.clamp_(-kNoiseClamp, kNoiseClamp);
    return at::exp(additive);
}

at::Tensor EsTensorTuner::offspring(int i) const {
    if (i < 0 || i >= m_population)
        throw Error("offspring " + std::to_string(i) + " of " + std::to_string(m_population));
    if (m_kind == EsKind::svd) return (m_best_flat * svd_noise(i)).reshape(m_shape).to(m_dtype);
    const at::Tensor mags = at::exp(at::log(m_magnitudes + kEpsilon) + m_delta[i]);
    return (m_directions * mags.unsqueeze(1)).to(m_dtype);
}

void EsTensorTuner::accept(int winner, bool more) {
    if (winner < 0) return;
    if (winner >= m_population)
        throw Error("offspring " + std::to_string(winner) + " of " + std::to_string(m_population));
    if (m_kind == EsKind::svd) {
        m_best_flat.mul_(svd_noise(winner));
        if (more) {
            decompose();
            if (!m_s.defined() || m_s.numel() == 0)
                throw Error("fine-tuning: the SVD of the tuned tensor keeps no singular value");
            m_sigma = m_initial_sigma * 0.8 * py_max_eps(m_s.std().item<double>());
            // The original's perturbation buffer keeps its first size, but its
            // noise takes the singular values the new SVD keeps.
            if (m_s.numel() != m_dim)
                throw Error("fine-tuning: the tuned tensor's rank changed (" + std::to_string(m_dim) +
                            " -> " + std::to_string(m_s.numel()) + ")");
        }
    } else {
        m_magnitudes = at::exp(at::log(m_magnitudes + kEpsilon) + m_delta[winner]);
        m_sigma *= 0.9;
    }
}

at::Tensor EsTensorTuner::best() const {
    if (m_kind == EsKind::svd) return m_best_flat.reshape(m_shape).to(m_dtype);
    return (m_directions * m_magnitudes.unsqueeze(1)).to(m_dtype);
}

at::Tensor es_replay(EsKind kind, const at::Tensor& start, double initial_sigma, uint64_t seed,
                     const std::vector<int>& winners) {
    EsTensorTuner t(kind, start, initial_sigma, seed);
    if (!t.tunable()) return start;
    for (size_t g = 0; g < winners.size(); ++g) {
        t.draw();
        t.accept(winners[g], g + 1 < winners.size());
    }
    return t.best();
}

at::Tensor es_replay(const std::vector<EsRun>& runs, at::Tensor start) {
    for (const EsRun& run : runs)
        if (run.population > 0)
            start = es_replay(run.kind, start, run.initial_sigma, run.seed, run.winners());
    return start;
}

int es_planned_population(EsKind kind, at::IntArrayRef sizes) {
    if (sizes.size() != 2 || sizes[0] < 2 || sizes[1] < 2) return 0;
    return es_population(kind == EsKind::svd ? std::min(sizes[0], sizes[1]) : sizes[0]);
}

}  // namespace olm
