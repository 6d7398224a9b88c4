// The streaming writer: bit-exact round trip for every dtype, the exact bytes
// of a small file (length, padded header, data), shard filling and index
// format, producer checks and cancel.
#include "core/io/model_config.h"
#include "core/io/safetensors_reader.h"
#include "core/io/safetensors_writer.h"
#include "core/util/error.h"
#include "tests/support/test_files.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sstream>

using namespace olm;
namespace fs = std::filesystem;

namespace {

// Random bytes reinterpreted as the dtype: round trips must keep every bit,
// NaN payloads included.
at::Tensor random_bits(DType d, std::vector<int64_t> shape) {
    at::Tensor raw =
        at::randint(0, 256, {static_cast<int64_t>(dtype_size(d)) * c10::multiply_integers(shape)},
                    at::TensorOptions().dtype(at::kByte).device(at::kCPU));
    if (d == DType::BOOL) raw = raw.remainder(2);
    return raw.view(to_scalar_type(d)).view(shape);
}

class Cancelling : public ProgressSink {
public:
    bool cancelled() const override { return m_calls >= 2; }
    void progress(std::string_view, long long, long long) override { ++m_calls; }
    int m_calls = 0;
};

}  // namespace

class TestSafetensorsWriter : public QObject {
    Q_OBJECT
private slots:
    void round_trip_data();
    void round_trip();
    void exact_bytes();
    void sharding();
    void exact_shard_count();
    void converts_dtype();
    void producer_errors();
    void cancel_stops();
};

void TestSafetensorsWriter::round_trip_data() {
    QTest::addColumn<int>("dtype");
    for (DType d : {DType::BF16, DType::F16, DType::F32, DType::F64, DType::I64, DType::I32, DType::I16,
                    DType::I8, DType::U8, DType::BOOL})
        QTest::newRow(std::string(dtype_name(d)).c_str()) << int(d);
}

void TestSafetensorsWriter::round_trip() {
    QFETCH(int, dtype);
    const DType d = static_cast<DType>(dtype);
    at::manual_seed(dtype);
    QTemporaryDir tmp;
    const fs::path file = fs::path(tmp.path().toStdString()) / "t.safetensors";
    const at::Tensor a = random_bits(d, {3, 5});
    const at::Tensor b = random_bits(d, {7});
    const at::Tensor s = random_bits(d, {});  // scalar
    write_safetensors_file(file, {{"a", a}, {"b", b}, {"scalar", s}});
    const auto f = SafetensorsFile::open(file);
    for (const auto& [name, t] :
         std::vector<std::pair<std::string, at::Tensor>>{{"a", a}, {"b", b}, {"scalar", s}}) {
        const at::Tensor r = f->tensor(name);
        QCOMPARE(r.scalar_type(), t.scalar_type());
        QCOMPARE(r.sizes().vec(), t.sizes().vec());
        // bitwise, so NaNs compare equal
        QVERIFY(std::memcmp(r.data_ptr(), t.data_ptr(), t.numel() * t.element_size()) == 0);
    }
    QCOMPARE(f->metadata().at("format"), std::string("pt"));
    QCOMPARE(f->header().data_offset % 8, uint64_t(0));
}

