// Racing (SearchOptions::racing): the chunk schedule, the paired bound against
// a naive float64 recomputation and Student-t tables, when each selection rule
// lets a candidate stop, planted pools where racing must choose what the full
// evaluation chooses with less work, and exact resume after an interruption at
// every evaluation. A search spread over 2 and 3 ranks (SearchPeers, in
// threads here; tests/merge/test_distributed_cli.cpp runs processes) records
// the same report and merge as one process, raced or not, with every
// candidate scored once over all ranks, and resumes with another rank count.
#include <QtTest/QtTest>

#include "core/merge/report.h"
#include "core/merge/search.h"
#include "core/util/error.h"
#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include "merge/fake_scorer.h"

using namespace olm;
using olm::testing::apply_slot;
using olm::testing::every_position_kind;
using olm::testing::every_position_kind_cost;
using olm::testing::layer_names;
using olm::testing::recipe_distance;
using olm::testing::search_options;

namespace {

// A scorer over per-sample values: sample i of dataset d scores
// mean(state, d) * (1 + 0.4 * difficulty_i) + noise * n(state, i), where the
// difficulty is shared by every candidate (what pairing removes) and n is a
// candidate's own deterministic noise in [-1, 1].
class SampleScorer : public CandidateScorer {
public:
    using Fn = std::function<double(const MergeState& state, int dataset)>;
    SampleScorer(int num_layers, long long samples, double noise, Fn fn)
        : m_samples(samples), m_noise(noise), m_fn(std::move(fn)) {
        m_state.layers.resize(static_cast<size_t>(num_layers));
    }
    void set_slot(const PositionId& pos, const Recipe& r) override { apply_slot(m_state, pos, r); }
    ScoreResult score(int dataset, ScoreSplit) override { return score_samples(dataset, 0, m_samples); }
    long long sample_count(int) const override { return m_samples; }
    ScoreResult score_samples(int dataset, long long begin, long long end) override {
        ++calls;
        if (fail_after >= 0 && calls > fail_after) throw Cancelled();
        ScoreResult r;
        const double mean = m_fn(m_state, dataset);
        std::string key = recipe_text(m_state.boundary);
        for (const auto& l : m_state.layers) key += "|" + recipe_text(l);
        for (const auto& [k, u] : m_state.units) key += "|" + k + "=" + recipe_text(u);
        const uint64_t h = std::hash<std::string>{}(key);
        double sum = 0;
        for (long long i = begin; i < end; ++i) {
            const double difficulty = std::sin(1.7 * static_cast<double>(i) + dataset);
            std::mt19937_64 g(h ^ (static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL) ^
                              static_cast<uint64_t>(dataset));
            const double own = std::uniform_real_distribution<double>(-1, 1)(g);
            const double v = mean * (1 + 0.4 * difficulty) + m_noise * own;
            r.per_sample.push_back(v);
            sum += v;
        }
        samples_scored += end - begin;
        r.score = sum / static_cast<double>(end - begin);
        return r;
    }
    long long calls = 0, samples_scored = 0;
    long long fail_after = -1;

private:
    long long m_samples;
    double m_noise;
    Fn m_fn;
    MergeState m_state;
};

using Values = std::vector<std::vector<std::vector<double>>>;  // [candidate][dataset][sample]

// n samples around `mean`, paired through a shared difficulty, plus own noise.
std::vector<double> samples_around(double mean, int n, double noise, int seed) {
    std::vector<double> v;
    std::mt19937_64 g(static_cast<uint64_t>(seed));
    std::uniform_real_distribution<double> u(-1, 1);
    for (int i = 0; i < n; ++i) v.push_back(mean + 0.5 * std::sin(1.3 * i) + noise * u(g));
    return v;
}

// Ranks in threads of one process: all_gather through shared memory.
class ThreadGroup {
public:
    explicit ThreadGroup(int size) : m_size(size) {}
    std::vector<std::string> gather(int rank, long long seq, const std::string& mine) {
        std::unique_lock<std::mutex> lock(m_mutex);
        auto& slot = m_slots[seq];
        slot.resize(static_cast<size_t>(m_size));
        slot[static_cast<size_t>(rank)] = mine;
        m_cv.notify_all();
        m_cv.wait(lock, [&] {
            for (const auto& x : slot)
                if (!x) return false;
            return true;
        });
        std::vector<std::string> out;
        for (const auto& x : slot) out.push_back(*x);
        return out;
    }
    int size() const { return m_size; }

private:
    int m_size;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::map<long long, std::vector<std::optional<std::string>>> m_slots;
};

class ThreadPeers : public SearchPeers {
public:
    ThreadPeers(ThreadGroup& g, int rank) : m_group(g), m_rank(rank) {}
    int rank() const override { return m_rank; }
    int size() const override { return m_group.size(); }
    std::vector<std::string> all_gather(const std::string& mine) override {
        return m_group.gather(m_rank, ++m_seq, mine);
    }

private:
    ThreadGroup& m_group;
    int m_rank;
    long long m_seq = 0;
};

struct Spread {
    nlohmann::json report;            // rank 0's, timings aside
    std::vector<std::string> layers;  // rank 0's merge
    std::vector<long long> calls;     // scorings per rank
    bool ranks_agree = true;          // every rank's report and merge equal rank 0's
};

// The search of `o` over `ranks` threads, each rank starting from `start`.
Spread run_spread(const SearchOptions& o, int ranks, const SampleScorer::Fn& fn,
                  const nlohmann::json& start) {
    ThreadGroup group(ranks);
    std::vector<std::unique_ptr<SampleScorer>> scorers;
    std::vector<std::unique_ptr<MergeReport>> reports;
    std::vector<std::unique_ptr<ThreadPeers>> peers;
    std::vector<SearchResult> results(static_cast<size_t>(ranks));
    std::vector<std::string> errors(static_cast<size_t>(ranks));
    for (int r = 0; r < ranks; ++r) {
        scorers.push_back(std::make_unique<SampleScorer>(o.num_layers, 40, 0.05, fn));
        reports.push_back(std::make_unique<MergeReport>(start));
        peers.push_back(std::make_unique<ThreadPeers>(group, r));
    }
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            try {
                SearchHooks hooks;
                hooks.peers = peers[static_cast<size_t>(r)].get();
                results[static_cast<size_t>(r)] =
                    run_search(o, *scorers[static_cast<size_t>(r)], *reports[static_cast<size_t>(r)], hooks);
            } catch (const std::exception& e) {
                errors[static_cast<size_t>(r)] = e.what();
            }
        });
    for (auto& t : threads) t.join();
    Spread out;
    for (const auto& e : errors)
        if (!e.empty()) throw Error("a rank failed: " + e);
    out.report = without_timings(reports[0]->json());
    out.layers = layer_names(results[0].state);
    for (int r = 0; r < ranks; ++r) {
        out.calls.push_back(scorers[static_cast<size_t>(r)]->calls);
        out.ranks_agree = out.ranks_agree &&
                          without_timings(reports[static_cast<size_t>(r)]->json()) == out.report &&
                          layer_names(results[static_cast<size_t>(r)].state) == out.layers;
    }
    return out;
}

}  // namespace

