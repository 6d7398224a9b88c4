#include "core/merge/search.h"

#include "core/merge/report.h"
#include "core/util/error.h"
#include "core/util/hash.h"
#include "core/util/json_text.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <tuple>

namespace olm {

Recipe MergeState::unit_recipe(int layer, const std::string& unit) const {
    auto it = units.find(std::to_string(layer) + "." + unit);
    if (it != units.end()) return it->second;
    return layers.at(static_cast<size_t>(layer));
}

Recipe MergeState::boundary_recipe(const std::string& part) const {
    auto it = boundary_parts.find(part);
    return it != boundary_parts.end() ? it->second : boundary;
}

std::vector<std::vector<int>> dataset_ranks(const std::vector<std::vector<double>>& scores,
                                            const std::vector<bool>& eligible) {
    const size_t n = scores.size();
    const size_t nd = n ? scores[0].size() : 0;
    std::vector<std::vector<int>> ranks(n, std::vector<int>(nd, 0));
    for (size_t d = 0; d < nd; ++d) {
        std::vector<size_t> order;
        for (size_t c = 0; c < n; ++c)
            if (eligible[c]) order.push_back(c);
        // Stable: equal scores keep candidate (pool) order, as the original's sort does.
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return scores[a][d] < scores[b][d]; });
        for (size_t r = 0; r < order.size(); ++r) ranks[order[r]][d] = static_cast<int>(r) + 1;
    }
    return ranks;
}

SelectionRule parse_selection_rule(const std::string& name) {
    if (name == "ranks") return SelectionRule::ranks;
    if (name == "rank_sum") return SelectionRule::rank_sum;
    if (name == "copeland") return SelectionRule::copeland;
    if (name == "geomean") return SelectionRule::geomean;
    throw Error("unknown selection rule \"" + name + "\" (expected ranks, rank_sum, copeland or geomean)");
}

const char* selection_rule_name(SelectionRule rule) {
    switch (rule) {
        case SelectionRule::ranks:
            return "ranks";
        case SelectionRule::rank_sum:
            return "rank_sum";
        case SelectionRule::copeland:
            return "copeland";
        case SelectionRule::geomean:
            return "geomean";
    }
    return "?";
}

namespace {

// Copeland on ranks: a point per other eligible candidate ranked better on more
// datasets than worse (a draw scores nothing).
std::vector<long> copeland_points(const std::vector<std::vector<int>>& ranks,
                                  const std::vector<bool>& eligible) {
    const size_t n = ranks.size();
    std::vector<long> points(n, 0);
    for (size_t a = 0; a < n; ++a) {
        if (!eligible[a]) continue;
        for (size_t b = 0; b < n; ++b) {
            if (a == b || !eligible[b]) continue;
            int a_wins = 0, b_wins = 0;
            for (size_t d = 0; d < ranks[a].size(); ++d) {
                a_wins += ranks[a][d] < ranks[b][d] ? 1 : 0;
                b_wins += ranks[b][d] < ranks[a][d] ? 1 : 0;
            }
            points[a] += a_wins > b_wins ? 1 : 0;
        }
    }
    return points;
}

}  // namespace

std::vector<int> pool_order(const std::vector<std::vector<double>>& scores,
                            const std::vector<bool>& eligible) {
    const auto ranks = dataset_ranks(scores, eligible);
    const auto points = copeland_points(ranks, eligible);
    std::vector<long> rank_sum(scores.size(), 0);
    std::vector<int> order;
    for (size_t a = 0; a < scores.size(); ++a) {
        if (!eligible[a]) continue;
        order.push_back(static_cast<int>(a));
        rank_sum[a] = std::accumulate(ranks[a].begin(), ranks[a].end(), 0L);
    }
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        if (points[a] != points[b]) return points[a] > points[b];
        return rank_sum[a] < rank_sum[b];
    });
    return order;
}

int select_best(const std::vector<std::vector<double>>& scores, const std::vector<bool>& eligible,
                SelectionRule rule, bool slot) {
    const size_t n = scores.size();
    if (rule == SelectionRule::ranks && slot) {
        const auto points = copeland_points(dataset_ranks(scores, eligible), eligible);
        int best = -1;
        for (size_t a = 0; a < n; ++a)
            if (eligible[a] && (best < 0 || points[a] > points[static_cast<size_t>(best)]))
                best = static_cast<int>(a);
        return best;
    }
    if (rule == SelectionRule::geomean) {
        int best = -1;
        double best_value = 0;
        for (size_t c = 0; c < n; ++c) {
            if (!eligible[c]) continue;
            double sum = 0;
            for (double s : scores[c]) sum += std::log(std::max(s, 1e-9));
            const double value = scores[c].empty() ? 0.0 : sum / static_cast<double>(scores[c].size());
            if (best < 0 || value < best_value) best = static_cast<int>(c), best_value = value;
        }
        return best;
    }
    const bool copeland = rule == SelectionRule::copeland;
    const auto ranks = dataset_ranks(scores, eligible);
    std::vector<long> rank_sum(n, 0);
    for (size_t c = 0; c < n; ++c) rank_sum[c] = std::accumulate(ranks[c].begin(), ranks[c].end(), 0L);
    std::vector<double> wins(n, 0.0);
    if (copeland) {
        for (size_t a = 0; a < n; ++a) {
            if (!eligible[a]) continue;
            for (size_t b = 0; b < n; ++b) {
                if (a == b || !eligible[b]) continue;
                int better = 0, worse = 0;
                for (size_t d = 0; d < scores[a].size(); ++d) {
                    if (scores[a][d] < scores[b][d])
                        ++better;
                    else if (scores[a][d] > scores[b][d])
                        ++worse;
                }
                if (better > worse)
                    wins[a] += 1.0;
                else if (better == worse)
                    wins[a] += 0.5;
            }
        }
    }
    int best = -1;
    for (size_t c = 0; c < n; ++c) {
        if (!eligible[c]) continue;
        if (best < 0) {
            best = static_cast<int>(c);
            continue;
        }
        const auto b = static_cast<size_t>(best);
        const bool better = copeland
                                ? (wins[c] > wins[b] || (wins[c] == wins[b] && rank_sum[c] < rank_sum[b]))
                                : rank_sum[c] < rank_sum[b];
        if (better) best = static_cast<int>(c);
    }
    return best;
}

std::vector<long long> racing_chunks(long long n) {
    std::vector<long long> out;
    if (n <= 0) return out;
    long long b = std::min(n, std::max<long long>(8, (n + 15) / 16));
    while (true) {
        out.push_back(b);
        if (b >= n) break;
        b = std::min(n, 2 * b);
    }
    return out;
}

double student_t_quantile(double confidence, long long dof) {
    if (confidence >= 1) return std::numeric_limits<double>::infinity();
    // The normal quantile by bisection on the normal CDF.
    double lo = -10, hi = 10;
    for (int i = 0; i < 200; ++i) {
        const double mid = 0.5 * (lo + hi);
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < confidence ? lo : hi) = mid;
    }
    const double z = 0.5 * (lo + hi);
    if (dof <= 0) return std::numeric_limits<double>::infinity();
    const double v = static_cast<double>(dof);
    const double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2;
    const double g1 = (z3 + z) / 4.0;
    const double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96.0;
    const double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384.0;
    return z + g1 / v + g2 / (v * v) + g3 / (v * v * v);
}

namespace {

// The paired mean difference of a and b over their common prefix and the half
// width of its one-sided bound (infinite below 2 common samples).
struct PairedBound {
    size_t n = 0;
    double mean = 0;  // mean of a_i - b_i
    double half = std::numeric_limits<double>::infinity();
    double mean_b = 0;  // mean of b_i
    double se = 0;      // standard error of `mean` (0 below 2 samples)
};

PairedBound paired_bound(const std::vector<double>& a, const std::vector<double>& b, double confidence) {
    PairedBound p;
    p.n = std::min(a.size(), b.size());
    if (p.n == 0) return p;
    for (size_t i = 0; i < p.n; ++i) {
        p.mean += a[i] - b[i];
        p.mean_b += b[i];
    }
    p.mean /= static_cast<double>(p.n);
    p.mean_b /= static_cast<double>(p.n);
    if (p.n < 2) return p;
    double ss = 0;
    for (size_t i = 0; i < p.n; ++i) {
        const double e = a[i] - b[i] - p.mean;
        ss += e * e;
    }
    const double se = std::sqrt(ss / static_cast<double>(p.n - 1) / static_cast<double>(p.n));
    p.se = se;
    const double t = student_t_quantile(confidence, static_cast<long long>(p.n) - 1);
    // 0 x infinity (no spread, confidence 1) decides nothing.
    p.half = se == 0 && std::isinf(t) ? t : t * se;
    return p;
}

}  // namespace

