#pragma once
// QtCharts view of the merge's progress on one dataset at a time: the working
// model's score after each decided position (x = positions decided so far,
// 0 = the base), with the base and every scored pool model (and the pool
// average) as horizontal reference lines. Lower is better.
#include "ui/run_types.h"

#include <QColor>
#include <QWidget>

class QChart;
class QChartView;
class QComboBox;
class QLineSeries;
class QValueAxis;

namespace olm::ui {

class ScoreChart : public QWidget {
    Q_OBJECT
public:
    explicit ScoreChart(QWidget* parent = nullptr);

    void clear();
    // The pool, in pool order: every model keeps one colour (its pool index),
    // whatever order its scores arrive in.
    void setModels(const QStringList& pool);
    QColor colorOf(const QString& model) const;
    void addDecision(const olm::ui::PositionDecision& decision);
    void addReference(const olm::ui::ReferenceScores& reference);

    QString dataset() const;
    void setDataset(const QString& dataset);
    QStringList datasets() const { return m_datasets; }
    // The working model's points for a dataset: (step, score).
    QVector<QPointF> workingSeries(const QString& dataset) const;
    QChart* chart() const { return m_chart; }

private:
    void noteDatasets(const QMap<QString, double>& scores);
    void rebuild();

    QComboBox* m_dataset;
    QChartView* m_view;
    QChart* m_chart;
    QStringList m_datasets;
    QStringList m_models;
    QVector<PositionDecision> m_decisions;
    QVector<ReferenceScores> m_references;
};

}  // namespace olm::ui