class TestRacing : public QObject {
    Q_OBJECT
private slots:
    void chunks_data() {
        QTest::addColumn<long long>("n");
        QTest::addColumn<QString>("bounds");
        QTest::newRow("fewer than the first chunk") << 5LL << "5";
        QTest::newRow("eight") << 8LL << "8";
        QTest::newRow("demo size") << 32LL << "8 16 32";
        QTest::newRow("original size") << 200LL << "13 26 52 104 200";
        QTest::newRow("not a power of two") << 50LL << "8 16 32 50";
    }
    void chunks() {
        QFETCH(long long, n);
        QFETCH(QString, bounds);
        QStringList got;
        for (long long b : racing_chunks(n)) got << QString::number(b);
        QCOMPARE(got.join(' '), bounds);
    }

    // Against published Student-t tables (one-sided quantiles).
    void studentT_data() {
        QTest::addColumn<double>("confidence");
        QTest::addColumn<long long>("dof");
        QTest::addColumn<double>("table");
        QTest::newRow("0.975, 10") << 0.975 << 10LL << 2.228;
        QTest::newRow("0.975, 30") << 0.975 << 30LL << 2.042;
        QTest::newRow("0.999, 7") << 0.999 << 7LL << 4.785;
        QTest::newRow("0.999, 15") << 0.999 << 15LL << 3.733;
        QTest::newRow("0.999, 31") << 0.999 << 31LL << 3.375;
        QTest::newRow("0.999, 199") << 0.999 << 199LL << 3.131;
        QTest::newRow("0.999, normal") << 0.999 << 1000000LL << 3.090;
    }
    void studentT() {
        QFETCH(double, confidence);
        QFETCH(long long, dof);
        QFETCH(double, table);
        const double t = student_t_quantile(confidence, dof);
        QVERIFY2(std::abs(t - table) / table < 0.01,
                 qPrintable(QString("t = %1, table %2").arg(t).arg(table)));
    }

