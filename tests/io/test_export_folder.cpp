// Export of a complete model folder: bit-exact reload, blended tensors equal a
// naive float64 recomputation, dtype conversion updates config.json, tokenizer
// and extra files travel along, pool folders are never written, and an
// interrupted export leaves no target behind. Nothing the export did not
// write is deleted: a folder with foreign files is refused (even with
// overwrite), a previous export is replaced only with overwrite, and the
// temporary folders of interrupted exports are cleaned up once unlocked.
#include "core/io/export_folder.h"
#include "core/io/model_config.h"
#include "core/util/error.h"
#include "tests/support/test_files.h"
#include "tests/support/tiny_model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <fstream>
#include <set>

using namespace olm;
using olm::testing::error_of;
using olm::testing::write_text;
namespace fs = std::filesystem;

namespace {

class CancelAfter : public ProgressSink {
public:
    explicit CancelAfter(int n) : m_n(n) {}
    void progress(std::string_view, long long done, long long) override { m_done = done; }
    bool cancelled() const override { return m_done >= m_n; }

private:
    int m_n;
    long long m_done = 0;
};

bool only_dotfiles_besides(const fs::path& dir, const std::set<std::string>& expected) {
    for (const auto& e : fs::directory_iterator(dir))
        if (!expected.count(e.path().filename().string())) return false;
    return true;
}

}  // namespace

class TestExportFolder : public QObject {
    Q_OBJECT
private slots:
    void passthrough_is_bit_exact_data();
    void passthrough_is_bit_exact();
    void blend_matches_float64_reference();
    void converts_dtype_and_updates_config();
    void refuses_pool_folders_data();
    void refuses_pool_folders();
    void cancelled_export_leaves_nothing();
    void overwrite_replaces_previous_export();
    void never_replaces_foreign_files_data();
    void never_replaces_foreign_files();
    void removes_stale_partial_folders();
};

namespace {
struct LogSink : ProgressSink {
    std::string text;
    void log(LogLevel, std::string_view m) override { text += std::string(m) + "\n"; }
};
}  // namespace

void TestExportFolder::passthrough_is_bit_exact_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("shards");
    QTest::addColumn<bool>("v5");
    QTest::newRow("bf16, 3 shards") << int(DType::BF16) << 3 << false;
    QTest::newRow("f16, single file") << int(DType::F16) << 1 << false;
    QTest::newRow("f32, 2 shards, transformers 5 config") << int(DType::F32) << 2 << true;
}

void TestExportFolder::passthrough_is_bit_exact() {
    QFETCH(int, dtype);
    QFETCH(int, shards);
    QFETCH(bool, v5);
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::TinyModelOptions o;
    o.architecture = "Qwen2ForCausalLM";
    o.dtype = static_cast<DType>(dtype);
    o.shards = shards;
    o.transformers5 = v5;
    testing::write_tiny_model(root / "base", o);
    write_text(root / "base" / "tokenizer.json", R"({"model":{"type":"BPE","vocab":{},"merges":[]}})");
    write_text(root / "base" / "tokenizer_config.json", R"({"eos_token":"</s>"})");
    write_text(root / "base" / "chat_template.jinja", "{{ messages }}");
    const auto base = ModelFolder::open(root / "base");
    ExportOptions eo;
    eo.shard_count = 2;
    eo.extra_files["README.md"] = "# merged\n";
    const auto r = export_model_folder(base, passthrough_sources(base), root / "out" / "merged", eo);
    QCOMPARE(r.model.files.size(), size_t(2));
    const auto out = ModelFolder::open(root / "out" / "merged");
    QCOMPARE(out.names(), base.names());
    for (const auto& n : base.names()) {
        const at::Tensor a = base.tensor(n), b = out.tensor(n);
        QCOMPARE(a.scalar_type(), b.scalar_type());
        QVERIFY2(std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()) == 0, n.c_str());
    }
    for (const char* f : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                          "chat_template.jinja", "README.md", "model.safetensors.index.json"})
        QVERIFY2(fs::exists(root / "out" / "merged" / f), f);
    const auto cfg = read_json_file(root / "out" / "merged" / "config.json");
    QCOMPARE(cfg == read_json_file(root / "base" / "config.json"), true);  // same dtype: config unchanged
    QVERIFY(only_dotfiles_besides(root / "out", {"merged"}));              // no temp folder left
}