void TestSafetensorsWriter::exact_bytes() {
    QTemporaryDir tmp;
    const fs::path file = fs::path(tmp.path().toStdString()) / "t.safetensors";
    const float v[2] = {1.0f, -2.0f};
    write_safetensors_file(file, {{"w", at::from_blob(const_cast<float*>(v), {2}, at::kFloat)}});
    const std::string json =
        R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const size_t padded = json.size() + (8 - json.size() % 8) % 8;  // 8 + padded is a multiple of 8
    std::string expected(8, '\0');
    expected[0] = static_cast<char>(padded);
    expected.append(json).append(padded - json.size(), ' ');
    expected.append("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
    QCOMPARE(testing::read_text(file), expected);
}

void TestSafetensorsWriter::sharding() {
    QTemporaryDir tmp;
    const fs::path dir = tmp.path().toStdString();
    std::vector<TensorSource> src;
    std::vector<at::Tensor> keep;
    for (int i = 0; i < 5; ++i) {  // 5 tensors of 400 bytes; limit 1000 -> 2+2+1
        keep.push_back(at::full({100}, float(i)));
        src.push_back({"t" + std::to_string(i), DType::F32, {100}, [t = keep.back()] { return t; }, {}});
    }
    ShardOptions o;
    o.max_shard_bytes = 1000;
    const WrittenModel w = write_safetensors_model(dir, src, o);
    QCOMPARE(w.files,
             (std::vector<std::string>{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                       "model-00003-of-00003.safetensors"}));
    QCOMPARE(w.total_size, uint64_t(2000));
    const auto index = read_json_file(dir / "model.safetensors.index.json");
    QCOMPARE(index["metadata"]["total_size"].get<uint64_t>(), uint64_t(2000));
    QCOMPARE(index["weight_map"]["t2"].get<std::string>(), std::string("model-00002-of-00003.safetensors"));
    QCOMPARE(index["weight_map"]["t4"].get<std::string>(), std::string("model-00003-of-00003.safetensors"));
    const auto last = SafetensorsFile::open(dir / "model-00003-of-00003.safetensors");
    QCOMPARE(last->tensor("t4")[7].item<float>(), 4.0f);

    // One shard: model.safetensors and no index.
    const fs::path one = dir / "one";
    fs::create_directory(one);
    const WrittenModel w1 = write_safetensors_model(one, src);
    QCOMPARE(w1.files, std::vector<std::string>{"model.safetensors"});
    QVERIFY(!fs::exists(one / "model.safetensors.index.json"));
}

void TestSafetensorsWriter::exact_shard_count() {
    QTemporaryDir tmp;
    const fs::path dir = tmp.path().toStdString();
    std::vector<TensorSource> src;
    for (int i = 0; i < 9; ++i)
        src.push_back(
            {"t" + std::to_string(i), DType::F32, {10 + i}, [i] { return at::zeros({10 + i}); }, {}});
    ShardOptions o;
    o.shard_count = 4;
    QCOMPARE(write_safetensors_model(dir, src, o).files.size(), size_t(4));
}

void TestSafetensorsWriter::converts_dtype() {
    QTemporaryDir tmp;
    const fs::path dir = tmp.path().toStdString();
    const at::Tensor x = at::tensor({1.0f, 1.00390625f, -3.5f});  // 1 + 2^-8 is not representable in bf16
    int released = 0;
    write_safetensors_model(dir, {{"x", DType::BF16, {3}, [x] { return x; }, [&] { ++released; }}});
    QCOMPARE(released, 1);
    const auto f = SafetensorsFile::open(dir / "model.safetensors");
    QCOMPARE(f->tensor("x").scalar_type(), at::kBFloat16);
    QVERIFY(at::equal(f->tensor("x"), x.to(at::kBFloat16)));
}

void TestSafetensorsWriter::producer_errors() {
    QTemporaryDir tmp;
    const fs::path dir = tmp.path().toStdString();
    QVERIFY_EXCEPTION_THROWN(
        write_safetensors_model(dir, {{"x", DType::F32, {3}, [] { return at::zeros({4}); }, {}}}), Error);
    QVERIFY_EXCEPTION_THROWN(write_safetensors_model(dir, {}), Error);
    const TensorSource a{"a", DType::F32, {1}, [] { return at::zeros({1}); }, {}};
    QVERIFY_EXCEPTION_THROWN(write_safetensors_model(dir, {a, a}), Error);  // duplicate name
}

void TestSafetensorsWriter::cancel_stops() {
    QTemporaryDir tmp;
    const fs::path dir = tmp.path().toStdString();
    std::vector<TensorSource> src;
    int produced = 0;
    for (int i = 0; i < 5; ++i)
        src.push_back({"t" + std::to_string(i),
                       DType::F32,
                       {4},
                       [&] {
                           ++produced;
                           return at::zeros({4});
                       },
                       {}});
    Cancelling sink;
    QVERIFY_EXCEPTION_THROWN(write_safetensors_model(dir, src, {}, sink), Cancelled);
    QCOMPARE(produced, 2);
}

QTEST_GUILESS_MAIN(TestSafetensorsWriter)
#include "test_safetensors_writer.moc"
