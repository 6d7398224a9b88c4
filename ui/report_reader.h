#pragma once
// Reads a merge_report.json (this program's schema, or the original OLM's
// {metrics: {dataset: {model: score}}, best_model}) into the values the
// heatmap and chart show, so a finished or interrupted merge can be reviewed
// and resumed.
#include "ui/run_types.h"

#include <QString>
#include <QVector>

namespace olm::ui {

struct ReportContents {
    QStringList pool;      // pool model names, pool order (may be empty for old reports)
    QStringList datasets;  // dataset names
    int layers = 0;        // highest recorded layer + 1
    QVector<CandidateResult> candidates;
    QVector<PositionDecision> decisions;  // in the order the search made them
    QVector<ReferenceScores> references;  // the base and reference points
    QString status;                       // the report's "status" when present
};

// Throws nothing: returns false and sets error on unreadable files.
bool readMergeReport(const QString& path, ReportContents& out, QString* error = nullptr);

}  // namespace olm::ui
