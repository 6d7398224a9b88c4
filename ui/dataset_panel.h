#pragma once
// The dataset panel: conversation-format JSON files (added with a dialog or
// dropped), the evaluation mode of each (combo delegate), and how many
// samples of each the search scores.
#include "ui/dataset_model.h"

#include <QGroupBox>

class QTableView;
class QSpinBox;
class QDoubleSpinBox;
class QPushButton;

namespace olm {
struct MergeConfig;
}

namespace olm::ui {

class DatasetPanel : public QGroupBox {
    Q_OBJECT
public:
    explicit DatasetPanel(QWidget* parent = nullptr);

    DatasetModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QSpinBox* samples() const { return m_samples; }

    void applyTo(olm::MergeConfig& config) const;
    void loadFrom(const olm::MergeConfig& config);
    void setEditable(bool editable);

public slots:
    void addFileDialog();
    void removeSelected();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    DatasetModel* m_model;
    QTableView* m_view;
    QSpinBox* m_samples;
    QDoubleSpinBox* m_holdout;
    QList<QPushButton*> m_buttons;
};

}  // namespace olm::ui