    // The relation against a naive float64 recomputation of the paired t bound.
    void pairedRelationAgainstNaive() {
        std::mt19937_64 g(7);
        std::normal_distribution<double> nd(0, 1);
        int decided = 0;
        for (int trial = 0; trial < 200; ++trial) {
            const int n = 8 + trial % 40;
            const double shift = 0.05 * (trial % 21 - 10);
            std::vector<double> a, b;
            for (int i = 0; i < n; ++i) {
                const double common = 3 * nd(g);
                a.push_back(common + shift + 0.5 * nd(g));
                b.push_back(common + 0.5 * nd(g));
            }
            std::vector<double> diff;
            for (int i = 0; i < n; ++i) diff.push_back(a[i] - b[i]);
            long double m = 0;
            for (double x : diff) m += x;
            m /= n;
            long double ss = 0;
            for (double x : diff) ss += (x - m) * (x - m);
            const long double se = std::sqrt(ss / (n - 1) / n);
            const long double t = student_t_quantile(0.99, n - 1);
            const int want = m + t * se < 0 ? 1 : (m - t * se > 0 ? -1 : 0);
            QCOMPARE(paired_relation(a, b, 0.99), want);
            QCOMPARE(paired_relation(b, a, 0.99), -want);
            decided += want != 0;
        }
        QVERIFY(decided > 20);   // the shifts far from 0 are decided
        QVERIFY(decided < 180);  // the ones near 0 are not
        // Unequal lengths: only the common prefix counts.
        QCOMPARE(paired_relation({1, 2, 3}, {1, 2, 3, -100, -100}, 0.99), 0);
        QCOMPARE(paired_relation({0.0}, {5.0}, 0.99), 0);  // one sample decides nothing
    }

    // A candidate a worse than x by 20 % on four datasets and ten times better
    // on one: the rank-based rules stop a; under geomean a's one large gain wins
    // (mean log-ratio to x: (4 log 1.2 + log 0.1) / 5 < 0), so x stops instead.
    void rulesStopWhatCannotWin_data() {
        QTest::addColumn<int>("rule");
        QTest::addColumn<bool>("slot");
        QTest::addColumn<bool>("stopped");
        QTest::newRow("ranks at a slot") << static_cast<int>(SelectionRule::ranks) << true << true;
        QTest::newRow("ranks off slots (rank sum)")
            << static_cast<int>(SelectionRule::ranks) << false << true;
        QTest::newRow("rank_sum") << static_cast<int>(SelectionRule::rank_sum) << true << true;
        QTest::newRow("copeland") << static_cast<int>(SelectionRule::copeland) << true << true;
        QTest::newRow("geomean") << static_cast<int>(SelectionRule::geomean) << true << false;
    }
    // Under geomean the bound is on the mean log-ratio: small losses on many
    // datasets outweigh no gain, a gain that makes up for them keeps it running.
    void geomeanBound() {
        Values v(2, std::vector<std::vector<double>>(3));
        for (int d = 0; d < 3; ++d) v[0][d] = samples_around(10, 32, 0.01, d);
        // 5 % worse on two datasets, 2 % better on the third: stopped.
        v[1][0] = samples_around(10.5, 32, 0.01, 10);
        v[1][1] = samples_around(10.5, 32, 0.01, 11);
        v[1][2] = samples_around(9.8, 32, 0.01, 12);
        QVERIFY(racing_cannot_win(v, {true, true}, SelectionRule::geomean, true, 0.999)[1]);
        // 5 % worse on two, 20 % better on the third (log 0.8 + 2 log 1.05 < 0): it may win.
        v[1][2] = samples_around(8.0, 32, 0.01, 12);
        const auto out = racing_cannot_win(v, {true, true}, SelectionRule::geomean, true, 0.999);
        QVERIFY(!out[1]);
        QVERIFY(out[0]);  // and x is the one that cannot win
    }
    void rulesStopWhatCannotWin() {
        QFETCH(int, rule);
        QFETCH(bool, slot);
        QFETCH(bool, stopped);
        Values v(2, std::vector<std::vector<double>>(5));
        for (int d = 0; d < 5; ++d) {
            v[0][d] = samples_around(10, 16, 0.05, d);                    // x
            v[1][d] = samples_around(d == 4 ? 1 : 12, 16, 0.05, 10 + d);  // a
        }
        const auto out = racing_cannot_win(v, {true, true}, static_cast<SelectionRule>(rule), slot, 0.999);
        QCOMPARE(static_cast<bool>(out[1]), stopped);
        QCOMPARE(static_cast<bool>(out[0]), !stopped);
        // Dominated on every dataset: every rule stops it.
        for (int d = 0; d < 5; ++d) v[1][d] = samples_around(12, 16, 0.05, 10 + d);
        const auto all = racing_cannot_win(v, {true, true}, static_cast<SelectionRule>(rule), slot, 0.999);
        QVERIFY(all[1]);
    }

