// The merge config: original OLM configs load unchanged, new keys default,
// presets resolve, save/load round-trips, and every error names its line.
#include <QtTest/QtTest>

#include "core/merge/config.h"
#include "core/merge/config_keys.h"
#include "core/util/error.h"
#include "tests/support/test_files.h"

#include <nlohmann/json.hpp>

using namespace olm;
namespace fs = std::filesystem;

class TestConfig : public QObject {
    Q_OBJECT
private slots:
    // YAML is printable UTF-8 text: other bytes (which yaml-cpp would read into
    // strings it cannot write back) are refused with the line and the byte.
    void nonTextIsRefused() {
        const std::vector<std::pair<std::string, std::string>> rows = {
            {"models: [a]\ndataset:\n  x\x1d.json: {mode: exact}\n",
             "merge.yaml:3: invalid YAML: character U+001D"},
            {"models: [a]\ndataset:\n  x\x7f.json: {mode: exact}\n",
             "merge.yaml:3: invalid YAML: character U+007F"},
            {"models: [a\x9e]\n", "merge.yaml:1: invalid YAML: byte 0x9E is not UTF-8 text"},
            {"models: [a]\nseed: 1\n\xff\n", "merge.yaml:3: invalid YAML: byte 0xFF is not UTF-8 text"},
            {"models: [\xed\xa0\x80]\n", "merge.yaml:1: invalid YAML: character U+D800"},
        };
        for (const auto& [text, want] : rows) {
            std::string err;
            try {
                (void)olm::parse_merge_config(text, "/tmp", "merge.yaml");
            } catch (const olm::Error& e) {
                err = e.what();
            }
            QVERIFY2(err.rfind(want, 0) == 0, (err + " / expected " + want).c_str());
        }
        // printable Unicode (a BOM, CJK, an emoji) is text
        const olm::MergeConfig c = olm::parse_merge_config(
            "\xef\xbb\xbfmodels: [\xe6\xa8\xa1\xe5\x9e\x8b, \xf0\x9f\x98\x80]\ndataset:\n  x.json: {mode: "
            "exact}\n",
            "/tmp", "merge.yaml");
        QCOMPARE(c.models.size(), size_t(2));
    }
    void originalConfigLoads() {
        const std::string text = R"(models_dir: ./models
output_dir: ./merged
dataset_dir: ./datasets
models:
  - org/model-a
  - org/model-b
dataset:
  math.json:
    mode: exact
  chat.json:
    mode: quality
direction: backward
base_model_name: org/model-a
base_select: false
boundary_select: true
layer_swap: true
tensor_swap: false
skip_norm: true
improve_all: base
samples: 50
selection: copeland
load_merge_report: false
)";
        const MergeConfig c = parse_merge_config(text, "/cfg");
        QVERIFY(c.warnings.empty());
        QCOMPARE(c.models_dir.string(), std::string("/cfg/models"));
        QCOMPARE(c.output_dir.string(), std::string("/cfg/merged"));
        QCOMPARE(c.datasets.size(), size_t(2));
        QCOMPARE(c.datasets[0].name, std::string("math.json"));  // file order kept
        QCOMPARE(c.datasets[0].path.string(), std::string("/cfg/datasets/math.json"));
        QCOMPARE(c.datasets[1].mode, std::string("quality"));
        QCOMPARE(c.direction, std::string("backward"));
        QVERIFY(c.boundary_select);
        QCOMPARE(c.improve_all, std::string("base"));
        QCOMPARE(c.samples, int64_t(50));
        QCOMPARE(c.selection, std::string("copeland"));
        // '/' -> '_' under models_dir
        QCOMPARE(c.model_paths()[1].string(), std::string("/cfg/models/org_model-b"));
        // new keys keep their defaults; the default preset is the original search
        QVERIFY(c.device.empty());  // auto: a GPU when libtorch has one
        QVERIFY(c.dtype.empty());   // auto: bfloat16 there, else float32
        QVERIFY(c.prefix_cache);
        QVERIFY(c.effective_interpolate().empty());
        QCOMPARE(c.effective_sweeps(), 1);
        QCOMPARE(c.safeguard, std::string("warn"));
    }

    // The original's own spellings and defaults.
    void originalSpellingsAndDefaults() {
        const std::string head = "models: [a, b]\ndataset: {x.json: {mode: exact_match, think: true}}\n";
        const MergeConfig d = parse_merge_config(head, "/c");
        QVERIFY(!d.layer_swap && !d.tensor_swap && !d.skip_norm);  // as its code's defaults
        QVERIFY(d.datasets[0].think);
        QVERIFY(d.warnings.empty());
        QVERIFY(!parse_merge_config("models: [a]\ndataset: {x.json: {mode: diversity}}\n", "/c")
                     .datasets[0]
                     .think);
        for (const auto& [spelled, canonical] :
             std::vector<std::pair<std::string, std::string>>{{"fp32", "float32"},
                                                              {"bf16", "bfloat16"},
                                                              {"fp16", "float16"},
                                                              {"float32", "float32"},
                                                              {"bfloat16", "bfloat16"},
                                                              {"float16", "float16"},
                                                              {"auto", ""}})
            QCOMPARE(parse_merge_config(head + "dtype: " + spelled + "\n", "/c").dtype, canonical);
        // A base outside the pool is resolved like a pool entry and is no candidate.
        const MergeConfig out = parse_merge_config(head + "base_model_name: org/base\n", "/c");
        QVERIFY(out.base_outside_pool());
        QCOMPARE(out.base_path().string(), std::string("/c/org_base"));
        QCOMPARE(out.base_display_name(), std::string("org/base"));
        const MergeConfig in = parse_merge_config(head + "base_model_name: b\n", "/c");
        QVERIFY(!in.base_outside_pool());
        QCOMPARE(in.base_path().string(), std::string("/c/b"));
        // The original's key without an implementation is a warning, not an error;
        // its ES keys are read with the original's defaults.
        const MergeConfig es =
            parse_merge_config(head + "es_svd: false\nmetric_dir: ./m\nmax_models: 25\n", "/c");
        QCOMPARE(es.warnings.size(), size_t(1));
        QVERIFY(es.warnings[0].find("'metric_dir' of the original OLM ignored") != std::string::npos);
        QVERIFY(!es.es_svd && !es.es_norm);
        QCOMPARE(es.es_svd_generations, int64_t{1});
        QCOMPARE(es.es_svd_sigma, 0.5);
        QCOMPARE(es.es_norm_generations, int64_t{1});
        QCOMPARE(es.es_norm_sigma, 0.01);
        const MergeConfig tuned = parse_merge_config(
            head +
                "tensor_swap: true\nes_svd: true\nes_svd_generations: 3\nes_svd_sigma: 0.25\nes_norm: true\n"
                "es_norm_sigma: 0.02\nes_seed: 7\n",
            "/c");
        QVERIFY(tuned.warnings.empty());
        QVERIFY(tuned.es_svd && tuned.es_norm);
        QCOMPARE(tuned.es_svd_generations, int64_t{3});
        QCOMPARE(tuned.es_svd_sigma, 0.25);
        QCOMPARE(tuned.es_norm_sigma, 0.02);
        QCOMPARE(tuned.es_seed, uint64_t{7});
        // They decide the result: part of the config hash, and kept by a save.
        QVERIFY(merge_config_hash(tuned) !=
                merge_config_hash(parse_merge_config(head + "tensor_swap: true\n", "/c")));
        QCOMPARE(merge_config_hash(parse_merge_config(merge_config_to_yaml(tuned, "/c"), "/c")),
                 merge_config_hash(tuned));
        QCOMPARE(es.max_models, int64_t{25});  // model_scanner.py's pool pruning
        QCOMPARE(parse_merge_config(head, "/c").max_models, int64_t{0});
        // Any selection value but the known ones is the original's rank sum, with a warning.
        const MergeConfig sel = parse_merge_config(head + "selection: sum\n", "/c");
        QCOMPARE(sel.selection, std::string("rank_sum"));
        QCOMPARE(sel.warnings.size(), size_t(1));
    }

    void presetsAndOverrides() {
        const std::string head = "models: [a, b]\ndataset: {x.json: {mode: bigram}}\n";
        auto better = parse_merge_config(head + "search: better\n", "/c");
        QCOMPARE(better.effective_interpolate(), std::vector<double>{0.5});
        QVERIFY(better.effective_task_arithmetic());
        QCOMPARE(better.effective_sweeps(), 1);
        auto thorough = parse_merge_config(head + "search: thorough\ninterpolate: [0.25, 0.5]\n", "/c");
        QCOMPARE(thorough.effective_sweeps(), 3);
        QCOMPARE(thorough.effective_interpolate(), (std::vector<double>{0.25, 0.5}));
        auto explicit_sweeps =
            parse_merge_config(head + "search: thorough\nsweeps: 2\ntask_arithmetic: false\n", "/c");
        QCOMPARE(explicit_sweeps.effective_sweeps(), 2);
        QVERIFY(!explicit_sweeps.effective_task_arithmetic());
        // Selection: the original's rank sum, geomean for better and thorough, an explicit key wins.
        QCOMPARE(parse_merge_config(head, "/c").effective_selection(), std::string("ranks"));
        QCOMPARE(better.effective_selection(), std::string("geomean"));
        QCOMPARE(thorough.effective_selection(), std::string("geomean"));
        auto explicit_ranks = parse_merge_config(head + "search: better\nselection: ranks\n", "/c");
        QCOMPARE(explicit_ranks.effective_selection(), std::string("ranks"));
        QCOMPARE(merge_config_to_json(better)["selection"].get<std::string>(), std::string("geomean"));
        // The hash sees the effective rule: "better" and "better + selection: geomean" are one config.
        auto explicit_geomean = parse_merge_config(head + "search: better\nselection: geomean\n", "/c");
        QCOMPARE(merge_config_hash(explicit_geomean), merge_config_hash(better));
        QVERIFY(merge_config_hash(explicit_ranks) != merge_config_hash(better));
        // Racing: on in better and thorough, off in original, an explicit key wins;
        // the hash sees it (it changes the merge), and an original config without
        // it hashes as before (no racing keys in its JSON).
        QVERIFY(better.effective_racing());
        QVERIFY(thorough.effective_racing());
        const auto original = parse_merge_config(head, "/c");
        QVERIFY(!original.effective_racing());
        QVERIFY(!merge_config_to_json(original).contains("racing"));
        QVERIFY(!merge_config_to_json(original).contains("racing_confidence"));
        auto unraced = parse_merge_config(head + "search: better\nracing: false\n", "/c");
        QVERIFY(!unraced.effective_racing());
        QVERIFY(merge_config_hash(unraced) != merge_config_hash(better));
        auto raced = parse_merge_config(head + "racing: true\nracing_confidence: 0.99\n", "/c");
        QVERIFY(raced.effective_racing());
        QCOMPARE(raced.racing_confidence, 0.99);
        QCOMPARE(merge_config_to_json(raced)["racing_confidence"].get<double>(), 0.99);
        auto surer = parse_merge_config(head + "racing: true\n", "/c");
        QVERIFY(merge_config_hash(surer) != merge_config_hash(raced));
    }

    // The config reference in README.md and docs/merge.md is the key table,
    // byte for byte (`olm config-reference` prints it), and the loader knows
    // exactly the table's keys.
    void referenceInTheDocsIsTheKeyTable() {
        const std::string begin = "<!-- config-reference:", end = "<!-- /config-reference -->";
        for (const auto& [doc, level] : {std::pair<const char*, int>{"README.md", 4}, {"docs/merge.md", 3}}) {
            const std::string text =
                olm::testing::read_text(std::filesystem::path(OLM_TEST_DATA_DIR) / ".." / ".." / doc);
            const auto b = text.find(begin);
            const auto e = text.find(end);
            QVERIFY2(b != std::string::npos && e != std::string::npos && b < e, doc);
            const auto first = text.find('\n', b) + 1;
            const std::string block = text.substr(first, e - first);
            QVERIFY2(block == "\n" + olm::config_reference_markdown(level) + "\n",
                     qPrintable(QStringLiteral(
                                    "%1 differs from `olm config-reference --heading %2`; paste its output "
                                    "between the config-reference markers")
                                    .arg(doc)
                                    .arg(level)));
        }
        const auto& keys = olm::merge_config_keys();
        QCOMPARE(keys.size(), olm::config_key_table().size());
        for (const auto& k : olm::config_key_table()) {
            QVERIFY(std::find(keys.begin(), keys.end(), k.name) != keys.end());
            QVERIFY2(std::string(k.type).size() && std::string(k.default_text).size() &&
                         std::string(k.meaning).size(),
                     k.name);
        }
    }

    void unknownKeyWarnsWithNearest() {
        const auto c = parse_merge_config(
            "models: [a]\ndataset: {x.json: {mode: exact}}\nlayer_swapp: true\n", "/c", "cfg.yaml");
        QCOMPARE(c.warnings.size(), size_t(1));
        QVERIFY2(c.warnings[0].find("cfg.yaml:3") != std::string::npos, c.warnings[0].c_str());
        QVERIFY2(c.warnings[0].find("did you mean 'layer_swap'") != std::string::npos, c.warnings[0].c_str());
    }

    void errors_data() {
        QTest::addColumn<QString>("yaml");
        QTest::addColumn<QString>("expected");
        const QString ok = "models: [a, b]\ndataset: {x.json: {mode: exact}}\n";
        QTest::newRow("bool") << ok + "layer_swap: maybe\n"
                              << "cfg.yaml:3: layer_swap: expected true or false";
        QTest::newRow("direction") << ok + "direction: sideways\n"
                                   << "cfg.yaml:3: direction: 'sideways' is not one of";
        QTest::newRow("samples not int") << ok + "samples: many\n"
                                         << "cfg.yaml:3: samples: expected an integer";
        QTest::newRow("samples negative") << ok + "samples: -1\n"
                                          << "cfg.yaml:3: samples: must be at least 0";
        QTest::newRow("holdout range") << ok + "holdout: 1.5\n"
                                       << "cfg.yaml:3: holdout: must be a fraction";
        QTest::newRow("interpolate range") << ok + "interpolate: [0.5, 1.0]\n"
                                           << "cfg.yaml:3: interpolate:";
        QTest::newRow("max_models zero") << ok + "max_models: 0\n"
                                         << "cfg.yaml:3: max_models: must be at least 1";
        QTest::newRow("threads negative") << ok + "threads: -1\n"
                                          << "cfg.yaml:3: threads: must be at least 0";
        QTest::newRow("sweeps zero") << ok + "sweeps: 0\n"
                                     << "cfg.yaml:3: sweeps: must be at least 1";
        QTest::newRow("racing not bool") << ok + "racing: sometimes\n"
                                         << "cfg.yaml:3: racing: expected true or false";
        QTest::newRow("racing_confidence range") << ok + "racing_confidence: 1\n"
                                                 << "cfg.yaml:3: racing_confidence: must be a probability";
        QTest::newRow("preset") << ok + "search: best\n"
                                << "cfg.yaml:3: search: 'best' is not one of";
        QTest::newRow("safeguard") << ok + "safeguard: maybe\n"
                                   << "cfg.yaml:3: safeguard:";
        QTest::newRow("script") << ok + "forbidden_scripts: [Klingon]\n"
                                << "cfg.yaml:3: forbidden_scripts:";
        QTest::newRow("dtype") << ok + "dtype: int8\n"
                               << "cfg.yaml:3: dtype:";
        QTest::newRow("improve_all mode") << ok + "improve_all: quality\n"
                                          << "cfg.yaml:3: improve_all: 'quality'";
        QTest::newRow("models not list") << "models: {a: 1}\ndataset: {x.json: {mode: exact}}\n"
                                         << "cfg.yaml:1: models: expected a list";
        QTest::newRow("no models") << "dataset: {x.json: {mode: exact}}\n"
                                   << "models: missing";
        QTest::newRow("no dataset") << "models: [a]\n"
                                    << "dataset: missing";
        QTest::newRow("dataset list") << "models: [a]\ndataset: [x.json]\n"
                                      << "cfg.yaml:2: dataset: expected a map";
        QTest::newRow("bad yaml") << "models: [a\n"
                                  << "cfg.yaml:";
        QTest::newRow("not a map") << "- a\n- b\n"
                                   << "expected a map of settings";
        // A repeated key names both lines (yaml-cpp alone keeps one silently).
        QTest::newRow("duplicate key") << "models: [a]\ndataset: {x.json: {mode: exact}}\nmodels: [a, b]\n"
                                       << "cfg.yaml:3: models: duplicate key (first at line 1)";
        QTest::newRow("duplicate nested key")
            << "models: [a]\ndataset:\n  x.json:\n    mode: exact\n    mode: bigram\n"
            << "cfg.yaml:5: dataset.x.json.mode: duplicate key (first at line 4)";
        // YAML allows lists and maps as keys; a config key is a name (these
        // threw yaml-cpp's "bad conversion" instead of olm::Error).
        QTest::newRow("list as key") << "models: [a]\n[x, y]: 1\ndataset: {x.json: {mode: exact}}\n"
                                     << "cfg.yaml:2: (key): a key must be a plain name";
        QTest::newRow("map as dataset") << "models: [a]\ndataset: {? {x: 1} : {mode: exact}}\n"
                                        << "cfg.yaml:2: dataset: a key must be a plain name";
        QTest::newRow("list as dataset option") << "models: [a]\ndataset:\n  x.json:\n    [mode]: exact\n"
                                                << "cfg.yaml:4: dataset.x.json: a key must be a plain name";
        // Aliases are expanded by yaml-cpp: a recursive one overflowed the stack
        // of the duplicate-key check, nested ones grow exponentially.
        QTest::newRow("recursive alias") << "a: &x [1, 2, 3]\nb: &y [ &z , *y, *y]\nmodels: [*z, *z]\n"
                                         << "cfg.yaml:2: b: nested more than 64 levels deep";
        {
            QString laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
            for (int i = 1; i <= 8; ++i)
                laughs +=
                    QStringLiteral("l%1: &l%1 [*l%2, *l%2, *l%2, *l%2, *l%2, *l%2, *l%2, *l%2, *l%2, *l%2]\n")
                        .arg(i)
                        .arg(i - 1);
            QTest::newRow("exploding aliases") << laughs + "models: [a]\n"
                                               << "values once aliases are expanded";
        }
        // output_dir never points at what the merge reads, nor at /.
        QTest::newRow("output_dir root") << ok + "output_dir: /\n"
                                         << "cfg.yaml:3: output_dir: / is the root folder";
        QTest::newRow("output_dir inside a pool model")
            << ok + "output_dir: a/out\n"
            << "cfg.yaml:3: output_dir: /c/a/out lies inside the folder of pool model a (/c/a)";
        QTest::newRow("output_dir is a pool model")
            << ok + "output_dir: ./b/\n"
            << "cfg.yaml:3: output_dir: /c/b is the folder of pool model b";
        QTest::newRow("output_dir is the datasets' folder") << ok + "output_dir: .\n"
                                                            << "is the folder of the datasets (/c)";
        QTest::newRow("output_dir inside dataset_dir")
            << ok + "dataset_dir: data\noutput_dir: data/run\n"
            << "cfg.yaml:4: output_dir: /c/data/run lies inside the datasets' folder dataset_dir (/c/data)";
    }

    void outputDirBesideTheDatasetsIsFine() {
        // The usual layout: config, datasets and output/ in one folder.
        const auto c =
            parse_merge_config("models: [a]\ndataset: {x.json: {mode: exact}}\noutput_dir: out\n", "/c");
        QCOMPARE(c.output_dir.string(), std::string("/c/out"));
        QVERIFY(output_dir_problem(c).empty());
        MergeConfig moved = c;
        moved.output_dir = "/c/a/merge";  // what the GUI could set after loading
        QVERIFY_THROWS_EXCEPTION(Error, check_output_dir(moved));
    }
    void errors() {
        QFETCH(QString, yaml);
        QFETCH(QString, expected);
        try {
            parse_merge_config(yaml.toStdString(), "/c", "cfg.yaml");
            QFAIL("no error");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(expected.toStdString()) != std::string::npos, e.what());
        }
    }

    void saveLoadRoundTrip() {
        QTemporaryDir dir;
        const fs::path d = dir.path().toStdString();
        auto c = parse_merge_config(
            "models: [a, b, ../elsewhere/c]\nmodels_dir: pool\ndataset: {x.json: {mode: bigram}, y.json: "
            "{mode: exact}}\n"
            "search: better\nsweeps: 2\nracing: true\nracing_confidence: 0.95\nimprove_all: "
            "exact\nmax_models: 2\n"
            "forbidden_scripts: [han, "
            "U+0400-U+04FF]\nholdout: 0.25\nthreads: 3\n",
            d);
        save_merge_config(c, d / "saved.yaml");
        const auto back = load_merge_config(d / "saved.yaml");
        QVERIFY(back.warnings.empty());
        auto a = merge_config_to_json(c), b = merge_config_to_json(back);
        QCOMPARE(QString::fromStdString(b.dump()), QString::fromStdString(a.dump()));
        QCOMPARE(merge_config_hash(back), merge_config_hash(c));
        QVERIFY(!back.interpolate.has_value());  // preset-driven values stay implicit
        QCOMPARE(*back.sweeps, 2);
        QCOMPARE(*back.racing, true);
        QCOMPARE(back.racing_confidence, 0.95);
        // The hash ignores where it runs, not what it searches.
        auto moved = c;
        moved.device = "cuda";
        QCOMPARE(merge_config_hash(moved), merge_config_hash(c));
        auto other = c;
        other.selection = "copeland";
        QVERIFY(merge_config_hash(other) != merge_config_hash(c));
        QCOMPARE(back.max_models, int64_t{2});
        auto all = c;
        all.max_models = 0;
        QVERIFY(merge_config_hash(all) != merge_config_hash(c));
        QVERIFY(!merge_config_to_json(all).contains("max_models"));  // earlier runs' hashes stay valid
        // threads: how fast, not what: saved, outside the hash, absent when unset.
        QCOMPARE(back.threads, int64_t{3});
        auto unthreaded = c;
        unthreaded.threads = 0;
        QCOMPARE(merge_config_hash(unthreaded), merge_config_hash(c));
        QVERIFY(!merge_config_to_json(unthreaded).contains("threads"));
    }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "test_config.moc"
