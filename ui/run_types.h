#pragma once
// Plain values that cross the worker-thread boundary by value (queued
// signals). The merge worker converts core/merge events into these, so no
// view ever sees a pointer into the running merge.
#include <QMap>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

namespace olm::ui {

// What a heatmap row stands for: the base choice, the boundary (embeddings,
// final norm, lm_head), one decoder layer, or one tensor unit of a layer.
enum class PositionKind { base, boundary, layer, tensor };

// Where a candidate's evaluation ended.
enum class CandidateStatus { pending, running, evaluated, reused, disqualified, failed };

QString positionKindName(PositionKind kind);
QString candidateStatusName(CandidateStatus status);

// One scored candidate at one position.
struct CandidateResult {
    PositionKind kind = PositionKind::layer;
    int layer = -1;     // decoder layer index (layer / tensor positions), -1 otherwise
    QString unit;       // tensor unit name ("attn.q", "mlp.up"...) for tensor positions
    QString candidate;  // readable candidate name: a pool model or a blend "0.5·(current+ft_1)"
    CandidateStatus status = CandidateStatus::evaluated;
    QString reason;                  // why disqualified / the error when failed
    QMap<QString, double> scores;    // dataset -> score, lower is better
    QMap<QString, double> accuracy;  // dataset -> accuracy in [0, 1] when the mode has one
};

// The winner chosen for one position, with the working model's scores after it.
struct PositionDecision {
    PositionKind kind = PositionKind::layer;
    int layer = -1;
    QString unit;
    QString winner;
    QMap<QString, double> scores;  // the working model's scores with the winner in place
};

// One generated text of the quality mode for the current candidate.
struct PreviewSample {
    QString position;  // where the candidate was scored: "layer 3", "boundary", "base", "reference"
    QString candidate;
    QString dataset;
    int sample = 0;
    QString prompt;
    QString text;
    double penalty = 0.0;
    QStringList reasons;  // penalty reasons ("repeats a 4-gram", "forbidden script"...)
};

// Where the run stands: stage, layer i/N, candidate j/M, work units, ETA.
struct RunProgress {
    QString stage;
    int layer = -1;  // current position index (0-based), -1 when not in a layer pass
    int layers = 0;
    int candidate = -1;  // current candidate index (0-based)
    int candidates = 0;
    qint64 done = 0;
    qint64 total = 0;
    double etaSeconds = -1.0;  // < 0: unknown
    double elapsedSeconds = 0.0;
    QString detail;  // "layer 3/8, candidate 2/4 (ft_1), dataset math.json"
};

// Scores of a reference model (the base, a pool model, the pool average)
// on every dataset, drawn as horizontal lines in the chart.
struct ReferenceScores {
    QString name;
    bool isBase = false;
    QMap<QString, double> scores;
};

// One thing the run did, with its time: what the progress tracker measures
// costs from, and what a recorded event stream (one JSON object a line) holds.
struct RunEvent {
    enum class Type { stage, candidateStarted, candidateFinished, decision, paused, resumed, finished };
    Type type = Type::stage;
    double t = 0.0;       // seconds since the run started (wall clock)
    QString stage;        // Type::stage: core's stage name ("layers", "references", ...)
    QString description;  // Type::stage: "layer-wise, pass 1"
    QString kind;         // base | boundary | layer | tensor | reference
    int layer = -1;
    QString unit;
    QString name;  // candidate
    int index = 0, count = 0;
    QString status;  // candidateFinished: evaluated | reused | disqualified | failed
};
QString runEventTypeName(RunEvent::Type type);
// One JSON object (no newline) and back; false on a line that is not an event.
QByteArray runEventToJson(const RunEvent& event);
bool runEventFromJson(const QByteArray& line, RunEvent& event);

// Formats seconds as "1 h 02 min", "3 min 05 s" or "42 s".
QString formatDuration(double seconds);
// Formats a byte count as "1.2 GB", "350 MB"...
QString formatBytes(qint64 bytes);

}  // namespace olm::ui

Q_DECLARE_METATYPE(olm::ui::CandidateResult)
Q_DECLARE_METATYPE(olm::ui::PositionDecision)
Q_DECLARE_METATYPE(olm::ui::PreviewSample)
Q_DECLARE_METATYPE(olm::ui::RunProgress)
Q_DECLARE_METATYPE(olm::ui::ReferenceScores)
Q_DECLARE_METATYPE(olm::ui::RunEvent)
