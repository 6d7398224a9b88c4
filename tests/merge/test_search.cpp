// The OLM search against hand-made score tables (FakeScorer): ranks, Copeland,
// tie-breaking, improve_all gating, directions, interpolated candidates,
// sweeps, and exact resume after an interruption at every evaluation.
#include <QtTest/QtTest>

#include "core/merge/report.h"
#include "core/merge/search.h"
#include "core/util/error.h"
#include "core/util/json_text.h"
#include "tests/support/test_files.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include "merge/fake_scorer.h"

using namespace olm;
using olm::testing::every_position_kind;
using olm::testing::every_position_kind_cost;
using olm::testing::FakeScorer;
using olm::testing::layer_names;
using olm::testing::recipe_distance;
using olm::testing::search_options;

namespace {

using Table = std::vector<std::vector<double>>;

}  // namespace

class TestSearch : public QObject {
    Q_OBJECT
private slots:
    void ranksAreStableOnTies() {
        const Table t = {{1, 2}, {1, 1}, {0, 2}};
        const auto r = dataset_ranks(t, {true, true, true});
        QCOMPARE(r[2][0], 1);
        QCOMPARE(r[0][0], 2);  // equal to candidate 1's score, earlier in pool order
        QCOMPARE(r[1][0], 3);
        QCOMPARE(r[1][1], 1);
        QCOMPARE(r[0][1], 2);
        QCOMPARE(r[2][1], 3);
        const auto r2 = dataset_ranks(t, {true, false, true});
        QCOMPARE(r2[1][0], 0);
        QCOMPARE(r2[0][1], 1);
    }

    void selectBest_data() {
        QTest::addColumn<QVector<QVector<double>>>("table");
        QTest::addColumn<QVector<bool>>("eligible");
        QTest::addColumn<QString>("rule");
        QTest::addColumn<int>("expected");
        // Ranks A(1,1,4)=6 B(2,2,1)=5 C(3,3,2)=8 D(4,4,3)=11: rank sum picks B,
        // Copeland picks A (A beats every other candidate on 2 of 3 datasets).
        const QVector<QVector<double>> split = {{1, 1, 9}, {2, 2, 1}, {3, 3, 2}, {4, 4, 3}};
        QTest::newRow("ranks prefers the smallest rank sum")
            << split << QVector<bool>(4, true) << "ranks" << 1;
        QTest::newRow("copeland prefers pairwise wins") << split << QVector<bool>(4, true) << "copeland" << 0;
        QTest::newRow("rank-sum tie -> pool order")
            << QVector<QVector<double>>{{2, 1}, {1, 2}} << QVector<bool>(2, true) << "ranks" << 0;
        QTest::newRow("equal scores -> pool order")
            << QVector<QVector<double>>{{1, 1}, {1, 1}, {1, 1}} << QVector<bool>(3, true) << "ranks" << 0;
        QTest::newRow("copeland draw -> rank sum")
            << QVector<QVector<double>>{{1, 1, 5, 5}, {2, 2, 1, 1}, {3, 3, 2, 6}} << QVector<bool>(3, true)
            << "copeland" << 1;
        QTest::newRow("ineligible skipped")
            << split << QVector<bool>{false, false, true, true} << "ranks" << 2;
        QTest::newRow("none eligible") << split << QVector<bool>(4, false) << "ranks" << -1;
        // The incumbent (0.5, 50, 4096) against a layer that quarters one dataset's
        // score and costs 1% on the other two: ranks and Copeland keep the incumbent
        // (2 datasets to 1), geomean takes the gain: log(0.25 * 1.01 * 1.01) < 0.
        const QVector<QVector<double>> veto = {{0.5, 50, 4096}, {0.505, 50.5, 1024}};
        QTest::newRow("ranks: small losses veto a large gain")
            << veto << QVector<bool>(2, true) << "ranks" << 0;
        QTest::newRow("copeland: likewise") << veto << QVector<bool>(2, true) << "copeland" << 0;
        QTest::newRow("geomean takes the large gain") << veto << QVector<bool>(2, true) << "geomean" << 1;
        // Scale-free: multiplying one dataset's scores by 1000 changes nothing.
        QTest::newRow("geomean is per-dataset scale free")
            << QVector<QVector<double>>{{500, 50, 4096}, {505, 50.5, 1024}} << QVector<bool>(2, true)
            << "geomean" << 1;
        // Two small gains (-10%, -10%) beat one gain that is smaller in log terms
        // (-15%) paired with a 10% loss: 0.9*0.9 = 0.81 < 0.85*1.1 = 0.935.
        QTest::newRow("geomean sums the log changes")
            << QVector<QVector<double>>{{1, 1}, {0.85, 1.1}, {0.9, 0.9}} << QVector<bool>(3, true)
            << "geomean" << 2;
        QTest::newRow("geomean tie -> pool order")
            << QVector<QVector<double>>{{2, 1}, {1, 2}} << QVector<bool>(2, true) << "geomean" << 0;
        QTest::newRow("geomean ineligible skipped") << QVector<QVector<double>>{{1, 1}, {2, 2}, {3, 3}}
                                                    << QVector<bool>{false, true, true} << "geomean" << 1;
        // A perfect score of 0 is clamped, not -infinity.
        QTest::newRow("geomean with a zero score")
            << QVector<QVector<double>>{{0, 10}, {1e-3, 1}} << QVector<bool>(2, true) << "geomean" << 0;
    }
    void selectBest() {
        QFETCH(QVector<QVector<double>>, table);
        QFETCH(QVector<bool>, eligible);
        QFETCH(QString, rule);
        QFETCH(int, expected);
        Table t;
        for (const auto& row : table) t.emplace_back(row.begin(), row.end());
        QCOMPARE(select_best(t, std::vector<bool>(eligible.begin(), eligible.end()),
                             olm::parse_selection_rule(rule.toStdString())),
                 expected);
    }

