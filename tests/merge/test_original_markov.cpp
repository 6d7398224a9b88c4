// The markov window search against the original OLM's model_scanner.py.
//
// tests/data/original/golden_markov.json holds what model_scanner.olm at commit
// 7731be5 (github.com/jeffmeloy/olm) did on the tiny pool of tests/data/original
// with layer_swap and markov: 1, forward and backward: every window
// combination's scores and the combination its rank_models put first. It was made by
//   python tools/original-markov-golden.py --original OLM_CHECKOUT
//       --data tests/data/original --out tests/data/original/golden_markov.json   (one line)
// (torch 2.15, transformers 5.24, CPU), which scores exact_match with olm.py's
// formula (OLM Studio's; model_scanner.py's own differs) and breaks rank_models's
// last ties by scoring order; the script says why.
//
// OLM Studio's merge of the same config must visit the same windows, score every
// combination as the original did (relative 1e-5), choose the same combination
// in every window (a later window re-deciding an earlier layer included) and end
// with the original's layers.
#include <QtTest/QtTest>

#include "core/merge/config.h"
#include "core/merge/report.h"
#include "core/merge/run.h"
#include "core/util/json_text.h"
#include "merge/config_error.h"
#include "tests/support/test_files.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using namespace olm;
using Json = nlohmann::json;

namespace {

const fs::path kData = fs::path(OLM_TEST_DATA_DIR) / "original";

fs::path write_config(const fs::path& dir, const std::string& direction, const std::string& extra = "") {
    const fs::path cfg = dir / "olm_config.yaml";
    olm::testing::write_text(
        cfg, "models_dir: " + (kData / "models").string() +
                 "\nmodels: [olm-a, olm-b, olm-c, olm-d]\nbase_model_name: olm-a\n"
                 "output_dir: out\ndataset_dir: " +
                 (kData / "datasets").string() +
                 "\ndataset:\n"
                 "  exact.json: {mode: exact_match, think: false}\n"
                 "  exact2.json: {mode: exact_match, think: true}\n"
                 "samples: 200\nlayer_swap: true\ntensor_swap: false\nmarkov: 1\n"
                 "direction: " +
                 direction + "\nsafeguard: \"off\"\nreferences: false\ndtype: fp32\ndevice: cpu\n" + extra);
    return cfg;
}

// "window_0-1_combo_3" -> "0-1", the window position's report key.
std::string window_key(const std::string& combo) {
    const std::string head = "window_";
    return combo.substr(head.size(), combo.find("_combo_") - head.size());
}

}  // namespace

class TestOriginalMarkov : public QObject {
    Q_OBJECT

private slots:
    void windowSearchMatchesTheOriginal_data() {
        QTest::addColumn<QString>("direction");
        QTest::newRow("forward") << "forward";
        QTest::newRow("backward") << "backward";
    }
    void windowSearchMatchesTheOriginal() {
        QFETCH(QString, direction);
        const Json golden = parse_json_text(
            olm::testing::read_text(kData / "golden_markov.json"))["runs"][direction.toStdString()];
        QTemporaryDir tmp;
        const MergeConfig c =
            load_merge_config(write_config(tmp.path().toStdString(), direction.toStdString()));
        QCOMPARE(c.markov, int64_t(1));
        MergeEvents quiet;
        MergeRun(c, quiet, {.resume = false, .force = false, .device = "", .export_model = false}).run();
        const Json got = parse_json_text(olm::testing::read_text(c.report_path()));

        // Every combination, scored as the original scored it.
        double worst = 0;
        int combos = 0;
        for (const auto& [name, scores] : golden["combos"].items()) {
            const Json& cand = got["layers"][window_key(name)]["candidates"];
            QVERIFY2(cand.contains(name), name.c_str());
            for (const auto& [ds, v] : scores.items()) {
                const double ours = cand[name]["scores"][ds].get<double>();
                worst = std::max(
                    worst, std::abs(ours - v.get<double>()) / std::max(std::abs(v.get<double>()), 1e-12));
            }
            ++combos;
        }
        QCOMPARE(combos, 4 + 16);  // a window of one layer, then of two, over 4 models
        // The windows in the original's order, each won by the original's combination
        // (rank_models is called twice per window; the first call is the base's).
        std::vector<std::string> winners;
        for (size_t i = 1; i < golden["winners"].size(); ++i) {
            const std::string w = golden["winners"][i].get<std::string>();
            if (winners.empty() || winners.back() != w) winners.push_back(w);
        }
        QCOMPARE(winners.size(), size_t(2));
        for (const auto& w : winners)
            QCOMPARE(got["layers"][window_key(w)]["best_model"].get<std::string>(), w);
        QCOMPARE(got["layers"].size(), size_t(2));
        // The merge ends with the original's layers.
        for (const auto& [layer, entry] : golden["report"]["layers"].items())
            QCOMPARE(got["recipe"]["layers"][layer], Json({{entry["best_model"].get<std::string>(), 1.0}}));
        qInfo("%s: %d combinations, max relative score error %.2e; winners %s, %s", qPrintable(direction),
              combos, worst, winners[0].c_str(), winners[1].c_str());
        QVERIFY(worst <= 1e-5);
    }

