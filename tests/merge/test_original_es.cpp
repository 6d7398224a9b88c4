// ES fine-tuning (es_svd, es_norm) against the original OLM's own merge.
//
// tests/data/original/golden_es holds what olm.olm at commit 7731be5
// (github.com/jeffmeloy/olm) did on the tiny pool of tests/data/original with
// tensor_swap, es_svd (2 generations, sigma 0.5) and es_norm (1 generation,
// sigma 0.01): its merge_report.json, every offspring's scores and each
// generation's winner per tuned tensor, and the model it saved. It was made by
//   PYTHONHASHSEED=0 python tools/original-es-golden.py --original OLM_CHECKOUT
//       --data tests/data/original --out tests/data/original/golden_es   (one line)
// (torch 2.15, transformers 5.24, CPU), which seeds each tuning with the seed
// OLM Studio gives that tensor, breaks Copeland ties by pool order and hands the
// original's SVD a copy of the tensor (as on a GPU); the script says why. The
// tensor list is the original's whole parameter list: embed_tokens, every
// layer's units, the final norm and lm_head, each decided and tuned in turn.
//
// OLM Studio's merge of the same config must take the same decisions and the
// same winners, score every candidate and offspring as the original did
// (relative 1e-5), and export the tensors the original saved (1e-5 of each
// tensor's largest magnitude). A merge cut short in the middle of a generation
// and resumed must end with the same report.
#include <QtTest/QtTest>

#include "core/io/safetensors_reader.h"
#include "core/merge/config.h"
#include "core/merge/report.h"
#include "core/merge/run.h"
#include "core/util/json_text.h"
#include "merge/config_error.h"
#include "tests/support/test_files.h"

#include <ATen/ATen.h>
#include <cmath>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using namespace olm;
using Json = nlohmann::json;

namespace {

const fs::path kData = fs::path(OLM_TEST_DATA_DIR) / "original";
const std::vector<std::string> kDatasets = {"exact.json", "bigram.json", "exact2.json"};

fs::path write_config(const fs::path& dir) {
    const fs::path cfg = dir / "olm_config.yaml";
    olm::testing::write_text(cfg, "models_dir: " + (kData / "models").string() +
                                      "\nmodels: [olm-a, olm-b, olm-c, olm-d]\nbase_model_name: base\n"
                                      "output_dir: out\ndataset_dir: " +
                                      (kData / "datasets").string() +
                                      "\ndataset:\n"
                                      "  exact.json: {mode: exact_match, think: false}\n"
                                      "  bigram.json: {mode: bigram_loss, think: false}\n"
                                      "  exact2.json: {mode: exact_match, think: true}\n"
                                      "samples: 200\nlayer_swap: false\ntensor_swap: true\n"
                                      "es_svd: true\nes_svd_generations: 2\nes_svd_sigma: 0.5\n"
                                      "es_norm: true\nes_norm_generations: 1\nes_norm_sigma: 0.01\n"
                                      "safeguard: \"off\"\nreferences: false\ndtype: fp32\ndevice: cpu\n");
    return cfg;
}

// model.layers.3.self_attn.q_proj.weight -> 3.self_attn.q_proj; the boundary's
// model.embed_tokens.weight, model.norm.weight, lm_head.weight -> its part's name.
std::string unit_key(const std::string& name) {
    std::string rest = name.substr(0, name.size() - std::string(".weight").size());
    const std::string layers = "model.layers.";
    if (rest.rfind(layers, 0) == 0) return rest.substr(layers.size());
    if (rest.rfind("model.", 0) == 0) rest = rest.substr(std::string("model.").size());
    return rest;
}

double rel(double ours, double theirs) { return std::abs(ours - theirs) / std::max(std::abs(theirs), 1e-12); }

// Events that cancel the run after `after` ES offspring have been scored.
class CancelAfter : public MergeEvents {
public:
    CancelAfter(MergeRun** run, int after) : m_run(run), m_left(after) {}
    void merge_progress(const MergeProgress& p) override {
        if (p.detail.find(" offspring ") == std::string::npos ||
            p.detail.find(" on exact.json") == std::string::npos)
            return;
        if (--m_left == 0 && *m_run) (*m_run)->cancel();
    }

private:
    MergeRun** m_run;
    int m_left;
};

}  // namespace

