#include "ui/merge_worker.h"

#include "core/merge/run.h"
#include "core/util/error.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QMetaType>

#include <exception>

namespace olm::ui {
namespace {

QString qs(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

QMap<QString, double> toMap(const std::map<std::string, double>& m) {
    QMap<QString, double> out;
    for (const auto& [k, v] : m) out.insert(QString::fromStdString(k), v);
    return out;
}

PositionKind toKind(olm::PositionId::Kind k) {
    switch (k) {
        case olm::PositionId::Kind::base:
            return PositionKind::base;
        case olm::PositionId::Kind::boundary:
            return PositionKind::boundary;
        case olm::PositionId::Kind::layer:
            return PositionKind::layer;
        case olm::PositionId::Kind::tensor:
            return PositionKind::tensor;
        case olm::PositionId::Kind::reference:
            return PositionKind::base;  // not shown as a row
    }
    return PositionKind::layer;
}

CandidateStatus toStatus(olm::CandidateStatus s) {
    switch (s) {
        case olm::CandidateStatus::evaluated:
            return CandidateStatus::evaluated;
        case olm::CandidateStatus::reused_identical:
            return CandidateStatus::reused;
        case olm::CandidateStatus::disqualified:
            return CandidateStatus::disqualified;
        case olm::CandidateStatus::failed:
            return CandidateStatus::failed;
    }
    return CandidateStatus::failed;
}

CandidateResult toResult(const olm::CandidateEvent& c) {
    CandidateResult r;
    r.kind = toKind(c.position.kind);
    r.layer = c.position.layer;
    r.unit = QString::fromStdString(c.position.unit);
    r.candidate = QString::fromStdString(c.name);
    r.status = CandidateStatus::running;
    return r;
}

}  // namespace

// Adapts core/merge events (called on the worker thread) to the worker's
// signals; every argument is copied into plain Qt values.
class WorkerEvents : public olm::MergeEvents {
public:
    explicit WorkerEvents(MergeWorker& w) : m_w(w) {}

    void log(olm::LogLevel level, std::string_view message) override {
        emit m_w.logLine(static_cast<int>(level), qs(message));
    }
    bool cancelled() const override { return m_w.m_cancel.load(); }

