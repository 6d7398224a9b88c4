// The GUI opens the original OLM's merge_report.json: golden.json's "ranks"
// merge (tests/data/original, written by olm.py at commit 7731be5) plus a
// tensors section in the form olm.py's save_tensor_state writes (full tensor
// names, Python's Infinity literal for a degraded candidate). Every score of
// the file must reach the heatmap, keyed by the position and candidate the
// original names; Infinity cells are disqualified, not a colour-scale end.
#include "ui/heatmap_model.h"
#include "ui/report_reader.h"
#include "ui/summary_panel.h"

#include <QTemporaryDir>
#include <QTextBrowser>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace olm::ui;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Writes `report` to a temporary merge_report.json and reads it as the GUI does.
bool readReportJson(const nlohmann::json& report, ReportContents& got, QString& error) {
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("merge_report.json"));
    std::ofstream(path.toStdString()) << report.dump(2);
    return readMergeReport(path, got, &error);
}

// The heatmap laid out for `got` with every candidate and decision of it.
void fillHeatmap(HeatmapModel& heat, const ReportContents& got) {
    heat.reset(got.pool, got.layers, got.datasets);
    for (const auto& c : got.candidates) heat.addResult(c);
    for (const auto& d : got.decisions) heat.setDecision(d);
}

}  // namespace