int paired_relation(const std::vector<double>& a, const std::vector<double>& b, double confidence) {
    const PairedBound p = paired_bound(a, b, confidence);
    if (p.mean + p.half < 0) return 1;
    if (p.mean - p.half > 0) return -1;
    return 0;
}

std::vector<bool> racing_cannot_win(const std::vector<std::vector<std::vector<double>>>& values,
                                    const std::vector<bool>& alive, SelectionRule rule, bool slot,
                                    double confidence) {
    const size_t n = values.size();
    std::vector<bool> out(n, false);
    std::vector<bool> in(n, false);
    size_t nd = 0;
    for (size_t c = 0; c < n; ++c) {
        bool ok = !values[c].empty();
        for (const auto& v : values[c]) ok = ok && !v.empty();
        in[c] = ok;
        if (ok) nd = values[c].size();
    }
    // rel[a][b][d]: +1 a better than b on d, -1 worse, 0 undecided.
    std::vector<std::vector<std::vector<int>>> rel(n,
                                                   std::vector<std::vector<int>>(n, std::vector<int>(nd, 0)));
    for (size_t a = 0; a < n; ++a)
        for (size_t b = a + 1; b < n; ++b) {
            if (!in[a] || !in[b]) continue;
            for (size_t d = 0; d < nd; ++d) {
                const int r = paired_relation(values[a][d], values[b][d], confidence);
                rel[a][b][d] = r;
                rel[b][a][d] = -r;
            }
        }
    // Sure and undecided dataset counts of a pair.
    auto tally = [&](size_t a, size_t b, int& sure_a, int& sure_b, int& open) {
        sure_a = sure_b = open = 0;
        for (size_t d = 0; d < nd; ++d) (rel[a][b][d] > 0 ? sure_a : rel[a][b][d] < 0 ? sure_b : open) += 1;
    };
    const bool rank_sum = rule == SelectionRule::rank_sum || (rule == SelectionRule::ranks && !slot);
    std::vector<double> worst(n, 0), best(n, 0);  // per rule: the candidate's worst and best standing
    for (size_t c = 0; c < n; ++c) {
        if (!in[c]) continue;
        if (rank_sum) {
            // best = smallest possible rank sum, worst = largest.
            for (size_t d = 0; d < nd; ++d) {
                int surely_above = 0, maybe_above = 0;
                for (size_t y = 0; y < n; ++y) {
                    if (y == c || !in[y]) continue;
                    surely_above += rel[y][c][d] > 0;
                    maybe_above += rel[c][y][d] <= 0;
                }
                best[c] += 1 + surely_above;
                worst[c] += 1 + maybe_above;
            }
        } else if (rule != SelectionRule::geomean) {
            const bool halves = rule == SelectionRule::copeland;
            // best = most possible points, worst = fewest.
            for (size_t b = 0; b < n; ++b) {
                if (b == c || !in[b]) continue;
                int sc, sb, open;
                tally(c, b, sc, sb, open);
                if (sc + open > sb)
                    best[c] += 1;
                else if (halves && sc + open == sb)
                    best[c] += 0.5;
                if (sc > sb + open)
                    worst[c] += 1;
                else if (halves && sc == sb + open)
                    worst[c] += 0.5;
            }
        }
    }
    for (size_t c = 0; c < n; ++c) {
        if (!in[c] || !alive[c]) continue;
        for (size_t x = 0; x < n && !out[c]; ++x) {
            if (x == c || !in[x]) continue;
            if (rank_sum)
                out[c] = best[c] > worst[x];
            else if (rule == SelectionRule::geomean) {
                // The mean log-ratio of c's scores to x's over the datasets, on the
                // common samples, less t times its standard error (delta method:
                // se of log m_c - log m_x is se(m_c - m_x) / m_c, datasets
                // independent), scores clamped at 1e-9 as select_best clamps them.
                double sum = 0, var = 0;
                size_t dof = std::numeric_limits<size_t>::max();
                for (size_t d = 0; d < nd; ++d) {
                    const PairedBound p = paired_bound(values[c][d], values[x][d], 0.5);
                    const double mc = std::max(p.mean_b + p.mean, 1e-9), mx = std::max(p.mean_b, 1e-9);
                    sum += std::log(mc) - std::log(mx);
                    var += p.se * p.se / (mc * mc);
                    dof = std::min(dof, p.n);
                }
                const double t = dof >= 2 ? student_t_quantile(confidence, static_cast<long long>(dof) - 1)
                                          : std::numeric_limits<double>::infinity();
                const double low = var == 0 && std::isinf(t) ? -t : sum - t * std::sqrt(var);
                out[c] = nd > 0 && low > 0;
            } else
                out[c] = worst[x] > best[c];
        }
    }
    return out;
}

namespace {

std::string weight_text(double w) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", w);
    return buf;
}

// Runs `scoring`; an error other than a cancellation or an aborted run marks
// `r` failed with its message and clears what it had scored (a non-finite
// score fails a candidate inside `scoring`, keeping the datasets before it).
template <class F>
void scoring_or_failed(CandidateResult& r, F&& scoring) {
    try {
        scoring();
    } catch (const Cancelled&) {
        throw;
    } catch (const AbortRun&) {
        throw;
    } catch (const std::exception& e) {
        r.status = CandidateStatus::failed;
        r.reason = e.what();
        r.scores.clear();
        r.accuracy.clear();
        r.per_sample.clear();
    }
}

}  // namespace

std::vector<Candidate> position_candidates(const std::vector<std::string>& pool, const std::string& base,
                                           const Recipe& current, const std::vector<double>& interpolate,
                                           bool task_arithmetic) {
    std::vector<Candidate> all;
    // A blended current choice stays a candidate, first, so a slot never gets
    // worse than what it holds and ties keep it.
    if (!current.empty() && single_model_name(current).empty())
        all.push_back({"current", normalized(current)});
    for (const auto& m : pool) all.push_back({m, single_model(m)});
    if (!current.empty()) {
        for (double w : interpolate) {
            for (const auto& m : pool) {
                const std::string name = w == 0.5
                                             ? "0.5*(current+" + m + ")"
                                             : weight_text(w) + "*current+" + weight_text(1 - w) + "*" + m;
                all.push_back({name, combine(current, w, single_model(m), 1 - w)});
            }
        }
        if (task_arithmetic) {
            for (const auto& m : pool) {
                if (m == base) continue;
                Recipe delta = combine(single_model(m), 1.0, single_model(base), -1.0);
                all.push_back({"current+(" + m + "-" + base + ")", combine(current, 1.0, delta, 1.0)});
            }
        }
    }
    std::vector<Candidate> out;
    for (auto& c : all) {
        if (c.recipe.empty()) continue;
        bool dup = false;
        for (const auto& o : out) dup = dup || same_recipe(o.recipe, c.recipe);
        if (!dup) out.push_back(std::move(c));
    }
    return out;
}

std::vector<PositionId> tensor_positions(const SearchOptions& o, int pass) {
    std::vector<PositionId> out;
    auto add = [&](int layer, const std::string& unit) {
        PositionId p;
        p.kind = PositionId::Kind::tensor;
        p.layer = layer;
        p.unit = unit;
        p.pass = pass;
        out.push_back(std::move(p));
    };
    for (const auto& b : o.boundary_units)
        if (b == "embed_tokens") add(-1, b);
    for (int L = 0; L < o.num_layers; ++L)
        for (const auto& u : o.tensor_units) add(L, u);
    for (const auto& b : o.boundary_units)
        if (b != "embed_tokens") add(-1, b);
    if (o.backward) std::reverse(out.begin(), out.end());
    return out;
}

