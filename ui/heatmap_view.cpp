#include "ui/heatmap_view.h"

#include "ui/heatmap_model.h"

#include <QComboBox>
#include <QGraphicsOpacityEffect>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QVBoxLayout>

#include <algorithm>
#include <array>
#include <cmath>

namespace olm::ui {

QColor HeatmapDelegate::colorFor(double t) {
    // A short perceptual ramp (viridis-like, reversed): best = dark, worst = pale.
    static constexpr std::array<std::array<int, 3>, 5> stops{{
        {{32, 90, 110}},  // best
        {{38, 130, 142}},
        {{53, 183, 121}},
        {{170, 220, 80}},
        {{250, 240, 170}},  // worst
    }};
    t = std::clamp(t, 0.0, 1.0) * (stops.size() - 1);
    const auto i = std::min<std::size_t>(static_cast<std::size_t>(t), stops.size() - 2);
    const double f = t - static_cast<double>(i);
    auto mix = [&](int k) { return static_cast<int>(stops[i][k] + f * (stops[i + 1][k] - stops[i][k])); };
    return QColor(mix(0), mix(1), mix(2));
}

QColor HeatmapDelegate::divergingColor(double t) {
    // Blue (better) - white - red (worse); readable with red-green colour blindness.
    t = std::clamp(t, -1.0, 1.0);
    const QColor better(33, 102, 172), mid(247, 247, 247), worse(178, 24, 43);
    const QColor& end = t < 0 ? better : worse;
    const double f = std::sqrt(std::abs(t));  // small changes stay visible
    return QColor(static_cast<int>(mid.red() + f * (end.red() - mid.red())),
                  static_cast<int>(mid.green() + f * (end.green() - mid.green())),
                  static_cast<int>(mid.blue() + f * (end.blue() - mid.blue())));
}

void HeatmapDelegate::paint(QPainter* p, const QStyleOptionViewItem& option, const QModelIndex& index) const {
    const auto status = static_cast<CandidateStatus>(index.data(HeatmapModel::StatusRole).toInt());
    const QVariant norm = index.data(HeatmapModel::NormalizedRole);
    const QVariant diverging = index.data(HeatmapModel::DivergingRole);
    const QRect r = option.rect.adjusted(1, 1, -1, -1);
    p->save();
    p->setRenderHint(QPainter::Antialiasing, false);

    QColor fill = option.palette.color(QPalette::Base);
    Qt::BrushStyle pattern = Qt::SolidPattern;
    QColor text = option.palette.color(QPalette::Text);
    if (status == CandidateStatus::disqualified) {
        fill = QColor(150, 150, 150);
        pattern = Qt::BDiagPattern;
    } else if (status == CandidateStatus::failed) {
        fill = QColor(200, 50, 50);
        pattern = Qt::DiagCrossPattern;
    } else if (diverging.isValid()) {
        const double t = diverging.toDouble();
        fill = divergingColor(t);
        text = std::abs(t) > 0.55 ? QColor(Qt::white) : QColor(20, 20, 20);
    } else if (norm.isValid()) {
        const double t = norm.toDouble();
        fill = colorFor(t);
        text = t < 0.45 ? QColor(Qt::white) : QColor(20, 20, 20);
    }
    p->fillRect(r, QBrush(fill, pattern));
    if (status == CandidateStatus::reused) {  // a small corner mark: score reused from an identical candidate
        p->setBrush(QColor(255, 255, 255, 180));
        p->setPen(Qt::NoPen);
        p->drawPolygon(QPolygon({r.topRight(), r.topRight() + QPoint(-7, 0), r.topRight() + QPoint(0, 7)}));
    }
    if (option.state & QStyle::State_Selected) p->fillRect(r, QColor(60, 110, 200, 60));

    const QString label = index.data(Qt::DisplayRole).toString();
    if (!label.isEmpty() && r.width() >= 24) {
        p->setPen(text);
        QFont f = option.font;
        if (index.data(HeatmapModel::ChosenRole).toBool()) f.setBold(true);
        p->setFont(f);
        p->drawText(r, Qt::AlignCenter, label);
    }
    if (status == CandidateStatus::running) {
        p->setPen(QPen(QColor(40, 100, 230), 2, Qt::DashLine));
        p->setBrush(Qt::NoBrush);
        p->drawRect(r.adjusted(1, 1, -1, -1));
    }
    if (index.data(HeatmapModel::BestRole).toBool()) {  // the selection rule's pick: a small star
        QFont f = option.font;
        f.setPointSizeF(f.pointSizeF() * 0.8);
        p->setFont(f);
        p->setPen(status == CandidateStatus::failed ? QColor(Qt::white) : QColor(230, 90, 20));
        p->drawText(r.adjusted(3, 1, -2, -1), Qt::AlignLeft | Qt::AlignTop, QStringLiteral("★"));
    }
    if (index.data(HeatmapModel::ChosenRole).toBool()) {
        p->setPen(QPen(QColor(230, 90, 20), 3));
        p->setBrush(Qt::NoBrush);
        p->drawRect(r.adjusted(1, 1, -2, -2));
    }
    p->restore();
}

QSize HeatmapDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const {
    const QFontMetrics fm(option.font);
    return {std::max(56, fm.horizontalAdvance(QStringLiteral("00.000")) + 12), fm.height() + 8};
}

HeatmapView::HeatmapView(QWidget* parent) : QTableView(parent) {
    setObjectName(QStringLiteral("heatmap"));
    setItemDelegate(new HeatmapDelegate(this));
    setShowGrid(false);
    setSelectionMode(QAbstractItemView::SingleSelection);
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    horizontalHeader()->setMinimumSectionSize(56);
    verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    verticalHeader()->setDefaultSectionSize(24);
    setMouseTracking(true);  // tooltips follow the pointer
}

HeatmapPanel::HeatmapPanel(HeatmapModel* model, QWidget* parent) : QWidget(parent), m_model(model) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Show")));
    m_dataset = new QComboBox;
    m_dataset->setObjectName(QStringLiteral("heatmapDataset"));
    m_dataset->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bar->addWidget(m_dataset);
    m_valueKind = new QComboBox;
    m_valueKind->setObjectName(QStringLiteral("heatmapValueKind"));
    m_valueKind->addItem(tr("change vs current choice"), static_cast<int>(HeatmapModel::ValueKind::change));
    m_valueKind->addItem(tr("score (loss)"), static_cast<int>(HeatmapModel::ValueKind::score));
    m_valueKind->addItem(tr("rank"), static_cast<int>(HeatmapModel::ValueKind::rank));
    m_valueKind->addItem(tr("accuracy"), static_cast<int>(HeatmapModel::ValueKind::accuracy));
    bar->addWidget(m_valueKind);
    bar->addStretch(1);
    m_staleNote = new QLabel(tr("<b style='color:#a05a00'>stale</b>"));
    m_staleNote->setObjectName(QStringLiteral("heatmapStale"));
    m_staleNote->setToolTip(tr("These results were made with a different config"));
    m_staleNote->hide();
    bar->addWidget(m_staleNote);
    layout->addLayout(bar);
    m_legend = new QLabel;
    m_legend->setObjectName(QStringLiteral("heatmapLegend"));
    m_legend->setWordWrap(true);
    m_legend->setTextFormat(Qt::RichText);
    layout->addWidget(m_legend);
    m_view = new HeatmapView;
    m_view->setModel(m_model);
    layout->addWidget(m_view, 1);

