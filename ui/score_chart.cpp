#include "ui/score_chart.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QScatterSeries>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace olm::ui {

ScoreChart::ScoreChart(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("scoreChart"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Dataset")));
    m_dataset = new QComboBox;
    m_dataset->setObjectName(QStringLiteral("chartDataset"));
    m_dataset->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bar->addWidget(m_dataset);
    bar->addStretch(1);
    bar->addWidget(new QLabel(tr("score after each decided position (lower is better)")));
    layout->addLayout(bar);
    m_chart = new QChart;
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    m_view = new QChartView(m_chart);
    m_view->setRenderHint(QPainter::Antialiasing);
    layout->addWidget(m_view, 1);
    connect(m_dataset, &QComboBox::currentIndexChanged, this, [this] { rebuild(); });
    rebuild();
}

void ScoreChart::clear() {
    m_decisions.clear();
    m_references.clear();
    m_datasets.clear();
    QSignalBlocker block(m_dataset);
    m_dataset->clear();
    rebuild();
}

void ScoreChart::noteDatasets(const QMap<QString, double>& scores) {
    for (auto it = scores.cbegin(); it != scores.cend(); ++it) {
        if (m_datasets.contains(it.key())) continue;
        m_datasets << it.key();
        QSignalBlocker block(m_dataset);
        m_dataset->addItem(it.key());
    }
}

void ScoreChart::setModels(const QStringList& pool) {
    m_models = pool;
    rebuild();
}

QColor ScoreChart::colorOf(const QString& model) const {
    // A fixed palette by pool index (Okabe-Ito, without black); other names by a stable hash.
    static const QColor palette[] = {QColor(0, 114, 178),   QColor(0, 158, 115),  QColor(213, 94, 0),
                                     QColor(204, 121, 167), QColor(86, 180, 233), QColor(230, 159, 0),
                                     QColor(120, 120, 120), QColor(240, 228, 66)};
    const int at = static_cast<int>(m_models.indexOf(model));
    if (at >= 0) return palette[at % 8];
    return QColor::fromHsv(static_cast<int>(qHash(model, 7) % 360), 140, 190);
}

void ScoreChart::addDecision(const PositionDecision& decision) {
    if (decision.kind == PositionKind::base) return;  // the base is the reference line and step 0
    m_decisions << decision;
    noteDatasets(decision.scores);
    rebuild();
}

void ScoreChart::addReference(const ReferenceScores& reference) {
    auto it = std::find_if(m_references.begin(), m_references.end(),
                           [&](const ReferenceScores& r) { return r.name == reference.name; });
    if (it == m_references.end()) {
        m_references << reference;
    } else {
        it->scores = reference.scores;
        it->isBase = it->isBase || reference.isBase;
    }
    noteDatasets(reference.scores);
    rebuild();
}

QString ScoreChart::dataset() const { return m_dataset->currentText(); }

void ScoreChart::setDataset(const QString& dataset) { m_dataset->setCurrentText(dataset); }

QVector<QPointF> ScoreChart::workingSeries(const QString& dataset) const {
    QVector<QPointF> pts;
    for (const auto& r : m_references)
        if (r.isBase && r.scores.contains(dataset)) pts << QPointF(0, r.scores.value(dataset));
    int step = 0;
    for (const auto& d : m_decisions) {
        ++step;
        if (d.scores.contains(dataset)) pts << QPointF(step, d.scores.value(dataset));
    }
    return pts;
}

void ScoreChart::rebuild() {
    m_chart->removeAllSeries();
    for (auto* axis : m_chart->axes()) {
        m_chart->removeAxis(axis);
        delete axis;
    }
    const QString ds = dataset();
    m_chart->setTitle(ds.isEmpty() ? tr("Scores appear as positions are decided") : ds);
    if (ds.isEmpty()) return;

    const QVector<QPointF> pts = workingSeries(ds);
    const double xMax = std::max<double>(1.0, m_decisions.size());
    double yMin = std::numeric_limits<double>::infinity(), yMax = -yMin;
    auto note = [&](double y) {
        yMin = std::min(yMin, y);
        yMax = std::max(yMax, y);
    };

    auto* axisX = new QValueAxis;
    axisX->setTitleText(tr("positions decided"));
    axisX->setLabelFormat(QStringLiteral("%d"));
    axisX->setRange(0, xMax);
    axisX->setTickType(QValueAxis::TicksDynamic);
    axisX->setTickInterval(std::max(1.0, std::ceil(xMax / 10.0)));
    auto* axisY = new QValueAxis;
    axisY->setTitleText(tr("loss (lower is better)"));
    axisY->setLabelFormat(QStringLiteral("%.5g"));
    m_chart->addAxis(axisX, Qt::AlignBottom);
    m_chart->addAxis(axisY, Qt::AlignLeft);

    // Reference lines: base dashed dark, pool models dotted, in pool colours.
    for (const auto& r : m_references) {
        if (!r.scores.contains(ds)) continue;
        const double y = r.scores.value(ds);
        note(y);
        auto* line = new QLineSeries;
        line->setName(r.isBase ? tr("base (%1)").arg(r.name) : r.name);
        line->append(0, y);
        line->append(xMax, y);
        QPen pen(r.isBase ? QColor(60, 60, 60) : colorOf(r.name));
        pen.setWidthF(r.isBase ? 2.0 : 1.2);
        pen.setStyle(r.isBase ? Qt::DashLine : Qt::DotLine);
        line->setPen(pen);
        m_chart->addSeries(line);
        line->attachAxis(axisX);
        line->attachAxis(axisY);
    }

    auto* working = new QLineSeries;
    working->setName(tr("working model"));
    QPen pen(QColor(230, 90, 20));
    pen.setWidthF(2.5);
    working->setPen(pen);
    working->setPointsVisible(true);
    for (const auto& p : pts) {
        working->append(p);
        note(p.y());
    }
    m_chart->addSeries(working);
    working->attachAxis(axisX);
    working->attachAxis(axisY);

    if (std::isfinite(yMin)) {
        const double pad = std::max(1e-6, (yMax - yMin) * 0.08);
        axisY->setRange(yMin - pad, yMax + pad);
    }
}

}  // namespace olm::ui
