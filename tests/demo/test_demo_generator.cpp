// The demo generator on its short schedule: the tokenizer it writes is read the
// same way by the product's tokenizer, the engine's logits on a written model
// equal the trainer's own forward (two independent implementations), the
// outputs load as ordinary HF folders, and the same seed gives the same files.
#include "core/demo/bpe_trainer.h"
#include "core/demo/corpus.h"
#include "core/demo/demo_project.h"
#include "core/demo/tiny_llama.h"
#include "core/eval/dataset.h"
#include "core/io/model_folder.h"
#include "core/model/transformer.h"
#include "core/tokenizer/chat_template.h"
#include "core/tokenizer/tokenizer.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Every file of the generated project except training.json (it holds timings).
std::vector<fs::path> project_files(const fs::path& root) {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.is_regular_file() && e.path().filename() != "training.json")
            out.push_back(fs::relative(e.path(), root));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

class TestDemoGenerator : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    fs::path m_a, m_b;

private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        m_a = fs::path(m_tmp.path().toStdString()) / "a";
        m_b = fs::path(m_tmp.path().toStdString()) / "b";
        olm::demo::generate_demo_project(m_a, olm::demo::DemoOptions::quick());
        olm::demo::generate_demo_project(m_b, olm::demo::DemoOptions::quick());
    }

    void sameSeedSameFiles() {
        const auto files = project_files(m_a);
        QCOMPARE(files, project_files(m_b));
        QVERIFY(files.size() >= 4 * 6 + 3 + 1);  // 4 models x 6 files, 3 datasets, the config
        for (const auto& f : files) QVERIFY2(read_bytes(m_a / f) == read_bytes(m_b / f), f.string().c_str());
    }

    void otherSeedOtherWeights() {
        QTemporaryDir tmp;
        auto o = olm::demo::DemoOptions::quick();
        o.seed += 1;
        const fs::path c = fs::path(tmp.path().toStdString());
        olm::demo::generate_demo_project(c, o);
        QVERIFY(read_bytes(c / "pool/base/model.safetensors") !=
                read_bytes(m_a / "pool/base/model.safetensors"));
    }

    // The project's tokenizer reads the written tokenizer.json and encodes the
    // corpus exactly as the trainer's own encoder did (independent implementations).
    void productTokenizerAgreesWithTrainer() {
        const auto tok = olm::Tokenizer::from_folder(m_a / "pool/base");
        const auto config = read_bytes(m_a / "pool/base/tokenizer_config.json");
        QCOMPARE(olm::detect_chat_family(tok), olm::ChatFamily::chatml);
        QCOMPARE(tok.token_to_id("<|im_end|>").value_or(-1), tok.vocab_size() - 1);

        // Rebuild the trainer's tokenizer from the same corpus to get its encoder.
        std::vector<std::string> texts;
        auto o = olm::demo::DemoOptions::quick();
        std::vector<olm::demo::Conversation> convs;
        for (int t = 0; t < olm::demo::kTaskCount; ++t) {
            olm::demo::Rng rng(1000 + static_cast<uint64_t>(t));
            for (int i = 0; i < 50; ++i)
                convs.push_back(olm::demo::make_conversation(olm::demo::task_from_index(t), rng));
        }
        for (const auto& c : convs)
            texts.push_back(olm::demo::prompt_chatml(c) + olm::demo::answer_chatml(c));
        const auto bpe =
            olm::demo::train_byte_bpe(texts, 80, {"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
        const auto product = olm::Tokenizer::from_json(bpe.tokenizer_json().dump(), "", "trained");
        texts.push_back("it's 12+35=47, reverse: a b  c\n\n  x!? Don't");
        for (const auto& text : texts) {
            const auto ours = bpe.encode(text);
            const auto theirs = product.encode(text, false);
            QCOMPARE(std::vector<int64_t>(theirs.begin(), theirs.end()), ours);
            QCOMPARE(product.decode(theirs, false), text);
            QCOMPARE(bpe.decode(ours), text);
        }
    }

    // The engine's logits on a written model equal the trainer's forward over the
    // same (bf16-rounded) weights.
    void engineLogitsMatchTrainerForward() {
        const auto folder = olm::ModelFolder::open(m_a / "pool/story");
        auto engine = olm::Transformer::from_folder(folder);
        const auto ref_model = olm::demo::TinyLlama::from_folder(folder);
        const std::vector<std::vector<int64_t>> seqs = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {40, 41, 300, 7}};
        const auto batch = olm::make_batch(seqs, olm::PadSide::right, 0);
        const auto logits = engine.forward(batch);  // [2, 10, V]
        for (size_t r = 0; r < seqs.size(); ++r) {
            auto ids = at::tensor(seqs[r], at::kLong).unsqueeze(0);
            at::Tensor ref;
            {
                at::NoGradGuard no_grad;
                ref = olm::demo::forward(ref_model, ids).logits[0];
            }
            const auto got =
                logits[static_cast<int64_t>(r)].narrow(0, 0, static_cast<int64_t>(seqs[r].size()));
            const double err = (got - ref).abs().max().item<double>();
            const double scale = ref.abs().max().item<double>();
            QVERIFY2(err <= 1e-4 * std::max(1.0, scale),
                     (std::to_string(err) + " vs scale " + std::to_string(scale)).c_str());
        }
    }

    // Specialists differ from the base only in their own layers.
    void specialistsChangeOnlyTheirLayers() {
        const auto base = olm::ModelFolder::open(m_a / "pool/base");
        const auto o = olm::demo::DemoOptions::quick();
        const auto names = olm::demo::demo_model_names();
        for (int t = 0; t < olm::demo::kTaskCount; ++t) {
            const auto spec = olm::ModelFolder::open(m_a / "pool" / names[static_cast<size_t>(t + 1)]);
            const auto& own = o.own_layers[static_cast<size_t>(t)];
            std::set<int> changed_layers;
            for (const auto& name : base.names()) {
                const int layer = olm::layer_of(base.architecture(), name);
                const bool is_own = layer >= 0 && std::find(own.begin(), own.end(), layer) != own.end();
                const bool same = at::equal(base.tensor(name), spec.tensor(name));
                // Every other tensor is the base's, bit for bit.
                if (!is_own) QVERIFY2(same, (names[static_cast<size_t>(t + 1)] + ": " + name).c_str());
                if (!same) changed_layers.insert(layer);
            }
            // Every own layer was trained (a norm may round back to the same bf16 value).
            QCOMPARE(changed_layers, std::set<int>(own.begin(), own.end()));
        }
    }

    void datasetsValidate() {
        for (const char* task : {"arithmetic", "reverse", "story"}) {
            const bool quality = std::string(task) == "story";
            const auto records =
                olm::read_dataset_file(m_a / "datasets" / (std::string(task) + ".json"), !quality);
            const auto quick = olm::demo::DemoOptions::quick();
            QCOMPARE(static_cast<int>(records.size()),
                     quality ? quick.quality_dataset_samples : quick.dataset_samples);
            QCOMPARE(records.front().turns.back().role, std::string("assistant"));
        }
    }
};

QTEST_GUILESS_MAIN(TestDemoGenerator)
#include "test_demo_generator.moc"