void TestExportFolder::blend_matches_float64_reference() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::TinyModelOptions o;
    o.dtype = DType::BF16;
    testing::write_tiny_model(root / "a", o);
    testing::derive_model(root / "a", root / "b", 8, {0, 1}, 0.05, true);
    const auto a = ModelFolder::open(root / "a");
    const auto b = ModelFolder::open(root / "b");
    std::vector<TensorSource> src;
    for (const auto& n : a.names()) {
        const auto& info = a.info(n);
        src.push_back(
            {n,
             DType::BF16,
             info.shape,
             [a, b, n] { return 0.25f * a.tensor(n).to(at::kFloat) + 0.75f * b.tensor(n).to(at::kFloat); },
             {}});
    }
    ExportOptions eo;
    eo.protected_folders = {root / "b"};
    export_model_folder(a, src, root / "blend", eo);
    const auto m = ModelFolder::open(root / "blend");
    for (const auto& n : a.names()) {
        // naive float64 reference, rounded once to bf16
        const at::Tensor ref =
            (0.25 * a.tensor(n).to(at::kDouble) + 0.75 * b.tensor(n).to(at::kDouble)).to(at::kBFloat16);
        const double diff = (m.tensor(n).to(at::kDouble) - ref.to(at::kDouble)).abs().max().item<double>();
        const double tol = ref.to(at::kDouble).abs().max().item<double>() * (1.0 / 128);  // one bf16 ulp
        QVERIFY2(diff <= tol, n.c_str());
    }
}

void TestExportFolder::converts_dtype_and_updates_config() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::TinyModelOptions o;
    o.dtype = DType::F32;
    testing::write_tiny_model(root / "base", o);
    const auto base = ModelFolder::open(root / "base");
    export_model_folder(base, passthrough_sources(base, DType::BF16), root / "bf16");
    const auto out = ModelFolder::open(root / "bf16");
    QCOMPARE(out.main_dtype(), DType::BF16);
    QCOMPARE(out.spec().torch_dtype, std::string("bfloat16"));
    for (const auto& n : base.names()) QVERIFY(at::equal(out.tensor(n), base.tensor(n).to(at::kBFloat16)));
    // Key order of the base config is kept.
    std::ifstream in(root / "bf16" / "config.json");
    std::string first_line, second_line;
    std::getline(in, first_line);
    std::getline(in, second_line);
    QCOMPARE(second_line, std::string("  \"architectures\": ["));
}

void TestExportFolder::refuses_pool_folders_data() {
    QTest::addColumn<QString>("target");
    QTest::addColumn<QString>("expected");
    QTest::newRow("the base itself") << "base"
                                     << "is the pool model folder";
    QTest::newRow("a protected pool model") << "ft"
                                            << "is the pool model folder";
    QTest::newRow("a folder containing the pool") << "."
                                                  << "contains the pool model folder";
    QTest::newRow("existing folder with a user file") << "other"
                                                      << "holds files this program did not write (notes.txt";
    QTest::newRow("pool model through a dotted path") << "x/../ft"
                                                      << "is the pool model folder";
}

void TestExportFolder::refuses_pool_folders() {
    QFETCH(QString, target);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "base");
    testing::derive_model(root / "base", root / "ft", 2, {1});
    fs::create_directories(root / "other");
    write_text(root / "other" / "notes.txt", "mine");
    fs::create_directories(root / "x");
    const auto base = ModelFolder::open(root / "base");
    ExportOptions eo;
    eo.protected_folders = {root / "ft"};
    const std::string err = error_of(
        [&] { export_model_folder(base, passthrough_sources(base), root / target.toStdString(), eo); });
    QVERIFY2(err.find(expected.toStdString()) != std::string::npos, err.c_str());
    // The pool is untouched.
    QVERIFY(ModelFolder::open(root / "ft").has("model.norm.weight"));
    eo.overwrite = true;  // even when overwriting is allowed
    QVERIFY(!error_of([&] {
                 export_model_folder(base, passthrough_sources(base), root / target.toStdString(), eo);
             }).empty());
    QCOMPARE(testing::read_text(root / "other" / "notes.txt"), std::string("mine"));
}

void TestExportFolder::cancelled_export_leaves_nothing() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "m" / "base");
    const auto base = ModelFolder::open(root / "m" / "base");
    CancelAfter sink(5);
    QVERIFY_EXCEPTION_THROWN(
        export_model_folder(base, passthrough_sources(base), root / "m" / "out", {}, sink), Cancelled);
    QVERIFY(!fs::exists(root / "m" / "out"));
    QVERIFY(only_dotfiles_besides(root / "m", {"base"}));  // temp folder removed too
}

