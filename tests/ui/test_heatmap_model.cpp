// The heatmap model fed a scripted sequence of merge events: rows, columns,
// values, ranks (checked against a naive stable sort), rank sums, statuses,
// the chosen cell and blended columns appearing live.
#include "ui/heatmap_model.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <numeric>

using olm::ui::CandidateResult;
using olm::ui::CandidateStatus;
using olm::ui::HeatmapModel;
using olm::ui::PositionDecision;
using olm::ui::PositionKind;

namespace {

CandidateResult result(int layer, const QString& cand, double d1, double d2,
                       CandidateStatus st = CandidateStatus::evaluated) {
    CandidateResult r;
    r.kind = PositionKind::layer;
    r.layer = layer;
    r.candidate = cand;
    r.status = st;
    r.scores = {{QStringLiteral("math"), d1}, {QStringLiteral("chat"), d2}};
    return r;
}

// Naive reference: 1-based rank of `who` in a stable sort by score.
int naiveRank(const QVector<double>& scores, int who) {
    QVector<int> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] < scores[b]; });
    return static_cast<int>(order.indexOf(who)) + 1;
}

}  // namespace

class TestHeatmapModel : public QObject {
    Q_OBJECT
private slots:
    void scriptedRunFillsTheTable() {
        HeatmapModel m;
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const QStringList pool{QStringLiteral("base"), QStringLiteral("ft_1"), QStringLiteral("ft_2")};
        m.reset(pool, 3, {QStringLiteral("math"), QStringLiteral("chat")});
        QCOMPARE(m.rowCount(), 3);
        QCOMPARE(m.columnCount(), 3);
        QCOMPARE(m.headerData(0, Qt::Vertical).toString(), QStringLiteral("layer 0"));
        QCOMPARE(m.headerData(2, Qt::Horizontal).toString(), QStringLiteral("ft_2"));

        // Backward direction: layer 2 first.
        CandidateResult started = result(2, QStringLiteral("base"), 0, 0);
        m.candidateStarted(started);
        QCOMPARE(m.status(2, 0), CandidateStatus::running);
        QCOMPARE(m.data(m.index(2, 0)).toString(), QStringLiteral("…"));

        m.addResult(result(2, QStringLiteral("base"), 2.5, 1.0));
        m.addResult(result(2, QStringLiteral("ft_1"), 2.0, 1.5));
        m.addResult(result(2, QStringLiteral("ft_2"), 2.5, 0.5));
        QCOMPARE(m.status(2, 0), CandidateStatus::evaluated);

        // Scores as recorded.
        m.setDataset(QStringLiteral("math"));
        QCOMPARE(m.data(m.index(2, 1), HeatmapModel::ValueRole).toDouble(), 2.0);
        QCOMPARE(*m.score(2, 2, QStringLiteral("chat")), 0.5);
        QVERIFY(!m.score(1, 0, QStringLiteral("math")).has_value());  // layer 1 not evaluated yet
        QVERIFY(!m.data(m.index(1, 0), HeatmapModel::ValueRole).isValid());

        // Ranks against a naive stable sort (ties keep pool order).
        const QVector<double> math{2.5, 2.0, 2.5}, chat{1.0, 1.5, 0.5};
        for (int c = 0; c < 3; ++c) {
            QCOMPARE(m.rank(2, c, QStringLiteral("math")), naiveRank(math, c));
            QCOMPARE(m.rank(2, c, QStringLiteral("chat")), naiveRank(chat, c));
            QCOMPARE(*m.rankSum(2, c), double(naiveRank(math, c) + naiveRank(chat, c)));
        }
        QCOMPARE(m.rank(2, 0, QStringLiteral("math")), 2);  // tie with ft_2 broken by pool order
        QCOMPARE(m.rank(2, 2, QStringLiteral("math")), 3);

        // Aggregate view shows the rank sum; normalised colour 0 = best in the row.
        m.setDataset(QString());
        QCOMPARE(m.data(m.index(2, 0), HeatmapModel::ValueRole).toDouble(), 4.0);  // 2 + 2
        QCOMPARE(m.data(m.index(2, 1), HeatmapModel::ValueRole).toDouble(), 4.0);  // 1 + 3
        QCOMPARE(m.data(m.index(2, 2), HeatmapModel::ValueRole).toDouble(), 4.0);  // 3 + 1
        m.setDataset(QStringLiteral("chat"));
        m.setValueKind(HeatmapModel::ValueKind::rank);
        QCOMPARE(m.data(m.index(2, 2), HeatmapModel::ValueRole).toDouble(), 1.0);
        QCOMPARE(m.data(m.index(2, 2), HeatmapModel::NormalizedRole).toDouble(), 0.0);
        QCOMPARE(m.data(m.index(2, 1), HeatmapModel::NormalizedRole).toDouble(), 1.0);
        QCOMPARE(m.data(m.index(2, 0), HeatmapModel::NormalizedRole).toDouble(), 0.5);

        // The decision frames one cell.
        m.setDecision({PositionKind::layer, 2, {}, QStringLiteral("base"), {}});
        QCOMPARE(m.chosen(2), QStringLiteral("base"));
        QVERIFY(m.data(m.index(2, 0), HeatmapModel::ChosenRole).toBool());
        QVERIFY(!m.data(m.index(2, 1), HeatmapModel::ChosenRole).toBool());
        QVERIFY(m.headerData(2, Qt::Vertical, Qt::ToolTipRole).toString().contains(QStringLiteral("base")));
    }

