// The whole merge against the original OLM's own: olm.olm at commit 7731be5
// (github.com/jeffmeloy/olm) ran layer_swap on the tiny pool of tests/data/original
// (base outside the pool, olm-a..olm-d, datasets exact_match, bigram_loss and
// exact_match with think: true) with selection ranks and with rank_sum; its
// merge_report.json files are in golden.json (see tests/eval/test_original_modes.cpp
// for the command). OLM Studio's merge of the same config must take the same
// base metrics, the same candidate scores (relative 1e-5) and the same choices.
#include <QtTest/QtTest>

#include "core/io/safetensors_reader.h"
#include "core/merge/config.h"
#include "core/merge/run.h"
#include "core/util/json_text.h"
#include "tests/support/test_files.h"

#include <QProcess>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace fs = std::filesystem;
using namespace olm;

namespace {

// The original's tiny pool (tests/data/original) and a config for it.
fs::path write_original_config(const fs::path& dir, const std::string& extra) {
    const fs::path data = fs::path(OLM_TEST_DATA_DIR) / "original";
    const fs::path cfg = dir / "olm_config.yaml";
    olm::testing::write_text(cfg, "models_dir: " + (data / "models").string() +
                                      "\nmodels: [olm-a, olm-b, olm-c, olm-d]\nbase_model_name: base\n"
                                      "output_dir: out\ndataset_dir: " +
                                      (data / "datasets").string() +
                                      "\ndataset:\n"
                                      "  exact.json: {mode: exact_match, think: false}\n"
                                      "  bigram.json: {mode: bigram_loss, think: false}\n" +
                                      extra);
    return cfg;
}

struct Cli {
    int code = -1;
    QString out;
};

Cli olm_cli(const QStringList& args) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(OLM_CLI_PATH, args);
    p.waitForFinished(120000);
    return {p.exitCode(), QString::fromUtf8(p.readAll())};
}

