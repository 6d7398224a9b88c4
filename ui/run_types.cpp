#include "ui/run_types.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <array>
#include <cmath>

namespace olm::ui {

QString positionKindName(PositionKind kind) {
    switch (kind) {
        case PositionKind::base:
            return QStringLiteral("base");
        case PositionKind::boundary:
            return QStringLiteral("boundary");
        case PositionKind::layer:
            return QStringLiteral("layer");
        case PositionKind::tensor:
            return QStringLiteral("tensor");
    }
    return {};
}

QString candidateStatusName(CandidateStatus status) {
    switch (status) {
        case CandidateStatus::pending:
            return QStringLiteral("pending");
        case CandidateStatus::running:
            return QStringLiteral("running");
        case CandidateStatus::evaluated:
            return QStringLiteral("evaluated");
        case CandidateStatus::reused:
            return QStringLiteral("reused");
        case CandidateStatus::disqualified:
            return QStringLiteral("disqualified");
        case CandidateStatus::failed:
            return QStringLiteral("failed");
    }
    return {};
}

namespace {
constexpr std::array<const char*, 7> kEventTypes{"stage",  "start",   "finish", "decision",
                                                 "paused", "resumed", "end"};
}

QString runEventTypeName(RunEvent::Type type) {
    return QLatin1String(kEventTypes[static_cast<size_t>(type)]);
}

QByteArray runEventToJson(const RunEvent& e) {
    QJsonObject o;
    o[QStringLiteral("t")] = std::round(e.t * 1000.0) / 1000.0;
    o[QStringLiteral("ev")] = runEventTypeName(e.type);
    if (!e.stage.isEmpty()) o[QStringLiteral("stage")] = e.stage;
    if (!e.description.isEmpty()) o[QStringLiteral("description")] = e.description;
    if (!e.kind.isEmpty()) o[QStringLiteral("kind")] = e.kind;
    if (e.layer >= 0) o[QStringLiteral("layer")] = e.layer;
    if (!e.unit.isEmpty()) o[QStringLiteral("unit")] = e.unit;
    if (!e.name.isEmpty()) o[QStringLiteral("name")] = e.name;
    if (e.count > 0) {
        o[QStringLiteral("index")] = e.index;
        o[QStringLiteral("count")] = e.count;
    }
    if (!e.status.isEmpty()) o[QStringLiteral("status")] = e.status;
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

bool runEventFromJson(const QByteArray& line, RunEvent& e) {
    const QJsonDocument doc = QJsonDocument::fromJson(line);
    if (!doc.isObject()) return false;
    const QJsonObject o = doc.object();
    const QString ev = o.value(QStringLiteral("ev")).toString();
    bool known = false;
    for (size_t i = 0; i < kEventTypes.size(); ++i)
        if (ev == QLatin1String(kEventTypes[i])) {
            e.type = static_cast<RunEvent::Type>(i);
            known = true;
        }
    if (!known) return false;
    e.t = o.value(QStringLiteral("t")).toDouble();
    e.stage = o.value(QStringLiteral("stage")).toString();
    e.description = o.value(QStringLiteral("description")).toString();
    e.kind = o.value(QStringLiteral("kind")).toString();
    e.layer = o.value(QStringLiteral("layer")).toInt(-1);
    e.unit = o.value(QStringLiteral("unit")).toString();
    e.name = o.value(QStringLiteral("name")).toString();
    e.index = o.value(QStringLiteral("index")).toInt();
    e.count = o.value(QStringLiteral("count")).toInt();
    e.status = o.value(QStringLiteral("status")).toString();
    return true;
}

QString formatDuration(double seconds) {
    if (!(seconds >= 0.0) || std::isinf(seconds)) return QStringLiteral("–");
    const auto total = static_cast<long long>(std::llround(seconds));
    const long long h = total / 3600, m = (total % 3600) / 60, s = total % 60;
    if (h > 0) return QStringLiteral("%1 h %2 min").arg(h).arg(m, 2, 10, QLatin1Char('0'));
    if (m > 0) return QStringLiteral("%1 min %2 s").arg(m).arg(s, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 s").arg(s);
}

QString formatBytes(qint64 bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        ++u;
    }
    return u == 0 ? QStringLiteral("%1 B").arg(bytes)
                  : QStringLiteral("%1 %2").arg(v, 0, 'f', v < 10 ? 2 : 1).arg(QLatin1String(units[u]));
}

}  // namespace olm::ui