class TestOriginalEs : public QObject {
    Q_OBJECT

private slots:
    void esMergeMatchesTheOriginal() {
        const Json golden = parse_json_text(olm::testing::read_text(kData / "golden_es" / "golden_es.json"));
        QTemporaryDir tmp;
        const MergeConfig c = load_merge_config(write_config(tmp.path().toStdString()));
        QVERIFY(c.es_svd && c.es_norm);
        MergeEvents ev;
        MergeRun(c, ev, {.resume = false, .force = false, .device = "", .export_model = true}).run();
        const Json got = parse_json_text(olm::testing::read_text(c.report_path()));

        // The boundary's parts are units of the original's list, decided and tuned like the layers'.
        for (const char* part : {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}) {
            QVERIFY2(golden["report"]["tensors"].contains(part), part);
            QVERIFY2(got["tensors"].contains(unit_key(part)), part);
        }
        double worst_candidate = 0, worst_offspring = 0, worst_result = 0;
        int tunings = 0, winners = 0, skipped = 0;
        for (const auto& [name, entry] : golden["report"]["tensors"].items()) {
            const std::string key = unit_key(name);
            const Json& mine = got["tensors"][key];
            const std::string best = entry["best_model"].get<std::string>();
            QCOMPARE(mine["best_model"].get<std::string>(), best);
            // The original overwrites its winner's scores with what ES left.
            for (const auto& ds : kDatasets)
                for (const auto& [model, v] : entry["metrics"][ds].items())
                    if (model != best)
                        worst_candidate = std::max(
                            worst_candidate,
                            rel(mine["candidates"][model]["scores"][ds].get<double>(), v.get<double>()));
            for (const auto& [kind, want] : golden["tunings"][key].items()) {
                const EsRun run = es_run_from_json(mine["es"][kind], key);
                const auto& scores = want["scores"];
                if (scores.empty()) {
                    // A 1-D tensor: the original skips it, and so must we.
                    QCOMPARE(run.population, 0);
                    QVERIFY(!run.skipped.empty());
                    ++skipped;
                    continue;
                }
                ++tunings;
                QCOMPARE(static_cast<int>(run.history.size()), run.generations);
                size_t k = 0;
                for (const EsGeneration& g : run.history)
                    for (const EsOffspring& o : g.offspring)
                        for (const auto& ds : kDatasets) {
                            QVERIFY2(k < scores.size(), qPrintable(QString::fromStdString(key + " " + kind)));
                            worst_offspring =
                                std::max(worst_offspring, rel(o.scores.at(ds), scores[k++].get<double>()));
                        }
                QCOMPARE(k, scores.size());
                // Each selection came after (generation + 1) * λ * datasets evaluations.
                std::vector<int> want_winners(static_cast<size_t>(run.generations), -1);
                for (const auto& s : want["selections"])
                    want_winners.at(
                        s[0].get<size_t>() / (static_cast<size_t>(run.population) * kDatasets.size()) - 1) =
                        s[1].get<int>();
                QCOMPARE(run.winners(), want_winners);
                for (int w : want_winners) winners += w >= 0 ? 1 : 0;
                for (const auto& ds : kDatasets)
                    worst_result =
                        std::max(worst_result, rel(run.result.at(ds), want["result"][ds].get<double>()));
            }
        }
        // The exported tensors are the original's saved ones.
        const auto theirs = SafetensorsFile::open(kData / "golden_es" / "model.safetensors");
        const auto ours = SafetensorsFile::open(c.output_dir / "merged" / "model.safetensors");
        double worst_tensor = 0;
        for (const TensorInfo& info : theirs->tensors()) {
            const at::Tensor a = theirs->tensor(info.name).to(at::kDouble);
            const at::Tensor b = ours->tensor(info.name).to(at::kDouble);
            QCOMPARE(a.sizes(), b.sizes());
            worst_tensor = std::max(worst_tensor, (a - b).abs().max().item<double>() /
                                                      std::max(a.abs().max().item<double>(), 1e-12));
        }
        QCOMPARE(ours->tensors().size(), theirs->tensors().size());
        qInfo(
            "%d tunings (%d skipped), %d winning generations as the original's; max relative error: "
            "candidates %.2e, offspring %.2e, results %.2e, exported tensors %.2e",
            tunings, skipped, winners, worst_candidate, worst_offspring, worst_result, worst_tensor);
        QVERIFY(tunings > 20);
        QVERIFY(winners > 20);
        QVERIFY(worst_candidate <= 1e-5);
        QVERIFY(worst_offspring <= 1e-5);
        QVERIFY(worst_result <= 1e-5);
        QVERIFY(worst_tensor <= 1e-5);
    }