// "<module>.weight" / "<module>.bias" -> "<module>".
std::string module_of(const std::string& t) {
    for (const std::string s : {".weight", ".bias"})
        if (t.size() > s.size() && t.compare(t.size() - s.size(), s.size(), s) == 0)
            return t.substr(0, t.size() - s.size());
    return t;
}

}  // namespace

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
        const fs::path cfg = write_original_config(tmp.path().toStdString(),
                                                   "  exact2.json: {mode: exact_match, think: true}\n"
                                                   "layer_swap: true\ndirection: forward\nsamples: 200\n"
                                                   "selection: " +
                                                       selection.toStdString() +
                                                       "\nsafeguard: \"off\"\nreferences: false\n"
                                                       "dtype: fp32\ndevice: cpu\n");
        const MergeConfig c = load_merge_config(cfg);
        QVERIFY(c.base_outside_pool());
        MergeEvents ev;
        MergeRun(c, ev, {.resume = false, .force = false, .device = "", .export_model = false}).run();
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

    // improve_all against the original's own runs: olm.olm at commit 7731be5
    // on the same pool (layer_swap, selection ranks, fp32, PYTHONHASHSEED=0)
    // with improve_all all (both directions), base, and one mode, for two
    // orders of the datasets; its merge_report.json files are in
    // golden_gating.json. In the second order a degraded candidate's later
    // datasets are scored again (the original marks every dataset Infinity and
    // goes on, its comment notwithstanding) and the degraded olm-a wins layer 0
    // on them. OLM Studio must record the same Infinity cells, the same scores
    // (1e-5) and the same choices.
    void gatingMatchesTheOriginal_data() {
        QTest::addColumn<QString>("run");
        const fs::path data = fs::path(OLM_TEST_DATA_DIR) / "original";
        const auto golden = parse_json_text(olm::testing::read_text(data / "golden_gating.json"));
        for (const auto& [name, run] : golden["runs"].items())
            QTest::newRow(name.c_str()) << QString::fromStdString(name);
    }
    void gatingMatchesTheOriginal() {
        QFETCH(QString, run);
        const fs::path data = fs::path(OLM_TEST_DATA_DIR) / "original";
        const auto golden = parse_json_text(olm::testing::read_text(data / "golden_gating.json"));
        const auto& want = golden["runs"][run.toStdString()];
        std::string datasets = "dataset:\n";
        for (const auto& d : want["dataset_order"]) {
            const std::string n = d.get<std::string>();
            datasets += "  " + n + ": " +
                        (n == "bigram.json"  ? "{mode: bigram_loss, think: false}\n"
                         : n == "exact.json" ? "{mode: exact_match, think: false}\n"
                                             : "{mode: exact_match, think: true}\n");
        }
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const fs::path cfg = dir / "olm_config.yaml";
        olm::testing::write_text(
            cfg,
            "models_dir: " + (data / "models").string() +
                "\nmodels: [olm-a, olm-b, olm-c, olm-d]\nbase_model_name: base\noutput_dir: out\n"
                "dataset_dir: " +
                (data / "datasets").string() + "\n" + datasets +
                "layer_swap: true\nselection: ranks\nsamples: 200\nsafeguard: \"off\"\nreferences: false\n"
                "dtype: fp32\ndevice: cpu\nimprove_all: " +
                want["config"]["improve_all"].get<std::string>() +
                "\ndirection: " + want["config"]["direction"].get<std::string>() + "\n");
        const MergeConfig c = load_merge_config(cfg);
        MergeEvents ev;
        MergeRun(c, ev, {.resume = false, .force = false, .device = "", .export_model = false}).run();
        const auto got = parse_json_text(olm::testing::read_text(c.report_path()));
        double worst = 0;
        int infinities = 0;
        for (const auto& [layer, entry] : want["report"]["layers"].items()) {
            const auto& mine = got["layers"][layer];
            QCOMPARE(mine["best_model"].get<std::string>(), entry["best_model"].get<std::string>());
            for (const auto& [ds, per] : entry["metrics"].items())
                for (const auto& [model, v] : per.items()) {
                    const double theirs = v.get<double>();
                    const double ours = mine["candidates"][model]["scores"][ds].get<double>();
                    QVERIFY2(std::isinf(theirs) == std::isinf(ours),
                             qPrintable(QString::fromStdString("layer " + layer + " " + model + " " + ds)));
                    if (std::isinf(theirs)) {
                        ++infinities;
                        QCOMPARE(mine["candidates"][model]["status"].get<std::string>(),
                                 std::string("disqualified"));
                        continue;
                    }
                    worst = std::max(worst, std::abs(ours - theirs) / std::max(std::abs(theirs), 1e-12));
                }
        }
        qInfo("%s: choices as the original's, %d Infinity cells as its, max relative score error %.2e",
              qPrintable(run), infinities, worst);
        QVERIFY(worst <= 1e-5);
    }

    // olm export --report on the original's own report (golden.json's "ranks"
    // merge, as olm.py wrote it) plus a tensors section in the form olm.py's
    // save_tensor_state writes (full tensor names, Python's Infinity for a
    // degraded candidate). Every exported tensor must be the bytes of the model
    // the original's get_model_from_merge_report takes it from: the base, the
    // boundary from boundary_layers, each layer from its best_model, each
    // recorded tensor's module (weight and bias) from its best_model. The rule
    // is applied here to the tensor names directly.
    void exportRebuildsTheOriginalsReport() {
        const fs::path data = fs::path(OLM_TEST_DATA_DIR) / "original";
        auto report = nlohmann::json::parse(olm::testing::read_text(data / "golden.json"))["merges"]["ranks"];
        report["boundary_layers"] = {{"name", "olm-c"},
                                     {"metrics", {{"exact.json", 1.0}, {"bigram.json", 2.0}}}};
        const std::map<std::string, std::string> tensor_choice = {
            {"model.embed_tokens.weight", "olm-b"},
            {"model.layers.1.self_attn.q_proj.weight", "olm-d"},  // Qwen2: q_proj has a bias too
            {"model.layers.0.mlp.down_proj.weight", "olm-b"},
            {"model.layers.1.post_attention_layernorm.weight", "olm-b"},
            {"lm_head.weight", "olm-d"},
        };
        nlohmann::json tensors = nlohmann::json::object();
        for (const auto& [t, m] : tensor_choice)
            tensors[t] = {{"metrics", {{"exact.json", {{"olm-a", 1.5}, {m, 1.25}, {"olm-c", 7.0}}}}},
                          {"best_model", m}};
        report["tensors"] = tensors;
        std::string text = report.dump(4);
        const std::string seven = "7.0";  // olm-c's score becomes Python's Infinity literal
        for (auto at = text.find(seven); at != std::string::npos; at = text.find(seven, at))
            text.replace(at, seven.size(), "Infinity");
        QVERIFY(text.find("Infinity") != std::string::npos);

        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const fs::path cfg = write_original_config(dir, "tensor_swap: true\nlayer_swap: true\n");
        const fs::path rep = dir / "merge_report.json";
        olm::testing::write_text(rep, text);
        const fs::path out = dir / "exported";

        const Cli no_config = olm_cli({"export", "--report", QString::fromStdString(rep.string()), "--out",
                                       QString::fromStdString(out.string())});
        QVERIFY(no_config.code != 0);
        QVERIFY2(no_config.out.contains("original OLM") && no_config.out.contains("--config"),
                 qPrintable(no_config.out));
        QVERIFY(!fs::exists(out / "model.safetensors"));

        const Cli r =
            olm_cli({"export", "--report", QString::fromStdString(rep.string()), "--out",
                     QString::fromStdString(out.string()), "--config", QString::fromStdString(cfg.string())});
        QVERIFY2(r.code == 0, qPrintable(r.out));

        auto source_of = [&](const std::string& t) -> std::string {
            if (auto it = tensor_choice.find(module_of(t) + ".weight"); it != tensor_choice.end())
                return it->second;
            const std::string prefix = "model.layers.";
            if (t.rfind(prefix, 0) == 0) {
                const std::string layer = t.substr(prefix.size(), t.find('.', prefix.size()) - prefix.size());
                return report["layers"].contains(layer)
                           ? report["layers"][layer]["best_model"].get<std::string>()
                           : std::string("base");
            }
            return "olm-c";  // boundary_layers
        };
        const auto exported = SafetensorsFile::open(out / "model.safetensors");
        int from_units = 0;
        std::set<std::string> sources;
        for (const TensorInfo& info : exported->tensors()) {
            const std::string src = source_of(info.name);
            sources.insert(src);
            if (tensor_choice.count(module_of(info.name) + ".weight")) ++from_units;
            const auto want = SafetensorsFile::open(data / "models" / src / "model.safetensors");
            const TensorInfo& w = want->info(info.name);
            QVERIFY2(w.bytes() == info.bytes() &&
                         std::memcmp(want->data(w), exported->data(info), info.bytes()) == 0,
                     qPrintable(QString::fromStdString(info.name + " is not " + src + "'s")));
        }
        QCOMPARE(from_units, 6);  // five modules, q_proj with its bias
        QCOMPARE(sources, (std::set<std::string>{"olm-a", "olm-b", "olm-c", "olm-d"}));
        QCOMPARE(static_cast<int>(exported->tensors().size()),
                 static_cast<int>(
                     SafetensorsFile::open(data / "models/base/model.safetensors")->tensors().size()));
        // The card and the recipe say where each part came from.
        const std::string card = olm::testing::read_text(out / "README.md");
        QVERIFY(card.find("| embed_tokens | olm-b |") != std::string::npos);
        QVERIFY(card.find("| layer 1.self_attn.q_proj | olm-d |") != std::string::npos);
        QVERIFY(card.find("olm-a, olm-b, olm-c, olm-d") != std::string::npos);
    }

    // --resume on the original's own report of an unfinished merge (golden.json's
    // "ranks" run cut after layer 0): the layer it decided is kept as it decided
    // it, evaluated nowhere, and the rest is searched here, so the finished merge
    // is the original's whole run (layer 1 with its choice and its scores, 1e-5).
    // With a planted decision the original's search would not make (layer 0 from
    // olm-d), that decision is what the merge keeps. The original's file is kept
    // byte for byte beside the new report.
    void resumeContinuesTheOriginalsReport_data() {
        QTest::addColumn<QString>("layer0");
        QTest::newRow("the original's own choice") << "";
        QTest::newRow("a planted choice") << "olm-d";
    }
    void resumeContinuesTheOriginalsReport() {
        QFETCH(QString, layer0);
        const fs::path data = fs::path(OLM_TEST_DATA_DIR) / "original";
        const auto whole =
            nlohmann::json::parse(olm::testing::read_text(data / "golden.json"))["merges"]["ranks"];
        auto cut = whole;
        cut["layers"].erase("1");
        if (!layer0.isEmpty()) cut["layers"]["0"]["best_model"] = layer0.toStdString();
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const fs::path cfg = write_original_config(
            dir,
            "  exact2.json: {mode: exact_match, think: true}\nlayer_swap: true\ndirection: forward\n"
            "samples: 200\nselection: ranks\nsafeguard: \"off\"\nreferences: false\ndtype: fp32\n"
            "device: cpu\n");
        const MergeConfig c = load_merge_config(cfg);
        fs::create_directories(c.output_dir);
        const std::string original_text = cut.dump(4);
        olm::testing::write_text(c.report_path(), original_text);

        struct Counter : MergeEvents {
            std::vector<std::string> logs;
            void log(LogLevel, std::string_view m) override { logs.emplace_back(m); }
        } ev;
        MergeRun run(c, ev, {.resume = true, .force = false, .device = "", .export_model = false});
        run.run();
        const auto got = nlohmann::json::parse(olm::testing::read_text(c.report_path()));
        QCOMPARE(olm::testing::read_text(c.output_dir / "merge_report.original.json"), original_text);
        QCOMPARE(got["continues"].get<std::string>(), std::string("merge_report.original.json"));
        bool said = false;
        for (const auto& l : ev.logs)
            said = said || l.find("written by the original OLM") != std::string::npos;
        QVERIFY(said);

        // Layer 0: as the report decided it, with the report's scores, nothing evaluated.
        const std::string want0 = layer0.isEmpty() ? std::string("olm-a") : layer0.toStdString();
        QCOMPARE(got["layers"]["0"]["best_model"].get<std::string>(), want0);
        QVERIFY(got["layers"]["0"]["imported"].get<bool>());
        QCOMPARE(got["recipe"]["layers"]["0"], nlohmann::json({{want0, 1.0}}));
        for (const auto& [ds, per] : cut["layers"]["0"]["metrics"].items())
            for (const auto& [model, v] : per.items()) {
                QCOMPARE(got["layers"]["0"]["candidates"][model]["scores"][ds].get<double>(),
                         v.get<double>());
                QVERIFY(!got["layers"]["0"]["candidates"][model].contains("seconds"));
            }
        QVERIFY(!got["layers"]["1"].contains("imported"));
        if (!layer0.isEmpty()) return;
        // Layer 1, searched here, is the original's.
        const auto& want = whole["layers"]["1"];
        QCOMPARE(got["layers"]["1"]["best_model"].get<std::string>(), want["best_model"].get<std::string>());
        double worst = 0;
        for (const auto& [ds, per] : want["metrics"].items())
            for (const auto& [model, v] : per.items()) {
                const double ours = got["layers"]["1"]["candidates"][model]["scores"][ds].get<double>();
                worst = std::max(
                    worst, std::abs(ours - v.get<double>()) / std::max(std::abs(v.get<double>()), 1e-12));
            }
        qInfo("layer 1 after resuming the original's report: max relative score error %.2e", worst);
        QVERIFY(worst <= 1e-5);
    }

    // --resume on the original's tensor-wise report cut after its first unit,
    // model.embed_tokens.weight (golden_es's, with a planted choice): the
    // embeddings are the imported position tensors.embed_tokens, kept as the
    // report decided them and evaluated nowhere; the search goes on with the
    // layers' units, the final norm and lm_head.
    void resumeContinuesATensorWiseReportAtTheEmbeddings() {
        const fs::path data = fs::path(OLM_TEST_DATA_DIR) / "original";
        const auto whole =
            nlohmann::json::parse(olm::testing::read_text(data / "golden_es" / "golden_es.json"))["report"];
        nlohmann::json cut = {
            {"base_model", whole["base_model"]},
            {"tensors", {{"model.embed_tokens.weight", whole["tensors"]["model.embed_tokens.weight"]}}}};
        cut["tensors"]["model.embed_tokens.weight"]["best_model"] = "olm-c";
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const MergeConfig c = load_merge_config(write_original_config(
            dir,
            "  exact2.json: {mode: exact_match, think: true}\nlayer_swap: false\ntensor_swap: true\n"
            "samples: 200\nsafeguard: \"off\"\nreferences: false\ndtype: fp32\ndevice: cpu\n"));
        fs::create_directories(c.output_dir);
        olm::testing::write_text(c.report_path(), cut.dump(4));
        MergeEvents quiet;
        MergeRun(c, quiet, {.resume = true, .force = false, .device = "", .export_model = false}).run();
        const auto got = nlohmann::json::parse(olm::testing::read_text(c.report_path()));
        const auto& embed = got["tensors"]["embed_tokens"];
        QVERIFY(embed["imported"].get<bool>());
        QCOMPARE(embed["best_model"].get<std::string>(), std::string("olm-c"));
        QVERIFY(!embed["candidates"]["olm-a"].contains("seconds"));  // not evaluated here
        QCOMPARE(got["recipe"]["boundary_parts"]["embed_tokens"], nlohmann::json({{"olm-c", 1.0}}));
        for (const char* unit : {"0.self_attn.q_proj", "1.post_attention_layernorm", "norm", "lm_head"}) {
            QVERIFY2(got["tensors"].contains(unit), unit);
            QVERIFY2(!got["tensors"][unit].contains("imported"), unit);
            QVERIFY2(got["tensors"][unit]["candidates"]["olm-a"].contains("seconds"), unit);
        }
    }

    // A report naming what the pool or the model does not have is refused by name.
    void badOriginalReportsAreRefusedByName_data() {
        QTest::addColumn<QString>("edit");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown model") << "layers.1.best_model=olm-z"
                                       << "layers[\"1\"] names 'olm-z'";
        QTest::newRow("layer outside the model") << "layers.7.best_model=olm-a"
                                                 << "layers[\"7\"] is not a layer";
        QTest::newRow("unknown tensor") << "tensors.model.layers.0.self_attn.qkv_proj.weight=olm-a"
                                        << "model.layers.0.self_attn.qkv_proj.weight\"] is not a tensor of "
                                           "Qwen2ForCausalLM";
    }
    void badOriginalReportsAreRefusedByName() {
        QFETCH(QString, edit);
        QFETCH(QString, message);
        const fs::path data = fs::path(OLM_TEST_DATA_DIR) / "original";
        auto report = nlohmann::json::parse(olm::testing::read_text(data / "golden.json"))["merges"]["ranks"];
        const std::string e = edit.toStdString();
        const auto eq = e.find('=');
        const std::string section = e.substr(0, e.find('.'));
        std::string key = e.substr(section.size() + 1, eq - section.size() - 1);
        if (section == "layers") key = key.substr(0, key.find('.'));
        report[section][key] = {{"metrics", nlohmann::json::object()}, {"best_model", e.substr(eq + 1)}};
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const fs::path cfg = write_original_config(dir, "layer_swap: true\n");
        olm::testing::write_text(dir / "merge_report.json", report.dump());
        const Cli r =
            olm_cli({"export", "--report", QString::fromStdString((dir / "merge_report.json").string()),
                     "--out", QString::fromStdString((dir / "exported").string()), "--config",
                     QString::fromStdString(cfg.string())});
        QVERIFY(r.code != 0);
        QVERIFY2(r.out.contains(message), qPrintable(r.out));
        QVERIFY(!fs::exists(dir / "exported" / "model.safetensors"));
    }
};

QTEST_GUILESS_MAIN(TestOriginalMerge)
#include "test_original_merge.moc"