std::pair<int, int> markov_window(int layer, int num_layers, int markov, bool backward) {
    if (backward) return {layer, std::min(num_layers - 1, layer + markov)};
    return {std::max(0, layer - markov), layer};
}

std::vector<Candidate> window_candidates(const std::vector<std::string>& pool, int first, int last) {
    const int w = last - first + 1;
    std::vector<Candidate> out;
    if (pool.empty() || w < 1) return out;
    std::vector<size_t> digit(static_cast<size_t>(w), 0);
    for (long long i = 0;; ++i) {
        std::map<int, Recipe> layers;
        for (int k = 0; k < w; ++k) layers[first + k] = single_model(pool[digit[static_cast<size_t>(k)]]);
        out.push_back(
            {"window_" + std::to_string(first) + "-" + std::to_string(last) + "_combo_" + std::to_string(i),
             window_recipe(layers)});
        int k = w - 1;
        while (k >= 0 && ++digit[static_cast<size_t>(k)] == pool.size()) digit[static_cast<size_t>(k--)] = 0;
        if (k < 0) break;
    }
    return out;
}

long long candidate_pool_size(const SearchOptions& o) {
    const long long pool = static_cast<long long>(o.pool.size());
    return o.max_models > 0 && o.max_models < pool ? o.max_models : pool;
}

long long window_combinations(const SearchOptions& o, int layer) {
    const auto [first, last] = markov_window(layer, o.num_layers, o.markov, o.backward);
    long long combos = 1;
    for (int k = first; k <= last; ++k) combos *= candidate_pool_size(o);
    return combos;
}

long long planned_evaluations(const SearchOptions& o) {
    const long long pool = static_cast<long long>(o.pool.size());
    const bool prune = o.max_models > 0 && o.max_models < pool;
    const long long m = candidate_pool_size(o);
    const long long per_pos =
        1 + m + static_cast<long long>(o.interpolate.size()) * m + (o.task_arithmetic ? m - 1 : 0);
    const long long per_pos_first =
        m + static_cast<long long>(o.interpolate.size()) * m + (o.task_arithmetic ? m - 1 : 0);
    long long n = o.base_select || prune ? pool : 1;
    if (prune && !o.base_select && !o.base_model_name.empty() &&
        std::find(o.pool.begin(), o.pool.end(), o.base_model_name) == o.pool.end())
        ++n;  // a base outside the pool, scored beside them
    if (o.boundary_select) n += per_pos_first;
    long long positions = 0;
    if (o.layer_swap && o.markov > 0) {
        for (int L = 0; L < o.num_layers; ++L) n += window_combinations(o, L);
    } else if (o.layer_swap) {
        positions += o.num_layers;
    }
    if (o.tensor_swap)
        positions += static_cast<long long>(o.num_layers) * static_cast<long long>(o.tensor_units.size()) +
                     static_cast<long long>(o.boundary_units.size());
    n += positions * per_pos_first;
    n += positions * per_pos * std::max(0, o.sweeps - 1);
    // ES: every offspring of every generation at every tensor position.
    if (o.tensor_swap)
        for (size_t u = 0; u < o.tensor_units.size() + o.boundary_units.size(); ++u) {
            long long es = 0;
            if (o.es_svd && u < o.es_svd_population.size())
                es += static_cast<long long>(o.es_svd_generations) * o.es_svd_population[u];
            if (o.es_norm && u < o.es_norm_population.size())
                es += static_cast<long long>(o.es_norm_generations) * o.es_norm_population[u];
            n += es * (u < o.tensor_units.size() ? o.num_layers : 1);
        }
    return n * static_cast<long long>(o.datasets.size());
}

const char* es_kind_name(EsKind kind) { return kind == EsKind::svd ? "es_svd" : "es_norm"; }

EsKind es_kind_from_name(const std::string& name) {
    if (name == "es_svd") return EsKind::svd;
    if (name == "es_norm") return EsKind::norm;
    throw Error("unknown fine-tuning '" + name + "' (expected es_svd or es_norm)");
}

int es_population(long long r) {
    if (r < 1) return 0;
    return std::max(4, static_cast<int>(4.0 + 3.0 * std::log(static_cast<double>(r))));
}

uint64_t es_tensor_seed(uint64_t es_seed, const std::string& key, EsKind kind) {
    uint64_t state = es_seed + fnv1a64(key + "/" + es_kind_name(kind));
    return splitmix64(state) & 0x7fffffffull;
}

bool EsRun::finished() const {
    if (population == 0) return !skipped.empty();
    if (static_cast<int>(history.size()) != generations) return false;
    for (const auto& g : history)
        if (!g.winner) return false;
    return true;
}

std::vector<int> EsRun::winners() const {
    std::vector<int> w;
    for (const auto& g : history)
        if (g.winner) w.push_back(*g.winner);
    return w;
}

int es_select(const std::vector<std::vector<double>>& scores, const std::vector<bool>& valid,
              const std::vector<double>& best) {
    const auto ranks = dataset_ranks(scores, valid);
    std::vector<bool> improved(scores.size(), false);
    for (size_t i = 0; i < scores.size(); ++i) {
        if (!valid[i]) continue;
        for (size_t d = 0; d < best.size() && d < scores[i].size(); ++d)
            if (scores[i][d] < best[d]) improved[i] = true;
    }
    const auto points = copeland_points(ranks, improved);
    int winner = -1;
    for (size_t i = 0; i < scores.size(); ++i)
        if (improved[i] && (winner < 0 || points[i] > points[static_cast<size_t>(winner)]))
            winner = static_cast<int>(i);
    return winner;
}

namespace {

using Clock = std::chrono::steady_clock;

class Search {
public:
    Search(const SearchOptions& o, CandidateScorer& scorer, CandidateStore& store, const SearchHooks& hooks)
        : o_(o), scorer_(scorer), store_(store), hooks_(hooks), start_(Clock::now()) {
        total_ = planned_evaluations(o);
        if (hooks.peers && hooks.peers->size() > 1) {
            rank_ = hooks.peers->rank();
            world_ = hooks.peers->size();
        }
    }

    SearchResult run();

private:
    struct Decided {
        int index = -1;
        bool changed = false;
        std::map<std::string, double> scores;  // the decision's (Infinity where improve_all marked)
    };

    // forced: the candidate that wins whatever the scores (the configured base
    // when every pool model is scored whole only to rank them for max_models).
    Decided decide(const PositionId& pos, const std::vector<Candidate>& cands, const Recipe& current,
                   bool gate, const std::string& forced = {});
    Decided decide_fixed(const PositionId& pos, const std::vector<Candidate>& cands, const Recipe& current,
                         const PositionDecision& fixed);
    CandidateResult evaluate(const PositionId& pos, const CandidateEvent& ev, const Recipe& current,
                             bool gate, bool& begun);
    // The candidates' results at a raced position (see SearchOptions::racing).
    std::vector<CandidateResult> race(const PositionId& pos, const std::vector<Candidate>& cands,
                                      const Recipe& current, bool slot);
    // The working model's per-sample values, when every dataset has all of them.
    bool current_has_samples() const;
    // The candidate is what the slot holds and its scores are known: no scoring.
    bool is_working_model(const Recipe& recipe, const Recipe& current) const {
        return !current.empty() && !current_.empty() && same_recipe(recipe, current);
    }
    bool gated(size_t d) const {
        if (o_.improve_all.empty()) return false;
        if (o_.improve_all == "all" || o_.improve_all == "base") return true;
        return o_.dataset_modes.at(d) == o_.improve_all;
    }
    std::optional<std::string> gate_reason(size_t d, double s) const;
    // The first `count` results as select_best's table: scores[c][d], eligible
    // when scored on every dataset (a gated, disqualified candidate too: it
    // ranks with Infinity where it degraded, as in the original).
    void score_table(const std::vector<CandidateResult>& results, size_t count,
                     std::vector<std::vector<double>>& table, std::vector<bool>& eligible) const;
    // improve_all as the original's code applies it to a scored candidate (all
    // datasets present): a dataset that degrades sets every dataset to Infinity,
    // and the datasets scored after it overwrite theirs, so datasets up to the
    // last degraded one are Infinity. The scores as measured go to `measured`.
    void apply_gate(CandidateResult& r) const;
    void progress(const std::string& detail);
    // ES fine-tuning of the tensor position's weight tensor after its decision
    // (es_svd, then es_norm), starting from the decision's scores (Infinity ->
    // the base's, as the original).
    void fine_tune(const PositionId& pos, const std::map<std::string, double>& decided);
    // The markov window at pos.layer, decided and applied to every layer of it.
    void decide_window(PositionId pos, bool& changed);
    // Layer L holds r from now on; when that is new, the layer's unit overrides go.
    void put_layer(int L, const Recipe& r);
    void fine_tune_one(const PositionId& pos, EsKind kind, std::vector<double>& best);
    // A distributed search: what one rank scored at a position, handed to all.
    struct Shared {
        size_t index = 0;  // candidate index at the position
        CandidateResult result;
        double seconds = 0;
        long long evaluations = 0;  // dataset scorings it took
    };
    // The rank that scores the k-th candidate to be dealt in this deal: round
    // robin, starting one rank further at every deal, so that no rank gets the
    // first (or the last) candidate of every position.
    int owner(size_t k) const {
        return static_cast<int>((k + static_cast<size_t>(deals_)) % static_cast<size_t>(world_));
    }
    // Every rank's `mine` but this rank's own, in rank order.
    std::vector<Shared> exchange(const PositionId& pos, const std::vector<Shared>& mine);
    void checkpoint() {
        if (hooks_.checkpoint) hooks_.checkpoint();
    }