void TestExportFolder::overwrite_replaces_previous_export() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "base");
    const auto base = ModelFolder::open(root / "base");
    export_model_folder(base, passthrough_sources(base), root / "out");
    QVERIFY(fs::is_regular_file(root / "out" / kExportMarker));
    QCOMPARE(int(inspect_export_target(root / "out").kind), int(ExportTargetInfo::Kind::previous_export));
    // Without overwrite a previous export is kept, and the message says how to replace it.
    const std::string err =
        error_of([&] { export_model_folder(base, passthrough_sources(base), root / "out"); });
    QVERIFY2(err.find("holds a previous export") != std::string::npos, err.c_str());
    ExportOptions eo;
    eo.overwrite = true;
    export_model_folder(base, passthrough_sources(base, DType::F16), root / "out", eo);
    QCOMPARE(ModelFolder::open(root / "out").main_dtype(), DType::F16);
    QVERIFY(only_dotfiles_besides(root, {"base", "out"}));
    // An empty existing folder is as good as a new one.
    fs::create_directories(root / "empty");
    export_model_folder(base, passthrough_sources(base), root / "empty");
    QVERIFY(ModelFolder::open(root / "empty").has("model.norm.weight"));
}

void TestExportFolder::never_replaces_foreign_files_data() {
    QTest::addColumn<bool>("previous_export");
    QTest::newRow("a folder of user files") << false;
    QTest::newRow("a previous export with a user file added") << true;
}

void TestExportFolder::never_replaces_foreign_files() {
    QFETCH(bool, previous_export);
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "base");
    const auto base = ModelFolder::open(root / "base");
    if (previous_export) export_model_folder(base, passthrough_sources(base), root / "out");
    fs::create_directories(root / "out" / "sub");
    write_text(root / "out" / "thesis.tex", "years of work");
    write_text(root / "out" / "sub" / "data.csv", "1,2");
    ExportOptions eo;
    eo.overwrite = true;
    const std::string err =
        error_of([&] { export_model_folder(base, passthrough_sources(base), root / "out", eo); });
    QVERIFY2(err.find((root / "out").string()) != std::string::npos, err.c_str());
    QVERIFY2(err.find("thesis.tex") != std::string::npos, err.c_str());
    QVERIFY2(err.find("never deleted") != std::string::npos, err.c_str());
    QCOMPARE(testing::read_text(root / "out" / "thesis.tex"), std::string("years of work"));
    QCOMPARE(testing::read_text(root / "out" / "sub" / "data.csv"), std::string("1,2"));
    QVERIFY(only_dotfiles_besides(root, {"base", "out"}));
}

void TestExportFolder::removes_stale_partial_folders() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    testing::write_tiny_model(root / "base");
    const auto base = ModelFolder::open(root / "base");
    const std::string marker = R"({"written_by": "OLM Studio 0.1.0", "state": "partial", "pid": 1})";
    // Left by a killed export: marked, nobody holds it.
    fs::create_directories(root / ".out.partial-4242-17");
    write_text(root / ".out.partial-4242-17" / kExportMarker, marker);
    write_text(root / ".out.partial-4242-17" / "model.safetensors", "half");
    fs::create_directories(root / ".out.old-4242-3");
    write_text(root / ".out.old-4242-3" / kExportMarker, marker);
    // A live export's folder: its marker is locked.
    fs::create_directories(root / ".out.partial-77-1");
    write_text(root / ".out.partial-77-1" / kExportMarker, marker);
    const int fd = ::open((root / ".out.partial-77-1" / kExportMarker).c_str(), O_RDONLY);
    QVERIFY(fd >= 0 && ::flock(fd, LOCK_EX) == 0);
    // The pattern without our marker: not recognisably ours, left alone.
    fs::create_directories(root / ".out.partial-5-5");
    write_text(root / ".out.partial-5-5" / "keep.bin", "x");
    // Another target's leftovers are not this export's business.
    fs::create_directories(root / ".other.partial-1-1");
    write_text(root / ".other.partial-1-1" / kExportMarker, marker);

    LogSink sink;
    export_model_folder(base, passthrough_sources(base), root / "out", {}, sink);
    QVERIFY(!fs::exists(root / ".out.partial-4242-17"));
    QVERIFY(!fs::exists(root / ".out.old-4242-3"));
    QVERIFY(fs::exists(root / ".out.partial-77-1" / kExportMarker));
    QVERIFY(fs::exists(root / ".out.partial-5-5" / "keep.bin"));
    QVERIFY(fs::exists(root / ".other.partial-1-1"));
    QVERIFY2(sink.text.find("removed " + (root / ".out.partial-4242-17").string()) != std::string::npos,
             sink.text.c_str());
    QVERIFY2(sink.text.find("left alone: " + (root / ".out.partial-5-5").string()) != std::string::npos,
             sink.text.c_str());
    ::close(fd);
}

QTEST_GUILESS_MAIN(TestExportFolder)
#include "test_export_folder.moc"
