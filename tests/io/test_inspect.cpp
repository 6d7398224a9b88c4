// olm inspect: the summary of a tiny model, --verify counting planted NaN/Inf,
// and the real `olm inspect` binary on a pool (exit status + verdict text).
#include "core/io/architecture.h"
#include "core/io/export_folder.h"
#include "core/io/inspect.h"
#include "core/io/safetensors_writer.h"
#include "tests/support/tiny_model.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <limits>

using namespace olm;
namespace fs = std::filesystem;

namespace {

struct CliResult {
    int code;
    QString out;
    QString err;
};

CliResult run_cli(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(OLM_CLI_PATH), args);
    p.waitForFinished(60000);
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

}  // namespace

class TestInspect : public QObject {
    Q_OBJECT
private slots:
    void describes_model();
    void verify_counts_planted_values();
    void human_units();
    void cli_single_and_pool();
    void cli_errors();
    void unsupported_architecture_says_what_is_missing();
};

void TestInspect::describes_model() {
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
    testing::TinyModelOptions o;
    o.architecture = "Qwen3ForCausalLM";
    o.dtype = DType::BF16;
    o.shards = 2;
    o.head_dim = 16;
    o.rope_scaling = "linear";
    testing::write_tiny_model(dir, o);
    const auto m = ModelFolder::open(dir);
    const std::string s = describe_model(m);
    for (const char* want :
         {"architecture   Qwen3ForCausalLM (qwen3)", "layers         2",
          "hidden size    32 (intermediate 64)", "heads          4 (kv heads 2, head_dim 16)",
          "dtype          BF16 (config: bfloat16)", " in 2 shards", "linear x2", "vocabulary     128"})
        QVERIFY2(s.find(want) != std::string::npos, (std::string(want) + "\n" + s).c_str());
    // parameters: embed + lm_head + norm + 2 layers of (q 64x32, k/v 32x32, o 32x64, mlp 3x64x32, norms 2x32,
    // qk norms 2x16)
    const int64_t per_layer = 64 * 32 + 2 * 32 * 32 + 32 * 64 + 3 * 64 * 32 + 2 * 32 + 2 * 16;
    QCOMPARE(m.parameter_count(), 2 * 128 * 32 + 32 + 2 * per_layer);
    QVERIFY(s.find("(" + std::to_string(m.parameter_count()) + ")") != std::string::npos);
}

void TestInspect::verify_counts_planted_values() {
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
    testing::write_tiny_model(dir);
    {
        // Plant 2 NaN and 1 Inf in the final norm, 1 -Inf in layer 0's q_proj.
        const auto m = ModelFolder::open(dir);
        std::vector<std::pair<std::string, at::Tensor>> ts;
        for (const auto& name : m.names()) {
            at::Tensor t = m.tensor(name).clone();
            if (name == "model.norm.weight") {
                t[0] = std::numeric_limits<float>::quiet_NaN();
                t[5] = std::numeric_limits<float>::quiet_NaN();
                t[7] = std::numeric_limits<float>::infinity();
            }
            if (name == "model.layers.0.self_attn.q_proj.weight")
                t[1][2] = -std::numeric_limits<float>::infinity();
            ts.push_back({name, t});
        }
        write_safetensors_file(dir / "model.safetensors.new", ts);
    }
    fs::rename(dir / "model.safetensors.new", dir / "model.safetensors");
    const auto m = ModelFolder::open(dir);
    const VerifyReport r = verify_tensors(m);
    QCOMPARE(r.tensors, int64_t(m.names().size()));
    QCOMPARE(r.elements, m.parameter_count());
    QCOMPARE(r.nan, int64_t(2));
    QCOMPARE(r.inf, int64_t(2));
    QCOMPARE(r.bad.size(), size_t(2));
    QCOMPARE(r.bad[0].name, std::string("model.layers.0.self_attn.q_proj.weight"));
    QCOMPARE(r.bad[1].nan, int64_t(2));
}

