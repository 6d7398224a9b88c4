#include "ui/progress_tracker.h"

#include "core/merge/config.h"

#include <QCoreApplication>
#include <QRegularExpression>

#include <algorithm>
#include <numeric>

namespace olm::ui {

RunPlan runPlanFor(const olm::MergeConfig& c, int layers, bool exportModel, bool verifyExport) {
    RunPlan p;
    p.poolSize = static_cast<int>(c.models.size());
    p.datasets = static_cast<int>(c.datasets.size());
    p.layers = layers;
    p.baseSelect = c.base_select;
    p.boundary = c.boundary_select;
    p.layerSwap = c.layer_swap;
    p.tensorSwap = c.tensor_swap;
    p.sweeps = std::max(1, c.effective_sweeps());
    p.holdout = std::clamp(c.holdout, 0.0, 0.95);
    p.references = c.references;
    p.safeguard = c.safeguard != "off";
    p.exportModel = exportModel;
    p.verifyExport = exportModel && verifyExport;
    return p;
}

void ProgressTracker::reset(const RunPlan& plan) { *this = ProgressTracker(plan); }

double ProgressTracker::active(double t) const {
    double a = t - m_pausedTotal;
    if (m_paused) a -= std::max(0.0, t - m_pausedSince);
    return std::max(0.0, a);
}

double ProgressTracker::workSeconds(double t) const { return active(m_finished ? m_lastT : t); }

double ProgressTracker::typical(const QVector<double>& d) {
    if (d.isEmpty()) return -1.0;
    const double longest = *std::max_element(d.begin(), d.end());
    double sum = 0.0;
    int n = 0;
    for (double x : d)
        if (x >= 0.1 * longest) {
            sum += x;
            ++n;
        }
    return n > 0 ? sum / n : -1.0;
}

void ProgressTracker::add(const RunEvent& e) {
    using T = RunEvent::Type;
    m_lastT = std::max(m_lastT, e.t);
    const double a = active(e.t);
    switch (e.type) {
        case T::paused:
            if (!m_paused) {
                m_paused = true;
                m_pausedSince = e.t;
            }
            break;
        case T::resumed:
            if (m_paused) {
                m_pausedTotal += std::max(0.0, e.t - m_pausedSince);
                m_paused = false;
            }
            break;
        case T::stage: {
            if (m_stage == QLatin1String("safeguard")) m_safeguardCost = a - m_stageStart;
            m_stage = e.stage;
            m_description = e.description;
            m_stageStart = a;
            static const QRegularExpression passRe(QStringLiteral("pass (\\d+)"));
            const auto m = passRe.match(e.description);
            if (m.hasMatch()) m_pass = m.captured(1).toInt();
            if (m_stage == QLatin1String("references")) m_refMark = a;
            if (m_stage == QLatin1String("exporting")) m_exportStart = a;
            if (m_stage == QLatin1String("done")) m_finished = true;
            break;
        }
        case T::candidateStarted:
            if (e.kind == QLatin1String("base")) {
                m_wholeStart = a;
                ++m_basesStarted;
            } else if (e.kind == QLatin1String("reference")) {
                if (!m_refStarted) {  // the merge's own scoring ran from the stage start until now
                    m_refs << a - m_refMark;
                    m_refsDone = 1;
                    m_refStarted = true;
                }
                m_refMark = a;
            } else if (e.index == 0) {
                m_posStart = a;
                m_posKind = e.kind;
                if (e.kind == QLatin1String("layer") && e.count > 0) m_candidates = e.count;
                if (e.kind == QLatin1String("tensor")) {
                    if (m_posLayer < 0) m_posLayer = e.layer;
                    if (e.layer == m_posLayer) ++m_unitsSeen;
                }
            }
            break;
        case T::candidateFinished:
            if (e.kind == QLatin1String("base")) {
                if (e.status == QLatin1String("evaluated") && m_wholeStart >= 0) m_whole << a - m_wholeStart;
                ++m_baseDone;
            } else if (e.kind == QLatin1String("reference")) {
                m_refs << a - m_refMark;
                ++m_refsDone;
                m_refMark = a;
            }
            break;
        case T::decision:
            ++m_positionsDone;
            if (e.kind == QLatin1String("base")) break;
            if (m_posStart >= 0) {
                const double d = a - m_posStart;
                if (e.kind == QLatin1String("layer"))
                    m_layer << d;
                else if (e.kind == QLatin1String("tensor"))
                    m_tensor << d;
                else if (e.kind == QLatin1String("boundary"))
                    m_boundary << d;
            }
            if (e.kind == QLatin1String("layer"))
                ++m_layerPositionsDone;
            else if (e.kind == QLatin1String("tensor"))
                ++m_tensorPositionsDone;
            else if (e.kind == QLatin1String("boundary"))
                ++m_boundaryDone;
            m_posStart = -1.0;
            break;
        case T::finished:
            m_finished = true;
            break;
    }
}

int ProgressTracker::candidatesPerPosition() const {
    if (m_candidates > 0) return m_candidates;
    return std::max(1, m_plan.poolSize);
}

double ProgressTracker::wholeModelCost() const {
    if (const double w = typical(m_whole); w > 0) return w;
    // Not measured yet (a resumed run): a position evaluates all but the current choice.
    if (const double l = typical(m_layer); l > 0) return l / std::max(1, candidatesPerPosition() - 1);
    return -1.0;
}

double ProgressTracker::positionCost(const QString& kind) const {
    const QVector<double>& measured = kind == QLatin1String("tensor")     ? m_tensor
                                      : kind == QLatin1String("boundary") ? m_boundary
                                                                          : m_layer;
    if (const double m = typical(measured); m > 0) return m;
    if (kind != QLatin1String("layer"))
        if (const double l = typical(m_layer); l > 0) return l;
    const double w = wholeModelCost();
    return w > 0 ? w * std::max(1, candidatesPerPosition() - 1) : -1.0;
}

int ProgressTracker::positionsPlanned() const {
    int n = 1;  // the base
    if (m_plan.boundary) n += 1;
    const int units = std::max(m_plan.tensorUnits, m_unitsSeen);
    for (int p = 1; p <= m_plan.sweeps; ++p) {
        if (m_plan.layerSwap) n += m_plan.layers;
        if (m_plan.tensorSwap) n += m_plan.layers * units;
    }
    return n;
}

namespace {
int referenceScorings(const RunPlan& p) {
    int n = 1;  // the merge itself
    if (p.references || p.safeguard) n += p.poolSize;
    if (p.references && p.poolSize > 1) n += 1;  // the pool soup
    return n;
}
}  // namespace

// Estimated work of the stages after the current one.
double ProgressTracker::remainingAfterCurrentStage() const {
    const double w = wholeModelCost();
    const double whole = w > 0 ? w : 0.0;
    const double ref = typical(m_refs) > 0 ? typical(m_refs) : whole / (1.0 - m_plan.holdout);
    const double safeguard = m_safeguardCost >= 0 ? m_safeguardCost : 1.0;
    const double exportCost =
        m_plan.exportModel ? (m_plan.verifyExport ? whole : 0.0) + 0.2 * whole + 1.0 : 0.0;
    const int units = std::max(m_plan.tensorUnits, m_unitsSeen);
    // Stage order: base, boundary, (layers, tensors) per pass, references, safeguard, exporting.
    enum { kLoading, kBase, kBoundary, kSearch, kReferences, kSafeguard, kExport, kDone };
    int at = kLoading;
    if (m_stage == QLatin1String("base_select") || m_stage == QLatin1String("baseline"))
        at = kBase;
    else if (m_stage == QLatin1String("boundary"))
        at = kBoundary;
    else if (m_stage == QLatin1String("layers") || m_stage == QLatin1String("tensors"))
        at = kSearch;
    else if (m_stage == QLatin1String("references"))
        at = kReferences;
    else if (m_stage == QLatin1String("safeguard"))
        at = kSafeguard;
    else if (m_stage == QLatin1String("exporting"))
        at = kExport;
    else if (m_stage == QLatin1String("done"))
        at = kDone;
    double left = 0.0;
    if (at < kBase) left += whole * (m_plan.baseSelect ? m_plan.poolSize : 1);
    if (at < kBoundary && m_plan.boundary) left += positionCost(QStringLiteral("boundary"));
    const double layerCost = positionCost(QStringLiteral("layer"));
    const double tensorCost = positionCost(QStringLiteral("tensor"));
    const double perLayerPass = m_plan.layerSwap ? m_plan.layers * std::max(0.0, layerCost) : 0.0;
    const double perTensorPass = m_plan.tensorSwap ? m_plan.layers * units * std::max(0.0, tensorCost) : 0.0;
    if (at < kSearch) left += m_plan.sweeps * (perLayerPass + perTensorPass);
    if (at == kSearch) {
        // Later passes, and this pass's tensor stage when it is in layers.
        left += std::max(0, m_plan.sweeps - m_pass) * (perLayerPass + perTensorPass);
        if (m_stage == QLatin1String("layers")) left += perTensorPass;
    }
    if (at < kReferences) left += referenceScorings(m_plan) * ref;
    if (at < kSafeguard && m_plan.safeguard) left += safeguard;
    if (at < kExport) left += exportCost;
    return left;
}

// Estimated work left in the current stage at time t.
double ProgressTracker::stageRemaining(double t) const {
    const double a = active(t);
    auto unitsLeft = [&](int left, double cost, double started) {
        if (cost <= 0 || left <= 0) return 0.0;
        const double into = started >= 0 ? std::clamp(a - started, 0.0, cost) : 0.0;
        return left * cost - into;
    };
    const double w = wholeModelCost();
    if (m_stage == QLatin1String("base_select") || m_stage == QLatin1String("baseline")) {
        const int planned = m_plan.baseSelect ? m_plan.poolSize : 1;
        const bool inOne = m_basesStarted > m_baseDone;
        return unitsLeft(planned - m_baseDone, w, inOne ? m_wholeStart : -1.0);
    }
    if (m_stage == QLatin1String("boundary"))
        return unitsLeft(1 - m_boundaryDone, positionCost(QStringLiteral("boundary")), m_posStart);
    if (m_stage == QLatin1String("layers")) {
        const int doneThisPass = m_layerPositionsDone - m_plan.layers * (m_pass - 1);
        return unitsLeft(m_plan.layers - doneThisPass, positionCost(QStringLiteral("layer")), m_posStart);
    }
    if (m_stage == QLatin1String("tensors")) {
        const int units = std::max(m_plan.tensorUnits, m_unitsSeen);
        const int planned = m_plan.layers * units;
        const int doneThisPass = m_tensorPositionsDone - planned * (m_pass - 1);
        return unitsLeft(planned - doneThisPass, positionCost(QStringLiteral("tensor")), m_posStart);
    }
    if (m_stage == QLatin1String("references")) {
        const double ref =
            typical(m_refs) > 0 ? typical(m_refs) : (w > 0 ? w / (1.0 - m_plan.holdout) : -1.0);
        return unitsLeft(referenceScorings(m_plan) - m_refsDone, ref, m_refMark);
    }
    if (m_stage == QLatin1String("safeguard")) return std::max(0.0, 1.0 - (a - m_stageStart));
    if (m_stage == QLatin1String("exporting")) {
        const double cost = (m_plan.verifyExport ? std::max(0.0, w) : 0.0) + 0.2 * std::max(0.0, w) + 1.0;
        return std::max(0.0, cost - (a - m_exportStart));
    }
    return 0.0;
}

std::optional<double> ProgressTracker::etaSeconds(double t) const {
    if (m_finished) return 0.0;
    if (wholeModelCost() <= 0 && positionCost(QStringLiteral("layer")) <= 0) return std::nullopt;
    return std::max(0.0, stageRemaining(t) + remainingAfterCurrentStage());
}

double ProgressTracker::fraction(double t) const {
    if (m_finished) return 1.0;
    if (const auto eta = etaSeconds(t)) {
        const double work = workSeconds(t);
        return work + *eta > 0 ? std::clamp(work / (work + *eta), 0.0, 1.0) : 0.0;
    }
    return std::clamp(static_cast<double>(m_positionsDone) / std::max(1, positionsPlanned() + 2), 0.0, 1.0);
}

QString ProgressTracker::stageTitle() const {
    auto tr = [](const char* s) { return QCoreApplication::translate("ProgressTracker", s); };
    const QString pass = m_plan.sweeps > 1 ? tr(" (pass %1)").arg(m_pass) : QString();
    if (m_stage.isEmpty() || m_stage == QLatin1String("loading")) return tr("Loading");
    if (m_stage == QLatin1String("base_select")) return tr("Choosing the base");
    if (m_stage == QLatin1String("baseline")) return tr("Scoring the base");
    if (m_stage == QLatin1String("boundary")) return tr("Boundary");
    if (m_stage == QLatin1String("layers")) return tr("Layers") + pass;
    if (m_stage == QLatin1String("tensors")) return tr("Tensor units") + pass;
    if (m_stage == QLatin1String("references")) return tr("Reference scoring");
    if (m_stage == QLatin1String("safeguard")) return tr("Safeguard");
    if (m_stage == QLatin1String("exporting")) return tr("Export");
    if (m_stage == QLatin1String("done")) return tr("Done");
    return m_stage;
}

}  // namespace olm::ui