class TestReportReader : public QObject {
    Q_OBJECT

private slots:
    // A report with ES fine-tuning (tensors.<unit>.es, recipe.es) opens: the
    // tensor position's candidates in the heatmap, the tunings in the summary.
    void opensAReportWithFineTuning() {
        const nlohmann::json run = {
            {"kind", "es_svd"},
            {"seed", 1},
            {"sigma", 0.5},
            {"generations", 2},
            {"population", 4},
            {"baseline", {{"exact.json", 1.0}}},
            {"result", {{"exact.json", 0.9}}},
            {"history",
             {{{"sigma", 0.1},
               {"offspring", {{{"scores", {{"exact.json", 0.9}}}}, nullptr, nullptr, nullptr}},
               {"winner", 0}},
              {{"sigma", 0.08},
               {"offspring", nlohmann::json::array({{{"failed", "oom"}}, nullptr, nullptr, nullptr})},
               {"winner", -1}}}}};
        nlohmann::json report = {{"pool", {"a", "b"}},
                                 {"datasets", {{"exact.json", {{"mode", "exact_match"}}}}},
                                 {"base_model", {{"name", "a"}, {"metrics", {{"exact.json", 1.2}}}}},
                                 {"tensors",
                                  {{"0.self_attn.q_proj",
                                    {{"metrics", {{"exact.json", {{"a", 1.1}, {"b", 1.0}}}}},
                                     {"best_model", "b"},
                                     {"recipe", {{"b", 1.0}}},
                                     {"es", {{"es_svd", run}}}}},
                                   // A boundary part the tensor-wise search visited, under its name.
                                   {"lm_head",
                                    {{"metrics", {{"exact.json", {{"a", 1.05}, {"b", 1.15}}}}},
                                     {"best_model", "a"},
                                     {"recipe", {{"a", 1.0}}}}}}},
                                 {"recipe",
                                  {{"base", "a"},
                                   {"boundary", {{"a", 1.0}}},
                                   {"layers", {{"0", {{"a", 1.0}}}}},
                                   {"tensors", {{"0.self_attn.q_proj", {{"b", 1.0}}}}},
                                   {"es", {{"0.self_attn.q_proj", {run}}}}}},
                                 {"final", {{"metrics", {{"exact.json", 0.9}}}}}};
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("merge_report.json"));
        std::ofstream(path.toStdString()) << report.dump(2);
        ReportContents got;
        QString error;
        QVERIFY2(readMergeReport(path, got, &error), qPrintable(error));
        QCOMPARE(got.pool, (QStringList{"a", "b"}));
        HeatmapModel heat;
        fillHeatmap(heat, got);
        const int lm = heat.rowOf(PositionKind::boundary, -1, QStringLiteral("lm_head"));
        QVERIFY(lm >= 0);
        QCOMPARE(heat.chosen(lm), QStringLiteral("a"));
        QCOMPARE(*heat.score(lm, heat.columnOf("b"), "exact.json"), 1.15);
        QCOMPARE(heat.headerData(lm, Qt::Vertical).toString(), QStringLiteral("boundary lm_head"));
        QVERIFY(heat.rowOf(PositionKind::tensor, 0, QStringLiteral("self_attn.q_proj")) >= 0);
        SummaryPanel panel;
        QVERIFY(panel.loadReport(path));
        const QString text = panel.browser()->toPlainText();
        QVERIFY2(text.contains(QStringLiteral("es_svd: 1 of 2 generations improved")), qPrintable(text));
    }

    // A markov window search's report: each window "first-last" is the row of
    // the layer it was decided at (forward: its last), its winner a combination.
    void opensAWindowSearchReport() {
        auto window = [](const char* winner, double score) {
            return nlohmann::json{
                {"metrics", {{"exact.json", {{winner, score}}}}},
                {"candidates", {{winner, {{"status", "evaluated"}, {"scores", {{"exact.json", score}}}}}}},
                {"best_model", winner}};
        };
        const nlohmann::json report = {
            {"pool", {"a", "b"}},
            {"datasets", {{"exact.json", {{"mode", "exact_match"}}}}},
            {"base_model", {{"name", "a"}, {"metrics", {{"exact.json", 1.2}}}}},
            {"layers",
             {{"0-0", window("window_0-0_combo_1", 1.1)}, {"0-1", window("window_0-1_combo_2", 0.9)}}}};
        ReportContents got;
        QString error;
        QVERIFY2(readReportJson(report, got, error), qPrintable(error));
        QCOMPARE(got.layers, 2);
        HeatmapModel heat;
        fillHeatmap(heat, got);
        QCOMPARE(heat.chosen(heat.rowOf(PositionKind::layer, 0)), QStringLiteral("window_0-0_combo_1"));
        QCOMPARE(heat.chosen(heat.rowOf(PositionKind::layer, 1)), QStringLiteral("window_0-1_combo_2"));
    }

    void opensTheOriginalsReport() {
        auto report = nlohmann::json::parse(
            read_file(std::string(OLM_TEST_DATA_DIR) + "/original/golden.json"))["merges"]["ranks"];
        report["tensors"] = {
            {"model.embed_tokens.weight",
             {{"metrics", {{"exact.json", {{"olm-a", 0.5}, {"olm-b", 0.25}}}}}, {"best_model", "olm-b"}}},
            {"model.layers.1.self_attn.q_proj.weight",
             {{"metrics",
               {{"exact.json", {{"olm-a", 0.75}, {"olm-d", 99.0}}},
                {"bigram.json", {{"olm-a", 0.5}, {"olm-d", 0.125}}}}},
              {"best_model", "olm-a"}}},
        };
        std::string text = report.dump(4);
        const std::string marker = "99.0";  // becomes Python's Infinity literal
        text.replace(text.find(marker), marker.size(), "Infinity");
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("merge_report.json"));
        std::ofstream(path.toStdString()) << text;

        ReportContents got;
        QString error;
        QVERIFY2(readMergeReport(path, got, &error), qPrintable(error));
        // No pool in the original's report: its candidates in order of appearance.
        QCOMPARE(got.pool, (QStringList{"olm-a", "olm-b", "olm-c", "olm-d"}));
        QCOMPARE(got.layers, 2);
        QVERIFY(got.datasets.contains("exact.json") && got.datasets.contains("bigram.json") &&
                got.datasets.contains("exact2.json"));

        HeatmapModel heat;
        fillHeatmap(heat, got);

        // Every finite score of every layer entry, where the original put it.
        int checked = 0;
        for (const auto& [layer, entry] : report["layers"].items()) {
            const int row = heat.rowOf(PositionKind::layer, std::stoi(layer));
            QVERIFY(row >= 0);
            QCOMPARE(heat.chosen(row), QString::fromStdString(entry["best_model"].get<std::string>()));
            for (const auto& [ds, per] : entry["metrics"].items())
                for (const auto& [model, v] : per.items()) {
                    const auto s = heat.score(row, heat.columnOf(QString::fromStdString(model)),
                                              QString::fromStdString(ds));
                    QVERIFY(s.has_value());
                    QCOMPARE(*s, v.get<double>());
                    ++checked;
                }
        }
        QCOMPARE(checked, 2 * 3 * 4);

        // Tensor entries: a layer unit and a boundary part, by the original's tensor names.
        const int q = heat.rowOf(PositionKind::tensor, 1, QStringLiteral("self_attn.q_proj"));
        const int e = heat.rowOf(PositionKind::boundary, -1, QStringLiteral("embed_tokens"));
        QVERIFY(q >= 0 && e >= 0);
        QCOMPARE(heat.chosen(q), QStringLiteral("olm-a"));
        QCOMPARE(heat.chosen(e), QStringLiteral("olm-b"));
        QCOMPARE(*heat.score(e, heat.columnOf("olm-b"), "exact.json"), 0.25);
        QCOMPARE(heat.headerData(e, Qt::Vertical).toString(), QStringLiteral("boundary embed_tokens"));
        // The Infinity candidate: disqualified (no cell value, as this program's own
        // disqualified candidates), its scores kept (they rank it, as in the search),
        // no infinite cell value anywhere.
        const int d = heat.columnOf("olm-d");
        QCOMPARE(heat.status(q, d), CandidateStatus::disqualified);
        QVERIFY(!heat.score(q, d, "exact.json").has_value());
        bool found = false;
        for (const auto& c : got.candidates)
            if (c.kind == PositionKind::tensor && c.candidate == "olm-d") {
                found = true;
                QCOMPARE(c.scores.value("bigram.json"), 0.125);
                QVERIFY(std::isinf(c.scores.value("exact.json")));
                QVERIFY(c.reason.contains("Infinity"));
            }
        QVERIFY(found);
        for (int r = 0; r < heat.rowCount(); ++r)
            for (int c = 0; c < heat.columnCount(); ++c)
                for (const auto& ds : got.datasets)
                    if (const auto s = heat.score(r, c, ds)) QVERIFY(std::isfinite(*s));
        // The base's metrics are the reference point.
        QVERIFY(!got.references.isEmpty());
        QCOMPARE(got.references.front().name, QStringLiteral("base"));
    }
};

QTEST_MAIN(TestReportReader)
#include "test_report_reader.moc"
