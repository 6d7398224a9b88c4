// JSON text with non-finite numbers: NaN / Infinity / -Infinity survive a
// write and a read (nlohmann alone writes null, then `get<double>` fails), and
// Python's json.dumps output (the original OLM's reports) reads.
#include "core/util/json_text.h"

#include <QtTest>

#include <cmath>
#include <limits>

using Json = nlohmann::json;

class TestJsonText : public QObject {
    Q_OBJECT
private slots:
    void roundTripsNonFinite() {
        Json j;
        j["metrics"]["a.json"] = std::numeric_limits<double>::quiet_NaN();
        j["metrics"]["b.json"] = std::numeric_limits<double>::infinity();
        j["per_sample"] = {1.5, -std::numeric_limits<double>::infinity(), 2.0};
        j["name"] = "NaN";  // a string stays a string
        const std::string text = olm::dump_json_text(j, 2);
        QVERIFY2(text.find("\"a.json\": NaN") != std::string::npos, text.c_str());
        QVERIFY2(text.find("\"b.json\": Infinity") != std::string::npos, text.c_str());
        QVERIFY2(text.find("-Infinity") != std::string::npos, text.c_str());
        QVERIFY(text.find("null") == std::string::npos);
        const Json back = olm::parse_json_text(text);
        QVERIFY(std::isnan(back["metrics"]["a.json"].get<double>()));
        QCOMPARE(back["metrics"]["b.json"].get<double>(), std::numeric_limits<double>::infinity());
        QCOMPARE(back["per_sample"][1].get<double>(), -std::numeric_limits<double>::infinity());
        QCOMPARE(back["per_sample"][2].get<double>(), 2.0);
        QCOMPARE(back["name"].get<std::string>(), std::string("NaN"));
        // Plain nlohmann loses them: the defect this replaces.
        QVERIFY(Json::parse(j.dump())["metrics"]["a.json"].is_null());
    }

    void readsPythonJsonDumps() {
        // python3 -c 'import json; print(json.dumps({"x": float("nan"), "y": [float("inf"), -float("inf")],
        //                                           "s": "Infinity NaN", "z": 1e-3}))'
        const std::string py = R"({"x": NaN, "y": [Infinity, -Infinity], "s": "Infinity NaN", "z": 0.001})";
        const Json j = olm::parse_json_text(py);
        QVERIFY(std::isnan(j["x"].get<double>()));
        QVERIFY(std::isinf(j["y"][0].get<double>()) && j["y"][0].get<double>() > 0);
        QVERIFY(std::isinf(j["y"][1].get<double>()) && j["y"][1].get<double>() < 0);
        QCOMPARE(j["s"].get<std::string>(), std::string("Infinity NaN"));
        QCOMPARE(j["z"].get<double>(), 0.001);
        QVERIFY(!olm::has_non_finite(Json::parse(R"({"a": [1, 2.5, "NaN"]})")));
    }

    void otherErrorsKeepTheirPositions() {
        const std::string bad = "{\"x\": NaN, \"y\": nope}";
        std::string plain, ours;
        try {
            (void)Json::parse(bad);
        } catch (const Json::parse_error& e) {
            plain = e.what();
        }
        try {
            olm::parse_json_text(bad);
        } catch (const Json::parse_error& e) {
            ours = e.what();
        }
        // the error (and its position) of the text as given, not of a rewritten one
        QVERIFY(!plain.empty());
        QCOMPARE(ours, plain);
        QVERIFY_THROWS_EXCEPTION(Json::parse_error, olm::parse_json_text("[NaNa]"));
    }
};

QTEST_GUILESS_MAIN(TestJsonText)
#include "test_json_text.moc"
