#pragma once
// One progress model for a whole merge run: loading, the base, the boundary,
// every layer (and tensor-unit) position of every pass, the reference
// scorings, the safeguard and the export. It is fed the run's events with
// their times (live from the worker, or replayed from a recorded stream) and
// estimates what is left from the measured cost of each kind of evaluation:
//
//   whole model   the base (or each pool model when the base is auto-selected),
//                 timed from its candidate events; a reference scoring costs
//                 the same per sample on the selection and held-out splits
//   position      a layer / boundary / tensor position, timed from its first
//                 candidate to its decision (gating and reused candidates are
//                 part of the mean)
//
// Time spent paused is not work: it is left out of every measurement.
#include "ui/run_types.h"

#include <QString>
#include <QVector>

#include <optional>

namespace olm {
struct MergeConfig;
}

namespace olm::ui {

struct RunPlan {
    int poolSize = 0;
    int datasets = 0;
    int layers = 0;
    bool baseSelect = false;
    bool boundary = false;
    bool layerSwap = true;
    bool tensorSwap = false;
    int tensorUnits = 0;  // per layer; 0: learnt from the first tensor pass
    int sweeps = 1;
    double holdout = 0.0;  // share of the samples scored only by the reference scorings
    bool references = true;
    bool safeguard = true;
    bool exportModel = false;
    bool verifyExport = false;
};

// The plan of a run of `config` over a pool whose base has `layers` layers.
RunPlan runPlanFor(const olm::MergeConfig& config, int layers, bool exportModel, bool verifyExport);

class ProgressTracker {
public:
    ProgressTracker() = default;
    explicit ProgressTracker(const RunPlan& plan) : m_plan(plan) {}

    void reset(const RunPlan& plan);
    void add(const RunEvent& event);

    const RunPlan& plan() const { return m_plan; }
    // The stage the run is in, as the user reads it ("Layers — pass 1").
    QString stageTitle() const;
    QString stage() const { return m_stage; }
    bool paused() const { return m_paused; }
    bool finished() const { return m_finished; }
    // Work seconds so far (paused time left out) at time t.
    double workSeconds(double t) const;
    // Estimated work seconds left at time t; empty until a cost is measured.
    std::optional<double> etaSeconds(double t) const;
    // Share of the work done in [0, 1] (elapsed / (elapsed + eta)); by
    // position count before any cost is measured.
    double fraction(double t) const;
    // Positions decided / planned in the search (for "layer 3/8").
    int positionsDone() const { return m_positionsDone; }
    int positionsPlanned() const;

private:
    double wholeModelCost() const;  // seconds for one whole-model scoring of the selection split
    double positionCost(const QString& kind) const;
    int candidatesPerPosition() const;
    double remainingAfterCurrentStage() const;
    double stageRemaining(double t) const;

    RunPlan m_plan;
    QString m_stage, m_description;
    int m_pass = 1;
    bool m_paused = false, m_finished = false;
    double m_pausedSince = 0.0, m_pausedTotal = 0.0;
    double m_lastT = 0.0;
    double active(double t) const;  // t minus the paused time before it

    // Measured durations (active seconds). A mean leaves out those under a
    // tenth of the longest: results replayed from a resumed report.
    static double typical(const QVector<double>& durations);
    QVector<double> m_whole, m_layer, m_tensor, m_boundary, m_refs;
    double m_wholeStart = -1.0;
    double m_posStart = -1.0;
    QString m_posKind;
    int m_posLayer = -1;
    int m_candidates = 0;  // candidates per layer position, once seen
    int m_unitsSeen = 0;   // tensor units of the first tensor layer
    int m_positionsDone = 0;
    int m_layerPositionsDone = 0, m_tensorPositionsDone = 0, m_boundaryDone = 0, m_baseDone = 0;
    int m_basesStarted = 0;
    // stage accounting
    double m_stageStart = 0.0;  // active time the current stage began
    int m_refsDone = 0;         // reference scorings finished (the merge's own counts as the first)
    bool m_refStarted = false;
    double m_refMark = 0.0;  // active time the current reference scoring began
    double m_safeguardCost = -1.0, m_exportStart = -1.0;
};

}  // namespace olm::ui
