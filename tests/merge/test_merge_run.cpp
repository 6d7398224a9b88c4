// The merge on real tiny model folders: planted layers found in both
// directions, cancel + resume identical to an uninterrupted run, export
// verified from disk, recipe rebuild, planted interpolation, strict safeguard.
#include <QtTest/QtTest>

#include "core/io/model_folder.h"
#include "core/merge/config.h"
#include "core/merge/report.h"
#include "core/merge/run.h"
#include "core/merge/session.h"
#include "core/util/error.h"
#include "merge/tiny_pool.h"
#include "support/tiny_model.h"

#include <fstream>

using namespace olm;
namespace fs = std::filesystem;

namespace {

class CountingEvents : public MergeEvents {
public:
    std::function<void()> on_candidate;
    int candidates = 0;
    std::vector<std::string> logs;
    void candidate_finished(const CandidateEvent&, const CandidateResult&) override {
        ++candidates;
        if (on_candidate) on_candidate();
    }
    void log(LogLevel, std::string_view m) override { logs.emplace_back(m); }
};

class PreviewEvents : public MergeEvents {
public:
    struct Preview {
        std::string dataset, prompt, text, penalty;
        double score = 0.0;
    };
    std::vector<Preview> previews;
    void preview(std::string_view dataset, std::string_view prompt, std::string_view text, double score,
                 std::string_view penalty) override {
        previews.push_back(
            {std::string(dataset), std::string(prompt), std::string(text), std::string(penalty), score});
    }
};

MergeConfig write_config(const testing::PlantedPool& p, const std::string& name, const std::string& extra) {
    const fs::path file = p.dir / name;
    std::ofstream(file) << testing::pool_config(p, extra);
    return load_merge_config(file);
}

// Every tensor of a folder, by name.
std::map<std::string, at::Tensor> tensors_of(const fs::path& folder) {
    const ModelFolder f = ModelFolder::open(folder);
    std::map<std::string, at::Tensor> out;
    for (const auto& n : f.names()) out[n] = f.tensor(n).clone();
    return out;
}

bool bit_equal(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [n, t] : a) {
        auto it = b.find(n);
        if (it == b.end() || t.scalar_type() != it->second.scalar_type() ||
            !t.sizes().equals(it->second.sizes()))
            return false;
        if (!at::equal(t, it->second)) return false;
    }
    return true;
}

}  // namespace

class TestMergeRun : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    testing::PlantedPool m_pool;

