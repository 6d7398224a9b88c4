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
    // The change view's diverging map: -1 (better) blue, 0 white, +1 (worse) red.
    static QColor divergingColor(double t);
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
    QComboBox* valueKindSelector() const { return m_valueKind; }
    QLabel* legend() const { return m_legend; }
    // Marks the heatmap as not describing the current config (greyed, a note).
    void setStale(bool stale);
    bool stale() const { return m_stale; }

private:
    void updateLegend();
    void refreshDatasets();
    void applySelection();

    HeatmapModel* m_model;
    HeatmapView* m_view;
    QComboBox* m_dataset;
    QComboBox* m_valueKind;
    QLabel* m_legend;
    QLabel* m_staleNote;
    bool m_stale = false;
};

}  // namespace olm::ui