    // Close candidates (a difference far below the noise) are never stopped;
    // a stopped or failed candidate is not reported again; ranks need a strict
    // loss, so three candidates of which one is clearly worst stop only it.
    void undecidedKeepsRunning() {
        Values v(3, std::vector<std::vector<double>>(2));
        for (int d = 0; d < 2; ++d) {
            v[0][d] = samples_around(10.00, 16, 1.0, d);
            v[1][d] = samples_around(10.01, 16, 1.0, 5 + d);
            v[2][d] = samples_around(20.0, 16, 0.1, 9 + d);
        }
        for (auto rule : {SelectionRule::ranks, SelectionRule::rank_sum, SelectionRule::copeland,
                          SelectionRule::geomean}) {
            const auto out = racing_cannot_win(v, {true, true, true}, rule, true, 0.999);
            QVERIFY(!out[0] && !out[1]);
            QVERIFY(out[2]);
            const auto again = racing_cannot_win(v, {true, true, false}, rule, true, 0.999);
            QVERIFY(!again[2]);  // already stopped: not alive, not reported
        }
        v[1].clear();  // failed: takes no part
        const auto out = racing_cannot_win(v, {true, false, true}, SelectionRule::ranks, true, 0.999);
        QVERIFY(!out[0] && out[2]);
    }