    // selection ranks at a layer or tensor slot is the original's Copeland on ranks:
    // a point per candidate beaten on more datasets, no half points, ties -> pool order.
    void ranksAtASlotIsCopelandOnRanks() {
        const Table split = {{1, 1, 9}, {2, 2, 1}, {3, 3, 2}, {4, 4, 3}};
        const std::vector<bool> all(4, true);
        QCOMPARE(select_best(split, all, SelectionRule::ranks, /*slot=*/true), 0);  // A beats B, C, D
        QCOMPARE(select_best(split, all, SelectionRule::ranks, /*slot=*/false),
                 1);  // base/boundary: rank sum
        QCOMPARE(select_best(split, all, SelectionRule::rank_sum, /*slot=*/true), 1);  // rank sum everywhere
        // A cycle (A>B, B>C, C>A on 2 of 3 datasets): one point each, the first wins.
        const Table cycle = {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}};
        QCOMPARE(select_best(cycle, std::vector<bool>(3, true), SelectionRule::ranks, true), 0);
        // A draw (one dataset each) scores no point: B beats C, A draws with B and beats C.
        const Table draw = {{1, 2}, {2, 1}, {3, 3}};
        QCOMPARE(select_best(draw, std::vector<bool>(3, true), SelectionRule::ranks, true), 0);
        // Equal scores rank by pool order, so the earlier candidate wins the pair.
        QCOMPARE(select_best({{5, 5}, {5, 5}}, std::vector<bool>(2, true), SelectionRule::ranks, true), 0);
        // Ineligible candidates are not ranked.
        QCOMPARE(select_best(split, {false, true, true, true}, SelectionRule::ranks, true), 1);
    }

    // The original's own merge (olm.olm at commit 7731be5, on the tiny models of
    // tests/data/original, see tests/eval/test_original_modes.cpp for the command)
    // with selection ranks and rank_sum: the same per-layer score tables give the
    // same choices, and the two rules disagree at least once.
    void decisionsMatchTheOriginal() {
        const auto golden = nlohmann::json::parse(
            olm::testing::read_text(std::filesystem::path(OLM_TEST_DATA_DIR) / "original" / "golden.json"));
        const auto pool = golden["models"].get<std::vector<std::string>>();
        int disagreements = 0;
        for (const auto& [layer, entry] : golden["merges"]["ranks"]["layers"].items()) {
            std::vector<std::string> chosen;
            for (const char* rule : {"ranks", "rank_sum"}) {
                const auto& e = golden["merges"][rule]["layers"][layer];
                Table t;
                for (const auto& m : pool) {
                    std::vector<double> row;
                    for (const auto& [ds, scores] : e["metrics"].items())
                        row.push_back(scores[m].get<double>());
                    t.push_back(row);
                }
                const int best =
                    select_best(t, std::vector<bool>(pool.size(), true), parse_selection_rule(rule), true);
                QVERIFY(best >= 0);
                qInfo("layer %s, %s: original %s, ours %s", layer.c_str(), rule,
                      e["best_model"].get<std::string>().c_str(), pool[static_cast<size_t>(best)].c_str());
                QCOMPARE(pool[static_cast<size_t>(best)], e["best_model"].get<std::string>());
                chosen.push_back(pool[static_cast<size_t>(best)]);
            }
            disagreements += chosen[0] != chosen[1] ? 1 : 0;
        }
        QVERIFY2(disagreements > 0, "the golden case must separate Copeland from rank sum");
    }

    void selectionRuleNames() {
        for (const char* name : {"ranks", "rank_sum", "copeland", "geomean"})
            QCOMPARE(std::string(olm::selection_rule_name(olm::parse_selection_rule(name))),
                     std::string(name));
        QVERIFY_EXCEPTION_THROWN(olm::parse_selection_rule("borda"), olm::Error);
    }

    // Two layers, pool [a, b, base], datasets d0 d1 (exact) d2 (bigram);
    // score_d = c0[d][layer 0's model] + c1[d][layer 1's model].
    void gating_data() {
        QTest::addColumn<QString>("improveAll");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("off") << "" << QStringList{"a", "a"};
        QTest::newRow("base") << "base" << QStringList{"b", "a"};
        QTest::newRow("all") << "all" << QStringList{"b", "a"};
        QTest::newRow("exact") << "exact" << QStringList{"a", "a"};
        QTest::newRow("bigram") << "bigram" << QStringList{"b", "a"};
    }
    void gating() {
        QFETCH(QString, improveAll);
        QFETCH(QStringList, expected);
        std::map<std::string, std::vector<double>> c0 = {
            {"base", {0, 0, 0}}, {"a", {-3, -3, 0.5}}, {"b", {-1, -1, -1}}};
        std::map<std::string, std::vector<double>> c1 = {
            {"base", {0, 0, 0}}, {"a", {0.5, -2, -2}}, {"b", {0.1, 0.1, 0.1}}};
        FakeScorer scorer(2, [&](const MergeState& s, int d) {
            return c0.at(single_model_name(s.layers[0]))[static_cast<size_t>(d)] +
                   c1.at(single_model_name(s.layers[1]))[static_cast<size_t>(d)];
        });
        SearchOptions o = search_options({"a", "b", "base"}, 2, 3);
        o.dataset_modes = {"exact", "exact", "bigram"};
        o.base_model_name = "base";
        o.improve_all = improveAll.toStdString();
        MergeReport report;
        const SearchResult res = run_search(o, scorer, report, {});
        const auto names = layer_names(res.state);
        QCOMPARE(QString::fromStdString(names[0]), expected[0]);
        QCOMPARE(QString::fromStdString(names[1]), expected[1]);
        // The base's own layer is the working model itself: reused, not re-evaluated.
        QCOMPARE(report.json()["layers"]["0"]["candidates"]["base"]["status"].get<std::string>(),
                 std::string("reused-identical"));
        if (improveAll == "all") {
            // a at layer 1 scores (-0.5, -3, -3): worse than layer 0's choice b (-1, -1, -1) on d0
            // only, so d0 is Infinity and d1, d2 keep their scores (the original's code): it
            // still ranks, and wins on d1 and d2 against the base's layer (-1, -1, -1).
            const auto& a1 = report.json()["layers"]["1"]["candidates"]["a"];
            QCOMPARE(a1["status"].get<std::string>(), std::string("disqualified"));
            QVERIFY(std::isinf(a1["scores"]["d0"].get<double>()));
            QCOMPARE(a1["scores"]["d1"].get<double>(), -3.0);
            QCOMPARE(a1["measured"]["d0"].get<double>(), -0.5);
            QVERIFY(a1["reason"].get<std::string>().find("worse than layer 0's choice on d0") !=
                    std::string::npos);
            // b is worse on every dataset: Infinity everywhere.
            for (const char* d : {"d0", "d1", "d2"})
                QVERIFY(
                    std::isinf(report.json()["layers"]["1"]["candidates"]["b"]["scores"][d].get<double>()));
        }
        if (improveAll == "base") {
            const auto& a0 = report.json()["layers"]["0"]["candidates"]["a"];
            QCOMPARE(a0["status"].get<std::string>(), std::string("disqualified"));
            QVERIFY(a0["reason"].get<std::string>().find("worse than the base on d2") != std::string::npos);
        }
    }

    // Planted: model m<L> carries the right layer L; the search finds every
    // one in both directions, with and without the boundary step.
    void plantedLayers_data() {
        QTest::addColumn<bool>("backward");
        QTest::newRow("forward") << false;
        QTest::newRow("backward") << true;
    }
    void plantedLayers() {
        QFETCH(bool, backward);
        const int n = 4;
        FakeScorer scorer(n, [&](const MergeState& s, int d) {
            double v = recipe_distance(s.boundary, single_model("m2")) * 0.5;
            for (int L = 0; L < n; ++L)
                v += (1.0 + 0.1 * d + 0.01 * L) *
                     recipe_distance(s.layers[static_cast<size_t>(L)], single_model("m" + std::to_string(L)));
            return v;
        });
        SearchOptions o = search_options({"base", "m0", "m1", "m2", "m3"}, n, 2);
        o.backward = backward;
        o.boundary_select = true;
        MergeReport report;
        const SearchResult res = run_search(o, scorer, report, {});
        QCOMPARE(res.state.base, std::string("base"));
        QCOMPARE(recipe_text(res.state.boundary), std::string("m2"));
        for (int L = 0; L < n; ++L) {
            QCOMPARE(recipe_text(res.state.layers[static_cast<size_t>(L)]), "m" + std::to_string(L));
            QCOMPARE(report.json()["layers"][std::to_string(L)]["best_model"].get<std::string>(),
                     "m" + std::to_string(L));
        }
        QCOMPARE(res.final_scores.at("d0").score, 0.0);
        // 1 baseline + 5 boundary + 4 layers x 5 candidates, minus reused current slots (1 + 4), x 2 datasets
        QCOMPARE(scorer.calls, (1 + 4 + 4 * 4) * 2LL);
    }

    // The original's ES selection (olm.py fine_tune_tensor_*_es): ranks among
    // all valid offspring, Copeland among the improved ones only, ties to the
    // earliest; none improved -> -1. Worked by hand: offspring 0 is the
    // Copeland winner of all four but not better than the best anywhere, so
    // the choice is between 1 and 3 (and 2, invalid, takes no rank).
    void esSelectionAsTheOriginal() {
        const double inf = std::numeric_limits<double>::infinity();
        const std::vector<std::vector<double>> s = {
            {1.0, 1.0, 1.0}, {1.5, 0.9, 2.0}, {0.1, 0.1, 0.1}, {1.2, 3.0, 0.95}};
        const std::vector<bool> valid = {true, true, false, true};
        const std::vector<double> best = {1.0, 1.0, 1.0};
        // ranks (valid only): ds0: 0,3,1 -> 0:1 3:2 1:3; ds1: 1,0,3 -> 1:1 0:2 3:3; ds2: 3,0,1 -> 3:1 0:2
        // 1:3. 1 vs 3: 1 better on ds1 only, 3 better on ds0 and ds2 -> 3 wins.
        QCOMPARE(es_select(s, valid, best), 3);
        // A tie (each better on one dataset of two) goes to the earlier offspring.
        QCOMPARE(es_select({{0.5, 2.0}, {2.0, 0.5}}, {true, true}, {1.0, 1.0}), 0);
        // Nothing better than the best anywhere: no winner; an invalid offspring never wins.
        QCOMPARE(es_select(s, valid, {0.0, 0.0, 0.0}), -1);
        QCOMPARE(es_select({{inf, inf}, {0.1, 0.1}}, {true, false}, {1.0, 1.0}), -1);
        // lambda as the original: max(4, int(4 + 3 ln r)).
        QCOMPARE(es_population(1), 4);
        QCOMPARE(es_population(32), 14);
        QCOMPARE(es_population(3584), 28);
        QCOMPARE(es_population(0), 0);
        // Seeds differ per unit and kind and stay below 2^31.
        QVERIFY(es_tensor_seed(0, "0.self_attn.q_proj", EsKind::svd) !=
                es_tensor_seed(0, "0.self_attn.q_proj", EsKind::norm));
        QVERIFY(es_tensor_seed(0, "0.self_attn.q_proj", EsKind::svd) !=
                es_tensor_seed(1, "0.self_attn.q_proj", EsKind::svd));
        QVERIFY(es_tensor_seed(5, "1.mlp.down_proj", EsKind::svd) < (1ull << 31));
    }

    // The tensor positions in the original's order: layer by layer, each
    // layer's units in the list's order; backward is the exact reverse of that
    // whole list (the last layer's last unit first), as the original reverses
    // its unit list.
    void tensorOrderFollowsDirection() {
        struct Order : MergeEvents {
            std::vector<std::string> keys;
            void position_decided(const PositionDecision& d) override { keys.push_back(d.position.key()); }
        };
        std::vector<std::string> forward;
        for (const bool backward : {false, true}) {
            FakeScorer scorer(3,
                              [](const MergeState& st, int) { return 1.0 + 0.01 * double(st.units.size()); });
            SearchOptions o = search_options({"base", "a"}, 3, 1);
            o.layer_swap = false;
            o.tensor_swap = true;
            o.tensor_units = {"self_attn.q_proj", "mlp.down_proj", "input_layernorm"};
            o.boundary_units = {"embed_tokens", "norm", "lm_head"};
            o.backward = backward;
            Order order;
            SearchHooks hooks;
            hooks.events = &order;
            MergeReport report;
            run_search(o, scorer, report, hooks);
            std::vector<std::string> tensors;
            for (const auto& k : order.keys)
                if (k != "base") tensors.push_back(k);
            if (!backward) {
                // The original's parameter list: embeddings, every layer's units, final norm, lm_head.
                QCOMPARE(tensors, (std::vector<std::string>{
                                      "embed_tokens", "0.self_attn.q_proj", "0.mlp.down_proj",
                                      "0.input_layernorm", "1.self_attn.q_proj", "1.mlp.down_proj",
                                      "1.input_layernorm", "2.self_attn.q_proj", "2.mlp.down_proj",
                                      "2.input_layernorm", "norm", "lm_head"}));
                forward = tensors;
            } else {
                std::reverse(forward.begin(), forward.end());
                QCOMPARE(tensors, forward);
            }
        }
    }

    // The boundary's parts searched tensor-wise, each on its own: a planted
    // choice per part (embeddings from a, lm_head from b, the final norm best
    // left to the base) is found, recorded as boundary parts, and the
    // report's recipe and its tensors section hold them under their names.
    void boundaryPartsAreTensorUnits() {
        FakeScorer scorer(2, [](const MergeState& st, int d) {
            return 1.0 + (1 + d) * recipe_distance(st.boundary_recipe("embed_tokens"), single_model("a")) +
                   0.5 * recipe_distance(st.boundary_recipe("lm_head"), single_model("b")) +
                   0.1 * recipe_distance(st.boundary_recipe("norm"), single_model("base"));
        });
        SearchOptions o = search_options({"base", "a", "b"}, 2, 2);
        o.layer_swap = false;
        o.tensor_swap = true;
        o.tensor_units = {"self_attn.q_proj"};
        o.boundary_units = {"embed_tokens", "norm", "lm_head"};
        MergeReport report;
        const SearchResult res = run_search(o, scorer, report, {});
        QCOMPARE(res.state.boundary_parts.size(), size_t(2));
        QCOMPARE(recipe_text(res.state.boundary_recipe("embed_tokens")), std::string("a"));
        QCOMPARE(recipe_text(res.state.boundary_recipe("lm_head")), std::string("b"));
        QCOMPARE(recipe_text(res.state.boundary_recipe("norm")), std::string("base"));
        QVERIFY(res.state.units.empty());
        const nlohmann::json& j = report.json();
        QCOMPARE(j["tensors"]["embed_tokens"]["best_model"].get<std::string>(), std::string("a"));
        QCOMPARE(j["tensors"]["lm_head"]["best_model"].get<std::string>(), std::string("b"));
        QCOMPARE(report.state(2).boundary_parts.size(), size_t(2));
        // 1 base + 5 positions (2 layer units, 3 parts) x 2 candidates besides the working
        // model, per dataset; the plan's bound counts the working model too.
        QCOMPARE(scorer.calls, (1 + 5 * 2) * 2LL);
        QCOMPARE(planned_evaluations(o), (1 + 5 * 3) * 2LL);
    }

    // A planted pair of layers that only works together: (a, b) in layers 0
    // and 1 scores 0, either alone is worse than the base. Layer by layer the
    // search keeps the base; the markov window of two layers finds the pair,
    // and visits every combination in itertools.product order.
    void markovWindowFindsAPlantedPair() {
        auto cost = [](const MergeState& st, int) {
            const std::string l0 = recipe_text(st.layers[0]), l1 = recipe_text(st.layers[1]);
            if (l0 == "a" && l1 == "b") return 0.0;
            return 1.0 + 0.2 * (l0 != "base") + 0.2 * (l1 != "base") +
                   0.01 * (recipe_text(st.layers[2]) != "base");
        };
        for (const int markov : {0, 1}) {
            FakeScorer scorer(3, cost);
            SearchOptions o = search_options({"base", "a", "b"}, 3, 2);
            o.markov = markov;
            MergeReport report;
            const SearchResult res = run_search(o, scorer, report, {});
            if (markov == 0) {
                QCOMPARE(layer_names(res.state), (std::vector<std::string>{"base", "base", "base"}));
                continue;
            }
            QCOMPARE(layer_names(res.state), (std::vector<std::string>{"a", "b", "base"}));
            const auto& layers = report.json()["layers"];
            QCOMPARE(layers.size(), size_t(3));  // windows 0-0, 0-1, 1-2
            QVERIFY(layers.contains("0-0") && layers.contains("0-1") && layers.contains("1-2"));
            QCOMPARE(layers["0-1"]["best_model"].get<std::string>(), std::string("window_0-1_combo_5"));
            QCOMPARE(recipe_from_json(layers["0-1"]["candidates"]["window_0-1_combo_5"]["recipe"]),
                     (Recipe{{"0:a", 1.0}, {"1:b", 1.0}}));
            // 1 base + 3 + 9 + 9 combinations, per dataset; the working model's combination is known.
            QCOMPARE(planned_evaluations(o), (1 + 3 + 9 + 9) * 2LL);
            QCOMPARE(scorer.calls, (1 + 2 + 8 + 8) * 2LL);
        }
        const auto w = window_candidates({"x", "y"}, 2, 3);
        QCOMPARE(w.size(), size_t(4));
        QCOMPARE(w[1].name, std::string("window_2-3_combo_1"));
        QCOMPARE(w[1].recipe, (Recipe{{"2:x", 1.0}, {"3:y", 1.0}}));
        QCOMPARE(markov_window(0, 5, 2, false), std::make_pair(0, 0));
        QCOMPARE(markov_window(3, 5, 2, false), std::make_pair(1, 3));
        QCOMPARE(markov_window(3, 5, 2, true), std::make_pair(3, 4));
    }

    void baseSelectPicksBestWholeModel() {
        FakeScorer scorer(2, [&](const MergeState& s, int d) {
            const std::string m = single_model_name(s.layers[0]);
            if (m == "x") return d == 0 ? 1.0 : 3.0;
            if (m == "y") return d == 0 ? 2.0 : 1.0;
            return 5.0;
        });
        SearchOptions o = search_options({"z", "x", "y"}, 2, 2);
        o.base_select = true;
        o.layer_swap = false;
        MergeReport report;
        const SearchResult res = run_search(o, scorer, report, {});
        QCOMPARE(res.state.base, std::string("x"));  // x (1,2)=3 ties y (2,1)=3: pool order
        QCOMPARE(report.json()["base_model"]["name"].get<std::string>(), std::string("x"));
    }

    void candidatesWithInterpolation() {
        const auto c = position_candidates({"base", "a", "b"}, "base", single_model("base"), {0.5}, true);
        QStringList names;
        for (const auto& x : c) names << QString::fromStdString(x.name);
        // blends with the current choice itself and current+(base-base) are duplicates
        QCOMPARE(names, (QStringList{"base", "a", "b", "0.5*(current+a)", "0.5*(current+b)"}));
        QCOMPARE(recipe_text(c[3].recipe), std::string("0.5*a + 0.5*base"));
        // A blended current stays a candidate; task arithmetic adds the delta.
        const Recipe cur = {{"a", 0.5}, {"base", 0.5}};
        const auto c2 = position_candidates({"base", "a", "b"}, "base", cur, {0.5}, true);
        QCOMPARE(QString::fromStdString(c2[0].name), QString("current"));
        bool found = false;
        for (const auto& x : c2)
            if (x.name == "current+(b-base)") {
                found = true;
                QVERIFY(same_recipe(x.recipe, Recipe{{"a", 0.5}, {"base", -0.5}, {"b", 1.0}}));
            }
        QVERIFY(found);
    }

    // Planted interpolation: the best layer is exactly the average of a and b.
    void interpolationFindsPlantedAverage() {
        const Recipe target = {{"a", 0.5}, {"b", 0.5}};
        auto fn = [&](const MergeState& s, int) {
            return recipe_distance(s.layers[0], target) + recipe_distance(s.layers[1], single_model("a"));
        };
        SearchOptions o = search_options({"base", "a", "b"}, 2, 1);
        FakeScorer s1(2, fn);
        MergeReport r1;
        const auto original = run_search(o, s1, r1, {});
        QVERIFY(!same_recipe(original.state.layers[0], target));
        o.interpolate = {0.5};
        o.sweeps = 3;
        FakeScorer s2(2, fn);
        MergeReport r2;
        const auto better = run_search(o, s2, r2, {});
        QVERIFY(same_recipe(better.state.layers[0], target));
        QVERIFY(same_recipe(better.state.layers[1], single_model("a")));
        QCOMPARE(better.final_scores.at("d0").score, 0.0);
    }

    void sweepsRevisitLayers() {
        auto fn = [](const MergeState& s, int) {
            const std::string l0 = single_model_name(s.layers[0]), l1 = single_model_name(s.layers[1]);
            const double a = l1 == "a" ? (l0 == "b" ? 0.0 : 1.5) : (l0 == "a" ? 1.0 : 3.0);
            return a + (l1 == "a" ? 0.0 : 2.0);
        };
        SearchOptions o = search_options({"base", "a", "b"}, 2, 1);
        FakeScorer s1(2, fn);
        MergeReport r1;
        const auto one = run_search(o, s1, r1, {});
        QCOMPARE(layer_names(one.state), (std::vector<std::string>{"a", "a"}));
        QCOMPARE(one.passes, 1);
        o.sweeps = 3;
        FakeScorer s3(2, fn);
        MergeReport r3;
        const auto three = run_search(o, s3, r3, {});
        QCOMPARE(layer_names(three.state), (std::vector<std::string>{"b", "a"}));
        QCOMPARE(three.passes, 3);  // pass 2 changed layer 0, pass 3 changed nothing
        QVERIFY(r3.json()["sweeps"].contains("2"));
        QCOMPARE(r3.json()["sweeps"]["2"]["layers"]["0"]["best_model"].get<std::string>(), std::string("b"));
        QVERIFY(r3.json()["sweeps"].contains("3"));
        QVERIFY(!r3.json()["sweeps"].contains("4"));
    }

    // Interrupt after every single evaluation, resume from the saved report,
    // and compare with an uninterrupted run: same report (timings aside), same
    // merge, and nothing recorded is evaluated again.
    void resumeIsExact() {
        const int n = 3;
        auto fn = [](const MergeState& s, int d) { return every_position_kind_cost(s, d, 0); };
        SearchOptions o = every_position_kind(n);
        o.dataset_modes = {"exact", "bigram"};
        o.improve_all = "base";

        FakeScorer full_scorer(n, fn);
        MergeReport full;
        const SearchResult want = run_search(o, full_scorer, full, {});
        const nlohmann::json want_json = without_timings(full.json());
        QVERIFY(full_scorer.calls > 50);

        for (long long k = 0; k < full_scorer.calls; k += 7) {
            FakeScorer first(n, fn);
            first.fail_after = k;
            MergeReport partial;
            QVERIFY_THROWS_EXCEPTION(Cancelled, run_search(o, first, partial, {}));
            // From disk: the text round trip must keep every score exact.
            MergeReport resumed(parse_json_text(dump_json_text(partial.json(), 2)));
            FakeScorer second(n, fn);
            const SearchResult got = run_search(o, second, resumed, {});
            QCOMPARE(without_timings(resumed.json()), want_json);
            QCOMPARE(layer_names(got.state), layer_names(want.state));
            QVERIFY(second.calls <= full_scorer.calls - k + 2);
            QVERIFY(second.calls >= full_scorer.calls - k);
        }
    }

    // A candidate whose scoring throws (out of memory) or gives NaN is recorded
    // failed with its error and skipped; the search goes on.
    void failedCandidatesAreSkipped() {
        FakeScorer scorer(2, [&](const MergeState& s, int) -> double {
            const std::string l0 = single_model_name(s.layers[0]);
            if (l0 == "b") throw Error("CUDA out of memory (simulated)");
            if (l0 == "c") return std::nan("");
            return l0 == "a" ? 1.0 : 2.0;
        });
        SearchOptions o = search_options({"base", "a", "b", "c"}, 2, 1);
        MergeReport report;
        const SearchResult res = run_search(o, scorer, report, {});
        QCOMPARE(recipe_text(res.state.layers[0]), std::string("a"));
        const auto& c = report.json()["layers"]["0"]["candidates"];
        QCOMPARE(c["b"]["status"].get<std::string>(), std::string("failed"));
        QVERIFY(c["b"]["reason"].get<std::string>().find("out of memory") != std::string::npos);
        QCOMPARE(c["c"]["status"].get<std::string>(), std::string("failed"));
        QVERIFY(c["c"]["reason"].get<std::string>().find("non-finite") != std::string::npos);
    }

    // max_models' ranking against the original's: model_scanner.py's
    // compute_layer_ranks + rank_models (commit 7731be5) run on these tables,
    // models fed in name order:
    //   import model_scanner as ms
    //   r = ms.compute_layer_ranks(table); ms.rank_models({m: r[m] for m in sorted(r)})
    // gave B C D E A (Copeland; the rank sum alone would give C B D A E) and
    // B C A D (A and C tie on Copeland, the rank sum puts C first).
    void poolOrderAsTheOriginal_data() {
        QTest::addColumn<QVariant>("table");  // Table: [model][dataset]
        QTest::addColumn<QString>("order");
        QTest::newRow("Copeland vs rank sum")
            << QVariant::fromValue(Table{{1, 5, 5}, {2, 1, 4}, {3, 2, 1}, {4, 3, 2}, {5, 4, 3}}) << "BCDEA";
        QTest::newRow("Copeland tie, rank sum breaks it")
            << QVariant::fromValue(Table{{1, 2, 3, 4}, {2, 3, 1, 1}, {3, 1, 2, 3}, {4, 4, 4, 2}}) << "BCAD";
    }
    void poolOrderAsTheOriginal() {
        QFETCH(QVariant, table);
        QFETCH(QString, order);
        const Table t = table.value<Table>();
        QString got;
        for (int j : pool_order(t, std::vector<bool>(t.size(), true))) got += QChar('A' + j);
        QCOMPARE(got, order);
        // Ineligible models are left out, the rest keep their order.
        std::vector<bool> eligible(t.size(), true);
        eligible[static_cast<size_t>(order[0].toLatin1() - 'A')] = false;
        QString rest;
        for (int j : pool_order(t, eligible)) rest += QChar('A' + j);
        QCOMPARE(rest.size(), order.size() - 1);
    }

    // max_models 3 of five: every pool model is scored whole at the base
    // position (the configured base, outside the pool, stays the base), the
    // three best by pool_order are the only candidates afterwards, in that
    // order, and the planted layer of a pruned model is not found.
    void maxModelsKeepsTheBestWholeModels() {
        // Whole-model scores (every layer from one model) as the first table above.
        const std::map<std::string, std::vector<double>> whole = {{"A", {1, 5, 5}}, {"B", {2, 1, 4}},
                                                                  {"C", {3, 2, 1}}, {"D", {4, 3, 2}},
                                                                  {"E", {5, 4, 3}}, {"base", {9, 9, 9}}};
        FakeScorer scorer(2, [&](const MergeState& s, int d) {
            const std::string m0 = single_model_name(s.layers[0]), m1 = single_model_name(s.layers[1]);
            if (m0 == m1) return whole.at(m0)[static_cast<size_t>(d)];
            // Mixed models: layer 1 from A (pruned) would be best; else layer 1 from B.
            if (m1 == "A") return 0.0;
            return m1 == "B" ? 1.0 : 2.0;
        });
        SearchOptions o = search_options({"A", "B", "C", "D", "E"}, 2, 3);
        o.base_model_name = "base";
        o.max_models = 3;
        MergeReport report;
        struct Log : MergeEvents {
            std::string text;
            void log(LogLevel, std::string_view m) override { text += std::string(m) + "\n"; }
        } events;
        SearchHooks hooks;
        hooks.events = &events;
        const SearchResult res = run_search(o, scorer, report, hooks);
        QCOMPARE(res.state.base, std::string("base"));
        QCOMPARE(report.json()["search_pool"], nlohmann::json({"B", "C", "D"}));
        QVERIFY(events.text.find("max_models 3: the search uses B, C, D") != std::string::npos);
        // The base position scored the five and the base.
        QCOMPARE(report.json()["base_model"]["candidates"].size(), size_t{6});
        QCOMPARE(report.json()["base_model"]["name"].get<std::string>(), std::string("base"));
        for (const char* layer : {"0", "1"}) {
            const auto& order = report.json()["layers"][layer]["order"];
            QCOMPARE(order, nlohmann::json({"B", "C", "D"}));
        }
        QCOMPARE(single_model_name(res.state.layers[1]), std::string("B"));
        QCOMPARE(scorer.calls, planned_evaluations(o));
        QCOMPARE(planned_evaluations(o), (6 + 2 * 3) * 3LL);
    }

    void plannedEvaluationsCountsCandidates() {
        SearchOptions o = search_options({"base", "a", "b"}, 4, 2);
        QCOMPARE(planned_evaluations(o), (1 + 4 * 3) * 2LL);
        o.boundary_select = true;
        o.interpolate = {0.5};
        QCOMPARE(planned_evaluations(o), (1 + 6 + 4 * 6) * 2LL);
    }
};

QTEST_GUILESS_MAIN(TestSearch)
#include "test_search.moc"
