// libtorch headers first: Qt defines `slots` as a macro.
#include "core/merge/merge_export.h"
#include "core/merge/original_report.h"
#include "core/merge/report.h"
#include "core/merge/run.h"
#include "core/merge/session.h"
#include "core/util/error.h"
#include "core/util/threads.h"

#include "ui/merge_worker.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QMetaMethod>
#include <QMetaType>

#include <chrono>
#include <exception>

namespace olm::ui {
namespace {

QString qs(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

QMap<QString, double> toMap(const std::map<std::string, double>& m) {
    QMap<QString, double> out;
    for (const auto& [k, v] : m) out.insert(QString::fromStdString(k), v);
    return out;
}

// A boundary part that the tensor-wise search visits (layer -1) is shown as a
// boundary row of its own, as the original's reports are.
PositionKind toKind(const olm::PositionId& pos) {
    if (pos.boundary_part()) return PositionKind::boundary;
    switch (pos.kind) {
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

QString kindName(const olm::PositionId& pos) {
    if (pos.boundary_part()) return QStringLiteral("boundary");
    switch (pos.kind) {
        case olm::PositionId::Kind::base:
            return QStringLiteral("base");
        case olm::PositionId::Kind::boundary:
            return QStringLiteral("boundary");
        case olm::PositionId::Kind::layer:
            return QStringLiteral("layer");
        case olm::PositionId::Kind::tensor:
            return QStringLiteral("tensor");
        case olm::PositionId::Kind::reference:
            return QStringLiteral("reference");
    }
    return {};
}

RunEvent positionEvent(RunEvent::Type type, const olm::PositionId& pos) {
    RunEvent e;
    e.type = type;
    e.kind = kindName(pos);
    e.layer = pos.layer;
    e.unit = QString::fromStdString(pos.unit);
    return e;
}

RunEvent candidateEvent(RunEvent::Type type, const olm::CandidateEvent& c) {
    RunEvent e = positionEvent(type, c.position);
    e.name = QString::fromStdString(c.name);
    e.index = c.index;
    e.count = c.count;
    return e;
}

CandidateResult toResult(const olm::CandidateEvent& c) {
    CandidateResult r;
    r.kind = toKind(c.position);
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
        RunEvent e;
        e.type = RunEvent::Type::stage;
        e.stage = m_stage;
        e.description = qs(description);
        m_w.emitEvent(e);
        emit m_w.stageChanged(m_stage, qs(description));
    }
    void candidate_started(const olm::CandidateEvent& c) override {
        m_candidate = QString::fromStdString(c.name);
        m_layer = c.position.layer;
        m_index = c.index;
        m_count = c.count;
        m_position = kindName(c.position);
        if (c.position.layer >= 0) m_position += QStringLiteral(" %1").arg(c.position.layer);
        if (!c.position.unit.empty())
            m_position += QStringLiteral(" %1").arg(QString::fromStdString(c.position.unit));
        m_w.emitEvent(candidateEvent(RunEvent::Type::candidateStarted, c));
        if (c.position.kind == olm::PositionId::Kind::reference) return;
        emit m_w.candidateStarted(toResult(c));
    }
    void candidate_finished(const olm::CandidateEvent& c, const olm::CandidateResult& res) override {
        RunEvent e = candidateEvent(RunEvent::Type::candidateFinished, c);
        e.status = candidateStatusName(toStatus(res.status));
        m_w.emitEvent(e);
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
        RunEvent e = positionEvent(RunEvent::Type::decision, d.position);
        e.name = QString::fromStdString(d.best_name);
        m_w.emitEvent(e);
        PositionDecision out;
        out.kind = toKind(d.position);
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
        p.position = m_position;
        p.dataset = qs(dataset);
        p.sample = m_previewIndex++;
        p.prompt = qs(prompt);
        p.text = qs(text);
        emit m_w.preview(p);
    }
    // Hub downloads before the pool opens ("download", bytes done, bytes total
    // of one model): at most ten updates a second, with a rate-based ETA.
    void progress(std::string_view stage, long long done, long long total) override {
        if (stage != "download") return;
        using Clock = std::chrono::steady_clock;
        const auto now = Clock::now();
        if (!m_downloadStarted || done < m_downloadDone) {  // the first file of a model
            m_downloadStarted = true;
            m_downloadStart = now;
            m_downloadFirst = done;
            m_lastDownloadEmit = {};
        }
        m_downloadDone = done;
        const bool end = total > 0 && done >= total;
        if (!end && now - m_lastDownloadEmit < std::chrono::milliseconds(100)) return;
        m_lastDownloadEmit = now;
        RunProgress out;
        out.stage = QStringLiteral("download");
        out.done = done;
        out.total = total;
        out.elapsedSeconds = std::chrono::duration<double>(now - m_downloadStart).count();
        const long long moved = done - m_downloadFirst;
        if (out.elapsedSeconds > 1.0 && moved > 0 && total > done)
            out.etaSeconds =
                static_cast<double>(total - done) * out.elapsedSeconds / static_cast<double>(moved);
        if (end) m_downloadStarted = false;
        emit m_w.progress(out);
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
    QString m_position;
    int m_layer = -1, m_index = -1, m_count = 0, m_previewIndex = 0;
    bool m_downloadStarted = false;
    long long m_downloadDone = 0, m_downloadFirst = 0;
    std::chrono::steady_clock::time_point m_downloadStart{}, m_lastDownloadEmit{};
};

void registerRunTypes() {
    static const bool once = [] {
        qRegisterMetaType<olm::ui::CandidateResult>();
        qRegisterMetaType<olm::ui::PositionDecision>();
        qRegisterMetaType<olm::ui::PreviewSample>();
        qRegisterMetaType<olm::ui::RunProgress>();
        qRegisterMetaType<olm::ui::ReferenceScores>();
        qRegisterMetaType<olm::ui::RunEvent>();
        qRegisterMetaType<olm::ui::MergeWorker::Outcome>();
        return true;
    }();
    (void)once;
}

MergeWorker::MergeWorker(MergeJob job, QObject* parent) : RunSignals(parent), m_job(std::move(job)) {
    registerRunTypes();
    m_paused = m_job.startPaused;
}

MergeWorker::~MergeWorker() = default;

void MergeWorker::emitEvent(RunEvent e) {
    e.t = m_clock.isValid() ? static_cast<double>(m_clock.nsecsElapsed()) / 1e9 : 0.0;
    {
        std::lock_guard lock(m_recordMutex);
        if (m_record) {
            m_record->write(runEventToJson(e) + '\n');
            m_record->flush();
        }
    }
    emit runEvent(e);
}

void MergeWorker::pause() {
    if (!m_paused.exchange(true)) {
        RunEvent e;
        e.type = RunEvent::Type::paused;
        emitEvent(e);
    }
    std::lock_guard lock(m_runMutex);
    if (m_run) m_run->pause();
}

void MergeWorker::resume() {
    if (m_paused.exchange(false)) {
        RunEvent e;
        e.type = RunEvent::Type::resumed;
        emitEvent(e);
    }
    std::lock_guard lock(m_runMutex);
    if (m_run) m_run->resume();
}

void MergeWorker::cancel() {
    m_cancel = true;
    std::lock_guard lock(m_runMutex);
    if (m_run) m_run->cancel();
}

void MergeWorker::run() {
    m_clock.start();
    if (!m_job.recordEvents.isEmpty()) {
        std::lock_guard lock(m_recordMutex);
        m_record = std::make_unique<QFile>(m_job.recordEvents);
        if (!m_record->open(QIODevice::WriteOnly | QIODevice::Truncate)) m_record.reset();
    }
    if (m_paused) {
        RunEvent e;
        e.type = RunEvent::Type::paused;
        emitEvent(e);
    }
    if (m_job.kind == MergeJob::Kind::exportRecorded) {
        runExport();
        return;
    }
    WorkerEvents events(*this);
    Outcome outcome = Outcome::finished;
    QString message;
    try {
        olm::MergeRunOptions opts;
        opts.resume = m_job.resume;
        opts.force = m_job.force;
        opts.export_model = m_job.exportModel;
        opts.verify_export = m_job.verifyExport;
        // On this thread: OpenMP's thread count is per calling thread.
        olm::apply_thread_settings(olm::cpu_threads(static_cast<int>(m_job.config.threads)));
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
    RunEvent end;
    end.type = RunEvent::Type::finished;
    end.status = outcome == Outcome::finished    ? QStringLiteral("finished")
                 : outcome == Outcome::cancelled ? QStringLiteral("cancelled")
                                                 : QStringLiteral("failed");
    emitEvent(end);
    emit finished(outcome, message);
}

namespace {
// Log lines and cancel for the export (pause holds between tensors).
class ExportSink : public olm::ProgressSink {
public:
    ExportSink(RunSignals& out, const std::atomic<bool>& cancel, const std::atomic<bool>& paused)
        : m_signals(out), m_cancel(cancel), m_paused(paused) {}
    void log(olm::LogLevel level, std::string_view message) override {
        emit m_signals.logLine(static_cast<int>(level), qs(message));
    }
    bool cancelled() const override {
        while (m_paused.load() && !m_cancel.load()) QThread::msleep(50);
        return m_cancel.load();
    }

private:
    RunSignals& m_signals;
    const std::atomic<bool>& m_cancel;
    const std::atomic<bool>& m_paused;
};
}  // namespace

// Writes the recipe the report holds (the finished merge, or the best so far
// of an unfinished one) with core's export, then re-scores it from disk
// against the scores the report recorded for that recipe, when it has them.
void MergeWorker::runExport() {
    Outcome outcome = Outcome::finished;
    QString message;
    auto stage = [this](const QString& name, const QString& what) {
        RunEvent e;
        e.type = RunEvent::Type::stage;
        e.stage = name;
        e.description = what;
        emitEvent(e);
        emit stageChanged(name, what);
    };
    try {
        ExportSink sink(*this, m_cancel, m_paused);
        stage(QStringLiteral("loading"), tr("pool and datasets"));
        const auto reportPath = m_job.config.report_path();
        olm::MergeReport report = olm::MergeReport::load(reportPath);
        std::vector<std::string> warnings;
        olm::MergeSession session(m_job.config, "", &sink, &warnings);
        for (const auto& w : warnings) emit logLine(2, QString::fromStdString(w));
        olm::MergeState state = olm::report_state(report, session.pool());
        auto& j = report.json();
        const bool original = olm::is_original_report(j);
        if (original) {  // the model card names the pool and datasets from these
            j["pool"] = m_job.config.model_names();
            j["config"] = olm::merge_config_to_json(m_job.config);
        }
        const bool complete = j.value("status", std::string()) == "complete";
        std::string exported = "merge";
        if (j.contains("safeguard") && j["safeguard"].contains("exported"))
            exported = j["safeguard"]["exported"].get<std::string>();
        if (exported != "merge") {
            state.base = exported;
            state.boundary = olm::single_model(exported);
            state.layers.assign(state.layers.size(), olm::single_model(exported));
            state.units.clear();
            state.boundary_parts.clear();
        }
        if (m_cancel) throw olm::Cancelled();
        stage(QStringLiteral("exporting"), tr("writing the merged model"));
        const std::filesystem::path target = m_job.exportFolder.toStdString();
        olm::MergeExportOptions eo;
        eo.dtype = m_job.exportDtype.toStdString();
        eo.max_shard_bytes = static_cast<uint64_t>(std::max<qint64>(m_job.shardBytes, 1'000'000));
        j["export"] = {{"folder", target.string()},
                       {"model", exported},
                       {"recipe", complete ? "finished merge" : "best so far (unfinished search)"}};
        olm::export_merge(session.pool(), state, j, target, sink, eo);
        // The scores the written recipe should reproduce: the merge's final
        // scoring (when it scored this recipe) or the exported pool model's.
        std::map<std::string, double> expected;
        const nlohmann::json* scored = nullptr;
        if (exported != "merge" && j.contains("references") && j["references"].contains(exported))
            scored = &j["references"][exported];
        else if (j.contains("final") && j["final"].value("recipe", nlohmann::json()) == j["recipe"])
            scored = &j["final"];
        if (scored && scored->contains("metrics"))
            for (auto it = (*scored)["metrics"].begin(); it != (*scored)["metrics"].end(); ++it)
                expected[it.key()] = it.value();
        if (m_job.verifyExport && !expected.empty() && eo.dtype.empty()) {
            j["export"]["verification"] = olm::verify_export(session, target, expected);
            emit logLine(1, tr("export verified: the written model scores as the report recorded"));
        }
        if (!original) report.save_to(reportPath);  // the original's report stays as it wrote it
        message =
            tr("Exported %1 to %2")
                .arg(complete ? tr("the merged model") : tr("the best recipe so far"), m_job.exportFolder);
        stage(QStringLiteral("done"), tr("export complete"));
    } catch (const olm::Cancelled&) {
        outcome = Outcome::cancelled;
        message = tr("Export cancelled; nothing was written to the folder.");
    } catch (const std::exception& ex) {
        outcome = Outcome::failed;
        message = QString::fromStdString(ex.what());
    }
    RunEvent end;
    end.type = RunEvent::Type::finished;
    emitEvent(end);
    emit finished(outcome, message);
}

MergeController::MergeController(QObject* parent) : RunSignals(parent) { registerRunTypes(); }

MergeController::~MergeController() {
    if (m_worker) m_worker->cancel();
    m_thread.reset();  // quits and waits
    delete m_worker;
    m_worker = nullptr;
}

bool MergeController::start(const MergeJob& job) {
    if (m_worker) return false;
    m_job = job;
    m_thread.reset(new QThread);
    m_thread->setObjectName(QStringLiteral("merge"));
    m_worker = new MergeWorker(job);
    m_worker->moveToThread(m_thread.get());
    // Worker signals are emitted on the worker thread: every RunSignals signal
    // is queued to the same signal of this (GUI-thread) object.
    const QMetaObject& signalList = RunSignals::staticMetaObject;
    for (int i = signalList.methodOffset(); i < signalList.methodCount(); ++i) {
        const QMetaMethod m = signalList.method(i);
        if (m.methodType() == QMetaMethod::Signal) connect(m_worker, m, this, m, Qt::QueuedConnection);
    }
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