    void cancelledInAGenerationResumesToTheSameReport() {
        QTemporaryDir full_dir, cut_dir;
        const MergeConfig full = load_merge_config(write_config(full_dir.path().toStdString()));
        const MergeConfig cut = load_merge_config(write_config(cut_dir.path().toStdString()));
        MergeEvents quiet;
        MergeRun(full, quiet, {.resume = false, .force = false, .device = "", .export_model = false}).run();

        // Cancelled in the second generation of the first tensor's es_svd: the
        // embeddings', [512, 32], λ = 14.
        MergeRun* current = nullptr;
        CancelAfter cancel(&current, 14 + 5);
        {
            MergeRun first(cut, cancel,
                           {.resume = false, .force = false, .device = "", .export_model = false});
            current = &first;
            QVERIFY_EXCEPTION_THROWN(first.run(), Cancelled);
            current = nullptr;
        }
        const Json partial = parse_json_text(olm::testing::read_text(cut.report_path()));
        const Json& open = partial["tensors"]["embed_tokens"]["es"]["es_svd"];
        QCOMPARE(open["history"].size(), size_t(2));
        QVERIFY(!open["history"][1].contains("winner"));
        QVERIFY(open["history"][1]["offspring"][3].is_object());
        QVERIFY(open["history"][1]["offspring"][13].is_null());

        MergeRun(cut, quiet, {.resume = true, .force = false, .device = "", .export_model = false}).run();
        const Json a = without_timings(parse_json_text(olm::testing::read_text(full.report_path())));
        const Json b = without_timings(parse_json_text(olm::testing::read_text(cut.report_path())));
        QCOMPARE(b["tensors"].dump(), a["tensors"].dump());
        QCOMPARE(b["recipe"].dump(), a["recipe"].dump());
        QCOMPARE(b["final"].dump(), a["final"].dump());
    }

    void badEsKeysAreRefusedByName_data() {
        QTest::addColumn<QString>("extra");
        QTest::addColumn<QString>("message");
        QTest::newRow("sigma 0") << "es_svd: true\nes_svd_sigma: 0\n"
                                 << "es_svd_sigma: must be a number above 0";
        QTest::newRow("generations 0") << "es_norm: true\nes_norm_generations: 0\n"
                                       << "es_norm_generations";
        QTest::newRow("with sweeps") << "es_svd: true\nsweeps: 2\n"
                                     << "cannot be combined with sweeps";
    }
    void badEsKeysAreRefusedByName() {
        QFETCH(QString, extra);
        QFETCH(QString, message);
        QTemporaryDir tmp;
        const std::string text =
            "models: [a]\ndataset: {x.json: {mode: exact}}\ntensor_swap: true\n" + extra.toStdString();
        const std::string error = olm::testing::config_error(text, tmp.path().toStdString());
        QVERIFY2(!error.empty(), "accepted");
        QVERIFY2(error.find(message.toStdString()) != std::string::npos, error.c_str());
        QVERIFY2(error.find("olm_config.yaml:") != std::string::npos, error.c_str());
    }

    void esWithoutTensorSwapWarns() {
        QTemporaryDir tmp;
        const MergeConfig c =
            parse_merge_config("models: [a]\ndataset: {x.json: {mode: exact}}\nes_svd: true\n",
                               tmp.path().toStdString(), "olm_config.yaml");
        bool warned = false;
        for (const auto& w : c.warnings)
            warned = warned || w.find("no effect without tensor_swap") != std::string::npos;
        QVERIFY(warned);
    }
};

QTEST_GUILESS_MAIN(TestOriginalEs)
#include "test_original_es.moc"
