#pragma once
// The original OLM's evolutionary fine-tuning of one tensor after its
// tensor-wise decision (olm.py's fine_tune_tensor_svd_es and
// fine_tune_tensor_norm_es): a (1+λ) evolution strategy whose offspring are
// the current best tensor times a multiplicative noise.
//
//   es_svd   A = W / max|W| (float32), A = U S Vh (S > 1e-10 kept, r values);
//            offspring i: W_best * exp(clamp(U diag(δ_i * g) Vh, ±3)), δ_i ~ N(0, σ²)
//            per singular value, g = sqrt(max S / (S + 1e-10)) / mean(...);
//            σ = sigma * std(S) at the start; after a generation with a winner
//            (when another follows) the SVD of the new best and σ = 0.8 * sigma * std(S).
//   es_norm  W = D * m (m: the rows' L2 norms, D = W / (m + 1e-10));
//            offspring i: D * exp(log(m_best + 1e-10) + δ_i), δ_i ~ N(0, σ²) per row;
//            σ = sigma, times 0.9 after every generation with a winner.
//   λ = max(4, floor(4 + 3 ln r)) (r: singular values kept, or rows).
//
// The perturbations of a generation are one [λ, r] float32 draw from a CPU
// generator seeded once per tensor, as torch.manual_seed(seed) followed by the
// original's delta.normal_(0, 1) draws (the same numbers in libtorch 1.13 and
// 2.x), so a tuning is rebuilt exactly from its seed and its winners (the
// report records both; the export replays them). The tensor the model holds
// is the float32 best cast to the start tensor's dtype, as the original's
// copy_ into the parameter.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/merge/search.h"  // EsKind, es_population, es_tensor_seed

namespace olm {

class EsTensorTuner {
public:
    // start: the tensor the decision left in the slot (any float dtype, any
    // device; computed on the CPU in float32). A tensor that is not 2-D with
    // both sizes above 1, or whose SVD keeps no singular value, cannot be
    // tuned: tunable() is false and why() says why.
    EsTensorTuner(EsKind kind, const at::Tensor& start, double initial_sigma, uint64_t seed);

    bool tunable() const { return m_population > 0; }
    const std::string& why() const { return m_why; }
    int population() const { return m_population; }  // λ
    int64_t dimension() const { return m_dim; }      // r
    double sigma() const { return m_sigma; }         // σ of the next / current generation

    // Draws the next generation's perturbations (advances the generator).
    void draw();
    // Offspring i of the drawn generation, shape and dtype of the start tensor.
    at::Tensor offspring(int i) const;
    // Ends the generation: winner i becomes the best (-1: none improved, the best
    // stays). more: another generation follows (es_svd then recomputes its SVD).
    void accept(int winner, bool more);
    // The best so far, shape and dtype of the start tensor.
    at::Tensor best() const;

private:
    at::Tensor svd_noise(int i) const;  // es_svd: the multiplicative noise of offspring i, flat
    void decompose();                   // es_svd: U, S, Vh of the best

    EsKind m_kind;
    at::ScalarType m_dtype;
    std::vector<int64_t> m_shape;
    double m_initial_sigma;
    double m_sigma = 0;
    int m_population = 0;
    int64_t m_dim = 0;
    std::string m_why;
    at::Generator m_gen;
    at::Tensor m_delta;  // [λ, r] float32, this generation's perturbations
    // es_svd
    at::Tensor m_best_flat;  // float32, flat
    at::Tensor m_u, m_s, m_vh;
    // es_norm
    at::Tensor m_directions;  // float32 [rows, cols]
    at::Tensor m_magnitudes;  // float32 [rows]
};

// A finished tuning rebuilt from its seed and winners (one entry per
// generation, -1 where none won): the tensor it left.
at::Tensor es_replay(EsKind kind, const at::Tensor& start, double initial_sigma, uint64_t seed,
                     const std::vector<int>& winners);
// Every tuning of one tensor, in the order they ran (skipped ones leave it).
at::Tensor es_replay(const std::vector<EsRun>& runs, at::Tensor start);

// λ a tensor of these sizes would be tuned with (0: not tunable), for plans:
// es_svd counts min(rows, cols) singular values, the most its SVD can keep.
int es_planned_population(EsKind kind, at::IntArrayRef sizes);

}  // namespace olm
