// The workflow around a run, on a real finished merge of the planted tiny
// pool (tests/merge/tiny_pool.h): no finished report is replaced without
// asking (start over moves it aside, with its content intact); an unfinished
// report is exported only after asking (best-so-far export writes a model and
// says so); a config edit marks the heatmap stale and offers resume-anyway or
// start over; pre-flight problems and run failures reach a banner and a
// dialog (with copy details) that never name a command-line flag; the welcome
// page, recent projects and the new-project wizard; unsaved-edit marker,
// Save, quit prompt, shortcuts, Delete, multi-folder drops with a highlight;
// summary, stable chart colours and side-by-side previews. Dialogs are
// answered by QTimer-posted clicks.
#include "core/merge/config.h"
#include "core/util/dir_lock.h"
#include "merge/tiny_pool.h"
#include "support/tiny_model.h"
#include "ui/banner.h"
#include "ui/dataset_panel.h"
#include "ui/export_dialog.h"
#include "ui/heatmap_model.h"
#include "ui/heatmap_view.h"
#include "ui/main_window.h"
#include "ui/options_panel.h"
#include "ui/pool_panel.h"
#include "ui/preview_panel.h"
#include "ui/project_checks.h"
#include "ui/score_chart.h"
#include "ui/summary_panel.h"
#include "ui/welcome_page.h"

#include <nlohmann/json.hpp>

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QTimer>
#include <QUrl>
#include <QtTest>

#include <fstream>

namespace fs = std::filesystem;
using olm::ui::MainWindow;
using olm::ui::MergeController;
using olm::ui::MergeWorker;

