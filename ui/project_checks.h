#pragma once
// The questions the window asks before and around a run, kept out of the
// widgets so they are tested directly: does the output folder's report still
// belong to the config (and what changed), where does an old report go when
// the user starts over, which folders may not be written, and how a core
// message reads in the GUI (no command-line flags).
#include <QString>
#include <QStringList>

namespace olm {
struct MergeConfig;
}

namespace olm::ui {

// The report at reportPath compared with the config: empty when it was
// written by the same config (core's merge_config_hash), else one readable
// line per change ("samples: 1000 → 200", "pool order: a, b → b, a").
// *readable is false when the report has no config to compare with.
QStringList configChanges(const QString& reportPath, const olm::MergeConfig& current,
                          bool* readable = nullptr);

// The report's "status" ("running", "complete", ...); "" when unreadable.
QString reportStatus(const QString& reportPath);

// Renames merge_report.json to merge_report-YYYYMMDD-HHMMSS.json beside it
// (a suffix when that exists); returns the new path, or "" and *error.
QString moveReportAside(const QString& reportPath, QString* error = nullptr);

// Why a folder may not be written by a merge or an export: it is, contains or
// lies inside one of the pool's model folders. "" when it may.
QString folderInPoolProblem(const QString& folder, const QStringList& poolFolders);

// A core message as the GUI says it: command-line flags become the buttons
// that do the same ("--force" → "Resume anyway").
QString plainMessage(QString message);

}  // namespace olm::ui