    // Planted pools: each layer has one right model; the others are worse by
    // different margins. Racing chooses every layer as the full evaluation does,
    // with at most half the samples scored, for every selection rule.
    void plantedPool_data() {
        QTest::addColumn<int>("rule");
        QTest::newRow("ranks") << static_cast<int>(SelectionRule::ranks);
        QTest::newRow("rank_sum") << static_cast<int>(SelectionRule::rank_sum);
        QTest::newRow("copeland") << static_cast<int>(SelectionRule::copeland);
        QTest::newRow("geomean") << static_cast<int>(SelectionRule::geomean);
    }
    void plantedPool() {
        QFETCH(int, rule);
        const int n = 4;
        const std::vector<std::string> pool = {"base", "m0", "m1", "m2", "m3", "m4", "m5", "m6"};
        auto fn = [&](const MergeState& s, int d) {
            double v = 1.0;
            for (int L = 0; L < n; ++L) {
                const std::string m = single_model_name(s.layers[static_cast<size_t>(L)]);
                const int k = m == "base" ? 7 : m[1] - '0';
                // The planted model m_L is best; the others lose 0.05..0.4 per step away.
                v += (0.5 + 0.1 * d) * 0.08 * std::abs(k - L);
            }
            return v;
        };
        SearchOptions o = search_options(pool, n, 2);
        o.selection = static_cast<SelectionRule>(rule);
        SampleScorer full_scorer(n, 64, 0.02, fn);
        MergeReport full;
        const SearchResult want = run_search(o, full_scorer, full, {});
        QCOMPARE(want.samples_full, 0LL);  // no racing: no racing figures

        o.racing = true;
        SampleScorer raced_scorer(n, 64, 0.02, fn);
        MergeReport raced;
        const SearchResult got = run_search(o, raced_scorer, raced, {});
        QCOMPARE(layer_names(got.state), layer_names(want.state));
        for (int L = 0; L < n; ++L)
            QCOMPARE(layer_names(got.state)[static_cast<size_t>(L)], "m" + std::to_string(L));
        QVERIFY(got.samples_full > 0);
        QCOMPARE(got.samples_scored, raced_scorer.samples_scored);  // the baseline (not raced) included
        QVERIFY2(2 * got.samples_scored <= got.samples_full,
                 qPrintable(QString("%1 of %2 samples").arg(got.samples_scored).arg(got.samples_full)));
        QVERIFY(2 * raced_scorer.samples_scored <= full_scorer.samples_scored);
        // The report says where each candidate stopped, keeps the winner's
        // per-sample values and drops the others'.
        int stopped = 0;
        for (int L = 0; L < n; ++L) {
            const auto& pos = raced.json()["layers"][std::to_string(L)];
            const std::string best = pos["best_model"].get<std::string>();
            for (auto it = pos["candidates"].begin(); it != pos["candidates"].end(); ++it) {
                if (it->contains("stopped")) {
                    ++stopped;
                    QVERIFY(it.key() != best);
                    for (const auto& [d, k] : it->at("stopped").items()) QVERIFY(k.get<long long>() < 64);
                }
                QCOMPARE(it->contains("per_sample"), it.key() == best);
            }
            QCOMPARE(pos["candidates"][best]["per_sample"]["d0"].size(), size_t{64});
        }
        QVERIFY(stopped >= 4 * 5);
    }

    // Two candidates too close to tell apart are both scored on every sample,
    // and the choice is the full evaluation's.
    void closeRaceIsScoredFully() {
        auto fn = [&](const MergeState& s, int) {
            const std::string m = single_model_name(s.layers[0]);
            return m == "a" ? 1.0 : m == "b" ? 1.0005 : 3.0;
        };
        SearchOptions o = search_options({"base", "a", "b", "c"}, 1, 1);
        SampleScorer full_scorer(1, 40, 0.3, fn);
        MergeReport full;
        const SearchResult want = run_search(o, full_scorer, full, {});
        o.racing = true;
        SampleScorer raced_scorer(1, 40, 0.3, fn);
        MergeReport raced;
        const SearchResult got = run_search(o, raced_scorer, raced, {});
        QCOMPARE(layer_names(got.state), layer_names(want.state));
        const auto& c = raced.json()["layers"]["0"]["candidates"];
        QVERIFY(!c["a"].contains("stopped"));
        QVERIFY(!c["b"].contains("stopped"));
        QVERIFY(c["c"].contains("stopped"));
        QCOMPARE(c["base"]["status"].get<std::string>(), std::string("reused-identical"));
        // Full candidates score exactly as the full evaluation.
        QCOMPARE(c["a"]["scores"]["d0"].get<double>(),
                 full.json()["layers"]["0"]["candidates"]["a"]["scores"]["d0"].get<double>());
    }

    // improve_all gates layer positions: those are not raced.
    void gatedPositionsAreNotRaced() {
        auto fn = [&](const MergeState& s, int) { return single_model_name(s.layers[0]) == "a" ? 1.0 : 5.0; };
        SearchOptions o = search_options({"base", "a", "b", "c"}, 1, 1);
        o.racing = true;
        o.improve_all = "all";
        SampleScorer scorer(1, 32, 0.01, fn);
        MergeReport report;
        const SearchResult res = run_search(o, scorer, report, {});
        QCOMPARE(recipe_text(res.state.layers[0]), std::string("a"));
        for (const auto& [k, c] : report.json()["layers"]["0"]["candidates"].items())
            QVERIFY(!c.contains("stopped"));
        QCOMPARE(res.samples_scored, res.samples_full);
    }