    const SearchOptions& o_;
    CandidateScorer& scorer_;
    CandidateStore& store_;
    const SearchHooks& hooks_;
    Clock::time_point start_;
    long long total_ = 0, done_ = 0, evaluated_ = 0;
    long long samples_scored_ = 0, samples_full_ = 0;
    int rank_ = 0, world_ = 1;           // a distributed search (hooks_.peers)
    long long evaluated_elsewhere_ = 0;  // of evaluated_, by other ranks
    long long deals_ = 0;                // exchanges so far (owner's rotation)
    MergeState state_;
    std::vector<std::string> pool_;              // the candidates' pool models (max_models applied)
    std::vector<CandidateResult> last_results_;  // the last decided position's, candidate order
    std::vector<double> base_scores_;            // baseline, per dataset
    std::vector<ScoreResult> current_;  // the working model's scores, per dataset (empty before baseline)
    // improve_all's "previous" as the original defines it: the recorded scores
    // (Infinity where gated) of the choice at the highest layer index decided so
    // far (in a backward search the first layer decided); none before a layer.
    std::vector<double> prev_;
    int prev_layer_ = -1;
    void note_decision(const PositionDecision& d);
};

void Search::note_decision(const PositionDecision& d) {
    // A window records its scores at every layer of it: the highest is its last.
    const int L = d.position.window() ? d.position.window_last : d.position.layer;
    if (d.position.kind != PositionId::Kind::layer || L < prev_layer_) return;
    prev_layer_ = L;
    prev_.assign(o_.datasets.size(), std::numeric_limits<double>::infinity());
    for (size_t i = 0; i < o_.datasets.size(); ++i)
        if (auto it = d.scores.find(o_.datasets[i]); it != d.scores.end()) prev_[i] = it->second;
}

void Search::score_table(const std::vector<CandidateResult>& results, size_t count,
                         std::vector<std::vector<double>>& table, std::vector<bool>& eligible) const {
    const size_t nd = o_.datasets.size();
    table.assign(count, std::vector<double>(nd, 0.0));
    eligible.assign(count, false);
    for (size_t j = 0; j < count; ++j) {
        const auto& r = results.at(j);
        bool ok = r.status == CandidateStatus::evaluated || r.status == CandidateStatus::reused_identical ||
                  r.status == CandidateStatus::disqualified;
        for (size_t d = 0; d < nd && ok; ++d) {
            auto it = r.scores.find(o_.datasets[d]);
            if (it == r.scores.end())
                ok = false;
            else
                table[j][d] = it->second;
        }
        eligible[j] = ok;
    }
}

void Search::apply_gate(CandidateResult& r) const {
    int last = -1;
    for (size_t d = 0; d < o_.datasets.size(); ++d) {
        auto it = r.scores.find(o_.datasets[d]);
        if (it == r.scores.end()) continue;
        if (auto why = gate_reason(d, it->second)) {
            if (r.reason.empty()) r.reason = *why;
            last = static_cast<int>(d);
        }
    }
    if (last < 0) return;
    r.status = CandidateStatus::disqualified;
    r.measured = r.scores;
    for (int d = 0; d <= last; ++d)
        r.scores[o_.datasets[static_cast<size_t>(d)]] = std::numeric_limits<double>::infinity();
}

std::optional<std::string> Search::gate_reason(size_t d, double s) const {
    if (!gated(d) || current_.empty()) return std::nullopt;
    char buf[256];
    if (s > base_scores_[d]) {
        std::snprintf(buf, sizeof buf, "worse than the base on %s (%.6g > %.6g)", o_.datasets[d].c_str(), s,
                      base_scores_[d]);
        return std::string(buf);
    }
    if (o_.improve_all != "base" && !prev_.empty() && s > prev_[d]) {
        std::snprintf(buf, sizeof buf, "worse than layer %d's choice on %s (%.6g > %.6g)", prev_layer_,
                      o_.datasets[d].c_str(), s, prev_[d]);
        return std::string(buf);
    }
    return std::nullopt;
}

void Search::progress(const std::string& detail) {
    if (!hooks_.events) return;
    MergeProgress p;
    p.done = done_;
    p.total = std::max(total_, done_);
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
    if (evaluated_ >= 2 && p.total > p.done)
        p.eta_s = p.elapsed_s / static_cast<double>(evaluated_) * static_cast<double>(p.total - p.done);
    else if (p.total <= p.done)
        p.eta_s = 0.0;
    p.detail = detail;
    hooks_.events->merge_progress(p);
}

std::vector<Search::Shared> Search::exchange(const PositionId& pos, const std::vector<Shared>& mine) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : mine)
        out.push_back({{"index", m.index},
                       {"result", candidate_result_to_json(m.result)},
                       {"seconds", m.seconds},
                       {"evaluations", m.evaluations}});
    // Non-finite scores (gated candidates) travel as the report writes them.
    const std::vector<std::string> all = hooks_.peers->all_gather(dump_json_text(out, -1));
    ++deals_;
    std::vector<Shared> theirs;
    for (size_t r = 0; r < all.size(); ++r) {
        if (static_cast<int>(r) == rank_) continue;
        try {
            for (const auto& e : parse_json_text(all[r])) {
                Shared x;
                x.index = e.at("index").get<size_t>();
                x.result = candidate_result_from_json(e.at("result"), pos.key());
                x.seconds = e.at("seconds").get<double>();
                x.evaluations = e.at("evaluations").get<long long>();
                theirs.push_back(std::move(x));
            }
        } catch (const nlohmann::json::exception& e) {
            throw Error("distributed search: rank " + std::to_string(r) + " sent a malformed result at " +
                        pos.key() + ": " + e.what());
        }
    }
    return theirs;
}

CandidateResult Search::evaluate(const PositionId& pos, const CandidateEvent& ev, const Recipe& current,
                                 bool gate, bool& begun) {
    const size_t nd = o_.datasets.size();
    CandidateResult r;
    // The current choice is the working model as it stands: its scores are known.
    if (is_working_model(ev.recipe, current)) {
        r.status = CandidateStatus::reused_identical;
        for (size_t d = 0; d < nd; ++d) {
            r.scores[o_.datasets[d]] = current_[d].score;
            if (current_[d].accuracy) r.accuracy[o_.datasets[d]] = *current_[d].accuracy;
            if (o_.racing && current_has_samples()) r.per_sample[o_.datasets[d]] = current_[d].per_sample;
        }
        if (gate) apply_gate(r);
        return r;
    }
    scoring_or_failed(r, [&] {
        if (!begun) {
            scorer_.begin_position(pos);
            begun = true;
        }
        scorer_.set_slot(pos, ev.recipe);
        for (size_t d = 0; d < nd; ++d) {
            checkpoint();
            progress(ev.position.key() + ": " + ev.name + " on " + o_.datasets[d]);
            ScoreResult s = scorer_.score(static_cast<int>(d), ScoreSplit::selection);
            ++evaluated_;
            ++done_;
            if (!std::isfinite(s.score)) {
                r.status = CandidateStatus::failed;
                r.reason = "non-finite score on " + o_.datasets[d];
                break;
            }
            r.scores[o_.datasets[d]] = s.score;
            if (s.accuracy) r.accuracy[o_.datasets[d]] = *s.accuracy;
            if (o_.racing) r.per_sample[o_.datasets[d]] = std::move(s.per_sample);
        }
        if (gate && r.status == CandidateStatus::evaluated) apply_gate(r);
    });
    return r;
}