    // The window search resumes like any position: a run cut in the middle of
    // the second window ends with the same report as one that was not.
    void windowSearchResumesExactly() {
        QTemporaryDir full_dir, cut_dir;
        const MergeConfig full = load_merge_config(write_config(full_dir.path().toStdString(), "forward"));
        const MergeConfig cut = load_merge_config(write_config(cut_dir.path().toStdString(), "forward"));
        MergeEvents quiet;
        MergeRun(full, quiet, {.resume = false, .force = false, .device = "", .export_model = false}).run();
        struct CancelAt : MergeEvents {
            MergeRun* run = nullptr;
            int seen = 0;
            void candidate_finished(const CandidateEvent& c, const CandidateResult&) override {
                if (c.position.window() && c.position.window_last == 1 && ++seen == 7 && run) run->cancel();
            }
        } cancel;
        {
            MergeRun first(cut, cancel,
                           {.resume = false, .force = false, .device = "", .export_model = false});
            cancel.run = &first;
            QVERIFY_EXCEPTION_THROWN(first.run(), Cancelled);
        }
        const Json partial = parse_json_text(olm::testing::read_text(cut.report_path()));
        QVERIFY(partial["layers"].contains("0-1"));
        QVERIFY(!partial["layers"]["0-1"].contains("best_model"));
        MergeRun(cut, quiet, {.resume = true, .force = false, .device = "", .export_model = false}).run();
        const Json a = without_timings(parse_json_text(olm::testing::read_text(full.report_path())));
        const Json b = without_timings(parse_json_text(olm::testing::read_text(cut.report_path())));
        QCOMPARE(b["layers"].dump(), a["layers"].dump());
        QCOMPARE(b["recipe"].dump(), a["recipe"].dump());
    }

    // --dry-run counts every combination of every window and names the
    // presets the window search cannot be combined with.
    void dryRunCountsTheWindows() {
        QTemporaryDir tmp;
        const MergeConfig c = load_merge_config(write_config(tmp.path().toStdString(), "forward"));
        MergeEvents quiet;
        const MergePlan plan =
            MergeRun(c, quiet, {.resume = false, .force = false, .device = "", .export_model = false})
                .dry_run(false);
        QCOMPARE(plan.evaluations, (1 + 4 + 16) * 2LL);  // the base, then windows of one and two layers
        QVERIFY2(plan.text.find("up to 16 combinations of pool models per layer") != std::string::npos,
                 plan.text.c_str());
        QVERIFY2(plan.text.find("better refused (markov takes no blends)") != std::string::npos,
                 plan.text.c_str());
    }

    // What the window search cannot be combined with is refused by name.
    void badMarkovConfigsAreRefusedByName_data() {
        QTest::addColumn<QString>("extra");
        QTest::addColumn<QString>("message");
        QTest::newRow("negative") << "markov: -1\n"
                                  << "markov";
        QTest::newRow("with a preset's blends") << "markov: 1\nsearch: better\n"
                                                << "cannot be combined with interpolate";
        QTest::newRow("with sweeps") << "markov: 1\nsweeps: 2\n"
                                     << "sweeps above 1";
        QTest::newRow("too many combinations") << "markov: 12\n"
                                               << "more than a million combinations";
    }
    void badMarkovConfigsAreRefusedByName() {
        QFETCH(QString, extra);
        QFETCH(QString, message);
        QTemporaryDir tmp;
        const std::string text =
            "models: [a, b, c]\ndataset: {x.json: {mode: exact}}\n" + extra.toStdString();
        const std::string error = olm::testing::config_error(text, tmp.path().toStdString());
        QVERIFY2(!error.empty(), "accepted");
        QVERIFY2(error.find(message.toStdString()) != std::string::npos, error.c_str());
        QVERIFY2(error.find("olm_config.yaml:") != std::string::npos, error.c_str());
    }
};

QTEST_GUILESS_MAIN(TestOriginalMarkov)
#include "test_original_markov.moc"
