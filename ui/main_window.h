#pragma once
#include <QMainWindow>

class QListWidget;
class QTableWidget;
class QPlainTextEdit;
class QPushButton;
class QRadioButton;
class QLabel;

namespace olm::ui {

// The OLM Studio main window: model pool, datasets and direction panels on the
// left, the layer-score heatmap and previews in the centre, a log below.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

    QListWidget* modelPool() const { return m_modelPool; }
    QTableWidget* datasets() const { return m_datasets; }

private:
    QWidget* buildPoolPanel();
    QWidget* buildDatasetPanel();
    QWidget* buildDirectionPanel();

    QListWidget* m_modelPool = nullptr;
    QTableWidget* m_datasets = nullptr;
    QRadioButton* m_forward = nullptr;
    QRadioButton* m_backward = nullptr;
    QPushButton* m_start = nullptr;
    QPushButton* m_pause = nullptr;
    QPushButton* m_resume = nullptr;
    QPlainTextEdit* m_log = nullptr;
    QLabel* m_status = nullptr;
};

}  // namespace olm::ui