bool Search::current_has_samples() const {
    if (current_.size() != o_.datasets.size()) return false;
    for (size_t d = 0; d < current_.size(); ++d)
        if (static_cast<long long>(current_[d].per_sample.size()) !=
            scorer_.sample_count(static_cast<int>(d)))
            return false;
    return true;
}

std::vector<CandidateResult> Search::race(const PositionId& pos, const std::vector<Candidate>& cands,
                                          const Recipe& current, bool slot) {
    const size_t nd = o_.datasets.size();
    const size_t n = cands.size();
    std::vector<std::vector<long long>> bounds(nd);
    size_t rounds = 0;
    for (size_t d = 0; d < nd; ++d) {
        bounds[d] = racing_chunks(scorer_.sample_count(static_cast<int>(d)));
        rounds = std::max(rounds, bounds[d].size());
    }
    auto bound = [&](size_t d, size_t k) { return bounds[d][std::min(k, bounds[d].size() - 1)]; };

    std::vector<CandidateResult> results(n);
    std::vector<CandidateEvent> evs;
    // values[j][d]: per-sample values so far; correct[j][d]: correct samples among them.
    std::vector<std::vector<std::vector<double>>> values(n, std::vector<std::vector<double>>(nd));
    std::vector<std::vector<long long>> correct(n, std::vector<long long>(nd, 0));
    std::vector<bool> alive(n, true), has_accuracy(n, false);
    std::vector<double> seconds(n, 0.0);
    for (size_t j = 0; j < n; ++j)
        evs.push_back({pos, cands[j].name, cands[j].recipe, static_cast<int>(j), static_cast<int>(n)});

    auto finish = [&](size_t j) {
        alive[j] = false;
        done_ += static_cast<long long>(nd);
        if (hooks_.events) hooks_.events->candidate_finished(evs[j], results[j]);
        progress(pos.key() + ": " + evs[j].name + " done");
    };
    // The result as it stands: means over the samples scored so far.
    auto summarize = [&](size_t j) {
        CandidateResult& r = results[j];
        r.scores.clear();
        r.accuracy.clear();
        r.per_sample.clear();
        for (size_t d = 0; d < nd; ++d) {
            const auto& v = values[j][d];
            if (v.empty()) continue;
            double sum = 0;
            for (double x : v) sum += x;
            r.scores[o_.datasets[d]] = sum / static_cast<double>(v.size());
            if (has_accuracy[j])
                r.accuracy[o_.datasets[d]] =
                    static_cast<double>(correct[j][d]) / static_cast<double>(v.size());
            r.per_sample[o_.datasets[d]] = v;
        }
    };

    // Scored on every sample of every dataset.
    auto complete = [&](size_t j) {
        bool all = true;
        for (size_t d = 0; d < nd; ++d)
            all = all && static_cast<long long>(values[j][d].size()) >= bounds[d].back();
        return all;
    };

    // What the report holds: a finished candidate is taken as it is; an open
    // one (per-sample values, not stopped) continues from its samples.
    for (size_t j = 0; j < n; ++j) {
        std::optional<CandidateResult> r = store_.find(pos, evs[j].name, evs[j].recipe);
        if (!r) {
            if (is_working_model(cands[j].recipe, current) && current_has_samples()) {
                // The working model as it stands: its values are known.
                CandidateResult c;
                c.status = CandidateStatus::reused_identical;
                for (size_t d = 0; d < nd; ++d) {
                    values[j][d] = current_[d].per_sample;
                    if (current_[d].accuracy) {
                        has_accuracy[j] = true;
                        correct[j][d] = std::llround(*current_[d].accuracy *
                                                     static_cast<double>(current_[d].per_sample.size()));
                    }
                }
                results[j] = c;
                summarize(j);
                if (hooks_.events) hooks_.events->candidate_started(evs[j]);
                store_.record(pos, evs[j], results[j], 0.0);
                finish(j);
            }
            continue;
        }
        results[j] = *r;
        if (hooks_.events) hooks_.events->candidate_started(evs[j]);
        const bool open =
            r->status == CandidateStatus::evaluated && r->stopped.empty() && !r->per_sample.empty();
        for (size_t d = 0; d < nd; ++d) {
            auto it = r->per_sample.find(o_.datasets[d]);
            if (it == r->per_sample.end()) continue;
            values[j][d] = it->second;
            auto a = r->accuracy.find(o_.datasets[d]);
            if (a != r->accuracy.end()) {
                has_accuracy[j] = true;
                correct[j][d] = std::llround(a->second * static_cast<double>(it->second.size()));
            }
        }
        if (!open || complete(j)) finish(j);
    }

    bool begun = false;
    for (size_t k = 0; k < rounds; ++k) {
        // Distributed: the candidates this round scores are dealt round-robin.
        size_t needed = 0;
        std::vector<Shared> mine;
        for (size_t j = 0; j < n; ++j) {
            if (!alive[j]) continue;
            bool need = false;
            for (size_t d = 0; d < nd; ++d)
                need = need || static_cast<long long>(values[j][d].size()) < bound(d, k);
            if (!need) continue;
            if (world_ > 1 && owner(needed++) != rank_) continue;
            const long long evaluated_before = evaluated_;
            if (hooks_.events && results[j].per_sample.empty()) hooks_.events->candidate_started(evs[j]);
            const auto t0 = Clock::now();
            CandidateResult& r = results[j];
            scoring_or_failed(r, [&] {
                if (!begun) {
                    scorer_.begin_position(pos);
                    begun = true;
                }
                scorer_.set_slot(pos, cands[j].recipe);
                for (size_t d = 0; d < nd && r.status == CandidateStatus::evaluated; ++d) {
                    const long long have = static_cast<long long>(values[j][d].size());
                    if (have >= bound(d, k)) continue;
                    checkpoint();
                    progress(pos.key() + ": " + evs[j].name + " on " + o_.datasets[d] + ", samples " +
                             std::to_string(have + 1) + "-" + std::to_string(bound(d, k)));
                    ScoreResult s = scorer_.score_samples(static_cast<int>(d), have, bound(d, k));
                    if (have == 0) ++evaluated_;
                    if (!std::isfinite(s.score) ||
                        static_cast<long long>(s.per_sample.size()) != bound(d, k) - have) {
                        r.status = CandidateStatus::failed;
                        r.reason = "non-finite score on " + o_.datasets[d];
                        break;
                    }
                    values[j][d].insert(values[j][d].end(), s.per_sample.begin(), s.per_sample.end());
                    if (s.accuracy) {
                        has_accuracy[j] = true;
                        correct[j][d] += std::llround(*s.accuracy * static_cast<double>(s.per_sample.size()));
                    }
                }
            });
            seconds[j] += std::chrono::duration<double>(Clock::now() - t0).count();
            if (r.status == CandidateStatus::failed) {
                r.scores.clear();
                r.accuracy.clear();
                r.per_sample.clear();
                for (auto& v : values[j]) v.clear();
            } else {
                summarize(j);
            }
            store_.record(pos, evs[j], r, seconds[j]);
            if (world_ > 1) mine.push_back({j, r, seconds[j], evaluated_ - evaluated_before});
            if (r.status == CandidateStatus::failed || complete(j)) finish(j);
        }
        if (world_ > 1)
            for (Shared& x : exchange(pos, mine)) {
                const size_t j = x.index;
                if (hooks_.events && results[j].per_sample.empty()) hooks_.events->candidate_started(evs[j]);
                results[j] = std::move(x.result);
                seconds[j] = x.seconds;
                evaluated_ += x.evaluations;
                evaluated_elsewhere_ += x.evaluations;
                const CandidateResult& r = results[j];
                for (size_t d = 0; d < nd; ++d) {
                    auto it = r.per_sample.find(o_.datasets[d]);
                    values[j][d] = it == r.per_sample.end() ? std::vector<double>{} : it->second;
                    auto a = r.accuracy.find(o_.datasets[d]);
                    if (a != r.accuracy.end()) {
                        has_accuracy[j] = true;
                        correct[j][d] = std::llround(a->second * static_cast<double>(values[j][d].size()));
                    }
                }
                store_.record(pos, evs[j], r, seconds[j]);
                if (r.status == CandidateStatus::failed || complete(j)) finish(j);
            }
        if (k + 1 == rounds) break;
        // Who cannot win on the samples of this round (prefixes cut at its bounds,
        // so a resumed race decides as the first run did).
        std::vector<std::vector<std::vector<double>>> cut(n, std::vector<std::vector<double>>(nd));
        for (size_t j = 0; j < n; ++j)
            for (size_t d = 0; d < nd; ++d) {
                const auto& v = values[j][d];
                const size_t m = std::min(v.size(), static_cast<size_t>(bound(d, k)));
                cut[j][d].assign(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m));
            }
        const auto out = racing_cannot_win(cut, alive, o_.selection, slot, o_.racing_confidence);
        for (size_t j = 0; j < n; ++j) {
            if (!out[j]) continue;
            CandidateResult& r = results[j];
            std::string counts;
            for (size_t d = 0; d < nd; ++d) {
                r.stopped[o_.datasets[d]] = static_cast<long long>(values[j][d].size());
                counts += (d ? ", " : "") + std::to_string(values[j][d].size()) + " of " +
                          std::to_string(bounds[d].back()) + (d ? " of " : " samples of ") + o_.datasets[d];
            }
            r.reason = std::string("racing stopped it: it cannot win under ") +
                       selection_rule_name(o_.selection) + " (scored on " + counts + ")";
            store_.record(pos, evs[j], r, seconds[j]);
            finish(j);
        }
    }
    for (size_t j = 0; j < n; ++j)
        if (alive[j]) finish(j);
    return results;
}

