// Pool compatibility rows: a compatible pool, wrong layer count, wrong shape,
// different architecture, an unreadable member, and tokenizer differences
// reported as warnings.
#include "core/io/pool_check.h"
#include "tests/support/test_files.h"
#include "tests/support/tiny_model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>

using namespace olm;
using olm::testing::write_text;
namespace fs = std::filesystem;

namespace {

// A minimal tokenizer.json (the pool check compares model + added_tokens).
std::string tokenizer_json(
    const std::vector<std::string>& merges, int ab_id = 3,
    nlohmann::json added = nlohmann::json::array({{{"id", 0}, {"content", "<s>"}, {"special", true}}})) {
    nlohmann::json j;
    j["version"] = "1.0";
    j["added_tokens"] = added;
    j["model"] = {{"type", "BPE"}, {"vocab", {{"a", 1}, {"b", 2}, {"ab", ab_id}}}, {"merges", merges}};
    return j.dump();
}

}  // namespace

class TestPoolCheck : public QObject {
    Q_OBJECT
private slots:
    void rows_data();
    void rows();
    void tokenizer_difference_warns();
    void added_tokens_name_the_ids();
    void forward_features_warn();
    void unreadable_member();
};

void TestPoolCheck::rows_data() {
    QTest::addColumn<QString>("variant");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QString>("reason");
    QTest::newRow("compatible (derived fine-tune)") << "derived" << true << "";
    QTest::newRow("compatible (other seed, sharded)") << "sharded" << true << "";
    QTest::newRow("wrong layer count") << "layers" << false << "num_hidden_layers is 3, base has 2";
    QTest::newRow("wrong shape") << "intermediate" << false
                                 << "layer 0 mlp.gate_proj is [80, 32], base has [64, 32]";
    QTest::newRow("different architecture")
        << "arch" << false << "architecture is MistralForCausalLM, base has LlamaForCausalLM";
    QTest::newRow("different vocabulary size") << "vocab" << false << "vocab_size is 130, base has 128";
    QTest::newRow("different kv heads") << "kv" << false << "num_key_value_heads is 4, base has 2";
    QTest::newRow("tied vs untied") << "tied" << false << "lm_head is missing, base has it";
}

void TestPoolCheck::rows() {
    QFETCH(QString, variant);
    QFETCH(bool, ok);
    QFETCH(QString, reason);
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::TinyModelOptions o;
    testing::write_tiny_model(root / "base", o);
    const std::string v = variant.toStdString();
    if (v == "derived") {
        testing::derive_model(root / "base", root / "other", 3, {0, 1});
    } else {
        o.seed = 2;
        if (v == "sharded") o.shards = 2;
        if (v == "layers") o.layers = 3;
        if (v == "intermediate") o.intermediate = 80;
        if (v == "arch") o.architecture = "MistralForCausalLM";
        if (v == "vocab") o.vocab = 130;
        if (v == "kv") o.kv_heads = 4;
        if (v == "tied") o.tied = true;
        testing::write_tiny_model(root / "other", o);
    }
    const PoolVerdict verdict = check_pool(std::vector<fs::path>{root / "base", root / "other"});
    QCOMPARE(verdict.members.size(), size_t(2));
    QVERIFY(verdict.members[0].ok);
    QCOMPARE(verdict.members[1].ok, ok);
    QCOMPARE(verdict.ok, ok);
    QCOMPARE(QString::fromStdString(verdict.members[1].reason), reason);
    QCOMPARE(verdict.members[1].path, root / "other");
}