    // Aggregate geomean: the geometric mean of the scores, recomputed here from the
    // raw values; the row's best cell (normalised 0) is the one selection geomean picks.
    void geometricMeanAggregate() {
        HeatmapModel m;
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        m.reset({QStringLiteral("base"), QStringLiteral("ft_1"), QStringLiteral("ft_2")}, 1,
                {QStringLiteral("math"), QStringLiteral("chat")});
        // ft_2 quarters chat and loses 10% on math: rank sum ties it with base, geomean prefers it.
        m.addResult(result(0, QStringLiteral("base"), 1.0, 8.0));
        m.addResult(result(0, QStringLiteral("ft_1"), 1.2, 9.0));
        m.addResult(result(0, QStringLiteral("ft_2"), 1.1, 2.0));
        m.setDataset(QString());
        QCOMPARE(m.data(m.index(0, 0), HeatmapModel::ValueRole).toDouble(), 3.0);  // rank sum 1 + 2
        QCOMPARE(m.data(m.index(0, 2), HeatmapModel::ValueRole).toDouble(), 3.0);  // 2 + 1
        QSignalSpy changed(&m, &HeatmapModel::aggregateChanged);
        m.setAggregate(HeatmapModel::Aggregate::geomean);
        QCOMPARE(changed.count(), 1);
        const double expected[3] = {std::sqrt(1.0 * 8.0), std::sqrt(1.2 * 9.0), std::sqrt(1.1 * 2.0)};
        for (int c = 0; c < 3; ++c)
            QVERIFY(std::abs(m.data(m.index(0, c), HeatmapModel::ValueRole).toDouble() - expected[c]) <
                    1e-12);
        QCOMPARE(m.data(m.index(0, 2), HeatmapModel::NormalizedRole).toDouble(), 0.0);
        QCOMPARE(m.data(m.index(0, 1), HeatmapModel::NormalizedRole).toDouble(), 1.0);
        QVERIFY(m.data(m.index(0, 2), Qt::ToolTipRole).toString().contains(QStringLiteral("geometric mean")));
        // A per-dataset view is unaffected by the aggregate.
        m.setDataset(QStringLiteral("math"));
        QCOMPARE(m.data(m.index(0, 2), HeatmapModel::ValueRole).toDouble(), 1.1);
    }

