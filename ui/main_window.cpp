#include "ui/main_window.h"

#include "core/util/version.h"
#include "ui/banner.h"
#include "ui/core_bridge.h"
#include "ui/dataset_panel.h"
#include "ui/heatmap_model.h"
#include "ui/heatmap_view.h"
#include "ui/options_panel.h"
#include "ui/pool_panel.h"
#include "ui/preview_panel.h"
#include "ui/project_checks.h"
#include "ui/report_reader.h"
#include "ui/score_chart.h"
#include "ui/summary_panel.h"
#include "ui/welcome_page.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDesktopServices>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QScopedValueRollback>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

#include <cmath>
#include <exception>

namespace olm::ui {
namespace {

QSettings settings() {
    return QSettings(QSettings::IniFormat, QSettings::UserScope, QStringLiteral("OLM Studio"),
                     QStringLiteral("olm-studio"));
}

QString shortcutHint(const QString& tip, const QAction* a) {
    return a && !a->shortcut().isEmpty()
               ? QStringLiteral("%1 (%2)").arg(tip, a->shortcut().toString(QKeySequence::NativeText))
               : tip;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
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
    m_summary = new SummaryPanel;
    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("resultTabs"));
    m_tabs->addTab(m_heatmapPanel, tr("Layer heatmap"));
    m_tabs->addTab(m_chart, tr("Scores"));
    m_tabs->addTab(m_previews, tr("Previews"));
    m_tabs->addTab(m_summary, tr("Summary"));