namespace {

constexpr int kLayers = 3;

nlohmann::json readJson(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

void writeJson(const fs::path& p, const nlohmann::json& j) { std::ofstream(p) << j.dump(2); }

// Answers the next modal dialog named `name` by clicking the button labelled
// `button` (or by running `act` on it); records whether it came.
struct Answer {
    bool seen = false;
    bool stop = false;  // set to stop waiting for the dialog
};
std::shared_ptr<Answer> answerNext(const QString& name, const QString& button,
                                   std::function<void(QWidget*)> act = {}) {
    auto answer = std::make_shared<Answer>();
    auto* timer = new QTimer;
    timer->setInterval(20);
    auto started = std::make_shared<QElapsedTimer>();
    started->start();
    QObject::connect(timer, &QTimer::timeout, [=] {
        if (answer->stop) {
            timer->stop();
            timer->deleteLater();
            return;
        }
        QWidget* w = QApplication::activeModalWidget();
        if (w && w->objectName() == name) {
            answer->seen = true;
            timer->stop();
            timer->deleteLater();
            if (act) {
                act(w);
                return;
            }
            for (auto* b : w->findChildren<QAbstractButton*>())
                if (b->text().remove(QLatin1Char('&')) == button) {
                    b->click();
                    return;
                }
            qWarning("no button %s in %s", qPrintable(button), qPrintable(name));
        } else if (started->elapsed() > 10000) {
            timer->stop();
            timer->deleteLater();
        }
    });
    timer->start();
    return answer;
}

bool waitFinished(QSignalSpy& spy, int ms) {
    QElapsedTimer t;
    t.start();
    while (spy.isEmpty() && t.elapsed() < ms) QTest::qWait(20);
    return !spy.isEmpty();
}

bool mentionsAFlag(const QString& s) {
    return s.contains(QRegularExpression(QStringLiteral("(^|\\s)--[a-z]")));
}

}  // namespace

class TestWorkflow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope,
                           m_tmp.path() + QStringLiteral("/settings"));
        m_pool = olm::testing::make_planted_pool(fs::path(m_tmp.path().toStdString()) / "planted", kLayers);
        m_config = m_pool.dir / "project.yaml";
        std::ofstream(m_config) << olm::testing::pool_config(m_pool, "base_model_name: base\n");
        m_report = m_pool.dir / "out" / "merge_report.json";
        // One finished merge the tests below work on.
        MainWindow w;
        QVERIFY(w.openProject(path(m_config)));
        QSignalSpy finished(w.controller(), &MergeController::finished);
        QVERIFY(w.startMerge(false));
        QVERIFY(waitFinished(finished, 120000));
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::finished);
        QVERIFY(fs::exists(m_report));
        m_finished = readJson(m_report);
        QCOMPARE(m_finished["status"].get<std::string>(), std::string("complete"));
        // The summary of the run.
        QVERIFY(!w.summaryPanel()->isEmpty());
        const QString html = w.summaryPanel()->browser()->toPlainText();
        QVERIFY2(html.contains(QStringLiteral("Merge complete")), qPrintable(html));
        QVERIFY(html.contains(QStringLiteral("Recipe")));
        QVERIFY(html.contains(QStringLiteral("layer 2")));
        // The progress bar ends full.
        QCOMPARE(w.progressBar()->value(), 1000);
    }

    void init() { writeJson(m_report, m_finished); }  // every test starts from the finished report

    void startOverAsksAndKeepsTheOldReport() {
        MainWindow w;
        QVERIFY(w.openProject(path(m_config)));
        const QString chosen =
            w.heatmapModel()->chosen(w.heatmapModel()->rowOf(olm::ui::PositionKind::layer, 1));
        QVERIFY(!chosen.isEmpty());
        // Cancel: nothing happens, the heatmap keeps the report.
        auto a = answerNext(QStringLiteral("startOverDialog"), QStringLiteral("Cancel"));
        QVERIFY(!w.startMerge(false));
        QVERIFY(a->seen);
        QVERIFY(!w.controller()->running());
        QCOMPARE(readJson(m_report), m_finished);
        QCOMPARE(w.heatmapModel()->chosen(w.heatmapModel()->rowOf(olm::ui::PositionKind::layer, 1)), chosen);
        // Start over: the old report is moved aside whole, a new run starts.
        a = answerNext(QStringLiteral("startOverDialog"), QStringLiteral("Start over"));
        QSignalSpy finished(w.controller(), &MergeController::finished);
        QVERIFY(w.startMerge(false));
        QVERIFY(a->seen);
        w.cancelMerge();
        QVERIFY(waitFinished(finished, 10000));
        QStringList aside;
        for (const auto& e : fs::directory_iterator(m_pool.dir / "out"))
            if (e.path().filename().string().rfind("merge_report-", 0) == 0)
                aside << QString::fromStdString(e.path().string());
        QCOMPARE(aside.size(), 1);
        QVERIFY(QRegularExpression(QStringLiteral("merge_report-\\d{8}-\\d{6}\\.json$"))
                    .match(aside.first())
                    .hasMatch());
        QCOMPARE(readJson(aside.first().toStdString()), m_finished);
        fs::remove(aside.first().toStdString());
    }

    // Another merge holds the output folder (here a lock of this process, which
    // flock refuses like another process's): Start is refused before any
    // dialog, so Start over cannot move the running merge's report aside.
    void aBusyOutputFolderIsRefusedBeforeAnyDialog() {
        MainWindow w;
        QVERIFY(w.openProject(path(m_config)));
        {
            const olm::DirLock other = olm::DirLock::acquire(m_pool.dir / "out" / olm::kDirLockName, "test");
            auto a = answerNext(QStringLiteral("startOverDialog"), QStringLiteral("Cancel"));
            QVERIFY(!w.startMerge(false));
            QVERIFY(!w.controller()->running());
            QVERIFY(!a->seen);
            a->stop = true;
            const QString lines = w.banner()->lines().join(QLatin1Char('\n'));
            QVERIFY2(lines.contains(QStringLiteral("is in use by another merge (pid %1")
                                        .arg(QCoreApplication::applicationPid())),
                     qPrintable(lines));
            QVERIFY2(!mentionsAFlag(lines), qPrintable(lines));
            QCOMPARE(readJson(m_report), m_finished);
            for (const auto& e : fs::directory_iterator(m_pool.dir / "out"))
                QVERIFY2(e.path().filename().string().rfind("merge_report-", 0) != 0, e.path().c_str());
        }
        // Once it is free, Start asks about the report as usual.
        auto a = answerNext(QStringLiteral("startOverDialog"), QStringLiteral("Cancel"));
        QVERIFY(!w.startMerge(false));
        QVERIFY(a->seen);
        QCOMPARE(readJson(m_report), m_finished);
    }

    void configEditMarksTheHeatmapStale() {
        MainWindow w;
        QVERIFY(w.openProject(path(m_config)));
        QVERIFY(!w.reportStale());
        QVERIFY(w.staleBanner()->isHidden());
        QSpinBox* samples = w.datasetPanel()->samples();
        const int before = samples->value();
        samples->setValue(before + 3);
        QVERIFY(w.reportStale());
        QVERIFY(w.heatmapPanel()->stale());
        QVERIFY(!w.staleBanner()->isHidden());
        QVERIFY2(w.staleBanner()
                     ->lines()
                     .join(QLatin1Char('\n'))
                     .contains(QStringLiteral("samples: %1 → %2").arg(before).arg(before + 3)),
                 qPrintable(w.staleBanner()->text()));
        QVERIFY(w.staleBanner()->findChild<QPushButton*>(QStringLiteral("staleResume")));
        QVERIFY(w.staleBanner()->findChild<QPushButton*>(QStringLiteral("staleStartOver")));
        QVERIFY(!mentionsAFlag(w.staleBanner()->text()));
        // Reordering the pool is a change too.
        w.modelPool()->selectRow(1);
        w.poolPanel()->moveSelected(+1);
        QVERIFY(w.staleBanner()->text().contains(QStringLiteral("pool order")));
        // Resume on a stale report asks first (cancelled here: nothing runs).
        auto a = answerNext(QStringLiteral("resumeStaleDialog"), QStringLiteral("Cancel"));
        QVERIFY(!w.startMerge(true));
        QVERIFY(a->seen);
        QVERIFY(!w.controller()->running());
        // Undoing the edits makes the report current again.
        w.modelPool()->selectRow(2);
        w.poolPanel()->moveSelected(-1);
        samples->setValue(before);
        QVERIFY(!w.reportStale());
        QVERIFY(w.staleBanner()->isHidden());
        QCOMPARE(readJson(m_report), m_finished);
    }

    void exportOfAnUnfinishedReportAsksAndSaysWhich() {
        nlohmann::json unfinished = m_finished;
        unfinished["status"] = "running";
        writeJson(m_report, unfinished);
        MainWindow w;
        QVERIFY(w.openProject(path(m_config)));
        const QString folder = m_tmp.path() + QStringLiteral("/export_best");
        auto asked =
            answerNext(QStringLiteral("exportUnfinishedDialog"), QStringLiteral("Export the best so far"));
        QString what;
        auto dialog = answerNext(QStringLiteral("exportDialog"), {}, [&](QWidget* d) {
            auto* e = static_cast<olm::ui::ExportDialog*>(d);
            what = e->findChild<QLabel*>(QStringLiteral("exportWhat"))->text();
            e->folderEdit()->setText(folder);
            e->dtypeBox()->setCurrentIndex(e->dtypeBox()->findData(QStringLiteral("bfloat16")));
            e->accept();
        });
        QSignalSpy finished(w.controller(), &MergeController::finished);
        QSignalSpy written(&w, &MainWindow::exportWritten);
        QVERIFY(w.exportModel());
        QVERIFY(asked->seen);
        QVERIFY(dialog->seen);
        QVERIFY2(what.contains(QStringLiteral("best recipe found so far")), qPrintable(what));
        QVERIFY(waitFinished(finished, 120000));
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::finished);
        QCOMPARE(written.count(), 1);
        QCOMPARE(written.first().at(0).toString(), folder);
        const fs::path out = folder.toStdString();
        QVERIFY(fs::exists(out / "config.json"));
        QVERIFY(fs::exists(out / "README.md"));
        QCOMPARE(readJson(out / "config.json")["torch_dtype"].get<std::string>(), std::string("bfloat16"));
        const nlohmann::json report = readJson(m_report);
        QCOMPARE(report["export"]["recipe"].get<std::string>(),
                 std::string("best so far (unfinished search)"));
        QCOMPARE(report["status"].get<std::string>(),
                 std::string("running"));  // the search itself was not run
        // The done dialog names the folder and shows the model card.
        QTRY_VERIFY(w.findChild<QDialog*>(QStringLiteral("exportDoneDialog")) != nullptr);
        auto* done = w.findChild<QDialog*>(QStringLiteral("exportDoneDialog"));
        QVERIFY(done->findChild<QLabel*>(QStringLiteral("exportDonePath"))->text().contains(folder));
        QVERIFY(!done->findChild<QTextBrowser*>(QStringLiteral("modelCard"))->toPlainText().isEmpty());
        QVERIFY(done->findChild<QPushButton*>(QStringLiteral("openExportFolder")));
        done->close();
    }

    void exportDialogRefusesPoolFoldersAndAsksBeforeReplacing() {
        const QStringList pool{QString::fromStdString((m_pool.dir / "models" / "base").string()),
                               QString::fromStdString((m_pool.dir / "models" / "m0").string())};
        olm::ui::ExportSettings s;
        s.folder = pool[0];
        olm::ui::ExportDialog d(s, pool, {});
        QVERIFY(d.problem().contains(QStringLiteral("pool model folder")));
        QVERIFY(!d.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->isEnabled());
        d.folderEdit()->setText(pool[1] + QStringLiteral("/merged"));
        QVERIFY(d.problem().contains(QStringLiteral("inside")));
        d.folderEdit()->setText(
            QString::fromStdString((m_pool.dir / "models").string()));  // contains the pool
        QVERIFY(d.problem().contains(QStringLiteral("contains")));
        // A non-empty folder elsewhere: asked, and cancelling keeps the dialog open.
        const QString full = m_tmp.path() + QStringLiteral("/not_empty");
        QDir().mkpath(full);
        std::ofstream((full + QStringLiteral("/x.txt")).toStdString()) << "x";
        d.folderEdit()->setText(full);
        QVERIFY(d.problem().isEmpty());
        auto a = answerNext(QStringLiteral("exportReplaceDialog"), QStringLiteral("Cancel"));
        d.accept();
        QVERIFY(a->seen);
        QVERIFY(d.result() != QDialog::Accepted);
        a = answerNext(QStringLiteral("exportReplaceDialog"), QStringLiteral("Replace"));
        d.accept();
        QCOMPARE(d.result(), int(QDialog::Accepted));
        d.shardBox()->setValue(250);
        QCOMPARE(d.settings().shardBytes, qint64(250'000'000));
    }

    void preflightProblemsGoToTheBannerWithTheRowHighlighted() {
        MainWindow w;
        QVERIFY(w.openProject(path(m_config)));
        // A model with another layer count, and an output folder inside a pool model.
        const fs::path odd = m_pool.dir / "odd";
        if (!fs::exists(odd)) olm::testing::write_tiny_model(odd, {.layers = kLayers + 1});
        w.poolPanel()->model()->addFolders({QString::fromStdString(odd.string())});
        const int oddRow = w.poolPanel()->model()->rowCount() - 1;
        w.optionsPanel()->setOutputDir(
            QString::fromStdString((m_pool.dir / "models" / "m1" / "out").string()));
        QVERIFY(!w.startMerge(false));
        QVERIFY(!w.controller()->running());
        QVERIFY(!w.banner()->isHidden());
        const QStringList lines = w.banner()->lines();
        QCOMPARE(lines.size(), 2);
        QVERIFY2(lines.join(QLatin1Char('\n')).contains(QStringLiteral("inside the pool model folder m1")),
                 qPrintable(lines.join('\n')));
        QVERIFY(lines.join(QLatin1Char('\n')).contains(QStringLiteral("odd")));
        for (const auto& l : lines) QVERIFY2(!mentionsAFlag(l), qPrintable(l));
        const auto selected = w.modelPool()->selectionModel()->selectedRows();
        QCOMPARE(selected.size(), 1);
        QCOMPARE(selected.first().row(), oddRow);
        // Fixing both clears the banner.
        w.modelPool()->selectRow(oddRow);
        w.poolPanel()->removeSelected();
        w.optionsPanel()->setOutputDir(QString::fromStdString((m_pool.dir / "out").string()));
        QVERIFY(w.poolPanel()->model()->waitForCheck());
        QVERIFY(w.banner()->isHidden());
        // The problems list points at the row it names.
        w.addProblem(QStringLiteral("pool: m1: a warning"), QStringLiteral("pool"), 2);
        auto* item = w.problems()->item(w.problems()->count() - 1);
        emit w.problems()->itemActivated(item);
        QCOMPARE(w.modelPool()->selectionModel()->selectedRows().first().row(), 2);
    }

    void runFailuresShowTheWholeMessageWithCopyDetails() {
        // A dataset that breaks after the project opened: the run fails while loading.
        const fs::path root = m_pool.dir / "broken";
        fs::create_directories(root);
        fs::copy_file(m_pool.dir / "datasets" / m_pool.dataset, root / "data.json",
                      fs::copy_options::overwrite_existing);
        const fs::path cfg = root / "project.yaml";
        std::ofstream(cfg) << "models_dir: " << (m_pool.dir / "models").string()
                           << "\nmodels: [base, m0, m1, m2]\n"
                           << "dataset_dir: " << root.string() << "\ndataset:\n  data.json: {mode: bigram}\n"
                           << "output_dir: " << (root / "out").string() << "\n";
        MainWindow w;
        QVERIFY(w.openProject(path(cfg)));
        std::ofstream(root / "data.json") << "[{\"conversation\": [";
        QSignalSpy finished(w.controller(), &MergeController::finished);
        QVERIFY(w.startMerge(false));
        QVERIFY(waitFinished(finished, 60000));
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::failed);
        auto* dialog = w.findChild<QDialog*>(QStringLiteral("errorDialog"));
        QVERIFY(dialog);
        const QString details =
            dialog->findChild<QPlainTextEdit*>(QStringLiteral("errorDetails"))->toPlainText();
        QVERIFY2(details.contains(QStringLiteral("data.json")), qPrintable(details));
        QVERIFY(!mentionsAFlag(details));
        dialog->findChild<QPushButton*>(QStringLiteral("copyDetails"))->click();
        QCOMPARE(QGuiApplication::clipboard()->text(), details);
        QVERIFY(w.problems()->count() >= 1);
        dialog->close();
    }

    void coreMessagesLoseTheirFlags() {
        const QString core = QStringLiteral(
            "cannot resume: /x/merge_report.json was written with a different config (hash a, now b); use "
            "--force to "
            "resume anyway, or another output_dir to start over");
        const QString plain = olm::ui::plainMessage(core);
        QVERIFY2(!mentionsAFlag(plain), qPrintable(plain));
        QVERIFY(plain.contains(QStringLiteral("Resume anyway")));
        QVERIFY(!mentionsAFlag(olm::ui::plainMessage(QStringLiteral("run with --dry-run or --device cuda"))));
    }

    void welcomePageRecentProjectsAndTheWizard() {
        {
            MainWindow w;
            QVERIFY(w.welcomeShown());
            QVERIFY(w.welcomePage()->findChild<QPushButton*>(QStringLiteral("welcomeDemo")));
            QSignalSpy demo(&w, &MainWindow::openDemoRequested);
            w.welcomePage()->findChild<QPushButton*>(QStringLiteral("welcomeDemo"))->click();
            QCOMPARE(demo.count(), 1);
            QVERIFY(w.openProject(path(m_config)));
            QVERIFY(!w.welcomeShown());
        }
        MainWindow again;
        QVERIFY(again.welcomeShown());
        QListWidget* recent = again.welcomePage()->recentList();
        QVERIFY(recent->count() >= 1);
        QCOMPARE(recent->item(0)->data(Qt::UserRole).toString(),
                 QFileInfo(path(m_config)).absoluteFilePath());
        emit recent->itemActivated(recent->item(0));
        QVERIFY(!again.welcomeShown());
        QCOMPARE(again.projectPath(), QFileInfo(path(m_config)).absoluteFilePath());

        // The wizard writes a config core's loader reads, with the better preset.
        olm::ui::NewProjectWizard wizard(m_tmp.path());
        QStringList folders;
        for (const auto& m : {"base", "m0", "m1"})
            folders << QString::fromStdString((m_pool.dir / "models" / m).string());
        wizard.addModels(folders);
        wizard.addModels({QStringLiteral("org/name")});
        wizard.datasetMode()->setCurrentText(QStringLiteral("bigram"));
        wizard.addDatasets({QString::fromStdString((m_pool.dir / "datasets" / m_pool.dataset).string())});
        wizard.outputDir()->setText(m_tmp.path() + QStringLiteral("/wizard_out"));
        wizard.configPath()->setText(m_tmp.path() + QStringLiteral("/wizard/olm_config.yaml"));
        QString error;
        QVERIFY2(wizard.save(&error), qPrintable(error));
        const olm::MergeConfig c =
            olm::load_merge_config((m_tmp.path() + QStringLiteral("/wizard/olm_config.yaml")).toStdString());
        QCOMPARE(c.search, std::string("better"));
        QCOMPARE(c.models.size(), size_t(4));
        QCOMPARE(c.models[3], std::string("org/name"));
        QCOMPARE(c.datasets.size(), size_t(1));
        QCOMPARE(c.datasets[0].mode, std::string("bigram"));
        QCOMPARE(QString::fromStdString(c.output_dir.string()), m_tmp.path() + QStringLiteral("/wizard_out"));
    }

    void unsavedMarkerSaveQuitPromptShortcutsAndWidth() {
        const fs::path copy = m_pool.dir / "hygiene.yaml";
        fs::copy_file(m_config, copy, fs::copy_options::overwrite_existing);
        MainWindow w;
        w.show();
        QVERIFY(w.openProject(path(copy)));
        QVERIFY(w.windowTitle().contains(QStringLiteral("hygiene.yaml[*]")));
        QVERIFY(!w.isWindowModified());
        w.datasetPanel()->samples()->setValue(w.datasetPanel()->samples()->value() + 1);
        QVERIFY(w.isWindowModified());
        // Save writes the project's own file without asking for a name.
        QVERIFY(w.saveProjectDialog());
        QVERIFY(!w.isWindowModified());
        QCOMPARE(olm::load_merge_config(copy).samples, int64_t(w.datasetPanel()->samples()->value()));
        // Closing with unsaved edits asks; Cancel keeps the window.
        w.datasetPanel()->samples()->setValue(w.datasetPanel()->samples()->value() + 1);
        auto a = answerNext(QStringLiteral("unsavedDialog"), QStringLiteral("Cancel"));
        QVERIFY(!w.close());
        QVERIFY(a->seen);
        QVERIFY(w.isVisible());
        a = answerNext(QStringLiteral("unsavedDialog"), QStringLiteral("Discard"));
        QVERIFY(w.close());
        // Every run action has a shortcut, shown in its menu.
        for (const char* name :
             {"actionStart", "actionPause", "actionResume", "actionCancel", "actionExport"}) {
            auto* act = w.findChild<QAction*>(QLatin1String(name));
            QVERIFY2(act && !act->shortcut().isEmpty(), name);
        }
        // Fits a 1600-px screen at 150 % (1066 logical pixels) and 1280 px at 100 %.
        QVERIFY2(w.minimumSizeHint().width() <= 1066,
                 qPrintable(QString::number(w.minimumSizeHint().width())));
        QVERIFY(w.minimumWidth() <= 1066);
    }

    void deleteKeyAndMultiFolderDropWithHighlight() {
        MainWindow w;
        w.show();
        QVERIFY(w.openProject(path(m_config)));
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        olm::ui::PoolPanel* panel = w.poolPanel();
        const int before = panel->model()->rowCount();
        w.modelPool()->setFocus();
        w.modelPool()->selectRow(before - 1);
        QTest::keyClick(w.modelPool(), Qt::Key_Delete);
        QCOMPARE(panel->model()->rowCount(), before - 1);
        // Several folders in one drop; the panel lights up while dragging.
        const fs::path extra = m_pool.dir / "extra";
        for (const char* n : {"e1", "e2"})
            if (!fs::exists(extra / n)) olm::testing::write_tiny_model(extra / n, {.layers = kLayers});
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(QString::fromStdString((extra / "e1").string())),
                      QUrl::fromLocalFile(QString::fromStdString((extra / "e2").string())),
                      QUrl::fromLocalFile(QString::fromStdString((m_pool.dir / "models" / "m2").string()))});
        QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(panel, &enter);
        QVERIFY(panel->dropHighlighted());
        QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(panel, &drop);
        QVERIFY(!panel->dropHighlighted());
        QCOMPARE(panel->model()->rowCount(), before - 1 + 3);
        // The dataset table's Delete too.
        const int datasets = w.datasetPanel()->model()->rowCount();
        w.datasetPanel()->view()->setFocus();
        w.datasetPanel()->view()->selectRow(0);
        QTest::keyClick(w.datasetPanel()->view(), Qt::Key_Delete);
        QCOMPARE(w.datasetPanel()->model()->rowCount(), datasets - 1);
    }

    void chartColoursAreStablePerModel() {
        olm::ui::ScoreChart a, b;
        const QStringList pool{QStringLiteral("base"), QStringLiteral("m0"), QStringLiteral("m1")};
        a.setModels(pool);
        b.setModels(pool);
        olm::ui::ReferenceScores r0{QStringLiteral("m0"), false, {{QStringLiteral("d"), 1.0}}};
        olm::ui::ReferenceScores r1{QStringLiteral("m1"), false, {{QStringLiteral("d"), 2.0}}};
        a.addReference(r0);
        a.addReference(r1);
        b.addReference(r1);  // reopened: another arrival order
        b.addReference(r0);
        for (const auto& m : pool) QCOMPARE(a.colorOf(m), b.colorOf(m));
        QVERIFY(a.colorOf(QStringLiteral("m0")) != a.colorOf(QStringLiteral("m1")));
    }

    void previewsSideBySideWithFindingsMarked() {
        olm::ui::PreviewDetectors d;
        d.forbidden = {{0x4E00, 0x9FFF}};
        d.maxWordChars = 20;
        QStringList findings;
        const QString html = olm::ui::PreviewPanel::highlight(
            QStringLiteral("the cat saw the dog 中 supercalifragilisticexpialidocious"), d, &findings);
        QVERIFY(findings.contains(QStringLiteral("repeated: the")));
        QVERIFY(findings.contains(QStringLiteral("forbidden script: U+4E2D")));
        QVERIFY(findings.contains(QStringLiteral("over-long word: supercalifragilisticexpialidocious")));
        QVERIFY(!findings.join(QLatin1Char(' ')).contains(QStringLiteral("repeated: cat")));
        QVERIFY(html.contains(QStringLiteral("background:#e06666")));

        olm::ui::PreviewPanel p;
        p.setDetectors(d);
        auto sample = [](const QString& pos, const QString& cand, const QString& prompt,
                         const QString& text) {
            olm::ui::PreviewSample s;
            s.position = pos;
            s.candidate = cand;
            s.dataset = QStringLiteral("story.json");
            s.prompt = prompt;
            s.text = text;
            return s;
        };
        p.addSample(sample(QStringLiteral("layer 0"), QStringLiteral("base"), QStringLiteral("P1"),
                           QStringLiteral("a b")));
        p.addSample(sample(QStringLiteral("layer 1"), QStringLiteral("base"), QStringLiteral("P1"),
                           QStringLiteral("one two")));
        p.addSample(sample(QStringLiteral("layer 1"), QStringLiteral("story"), QStringLiteral("P1"),
                           QStringLiteral("two two")));
        p.addSample(sample(QStringLiteral("layer 1"), QStringLiteral("story"), QStringLiteral("P2"),
                           QStringLiteral("x")));
        QCOMPARE(p.position(), QStringLiteral("layer 1"));  // follows the current position
        QCOMPARE(p.promptSelector()->count(), 2);
        QCOMPARE(p.sideBySideCandidates(), (QStringList{QStringLiteral("base"), QStringLiteral("story")}));
        QVERIFY(p.sideBySideHtml(QStringLiteral("story")).contains(QStringLiteral("background:#fff2a8")));
        QVERIFY(p.findChild<QTextBrowser*>(QStringLiteral("sideBySide_story")));
    }

private:
    static QString path(const fs::path& p) { return QString::fromStdString(p.string()); }
    QTemporaryDir m_tmp;
    olm::testing::PlantedPool m_pool;
    fs::path m_config, m_report;
    nlohmann::json m_finished;
};

QTEST_MAIN(TestWorkflow)
#include "test_workflow.moc"