Search::Decided Search::decide_fixed(const PositionId& pos, const std::vector<Candidate>& cands,
                                     const Recipe& current, const PositionDecision& fixed) {
    const size_t nd = o_.datasets.size();
    int index = -1;
    std::vector<std::string> order;
    for (size_t j = 0; j < cands.size(); ++j) {
        order.push_back(cands[j].name);
        if (cands[j].name == fixed.best_name && same_recipe(cands[j].recipe, fixed.recipe))
            index = static_cast<int>(j);
    }
    if (index < 0) {
        std::string names;
        for (const auto& n : order) names += (names.empty() ? "" : ", ") + n;
        throw Error("the report decided " + pos.key() + " for '" + fixed.best_name +
                    "', which is not a candidate there (candidates: " + names + ")");
    }
    std::vector<ScoreResult> now(nd);
    for (size_t d = 0; d < nd; ++d) {
        auto it = fixed.scores.find(o_.datasets[d]);
        if (it == fixed.scores.end())
            throw Error("the report decided " + pos.key() + " with no score for dataset " + o_.datasets[d]);
        now[d].score = it->second;
    }
    // The recorded candidates, for the views that follow the search.
    std::vector<CandidateResult> results;
    for (size_t j = 0; j < cands.size(); ++j) {
        CandidateEvent ev{pos, cands[j].name, cands[j].recipe, static_cast<int>(j),
                          static_cast<int>(cands.size())};
        auto r = store_.find(pos, ev.name, ev.recipe);
        if (r && hooks_.events) {
            hooks_.events->candidate_started(ev);
            hooks_.events->candidate_finished(ev, *r);
        }
        if (!r) {
            r = CandidateResult{};
            r->status = CandidateStatus::failed;
            r->reason = "not in the report";
        }
        results.push_back(std::move(*r));
    }
    last_results_ = std::move(results);
    done_ += static_cast<long long>(cands.size() * nd);
    current_ = std::move(now);
    PositionDecision dec = fixed;
    dec.position = pos;
    dec.changed = !current.empty() && !same_recipe(dec.recipe, current);
    scorer_.set_slot(pos, dec.recipe);
    store_.record_decision(dec, order);
    note_decision(dec);
    if (hooks_.events) hooks_.events->position_decided(dec);
    progress(pos.key() + ": kept as the report decided it");
    return {index, dec.changed, dec.scores};
}

Search::Decided Search::decide(const PositionId& pos, const std::vector<Candidate>& cands,
                               const Recipe& current, bool gate, const std::string& forced) {
    last_results_.clear();
    if (auto fixed = store_.fixed_decision(pos)) return decide_fixed(pos, cands, current, *fixed);
    const size_t nd = o_.datasets.size();
    const long long done_before = done_;
    const bool slot = pos.kind == PositionId::Kind::layer || pos.kind == PositionId::Kind::tensor;
    bool racing = o_.racing && forced.empty() && cands.size() >= 2 && !(gate && !o_.improve_all.empty());
    for (size_t d = 0; d < nd && racing; ++d) racing = scorer_.sample_count(static_cast<int>(d)) > 0;
    std::vector<CandidateResult> results;
    if (racing) {
        results = race(pos, cands, current, slot);
    } else {
        bool begun = false;
        results.resize(cands.size());
        // Distributed: the candidates missing from the store are dealt round-robin.
        size_t missing = 0, have = 0;
        std::vector<Shared> mine;
        auto event = [&](size_t j) {
            return CandidateEvent{pos, cands[j].name, cands[j].recipe, static_cast<int>(j),
                                  static_cast<int>(cands.size())};
        };
        auto finished = [&](const CandidateEvent& ev, const CandidateResult& r) {
            done_ = done_before + static_cast<long long>(++have * nd);
            if (hooks_.events) hooks_.events->candidate_finished(ev, r);
            progress(pos.key() + ": " + ev.name + " done");
        };
        for (size_t j = 0; j < cands.size(); ++j) {
            const CandidateEvent ev = event(j);
            std::optional<CandidateResult> r = store_.find(pos, ev.name, ev.recipe);
            // The working model itself costs nothing: every rank records it.
            const bool known = is_working_model(ev.recipe, current);
            if (!r && !known && world_ > 1 && owner(missing++) != rank_) continue;  // another rank's
            if (hooks_.events) hooks_.events->candidate_started(ev);
            if (!r) {
                const auto t0 = Clock::now();
                const long long before = evaluated_;
                r = evaluate(pos, ev, current, gate, begun);
                const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
                store_.record(pos, ev, *r, secs);
                if (world_ > 1 && !known) mine.push_back({j, *r, secs, evaluated_ - before});
            }
            finished(ev, *r);
            results[j] = std::move(*r);
        }
        if (world_ > 1)
            for (Shared& x : exchange(pos, mine)) {
                const CandidateEvent ev = event(x.index);
                if (hooks_.events) hooks_.events->candidate_started(ev);
                store_.record(pos, ev, x.result, x.seconds);
                evaluated_ += x.evaluations;
                evaluated_elsewhere_ += x.evaluations;
                finished(ev, x.result);
                results[x.index] = std::move(x.result);
            }
    }
    if (o_.racing)
        for (const auto& r : results) {
            if (r.status == CandidateStatus::failed || r.status == CandidateStatus::reused_identical)
                continue;
            for (size_t d = 0; d < nd; ++d) {
                const long long all = scorer_.sample_count(static_cast<int>(d));
                auto it = r.stopped.find(o_.datasets[d]);
                samples_scored_ += it != r.stopped.end() ? it->second : all;
                samples_full_ += all;
            }
        }

    std::vector<std::vector<double>> table;
    std::vector<bool> eligible;
    score_table(results, cands.size(), table, eligible);
    // model_scanner.py ranks a window's combinations with rank_models: Copeland
    // on ranks, ties -> smaller rank sum (pool_order), under `ranks`.
    auto pick = [&] {
        if (pos.window() && o_.selection == SelectionRule::ranks) {
            const std::vector<int> ranked = pool_order(table, eligible);
            return ranked.empty() ? -1 : ranked.front();
        }
        return select_best(table, eligible, o_.selection, slot);
    };
    int best = pick();
    if (best >= 0 && !results[static_cast<size_t>(best)].stopped.empty()) {
        // A stopped candidate ranks with its partial means, but only a candidate
        // scored on every sample can win.
        for (size_t j = 0; j < results.size(); ++j)
            if (!results[j].stopped.empty()) eligible[j] = false;
        best = pick();
    }
    if (!forced.empty()) {
        best = -1;
        for (size_t j = 0; j < cands.size(); ++j)
            if (cands[j].name == forced) best = eligible[j] ? static_cast<int>(j) : -1;
        if (best < 0) {
            std::string why;
            for (size_t j = 0; j < cands.size(); ++j)
                if (cands[j].name == forced) why = results[j].reason;
            throw Error("the base " + forced + " could not be scored: " + why);
        }
    }

    PositionDecision dec;
    dec.position = pos;
    Decided out;
    std::vector<std::string> order;
    for (const auto& c : cands) order.push_back(c.name);
    if (best < 0) {
        if (current.empty())
            throw Error("every candidate failed at " + pos.key() + ": " + results.front().reason);
        // Nothing eligible (every candidate failed): the slot keeps what it holds.
        dec.best_name = "current";
        dec.recipe = current;
        for (size_t d = 0; d < nd; ++d) dec.scores[o_.datasets[d]] = current_[d].score;
    } else {
        const auto b = static_cast<size_t>(best);
        out.index = best;
        dec.best_name = cands[b].name;
        dec.recipe = cands[b].recipe;
        dec.scores = results[b].scores;
        std::vector<ScoreResult> now(nd);
        const auto& measured = results[b].measured.empty() ? results[b].scores : results[b].measured;
        for (size_t d = 0; d < nd; ++d) {
            now[d].score = measured.at(o_.datasets[d]);
            auto a = results[b].accuracy.find(o_.datasets[d]);
            if (a != results[b].accuracy.end()) now[d].accuracy = a->second;
            auto v = results[b].per_sample.find(o_.datasets[d]);
            if (v != results[b].per_sample.end()) now[d].per_sample = v->second;
        }
        current_ = std::move(now);
    }
    dec.changed = !current.empty() && !same_recipe(dec.recipe, current);
    out.changed = dec.changed;
    out.scores = dec.scores;
    scorer_.set_slot(pos, dec.recipe);
    store_.record_decision(dec, order);
    note_decision(dec);
    if (hooks_.events) hooks_.events->position_decided(dec);
    last_results_ = std::move(results);
    return out;
}

