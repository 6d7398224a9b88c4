// The safetensors reader against files crafted byte by byte here (not by our
// writer): every dtype decodes to the values the IEEE/two's-complement bytes
// mean, and every malformed header gives its specific error.
#include "core/io/inspect.h"
#include "core/io/safetensors_reader.h"
#include "core/io/safetensors_writer.h"
#include "core/util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <sys/wait.h>
#include <unistd.h>
#include <fstream>

using namespace olm;
namespace fs = std::filesystem;

namespace {

// 8-byte little-endian length + header + data.
std::string frame(const std::string& header, const std::string& data, int64_t length_override = -1) {
    const uint64_t n = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + header + data;
}

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int x : b) s.push_back(static_cast<char>(x));
    return s;
}

fs::path write_file(const QTemporaryDir& dir, const std::string& name, const std::string& contents) {
    const fs::path p = fs::path(dir.path().toStdString()) / name;
    std::ofstream out(p, std::ios::binary);
    out << contents;
    return p;
}

}  // namespace

class TestSafetensorsReader : public QObject {
    Q_OBJECT
private slots:
    void golden_every_dtype();
    void metadata_and_order();
    void misaligned_tensor_is_copied();
    void malformed_data();
    void malformed();
    void missing_file();
    void release_drops_resident_pages();
    void truncated_while_mapped_names_the_file();
};

// A file that shrinks under its mapping makes the next read of a lost page a
// SIGBUS; the reader's handler turns it into one line naming the file and exit
// status 1 (a child process plays the victim).
void TestSafetensorsReader::truncated_while_mapped_names_the_file() {
    QTemporaryDir dir;
    const std::string header = R"({"w":{"dtype":"F32","shape":[65536],"data_offsets":[0,262144]}})";
    const fs::path p = write_file(dir, "shrinking.safetensors", frame(header, std::string(262144, '\1')));
    int err[2];
    QVERIFY(::pipe(err) == 0);
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(err[1], 2);
        ::close(err[0]);
        auto f = SafetensorsFile::open(p);
        const TensorInfo& info = f->info("w");
        if (::truncate(p.c_str(), static_cast<off_t>(8 + header.size())) != 0) ::_exit(3);
        volatile unsigned char last = f->data(info)[info.bytes() - 1];  // SIGBUS here
        (void)last;
        ::_exit(4);  // not reached
    }
    ::close(err[1]);
    std::string text;
    char buf[512];
    for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
    ::close(err[0]);
    int status = 0;
    QCOMPARE(::waitpid(child, &status, 0), child);
    QVERIFY2(WIFEXITED(status), ("killed by signal " + std::to_string(WTERMSIG(status))).c_str());
    QCOMPARE(WEXITSTATUS(status), 1);
    QVERIFY2(text.find(p.string() + " changed while in use") != std::string::npos, text.c_str());
    QVERIFY2(text.find("--resume") != std::string::npos, text.c_str());
}