    // Interrupted at every k-th chunk scoring and resumed from the report's
    // text: the same report (timings aside), the same merge, no chunk scored twice.
    void resumeIsExact() {
        const int n = 3;
        auto fn = [](const MergeState& s, int d) { return every_position_kind_cost(s, d, 1); };
        SearchOptions o = every_position_kind(n);
        o.racing = true;
        o.selection = SelectionRule::geomean;

        SampleScorer full_scorer(n, 40, 0.05, fn);
        MergeReport full;
        const SearchResult want = run_search(o, full_scorer, full, {});
        const nlohmann::json want_json = without_timings(full.json());
        QVERIFY(full_scorer.calls > 100);
        QVERIFY(want.samples_scored < want.samples_full);

        for (long long k = 0; k < full_scorer.calls; k += 11) {
            SampleScorer first(n, 40, 0.05, fn);
            first.fail_after = k;
            MergeReport partial;
            QVERIFY_THROWS_EXCEPTION(Cancelled, run_search(o, first, partial, {}));
            MergeReport resumed(parse_json_text(dump_json_text(partial.json(), 2)));
            SampleScorer second(n, 40, 0.05, fn);
            const SearchResult got = run_search(o, second, resumed, {});
            QCOMPARE(without_timings(resumed.json()), want_json);
            QCOMPARE(layer_names(got.state), layer_names(want.state));
            QCOMPARE(got.samples_scored, want.samples_scored);
            // At most the interrupted candidate's chunk of the other dataset again.
            QVERIFY(second.calls >= full_scorer.calls - k);
            QVERIFY(second.calls <= full_scorer.calls - k + 1);
        }
    }

    void spreadOverRanks_data() {
        QTest::addColumn<bool>("racing");
        QTest::addColumn<int>("ranks");
        QTest::newRow("full, 2 ranks") << false << 2;
        QTest::newRow("full, 3 ranks") << false << 3;
        QTest::newRow("raced, 2 ranks") << true << 2;
        QTest::newRow("raced, 3 ranks") << true << 3;
    }
    // The same report and merge as one process; each candidate scored once
    // over all ranks, and every rank scores a share.
    void spreadOverRanks() {
        QFETCH(bool, racing);
        QFETCH(int, ranks);
        const int n = 3;
        auto fn = [](const MergeState& s, int d) { return every_position_kind_cost(s, d, 1); };
        SearchOptions o = every_position_kind(n);
        o.racing = racing;
        o.selection = SelectionRule::geomean;
        SampleScorer alone(n, 40, 0.05, fn);
        MergeReport want;
        const SearchResult one = run_search(o, alone, want, {});
        if (racing) QVERIFY(one.samples_scored < one.samples_full);

        const Spread got = run_spread(o, ranks, fn, MergeReport().json());
        QCOMPARE(got.report, without_timings(want.json()));
        QCOMPARE(got.layers, layer_names(one.state));
        QVERIFY(got.ranks_agree);
        long long total = 0;
        for (long long c : got.calls) {
            QVERIFY2(c > 0, "a rank scored nothing");
            total += c;
        }
        QCOMPARE(total, alone.calls);
    }

    // Interrupted in one process, resumed over 3 ranks (and the reverse report
    // read by 2): the same result.
    void resumeWithAnotherRankCount() {
        const int n = 3;
        auto fn = [](const MergeState& s, int d) { return every_position_kind_cost(s, d, 1); };
        SearchOptions o = every_position_kind(n);
        o.racing = true;
        o.selection = SelectionRule::geomean;
        SampleScorer alone(n, 40, 0.05, fn);
        MergeReport want;
        run_search(o, alone, want, {});
        for (long long k : {alone.calls / 5, alone.calls / 2, alone.calls - 3}) {
            SampleScorer first(n, 40, 0.05, fn);
            first.fail_after = k;
            MergeReport partial;
            QVERIFY_THROWS_EXCEPTION(Cancelled, run_search(o, first, partial, {}));
            const nlohmann::json start = parse_json_text(dump_json_text(partial.json(), 2));
            for (int ranks : {2, 3}) {
                const Spread got = run_spread(o, ranks, fn, start);
                QCOMPARE(got.report, without_timings(want.json()));
                QVERIFY(got.ranks_agree);
                long long total = 0;
                for (long long c : got.calls) total += c;
                QVERIFY(total <= alone.calls - k + 1);
            }
        }
    }
};

QTEST_APPLESS_MAIN(TestRacing)
#include "test_racing.moc"