    refreshDatasets();
    connect(m_model, &QAbstractItemModel::modelReset, this, &HeatmapPanel::refreshDatasets);
    connect(m_model, &HeatmapModel::aggregateChanged, this, &HeatmapPanel::refreshDatasets);
    connect(m_model, &QAbstractItemModel::dataChanged, this, [this] {
        if (m_dataset->count() != m_model->datasets().size() + 1) refreshDatasets();
    });
    connect(m_dataset, &QComboBox::currentIndexChanged, this, &HeatmapPanel::applySelection);
    connect(m_valueKind, &QComboBox::currentIndexChanged, this, &HeatmapPanel::applySelection);
    connect(m_model, &QAbstractItemModel::dataChanged, this, &HeatmapPanel::updateLegend);
    connect(m_model, &QAbstractItemModel::modelReset, this, &HeatmapPanel::updateLegend);
    updateLegend();
}

void HeatmapPanel::setStale(bool stale) {
    m_stale = stale;
    m_staleNote->setVisible(stale);
    m_view->setStyleSheet(stale ? QStringLiteral("QTableView { background: #eeeeee; }") : QString());
    m_view->viewport()->setProperty("stale", stale);
    if (auto* e = qobject_cast<QGraphicsOpacityEffect*>(m_view->graphicsEffect()))
        e->setEnabled(stale);
    else if (stale) {
        auto* effect = new QGraphicsOpacityEffect(m_view);
        effect->setOpacity(0.45);
        m_view->setGraphicsEffect(effect);
    }
}