void Search::put_layer(int L, const Recipe& r) {
    Recipe& slot = state_.layers[static_cast<size_t>(L)];
    if (same_recipe(r, slot)) return;
    slot = r;
    // A new layer replaces the layer's unit overrides.
    for (const auto& u : o_.tensor_units) {
        state_.units.erase(std::to_string(L) + "." + u);
        state_.tuned.erase(std::to_string(L) + "." + u);
    }
}

void Search::decide_window(PositionId pos, bool& changed) {
    std::tie(pos.window_first, pos.window_last) =
        markov_window(pos.layer, o_.num_layers, o_.markov, o_.backward);
    std::map<int, Recipe> now;
    for (int L = pos.window_first; L <= pos.window_last; ++L) now[L] = state_.layers[static_cast<size_t>(L)];
    const Recipe cur = window_recipe(now);
    const auto cands = window_candidates(pool_, pos.window_first, pos.window_last);
    const Decided d = decide(pos, cands, cur, true);
    if (d.index >= 0)
        for (const auto& [L, r] : window_layers(cands[static_cast<size_t>(d.index)].recipe)) put_layer(L, r);
    changed = changed || d.changed;
    store_.record_state(state_);
}

void Search::fine_tune(const PositionId& pos, const std::map<std::string, double>& decided) {
    if (!o_.es_svd && !o_.es_norm) return;
    const size_t nd = o_.datasets.size();
    std::vector<double> best(nd);
    for (size_t d = 0; d < nd; ++d) {
        auto it = decided.find(o_.datasets[d]);
        const double s = it != decided.end() ? it->second : current_[d].score;
        best[d] = std::isfinite(s) ? s : base_scores_[d];
    }
    // A new decision replaces what earlier tunings left at the position.
    state_.tuned.erase(pos.key());
    if (o_.es_svd) fine_tune_one(pos, EsKind::svd, best);
    if (o_.es_norm) fine_tune_one(pos, EsKind::norm, best);
}

void Search::fine_tune_one(const PositionId& pos, EsKind kind, std::vector<double>& best) {
    const size_t nd = o_.datasets.size();
    const bool svd = kind == EsKind::svd;
    EsRun run;
    run.kind = kind;
    run.seed = es_tensor_seed(o_.es_seed, pos.key(), kind);
    run.initial_sigma = svd ? o_.es_svd_sigma : o_.es_norm_sigma;
    run.generations = svd ? o_.es_svd_generations : o_.es_norm_generations;
    for (size_t d = 0; d < nd; ++d) run.baseline[o_.datasets[d]] = best[d];
    if (auto rec = store_.find_es(pos, kind))
        if (rec->seed == run.seed && rec->initial_sigma == run.initial_sigma &&
            rec->generations == run.generations)
            run.history = rec->history;
    const std::string what = pos.key() + " " + es_kind_name(kind);
    auto log = [&](const std::string& text) {
        if (hooks_.events) hooks_.events->log(LogLevel::info, text);
    };
    scorer_.begin_position(pos);
    std::string why;
    run.population = scorer_.es_begin(pos, kind, run.initial_sigma, run.seed, why);
    if (run.population == 0) {
        run.skipped = why.empty() ? "not tunable" : why;
        run.history.clear();
        run.result = run.baseline;
        store_.record_es(pos, run);
        log(what + ": skipped (" + run.skipped + ")");
        scorer_.es_end();
        return;
    }
    const auto lambda = static_cast<size_t>(run.population);
    bool won = false;
    for (int g = 0; g < run.generations; ++g) {
        scorer_.es_draw();
        const bool more = g + 1 < run.generations;
        if (static_cast<size_t>(g) >= run.history.size() ||
            run.history[static_cast<size_t>(g)].offspring.size() != lambda) {
            run.history.resize(static_cast<size_t>(g));
            EsGeneration gen;
            gen.sigma = scorer_.es_sigma();
            gen.offspring.resize(lambda);
            run.history.push_back(std::move(gen));
        }
        EsGeneration& gen = run.history[static_cast<size_t>(g)];
        if (!gen.winner) {
            for (size_t i = 0; i < lambda; ++i) {
                EsOffspring& off = gen.offspring[i];
                if (off.scored) continue;
                try {
                    scorer_.es_offspring(static_cast<int>(i));
                    for (size_t d = 0; d < nd; ++d) {
                        checkpoint();
                        progress(what + " generation " + std::to_string(g + 1) + "/" +
                                 std::to_string(run.generations) + ": offspring " + std::to_string(i + 1) +
                                 "/" + std::to_string(lambda) + " on " + o_.datasets[d]);
                        const ScoreResult s = scorer_.score(static_cast<int>(d), ScoreSplit::selection);
                        ++evaluated_;
                        ++done_;
                        if (!std::isfinite(s.score)) {
                            off.failed = "non-finite score on " + o_.datasets[d];
                            off.scores.clear();
                            break;
                        }
                        off.scores[o_.datasets[d]] = s.score;
                    }
                } catch (const Cancelled&) {
                    throw;
                } catch (const AbortRun&) {
                    throw;
                } catch (const std::exception& e) {
                    off.failed = e.what();
                    off.scores.clear();
                }
                off.scored = true;
                store_.record_es(pos, run);
            }
            std::vector<std::vector<double>> table(lambda, std::vector<double>(nd, 0.0));
            std::vector<bool> valid(lambda, false);
            for (size_t i = 0; i < lambda; ++i) {
                const EsOffspring& off = gen.offspring[i];
                valid[i] = off.scored && off.failed.empty() && off.scores.size() == nd;
                for (size_t d = 0; d < nd && valid[i]; ++d) table[i][d] = off.scores.at(o_.datasets[d]);
            }
            int winner = es_select(table, valid, best);
            // Every rank scored every offspring; all follow rank 0's choice.
            if (world_ > 1) winner = std::stoi(hooks_.peers->broadcast(std::to_string(winner)));
            gen.winner = winner;
        } else {
            done_ += static_cast<long long>(lambda * nd);
        }
        const int winner = *gen.winner;
        scorer_.es_accept(winner, more);
        if (winner >= 0) {
            const EsOffspring& off = gen.offspring.at(static_cast<size_t>(winner));
            for (size_t d = 0; d < nd; ++d) best[d] = off.scores.at(o_.datasets[d]);
            won = true;
        }
        store_.record_es(pos, run);
        char buf[160];
        std::snprintf(buf, sizeof buf, " generation %d/%d (sigma %.4g, %zu offspring): ", g + 1,
                      run.generations, gen.sigma, lambda);
        log(what + buf +
            (winner >= 0 ? "offspring " + std::to_string(winner + 1) + " kept" : "none improved"));
    }
    scorer_.es_end();
    for (size_t d = 0; d < nd; ++d) run.result[o_.datasets[d]] = best[d];
    store_.record_es(pos, run);
    state_.tuned[pos.key()].push_back(run);
    if (won)
        for (size_t d = 0; d < nd; ++d) {
            current_[d] = ScoreResult{};
            current_[d].score = best[d];
        }
}

