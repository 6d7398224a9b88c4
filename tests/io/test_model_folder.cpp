// ModelFolder over tiny models written by tests/support: every architecture,
// sharded vs single file, tied embeddings, dtypes, derived fine-tunes, and the
// folder-level errors (pickle refusal, broken index).
#include "core/io/model_folder.h"
#include "core/io/safetensors_writer.h"
#include "core/util/error.h"
#include "tests/support/test_files.h"
#include "tests/support/tiny_model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace olm;
using olm::testing::error_of;
using olm::testing::write_text;
namespace fs = std::filesystem;

class TestModelFolder : public QObject {
    Q_OBJECT
private slots:
    void architectures_data();
    void architectures();
    void sharded_equals_single();
    void derived_differs_only_in_chosen_layers();
    void tied_lm_head_resolves_to_embeddings();
    void tensors_outlive_folder();
    void errors_data();
    void errors();
};

void TestModelFolder::architectures_data() {
    QTest::addColumn<QString>("arch");
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("tensors_per_layer");
    QTest::newRow("llama f32") << "LlamaForCausalLM" << int(DType::F32) << 9;
    QTest::newRow("mistral bf16") << "MistralForCausalLM" << int(DType::BF16) << 9;
    QTest::newRow("qwen2 f16 (q/k/v biases)") << "Qwen2ForCausalLM" << int(DType::F16) << 12;
    QTest::newRow("qwen3 bf16 (q/k norms)") << "Qwen3ForCausalLM" << int(DType::BF16) << 11;
}

void TestModelFolder::architectures() {
    QFETCH(QString, arch);
    QFETCH(int, dtype);
    QFETCH(int, tensors_per_layer);
    QTemporaryDir tmp;
    testing::TinyModelOptions o;
    o.architecture = arch.toStdString();
    o.dtype = static_cast<DType>(dtype);
    o.layers = 3;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
    testing::write_tiny_model(dir, o);
    const ModelFolder m = ModelFolder::open(dir);
    QCOMPARE(QString::fromStdString(m.spec().architecture), arch);
    QCOMPARE(m.spec().num_hidden_layers, 3);
    QCOMPARE(int(m.names().size()), 3 + 3 * tensors_per_layer);
    QCOMPARE(m.shard_count(), size_t(1));
    QCOMPARE(int(m.main_dtype()), dtype);
    // Parameter count from first principles: hidden 32, inter 64, heads 4x8, kv 2x8, vocab 128.
    const int64_t per_layer = 32 * 32 + 2 * 16 * 32 + 32 * 32 + 3 * 32 * 64 + 2 * 32 +
                              (arch == "Qwen2ForCausalLM" ? 32 + 16 + 16 : 0) +
                              (arch == "Qwen3ForCausalLM" ? 16 : 0);
    QCOMPARE(m.parameter_count(), 2 * 128 * 32 + 32 + 3 * per_layer);
    const at::Tensor q = m.tensor(TensorRole::attn_q, 1);
    QCOMPARE(q.sizes().vec(), (std::vector<int64_t>{32, 32}));
    QCOMPARE(q.scalar_type(), to_scalar_type(static_cast<DType>(dtype)));
    // Norm weights are 1 + 0.1 N(0,1): mean near 1.
    const double norm_mean = m.tensor(TensorRole::input_norm, 0).to(at::kDouble).mean().item<double>();
    QVERIFY(std::abs(norm_mean - 1.0) < 0.1);
}

void TestModelFolder::sharded_equals_single() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::TinyModelOptions o;
    o.dtype = DType::BF16;
    o.seed = 5;
    testing::write_tiny_model(root / "single", o);
    o.shards = 3;
    testing::write_tiny_model(root / "sharded", o);
    QVERIFY(fs::exists(root / "sharded" / "model.safetensors.index.json"));
    QVERIFY(fs::exists(root / "sharded" / "model-00003-of-00003.safetensors"));
    QVERIFY(!fs::exists(root / "single" / "model.safetensors.index.json"));
    const auto a = ModelFolder::open(root / "single");
    const auto b = ModelFolder::open(root / "sharded");
    QCOMPARE(b.shard_count(), size_t(3));
    QCOMPARE(a.names(), b.names());
    for (const auto& n : a.names()) QVERIFY2(at::equal(a.tensor(n), b.tensor(n)), n.c_str());
}

void TestModelFolder::derived_differs_only_in_chosen_layers() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::TinyModelOptions o;
    o.layers = 3;
    testing::write_tiny_model(root / "base", o);
    testing::DeriveOptions d;
    d.seed = 9;
    d.layers = {1};
    d.sublayers = {"mlp"};
    testing::derive_model(root / "base", root / "ft", d);
    const auto a = ModelFolder::open(root / "base");
    const auto b = ModelFolder::open(root / "ft");
    int changed = 0;
    for (const auto& n : a.names()) {
        const bool same = at::equal(a.tensor(n), b.tensor(n));
        const bool want_changed = n.rfind("model.layers.1.mlp.", 0) == 0;
        QVERIFY2(same != want_changed, n.c_str());
        changed += !same;
    }
    QCOMPARE(changed, 3);
    QVERIFY(fs::exists(root / "ft" / "generation_config.json"));
}