private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        m_pool = testing::make_planted_pool(fs::path(m_tmp.path().toStdString()) / "planted", 3);
    }

    // Quality-mode generations reach the events with their sample score and
    // the reason for the penalty (here: every text is shorter than min_words).
    void qualityPreviewsCarryPenaltyReasons() {
        const fs::path file = m_pool.dir / "quality_preview.yaml";
        std::string y = "models_dir: models\ndataset_dir: datasets\noutput_dir: out_preview\nmodels:\n";
        for (const auto& m : m_pool.models) y += "  - " + m + "\n";
        y += "dataset:\n  " + m_pool.dataset +
             ":\n    mode: quality\nsamples: 2\nlayer_swap: false\nreferences: false\nsafeguard: off\n"
             "quality_max_new_tokens: 4\nmin_words: 1000\n";
        std::ofstream(file) << y;
        const MergeConfig c = load_merge_config(file);
        PreviewEvents ev;
        MergeRun run(c, ev);
        run.run();
        QVERIFY(!ev.previews.empty());
        for (const auto& p : ev.previews) {
            QCOMPARE(QString::fromStdString(p.dataset), QString::fromStdString(m_pool.dataset));
            QVERIFY(!p.prompt.empty());
            QVERIFY2(!p.penalty.empty(), p.text.c_str());
            QCOMPARE(p.score, 4096.0);  // the quality mode's penalty score L
        }
    }

    void plantedLayersFound_data() {
        QTest::addColumn<QString>("direction");
        QTest::newRow("forward") << "forward";
        QTest::newRow("backward") << "backward";
    }
    void plantedLayersFound() {
        QFETCH(QString, direction);
        MergeConfig c = write_config(m_pool, "planted_" + direction.toStdString() + ".yaml",
                                     "base_model_name: base\ndirection: " + direction.toStdString() +
                                         "\noutput_dir: out_" + direction.toStdString() +
                                         "\nsafeguard: off\nreferences: false\n");
        CountingEvents ev;
        MergeRun run(c, ev, {.export_model = true});
        run.run();
        const MergeReport r = MergeReport::load(c.report_path());
        for (int k = 0; k < 3; ++k)
            QVERIFY2(
                r.json()["layers"][std::to_string(k)]["best_model"].get<std::string>() ==
                    "m" + std::to_string(k),
                (std::to_string(k) + " " + r.json()["layers"][std::to_string(k)]["metrics"].dump()).c_str());
        QCOMPARE(r.json()["status"].get<std::string>(), std::string("complete"));
        // The export was re-scored from disk and matched.
        QVERIFY(r.json()["export"].contains("verification"));
        // Truth's layers everywhere: the merged weights are truth's layers bit for bit.
        const auto merged = tensors_of(c.output_dir / "merged");
        const auto truth = tensors_of(m_pool.truth);
        for (const auto& [n, t] : merged)
            if (n.find("layers.") != std::string::npos) QVERIFY2(at::equal(t, truth.at(n)), n.c_str());
        QVERIFY(fs::exists(c.output_dir / "merged" / "README.md"));
        QVERIFY(fs::exists(c.output_dir / "merged" / "tokenizer.json"));
        std::ifstream yml(c.output_dir / "merged" / "mergekit_config.yml");
        const std::string y((std::istreambuf_iterator<char>(yml)), {});
        // Layers of m0..m2 around the base's embeddings: mergekit takes the
        // embeddings from the first slice and the head from the last, so the
        // recipe is a linear merge whose weights are filtered per tensor.
        QVERIFY2(y.find("merge_method: linear") != std::string::npos, y.c_str());
        QVERIFY2(y.find("layer_range: [0, 1]") != std::string::npos, y.c_str());
        QVERIFY2(y.find("filter: embed_tokens") != std::string::npos, y.c_str());
    }

    // Racing on real models: a dataset scored in racing's chunks gives every
    // sample the value the whole dataset gives it (whole models and behind the
    // prefix cache of a layer position), and a racing merge finds the planted
    // layers the full evaluation finds, recording what it saved.
    // device_memory below the working model's size: the streamed layers give
    // the same report (timings aside) and weights as a resident model.
    void streamedWorkingModelMergesTheSame() {
        MergeConfig a = write_config(m_pool, "resident.yaml",
                                     "base_model_name: base\noutput_dir: out_resident\nsafeguard: off\n"
                                     "references: false\nracing: true\n");
        // Room for the boundary and the two layers in flight: every layer streams.
        const ModelSpec spec = ModelFolder::open(m_pool.dir / "models" / "base").spec();
        const MemoryPlan full = plan_device_memory(spec, at::kFloat, 0);
        const int64_t budget = full.boundary_bytes + 2 * full.layer_bytes;
        MergeConfig b = write_config(m_pool, "streamed.yaml",
                                     "base_model_name: base\noutput_dir: out_streamed\nsafeguard: off\n"
                                     "references: false\nracing: true\ndevice_memory: " +
                                         std::to_string(budget) + "\n");
        QCOMPARE(b.device_memory, budget);
        QCOMPARE(merge_config_hash(a), merge_config_hash(b));  // where weights live changes no result
        {
            MergeSession session(b, "cpu", nullptr);
            QVERIFY(session.model().memory_plan().streamed_layers > 0);
        }
        CountingEvents ev;
        MergeRun(a, ev, {}).run();
        MergeRun(b, ev, {}).run();
        nlohmann::json ra = without_timings(MergeReport::load(a.report_path()).json());
        nlohmann::json rb = without_timings(MergeReport::load(b.report_path()).json());
        for (auto* j : {&ra, &rb}) {
            (*j)["config"].erase("output_dir");
            (*j)["config"].erase("device_memory");
            (*j)["export"].erase("folder");
        }
        QCOMPARE(rb.dump(), ra.dump());
    }

    void racingOnRealModels() {
        MergeConfig c = write_config(m_pool, "racing.yaml",
                                     "base_model_name: base\noutput_dir: out_racing\nsafeguard: off\n"
                                     "references: false\nracing: true\n");
        {
            MergeSession session(c, "cpu", nullptr);
            QCOMPARE(session.sample_count(0), 12LL);
            for (bool layer : {false, true}) {
                PositionId pos;
                pos.kind = layer ? PositionId::Kind::layer : PositionId::Kind::base;
                pos.layer = layer ? 1 : -1;
                if (layer) {
                    PositionId base;
                    base.kind = PositionId::Kind::base;
                    session.set_slot(base, single_model("base"));
                }
                session.begin_position(pos);
                session.set_slot(pos, single_model("m1"));
                const ScoreResult whole = session.score(0, ScoreSplit::selection);
                std::vector<double> parts;
                for (auto [b, e] : {std::pair{0LL, 8LL}, std::pair{8LL, 12LL}}) {
                    const ScoreResult s = session.score_samples(0, b, e);
                    QCOMPARE(static_cast<long long>(s.per_sample.size()), e - b);
                    parts.insert(parts.end(), s.per_sample.begin(), s.per_sample.end());
                }
                QCOMPARE(parts.size(), whole.per_sample.size());
                for (size_t i = 0; i < parts.size(); ++i)
                    QVERIFY2(
                        std::abs(parts[i] - whole.per_sample[i]) <=
                            1e-5 * std::max(1.0, std::abs(whole.per_sample[i])),
                        qPrintable(
                            QString("sample %1: %2 vs %3").arg(i).arg(parts[i]).arg(whole.per_sample[i])));
            }
            QVERIFY_THROWS_EXCEPTION(Error, session.score_samples(0, 8, 13));
        }
        CountingEvents ev;
        MergeRun(c, ev, {.export_model = false}).run();
        const MergeReport r = MergeReport::load(c.report_path());
        for (int k = 0; k < 3; ++k)
            QCOMPARE(r.json()["layers"][std::to_string(k)]["best_model"].get<std::string>(),
                     "m" + std::to_string(k));
        const auto& racing = r.json()["racing"];
        QVERIFY(racing["samples_scored"].get<long long>() <= racing["samples_full"].get<long long>());
        QVERIFY(racing["samples_full"].get<long long>() > 0);
    }

    // Cancel after k candidates, resume, compare with the uninterrupted run.
    void cancelAndResumeIsExact() {
        const std::string extra =
            "base_model_name: base\nboundary_select: true\nsearch: better\nsafeguard: warn\n";
        MergeConfig c = write_config(m_pool, "resume.yaml", extra + "output_dir: out_resume\n");
        CountingEvents ev;
        {
            MergeRun run(c, ev);
            run.run();
        }
        const nlohmann::json want = without_timings(MergeReport::load(c.report_path()).json());
        const auto want_weights = tensors_of(c.output_dir / "merged");
        const int total = ev.candidates;
        QVERIFY(total > 10);
        for (int k : {1, total / 2, total - 1}) {
            fs::remove_all(c.output_dir);
            CountingEvents first;
            MergeRun run1(c, first);
            first.on_candidate = [&] {
                if (first.candidates == k) run1.cancel();
            };
            QVERIFY_THROWS_EXCEPTION(Cancelled, run1.run());
            CountingEvents second;
            MergeRun run2(c, second, {.resume = true});
            run2.run();
            QCOMPARE(without_timings(MergeReport::load(c.report_path()).json()).dump(), want.dump());
            QVERIFY(bit_equal(tensors_of(c.output_dir / "merged"), want_weights));
        }
    }

    void resumeRefusesChangedConfig() {
        MergeConfig c =
            write_config(m_pool, "guard.yaml",
                         "output_dir: out_guard\nlayer_swap: false\nsafeguard: off\nreferences: false\n");
        CountingEvents ev;
        MergeRun(c, ev, {.export_model = false}).run();
        c.selection = "copeland";
        try {
            MergeRun(c, ev, {.resume = true, .export_model = false}).run();
            QFAIL("resumed with a different config");
        } catch (const Cancelled&) {
            QFAIL("cancelled");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("different config") != std::string::npos, e.what());
        }
        MergeRun(c, ev, {.resume = true, .force = true, .export_model = false}).run();
    }

    // The best layer 1 is exactly the average of two pool layers: `better`
    // finds the blend, `original` cannot; the export rebuilds it bit for bit.
    void interpolationAndRecipeRebuild() {
        const fs::path dir = fs::path(m_tmp.path().toStdString()) / "blend";
        const fs::path models = dir / "models";
        fs::create_directories(models);
        const fs::path truth = testing::write_truth(models, 3, 23);
        testing::derive_model(truth, models / "a", {.seed = 5, .scale = 0.3, .layers = {1}});
        testing::write_mirror_model(truth, models / "a", models / "b");  // b = 2 truth - a
        testing::write_truth_dataset(truth, dir / "datasets" / "planted.json", 12, 10);
        testing::PlantedPool p;
        p.dir = dir;
        p.truth = truth;
        p.models = {"a", "b"};
        CountingEvents ev;
        MergeConfig orig = write_config(p, "orig.yaml", "output_dir: out_orig\nsafeguard: off\n");
        MergeRun(orig, ev).run();
        const auto ro = MergeReport::load(orig.report_path());
        QVERIFY(!single_model_name(recipe_from_json(ro.json()["recipe"]["layers"]["1"])).empty());
        MergeConfig better =
            write_config(p, "better.yaml", "output_dir: out_better\nsearch: better\nsafeguard: off\n");
        MergeRun(better, ev).run();
        const auto rb = MergeReport::load(better.report_path());
        const Recipe l1 = recipe_from_json(rb.json()["recipe"]["layers"]["1"]);
        QVERIFY2(same_recipe(l1, Recipe{{"a", 0.5}, {"b", 0.5}}), recipe_text(l1).c_str());
        const std::string d = p.dataset;
        QVERIFY(rb.json()["final"]["metrics"][d].get<double>() <
                ro.json()["final"]["metrics"][d].get<double>());

        // Rebuild every tensor from the pool and the report, independently: float32
        // sum in recipe (name) order, cast to the stored dtype; and a float64 check.
        const auto merged = tensors_of(better.output_dir / "merged");
        const auto ta = tensors_of(models / "a");
        const auto tb = tensors_of(models / "b");
        const auto& rec = rb.json()["recipe"];
        for (const auto& [name, t] : merged) {
            Recipe r = recipe_from_json(rec["boundary"]);
            for (int L = 0; L < 3; ++L)
                if (name.find("layers." + std::to_string(L) + ".") != std::string::npos)
                    r = recipe_from_json(rec["layers"][std::to_string(L)]);
            at::Tensor want;
            at::Tensor want64 = at::zeros(t.sizes(), at::kDouble);
            for (const auto& [m, coeff] : r) {
                const at::Tensor& src = (m == "a" ? ta : tb).at(name);
                const at::Tensor term = src.to(at::kFloat) * static_cast<float>(coeff);
                want = want.defined() ? want + term : term;
                want64 += src.to(at::kDouble) * coeff;
            }
            if (r.size() == 1) want = (r.begin()->first == "a" ? ta : tb).at(name);
            QVERIFY2(at::equal(t, want.to(t.scalar_type())), name.c_str());
            QVERIFY2((t.to(at::kDouble) - want64).abs().max().item<double>() < 1e-6, name.c_str());
        }
        std::ifstream yml(better.output_dir / "merged" / "mergekit_config.yml");
        const std::string y((std::istreambuf_iterator<char>(yml)), {});
        QVERIFY2(y.find("merge_method: linear") != std::string::npos, y.c_str());
        QVERIFY2(y.find("weight: 0.5") != std::string::npos, y.c_str());
    }

    // A merge worse than its best member: strict exports the member instead.
    void strictSafeguardExportsBestMember() {
        testing::PlantedPool p = m_pool;
        p.models = {"base", "m0"};
        CountingEvents ev;
        MergeConfig c = write_config(
            p, "strict.yaml",
            "output_dir: out_strict\nbase_model_name: base\nlayer_swap: false\nsafeguard: strict\n");
        MergeRun(c, ev).run();
        const auto r = MergeReport::load(c.report_path());
        QCOMPARE(r.json()["safeguard"]["best_model"].get<std::string>(), std::string("m0"));
        QCOMPARE(r.json()["safeguard"]["verdict"].get<std::string>(), std::string("worse"));
        QCOMPARE(r.json()["safeguard"]["exported"].get<std::string>(), std::string("m0"));
        QVERIFY(bit_equal(tensors_of(c.output_dir / "merged"), tensors_of(p.dir / "models" / "m0")));
        std::ifstream card(c.output_dir / "merged" / "README.md");
        const std::string text((std::istreambuf_iterator<char>(card)), {});
        QVERIFY(text.find("this folder holds the best pool model (m0)") != std::string::npos);
    }

    void incompatiblePoolRefusedBeforeEvaluation() {
        const fs::path dir = fs::path(m_tmp.path().toStdString()) / "bad";
        testing::TinyModelOptions o;
        o.layers = 4;
        o.vocab = 512;
        o.tokenizer_from = fs::path(OLM_TEST_DATA_DIR) / "tokenizers" / "tiny-bytelevel";
        testing::write_tiny_model(dir / "models" / "deep", o);
        testing::PlantedPool p = m_pool;
        p.dir = dir;
        fs::create_directories(dir / "datasets");
        fs::copy_file(m_pool.dir / "datasets" / m_pool.dataset, dir / "datasets" / m_pool.dataset);
        fs::create_directory_symlink(m_pool.dir / "models" / "base", dir / "models" / "base");
        p.models = {"base", "deep"};
        CountingEvents ev;
        MergeConfig c = write_config(p, "bad.yaml", "output_dir: out\n");
        try {
            MergeRun(c, ev).run();
            QFAIL("an incompatible pool was accepted");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("deep") != std::string::npos, e.what());
        }
        QCOMPARE(ev.candidates, 0);
    }
};

QTEST_GUILESS_MAIN(TestMergeRun)
#include "test_merge_run.moc"
