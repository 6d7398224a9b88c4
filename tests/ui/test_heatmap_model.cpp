// The heatmap model fed a scripted sequence of merge events: rows, columns,
// values, ranks (checked against a naive stable sort), rank sums, statuses,
// the chosen cell and blended columns appearing live.
#include "ui/heatmap_model.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
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
        m.setValueKind(HeatmapModel::ValueKind::score);
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
        m.setValueKind(HeatmapModel::ValueKind::score);
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

    // As in the search (and the original): a disqualified candidate ranks, with
    // Infinity on the datasets improve_all marked; a failed one does not.
    void disqualifiedCellsRankWithInfinityFailedOnesDoNot() {
        HeatmapModel m;
        m.setValueKind(HeatmapModel::ValueKind::score);
        m.reset({QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")}, 1, {});
        m.addResult(result(0, QStringLiteral("a"), 1.0, 1.0));
        CandidateResult dq = result(0, QStringLiteral("b"), 0.1, 0.0, CandidateStatus::disqualified);
        dq.scores = {{QStringLiteral("math"), std::numeric_limits<double>::infinity()},
                     {QStringLiteral("chat"), 0.0}};
        dq.reason = QStringLiteral("worse than the base on math");
        m.addResult(dq);
        CandidateResult failed = result(0, QStringLiteral("c"), 0, 0, CandidateStatus::failed);
        failed.scores.clear();
        failed.reason = QStringLiteral("NaN logits");
        m.addResult(failed);
        // Datasets were learned from the results.
        QCOMPARE(m.datasets().size(), 2);
        QCOMPARE(m.rank(0, 0, QStringLiteral("math")), 1);
        QCOMPARE(m.rank(0, 1, QStringLiteral("math")), 2);
        QCOMPARE(m.rank(0, 1, QStringLiteral("chat")), 1);
        QCOMPARE(m.rank(0, 2, QStringLiteral("math")), 0);
        QCOMPARE(*m.rankSum(0, 1), 3.0);
        QVERIFY(!m.rankSum(0, 2).has_value());
        QVERIFY(!m.score(0, 1, QStringLiteral("chat")).has_value());  // no cell value: it is marked ✕
        QCOMPARE(m.data(m.index(0, 1)).toString(), QStringLiteral("✕"));
        QCOMPARE(m.data(m.index(0, 2)).toString(), QStringLiteral("!"));
        QCOMPARE(m.data(m.index(0, 1), HeatmapModel::ReasonRole).toString(), dq.reason);
        const QString tip = m.data(m.index(0, 1), Qt::ToolTipRole).toString();
        QVERIFY(tip.contains(QStringLiteral("disqualified")));
        QVERIFY(tip.contains(QStringLiteral("worse than the base on math")));
        QVERIFY(m.data(m.index(0, 2), Qt::ToolTipRole).toString().contains(QStringLiteral("NaN logits")));
    }

    void blendedCandidatesAndNewPositionsAddColumnsAndRows() {
        HeatmapModel m;
        m.setValueKind(HeatmapModel::ValueKind::score);
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

    // The best cell of a row is core's selection rule: under copeland the most
    // pairwise wins (checked against a count written here), which is not the
    // smallest rank sum.
    void bestCellFollowsTheSelectionRule() {
        HeatmapModel m;
        const QStringList ds{QStringLiteral("d1"), QStringLiteral("d2"), QStringLiteral("d3")};
        m.reset({QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QStringLiteral("d")}, 1, ds);
        const double table[4][3] = {{1, 1, 4}, {2, 2, 1}, {3, 3, 2}, {4, 4, 3}};
        for (int c = 0; c < 4; ++c) {
            CandidateResult r;
            r.layer = 0;
            r.candidate = m.candidates()[c];
            for (int d = 0; d < 3; ++d) r.scores[ds[d]] = table[c][d];
            m.addResult(r);
        }
        // Independent references: pairwise wins and rank sums.
        int copeland = -1, mostWins = -1, rankWinner = -1;
        double bestSum = 1e9;
        for (int a = 0; a < 4; ++a) {
            int wins = 0;
            for (int b = 0; b < 4; ++b) {
                if (a == b) continue;
                int better = 0, worse = 0;
                for (int d = 0; d < 3; ++d) {
                    if (table[a][d] < table[b][d]) ++better;
                    if (table[a][d] > table[b][d]) ++worse;
                }
                wins += better > worse;
            }
            if (wins > mostWins) mostWins = wins, copeland = a;
            double sum = 0;
            for (const auto& d : ds) sum += m.rank(0, a, d);
            if (sum < bestSum) bestSum = sum, rankWinner = a;
        }
        QVERIFY(copeland != rankWinner);  // the table tells the rules apart
        m.setSelectionRule(QStringLiteral("copeland"));
        QCOMPARE(m.bestColumn(0), copeland);
        QVERIFY(m.data(m.index(0, copeland), HeatmapModel::BestRole).toBool());
        m.setSelectionRule(QStringLiteral("rank_sum"));
        QCOMPARE(m.bestColumn(0), rankWinner);
        QCOMPARE(m.aggregate(), HeatmapModel::Aggregate::rankSum);
        m.setSelectionRule(QStringLiteral("geomean"));
        QCOMPARE(m.aggregate(), HeatmapModel::Aggregate::geomean);
    }

    // The default view: each candidate's change of the loss against the
    // position's current choice (the candidate identical to it), in %, per
    // dataset and as the geometric mean of the ratios; < 0 is better and
    // colours blue (negative diverging value).
    void changeViewAgainstTheCurrentChoice() {
        HeatmapModel m;
        QCOMPARE(m.valueKind(), HeatmapModel::ValueKind::change);
        m.reset({QStringLiteral("base"), QStringLiteral("ft_1"), QStringLiteral("ft_2")}, 1,
                {QStringLiteral("math"), QStringLiteral("chat")});
        m.addResult(
            result(0, QStringLiteral("base"), 2.0, 4.0, CandidateStatus::reused));  // the current choice
        m.addResult(result(0, QStringLiteral("ft_1"), 1.5, 4.4));
        m.addResult(result(0, QStringLiteral("ft_2"), 2.2, 5.0));
        QCOMPARE(m.referenceColumn(0), 0);
        m.setDataset(QStringLiteral("math"));
        QVERIFY(std::abs(m.data(m.index(0, 1), HeatmapModel::ValueRole).toDouble() -
                         100.0 * (1.5 / 2.0 - 1.0)) < 1e-9);
        QCOMPARE(m.data(m.index(0, 1)).toString(), QStringLiteral("-25"));
        QCOMPARE(m.data(m.index(0, 0)).toString(), QStringLiteral("0"));
        QVERIFY(m.data(m.index(0, 1), HeatmapModel::DivergingRole).toDouble() < 0);  // better
        QVERIFY(m.data(m.index(0, 2), HeatmapModel::DivergingRole).toDouble() > 0);  // worse
        m.setDataset(QString());
        const double agg = 100.0 * (std::sqrt((1.5 / 2.0) * (4.4 / 4.0)) - 1.0);
        QVERIFY(std::abs(m.data(m.index(0, 1), HeatmapModel::ValueRole).toDouble() - agg) < 1e-9);
        QCOMPARE(m.changeScale(), std::abs(100.0 * (std::sqrt((2.2 / 2.0) * (5.0 / 4.0)) - 1.0)));
        // Raw scores stay in the tooltip; accuracy is a view of its own.
        QVERIFY(m.data(m.index(0, 1), Qt::ToolTipRole).toString().contains(QStringLiteral("math: 1.5")));
        m.setValueKind(HeatmapModel::ValueKind::score);
        m.setDataset(QStringLiteral("chat"));
        QCOMPARE(m.data(m.index(0, 1), HeatmapModel::ValueRole).toDouble(), 4.4);
    }
};

QTEST_MAIN(TestHeatmapModel)
#include "test_heatmap_model.moc"
