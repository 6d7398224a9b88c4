#pragma once
// The OLM Studio main window: model pool, datasets and direction/options
// panels on the left; the run controls, layer-score heatmap, score chart and
// generation previews in the centre; the log below; stage, layer i/N,
// candidate j/M and ETA in the status bar. A project is a merge config YAML.
#include "core/merge/config.h"
#include "ui/merge_worker.h"

#include <QMainWindow>

class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTabWidget;
class QTableView;

namespace olm::ui {

class DatasetPanel;
class HeatmapModel;
class HeatmapPanel;
class OptionsPanel;
class PoolPanel;
class PreviewPanel;
class ScoreChart;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    QTableView* modelPool() const;
    PoolPanel* poolPanel() const { return m_pool; }
    DatasetPanel* datasetPanel() const { return m_datasets; }
    OptionsPanel* optionsPanel() const { return m_options; }
    HeatmapModel* heatmapModel() const { return m_heatmap; }
    ScoreChart* scoreChart() const { return m_chart; }
    PreviewPanel* previewPanel() const { return m_previews; }
    MergeController* controller() const { return m_controller; }
    QPlainTextEdit* log() const { return m_log; }
    QTabWidget* tabs() const { return m_tabs; }

    // The config the panels describe (keys the panels do not show are kept
    // from the last opened project).
    olm::MergeConfig currentConfig() const;
    // Loads a project YAML into the panels, and its merge_report.json into
    // the heatmap when one exists. Errors go to the log and a return of false.
    bool openProject(const QString& path);
    bool saveProject(const QString& path);
    // Shows a merge_report.json in the heatmap, chart and log.
    bool loadReport(const QString& path);
    // Starts a merge from the panels; resume continues the output folder's report.
    bool startMerge(bool resume);
    // Writes the merged model from the report (a resumed run that only exports).
    bool exportModel();
    void appendLog(const QString& line);

public slots:
    void openProjectDialog();
    void saveProjectDialog();
    void pauseMerge();
    void resumeMerge();
    void cancelMerge();

private:
    void buildMenus();
    QWidget* buildControls();
    void updateControls();
    void resetViews(const olm::MergeConfig& config);
    void onProgress(const olm::ui::RunProgress& p);
    void onFinished(olm::ui::MergeWorker::Outcome outcome, const QString& message);
    bool validateForRun(const olm::MergeConfig& config);
    bool launch(const MergeJob& job, const QString& what);

    PoolPanel* m_pool = nullptr;
    DatasetPanel* m_datasets = nullptr;
    OptionsPanel* m_options = nullptr;
    HeatmapModel* m_heatmap = nullptr;
    HeatmapPanel* m_heatmapPanel = nullptr;
    ScoreChart* m_chart = nullptr;
    PreviewPanel* m_previews = nullptr;
    QTabWidget* m_tabs = nullptr;
    QPlainTextEdit* m_log = nullptr;
    MergeController* m_controller = nullptr;

    QPushButton* m_start = nullptr;
    QPushButton* m_pause = nullptr;
    QPushButton* m_resume = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_export = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_stageLabel = nullptr;
    QLabel* m_layerLabel = nullptr;
    QLabel* m_candidateLabel = nullptr;
    QLabel* m_etaLabel = nullptr;

    olm::MergeConfig m_project;  // the last opened/saved project (keeps keys the panels do not show)
    QString m_projectPath;
    bool m_exporting = false;
};

}  // namespace olm::ui