SearchResult Search::run() {
    const size_t nd = o_.datasets.size();
    if (o_.pool.empty()) throw Error("the pool is empty");
    if (nd == 0) throw Error("no datasets configured");
    auto stage = [&](MergeStage s, const std::string& what) {
        if (hooks_.events) hooks_.events->stage_changed(s, what);
    };

    // Base: chosen by name, by aggregate rank over the pool (base_select), or the first model.
    PositionId base_pos;
    base_pos.kind = PositionId::Kind::base;
    std::vector<Candidate> base_cands;
    const bool prune = o_.max_models > 0 && o_.max_models < static_cast<int>(o_.pool.size());
    std::string forced;
    if (o_.base_select) {
        stage(MergeStage::base_select, "scoring every pool model");
        for (const auto& m : o_.pool) base_cands.push_back({m, single_model(m)});
    } else {
        // A base outside the pool starts the working model but is never a candidate.
        const std::string b = o_.base_model_name.empty() ? o_.pool.front() : o_.base_model_name;
        if (prune) {
            // Every pool model scored whole, to keep the best max_models; the base stays the one named.
            stage(MergeStage::baseline, "scoring every pool model (max_models " +
                                            std::to_string(o_.max_models) + ") and the base " + b);
            for (const auto& m : o_.pool) base_cands.push_back({m, single_model(m)});
            if (std::find(o_.pool.begin(), o_.pool.end(), b) == o_.pool.end())
                base_cands.push_back({b, single_model(b)});
            forced = b;
        } else {
            stage(MergeStage::baseline, "scoring the base " + b);
            base_cands.push_back({b, single_model(b)});
        }
    }
    const Decided base = decide(base_pos, base_cands, Recipe{}, false, forced);
    pool_ = o_.pool;
    if (prune) {
        std::vector<std::vector<double>> table;
        std::vector<bool> eligible;
        score_table(last_results_, o_.pool.size(), table, eligible);  // the pool's entries come first
        pool_.clear();
        std::string kept;
        for (int j : pool_order(table, eligible)) {
            if (static_cast<int>(pool_.size()) == o_.max_models) break;
            pool_.push_back(o_.pool[static_cast<size_t>(j)]);
            kept += (kept.empty() ? "" : ", ") + pool_.back();
        }
        if (pool_.empty())
            throw Error(
                "max_models: no pool model has whole-model scores at the base position (a report being "
                "continued may not hold them)");
        store_.record_search_pool(pool_);
        if (hooks_.events)
            hooks_.events->log(LogLevel::info, "max_models " + std::to_string(o_.max_models) +
                                                   ": the search uses " + kept + " (best first, of " +
                                                   std::to_string(o_.pool.size()) +
                                                   " pool models scored whole)");
    }
    state_.base = base_cands[static_cast<size_t>(base.index)].name;
    state_.boundary = single_model(state_.base);
    state_.layers.assign(static_cast<size_t>(o_.num_layers), single_model(state_.base));
    for (size_t d = 0; d < nd; ++d) base_scores_.push_back(current_[d].score);
    store_.record_state(state_);

    if (o_.boundary_select) {
        stage(MergeStage::boundary, "embeddings, final norm and lm_head");
        PositionId pos;
        pos.kind = PositionId::Kind::boundary;
        auto cands =
            position_candidates(pool_, state_.base, state_.boundary, o_.interpolate, o_.task_arithmetic);
        const Decided d = decide(pos, cands, state_.boundary, false);
        if (d.index >= 0) state_.boundary = cands[static_cast<size_t>(d.index)].recipe;
        store_.record_state(state_);
    }

    std::vector<int> order(static_cast<size_t>(o_.num_layers));
    std::iota(order.begin(), order.end(), 0);
    if (o_.backward) std::reverse(order.begin(), order.end());

    int passes = 0;
    for (int pass = 1; pass <= std::max(1, o_.sweeps); ++pass) {
        if (!o_.layer_swap && !o_.tensor_swap) break;
        passes = pass;
        bool changed = false;
        if (o_.layer_swap) {
            stage(MergeStage::layers, "layer-wise, pass " + std::to_string(pass));
            for (int L : order) {
                PositionId pos;
                pos.kind = PositionId::Kind::layer;
                pos.layer = L;
                pos.pass = pass;
                if (o_.markov > 0) {
                    decide_window(pos, changed);
                    continue;
                }
                const Recipe cur = state_.layers[static_cast<size_t>(L)];
                auto cands = position_candidates(pool_, state_.base, cur, o_.interpolate, o_.task_arithmetic);
                const Decided d = decide(pos, cands, cur, true);
                if (d.index >= 0) put_layer(L, cands[static_cast<size_t>(d.index)].recipe);
                changed = changed || d.changed;
                store_.record_state(state_);
            }
        }
        if (o_.tensor_swap) {
            stage(MergeStage::tensors, "tensor-wise, pass " + std::to_string(pass));
            // The original's parameter list: embed_tokens, every layer's units,
            // norm, lm_head; backward reverses it whole (the last layer's last
            // unit after lm_head and norm).
            for (const PositionId& pos : tensor_positions(o_, pass)) {
                const bool part = pos.boundary_part();
                const Recipe cur =
                    part ? state_.boundary_recipe(pos.unit) : state_.unit_recipe(pos.layer, pos.unit);
                auto cands = position_candidates(pool_, state_.base, cur, o_.interpolate, o_.task_arithmetic);
                const Decided d = decide(pos, cands, cur, true);
                if (d.index >= 0) {
                    const Recipe& r = cands[static_cast<size_t>(d.index)].recipe;
                    if (part) {
                        if (same_recipe(r, state_.boundary))
                            state_.boundary_parts.erase(pos.unit);
                        else
                            state_.boundary_parts[pos.unit] = r;
                    } else if (same_recipe(r, state_.layers[static_cast<size_t>(pos.layer)])) {
                        state_.units.erase(pos.key());
                    } else {
                        state_.units[pos.key()] = r;
                    }
                }
                changed = changed || d.changed;
                fine_tune(pos, d.scores);
                store_.record_state(state_);
            }
        }
        if (!changed) break;
    }

    SearchResult res;
    res.state = state_;
    for (size_t d = 0; d < nd; ++d) res.final_scores[o_.datasets[d]] = current_[d];
    res.evaluations = evaluated_;
    res.evaluations_here = evaluated_ - evaluated_elsewhere_;
    res.passes = passes;
    res.samples_scored = samples_scored_;
    res.samples_full = samples_full_;
    return res;
}

}  // namespace

SearchResult run_search(const SearchOptions& options, CandidateScorer& scorer, CandidateStore& store,
                        const SearchHooks& hooks) {
    Search s(options, scorer, store, hooks);
    return s.run();
}

}  // namespace olm
