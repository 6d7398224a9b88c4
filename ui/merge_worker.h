#pragma once
// The merge behind the GUI: a MergeWorker (a QObject living on its own
// QThread) runs core/merge's MergeRun and turns its events into queued Qt
// signals carrying plain values (ui/run_types.h). MergeController owns the
// thread (a smart pointer that quits and waits), starts the worker and
// forwards pause / resume / cancel, which are thread-safe: they go straight
// to the run's atomic flags instead of through the blocked worker thread's
// event loop.
#include "core/merge/config.h"
#include "ui/run_types.h"

#include <QElapsedTimer>
#include <QFile>
#include <QObject>
#include <QThread>

#include <atomic>
#include <memory>
#include <mutex>

namespace olm {
class MergeRun;
}

namespace olm::ui {

struct MergeJob {
    enum class Kind {
        merge,           // the search (and, with exportModel, core's own export to output_dir/merged)
        exportRecorded,  // writes the report's recipe as it stands (finished or best so far) to exportFolder
    };
    Kind kind = Kind::merge;
    olm::MergeConfig config;
    bool resume = false;       // continue from output_dir/merge_report.json
    bool force = false;        // resume even when the config hash differs
    bool exportModel = true;   // write the merged model after the search
    bool verifyExport = true;  // re-score the written model
    bool startPaused = false;  // hold at the first checkpoint until resume()
    // Kind::exportRecorded
    QString exportFolder;
    QString exportDtype;  // "" = the pool's storage dtype
    qint64 shardBytes = 5'000'000'000;
    // Writes every RunEvent as a JSON line to this file (a recorded event stream).
    QString recordEvents;
};

// The signals of a run, declared once: the worker emits them on its thread,
// the controller re-emits them on the GUI thread (every signal of this class
// is forwarded, queued).
class RunSignals : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
signals:
    void stageChanged(const QString& stage, const QString& description);
    void candidateStarted(const olm::ui::CandidateResult& candidate);
    void candidateFinished(const olm::ui::CandidateResult& result);
    void positionDecided(const olm::ui::PositionDecision& decision);
    void referenceScored(const olm::ui::ReferenceScores& reference);
    void preview(const olm::ui::PreviewSample& sample);
    void progress(const olm::ui::RunProgress& progress);
    void runEvent(const olm::ui::RunEvent& event);    // timed, for the progress tracker
    void logLine(int level, const QString& message);  // olm::LogLevel
};

class MergeWorker : public RunSignals {
    Q_OBJECT
public:
    enum class Outcome { finished, cancelled, failed };
    Q_ENUM(Outcome)

    explicit MergeWorker(MergeJob job, QObject* parent = nullptr);
    ~MergeWorker() override;

    // Thread-safe; may be called before, during or after run().
    void pause();
    void resume();
    void cancel();
    bool paused() const { return m_paused.load(); }

public slots:
    // Runs the merge on the calling (worker) thread; emits finished() at the end.
    void run();

signals:
    void finished(olm::ui::MergeWorker::Outcome outcome, const QString& message);

private:
    friend class WorkerEvents;
    void emitEvent(RunEvent e);
    void runExport();
    MergeJob m_job;
    std::atomic<bool> m_paused{false};
    std::atomic<bool> m_cancel{false};
    std::mutex m_runMutex;  // guards m_run against pause/cancel from the GUI thread
    olm::MergeRun* m_run = nullptr;
    QElapsedTimer m_clock;
    std::mutex m_recordMutex;
    std::unique_ptr<QFile> m_record;
};

class MergeController : public RunSignals {
    Q_OBJECT
public:
    explicit MergeController(QObject* parent = nullptr);
    ~MergeController() override;  // cancels a running merge and waits for its thread

    // Starts a merge on a new thread; false when one is running already.
    bool start(const MergeJob& job);
    void pause();
    void resume();
    void cancel();
    bool running() const { return m_worker != nullptr; }
    bool paused() const;
    // The job running (or last run).
    const MergeJob& job() const { return m_job; }
    // Processes events until the run has finished (tests, --run); false on timeout.
    bool wait(int ms);

signals:
    void pausedChanged(bool paused);
    void started();
    void finished(olm::ui::MergeWorker::Outcome outcome, const QString& message);

private:
    struct ThreadStopper {
        void operator()(QThread* t) const {
            t->quit();
            t->wait();
            delete t;
        }
    };
    void onWorkerFinished(MergeWorker::Outcome outcome, const QString& message);

    std::unique_ptr<QThread, ThreadStopper> m_thread;
    MergeWorker* m_worker = nullptr;  // deleted on its thread's finish
    MergeJob m_job;
};

// Registers the value types with Qt's meta-type system (once).
void registerRunTypes();

}  // namespace olm::ui
