#include "ui/main_window.h"

#include "core/util/version.h"
#include "ui/dataset_panel.h"
#include "ui/heatmap_model.h"
#include "ui/heatmap_view.h"
#include "ui/options_panel.h"
#include "ui/pool_panel.h"
#include "ui/preview_panel.h"
#include "ui/report_reader.h"
#include "ui/score_chart.h"

#include <QApplication>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <exception>

namespace olm::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(QStringLiteral("OLM Studio %1").arg(QString::fromStdString(olm::version())));
    setObjectName(QStringLiteral("MainWindow"));
    registerRunTypes();

    m_pool = new PoolPanel;
    m_datasets = new DatasetPanel;
    m_options = new OptionsPanel;
    auto* left = new QSplitter(Qt::Vertical);
    left->setObjectName(QStringLiteral("leftPanels"));
    left->addWidget(m_pool);
    left->addWidget(m_datasets);
    left->addWidget(m_options);
    left->setStretchFactor(0, 3);
    left->setStretchFactor(1, 2);
    left->setStretchFactor(2, 0);
    left->setChildrenCollapsible(false);

    m_heatmap = new HeatmapModel(this);
    m_heatmapPanel = new HeatmapPanel(m_heatmap);
    m_chart = new ScoreChart;
    m_previews = new PreviewPanel;
    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("resultTabs"));
    m_tabs->addTab(m_heatmapPanel, tr("Layer heatmap"));
    m_tabs->addTab(m_chart, tr("Scores"));
    m_tabs->addTab(m_previews, tr("Previews"));

    m_log = new QPlainTextEdit;
    m_log->setObjectName(QStringLiteral("log"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    m_log->setPlaceholderText(tr("Log"));

    auto* centre = new QWidget;
    auto* centreLayout = new QVBoxLayout(centre);
    centreLayout->setContentsMargins(0, 0, 0, 0);
    centreLayout->addWidget(buildControls());
    auto* centreSplit = new QSplitter(Qt::Vertical);
    centreSplit->addWidget(m_tabs);
    centreSplit->addWidget(m_log);
    centreSplit->setStretchFactor(0, 4);
    centreSplit->setStretchFactor(1, 1);
    centreLayout->addWidget(centreSplit, 1);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(left);
    splitter->addWidget(centre);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({480, 900});
    setCentralWidget(splitter);

    m_stageLabel = new QLabel(tr("Ready"));
    m_stageLabel->setObjectName(QStringLiteral("stageLabel"));
    m_layerLabel = new QLabel;
    m_layerLabel->setObjectName(QStringLiteral("layerLabel"));
    m_candidateLabel = new QLabel;
    m_candidateLabel->setObjectName(QStringLiteral("candidateLabel"));
    m_etaLabel = new QLabel;
    m_etaLabel->setObjectName(QStringLiteral("etaLabel"));
    statusBar()->addWidget(m_stageLabel, 1);
    statusBar()->addPermanentWidget(m_layerLabel);
    statusBar()->addPermanentWidget(m_candidateLabel);
    statusBar()->addPermanentWidget(m_etaLabel);

    m_controller = new MergeController(this);
    connect(m_controller, &MergeController::candidateStarted, m_heatmap, &HeatmapModel::candidateStarted);
    connect(m_controller, &MergeController::candidateFinished, this, [this](const CandidateResult& r) {
        m_heatmap->addResult(r);
        if (r.status == CandidateStatus::disqualified || r.status == CandidateStatus::failed)
            appendLog(tr("%1 at %2 %3: %4 (%5)")
                          .arg(r.candidate, positionKindName(r.kind),
                               r.layer >= 0 ? QString::number(r.layer) : QString(),
                               candidateStatusName(r.status), r.reason));
    });
    connect(m_controller, &MergeController::positionDecided, this, [this](const PositionDecision& d) {
        m_heatmap->setDecision(d);
        m_chart->addDecision(d);
        QString where = positionKindName(d.kind);
        if (d.layer >= 0) where += QStringLiteral(" %1").arg(d.layer);
        if (!d.unit.isEmpty()) where += QStringLiteral(" %1").arg(d.unit);
        appendLog(tr("%1 → %2").arg(where, d.winner));
    });
    connect(m_controller, &MergeController::referenceScored, m_chart, &ScoreChart::addReference);
    connect(m_controller, &MergeController::preview, m_previews, &PreviewPanel::addSample);
    connect(m_controller, &MergeController::progress, this, &MainWindow::onProgress);
    connect(m_controller, &MergeController::logLine, this, [this](int level, const QString& line) {
        static const char* names[] = {"debug", "info", "warning", "error"};
        if (level <= 0) return;  // debug lines stay out of the GUI log
        appendLog(level == 1 ? line
                             : QStringLiteral("%1: %2").arg(QLatin1String(names[std::min(level, 3)]), line));
    });
    connect(
        m_controller, &MergeController::stageChanged, this,
        [this](const QString& stage, const QString& desc) {
            m_stageLabel->setText(desc.isEmpty() ? stage : QStringLiteral("%1 — %2").arg(stage, desc));
            appendLog(
                tr("stage: %1%2").arg(stage, desc.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(desc)));
        });
    connect(m_controller, &MergeController::pausedChanged, this, [this](bool paused) {
        appendLog(paused ? tr("paused (between evaluation batches)") : tr("resumed"));
        updateControls();
    });
    connect(m_controller, &MergeController::finished, this, &MainWindow::onFinished);
    connect(m_pool->model(), &PoolModel::poolChanged, this, &MainWindow::updateControls);
    connect(m_datasets->model(), &DatasetModel::datasetsChanged, this, &MainWindow::updateControls);

    buildMenus();
    updateControls();
    resize(1400, 900);
}

MainWindow::~MainWindow() = default;

QTableView* MainWindow::modelPool() const { return m_pool->view(); }

QWidget* MainWindow::buildControls() {
    auto* bar = new QWidget;
    bar->setObjectName(QStringLiteral("runControls"));
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(4, 4, 4, 0);
    auto make = [&](const QString& text, const QString& name, const QString& tip) {
        auto* b = new QPushButton(text);
        b->setObjectName(name);
        b->setToolTip(tip);
        row->addWidget(b);
        return b;
    };
    m_start = make(tr("Start"), QStringLiteral("start"),
                   tr("Start a new merge (an existing report in the output folder is replaced)"));
    m_pause = make(tr("Pause"), QStringLiteral("pause"), tr("Pause between evaluation batches"));
    m_resume = make(tr("Resume"), QStringLiteral("resume"),
                    tr("Continue a paused merge, or resume from the output folder's merge_report.json"));
    m_cancel =
        make(tr("Cancel"), QStringLiteral("cancel"), tr("Stop; the report keeps every finished candidate"));
    m_export = make(tr("Export"), QStringLiteral("export"),
                    tr("Write the merged model, model card and mergekit recipe to the output folder"));
    connect(m_start, &QPushButton::clicked, this, [this] { startMerge(false); });
    connect(m_pause, &QPushButton::clicked, this, &MainWindow::pauseMerge);
    connect(m_resume, &QPushButton::clicked, this, &MainWindow::resumeMerge);
    connect(m_cancel, &QPushButton::clicked, this, &MainWindow::cancelMerge);
    connect(m_export, &QPushButton::clicked, this, [this] { exportModel(); });
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(QStringLiteral("%p%"));
    row->addWidget(m_progress, 1);
    return bar;
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&Project"));
    file->addAction(tr("&Open project…"), QKeySequence::Open, this, &MainWindow::openProjectDialog);
    file->addAction(tr("&Save project…"), QKeySequence::Save, this, &MainWindow::saveProjectDialog);
    file->addAction(tr("Open merge &report…"), this, [this] {
        const QString f =
            QFileDialog::getOpenFileName(this, tr("Open merge_report.json"), m_options->outputDir(),
                                         tr("Merge reports (merge_report.json *.json)"));
        if (!f.isEmpty()) loadReport(f);
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu* run = menuBar()->addMenu(tr("&Merge"));
    run->addAction(tr("Start"), this, [this] { startMerge(false); });
    run->addAction(tr("Pause"), this, &MainWindow::pauseMerge);
    run->addAction(tr("Resume"), this, &MainWindow::resumeMerge);
    run->addAction(tr("Cancel"), this, &MainWindow::cancelMerge);
    run->addAction(tr("Export"), this, [this] { exportModel(); });
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("About OLM Studio"), this, [this] {
        QMessageBox::about(this, tr("About OLM Studio"),
                           QString::fromStdString(olm::build_info())
                               .toHtmlEscaped()
                               .replace(QLatin1Char('\n'), QStringLiteral("<br>")));
    });
}

void MainWindow::updateControls() {
    const bool running = m_controller->running();
    const bool paused = m_controller->paused();
    const bool ready = m_pool->model()->rowCount() > 0 && m_datasets->model()->rowCount() > 0;
    m_start->setEnabled(!running && ready);
    m_pause->setEnabled(running && !paused);
    m_resume->setEnabled(running ? paused : ready);
    m_cancel->setEnabled(running);
    m_export->setEnabled(!running && ready);
    m_pool->setEditable(!running);
    m_datasets->setEditable(!running);
    m_options->setEditable(!running);
}

void MainWindow::appendLog(const QString& line) {
    m_log->appendPlainText(
        QStringLiteral("%1  %2").arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss")), line));
}

olm::MergeConfig MainWindow::currentConfig() const {
    olm::MergeConfig c = m_project;
    m_pool->applyTo(c);
    m_datasets->applyTo(c);
    m_options->applyTo(c);
    if (!c.output_dir.empty() && c.output_dir.is_relative() && !m_projectPath.isEmpty())
        c.output_dir =
            std::filesystem::path(QFileInfo(m_projectPath).absolutePath().toStdString()) / c.output_dir;
    c.load_merge_report = false;  // resuming is the Resume button's choice
    c.warnings.clear();
    return c;
}

bool MainWindow::openProject(const QString& path) {
    try {
        olm::MergeConfig c = olm::load_merge_config(path.toStdString());
        m_project = c;
        m_projectPath = QFileInfo(path).absoluteFilePath();
        m_pool->loadFrom(c);
        m_datasets->loadFrom(c);
        m_options->loadFrom(c);
        setWindowTitle(QStringLiteral("OLM Studio %1 — %2")
                           .arg(QString::fromStdString(olm::version()), QFileInfo(path).fileName()));
        appendLog(tr("opened project %1 (%2 models, %3 datasets)")
                      .arg(m_projectPath)
                      .arg(c.models.size())
                      .arg(c.datasets.size()));
        for (const auto& w : c.warnings) appendLog(tr("warning: %1").arg(QString::fromStdString(w)));
        for (const auto& e : m_pool->model()->entries())
            if (!e.compatible) appendLog(tr("pool: %1: %2").arg(e.name, e.verdict));
        resetViews(currentConfig());
        const QString report = QString::fromStdString(c.report_path().string());
        if (QFileInfo::exists(report)) loadReport(report);
        updateControls();
        return true;
    } catch (const std::exception& ex) {
        appendLog(tr("cannot open project %1: %2").arg(path, QString::fromUtf8(ex.what())));
        return false;
    }
}

bool MainWindow::saveProject(const QString& path) {
    try {
        olm::MergeConfig c = currentConfig();
        c.config_path = path.toStdString();
        olm::save_merge_config(c, path.toStdString());
        m_project = c;
        m_projectPath = QFileInfo(path).absoluteFilePath();
        appendLog(tr("saved project %1").arg(m_projectPath));
        return true;
    } catch (const std::exception& ex) {
        appendLog(tr("cannot save project %1: %2").arg(path, QString::fromUtf8(ex.what())));
        return false;
    }
}

void MainWindow::openProjectDialog() {
    const QString f =
        QFileDialog::getOpenFileName(this, tr("Open merge config"), QFileInfo(m_projectPath).absolutePath(),
                                     tr("Merge configs (*.yaml *.yml)"));
    if (!f.isEmpty()) openProject(f);
}

void MainWindow::saveProjectDialog() {
    const QString f = QFileDialog::getSaveFileName(
        this, tr("Save merge config"),
        m_projectPath.isEmpty() ? QStringLiteral("olm_config.yaml") : m_projectPath,
        tr("Merge configs (*.yaml *.yml)"));
    if (!f.isEmpty()) saveProject(f);
}

void MainWindow::resetViews(const olm::MergeConfig& config) {
    QStringList pool, datasets;
    for (const auto& n : config.model_names()) pool << QString::fromStdString(n);
    for (const auto& d : config.datasets) datasets << QString::fromStdString(d.name);
    const auto& entries = m_pool->model()->entries();
    const int base = m_pool->model()->baseRow();
    const int layers = base >= 0 && base < entries.size() ? entries[base].layers : 0;
    m_heatmap->reset(pool, layers, datasets);
    m_heatmap->setAggregate(config.effective_selection() == "geomean" ? HeatmapModel::Aggregate::geomean
                                                                      : HeatmapModel::Aggregate::rankSum);
    m_chart->clear();
    m_previews->clear();
}

bool MainWindow::loadReport(const QString& path) {
    ReportContents report;
    QString error;
    if (!readMergeReport(path, report, &error)) {
        appendLog(error);
        return false;
    }
    if (m_heatmap->columnCount() == 0 || m_heatmap->rowCount() == 0)
        m_heatmap->reset(report.pool, report.layers, report.datasets);
    for (const auto& r : report.references) m_chart->addReference(r);
    for (const auto& c : report.candidates) m_heatmap->addResult(c);
    for (const auto& d : report.decisions) {
        m_heatmap->setDecision(d);
        m_chart->addDecision(d);
    }
    appendLog(tr("report %1: %2 candidates, %3 positions decided%4")
                  .arg(path)
                  .arg(report.candidates.size())
                  .arg(report.decisions.size())
                  .arg(report.status.isEmpty() ? QString() : tr(", status %1").arg(report.status)));
    return true;
}

bool MainWindow::validateForRun(const olm::MergeConfig& c) {
    QStringList problems;
    if (c.models.empty()) problems << tr("the pool is empty");
    if (c.datasets.empty()) problems << tr("no datasets");
    if (c.output_dir.empty()) problems << tr("no output folder");
    for (const auto& e : m_pool->model()->entries())
        if (!e.compatible) problems << tr("%1: %2").arg(e.name, e.verdict);
    for (const auto& d : m_datasets->model()->entries())
        if (!d.error.isEmpty()) problems << d.error;
    if (problems.isEmpty()) return true;
    appendLog(tr("cannot start: %1").arg(problems.join(QStringLiteral("; "))));
    return false;
}

bool MainWindow::launch(const MergeJob& job, const QString& what) {
    if (m_controller->running()) return false;
    if (!m_controller->start(job)) return false;
    m_progress->setRange(0, 0);  // busy until the first progress event
    appendLog(what);
    updateControls();
    return true;
}

bool MainWindow::startMerge(bool resume) {
    const olm::MergeConfig c = currentConfig();
    if (!validateForRun(c)) return false;
    resetViews(c);
    const QString report = QString::fromStdString(c.report_path().string());
    if (resume && QFileInfo::exists(report)) loadReport(report);
    MergeJob job;
    job.config = c;
    job.resume = resume;
    job.exportModel = false;  // Export writes the model once the heatmap has been reviewed
    m_exporting = false;
    return launch(job, resume
                           ? tr("resuming merge from %1").arg(report)
                           : tr("starting merge into %1").arg(QString::fromStdString(c.output_dir.string())));
}

bool MainWindow::exportModel() {
    const olm::MergeConfig c = currentConfig();
    if (!validateForRun(c)) return false;
    const QString report = QString::fromStdString(c.report_path().string());
    if (!QFileInfo::exists(report)) {
        appendLog(tr("nothing to export yet: %1 does not exist; run the merge first").arg(report));
        return false;
    }
    // A resumed run skips everything the report holds, finishes what is
    // missing and exports: the export always matches the report.
    MergeJob job;
    job.config = c;
    job.resume = true;
    job.exportModel = true;
    job.verifyExport = true;
    m_exporting = true;
    return launch(job,
                  tr("exporting the merged model to %1").arg(QString::fromStdString(c.output_dir.string())));
}

void MainWindow::pauseMerge() { m_controller->pause(); }

void MainWindow::resumeMerge() {
    if (m_controller->running()) {
        m_controller->resume();
        return;
    }
    startMerge(true);
}

void MainWindow::cancelMerge() {
    if (!m_controller->running()) return;
    appendLog(tr("cancelling…"));
    m_controller->cancel();
}

void MainWindow::onProgress(const RunProgress& p) {
    if (p.total > 0) {
        m_progress->setRange(0, 1000);
        m_progress->setValue(
            static_cast<int>(1000.0 * static_cast<double>(p.done) / static_cast<double>(p.total)));
        m_progress->setFormat(QStringLiteral("%1 / %2 evaluations").arg(p.done).arg(p.total));
    }
    if (!p.detail.isEmpty())
        m_stageLabel->setText(QStringLiteral("%1 — %2").arg(p.stage, p.detail));
    else if (!p.stage.isEmpty())
        m_stageLabel->setText(p.stage);
    const int layers = m_heatmap->layers();
    m_layerLabel->setText(p.layer >= 0 ? tr("layer %1/%2").arg(p.layer + 1).arg(layers) : QString());
    m_candidateLabel->setText(p.candidate >= 0 && p.candidates > 0
                                  ? tr("candidate %1/%2").arg(p.candidate + 1).arg(p.candidates)
                                  : QString());
    m_etaLabel->setText(p.etaSeconds >= 0 ? tr("ETA %1").arg(formatDuration(p.etaSeconds)) : QString());
}

void MainWindow::onFinished(MergeWorker::Outcome outcome, const QString& message) {
    m_progress->setRange(0, 1000);
    if (outcome == MergeWorker::Outcome::finished) {
        // The planned total is an upper bound (gating and reuse skip work).
        m_progress->setValue(1000);
        m_progress->setFormat(m_exporting ? tr("exported") : tr("complete"));
    }
    m_stageLabel->setText(outcome == MergeWorker::Outcome::finished
                              ? (m_exporting ? tr("Exported") : tr("Finished"))
                          : outcome == MergeWorker::Outcome::cancelled ? tr("Cancelled")
                                                                       : tr("Failed"));
    m_etaLabel->clear();
    appendLog(outcome == MergeWorker::Outcome::failed ? tr("merge failed: %1").arg(message) : message);
    // The reference points (every pool model, the pool soup) are scored after
    // the search and recorded in the report only: add them to the chart.
    ReportContents report;
    if (readMergeReport(QString::fromStdString(currentConfig().report_path().string()), report))
        for (const auto& r : report.references) m_chart->addReference(r);
    m_exporting = false;
    updateControls();
}

}  // namespace olm::ui