    m_log = new QPlainTextEdit;
    m_log->setObjectName(QStringLiteral("log"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    m_log->setPlaceholderText(tr("Log"));
    m_problems = new QListWidget;
    m_problems->setObjectName(QStringLiteral("problems"));
    m_problems->setWordWrap(true);
    connect(m_problems, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        const QString where = item->data(Qt::UserRole).toString();
        const int row = item->data(Qt::UserRole + 1).toInt();
        QTableView* view = where == QLatin1String("pool")      ? m_pool->view()
                           : where == QLatin1String("dataset") ? m_datasets->view()
                                                               : nullptr;
        if (view && row >= 0 && row < view->model()->rowCount()) {
            view->selectRow(row);
            view->scrollTo(view->model()->index(row, 0));
            view->setFocus();
        }
    });
    connect(m_problems, &QListWidget::itemClicked, m_problems, &QListWidget::itemActivated);
    m_bottomTabs = new QTabWidget;
    m_bottomTabs->setObjectName(QStringLiteral("bottomTabs"));
    m_bottomTabs->addTab(m_log, tr("Log"));
    m_bottomTabs->addTab(m_problems, tr("Problems"));

    m_banner = new Banner(QStringLiteral("banner"));
    m_staleBanner = new Banner(QStringLiteral("staleBanner"));

    auto* centre = new QWidget;
    auto* centreLayout = new QVBoxLayout(centre);
    centreLayout->setContentsMargins(0, 0, 0, 0);
    centreLayout->addWidget(buildControls());
    centreLayout->addWidget(m_banner);
    centreLayout->addWidget(m_staleBanner);
    auto* centreSplit = new QSplitter(Qt::Vertical);
    centreSplit->setObjectName(QStringLiteral("centreSplit"));
    centreSplit->addWidget(m_tabs);
    centreSplit->addWidget(m_bottomTabs);
    centreSplit->setStretchFactor(0, 4);
    centreSplit->setStretchFactor(1, 1);
    centreLayout->addWidget(centreSplit, 1);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->setObjectName(QStringLiteral("mainSplit"));
    splitter->addWidget(left);
    splitter->addWidget(centre);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({440, 840});
    m_splitters = {splitter, left, centreSplit};
    // Explicit minimums (the panels' own hints add up to more): the window
    // fits 1280 px at 100 % and a 1600-px screen at 150 % (1066 logical px).
    left->setMinimumWidth(300);
    centre->setMinimumWidth(600);

    m_welcome = new WelcomePage;
    m_stack = new QStackedWidget;
    m_stack->addWidget(m_welcome);
    m_stack->addWidget(splitter);
    setCentralWidget(m_stack);
    connect(m_welcome, &WelcomePage::openDemo, this, &MainWindow::openDemoRequested);
    connect(m_welcome, &WelcomePage::openProjectDialog, this, &MainWindow::openProjectDialog);
    connect(m_welcome, &WelcomePage::newProject, this, &MainWindow::newProjectWizard);
    connect(m_welcome, &WelcomePage::openRecent, this, [this](const QString& p) { openProject(p); });

    m_stageLabel = new QLabel(tr("Ready"));
    m_stageLabel->setObjectName(QStringLiteral("stageLabel"));
    m_stageLabel->setMinimumWidth(80);
    m_pausedLabel = new QLabel;
    m_pausedLabel->setObjectName(QStringLiteral("pausedLabel"));
    m_pausedLabel->setStyleSheet(QStringLiteral("QLabel { color: #a05a00; font-weight: bold; }"));
    m_layerLabel = new QLabel;
    m_layerLabel->setObjectName(QStringLiteral("layerLabel"));
    m_candidateLabel = new QLabel;
    m_candidateLabel->setObjectName(QStringLiteral("candidateLabel"));
    m_etaLabel = new QLabel;
    m_etaLabel->setObjectName(QStringLiteral("etaLabel"));
    statusBar()->addWidget(m_stageLabel, 1);
    statusBar()->addPermanentWidget(m_pausedLabel);
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
    connect(m_controller, &MergeController::runEvent, this, &MainWindow::onRunEvent);
    connect(m_controller, &MergeController::progress, this, [this](const RunProgress& p) {
        if (p.stage == QLatin1String("download")) {
            showDownload(p);
            return;
        }
        if (!p.detail.isEmpty())
            m_stageLabel->setText(QStringLiteral("%1 — %2").arg(m_tracker.stageTitle(), p.detail));
        m_candidateLabel->setText(p.candidate >= 0 && p.candidates > 0
                                      ? tr("candidate %1/%2").arg(p.candidate + 1).arg(p.candidates)
                                      : QString());
        m_layerLabel->setText(p.layer >= 0 ? tr("layer %1/%2").arg(p.layer + 1).arg(m_heatmap->layers())
                                           : QString());
    });
    connect(m_controller, &MergeController::logLine, this, [this](int level, const QString& raw) {
        static const char* names[] = {"debug", "info", "warning", "error"};
        if (level <= 0) return;  // debug lines stay out of the GUI log
        const QString line = plainMessage(raw);
        appendLog(level == 1 ? line
                             : QStringLiteral("%1: %2").arg(QLatin1String(names[std::min(level, 3)]), line));
        if (level >= 2) addProblem(line);
        if (line.startsWith(QLatin1String("safeguard:"))) m_summary->setSafeguardLine(line);
    });
    connect(
        m_controller, &MergeController::stageChanged, this,
        [this](const QString& stage, const QString& desc) {
            appendLog(
                tr("stage: %1%2").arg(stage, desc.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(desc)));
        });
    connect(m_controller, &MergeController::pausedChanged, this, [this](bool paused) {
        appendLog(paused ? tr("paused (between evaluation batches)") : tr("resumed"));
        updateControls();
        refreshProgress();
    });
    connect(m_controller, &MergeController::finished, this, &MainWindow::onFinished);
    connect(m_pool->model(), &PoolModel::poolChanged, this, &MainWindow::configEdited);
    connect(m_pool->model(), &PoolModel::checked, this, [this] {
        showPoolProblems();
        configEdited();
    });
    connect(m_datasets->model(), &DatasetModel::datasetsChanged, this, &MainWindow::configEdited);
    // Every editor of the option panels marks the project edited.
    for (QWidget* panel : {static_cast<QWidget*>(m_options), static_cast<QWidget*>(m_datasets),
                           static_cast<QWidget*>(m_pool)}) {
        for (auto* c : panel->findChildren<QComboBox*>())
            connect(c, &QComboBox::currentIndexChanged, this, &MainWindow::configEdited);
        for (auto* c : panel->findChildren<QAbstractButton*>())
            if (c->isCheckable()) connect(c, &QAbstractButton::toggled, this, &MainWindow::configEdited);
        for (auto* c : panel->findChildren<QLineEdit*>())
            if (!qobject_cast<QComboBox*>(c->parent()) && !qobject_cast<QAbstractSpinBox*>(c->parent()))
                connect(c, &QLineEdit::textChanged, this, &MainWindow::configEdited);
        for (auto* c : panel->findChildren<QSpinBox*>())
            connect(c, &QSpinBox::valueChanged, this, &MainWindow::configEdited);
        for (auto* c : panel->findChildren<QDoubleSpinBox*>())
            connect(c, &QDoubleSpinBox::valueChanged, this, &MainWindow::configEdited);
    }

    m_progressTimer = new QTimer(this);
    m_progressTimer->setInterval(500);
    connect(m_progressTimer, &QTimer::timeout, this, &MainWindow::refreshProgress);

    buildMenus();
    m_savedYaml = savedYaml();
    updateControls();
    updateTitle();
    m_welcome->setRecent(recentProjects());
    // Fits 1280 px at 100 % and a 1600-px screen at 150 % (1066 logical px).
    setMinimumSize(1000, 600);
    resize(1400, 900);
    restoreWindowState();
    showWelcome(true);
}

MainWindow::~MainWindow() = default;

QTableView* MainWindow::modelPool() const { return m_pool->view(); }

bool MainWindow::welcomeShown() const { return m_stack->currentWidget() == m_welcome; }

void MainWindow::showWelcome(bool show) {
    if (show) m_welcome->setRecent(recentProjects());
    m_stack->setCurrentIndex(show ? 0 : 1);
}

QWidget* MainWindow::buildControls() {
    auto* bar = new QWidget;
    bar->setObjectName(QStringLiteral("runControls"));
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(4, 4, 4, 0);
    auto make = [&](const QString& text, const QString& name) {
        auto* b = new QPushButton(text);
        b->setObjectName(name);
        row->addWidget(b);
        return b;
    };
    m_start = make(tr("Start"), QStringLiteral("start"));
    m_pause = make(tr("Pause"), QStringLiteral("pause"));
    m_resume = make(tr("Resume"), QStringLiteral("resume"));
    m_cancel = make(tr("Cancel"), QStringLiteral("cancel"));
    m_export = make(tr("Export"), QStringLiteral("export"));
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Not started"));
    m_progress->setTextVisible(true);
    m_progress->setMinimumWidth(200);
    row->addWidget(m_progress, 1);
    return bar;
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&Project"));
    file->addAction(tr("&New project…"), QKeySequence::New, this, &MainWindow::newProjectWizard);
    file->addAction(tr("&Open project…"), QKeySequence::Open, this, &MainWindow::openProjectDialog);
    file->addAction(tr("&Save project"), QKeySequence::Save, this, &MainWindow::saveProjectDialog);
    file->addAction(tr("Save project &as…"), QKeySequence::SaveAs, this, &MainWindow::saveProjectAsDialog);
    file->addAction(tr("Open merge &report…"), this, [this] {
        const QString f =
            QFileDialog::getOpenFileName(this, tr("Open merge_report.json"), m_options->outputDir(),
                                         tr("Merge reports (merge_report.json *.json)"));
        if (!f.isEmpty()) loadReport(f);
    });
    file->addAction(tr("Open the &demo project"), this, &MainWindow::openDemoRequested);
    file->addAction(tr("&Welcome page"), this, [this] { showWelcome(true); });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu* run = menuBar()->addMenu(tr("&Merge"));
    m_startAction =
        run->addAction(tr("&Start"), QKeySequence(Qt::Key_F5), this, [this] { startMerge(false); });
    m_pauseAction = run->addAction(tr("&Pause"), QKeySequence(Qt::Key_F6), this, &MainWindow::pauseMerge);
    m_resumeAction = run->addAction(tr("&Resume"), QKeySequence(Qt::Key_F7), this, &MainWindow::resumeMerge);
    m_cancelAction =
        run->addAction(tr("&Cancel"), QKeySequence(Qt::SHIFT | Qt::Key_F5), this, &MainWindow::cancelMerge);
    run->addSeparator();
    m_exportAction =
        run->addAction(tr("&Export…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, [this] { exportModel(); });
    m_startAction->setObjectName(QStringLiteral("actionStart"));
    m_pauseAction->setObjectName(QStringLiteral("actionPause"));
    m_resumeAction->setObjectName(QStringLiteral("actionResume"));
    m_cancelAction->setObjectName(QStringLiteral("actionCancel"));
    m_exportAction->setObjectName(QStringLiteral("actionExport"));
    connect(m_start, &QPushButton::clicked, m_startAction, &QAction::trigger);
    connect(m_pause, &QPushButton::clicked, m_pauseAction, &QAction::trigger);
    connect(m_resume, &QPushButton::clicked, m_resumeAction, &QAction::trigger);
    connect(m_cancel, &QPushButton::clicked, m_cancelAction, &QAction::trigger);
    connect(m_export, &QPushButton::clicked, m_exportAction, &QAction::trigger);
    m_pause->setToolTip(shortcutHint(tr("Pause between evaluation batches"), m_pauseAction));
    m_resume->setToolTip(
        shortcutHint(tr("Continue a paused merge, or the output folder's report"), m_resumeAction));
    m_cancel->setToolTip(shortcutHint(tr("Stop; the report keeps every finished candidate"), m_cancelAction));
    m_export->setToolTip(
        shortcutHint(tr("Write the merged model, model card and mergekit recipe"), m_exportAction));
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("About OLM Studio"), this, [this] {
        QMessageBox box(this);
        box.setObjectName(QStringLiteral("aboutDialog"));
        box.setWindowTitle(tr("About OLM Studio"));
        box.setTextFormat(Qt::RichText);
        box.setText(QStringLiteral("<h3>OLM Studio %1</h3>").arg(QString::fromStdString(olm::version())));
        box.setInformativeText(QString::fromStdString(olm::build_info())
                                   .toHtmlEscaped()
                                   .replace(QLatin1Char('\n'), QStringLiteral("<br>")));
        box.setMinimumWidth(420);
        box.exec();
    });
}

void MainWindow::updateControls() {
    const bool running = m_controller->running();
    const bool paused = m_controller->paused();
    const bool ready = m_pool->model()->rowCount() > 0 && m_datasets->model()->rowCount() > 0;
    const bool checking = m_pool->model()->checking();
    const QString why = m_pool->model()->rowCount() == 0       ? tr("add models to the pool first")
                        : m_datasets->model()->rowCount() == 0 ? tr("add a dataset first")
                        : checking                             ? tr("checking the pool…")
                                                               : QString();
    m_startAction->setEnabled(!running && ready && !checking);
    m_pauseAction->setEnabled(running && !paused);
    m_resumeAction->setEnabled(running ? paused : ready && !checking);
    m_cancelAction->setEnabled(running);
    m_exportAction->setEnabled(!running && ready && !checking);
    m_start->setEnabled(m_startAction->isEnabled());
    m_pause->setEnabled(m_pauseAction->isEnabled());
    m_resume->setEnabled(m_resumeAction->isEnabled());
    m_cancel->setEnabled(m_cancelAction->isEnabled());
    m_export->setEnabled(m_exportAction->isEnabled());
    const QString startTip = running         ? tr("A merge is running")
                             : why.isEmpty() ? tr("Start a new merge")
                                             : tr("Cannot start: %1").arg(why);
    m_start->setToolTip(shortcutHint(startTip, m_startAction));
    if (!running && !why.isEmpty())
        m_stageLabel->setText(tr("Ready — %1").arg(why));
    else if (!running && m_stageLabel->text().startsWith(tr("Ready — ")))
        m_stageLabel->setText(tr("Ready"));
    m_pool->setEditable(!running);
    m_datasets->setEditable(!running);
    m_options->setEditable(!running);
}

void MainWindow::updateTitle() {
    const QString name = m_projectPath.isEmpty() ? tr("untitled") : QFileInfo(m_projectPath).fileName();
    setWindowTitle(QStringLiteral("OLM Studio %1 — %2[*]").arg(QString::fromStdString(olm::version()), name));
}

QString MainWindow::savedYaml() const {
    try {
        const QString dir =
            m_projectPath.isEmpty() ? QDir::currentPath() : QFileInfo(m_projectPath).absolutePath();
        return QString::fromStdString(olm::merge_config_to_yaml(currentConfig(), dir.toStdString()));
    } catch (const std::exception&) {
        return {};
    }
}

void MainWindow::configEdited() {
    setWindowModified(savedYaml() != m_savedYaml);
    checkStale();
    updateControls();
    // A banner about what blocked the last start follows the edits.
    if (!m_banner->isHidden() && m_banner->kind() == Banner::Kind::error &&
        m_banner->objectName() == QLatin1String("banner")) {
        const QStringList problems = preflightProblems();
        if (problems.isEmpty()) m_banner->clear();
    }
}

void MainWindow::appendLog(const QString& line) {
    m_log->appendPlainText(
        QStringLiteral("%1  %2").arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss")), line));
}

void MainWindow::addProblem(const QString& text, const QString& where, int row) {
    for (int i = 0; i < m_problems->count(); ++i)
        if (m_problems->item(i)->text() == text) return;
    auto* item = new QListWidgetItem(text);
    item->setData(Qt::UserRole, where);
    item->setData(Qt::UserRole + 1, row);
    item->setToolTip(text);
    m_problems->addItem(item);
    m_bottomTabs->setTabText(1, tr("Problems (%1)").arg(m_problems->count()));
}

void MainWindow::showPoolProblems() {
    for (int i = m_problems->count() - 1; i >= 0; --i)
        if (m_problems->item(i)->data(Qt::UserRole).toString() == QLatin1String("pool"))
            delete m_problems->item(i);
    const auto& entries = m_pool->model()->entries();
    for (int i = 0; i < entries.size(); ++i) {
        if (!entries[i].compatible)
            addProblem(tr("pool: %1: %2").arg(entries[i].name, entries[i].verdict), QStringLiteral("pool"),
                       i);
        for (const auto& w : entries[i].warnings)
            addProblem(tr("pool: %1: %2").arg(entries[i].name, w), QStringLiteral("pool"), i);
    }
    m_bottomTabs->setTabText(
        1, m_problems->count() ? tr("Problems (%1)").arg(m_problems->count()) : tr("Problems"));
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

QStringList MainWindow::poolFolders() const {
    QStringList out;
    for (const auto& e : m_pool->model()->entries()) out << e.path;
    return out;
}

bool MainWindow::openProject(const QString& path) {
    if (m_opening) return false;  // the pool check's wait runs the event loop
    const QScopedValueRollback<bool> opening(m_opening, true);
    try {
        olm::MergeConfig c = olm::load_merge_config(path.toStdString());
        m_project = c;
        m_projectPath = QFileInfo(path).absoluteFilePath();
        m_banner->clear();
        m_staleBanner->clear();
        m_problems->clear();
        m_bottomTabs->setTabText(1, tr("Problems"));
        m_pool->loadFrom(c);
        // The heatmap's layout needs the base's layer count: wait for the
        // check (the window keeps repainting meanwhile; edits stay asynchronous).
        m_pool->model()->waitForCheck();
        m_datasets->loadFrom(c);
        m_options->loadFrom(c);
        m_pool->setStartFolder(QFileInfo(m_projectPath).absolutePath());
        {
            QStringList scripts;
            for (const auto& f : c.forbidden_scripts) scripts << QString::fromStdString(f);
            m_previews->setDetectors(previewDetectors(scripts));
        }
        appendLog(tr("opened project %1 (%2 models, %3 datasets)")
                      .arg(m_projectPath)
                      .arg(c.models.size())
                      .arg(c.datasets.size()));
        for (const auto& w : c.warnings) addProblem(tr("project: %1").arg(QString::fromStdString(w)));
        showPoolProblems();
        const auto& ds = m_datasets->model()->entries();
        for (int i = 0; i < ds.size(); ++i)
            if (!ds[i].error.isEmpty())
                addProblem(tr("dataset: %1").arg(ds[i].error), QStringLiteral("dataset"), i);
        resetViews(currentConfig());
        m_savedYaml = savedYaml();
        setWindowModified(false);
        updateTitle();
        const QString report = QString::fromStdString(c.report_path().string());
        if (QFileInfo::exists(report)) loadReport(report);
        rememberRecent(m_projectPath);
        showWelcome(false);
        updateControls();
        return true;
    } catch (const std::exception& ex) {
        const QString msg = plainMessage(QString::fromUtf8(ex.what()));
        appendLog(tr("cannot open project %1: %2").arg(path, msg));
        showWelcome(false);
        m_banner->clear();
        m_banner->showMessage(Banner::Kind::error,
                              tr("The project %1 did not open").arg(QFileInfo(path).fileName()), {msg});
        return false;
    }
}

bool MainWindow::saveProject(const QString& path) {
    try {
        olm::MergeConfig c = currentConfig();
        c.config_path = path.toStdString();
        olm::save_merge_config(c, path.toStdString());
        m_project = olm::load_merge_config(path.toStdString());
        m_projectPath = QFileInfo(path).absoluteFilePath();
        m_savedYaml = savedYaml();
        setWindowModified(false);
        updateTitle();
        rememberRecent(m_projectPath);
        appendLog(tr("saved project %1").arg(m_projectPath));
        return true;
    } catch (const std::exception& ex) {
        const QString msg = plainMessage(QString::fromUtf8(ex.what()));
        appendLog(tr("cannot save project %1: %2").arg(path, msg));
        m_banner->clear();
        m_banner->showMessage(Banner::Kind::error, tr("The project was not saved"), {msg});
        return false;
    }
}

void MainWindow::openProjectDialog() {
    const QString f =
        QFileDialog::getOpenFileName(this, tr("Open merge config"), QFileInfo(m_projectPath).absolutePath(),
                                     tr("Merge configs (*.yaml *.yml)"));
    if (!f.isEmpty()) openProject(f);
}

bool MainWindow::saveProjectDialog() {
    if (m_projectPath.isEmpty()) return saveProjectAsDialog();
    return saveProject(m_projectPath);
}

bool MainWindow::saveProjectAsDialog() {
    const QString f = QFileDialog::getSaveFileName(
        this, tr("Save merge config"),
        m_projectPath.isEmpty() ? QStringLiteral("olm_config.yaml") : m_projectPath,
        tr("Merge configs (*.yaml *.yml)"));
    return !f.isEmpty() && saveProject(f);
}

void MainWindow::newProjectWizard() {
    NewProjectWizard wizard(
        m_projectPath.isEmpty() ? QDir::currentPath() : QFileInfo(m_projectPath).absolutePath(), this);
    if (wizard.exec() == QDialog::Accepted) openProject(wizard.configPath()->text());
}

void MainWindow::rememberRecent(const QString& path) {
    QStringList recent = recentProjects();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > 8) recent.removeLast();
    QSettings s = settings();
    s.setValue(QStringLiteral("recentProjects"), recent);
}

QStringList MainWindow::recentProjects() const {
    QStringList out;
    const QSettings s = settings();
    for (const auto& p : s.value(QStringLiteral("recentProjects")).toStringList())
        if (QFileInfo::exists(p)) out << p;
    return out;
}

void MainWindow::restoreWindowState() {
    const QSettings s = settings();
    if (const QByteArray g = s.value(settingsGroup() + QStringLiteral("/geometry")).toByteArray();
        !g.isEmpty())
        restoreGeometry(g);
    if (const QByteArray st = s.value(settingsGroup() + QStringLiteral("/state")).toByteArray();
        !st.isEmpty())
        restoreState(st);
    for (auto* sp : m_splitters)
        if (const QByteArray b =
                s.value(settingsGroup() + QStringLiteral("/") + sp->objectName()).toByteArray();
            !b.isEmpty())
            sp->restoreState(b);
}

void MainWindow::saveWindowState() {
    QSettings s = settings();
    s.setValue(settingsGroup() + QStringLiteral("/geometry"), saveGeometry());
    s.setValue(settingsGroup() + QStringLiteral("/state"), saveState());
    for (auto* sp : m_splitters)
        s.setValue(settingsGroup() + QStringLiteral("/") + sp->objectName(), sp->saveState());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_controller->running()) {
        QMessageBox ask(QMessageBox::Warning, tr("A merge is running"),
                        tr("Quit and stop the merge? The report keeps every finished candidate; Resume "
                           "continues it later."),
                        QMessageBox::NoButton, this);
        ask.setObjectName(QStringLiteral("quitRunningDialog"));
        QPushButton* stop = ask.addButton(tr("Stop and quit"), QMessageBox::DestructiveRole);
        ask.addButton(tr("Keep running"), QMessageBox::RejectRole);
        ask.exec();
        if (ask.clickedButton() != stop) {
            event->ignore();
            return;
        }
    }
    if (isWindowModified()) {
        QMessageBox ask(QMessageBox::Question, tr("Unsaved changes"), tr("Save the changes to the project?"),
                        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
        ask.setObjectName(QStringLiteral("unsavedDialog"));
        const int choice = ask.exec();
        if (choice == QMessageBox::Cancel || (choice == QMessageBox::Save && !saveProjectDialog())) {
            event->ignore();
            return;
        }
    }
    saveWindowState();
    event->accept();
}

void MainWindow::resetViews(const olm::MergeConfig& config) {
    QStringList pool, datasets;
    for (const auto& n : config.model_names()) pool << QString::fromStdString(n);
    for (const auto& d : config.datasets) datasets << QString::fromStdString(d.name);
    const auto& entries = m_pool->model()->entries();
    const int base = m_pool->model()->baseRow();
    const int layers = base >= 0 && base < entries.size() ? entries[base].layers : 0;
    m_heatmap->reset(pool, layers, datasets);
    m_heatmap->setSelectionRule(QString::fromStdString(config.effective_selection()));
    m_chart->clear();
    m_chart->setModels(pool);
    m_previews->clear();
    m_summary->clear();
    m_heatmapPanel->setStale(false);
    m_stale = false;
    m_staleBanner->clear();
}

bool MainWindow::loadReport(const QString& path) {
    ReportContents report;
    QString error;
    if (!readMergeReport(path, report, &error)) {
        appendLog(error);
        addProblem(error);
        return false;
    }
    if (m_heatmap->columnCount() == 0 || m_heatmap->rowCount() == 0)
        m_heatmap->reset(report.pool, report.layers, report.datasets);
    if (m_chart->datasets().isEmpty()) m_chart->setModels(report.pool);
    for (const auto& r : report.references) m_chart->addReference(r);
    for (const auto& c : report.candidates) m_heatmap->addResult(c);
    for (const auto& d : report.decisions) {
        m_heatmap->setDecision(d);
        m_chart->addDecision(d);
    }
    m_summary->loadReport(path);
    appendLog(tr("report %1: %2 candidates, %3 positions decided%4")
                  .arg(path)
                  .arg(report.candidates.size())
                  .arg(report.decisions.size())
                  .arg(report.status.isEmpty() ? QString() : tr(", status %1").arg(report.status)));
    checkStale();
    return true;
}

void MainWindow::checkStale() {
    if (m_controller->running()) return;
    const olm::MergeConfig c = currentConfig();
    const QString report = QString::fromStdString(c.report_path().string());
    QStringList changes;
    bool readable = false;
    if (!c.output_dir.empty() && QFileInfo::exists(report) && m_heatmap->rowCount() > 0)
        changes = configChanges(report, c, &readable);
    const bool stale = readable && !changes.isEmpty();
    if (stale == m_stale && (!stale || changes == m_staleBanner->lines())) return;
    m_stale = stale;
    m_heatmapPanel->setStale(stale);
    m_staleBanner->clear();
    if (!stale) return;
    m_staleBanner->showMessage(
        Banner::Kind::warning,
        tr("The results shown are from a report made with a different config; they do not "
           "describe the project as it is now:"),
        changes);
    m_staleBanner->addAction(tr("Resume anyway"), QStringLiteral("staleResume"),
                             [this] { startMerge(true, true); });
    m_staleBanner->addAction(tr("Start over"), QStringLiteral("staleStartOver"), [this] {
        const QString report = QString::fromStdString(currentConfig().report_path().string());
        QString error;
        const QString moved = moveReportAside(report, &error);
        if (moved.isEmpty()) {
            showError(tr("Cannot start over"), error);
            return;
        }
        appendLog(tr("the old report was moved to %1").arg(moved));
        startMerge(false);
    });
}

QStringList MainWindow::preflightProblems() {
    const olm::MergeConfig c = currentConfig();
    QStringList problems;
    QList<int> poolRows, dataRows;
    if (c.models.empty()) problems << tr("The pool is empty: add model folders.");
    if (c.datasets.empty()) problems << tr("No datasets: add at least one.");
    if (c.output_dir.empty()) problems << tr("No output folder: choose one under Direction and options.");
    const bool checking = m_pool->model()->checking();
    if (checking) problems << tr("The pool check is still running.");
    const auto& entries = m_pool->model()->entries();
    for (int i = 0; i < entries.size() && !checking; ++i)
        if (!entries[i].compatible) {
            problems << tr("Pool model %1: %2").arg(entries[i].name, entries[i].verdict);
            poolRows << i;
        }
    const auto& ds = m_datasets->model()->entries();
    for (int i = 0; i < ds.size(); ++i)
        if (!ds[i].error.isEmpty()) {
            problems << tr("Dataset %1: %2").arg(ds[i].name, ds[i].error);
            dataRows << i;
        }
    if (!c.output_dir.empty())
        if (const QString p =
                folderInPoolProblem(QString::fromStdString(c.output_dir.string()), poolFolders());
            !p.isEmpty())
            problems << tr("Output folder: %1; choose a folder outside the pool.").arg(p);
    if (!c.output_dir.empty())
        if (const QString holder = outputFolderHolder(QString::fromStdString(c.output_dir.string()));
            !holder.isEmpty())
            problems << tr("Output folder %1 is in use by another merge (%2). Wait for it to finish, or "
                           "choose another output folder.")
                            .arg(QString::fromStdString(c.output_dir.string()), holder);
    // Highlight the rows the banner names.
    auto select = [](QTableView* view, const QList<int>& rows) {
        if (rows.isEmpty()) return;
        view->clearSelection();
        for (int r : rows)
            view->selectionModel()->select(view->model()->index(r, 0),
                                           QItemSelectionModel::Select | QItemSelectionModel::Rows);
        view->scrollTo(view->model()->index(rows.first(), 0));
    };
    select(m_pool->view(), poolRows);
    select(m_datasets->view(), dataRows);
    return problems;
}

bool MainWindow::launch(const MergeJob& job, const QString& what) {
    if (m_controller->running()) return false;
    MergeJob j = job;
    if (j.recordEvents.isEmpty())
        j.recordEvents = QString::fromLocal8Bit(qgetenv("OLM_STUDIO_RECORD_EVENTS"));
    int layers = m_heatmap->layers();
    m_tracker.reset(runPlanFor(j.config, layers, j.kind == MergeJob::Kind::exportRecorded || j.exportModel,
                               j.verifyExport));
    m_lastEventT = 0.0;
    m_sinceEvent.start();
    if (!m_controller->start(j)) return false;
    m_banner->clear();
    m_progress->setValue(0);
    m_downloading = false;
    m_progressTimer->start();
    appendLog(what);
    updateControls();
    refreshProgress();
    return true;
}

bool MainWindow::startMerge(bool resume, bool force) {
    if (m_controller->running()) return false;
    m_pool->model()->waitForCheck();  // headers only: a moment, unless the disk is slow
    const QStringList problems = preflightProblems();
    if (!problems.isEmpty()) {
        showWelcome(false);
        m_banner->clear();
        m_banner->showMessage(Banner::Kind::error,
                              problems.size() == 1
                                  ? tr("The merge cannot start:")
                                  : tr("The merge cannot start, for %1 reasons:").arg(problems.size()),
                              problems);
        appendLog(tr("cannot start: %1").arg(problems.join(QStringLiteral("; "))));
        return false;
    }
    const olm::MergeConfig c = currentConfig();
    const QString report = QString::fromStdString(c.report_path().string());
    const bool exists = QFileInfo::exists(report);
    if (!resume && exists) {
        // Never replace a report without asking.
        const QString status = reportStatus(report);
        QMessageBox ask(QMessageBox::Question, tr("The output folder holds a merge"),
                        tr("%1 already holds a %2 merge report.")
                            .arg(QString::fromStdString(c.output_dir.string()),
                                 status == QLatin1String("complete") ? tr("finished") : tr("unfinished")),
                        QMessageBox::NoButton, this);
        ask.setObjectName(QStringLiteral("startOverDialog"));
        ask.setInformativeText(
            tr("Resume continues it (everything recorded is kept). Start over keeps a copy of the "
               "old report beside it, named with today's date and time."));
        QPushButton* resumeButton = ask.addButton(tr("Resume"), QMessageBox::AcceptRole);
        QPushButton* over = ask.addButton(tr("Start over"), QMessageBox::DestructiveRole);
        ask.addButton(QMessageBox::Cancel);
        ask.setDefaultButton(resumeButton);
        ask.exec();
        if (ask.clickedButton() == resumeButton) return startMerge(true, force);
        if (ask.clickedButton() != over) return false;
        QString error;
        const QString moved = moveReportAside(report, &error);
        if (moved.isEmpty()) {
            showError(tr("Cannot start over"), error);
            return false;
        }
        appendLog(tr("the old report was moved to %1").arg(moved));
    }
    if (resume && exists && !force) {
        bool readable = false;
        const QStringList changes = configChanges(report, c, &readable);
        if (readable && !changes.isEmpty()) {
            QMessageBox ask(
                QMessageBox::Question, tr("The report was made with a different config"),
                tr("The report in %1 was made with a different config:\n• %2")
                    .arg(QString::fromStdString(c.output_dir.string()), changes.join(QStringLiteral("\n• "))),
                QMessageBox::NoButton, this);
            ask.setObjectName(QStringLiteral("resumeStaleDialog"));
            ask.setInformativeText(
                tr("Resume anyway reuses its results where they still fit; Start over keeps a copy "
                   "of the old report and runs the merge afresh."));
            QPushButton* anyway = ask.addButton(tr("Resume anyway"), QMessageBox::AcceptRole);
            QPushButton* over = ask.addButton(tr("Start over"), QMessageBox::DestructiveRole);
            ask.addButton(QMessageBox::Cancel);
            ask.exec();
            if (ask.clickedButton() == over) {
                QString error;
                if (moveReportAside(report, &error).isEmpty()) {
                    showError(tr("Cannot start over"), error);
                    return false;
                }
                return startMerge(false);
            }
            if (ask.clickedButton() != anyway) return false;
            force = true;
        }
    }
    resetViews(c);
    if (resume && QFileInfo::exists(report)) loadReport(report);
    m_stale = false;
    m_heatmapPanel->setStale(false);
    m_staleBanner->clear();
    MergeJob job;
    job.config = c;
    job.resume = resume;
    job.force = force;
    job.exportModel = false;  // Export writes the model once the heatmap has been reviewed
    m_exporting = false;
    return launch(job, resume
                           ? tr("resuming merge from %1").arg(report)
                           : tr("starting merge into %1").arg(QString::fromStdString(c.output_dir.string())));
}

bool MainWindow::exportModel() {
    if (m_controller->running()) return false;
    const olm::MergeConfig c = currentConfig();
    const QString report = QString::fromStdString(c.report_path().string());
    if (!QFileInfo::exists(report)) {
        m_banner->clear();
        m_banner->showMessage(Banner::Kind::info, tr("Nothing to export yet"),
                              {tr("%1 has no merge report: Start the merge first.")
                                   .arg(QString::fromStdString(c.output_dir.string()))});
        return false;
    }
    ExportChoice choice = ExportChoice::finishFirst;
    QString what = tr("The finished merge is exported.");
    if (reportStatus(report) != QLatin1String("complete")) {
        QMessageBox ask(
            QMessageBox::Question, tr("The merge has not finished"),
            tr("The search in %1 has not finished.").arg(QString::fromStdString(c.output_dir.string())),
            QMessageBox::NoButton, this);
        ask.setObjectName(QStringLiteral("exportUnfinishedDialog"));
        ask.setInformativeText(
            tr("Finish the merge first (it continues where it stopped, then exports), or export "
               "the best recipe found so far: the positions decided up to now, the rest as the base."));
        QPushButton* finish = ask.addButton(tr("Finish, then export"), QMessageBox::AcceptRole);
        QPushButton* best = ask.addButton(tr("Export the best so far"), QMessageBox::AcceptRole);
        ask.addButton(QMessageBox::Cancel);
        ask.exec();
        if (ask.clickedButton() == finish) {
            choice = ExportChoice::finishFirst;
            what = tr("The merge is finished first (it continues where it stopped), then exported.");
        } else if (ask.clickedButton() == best) {
            choice = ExportChoice::bestSoFar;
            what = tr("The best recipe found so far is exported (the search has not finished).");
        } else {
            return false;
        }
    }
    ExportSettings defaults;
    defaults.folder =
        m_lastExportFolder.isEmpty()
            ? QDir(QString::fromStdString(c.output_dir.string())).filePath(QStringLiteral("merged"))
            : m_lastExportFolder;
    ExportDialog dialog(defaults, poolFolders(), what, this);
    if (dialog.exec() != QDialog::Accepted) return false;
    return exportModel(dialog.settings(), choice);
}

bool MainWindow::exportModel(const ExportSettings& settings, ExportChoice choice) {
    if (m_controller->running()) return false;
    const olm::MergeConfig c = currentConfig();
    const QString report = QString::fromStdString(c.report_path().string());
    if (!QFileInfo::exists(report)) {
        appendLog(tr("nothing to export yet: %1 does not exist; run the merge first").arg(report));
        return false;
    }
    if (const QString p = folderInPoolProblem(settings.folder, poolFolders()); !p.isEmpty()) {
        m_banner->clear();
        m_banner->showMessage(Banner::Kind::error, tr("Not exported"),
                              {tr("%1; the export never writes into the pool.").arg(p)});
        return false;
    }
    m_lastExportFolder = settings.folder;
    const bool complete = reportStatus(report) == QLatin1String("complete");
    if (!complete && choice == ExportChoice::finishFirst) {
        // The rest of the search first; the export follows when it finishes.
        if (!startMerge(true, m_stale)) return false;
        m_pendingExport = settings;
        appendLog(tr("the merge continues; the export to %1 follows when it finishes").arg(settings.folder));
        return true;
    }
    return launchExport(settings);
}

bool MainWindow::launchExport(const ExportSettings& settings) {
    MergeJob job;
    job.kind = MergeJob::Kind::exportRecorded;
    job.config = currentConfig();
    job.exportFolder = settings.folder;
    job.exportDtype = settings.dtype;
    job.shardBytes = settings.shardBytes;
    job.verifyExport = true;
    m_exporting = true;
    return launch(job, tr("exporting to %1").arg(settings.folder));
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
    m_pendingExport.reset();
    m_controller->cancel();
}

void MainWindow::onRunEvent(const RunEvent& e) {
    m_tracker.add(e);
    m_lastEventT = e.t;
    m_sinceEvent.restart();
    if (e.type == RunEvent::Type::stage || e.type == RunEvent::Type::decision) refreshProgress();
}

void MainWindow::showDownload(const RunProgress& p) {
    m_downloading = p.total > 0 && p.done < p.total;
    const double f = p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0.0;
    m_progress->setValue(static_cast<int>(std::lround(1000.0 * f)));
    m_progress->setFormat(tr("Downloading — %1 % (%2 of %3)")
                              .arg(static_cast<int>(std::floor(100.0 * f)))
                              .arg(formatBytes(p.done), formatBytes(p.total)));
    m_progress->setToolTip(tr("Fetching pool models from the Hugging Face Hub into its cache"));
    m_stageLabel->setText(tr("Downloading models"));
    m_etaLabel->setText(p.etaSeconds > 0 ? tr("about %1 left").arg(formatDuration(p.etaSeconds))
                                         : (m_downloading ? tr("estimating time…") : QString()));
}

void MainWindow::refreshProgress() {
    if (!m_controller->running() && !m_progressTimer->isActive()) return;
    if (m_downloading) return;  // showDownload owns the bar until the bytes are in
    const bool paused = m_controller->paused();
    const double now = m_lastEventT + (paused ? 0.0 : m_sinceEvent.elapsed() / 1000.0);
    const double f = m_tracker.fraction(now);
    m_progress->setValue(static_cast<int>(std::lround(1000.0 * f)));
    const QString stage = m_tracker.stageTitle();
    QString text = QStringLiteral("%1 — %2 %").arg(stage).arg(static_cast<int>(std::floor(100.0 * f)));
    if (paused) text = tr("Paused — %1").arg(text);
    m_progress->setFormat(text);
    m_progress->setStyleSheet(paused ? QStringLiteral("QProgressBar::chunk { background: #d9a400; }")
                                     : QString());
    m_pausedLabel->setText(paused ? tr("Paused") : QString());
    const auto eta = m_tracker.etaSeconds(now);
    if (eta && *eta > 0) {
        // Rounded so the label does not flicker between neighbouring seconds.
        const double shown = *eta > 120 ? std::round(*eta / 30.0) * 30.0 : std::round(*eta / 5.0) * 5.0;
        m_etaLabel->setText(paused ? tr("paused, %1 left").arg(formatDuration(shown))
                                   : tr("about %1 left").arg(formatDuration(shown)));
    } else {
        m_etaLabel->setText(eta ? QString() : tr("estimating time…"));
    }
    m_progress->setToolTip(tr("%1; %2 of %3 positions decided; %4 of work so far")
                               .arg(stage)
                               .arg(m_tracker.positionsDone())
                               .arg(m_tracker.positionsPlanned())
                               .arg(formatDuration(m_tracker.workSeconds(now))));
    if (m_progress->format() != text) m_progress->update();
    if (!m_controller->running()) return;
    if (m_stageLabel->text().isEmpty() || !m_stageLabel->text().startsWith(stage))
        m_stageLabel->setText(stage);
}

void MainWindow::showError(const QString& title, const QString& message) {
    auto* dialog = new QDialog(this);
    dialog->setObjectName(QStringLiteral("errorDialog"));
    dialog->setWindowTitle(title);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    auto* layout = new QVBoxLayout(dialog);
    auto* head = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()));
    layout->addWidget(head);
    auto* text = new QPlainTextEdit(message);
    text->setObjectName(QStringLiteral("errorDetails"));
    text->setReadOnly(true);
    text->setMinimumSize(520, 160);
    layout->addWidget(text, 1);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    QPushButton* copy = buttons->addButton(tr("Copy details"), QDialogButtonBox::ActionRole);
    copy->setObjectName(QStringLiteral("copyDetails"));
    connect(copy, &QPushButton::clicked, dialog,
            [message] { QGuiApplication::clipboard()->setText(message); });
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    layout->addWidget(buttons);
    dialog->open();
}

void MainWindow::showExportDone(const QString& folder) {
    auto* dialog = new QDialog(this);
    dialog->setObjectName(QStringLiteral("exportDoneDialog"));
    dialog->setWindowTitle(tr("Export finished"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    auto* layout = new QVBoxLayout(dialog);
    auto* where = new QLabel(tr("The merged model is in <b>%1</b>").arg(folder.toHtmlEscaped()));
    where->setObjectName(QStringLiteral("exportDonePath"));
    where->setTextInteractionFlags(Qt::TextSelectableByMouse);
    where->setWordWrap(true);
    layout->addWidget(where);
    auto* card = new QTextBrowser;
    card->setObjectName(QStringLiteral("modelCard"));
    QFile readme(QDir(folder).filePath(QStringLiteral("README.md")));
    if (readme.open(QIODevice::ReadOnly)) card->setMarkdown(QString::fromUtf8(readme.readAll()));
    card->setMinimumSize(640, 360);
    layout->addWidget(card, 1);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    QPushButton* open = buttons->addButton(tr("Open folder"), QDialogButtonBox::ActionRole);
    open->setObjectName(QStringLiteral("openExportFolder"));
    connect(open, &QPushButton::clicked, dialog,
            [folder] { QDesktopServices::openUrl(QUrl::fromLocalFile(folder)); });
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    layout->addWidget(buttons);
    dialog->open();
}

void MainWindow::onFinished(MergeWorker::Outcome outcome, const QString& rawMessage) {
    const QString message = plainMessage(rawMessage);
    m_progressTimer->stop();
    m_downloading = false;
    m_pool->refreshDownloads();  // what the run fetched is on disk now
    const bool wasExport = m_exporting;
    m_exporting = false;
    if (outcome == MergeWorker::Outcome::finished) {
        m_progress->setValue(1000);
        m_progress->setFormat(wasExport ? tr("Exported") : tr("Complete"));
    } else {
        m_progress->setFormat(outcome == MergeWorker::Outcome::cancelled
                                  ? tr("Cancelled — %1 %").arg(m_progress->value() / 10)
                                  : tr("Failed"));
    }
    m_progress->setStyleSheet(QString());
    m_pausedLabel->clear();
    m_stageLabel->setText(outcome == MergeWorker::Outcome::finished
                              ? (wasExport ? tr("Exported") : tr("Finished"))
                          : outcome == MergeWorker::Outcome::cancelled ? tr("Cancelled")
                                                                       : tr("Failed"));
    m_etaLabel->clear();
    appendLog(outcome == MergeWorker::Outcome::failed ? tr("merge failed: %1").arg(message) : message);
    // The reference points (every pool model, the pool soup) are scored after
    // the search and recorded in the report only: add them to the chart.
    const QString reportPath = QString::fromStdString(currentConfig().report_path().string());
    ReportContents report;
    if (readMergeReport(reportPath, report))
        for (const auto& r : report.references) m_chart->addReference(r);
    m_summary->loadReport(reportPath);
    updateControls();
    if (outcome == MergeWorker::Outcome::failed) {
        m_pendingExport.reset();
        addProblem(
            tr("%1 failed: %2")
                .arg(wasExport ? tr("export") : tr("merge"), message.section(QLatin1Char('\n'), 0, 0)));
        showError(wasExport ? tr("The export failed") : tr("The merge failed"), message);
        return;
    }
    if (outcome != MergeWorker::Outcome::finished) {
        m_pendingExport.reset();
        return;
    }
    if (wasExport) {
        emit exportWritten(m_lastExportFolder);
        if (!qEnvironmentVariableIsSet("OLM_STUDIO_NO_DIALOGS")) showExportDone(m_lastExportFolder);
        return;
    }
    if (!m_summary->isEmpty()) m_tabs->setCurrentWidget(m_summary);
    if (m_pendingExport) {
        const ExportSettings s = *m_pendingExport;
        m_pendingExport.reset();
        QTimer::singleShot(0, this, [this, s] { launchExport(s); });
    }
}

}  // namespace olm::ui