void TestSafetensorsReader::golden_every_dtype() {
    // Each tensor's bytes written out by hand, little-endian.
    const std::string data =
        bytes({0x80, 0x3f, 0x00, 0xc0}) +                          // BF16 [1.0, -2.0]          0..4
        bytes({0x00, 0x3c, 0x00, 0x38, 0x00, 0x7c, 0x00, 0x00}) +  // F16 [1.0, 0.5, inf, 0]    4..12
        bytes({0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x40, 0xc0,     // F32 [[1.0, -3.0],         12..28
               0x00, 0x00, 0x00, 0x3f, 0xdb, 0x0f, 0x49, 0x40}) +  //      [0.5, 3.14159274]]
        bytes({0, 0, 0, 0, 0, 0, 0xf0, 0x3f}) +                    // F64 [1.0]                 28..36
        bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) +  // I64 [-1]                  36..44
        bytes({0x2a, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff}) +           // I32 [42, -2]              44..52
        bytes({0x00, 0x80}) +                                      // I16 [-32768]              52..54
        bytes({0x80, 0x7f}) +                                      // I8 [-128, 127]            54..56
        bytes({0xff, 0x00}) +                                      // U8 [255, 0]               56..58
        bytes({0x01, 0x00, 0x01});                                 // BOOL [true, false, true]  58..61
    const std::string header = R"({"bf":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},)"
                               R"("h":{"dtype":"F16","shape":[4],"data_offsets":[4,12]},)"
                               R"("f":{"dtype":"F32","shape":[2,2],"data_offsets":[12,28]},)"
                               R"("d":{"dtype":"F64","shape":[1],"data_offsets":[28,36]},)"
                               R"("l":{"dtype":"I64","shape":[1],"data_offsets":[36,44]},)"
                               R"("i":{"dtype":"I32","shape":[2],"data_offsets":[44,52]},)"
                               R"("s":{"dtype":"I16","shape":[1],"data_offsets":[52,54]},)"
                               R"("c":{"dtype":"I8","shape":[2],"data_offsets":[54,56]},)"
                               R"("u":{"dtype":"U8","shape":[2],"data_offsets":[56,58]},)"
                               R"("b":{"dtype":"BOOL","shape":[3],"data_offsets":[58,61]},)"
                               R"("e":{"dtype":"F32","shape":[0,4],"data_offsets":[61,61]}})";
    QTemporaryDir tmp;
    const auto f = SafetensorsFile::open(write_file(tmp, "golden.safetensors", frame(header, data)));
    QCOMPARE(f->tensors().size(), size_t(11));
    auto as_double = [&](const char* name) {
        at::Tensor t = f->tensor(name).to(at::kDouble).flatten();
        std::vector<double> v(t.numel());
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = t[i].item<double>();
        return v;
    };
    QCOMPARE(f->tensor("bf").scalar_type(), at::kBFloat16);
    QCOMPARE(as_double("bf"), (std::vector<double>{1.0, -2.0}));
    QCOMPARE(f->tensor("h").scalar_type(), at::kHalf);
    const auto h = as_double("h");
    QCOMPARE(h[0], 1.0);
    QCOMPARE(h[1], 0.5);
    QVERIFY(std::isinf(h[2]) && h[2] > 0);
    QCOMPARE(h[3], 0.0);
    QCOMPARE(f->tensor("f").sizes().vec(), (std::vector<int64_t>{2, 2}));
    QCOMPARE(as_double("f"), (std::vector<double>{1.0, -3.0, 0.5, static_cast<double>(3.14159274f)}));
    QCOMPARE(as_double("d"), (std::vector<double>{1.0}));
    QCOMPARE(f->tensor("l").scalar_type(), at::kLong);
    QCOMPARE(f->tensor("l").item<int64_t>(), int64_t(-1));
    QCOMPARE(as_double("i"), (std::vector<double>{42, -2}));
    QCOMPARE(as_double("s"), (std::vector<double>{-32768}));
    QCOMPARE(as_double("c"), (std::vector<double>{-128, 127}));
    QCOMPARE(as_double("u"), (std::vector<double>{255, 0}));
    QCOMPARE(f->tensor("b").scalar_type(), at::kBool);
    QCOMPARE(as_double("b"), (std::vector<double>{1, 0, 1}));
    QCOMPARE(f->tensor("e").numel(), int64_t(0));
    QCOMPARE(f->info("i").file, f->path());
    QCOMPARE(f->info("f").bytes(), uint64_t(16));
}

void TestSafetensorsReader::metadata_and_order() {
    const std::string header =
        R"({"__metadata__":{"format":"pt","n":3},"z":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},)"
        R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
    QTemporaryDir tmp;
    const auto f = SafetensorsFile::open(write_file(tmp, "m.safetensors", frame(header, bytes({7, 9}))));
    QCOMPARE(f->metadata().at("format"), std::string("pt"));
    QCOMPARE(f->metadata().at("n"), std::string("3"));
    QCOMPARE(f->tensors()[0].name, std::string("a"));  // data order
    QCOMPARE(f->tensor("z").item<uint8_t>(), uint8_t(9));
    QVERIFY(!f->has("__metadata__"));
}

void TestSafetensorsReader::misaligned_tensor_is_copied() {
    // Header of 41 bytes: data starts at 49, so the F32 at offset 1 is misaligned.
    std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})";
    QTemporaryDir tmp;
    const auto f =
        SafetensorsFile::open(write_file(tmp, "m.safetensors", frame(header, bytes({0, 0, 0, 0x80, 0x3f}))));
    QCOMPARE(f->tensor("x").item<float>(), 1.0f);
}

