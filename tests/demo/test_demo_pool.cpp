// The shipped demo project (resources/demo): every pool model loads through the
// product's own ModelFolder + engine + tokenizer like any HF folder and generates
// text; each specialist answers its own task better than the base (the premise of
// the demo); the datasets validate with the merge config's settings; the bootstrap
// helper of `olm demo` matches a hand-computed case.
#include "core/demo/demo_project.h"
#include "core/demo/demo_run.h"
#include "core/eval/dataset.h"
#include "core/eval/modes.h"
#include "core/io/model_folder.h"
#include "core/merge/config.h"
#include "core/merge/session.h"
#include "core/model/generate.h"
#include "core/model/transformer.h"
#include "core/tokenizer/chat_template.h"
#include "core/tokenizer/tokenizer.h"

#include <QtTest>

namespace fs = std::filesystem;

namespace {

const fs::path kDemo = fs::path(OLM_RESOURCES_DIR) / "demo";

std::vector<int64_t> prompt_ids(const olm::Tokenizer& tok, const std::string& user) {
    const auto text = olm::render_chat(tok, olm::ChatFamily::chatml, {{"user", user}}, true);
    const auto ids = tok.encode(text, false);
    return {ids.begin(), ids.end()};
}

// Greedy answers to the first n records of a dataset; share equal to the expected answer.
double answer_accuracy(olm::Transformer& model, const olm::Tokenizer& tok,
                       const std::vector<olm::DatasetRecord>& records, size_t n) {
    std::vector<std::vector<int64_t>> prompts;
    for (size_t i = 0; i < n; ++i) prompts.push_back(prompt_ids(tok, records[i].turns.front().content));
    olm::GenerateOptions go;
    go.max_new_tokens = 16;
    go.eos_ids = {*tok.token_to_id("<|im_end|>")};
    const auto res = olm::generate(model, prompts, go);
    size_t right = 0;
    for (size_t i = 0; i < n; ++i) {
        const std::vector<int32_t> ids(res.tokens[i].begin(), res.tokens[i].end());
        if (tok.decode(ids, true) == records[i].turns.back().content) ++right;
    }
    return static_cast<double>(right) / static_cast<double>(n);
}

}  // namespace

class TestDemoPool : public QObject {
    Q_OBJECT

private slots:
    void everyModelLoadsAndGenerates_data() {
        QTest::addColumn<QString>("model");
        for (const auto& name : olm::demo::demo_model_names())
            QTest::newRow(name.c_str()) << QString::fromStdString(name);
    }
    void everyModelLoadsAndGenerates() {
        QFETCH(QString, model);
        const fs::path dir = kDemo / "pool" / model.toStdString();
        const auto folder = olm::ModelFolder::open(dir);
        QCOMPARE(folder.spec().architecture, std::string("LlamaForCausalLM"));
        QCOMPARE(std::string(olm::dtype_name(folder.main_dtype())), std::string("BF16"));
        const auto tok = olm::Tokenizer::from_folder(dir);
        QCOMPARE(olm::detect_chat_family(tok), olm::ChatFamily::chatml);
        auto engine = olm::Transformer::from_folder(folder);
        olm::GenerateOptions go;
        go.max_new_tokens = 24;
        go.eos_ids = {*tok.token_to_id("<|im_end|>")};
        const auto res = olm::generate(engine, {prompt_ids(tok, "Tell a story about a fox.")}, go);
        const std::vector<int32_t> ids(res.tokens[0].begin(), res.tokens[0].end());
        const std::string text = tok.decode(ids, true);
        QVERIFY2(!text.empty(), model.toUtf8().constData());
        const auto logits = engine.forward(olm::make_batch({prompt_ids(tok, "12+7=")}));
        QVERIFY(at::isfinite(logits).all().item<bool>());
    }

