// A real merge driven through the GUI: a planted tiny pool (exactly one model
// carries the true layer k, tests/merge/tiny_pool.h) opened as a project,
// started from the main window, run by the worker on its QThread. The
// heatmap must fill with exactly the scores merge_report.json records and
// frame the recorded choice at every layer (whether the search finds the
// planted layers is tests/merge's business); Pause holds the run, Resume
// continues it, Cancel stops it within a second, and Resume from the report
// finishes it with the same choices and scores as an uninterrupted run.
#include "core/util/dir_lock.h"
#include "merge/tiny_pool.h"
#include "tests/support/hub_server.h"
#include "ui/heatmap_model.h"
#include "ui/main_window.h"
#include "ui/options_panel.h"
#include "ui/pool_model.h"
#include "ui/pool_panel.h"
#include "ui/score_chart.h"

#include <QTabWidget>

#include <nlohmann/json.hpp>

#include <QElapsedTimer>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>
#include <fstream>

namespace fs = std::filesystem;
using olm::ui::CandidateStatus;
using olm::ui::HeatmapModel;
using olm::ui::MergeController;
using olm::ui::MergeWorker;
using olm::ui::PositionKind;

namespace {

constexpr int kLayers = 3;

bool waitFinished(QSignalSpy& spy, int ms) {
    QElapsedTimer t;
    t.start();
    while (spy.isEmpty() && t.elapsed() < ms) QTest::qWait(20);
    return !spy.isEmpty();
}

nlohmann::json readJson(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

}  // namespace

class TestMergeWorker : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        m_pool = olm::testing::make_planted_pool(fs::path(m_tmp.path().toStdString()) / "planted", kLayers);
        m_config = m_pool.dir / "project.yaml";
        std::ofstream(m_config) << olm::testing::pool_config(m_pool, "base_model_name: base\n");
    }

    void mergeFinishesAndFillsTheHeatmap() {
        olm::ui::MainWindow w;
        QVERIFY(w.openProject(QString::fromStdString(m_config.string())));
        QSignalSpy finished(w.controller(), &MergeController::finished);
        QSignalSpy results(w.controller(), &MergeController::candidateFinished);
        QVERIFY(w.startMerge(false));
        QVERIFY(w.controller()->running());
        QVERIFY(waitFinished(finished, 120000));
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::finished);
        QVERIFY(!w.controller()->running());
        QVERIFY(results.count() >= kLayers * int(m_pool.models.size()));

        HeatmapModel* h = w.heatmapModel();
        const fs::path reportPath = m_pool.dir / "out" / "merge_report.json";
        QVERIFY(fs::exists(reportPath));
        const nlohmann::json report = readJson(reportPath);
        const QString ds = QString::fromStdString(m_pool.dataset);
        for (int k = 0; k < kLayers; ++k) {
            const int row = h->rowOf(PositionKind::layer, k);
            QVERIFY(row >= 0);
            // The heatmap frames what the report records ...
            const auto& layer = report["layers"][std::to_string(k)];
            QCOMPARE(h->chosen(row), QString::fromStdString(layer["best_model"].get<std::string>()));
            QVERIFY(
                h->data(h->index(row, h->columnOf(QStringLiteral("m%1").arg(k))), HeatmapModel::ChosenRole)
                    .toBool());
            // Every pool model was scored here, with the score the report holds.
            const auto& metrics = report["layers"][std::to_string(k)]["metrics"][m_pool.dataset];
            for (const auto& name : m_pool.models) {
                const int col = h->columnOf(QString::fromStdString(name));
                QVERIFY2(col >= 0, name.c_str());
                const auto st = h->status(row, col);
                QVERIFY2(st == CandidateStatus::evaluated || st == CandidateStatus::reused, name.c_str());
                QCOMPARE(*h->score(row, col, ds), metrics.at(name).get<double>());
            }
            // The rank-sum rule with one dataset: the choice ranks first in its row.
            QCOMPARE(h->rank(row, h->columnOf(h->chosen(row)), ds), 1);
        }
        // The chart got a point per decided layer (after the base at x = 0).
        QVERIFY(w.scoreChart()->workingSeries(ds).size() >= kLayers);
        // Export writes the merged model the report describes.
        finished.clear();
        olm::ui::ExportSettings exportTo;
        exportTo.folder = QString::fromStdString((m_pool.dir / "out" / "merged").string());
        QVERIFY(w.exportModel(exportTo, olm::ui::ExportChoice::finishFirst));
        QVERIFY(waitFinished(finished, 120000));
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::finished);
        const fs::path merged = m_pool.dir / "out" / "merged";
        QVERIFY(fs::exists(merged / "config.json"));
        QVERIFY(fs::exists(merged / "README.md"));
        QVERIFY(readJson(reportPath).contains("export"));

        // OLM_UI_SCREENSHOT=DIR saves the window's tabs (for docs; run under xvfb-run).
        if (const QByteArray dir = qgetenv("OLM_UI_SCREENSHOT"); !dir.isEmpty()) {
            w.resize(1400, 900);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            for (int tab = 0; tab < 3; ++tab) {
                w.tabs()->setCurrentIndex(tab);
                QTest::qWait(200);
                QVERIFY(
                    w.grab().save(QStringLiteral("%1/tab%2.png").arg(QString::fromLocal8Bit(dir)).arg(tab)));
            }
        }
    }

    void pauseResumeCancelAndResumeFromReport() {
        olm::ui::MainWindow w;
        QVERIFY(w.openProject(QString::fromStdString(m_config.string())));
        w.optionsPanel()->setOutputDir(QString::fromStdString((m_pool.dir / "out_control").string()));
        MergeController* c = w.controller();
        QSignalSpy finished(c, &MergeController::finished);
        QSignalSpy results(c, &MergeController::candidateFinished);

        // Paused from the start (no race with a fast run): nothing moves.
        olm::ui::MergeJob job;
        job.config = w.currentConfig();
        job.exportModel = false;
        job.startPaused = true;
        QVERIFY(c->start(job));
        QVERIFY(c->paused());
        QTest::qWait(1500);
        QCOMPARE(results.count(), 0);
        QVERIFY(finished.isEmpty());
        QVERIFY(c->running());

        // Resume: candidates arrive. Cancel as soon as one is in: the worker
        // stops within a second (a run that reached its end first counts as finished).
        w.resumeMerge();
        QVERIFY(!c->paused());
        QTRY_VERIFY_WITH_TIMEOUT(results.count() >= 1, 60000);
        QElapsedTimer t;
        t.start();
        w.cancelMerge();
        QVERIFY(waitFinished(finished, 5000));
        qInfo("cancel during a run: finished() after %lld ms", static_cast<long long>(t.elapsed()));
        QVERIFY2(t.elapsed() < 1000, qPrintable(QStringLiteral("cancel took %1 ms").arg(t.elapsed())));
        const auto outcome = finished.first().at(0).value<MergeWorker::Outcome>();
        QVERIFY(outcome == MergeWorker::Outcome::cancelled || outcome == MergeWorker::Outcome::finished);
        QVERIFY(!c->running());

        // Resume from merge_report.json: the recorded candidates come back into
        // the heatmap and the run completes.
        finished.clear();
        w.resumeMerge();
        QVERIFY(c->running());
        QVERIFY(waitFinished(finished, 120000));
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::finished);
        // Same choices and scores as the uninterrupted run of the first test.
        const nlohmann::json full = readJson(m_pool.dir / "out" / "merge_report.json");
        const nlohmann::json resumed = readJson(m_pool.dir / "out_control" / "merge_report.json");
        for (int k = 0; k < kLayers; ++k) {
            const std::string key = std::to_string(k);
            QCOMPARE(resumed["layers"][key]["best_model"], full["layers"][key]["best_model"]);
            QCOMPARE(resumed["layers"][key]["metrics"], full["layers"][key]["metrics"]);
            QCOMPARE(w.heatmapModel()->chosen(w.heatmapModel()->rowOf(PositionKind::layer, k)),
                     QString::fromStdString(full["layers"][key]["best_model"].get<std::string>()));
        }
    }

    // The worker's run takes the output folder's lock like `olm merge`: while
    // another run holds it, the GUI's run fails at once, naming the holder.
    void busyOutputFolderIsRefused() {
        olm::ui::MainWindow w;
        QVERIFY(w.openProject(QString::fromStdString(m_config.string())));
        olm::ui::MergeJob job;
        job.config = w.currentConfig();
        job.config.output_dir = m_pool.dir / "out_busy";
        fs::create_directories(job.config.output_dir);
        const olm::DirLock other = olm::DirLock::acquire(job.config.output_dir / olm::kDirLockName, "test");
        MergeController* c = w.controller();
        QSignalSpy finished(c, &MergeController::finished);
        QVERIFY(c->start(job));
        QVERIFY(waitFinished(finished, 30000));
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::failed);
        const QString message = finished.first().at(1).toString();
        QVERIFY2(message.contains(QStringLiteral("is in use by another run (pid %1").arg(::getpid())),
                 qPrintable(message));
        QVERIFY(!fs::exists(job.config.output_dir / "merge_report.json"));
    }

    void poolModelFromTheHubIsDownloadedWithProgress() {
        // A pool model named org/name that is in no cache comes from the Hub
        // when the merge starts; the progress bar shows the bytes meanwhile.
        const fs::path root = m_pool.dir / "hub";
        fs::create_directories(root);
        const std::string commit = "0123456789abcdef0123456789abcdef01234567";
        olm::testing::HubServer hub(root, {{"org/m0",
                                            {{"dir", (m_pool.dir / "models" / "m0").string()},
                                             {"commit", commit},
                                             {"refs", {{"main", commit}}}}}});
        QVERIFY(hub.ok());
        const fs::path cache = root / "cache";
        qputenv("HF_HUB_CACHE", QByteArray::fromStdString(cache.string()));
        qputenv("HF_ENDPOINT", QByteArray::fromStdString(hub.endpoint()));
        olm::testing::PlantedPool named = m_pool;
        for (auto& m : named.models)
            if (m == "m0") m = "org/m0";
        const fs::path cfg = m_pool.dir / "hub_project.yaml";
        std::ofstream(cfg) << olm::testing::pool_config(named,
                                                        "base_model_name: base\noutput_dir: out_hub\n");

        olm::ui::MainWindow w;
        QVERIFY(w.openProject(QString::fromStdString(cfg.string())));
        auto* bar = w.findChild<QProgressBar*>(QStringLiteral("progress"));
        QVERIFY(bar);
        QList<olm::ui::RunProgress> downloads;
        QStringList barTexts;
        connect(w.controller(), &MergeController::progress, &w, [&](const olm::ui::RunProgress& r) {
            if (r.stage != QLatin1String("download")) return;
            downloads << r;
            barTexts << bar->format();  // after the window's own handler
        });
        QSignalSpy finished(w.controller(), &MergeController::finished);
        QVERIFY(w.startMerge(false));
        QVERIFY(waitFinished(finished, 120000));
        qunsetenv("HF_HUB_CACHE");
        qunsetenv("HF_ENDPOINT");
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::finished);
        QVERIFY(!downloads.isEmpty());
        QVERIFY(downloads.last().total > 0);
        QCOMPARE(downloads.last().done, downloads.last().total);
        QVERIFY2(barTexts.last().startsWith(QStringLiteral("Downloading — 100 %")),
                 qPrintable(barTexts.last()));
        const fs::path snap = cache / "models--org--m0" / "snapshots" / commit;
        QVERIFY(fs::exists(snap / "config.json"));
        QVERIFY(!hub.requests_for("/model.safetensors").empty());
        // The merge ran on the downloaded copy, under its Hub name.
        const nlohmann::json report = readJson(m_pool.dir / "out_hub" / "merge_report.json");
        QVERIFY2(report.dump().find("org/m0") != std::string::npos, report.dump().substr(0, 400).c_str());
        QVERIFY(bar->format() != barTexts.last());  // the run's own progress took the bar back
        // The pool panel reads the downloaded copy now.
        auto* pool = w.findChild<olm::ui::PoolPanel*>();
        QVERIFY(pool);
        QVERIFY(pool->model()->waitForCheck());
        const auto& entries = pool->model()->entries();
        const auto it = std::find_if(entries.cbegin(), entries.cend(),
                                     [](const olm::ui::PoolEntry& e) { return e.hubName == "org/m0"; });
        QVERIFY(it != entries.cend());
        QVERIFY2(it->openable && !it->pendingDownload, qPrintable(it->verdict));
        QCOMPARE(it->path, QString::fromStdString(snap.string()));
    }

    void cancelWhilePausedStopsWithinASecond() {
        olm::ui::MainWindow w;
        QVERIFY(w.openProject(QString::fromStdString(m_config.string())));
        olm::ui::MergeJob job;
        job.config = w.currentConfig();
        job.config.output_dir = m_pool.dir / "out_cancel";
        job.startPaused = true;
        MergeController* c = w.controller();
        QSignalSpy finished(c, &MergeController::finished);
        QVERIFY(c->start(job));
        QTest::qWait(300);
        QElapsedTimer t;
        t.start();
        c->cancel();
        QVERIFY(waitFinished(finished, 5000));
        qInfo("cancel while paused: finished() after %lld ms", static_cast<long long>(t.elapsed()));
        QVERIFY2(t.elapsed() < 1000, qPrintable(QStringLiteral("cancel took %1 ms").arg(t.elapsed())));
        QCOMPARE(finished.first().at(0).value<MergeWorker::Outcome>(), MergeWorker::Outcome::cancelled);
    }

    void destroyingTheWindowStopsARunningMerge() {
        QElapsedTimer t;
        {
            olm::ui::MainWindow w;
            QVERIFY(w.openProject(QString::fromStdString(m_config.string())));
            w.optionsPanel()->setOutputDir(QString::fromStdString((m_pool.dir / "out_closed").string()));
            QSignalSpy results(w.controller(), &MergeController::candidateFinished);
            QVERIFY(w.startMerge(false));
            QTRY_VERIFY_WITH_TIMEOUT(results.count() >= 1, 60000);
            t.start();
        }  // the controller cancels, the thread quits and is waited for
        QVERIFY2(t.elapsed() < 2000, qPrintable(QString::number(t.elapsed())));
    }

private:
    QTemporaryDir m_tmp;
    olm::testing::PlantedPool m_pool;
    fs::path m_config;
};

QTEST_MAIN(TestMergeWorker)
#include "test_merge_worker.moc"
