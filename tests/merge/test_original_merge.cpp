// The whole merge against the original OLM's own: olm.olm at commit 7731be5
// (github.com/jeffmeloy/olm) ran layer_swap on the tiny pool of tests/data/original
// (base outside the pool, olm-a..olm-d, datasets exact_match, bigram_loss and
// exact_match with think: true) with selection ranks and with rank_sum; its
// merge_report.json files are in golden.json (see tests/eval/test_original_modes.cpp
// for the command). OLM Studio's merge of the same config must take the same
// base metrics, the same candidate scores (relative 1e-5) and the same choices.
#include <QtTest/QtTest>

#include "core/merge/config.h"
#include "core/merge/run.h"
#include "tests/support/test_files.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using namespace olm;

class TestOriginalMerge : public QObject {
    Q_OBJECT

private slots:
    void mergeMatchesTheOriginal_data() {
        QTest::addColumn<QString>("selection");
        QTest::newRow("ranks (Copeland at layers)") << "ranks";
        QTest::newRow("rank_sum") << "rank_sum";
    }
    void mergeMatchesTheOriginal() {
        QFETCH(QString, selection);
        const fs::path data = fs::path(OLM_TEST_DATA_DIR) / "original";
        const auto golden = nlohmann::json::parse(olm::testing::read_text(data / "golden.json"));
        const auto& want = golden["merges"][selection.toStdString()];
        QTemporaryDir tmp;
        const fs::path cfg = fs::path(tmp.path().toStdString()) / "olm_config.yaml";
        olm::testing::write_text(cfg,
                                 "models_dir: " + (data / "models").string() +
                                     "\nmodels: [olm-a, olm-b, olm-c, olm-d]\nbase_model_name: base\n"
                                     "output_dir: out\ndataset_dir: " +
                                     (data / "datasets").string() +
                                     "\ndataset:\n"
                                     "  exact.json: {mode: exact_match, think: false}\n"
                                     "  bigram.json: {mode: bigram_loss, think: false}\n"
                                     "  exact2.json: {mode: exact_match, think: true}\n"
                                     "layer_swap: true\ndirection: forward\nsamples: 200\nselection: " +
                                     selection.toStdString() +
                                     "\nsafeguard: \"off\"\nreferences: false\ndtype: fp32\ndevice: cpu\n");
        const MergeConfig c = load_merge_config(cfg);
        QVERIFY(c.base_outside_pool());
        MergeEvents ev;
        MergeRun(c, ev, {.export_model = false}).run();
        const auto got = nlohmann::json::parse(olm::testing::read_text(c.report_path()));
        double worst = 0;
        auto check = [&](double ours, double theirs) {
            worst = std::max(worst, std::abs(ours - theirs) / std::max(std::abs(theirs), 1e-12));
        };
        QCOMPARE(got["base_model"]["name"].get<std::string>(), std::string("base"));
        for (const auto& [ds, v] : want["base_model"]["metrics"].items())
            check(got["base_model"]["metrics"][ds].get<double>(), v.get<double>());
        for (const auto& [layer, entry] : want["layers"].items()) {
            const auto& mine = got["layers"][layer];
            QCOMPARE(mine["best_model"].get<std::string>(), entry["best_model"].get<std::string>());
            for (const auto& [ds, per] : entry["metrics"].items())
                for (const auto& [model, v] : per.items())
                    check(mine["candidates"][model]["scores"][ds].get<double>(), v.get<double>());
            // The base outside the pool is never a candidate.
            QVERIFY(!mine["candidates"].contains("base"));
        }
        qInfo("selection %s: choices as the original's, max relative score error %.2e", qPrintable(selection),
              worst);
        QVERIFY(worst <= 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestOriginalMerge)
#include "test_original_merge.moc"
