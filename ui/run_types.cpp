#include "ui/run_types.h"

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
