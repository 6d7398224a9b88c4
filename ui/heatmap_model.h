#pragma once
// The layer-score heatmap as a plain table model: rows are merge positions
// (base choice, boundary, layers 0..N-1 and their tensor units), columns are
// candidates (pool models first, then blended candidates in order of first
// appearance), a cell is one candidate's result at one position. What a cell
// shows is chosen by dataset() ("" = aggregate rank sum over datasets) and
// valueKind() (raw score or rank within the row). Fed live by the merge
// worker's signals, or at once from a loaded merge_report.json.
#include "ui/run_types.h"

#include <QAbstractTableModel>
#include <QStringList>
#include <QVector>

#include <optional>

namespace olm::ui {

class HeatmapModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Role {
        ValueRole = Qt::UserRole + 1,  // double: the shown value (score, rank or rank sum); invalid when none
        NormalizedRole,                // double in [0, 1] within the row: 0 = best, 1 = worst
        StatusRole,                    // int: CandidateStatus
        ChosenRole,                    // bool: the position's chosen candidate
        ReasonRole,                    // QString: disqualification reason / error
        DivergingRole,                 // double in [-1, 1] (change view): < 0 better than the current choice
        BestRole,                      // bool: the candidate the run's selection rule prefers in its row
    };
    // change: each candidate's change against the position's current choice,
    // in % of the loss (per dataset; aggregate: the geometric mean of the
    // ratios), < 0 = better. score: the raw loss (aggregate: the rule's rank
    // sum or geometric mean). rank: rank within the row. accuracy: in %.
    enum class ValueKind { change, score, rank, accuracy };
    // What the aggregate view shows: the rank sum (selection ranks, copeland) or
    // the geometric mean of the scores (selection geomean), so the best cell of a
    // row is the one the run's rule prefers.
    enum class Aggregate { rankSum, geomean };

    explicit HeatmapModel(QObject* parent = nullptr);

    // Clears everything and lays out the rows (one per decoder layer) and the
    // pool columns; datasets in the order they should be listed.
    void reset(const QStringList& poolModels, int layers, const QStringList& datasets);
    void clear();

    QStringList datasets() const { return m_datasets; }
    QStringList candidates() const { return m_candidates; }
    int layers() const { return m_layers; }

    QString dataset() const { return m_dataset; }
    void setDataset(const QString& dataset);  // "" = aggregate rank sum
    ValueKind valueKind() const { return m_valueKind; }
    void setValueKind(ValueKind kind);
    Aggregate aggregate() const { return m_aggregate; }
    void setAggregate(Aggregate aggregate);
    // The run's selection rule (ranks, copeland, geomean): the best cell of a
    // row is core's select_best under it; the aggregate follows it.
    void setSelectionRule(const QString& rule);
    QString selectionRule() const { return m_rule; }

    // Live updates (slots for the worker's queued signals).
    void candidateStarted(const olm::ui::CandidateResult& started);
    void addResult(const olm::ui::CandidateResult& result);
    void setDecision(const olm::ui::PositionDecision& decision);

    // Lookup helpers (also used by tests and tooltips). -1 when absent.
    int rowOf(PositionKind kind, int layer, const QString& unit = {}) const;
    int columnOf(const QString& candidate) const;
    QString chosen(int row) const;
    // The candidate's raw score at (row, column) on a dataset, if recorded.
    std::optional<double> score(int row, int column, const QString& dataset) const;
    // Rank 1..k of the candidate within its row on one dataset (lower score
    // is better, equal scores ordered by column = pool order); 0 when unranked.
    int rank(int row, int column, const QString& dataset) const;
    // Sum of the per-dataset ranks; empty when the candidate lacks a dataset.
    std::optional<double> rankSum(int row, int column) const;
    // exp(mean over datasets of log(max(score, 1e-9))); empty when the candidate lacks a dataset.
    std::optional<double> geometricMean(int row, int column) const;
    // The column the position's current choice holds (the candidate identical
    // to it; the chosen one for the base), -1 when none.
    int referenceColumn(int row) const;
    // Change against the current choice in % (< 0 = better); dataset "" = aggregate.
    std::optional<double> change(int row, int column, const QString& dataset) const;
    std::optional<double> accuracy(int row, int column, const QString& dataset) const;
    // The column core's select_best picks under the selection rule; -1 when none.
    int bestColumn(int row) const;
    // Largest |change| in the table (the colour scale of the change view).
    double changeScale() const;
    // The value the cell shows under the current dataset/valueKind.
    std::optional<double> value(int row, int column) const;
    CandidateStatus status(int row, int column) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    void aggregateChanged();

private:
    struct Cell {
        CandidateStatus status = CandidateStatus::pending;
        QMap<QString, double> scores;
        QMap<QString, double> accuracy;
        QString reason;
    };
    struct Row {
        PositionKind kind = PositionKind::layer;
        int layer = -1;
        QString unit;
        QString chosen;
        QVector<Cell> cells;  // one per column
    };

    int ensureRow(PositionKind kind, int layer, const QString& unit);
    int ensureColumn(const QString& candidate);
    void noteDatasets(const QMap<QString, double>& scores);
    void emitRowChanged(int row);
    QString rowLabel(const Row& row) const;
    QString tooltip(int row, int column) const;
    std::optional<std::pair<double, double>> rowRange(int row) const;

    QVector<Row> m_rows;
    QStringList m_candidates;
    QStringList m_datasets;
    int m_layers = 0;
    QString m_dataset;
    Aggregate m_aggregate = Aggregate::rankSum;
    ValueKind m_valueKind = ValueKind::change;
    QString m_rule = QStringLiteral("ranks");
    // Per-row table in core's shape: scores[c][d] over the datasets, eligible[c].
    void rowTable(int row, std::vector<std::vector<double>>& scores, std::vector<bool>& eligible) const;
};

}  // namespace olm::ui
