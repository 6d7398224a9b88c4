#pragma once
// The OLM Studio main window: a welcome page while no project is open; then
// the model pool, datasets and direction/options panels on the left; the run
// controls, banners (pre-flight problems, a report that no longer matches the
// config), the layer-score heatmap, score chart, previews and the end-of-run
// summary in the centre; the log and the problems list below; stage, layer
// i/N, candidate j/M and ETA in the status bar. A project is a merge config YAML.
#include "core/merge/config.h"
#include "ui/export_dialog.h"
#include "ui/merge_worker.h"
#include "ui/progress_tracker.h"

#include <QElapsedTimer>
#include <QMainWindow>

#include <optional>

class QAction;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QTableView;
class QTimer;

namespace olm::ui {

class Banner;
class DatasetPanel;
class HeatmapModel;
class HeatmapPanel;
class OptionsPanel;
class PoolPanel;
class PreviewPanel;
class ScoreChart;
class SummaryPanel;
class WelcomePage;

// What Export does with a report whose search has not finished.
enum class ExportChoice { ask, finishFirst, bestSoFar };

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
    HeatmapPanel* heatmapPanel() const { return m_heatmapPanel; }
    ScoreChart* scoreChart() const { return m_chart; }
    PreviewPanel* previewPanel() const { return m_previews; }
    SummaryPanel* summaryPanel() const { return m_summary; }
    MergeController* controller() const { return m_controller; }
    QPlainTextEdit* log() const { return m_log; }
    QListWidget* problems() const { return m_problems; }
    QTabWidget* tabs() const { return m_tabs; }
    Banner* banner() const { return m_banner; }
    Banner* staleBanner() const { return m_staleBanner; }
    WelcomePage* welcomePage() const { return m_welcome; }
    QProgressBar* progressBar() const { return m_progress; }
    const ProgressTracker& tracker() const { return m_tracker; }
    bool welcomeShown() const;
    bool reportStale() const { return m_stale; }

    // The config the panels describe (keys the panels do not show are kept
    // from the last opened project).
    olm::MergeConfig currentConfig() const;
    // Loads a project YAML into the panels, and its merge_report.json into
    // the heatmap when one exists. Errors go to the banner and a return of false.
    bool openProject(const QString& path);
    bool saveProject(const QString& path);
    QString projectPath() const { return m_projectPath; }
    // Shows a merge_report.json in the heatmap, chart, summary and log.
    bool loadReport(const QString& path);
    // Starts a merge from the panels; resume continues the output folder's
    // report. Over an existing report a new start asks: resume, start over
    // (the old report is moved aside) or cancel. force: resume a report
    // written with another config.
    bool startMerge(bool resume, bool force = false);
    // Export with a dialog (folder, dtype, shard size); on an unfinished
    // report first asks whether to finish the merge or export the best so far.
    bool exportModel();
    // Export without the dialog (tests, scripts).
    bool exportModel(const ExportSettings& settings, ExportChoice choice);
    // The problems that keep a merge from starting (also shown in the banner).
    QStringList preflightProblems();
    void appendLog(const QString& line);
    // Problems list: warnings of the project and the run, clickable to the row.
    void addProblem(const QString& text, const QString& where = {}, int row = -1);
    // Replaces the pool's rows in the problems list with the last check's.
    void showPoolProblems();
    void showWelcome(bool show);

    static QString settingsGroup() { return QStringLiteral("window"); }

signals:
    void openDemoRequested();  // the welcome page's "Open the demo project"
    void exportWritten(const QString& folder);

public slots:
    void openProjectDialog();
    bool saveProjectDialog();  // Save: the project's file, or Save As for a new one
    bool saveProjectAsDialog();
    void newProjectWizard();
    void pauseMerge();
    void resumeMerge();
    void cancelMerge();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    QWidget* buildControls();
    void updateControls();
    void updateTitle();
    void configEdited();
    void checkStale();
    void resetViews(const olm::MergeConfig& config);
    void onRunEvent(const olm::ui::RunEvent& e);
    void refreshProgress();
    void showDownload(const RunProgress& p);  // Hub bytes in the progress bar
    void onFinished(olm::ui::MergeWorker::Outcome outcome, const QString& message);
    bool launch(const MergeJob& job, const QString& what);
    bool launchExport(const ExportSettings& settings);
    void showError(const QString& title, const QString& message);
    void showExportDone(const QString& folder);
    void rememberRecent(const QString& path);
    QStringList recentProjects() const;
    QStringList poolFolders() const;
    QString savedYaml() const;
    void restoreWindowState();
    void saveWindowState();

    QStackedWidget* m_stack = nullptr;
    WelcomePage* m_welcome = nullptr;
    PoolPanel* m_pool = nullptr;
    DatasetPanel* m_datasets = nullptr;
    OptionsPanel* m_options = nullptr;
    HeatmapModel* m_heatmap = nullptr;
    HeatmapPanel* m_heatmapPanel = nullptr;
    ScoreChart* m_chart = nullptr;
    PreviewPanel* m_previews = nullptr;
    SummaryPanel* m_summary = nullptr;
    QTabWidget* m_tabs = nullptr;
    QTabWidget* m_bottomTabs = nullptr;
    QPlainTextEdit* m_log = nullptr;
    QListWidget* m_problems = nullptr;
    Banner* m_banner = nullptr;
    Banner* m_staleBanner = nullptr;
    MergeController* m_controller = nullptr;
    QList<QSplitter*> m_splitters;

    QPushButton* m_start = nullptr;
    QPushButton* m_pause = nullptr;
    QPushButton* m_resume = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_export = nullptr;
    QAction* m_startAction = nullptr;
    QAction* m_pauseAction = nullptr;
    QAction* m_resumeAction = nullptr;
    QAction* m_cancelAction = nullptr;
    QAction* m_exportAction = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_stageLabel = nullptr;
    QLabel* m_pausedLabel = nullptr;
    QLabel* m_layerLabel = nullptr;
    QLabel* m_candidateLabel = nullptr;
    QLabel* m_etaLabel = nullptr;
    QTimer* m_progressTimer = nullptr;

    ProgressTracker m_tracker;
    QElapsedTimer m_sinceEvent;  // wall time since the last run event
    double m_lastEventT = 0.0;

    olm::MergeConfig m_project;  // the last opened/saved project (keeps keys the panels do not show)
    QString m_projectPath;
    QString m_savedYaml;     // the project as last opened or saved (unsaved-edit marker)
    bool m_opening = false;  // openProject is running (it waits for the pool check)
    bool m_stale = false;
    bool m_exporting = false;
    bool m_downloading = false;                     // a Hub download is shown in the progress bar
    std::optional<ExportSettings> m_pendingExport;  // export once the running merge finishes
    QString m_lastExportFolder;
};

}  // namespace olm::ui