void HeatmapPanel::updateLegend() {
    const auto kind = m_model->valueKind();
    const QString chip = QStringLiteral("<span style='background:%1;color:%2'>&nbsp;%3&nbsp;</span>");
    const QString marks = tr(" &nbsp; <span style='color:#e65a14'><b>▭</b></span> chosen &nbsp; "
                             "<span style='color:#e65a14'>★</span> best under the %1 rule &nbsp; ✕ "
                             "disqualified &nbsp; ! failed")
                              .arg(m_model->selectionRule());
    QString text;
    if (kind == HeatmapModel::ValueKind::change) {
        const double s = m_model->changeScale();
        text = tr("Change of the loss against the position's current choice, in % (lower loss is better%1): ")
                   .arg(m_model->dataset().isEmpty() ? tr("; aggregate = geometric mean of the ratios")
                                                     : QString()) +
               chip.arg(HeatmapDelegate::divergingColor(-1).name(), QStringLiteral("white"),
                        QStringLiteral("−%1 % better").arg(s, 0, 'f', 1)) +
               chip.arg(HeatmapDelegate::divergingColor(0).name(), QStringLiteral("black"),
                        QStringLiteral("0 = current")) +
               chip.arg(HeatmapDelegate::divergingColor(1).name(), QStringLiteral("white"),
                        QStringLiteral("+%1 % worse").arg(s, 0, 'f', 1));
    } else {
        const QString what =
            kind == HeatmapModel::ValueKind::accuracy ? tr("Accuracy in % (higher is better)")
            : kind == HeatmapModel::ValueKind::rank   ? tr("Rank within the row (1 = best)")
            : m_model->dataset().isEmpty() ? (m_model->aggregate() == HeatmapModel::Aggregate::geomean
                                                  ? tr("Geometric mean of the losses (lower is better)")
                                                  : tr("Sum of the per-dataset ranks (lower is better)"))
                                           : tr("Loss (lower is better)");
        text = what + QStringLiteral(": ") +
               chip.arg(QStringLiteral("#205a6e"), QStringLiteral("white"), tr("best")) +
               chip.arg(QStringLiteral("#faf0aa"), QStringLiteral("black"), tr("worst")) + tr(" in each row");
    }
    m_legend->setText(text + marks);
}

void HeatmapPanel::refreshDatasets() {
    const QString current = m_model->dataset();
    QSignalBlocker block(m_dataset);
    m_dataset->clear();
    m_dataset->addItem(m_model->aggregate() == HeatmapModel::Aggregate::geomean
                           ? tr("aggregate (geometric mean)")
                           : tr("aggregate (rank sum)"),
                       QString());
    for (const auto& d : m_model->datasets()) m_dataset->addItem(d, d);
    const int at = m_dataset->findData(current);
    m_dataset->setCurrentIndex(at >= 0 ? at : 0);
    updateLegend();
}

void HeatmapPanel::applySelection() {
    m_model->setDataset(m_dataset->currentData().toString());
    m_model->setValueKind(static_cast<HeatmapModel::ValueKind>(m_valueKind->currentData().toInt()));
    updateLegend();
}

}  // namespace olm::ui
