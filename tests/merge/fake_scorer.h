#pragma once
// A CandidateScorer over a plain function of the working model's recipes:
// the search algorithm is tested against hand-made score tables and planted
// solutions without a transformer.
#include <functional>
#include <vector>

#include "core/merge/recipe.h"
#include "core/merge/search.h"
#include "core/util/error.h"

namespace olm::testing {

// What setting slot `pos` to `r` does to the recipes of a working model.
inline void apply_slot(MergeState& state, const PositionId& pos, const Recipe& r) {
    switch (pos.kind) {
        case PositionId::Kind::base:
        case PositionId::Kind::reference:
            state.boundary = r;
            for (auto& l : state.layers) l = r;
            state.units.clear();
            state.boundary_parts.clear();
            break;
        case PositionId::Kind::boundary:
            state.boundary = r;
            break;
        case PositionId::Kind::layer: {
            std::map<int, Recipe> layers;
            if (pos.window())
                layers = window_layers(r);
            else
                layers[pos.layer] = r;
            for (const auto& [L, lr] : layers) {
                state.layers.at(static_cast<size_t>(L)) = lr;
                const std::string prefix = std::to_string(L) + ".";
                for (auto it = state.units.begin(); it != state.units.end();)
                    it = it->first.rfind(prefix, 0) == 0 ? state.units.erase(it) : std::next(it);
            }
            break;
        }
        case PositionId::Kind::tensor:
            if (pos.boundary_part())
                state.boundary_parts[pos.unit] = r;
            else
                state.units[pos.key()] = r;
            break;
    }
}

// Search options over `pool`, `layers` layers and `datasets` exact datasets d0, d1, ...
inline SearchOptions search_options(std::vector<std::string> pool, int layers, int datasets) {
    SearchOptions o;
    o.pool = std::move(pool);
    o.num_layers = layers;
    for (int d = 0; d < datasets; ++d) {
        o.datasets.push_back("d" + std::to_string(d));
        o.dataset_modes.push_back("exact");
    }
    return o;
}

// The recipe text of every layer of `s`.
inline std::vector<std::string> layer_names(const MergeState& s) {
    std::vector<std::string> out;
    for (const auto& l : s.layers) out.push_back(recipe_text(l));
    return out;
}

class FakeScorer : public CandidateScorer {
public:
    // scores(state, dataset) -> score (lower is better)
    using Fn = std::function<double(const MergeState& state, int dataset)>;
    FakeScorer(int num_layers, Fn fn) : m_fn(std::move(fn)) {
        m_state.layers.resize(static_cast<size_t>(num_layers));
    }

    void set_slot(const PositionId& pos, const Recipe& r) override { apply_slot(m_state, pos, r); }
    void begin_position(const PositionId&) override { ++positions_begun; }
    ScoreResult score(int dataset, ScoreSplit) override {
        ++calls;
        if (fail_after >= 0 && calls > fail_after) throw Cancelled();
        ScoreResult s;
        s.score = m_fn(m_state, dataset);
        return s;
    }

    const MergeState& state() const { return m_state; }
    long long calls = 0;
    long long fail_after = -1;  // throw Cancelled on call fail_after+1 (a simulated interruption)
    int positions_begun = 0;

private:
    Fn m_fn;
    MergeState m_state;
};

// Sum of |coefficient differences| between two recipes.
inline double recipe_distance(const Recipe& a, const Recipe& b) {
    double d = 0;
    Recipe all = a;
    for (const auto& [k, v] : b) all[k];
    for (const auto& [k, v] : all) {
        const double x = a.count(k) ? a.at(k) : 0.0;
        const double y = b.count(k) ? b.at(k) : 0.0;
        d += std::abs(x - y);
    }
    return d;
}

// A search over every kind of position on pool {base, a, b, c} with `n`
// layers and 2 datasets (base and boundary selection, tensor units, an
// interpolation, task arithmetic, two backward sweeps, the boundary's parts
// as tensor units), for resume tests.
inline SearchOptions every_position_kind(int n) {
    SearchOptions o = search_options({"base", "a", "b", "c"}, n, 2);
    o.boundary_select = true;
    o.base_select = true;
    o.tensor_swap = true;
    o.tensor_units = {"q_proj", "mlp"};
    o.boundary_units = {"embed_tokens", "norm"};
    o.interpolate = {0.5};
    o.task_arithmetic = true;
    o.sweeps = 2;
    o.backward = true;
    return o;
}

// Its planted cost on dataset d: `offset`, plus distances from b at the
// boundary (from a for its final norm), from the a+b average in every layer
// and from c in every unit.
inline double every_position_kind_cost(const MergeState& s, int d, double offset) {
    double v = offset + 0.3 * recipe_distance(s.boundary_recipe("embed_tokens"), single_model("b")) +
               0.2 * recipe_distance(s.boundary_recipe("norm"), single_model("a"));
    for (size_t L = 0; L < s.layers.size(); ++L) {
        const Recipe& r = s.layers[L];
        v += (1 + d) * recipe_distance(r, Recipe{{"a", 0.5}, {"b", 0.5}}) +
             0.1 * static_cast<double>(L) * (r.count("c") ? 1 : 0);
    }
    for (const auto& [k, r] : s.units) v += 0.05 * recipe_distance(r, single_model("c"));
    return v;
}

}  // namespace olm::testing