void TestInspect::human_units() {
    QCOMPARE(human_bytes(512), std::string("512 B"));
    QCOMPARE(human_bytes(1'500'000'000), std::string("1.50 GB"));
    QCOMPARE(human_count(8'030'261'248), std::string("8.03 B"));
    QCOMPARE(human_count(1'234'567), std::string("1.23 M"));
}

void TestInspect::cli_single_and_pool() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "base");
    testing::derive_model(root / "base", root / "ft", 3, {1});
    testing::TinyModelOptions o;
    o.layers = 3;
    testing::write_tiny_model(root / "deep", o);

    auto one = run_cli({"inspect", q(root / "base"), "--verify", "--timing"});
    QCOMPARE(one.code, 0);
    QVERIFY2(one.out.contains("architecture   LlamaForCausalLM"), qPrintable(one.out));
    QVERIFY2(one.out.contains(": 0 NaN, 0 Inf"), qPrintable(one.out));
    QVERIFY2(one.out.contains("opened in"), qPrintable(one.out));

    auto good = run_cli({"inspect", q(root / "base"), q(root / "ft")});
    QCOMPARE(good.code, 0);
    QVERIFY2(good.out.contains("pool check: compatible"), qPrintable(good.out));
    QVERIFY2(good.out.contains(q(root / "ft") + ": OK"), qPrintable(good.out));

    auto bad = run_cli({"inspect", q(root / "base"), q(root / "ft"), q(root / "deep")});
    QCOMPARE(bad.code, 2);
    QVERIFY2(bad.out.contains(q(root / "deep") + ": INCOMPATIBLE: num_hidden_layers is 3, base has 2"),
             qPrintable(bad.out));
}

void TestInspect::cli_errors() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    fs::create_directories(root / "pickled");
    std::ofstream(root / "pickled" / "pytorch_model.bin") << "x";
    auto r = run_cli({"inspect", q(root / "pickled")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("pickle checkpoint") && r.err.contains("safe_serialization=True"),
             qPrintable(r.err));
    r = run_cli({"inspect"});
    QCOMPARE(r.code, 1);
    r = run_cli({"inspect", q(root), "--bogus"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.contains("unknown option --bogus"));
}

// A folder of an architecture outside the table (here a Llama whose attention
// is one fused qkv_proj): inspect names the closest family and the tensors
// missing on either side, grouped by layer pattern; --architectures lists the table.
void TestInspect::unsupported_architecture_says_what_is_missing() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::TinyModelOptions o;
    o.layers = 3;
    testing::write_tiny_model(root / "llama", o);
    const ModelFolder llama = ModelFolder::open(root / "llama");
    std::vector<TensorSource> sources;
    for (auto& s : passthrough_sources(llama)) {
        if (s.name.find("self_attn.k_proj") != std::string::npos ||
            s.name.find("self_attn.v_proj") != std::string::npos)
            continue;
        const auto q = s.name.find("self_attn.q_proj");
        if (q != std::string::npos) s.name.replace(q, 16, "self_attn.qkv_proj");
        sources.push_back(s);
    }
    const fs::path fused = root / "fused";
    fs::create_directories(fused);
    write_safetensors_model(fused, sources, ShardOptions{});
    std::string cfg;
    {
        std::ifstream in(root / "llama" / "config.json");
        cfg.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto at = cfg.find("LlamaForCausalLM");
    cfg.replace(at, 16, "FusedForCausalLM");
    std::ofstream(fused / "config.json") << cfg;

    const std::string text = explain_unsupported(fused);
    for (const char* want :
         {"FusedForCausalLM (model_type llama) is not a supported architecture",
          "Closest family: LlamaForCausalLM: 21 of its 30 tensors are here by name",
          "Here but not in that entry (3): model.layers.{n}.self_attn.qkv_proj.weight (x3)",
          "In that entry but absent here (9): model.layers.{n}.self_attn.q_proj.weight (x3), "
          "model.layers.{n}.self_attn.k_proj.weight (x3), model.layers.{n}.self_attn.v_proj.weight (x3)"})
        QVERIFY2(text.find(want) != std::string::npos, (std::string(want) + "\n--- in ---\n" + text).c_str());
    QVERIFY(explain_unsupported(root / "llama").empty());

    const auto r = run_cli({QStringLiteral("inspect"), q(fused)});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.out.contains(QStringLiteral("Closest family: LlamaForCausalLM")), qPrintable(r.out));
    QVERIFY2(r.err.contains(QStringLiteral("unsupported architecture 'FusedForCausalLM'")),
             qPrintable(r.err));
    const auto list = run_cli({QStringLiteral("inspect"), QStringLiteral("--architectures")});
    QCOMPARE(list.code, 0);
    for (const auto& a : architectures())
        QVERIFY2(list.out.contains(QString::fromStdString(a.name)), qPrintable(list.out));
    QVERIFY2(list.out.contains(QStringLiteral(
                 "Olmo2ForCausalLM (model_type olmo2): 15 tensor roles per layer; post-norms")),
             qPrintable(list.out));
}

QTEST_GUILESS_MAIN(TestInspect)
#include "test_inspect.moc"