    // Each specialist is better than the base at its own exact-answer task.
    void specialistsBeatTheBaseOnTheirTask() {
        const auto tok = olm::Tokenizer::from_folder(kDemo / "pool/base");
        auto base = olm::Transformer::from_folder(olm::ModelFolder::open(kDemo / "pool/base"));
        for (const char* task : {"arithmetic", "reverse"}) {
            const auto records =
                olm::read_dataset_file(kDemo / "datasets" / (std::string(task) + ".json"), true);
            auto spec = olm::Transformer::from_folder(olm::ModelFolder::open(kDemo / "pool" / task));
            const double b = answer_accuracy(base, tok, records, 64);
            const double s = answer_accuracy(spec, tok, records, 64);
            QVERIFY2(s > b,
                     (std::string(task) + ": specialist " + std::to_string(s) + " base " + std::to_string(b))
                         .c_str());
        }
    }

    // The base stops its stories after two sentences (under min_words); the story
    // specialist goes on (the quality dataset's premise).
    void storySpecialistWritesLongerStories() {
        const auto cfg = olm::load_merge_config(kDemo / "olm_config.yaml");
        const auto tok = olm::Tokenizer::from_folder(kDemo / "pool/base");
        const auto records = olm::read_dataset_file(kDemo / "datasets/story.json", false);
        auto words_per_story = [&](const char* model) {
            auto engine = olm::Transformer::from_folder(olm::ModelFolder::open(kDemo / "pool" / model));
            std::vector<std::vector<int64_t>> prompts;
            for (size_t i = 0; i < 16; ++i)
                prompts.push_back(prompt_ids(tok, records[i].turns.front().content));
            olm::GenerateOptions go;
            go.max_new_tokens = 96;
            go.eos_ids = {*tok.token_to_id("<|im_end|>")};
            const auto res = olm::generate(engine, prompts, go);
            double words = 0;
            for (const auto& r : res.tokens) {
                const std::vector<int32_t> ids(r.begin(), r.end());
                words += static_cast<double>(olm::split_words(tok.decode(ids, true)).size());
            }
            return words / 16.0;
        };
        const double base = words_per_story("base"), story = words_per_story("story");
        const auto min_words = static_cast<double>(olm::eval_settings_from(cfg).min_words);
        QVERIFY2(
            base < min_words && story > min_words,
            ("words per story: base " + std::to_string(base) + ", story " + std::to_string(story)).c_str());
    }

    void datasetsValidateWithTheConfig() {
        const auto cfg = olm::load_merge_config(kDemo / "olm_config.yaml");
        QVERIFY(cfg.warnings.empty());
        QCOMPARE(cfg.model_paths().size(), size_t(4));
        QCOMPARE(cfg.datasets.size(), size_t(3));
        const auto tok = olm::Tokenizer::from_folder(cfg.model_paths().front());
        const auto settings = olm::eval_settings_from(cfg);
        for (const auto& d : cfg.datasets) {
            const auto ds = olm::load_eval_dataset(d.path, d.mode, tok, settings);
            // Teacher-forced sets are large (choices hinge on small differences); the
            // quality set is smaller because every sample is a generation.
            const bool quality = d.mode == "quality";
            QVERIFY2(ds.selection.size() >= (quality ? 256u : 512u), d.name.c_str());
            QVERIFY2(ds.holdout.size() >= (quality ? 150u : 300u), d.name.c_str());
            QCOMPARE(ds.skipped, int64_t(0));
        }
    }

    // Hand-computed: a = [1,1,0,1], b = [0,1,0,0] on one dataset -> mean difference 0.5;
    // with two identical datasets the statistic is the same; the interval holds it.
    void bootstrapMatchesHandComputation() {
        const std::vector<std::vector<double>> a = {{1, 1, 0, 1}, {1, 1, 0, 1}};
        const std::vector<std::vector<double>> b = {{0, 1, 0, 0}, {0, 1, 0, 0}};
        const auto iv = olm::demo::paired_accuracy_bootstrap(a, b, 500, 3);
        QCOMPARE(iv.mean, 0.5);
        QVERIFY(iv.low <= 0.5 && iv.high >= 0.5);
        QVERIFY(iv.low >= 0.0 && iv.high <= 1.0);
        // Identical models: a zero-width interval at 0.
        const auto zero = olm::demo::paired_accuracy_bootstrap(a, a, 200, 3);
        QCOMPARE(zero.mean, 0.0);
        QCOMPARE(zero.low, 0.0);
        QCOMPARE(zero.high, 0.0);
    }
};

QTEST_GUILESS_MAIN(TestDemoPool)
#include "test_demo_pool.moc"
