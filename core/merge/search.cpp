#include "core/merge/search.h"

#include "core/util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

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

namespace {

std::string weight_text(double w) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", w);
    return buf;
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

long long planned_evaluations(const SearchOptions& o) {
    const long long pool = static_cast<long long>(o.pool.size());
    const bool prune = o.max_models > 0 && o.max_models < pool;
    const long long m = prune ? o.max_models : pool;
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
    if (o.layer_swap) positions += o.num_layers;
    if (o.tensor_swap)
        positions += static_cast<long long>(o.num_layers) * static_cast<long long>(o.tensor_units.size());
    n += positions * per_pos_first;
    n += positions * per_pos * std::max(0, o.sweeps - 1);
    return n * static_cast<long long>(o.datasets.size());
}

namespace {

using Clock = std::chrono::steady_clock;

class Search {
public:
    Search(const SearchOptions& o, CandidateScorer& scorer, CandidateStore& store, const SearchHooks& hooks)
        : o_(o), scorer_(scorer), store_(store), hooks_(hooks), start_(Clock::now()) {
        total_ = planned_evaluations(o);
    }

    SearchResult run();

private:
    struct Decided {
        int index = -1;
        bool changed = false;
    };

    // forced: the candidate that wins whatever the scores (the configured base
    // when every pool model is scored whole only to rank them for max_models).
    Decided decide(const PositionId& pos, const std::vector<Candidate>& cands, const Recipe& current,
                   bool gate, const std::string& forced = {});
    Decided decide_fixed(const PositionId& pos, const std::vector<Candidate>& cands, const Recipe& current,
                         const PositionDecision& fixed);
    CandidateResult evaluate(const PositionId& pos, const CandidateEvent& ev, const Recipe& current,
                             bool gate, bool& begun);
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
    void checkpoint() {
        if (hooks_.checkpoint) hooks_.checkpoint();
    }

    const SearchOptions& o_;
    CandidateScorer& scorer_;
    CandidateStore& store_;
    const SearchHooks& hooks_;
    Clock::time_point start_;
    long long total_ = 0, done_ = 0, evaluated_ = 0;
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
    if (d.position.kind != PositionId::Kind::layer || d.position.layer < prev_layer_) return;
    prev_layer_ = d.position.layer;
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

CandidateResult Search::evaluate(const PositionId& pos, const CandidateEvent& ev, const Recipe& current,
                                 bool gate, bool& begun) {
    const size_t nd = o_.datasets.size();
    CandidateResult r;
    // The current choice is the working model as it stands: its scores are known.
    if (!current.empty() && !current_.empty() && same_recipe(ev.recipe, current)) {
        r.status = CandidateStatus::reused_identical;
        for (size_t d = 0; d < nd; ++d) {
            r.scores[o_.datasets[d]] = current_[d].score;
            if (current_[d].accuracy) r.accuracy[o_.datasets[d]] = *current_[d].accuracy;
        }
        if (gate) apply_gate(r);
        return r;
    }
    try {
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
        }
        if (gate && r.status == CandidateStatus::evaluated) apply_gate(r);
    } catch (const Cancelled&) {
        throw;
    } catch (const AbortRun&) {
        throw;
    } catch (const std::exception& e) {
        r.status = CandidateStatus::failed;
        r.reason = e.what();
        r.scores.clear();
        r.accuracy.clear();
    }
    return r;
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
    return {index, dec.changed};
}

Search::Decided Search::decide(const PositionId& pos, const std::vector<Candidate>& cands,
                               const Recipe& current, bool gate, const std::string& forced) {
    last_results_.clear();
    if (auto fixed = store_.fixed_decision(pos)) return decide_fixed(pos, cands, current, *fixed);
    const size_t nd = o_.datasets.size();
    const long long done_before = done_;
    std::vector<CandidateResult> results;
    bool begun = false;
    for (size_t j = 0; j < cands.size(); ++j) {
        CandidateEvent ev{pos, cands[j].name, cands[j].recipe, static_cast<int>(j),
                          static_cast<int>(cands.size())};
        if (hooks_.events) hooks_.events->candidate_started(ev);
        std::optional<CandidateResult> r = store_.find(pos, ev.name, ev.recipe);
        if (!r) {
            const auto t0 = Clock::now();
            r = evaluate(pos, ev, current, gate, begun);
            store_.record(pos, ev, *r, std::chrono::duration<double>(Clock::now() - t0).count());
        }
        done_ = done_before + static_cast<long long>((j + 1) * nd);
        if (hooks_.events) hooks_.events->candidate_finished(ev, *r);
        progress(pos.key() + ": " + ev.name + " done");
        results.push_back(std::move(*r));
    }

    std::vector<std::vector<double>> table;
    std::vector<bool> eligible;
    score_table(results, cands.size(), table, eligible);
    const bool slot = pos.kind == PositionId::Kind::layer || pos.kind == PositionId::Kind::tensor;
    int best = select_best(table, eligible, o_.selection, slot);
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
        }
        current_ = std::move(now);
    }
    dec.changed = !current.empty() && !same_recipe(dec.recipe, current);
    out.changed = dec.changed;
    scorer_.set_slot(pos, dec.recipe);
    store_.record_decision(dec, order);
    note_decision(dec);
    if (hooks_.events) hooks_.events->position_decided(dec);
    last_results_ = std::move(results);
    return out;
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
                const Recipe cur = state_.layers[static_cast<size_t>(L)];
                auto cands = position_candidates(pool_, state_.base, cur, o_.interpolate, o_.task_arithmetic);
                const Decided d = decide(pos, cands, cur, true);
                if (d.index >= 0) {
                    state_.layers[static_cast<size_t>(L)] = cands[static_cast<size_t>(d.index)].recipe;
                    // A new layer replaces the layer's unit overrides.
                    if (d.changed)
                        for (const auto& u : o_.tensor_units) state_.units.erase(std::to_string(L) + "." + u);
                }
                changed = changed || d.changed;
                store_.record_state(state_);
            }
        }
        if (o_.tensor_swap) {
            stage(MergeStage::tensors, "tensor-wise, pass " + std::to_string(pass));
            for (int L : order) {
                for (const auto& u : o_.tensor_units) {
                    PositionId pos;
                    pos.kind = PositionId::Kind::tensor;
                    pos.layer = L;
                    pos.unit = u;
                    pos.pass = pass;
                    const Recipe cur = state_.unit_recipe(L, u);
                    auto cands =
                        position_candidates(pool_, state_.base, cur, o_.interpolate, o_.task_arithmetic);
                    const Decided d = decide(pos, cands, cur, true);
                    if (d.index >= 0) {
                        const Recipe& r = cands[static_cast<size_t>(d.index)].recipe;
                        if (same_recipe(r, state_.layers[static_cast<size_t>(L)]))
                            state_.units.erase(pos.key());
                        else
                            state_.units[pos.key()] = r;
                    }
                    changed = changed || d.changed;
                    store_.record_state(state_);
                }
            }
        }
        if (!changed) break;
    }

    SearchResult res;
    res.state = state_;
    for (size_t d = 0; d < nd; ++d) res.final_scores[o_.datasets[d]] = current_[d];
    res.evaluations = evaluated_;
    res.passes = passes;
    return res;
}

}  // namespace

SearchResult run_search(const SearchOptions& options, CandidateScorer& scorer, CandidateStore& store,
                        const SearchHooks& hooks) {
    Search s(options, scorer, store, hooks);
    return s.run();
}

}  // namespace olm