    void disqualifiedAndFailedCellsAreNotRanked() {
        HeatmapModel m;
        m.reset({QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")}, 1, {});
        m.addResult(result(0, QStringLiteral("a"), 1.0, 1.0));
        CandidateResult dq = result(0, QStringLiteral("b"), 0.1, 0.0, CandidateStatus::disqualified);
        dq.scores = {{QStringLiteral("math"), 0.1}};  // evaluated only on the gated dataset
        dq.reason = QStringLiteral("worse than the base on chat");
        m.addResult(dq);
        CandidateResult failed = result(0, QStringLiteral("c"), 0, 0, CandidateStatus::failed);
        failed.scores.clear();
        failed.reason = QStringLiteral("NaN logits");
        m.addResult(failed);
        // Datasets were learned from the results.
        QCOMPARE(m.datasets().size(), 2);
        QCOMPARE(m.rank(0, 0, QStringLiteral("math")), 1);
        QCOMPARE(m.rank(0, 1, QStringLiteral("math")), 0);
        QVERIFY(!m.rankSum(0, 1).has_value());
        QCOMPARE(m.data(m.index(0, 1)).toString(), QStringLiteral("✕"));
        QCOMPARE(m.data(m.index(0, 2)).toString(), QStringLiteral("!"));
        QCOMPARE(m.data(m.index(0, 1), HeatmapModel::ReasonRole).toString(), dq.reason);
        const QString tip = m.data(m.index(0, 1), Qt::ToolTipRole).toString();
        QVERIFY(tip.contains(QStringLiteral("disqualified")));
        QVERIFY(tip.contains(QStringLiteral("worse than the base on chat")));
        QVERIFY(m.data(m.index(0, 2), Qt::ToolTipRole).toString().contains(QStringLiteral("NaN logits")));
    }

    void blendedCandidatesAndNewPositionsAddColumnsAndRows() {
        HeatmapModel m;
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        m.reset({QStringLiteral("base"), QStringLiteral("ft_1")}, 2,
                {QStringLiteral("math"), QStringLiteral("chat")});
        QSignalSpy cols(&m, &QAbstractItemModel::columnsInserted);
        QSignalSpy rows(&m, &QAbstractItemModel::rowsInserted);
        m.addResult(result(0, QStringLiteral("0.5·(current+ft_1)"), 1.0, 2.0));
        QCOMPARE(cols.count(), 1);
        QCOMPARE(m.columnCount(), 3);
        QCOMPARE(m.columnOf(QStringLiteral("0.5·(current+ft_1)")), 2);

        CandidateResult boundary = result(-1, QStringLiteral("ft_1"), 3.0, 3.0);
        boundary.kind = PositionKind::boundary;
        m.addResult(boundary);
        CandidateResult base = result(-1, QStringLiteral("base"), 4.0, 4.0);
        base.kind = PositionKind::base;
        m.addResult(base);
        CandidateResult unit = result(1, QStringLiteral("ft_1"), 1.0, 1.0);
        unit.kind = PositionKind::tensor;
        unit.unit = QStringLiteral("mlp");
        m.addResult(unit);
        QCOMPARE(rows.count(), 3);
        QCOMPARE(m.rowCount(), 5);
        QStringList labels;
        for (int r = 0; r < m.rowCount(); ++r) labels << m.headerData(r, Qt::Vertical).toString();
        QCOMPARE(labels,
                 (QStringList{QStringLiteral("base"), QStringLiteral("boundary"), QStringLiteral("layer 0"),
                              QStringLiteral("layer 1"), QStringLiteral("layer 1 mlp")}));
        QCOMPARE(m.rowOf(PositionKind::tensor, 1, QStringLiteral("mlp")), 4);
        QCOMPARE(*m.score(4, 1, QStringLiteral("chat")), 1.0);
    }
};

QTEST_MAIN(TestHeatmapModel)
#include "test_heatmap_model.moc"
