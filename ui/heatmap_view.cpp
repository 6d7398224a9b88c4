#include "ui/heatmap_view.h"

#include "ui/heatmap_model.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QVBoxLayout>

#include <algorithm>
#include <array>

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

void HeatmapDelegate::paint(QPainter* p, const QStyleOptionViewItem& option, const QModelIndex& index) const {
    const auto status = static_cast<CandidateStatus>(index.data(HeatmapModel::StatusRole).toInt());
    const QVariant norm = index.data(HeatmapModel::NormalizedRole);
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
    m_valueKind->addItem(tr("score"));
    m_valueKind->addItem(tr("rank"));
    bar->addWidget(m_valueKind);
    bar->addStretch(1);
    auto* legend = new QLabel;
    legend->setText(
        tr("<span style='background:#205a6e;color:white'>&nbsp;best&nbsp;</span>"
           "<span style='background:#faf0aa'>&nbsp;worst&nbsp;</span> in each row &nbsp; "
           "<span style='color:#e65a14'><b>▭</b></span> chosen &nbsp; ✕ disqualified &nbsp; ! failed"));
    bar->addWidget(legend);
    layout->addLayout(bar);
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
    m_valueKind->setEnabled(m_dataset->currentIndex() > 0);
}

void HeatmapPanel::applySelection() {
    m_model->setDataset(m_dataset->currentData().toString());
    m_model->setValueKind(m_valueKind->currentIndex() == 1 ? HeatmapModel::ValueKind::rank
                                                           : HeatmapModel::ValueKind::score);
    m_valueKind->setEnabled(m_dataset->currentIndex() > 0);
}

}  // namespace olm::ui
