#pragma once
// The heatmap's view: a QTableView over HeatmapModel whose delegate paints
// each cell by its value within the row (best dark teal, worst pale yellow),
// hatches disqualified and failed candidates, outlines the running one and
// frames the chosen candidate of every position. HeatmapPanel adds the
// dataset/aggregate and score/rank selectors and a legend.
#include <QStyledItemDelegate>
#include <QTableView>
#include <QWidget>

class QComboBox;
class QLabel;

namespace olm::ui {

class HeatmapModel;

class HeatmapDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

    // The fill colour for a normalised value (0 = best, 1 = worst).
    static QColor colorFor(double normalized);
};

class HeatmapView : public QTableView {
    Q_OBJECT
public:
    explicit HeatmapView(QWidget* parent = nullptr);
};

class HeatmapPanel : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapPanel(HeatmapModel* model, QWidget* parent = nullptr);
    HeatmapView* view() const { return m_view; }
    QComboBox* datasetSelector() const { return m_dataset; }

private:
    void refreshDatasets();
    void applySelection();

    HeatmapModel* m_model;
    HeatmapView* m_view;
    QComboBox* m_dataset;
    QComboBox* m_valueKind;
};

}  // namespace olm::ui