void TestPoolCheck::tokenizer_difference_warns() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "base");
    testing::derive_model(root / "base", root / "same", 4, {0});
    testing::derive_model(root / "base", root / "merges", 5, {0});
    testing::derive_model(root / "base", root / "vocab", 6, {0});
    write_text(root / "base" / "tokenizer.json", tokenizer_json({"a b"}));
    write_text(root / "same" / "tokenizer.json", tokenizer_json({"a b"}));
    write_text(root / "merges" / "tokenizer.json", tokenizer_json({"a b", "ab ab"}));
    write_text(root / "vocab" / "tokenizer.json", tokenizer_json({"a b"}, 4));
    const auto verdict = check_pool(
        std::vector<fs::path>{root / "base", root / "same", root / "merges", root / "vocab", root / "base"});
    QVERIFY(verdict.ok);  // tokenizer differences warn, they do not block
    QVERIFY(verdict.members[1].warnings.empty());
    QCOMPARE(verdict.members[2].warnings, std::vector<std::string>{"tokenizer merges differ from the base"});
    QCOMPARE(verdict.members[3].warnings,
             std::vector<std::string>{"tokenizer vocabulary differs from the base"});
    fs::remove(root / "same" / "tokenizer.json");
    QCOMPARE(tokenizer_difference(root / "base", root / "same").value_or(""),
             std::string("tokenizer.json missing, base has one"));
}

// Tokenizers that differ only in added tokens: a warning that names each id.
void TestPoolCheck::added_tokens_name_the_ids() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "base");
    testing::derive_model(root / "base", root / "chat", 4, {0});
    write_text(root / "base" / "tokenizer.json", tokenizer_json({"a b"}));
    const nlohmann::json added =
        nlohmann::json::array({{{"id", 0}, {"content", "<|begin|>"}, {"special", true}},
                               {{"id", 4}, {"content", "<tool>"}, {"special", true}}});
    write_text(root / "chat" / "tokenizer.json", tokenizer_json({"a b"}, 3, added));
    const auto verdict = check_pool(std::vector<fs::path>{root / "base", root / "chat"});
    QVERIFY(verdict.ok);  // a warning, not an error
    QCOMPARE(
        verdict.members[1].warnings,
        std::vector<std::string>{"added tokens differ from the base (vocabulary and merges are the same): "
                                 "id 0 is '<|begin|>' here, '<s>' in the base; id 4 '<tool>' only here"});
}

// Configs of one family whose forward features differ: warnings naming the
// key and both values (the merge runs with the base's config).
void TestPoolCheck::forward_features_warn() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::TinyModelOptions g;
    g.architecture = "Gemma2ForCausalLM";
    g.sliding_window = 4;
    testing::write_tiny_model(root / "base", g);
    g.attn_softcap = 2.0;
    g.seed = 2;
    testing::write_tiny_model(root / "capped", g);
    testing::TinyModelOptions gr;
    gr.architecture = "GraniteForCausalLM";
    testing::write_tiny_model(root / "granite", gr);
    gr.residual_multiplier = 0.25;
    gr.seed = 3;
    testing::write_tiny_model(root / "granite_rm", gr);
    auto v = check_pool(std::vector<fs::path>{root / "base", root / "capped"});
    QVERIFY(v.ok);
    QCOMPARE(v.members[1].warnings, std::vector<std::string>{"attn_logit_softcapping is 2, base has 50"});
    v = check_pool(std::vector<fs::path>{root / "granite", root / "granite_rm"});
    QVERIFY(v.ok);
    QCOMPARE(v.members[1].warnings, std::vector<std::string>{"residual_multiplier is 0.25, base has 1"});
    // Two families in one pool: an error naming both.
    v = check_pool(std::vector<fs::path>{root / "base", root / "granite"});
    QVERIFY(!v.ok);
    QCOMPARE(v.members[1].reason,
             std::string("architecture is GraniteForCausalLM, base has Gemma2ForCausalLM"));
}

void TestPoolCheck::unreadable_member() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "base");
    fs::create_directory(root / "empty");
    const auto verdict = check_pool(std::vector<fs::path>{root / "base", root / "empty"});
    QVERIFY(!verdict.ok);
    QVERIFY(verdict.members[0].ok);
    QVERIFY2(verdict.members[1].reason.find("no config.json") != std::string::npos,
             verdict.members[1].reason.c_str());
}

QTEST_GUILESS_MAIN(TestPoolCheck)
#include "test_pool_check.moc"
