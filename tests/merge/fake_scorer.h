#pragma once
// A CandidateScorer over a plain function of the working model's recipes:
// the search algorithm is tested against hand-made score tables and planted
// solutions without a transformer.
#include <functional>
#include <vector>

#include "core/merge/search.h"
#include "core/util/error.h"

namespace olm::testing {

class FakeScorer : public CandidateScorer {
public:
    // scores(state, dataset) -> score (lower is better)
    using Fn = std::function<double(const MergeState& state, int dataset)>;
    FakeScorer(int num_layers, Fn fn) : m_fn(std::move(fn)) {
        m_state.layers.resize(static_cast<size_t>(num_layers));
    }

    void set_slot(const PositionId& pos, const Recipe& r) override {
        switch (pos.kind) {
            case PositionId::Kind::base:
            case PositionId::Kind::reference:
                m_state.boundary = r;
                for (auto& l : m_state.layers) l = r;
                m_state.units.clear();
                break;
            case PositionId::Kind::boundary:
                m_state.boundary = r;
                break;
            case PositionId::Kind::layer: {
                m_state.layers.at(static_cast<size_t>(pos.layer)) = r;
                const std::string prefix = std::to_string(pos.layer) + ".";
                for (auto it = m_state.units.begin(); it != m_state.units.end();)
                    it = it->first.rfind(prefix, 0) == 0 ? m_state.units.erase(it) : std::next(it);
                break;
            }
            case PositionId::Kind::tensor:
                m_state.units[pos.key()] = r;
                break;
        }
    }
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

}  // namespace olm::testing