void TestModelFolder::tied_lm_head_resolves_to_embeddings() {
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "tied";
    testing::TinyModelOptions o;
    o.tied = true;
    testing::write_tiny_model(dir, o);
    const auto m = ModelFolder::open(dir);
    QVERIFY(!m.has("lm_head.weight"));
    QCOMPARE(m.resolve(TensorRole::lm_head), std::string("model.embed_tokens.weight"));
    QVERIFY(at::equal(m.tensor(TensorRole::lm_head), m.tensor("model.embed_tokens.weight")));
}

void TestModelFolder::tensors_outlive_folder() {
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
    testing::write_tiny_model(dir);
    at::Tensor t;
    at::Tensor copy;
    {
        const auto m = ModelFolder::open(dir);
        t = m.tensor("model.norm.weight");
        copy = t.clone();
    }
    QVERIFY(at::equal(t, copy));  // the mapping lives as long as the tensor
    t.mul_(2);                    // copy-on-write: allowed, and the file is unchanged
    const auto again = ModelFolder::open(dir);
    QVERIFY(at::equal(again.tensor("model.norm.weight"), copy));
}

void TestModelFolder::errors_data() {
    QTest::addColumn<QString>("breakage");
    QTest::addColumn<QString>("expected");
    QTest::newRow("pickle only") << "pickle"
                                 << "pickle checkpoint";
    QTest::newRow("no weights") << "no_weights"
                                << "no model.safetensors";
    QTest::newRow("index names a missing shard") << "missing_shard"
                                                 << "shard 'model-00009-of-00009.safetensors'";
    QTest::newRow("index names an absent tensor") << "absent_tensor"
                                                  << "does not contain it";
    QTest::newRow("index escapes the folder") << "escape"
                                              << "not a file inside the folder";
    QTest::newRow("missing tensor") << "missing_tensor"
                                    << "tensor 'model.layers.1.mlp.down_proj.weight' is missing";
    QTest::newRow("wrong shape") << "wrong_shape"
                                 << "tensor 'model.norm.weight' has shape [31], config.json implies [32]";
    QTest::newRow("unknown architecture")
        << "unknown_arch"
        << "unsupported architecture 'GPT2LMHeadModel' (supported: LlamaForCausalLM";
    QTest::newRow("missing config key") << "missing_key"
                                        << "missing required key 'hidden_size'";
}

void TestModelFolder::errors() {
    QFETCH(QString, breakage);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
    testing::TinyModelOptions o;
    o.shards = 2;
    testing::write_tiny_model(dir, o);
    const std::string b = breakage.toStdString();
    const fs::path index = dir / "model.safetensors.index.json";
    auto edit_index = [&](const std::function<void(nlohmann::json&)>& f) {
        std::ifstream in(index);
        auto j = nlohmann::json::parse(in);
        f(j);
        write_text(index, j.dump());
    };
    if (b == "pickle") {
        for (auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".safetensors" || e.path().extension() == ".json")
                fs::remove(e.path());
        write_text(dir / "pytorch_model.bin", "not really a pickle");
    } else if (b == "no_weights") {
        fs::remove(index);
    } else if (b == "missing_shard") {
        edit_index(
            [](auto& j) { j["weight_map"]["model.norm.weight"] = "model-00009-of-00009.safetensors"; });
    } else if (b == "absent_tensor") {
        edit_index([](auto& j) { j["weight_map"]["extra.weight"] = "model-00001-of-00002.safetensors"; });
    } else if (b == "escape") {
        edit_index([](auto& j) { j["weight_map"]["model.norm.weight"] = "../x.safetensors"; });
    } else if (b == "missing_tensor") {
        edit_index([](auto& j) { j["weight_map"].erase("model.layers.1.mlp.down_proj.weight"); });
    } else if (b == "wrong_shape") {
        fs::remove_all(dir);
        testing::write_tiny_model(dir, o);
        // Rewrite the shard holding model.norm.weight with a shorter norm.
        const auto m = ModelFolder::open(dir);
        const fs::path file = m.info("model.norm.weight").file;
        std::vector<std::pair<std::string, at::Tensor>> ts;
        for (const auto& t : m.shards()[file == m.shards()[0]->path() ? 0 : 1]->tensors())
            ts.push_back({t.name, t.name == "model.norm.weight" ? at::ones({31}) : m.tensor(t.name).clone()});
        write_safetensors_file(file, ts);
    } else if (b == "unknown_arch" || b == "missing_key") {
        std::ifstream in(dir / "config.json");
        auto j = nlohmann::json::parse(in);
        if (b == "unknown_arch")
            j["architectures"] = {"GPT2LMHeadModel"};
        else
            j.erase("hidden_size");
        write_text(dir / "config.json", j.dump());
    }
    const std::string err = error_of([&] { ModelFolder::open(dir); });
    QVERIFY2(err.find(expected.toStdString()) != std::string::npos, err.c_str());
}

QTEST_GUILESS_MAIN(TestModelFolder)
#include "test_model_folder.moc"