    void stage_changed(olm::MergeStage stage, std::string_view description) override {
        m_stage = QString::fromUtf8(olm::stage_name(stage));
        emit m_w.stageChanged(m_stage, qs(description));
    }
    void candidate_started(const olm::CandidateEvent& c) override {
        m_candidate = QString::fromStdString(c.name);
        m_layer = c.position.layer;
        m_index = c.index;
        m_count = c.count;
        if (c.position.kind == olm::PositionId::Kind::reference) return;
        emit m_w.candidateStarted(toResult(c));
    }
    void candidate_finished(const olm::CandidateEvent& c, const olm::CandidateResult& res) override {
        if (c.position.kind == olm::PositionId::Kind::reference) {
            ReferenceScores ref;
            ref.name = QString::fromStdString(c.name);
            ref.scores = toMap(res.scores);
            if (res.status == olm::CandidateStatus::evaluated ||
                res.status == olm::CandidateStatus::reused_identical)
                emit m_w.referenceScored(ref);
            return;
        }
        CandidateResult r = toResult(c);
        r.status = toStatus(res.status);
        r.reason = QString::fromStdString(res.reason);
        r.scores = toMap(res.scores);
        r.accuracy = toMap(res.accuracy);
        emit m_w.candidateFinished(r);
        // Whole pool models scored for the base choice are reference lines too.
        if (c.position.kind == olm::PositionId::Kind::base && r.status == CandidateStatus::evaluated) {
            ReferenceScores ref;
            ref.name = r.candidate;
            ref.scores = r.scores;
            emit m_w.referenceScored(ref);
        }
    }
    void position_decided(const olm::PositionDecision& d) override {
        PositionDecision out;
        out.kind = toKind(d.position.kind);
        out.layer = d.position.layer;
        out.unit = QString::fromStdString(d.position.unit);
        out.winner = QString::fromStdString(d.best_name);
        out.scores = toMap(d.scores);
        if (d.position.kind == olm::PositionId::Kind::base) {
            ReferenceScores base;
            base.name = out.winner;
            base.isBase = true;
            base.scores = out.scores;
            emit m_w.referenceScored(base);
        }
        emit m_w.positionDecided(out);
    }
    void preview(std::string_view dataset, std::string_view prompt, std::string_view text, double score,
                 std::string_view penalty) override {
        PreviewSample p;
        p.penalty = score;
        if (!penalty.empty()) p.reasons << qs(penalty);
        p.candidate = m_candidate;
        p.dataset = qs(dataset);
        p.sample = m_previewIndex++;
        p.prompt = qs(prompt);
        p.text = qs(text);
        emit m_w.preview(p);
    }
    void merge_progress(const olm::MergeProgress& p) override {
        RunProgress out;
        out.stage = p.stage.empty() ? m_stage : QString::fromStdString(p.stage);
        out.layer = m_layer;
        out.candidate = m_index;
        out.candidates = m_count;
        out.done = p.done;
        out.total = p.total;
        out.elapsedSeconds = p.elapsed_s;
        out.etaSeconds = p.eta_s ? *p.eta_s : -1.0;
        out.detail = QString::fromStdString(p.detail);
        emit m_w.progress(out);
    }

private:
    MergeWorker& m_w;
    QString m_stage;
    QString m_candidate;
    int m_layer = -1, m_index = -1, m_count = 0, m_previewIndex = 0;
};

void registerRunTypes() {
    static const bool once = [] {
        qRegisterMetaType<olm::ui::CandidateResult>();
        qRegisterMetaType<olm::ui::PositionDecision>();
        qRegisterMetaType<olm::ui::PreviewSample>();
        qRegisterMetaType<olm::ui::RunProgress>();
        qRegisterMetaType<olm::ui::ReferenceScores>();
        qRegisterMetaType<olm::ui::MergeWorker::Outcome>();
        return true;
    }();
    (void)once;
}

MergeWorker::MergeWorker(MergeJob job, QObject* parent) : QObject(parent), m_job(std::move(job)) {
    registerRunTypes();
    m_paused = m_job.startPaused;
}

MergeWorker::~MergeWorker() = default;

void MergeWorker::pause() {
    m_paused = true;
    std::lock_guard lock(m_runMutex);
    if (m_run) m_run->pause();
}

void MergeWorker::resume() {
    m_paused = false;
    std::lock_guard lock(m_runMutex);
    if (m_run) m_run->resume();
}

void MergeWorker::cancel() {
    m_cancel = true;
    std::lock_guard lock(m_runMutex);
    if (m_run) m_run->cancel();
}

void MergeWorker::run() {
    WorkerEvents events(*this);
    Outcome outcome = Outcome::finished;
    QString message;
    try {
        olm::MergeRunOptions opts;
        opts.resume = m_job.resume;
        opts.force = m_job.force;
        opts.export_model = m_job.exportModel;
        opts.verify_export = m_job.verifyExport;
        olm::MergeRun run(m_job.config, events, opts);
        {
            std::lock_guard lock(m_runMutex);
            m_run = &run;
            if (m_paused) run.pause();
            if (m_cancel) run.cancel();
        }
        try {
            run.run();
        } catch (...) {
            std::lock_guard lock(m_runMutex);
            m_run = nullptr;
            throw;
        }
        std::lock_guard lock(m_runMutex);
        m_run = nullptr;
        message = tr("Merge finished; report: %1").arg(QString::fromStdString(run.report_path().string()));
    } catch (const olm::Cancelled&) {
        outcome = Outcome::cancelled;
        message = tr("Merge cancelled; the report keeps every finished candidate, Resume continues it.");
    } catch (const std::exception& ex) {
        outcome = Outcome::failed;
        message = QString::fromStdString(ex.what());
    }
    emit finished(outcome, message);
}

MergeController::MergeController(QObject* parent) : QObject(parent) { registerRunTypes(); }

MergeController::~MergeController() {
    if (m_worker) m_worker->cancel();
    m_thread.reset();  // quits and waits
    delete m_worker;
    m_worker = nullptr;
}

bool MergeController::start(const MergeJob& job) {
    if (m_worker) return false;
    m_thread.reset(new QThread);
    m_thread->setObjectName(QStringLiteral("merge"));
    m_worker = new MergeWorker(job);
    m_worker->moveToThread(m_thread.get());
    // Worker signals are emitted on the worker thread: queued to this (GUI) thread.
    connect(m_worker, &MergeWorker::stageChanged, this, &MergeController::stageChanged, Qt::QueuedConnection);
    connect(m_worker, &MergeWorker::candidateStarted, this, &MergeController::candidateStarted,
            Qt::QueuedConnection);
    connect(m_worker, &MergeWorker::candidateFinished, this, &MergeController::candidateFinished,
            Qt::QueuedConnection);
    connect(m_worker, &MergeWorker::positionDecided, this, &MergeController::positionDecided,
            Qt::QueuedConnection);
    connect(m_worker, &MergeWorker::referenceScored, this, &MergeController::referenceScored,
            Qt::QueuedConnection);
    connect(m_worker, &MergeWorker::preview, this, &MergeController::preview, Qt::QueuedConnection);
    connect(m_worker, &MergeWorker::progress, this, &MergeController::progress, Qt::QueuedConnection);
    connect(m_worker, &MergeWorker::logLine, this, &MergeController::logLine, Qt::QueuedConnection);
    connect(m_worker, &MergeWorker::finished, this, &MergeController::onWorkerFinished, Qt::QueuedConnection);
    connect(m_thread.get(), &QThread::started, m_worker, &MergeWorker::run);
    m_thread->start();
    emit started();
    if (job.startPaused) emit pausedChanged(true);
    return true;
}

void MergeController::pause() {
    if (!m_worker || m_worker->paused()) return;
    m_worker->pause();
    emit pausedChanged(true);
}

void MergeController::resume() {
    if (!m_worker || !m_worker->paused()) return;
    m_worker->resume();
    emit pausedChanged(false);
}

void MergeController::cancel() {
    if (m_worker) m_worker->cancel();
}

bool MergeController::paused() const { return m_worker && m_worker->paused(); }

bool MergeController::wait(int ms) {
    // The worker's thread runs an event loop after run() returns, so waiting
    // on it would block: wait for the queued finished() to arrive instead.
    QDeadlineTimer deadline(ms);
    while (m_worker && !deadline.hasExpired()) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    return m_worker == nullptr;
}

void MergeController::onWorkerFinished(MergeWorker::Outcome outcome, const QString& message) {
    m_thread.reset();  // run() has returned: the thread quits at once
    delete m_worker;
    m_worker = nullptr;
    emit finished(outcome, message);
}

}  // namespace olm::ui