void TestSafetensorsReader::malformed_data() {
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QString>("expected");
    auto row = [](const char* name, const std::string& file, const char* expected) {
        QTest::newRow(name) << QByteArray(file.data(), static_cast<int>(file.size())) << QString(expected);
    };
    const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const std::string eight(8, '\0');
    row("shorter than 8 bytes", "abc", "too small to be safetensors");
    row("header length past end of file", frame("{}", "", 1000),
        "header length 1000 is larger than the file (10 bytes)");
    row("absurd header length", frame("{}", "", 200ll * 1024 * 1024), "is absurd");
    row("header not JSON", frame("{\"a\": ", ""), "header is not valid JSON");
    row("header not an object", frame("[1,2]", ""), "header is not a JSON object (found array)");
    row("unknown dtype", frame(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", "x"),
        "tensor 'a': unknown dtype 'F8_E4M3' (supported: BF16");
    row("shape x dtype != span", frame(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
        "tensor 'a': shape [3] x F32 needs 12 bytes but data_offsets span 8");
    row("offsets outside data", frame(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", eight),
        "tensor 'a': data_offsets [4, 12] lie outside the data region of 8 bytes");
    row("end before begin", frame(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}})", eight),
        "end before they begin");
    row("overlapping tensors",
        frame("{" + ok_entry + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight),
        "tensors 'a' [0, 8) and 'b' [4, 8) overlap");
    row("duplicate names", frame("{" + ok_entry + "," + ok_entry + "}", eight), "duplicate tensor name 'a'");
    row("negative dim", frame(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
        "shape entry -2 is not a non-negative integer");
    row("shape overflow",
        frame(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", eight),
        "is too large");
    row("missing offsets", frame(R"({"a":{"dtype":"F32","shape":[2]}})", eight), "missing 'data_offsets'");
    row("entry not object", frame(R"({"a":3})", eight), "tensor 'a': entry is not an object");
    row("metadata not object", frame(R"({"__metadata__":[1]})", eight), "__metadata__ is not an object");
}

void TestSafetensorsReader::malformed() {
    QFETCH(QByteArray, file);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    const fs::path p = write_file(tmp, "bad.safetensors", file.toStdString());
    std::string err;
    try {
        SafetensorsFile::open(p);
    } catch (const Error& e) {
        err = e.what();
    }
    QVERIFY2(err.find(expected.toStdString()) != std::string::npos, err.c_str());
    QVERIFY2(err.find(p.string()) == 0, "the error names the file first");
}

void TestSafetensorsReader::missing_file() {
    bool threw = false;
    try {
        SafetensorsFile::open("/nonexistent/x.safetensors");
    } catch (const Error& e) {
        threw = std::string(e.what()).find("/nonexistent/x.safetensors: cannot open") == 0;
    }
    QVERIFY(threw);
}

void TestSafetensorsReader::release_drops_resident_pages() {
    // 6 tensors of 16 MB: reading each and releasing it keeps about one resident.
    QTemporaryDir tmp;
    const fs::path p = fs::path(tmp.path().toStdString()) / "big.safetensors";
    {
        std::vector<std::pair<std::string, at::Tensor>> ts;
        for (int i = 0; i < 6; ++i)
            ts.push_back({"t" + std::to_string(i), at::full({4 << 20}, float(i + 1))});
        write_safetensors_file(p, ts);
    }
    const auto f = SafetensorsFile::open(p);
    const uint64_t before = resident_bytes();
    for (int i = 0; i < 6; ++i) {
        const TensorInfo& info = f->info("t" + std::to_string(i));
        QCOMPARE(f->tensor(info).sum().item<double>(), double(i + 1) * (4 << 20));  // touches every page
        f->release(info);
    }
    const double grown_mb = (double(resident_bytes()) - double(before)) / 1e6;
    QVERIFY2(grown_mb < 1.5 * 16.8, std::to_string(grown_mb).c_str());
    QCOMPARE(f->tensor("t2")[12345].item<float>(), 3.0f);  // released pages read back from the file
}

QTEST_GUILESS_MAIN(TestSafetensorsReader)
#include "test_safetensors_reader.moc"
