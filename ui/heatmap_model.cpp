#include "ui/heatmap_model.h"

#include "core/merge/search.h"

#include <cmath>

#include <QColor>

#include <algorithm>
#include <limits>
#include <tuple>

namespace olm::ui {
namespace {

// Rows sort as: base, boundary, layer 0, layer 0's tensor units, layer 1, ...
std::tuple<int, int, QString> rowKey(PositionKind kind, int layer, const QString& unit) {
    switch (kind) {
        case PositionKind::base:
            return {0, -1, {}};
        case PositionKind::boundary:
            return {1, -1, unit};  // unit: one part (an original OLM report's tensor-wise entry)
        case PositionKind::layer:
            return {2, layer, {}};
        case PositionKind::tensor:
            return {2, layer, unit};
    }
    return {3, layer, unit};
}

bool scored(CandidateStatus s) { return s == CandidateStatus::evaluated || s == CandidateStatus::reused; }

}  // namespace

HeatmapModel::HeatmapModel(QObject* parent) : QAbstractTableModel(parent) {}

void HeatmapModel::clear() { reset({}, 0, {}); }

void HeatmapModel::reset(const QStringList& poolModels, int layers, const QStringList& datasets) {
    beginResetModel();
    m_rows.clear();
    m_candidates = poolModels;
    m_datasets = datasets;
    m_layers = std::max(0, layers);
    for (int i = 0; i < m_layers; ++i) {
        Row r;
        r.kind = PositionKind::layer;
        r.layer = i;
        r.cells.resize(m_candidates.size());
        m_rows.push_back(std::move(r));
    }
    if (!m_dataset.isEmpty() && !m_datasets.contains(m_dataset)) m_dataset.clear();
    endResetModel();
}

void HeatmapModel::setDataset(const QString& dataset) {
    if (dataset == m_dataset) return;
    m_dataset = dataset;
    if (!m_rows.isEmpty() && !m_candidates.isEmpty())
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
}

void HeatmapModel::setValueKind(ValueKind kind) {
    if (kind == m_valueKind) return;
    m_valueKind = kind;
    if (!m_rows.isEmpty() && !m_candidates.isEmpty())
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
}

void HeatmapModel::setAggregate(Aggregate aggregate) {
    if (aggregate == m_aggregate) return;
    m_aggregate = aggregate;
    if (m_dataset.isEmpty() && !m_rows.isEmpty() && !m_candidates.isEmpty())
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
    emit aggregateChanged();
}

int HeatmapModel::rowOf(PositionKind kind, int layer, const QString& unit) const {
    const auto key = rowKey(kind, layer, unit);
    for (int i = 0; i < m_rows.size(); ++i)
        if (rowKey(m_rows[i].kind, m_rows[i].layer, m_rows[i].unit) == key) return i;
    return -1;
}

int HeatmapModel::columnOf(const QString& candidate) const {
    return static_cast<int>(m_candidates.indexOf(candidate));
}

int HeatmapModel::ensureRow(PositionKind kind, int layer, const QString& unit) {
    if (const int r = rowOf(kind, layer, unit); r >= 0) return r;
    const auto key = rowKey(kind, layer, unit);
    int at = 0;
    while (at < m_rows.size() && rowKey(m_rows[at].kind, m_rows[at].layer, m_rows[at].unit) < key) ++at;
    beginInsertRows({}, at, at);
    Row r;
    r.kind = kind;
    r.layer = layer;
    r.unit = unit;
    r.cells.resize(m_candidates.size());
    m_rows.insert(at, std::move(r));
    if (kind == PositionKind::layer && layer >= m_layers) m_layers = layer + 1;
    endInsertRows();
    return at;
}

int HeatmapModel::ensureColumn(const QString& candidate) {
    if (const int c = columnOf(candidate); c >= 0) return c;
    const int at = static_cast<int>(m_candidates.size());
    beginInsertColumns({}, at, at);
    m_candidates << candidate;
    for (auto& r : m_rows) r.cells.resize(m_candidates.size());
    endInsertColumns();
    return at;
}

void HeatmapModel::noteDatasets(const QMap<QString, double>& scores) {
    for (auto it = scores.cbegin(); it != scores.cend(); ++it)
        if (!m_datasets.contains(it.key())) m_datasets << it.key();
}

void HeatmapModel::emitRowChanged(int row) {
    // A new result can change every rank and the colour scale of its row (the
    // change view's scale is the whole table's).
    if (columnCount() == 0) return;
    if (m_valueKind == ValueKind::change)
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
    else
        emit dataChanged(index(row, 0), index(row, columnCount() - 1));
}

void HeatmapModel::candidateStarted(const CandidateResult& started) {
    const int r = ensureRow(started.kind, started.layer, started.unit);
    const int c = ensureColumn(started.candidate);
    Cell& cell = m_rows[r].cells[c];
    if (cell.status == CandidateStatus::pending) cell.status = CandidateStatus::running;
    emitRowChanged(r);
}

void HeatmapModel::addResult(const CandidateResult& result) {
    const int r = ensureRow(result.kind, result.layer, result.unit);
    const int c = ensureColumn(result.candidate);
    noteDatasets(result.scores);
    Cell& cell = m_rows[r].cells[c];
    cell.status = result.status;
    cell.scores = result.scores;
    cell.accuracy = result.accuracy;
    cell.reason = result.reason;
    emitRowChanged(r);
}

void HeatmapModel::setDecision(const PositionDecision& decision) {
    const int r = ensureRow(decision.kind, decision.layer, decision.unit);
    if (!decision.winner.isEmpty()) ensureColumn(decision.winner);
    m_rows[r].chosen = decision.winner;
    emitRowChanged(r);
    emit headerDataChanged(Qt::Vertical, r, r);
}

QString HeatmapModel::chosen(int row) const {
    return row >= 0 && row < m_rows.size() ? m_rows[row].chosen : QString();
}

CandidateStatus HeatmapModel::status(int row, int column) const {
    if (row < 0 || row >= m_rows.size() || column < 0 || column >= m_candidates.size())
        return CandidateStatus::pending;
    return m_rows[row].cells[column].status;
}

std::optional<double> HeatmapModel::score(int row, int column, const QString& dataset) const {
    if (row < 0 || row >= m_rows.size() || column < 0 || column >= m_candidates.size()) return {};
    const Cell& cell = m_rows[row].cells[column];
    if (!scored(cell.status)) return {};
    const auto it = cell.scores.constFind(dataset);
    if (it == cell.scores.cend()) return {};
    return *it;
}

void HeatmapModel::rowTable(int row, std::vector<std::vector<double>>& scores,
                            std::vector<bool>& eligible) const {
    const auto nc = static_cast<size_t>(m_candidates.size());
    scores.assign(nc, std::vector<double>(static_cast<size_t>(m_datasets.size()), 0.0));
    eligible.assign(nc, false);
    for (int c = 0; c < m_candidates.size(); ++c) {
        bool ok = !m_datasets.isEmpty();
        const Cell& cell = m_rows[row].cells[c];
        for (int d = 0; d < m_datasets.size() && ok; ++d) {
            // A disqualified candidate ranks as in the search: Infinity where improve_all marked it.
            const auto s = cell.status == CandidateStatus::disqualified
                               ? std::optional<double>(cell.scores.value(
                                     m_datasets[d], std::numeric_limits<double>::infinity()))
                               : score(row, c, m_datasets[d]);
            if (!s)
                ok = false;
            else
                scores[static_cast<size_t>(c)][static_cast<size_t>(d)] = *s;
        }
        eligible[static_cast<size_t>(c)] = ok;
    }
}

int HeatmapModel::rank(int row, int column, const QString& dataset) const {
    // core's own ranking: stable, equal scores in column (= pool) order,
    // among the candidates scored on every dataset.
    const int d = static_cast<int>(m_datasets.indexOf(dataset));
    if (d < 0 || column < 0 || column >= m_candidates.size()) return 0;
    std::vector<std::vector<double>> scores;
    std::vector<bool> eligible;
    rowTable(row, scores, eligible);
    if (!eligible[static_cast<size_t>(column)]) return 0;
    return olm::dataset_ranks(scores, eligible)[static_cast<size_t>(column)][static_cast<size_t>(d)];
}

int HeatmapModel::bestColumn(int row) const {
    if (row < 0 || row >= m_rows.size() || m_candidates.isEmpty()) return -1;
    std::vector<std::vector<double>> scores;
    std::vector<bool> eligible;
    rowTable(row, scores, eligible);
    try {
        // Layer and tensor rows are slots (where core's ranks rule is Copeland on ranks), and so is
        // one boundary part that the tensor-wise search visited.
        const bool slot = m_rows[row].kind == PositionKind::layer ||
                          m_rows[row].kind == PositionKind::tensor ||
                          (m_rows[row].kind == PositionKind::boundary && !m_rows[row].unit.isEmpty());
        return olm::select_best(scores, eligible, olm::parse_selection_rule(m_rule.toStdString()), slot);
    } catch (const std::exception&) {
        return -1;
    }
}

void HeatmapModel::setSelectionRule(const QString& rule) {
    m_rule = rule.isEmpty() ? QStringLiteral("ranks") : rule;
    setAggregate(m_rule == QLatin1String("geomean") ? Aggregate::geomean : Aggregate::rankSum);
    if (!m_rows.isEmpty() && !m_candidates.isEmpty())
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
}

int HeatmapModel::referenceColumn(int row) const {
    if (row < 0 || row >= m_rows.size()) return -1;
    const Row& r = m_rows[row];
    for (int c = 0; c < r.cells.size(); ++c)
        if (r.cells[c].status == CandidateStatus::reused) return c;
    if (r.kind == PositionKind::base && !r.chosen.isEmpty()) return columnOf(r.chosen);
    return -1;
}

std::optional<double> HeatmapModel::change(int row, int column, const QString& dataset) const {
    const int ref = referenceColumn(row);
    if (ref < 0) return {};
    auto ratio = [&](const QString& d) -> std::optional<double> {
        const auto s = score(row, column, d), r = score(row, ref, d);
        if (!s || !r) return {};
        return std::max(*s, 1e-9) / std::max(*r, 1e-9);
    };
    if (!dataset.isEmpty()) {
        const auto x = ratio(dataset);
        return x ? std::optional<double>(100.0 * (*x - 1.0)) : std::nullopt;
    }
    if (m_datasets.isEmpty()) return {};
    double logSum = 0.0;
    for (const auto& d : m_datasets) {
        const auto x = ratio(d);
        if (!x) return {};
        logSum += std::log(*x);
    }
    return 100.0 * (std::exp(logSum / m_datasets.size()) - 1.0);
}

std::optional<double> HeatmapModel::accuracy(int row, int column, const QString& dataset) const {
    if (row < 0 || row >= m_rows.size() || column < 0 || column >= m_candidates.size()) return {};
    const Cell& cell = m_rows[row].cells[column];
    if (!scored(cell.status)) return {};
    if (!dataset.isEmpty()) {
        const auto it = cell.accuracy.constFind(dataset);
        return it == cell.accuracy.cend() ? std::nullopt : std::optional<double>(100.0 * *it);
    }
    if (cell.accuracy.isEmpty()) return {};
    double sum = 0.0;
    for (double a : cell.accuracy) sum += a;
    return 100.0 * sum / cell.accuracy.size();
}

double HeatmapModel::changeScale() const {
    double top = 0.0;
    for (int r = 0; r < m_rows.size(); ++r)
        for (int c = 0; c < m_candidates.size(); ++c)
            if (const auto x = change(r, c, m_dataset)) top = std::max(top, std::abs(*x));
    return top;
}

std::optional<double> HeatmapModel::rankSum(int row, int column) const {
    if (m_datasets.isEmpty()) return {};
    double sum = 0.0;
    for (const auto& d : m_datasets) {
        const int r = rank(row, column, d);
        if (r == 0) return {};
        sum += r;
    }
    return sum;
}

std::optional<double> HeatmapModel::geometricMean(int row, int column) const {
    if (m_datasets.isEmpty()) return {};
    double sum = 0.0;
    for (const auto& d : m_datasets) {
        const auto s = score(row, column, d);
        if (!s) return {};
        sum += std::log(std::max(*s, 1e-9));
    }
    return std::exp(sum / m_datasets.size());
}

std::optional<double> HeatmapModel::value(int row, int column) const {
    if (m_valueKind == ValueKind::change) return change(row, column, m_dataset);
    if (m_valueKind == ValueKind::accuracy) return accuracy(row, column, m_dataset);
    if (m_dataset.isEmpty())
        return m_aggregate == Aggregate::geomean ? geometricMean(row, column) : rankSum(row, column);
    if (m_valueKind == ValueKind::rank) {
        const int r = rank(row, column, m_dataset);
        return r > 0 ? std::optional<double>(r) : std::nullopt;
    }
    return score(row, column, m_dataset);
}

std::optional<std::pair<double, double>> HeatmapModel::rowRange(int row) const {
    std::optional<std::pair<double, double>> range;
    for (int c = 0; c < m_candidates.size(); ++c) {
        const auto v = value(row, c);
        if (!v || !std::isfinite(*v)) continue;
        if (!range) range = std::pair{*v, *v};
        range->first = std::min(range->first, *v);
        range->second = std::max(range->second, *v);
    }
    return range;
}

int HeatmapModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int HeatmapModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_candidates.size());
}

QString HeatmapModel::rowLabel(const Row& row) const {
    switch (row.kind) {
        case PositionKind::base:
            return tr("base");
        case PositionKind::boundary:
            return row.unit.isEmpty() ? tr("boundary") : tr("boundary %1").arg(row.unit);
        case PositionKind::layer:
            return tr("layer %1").arg(row.layer);
        case PositionKind::tensor:
            return tr("layer %1 %2").arg(row.layer).arg(row.unit);
    }
    return {};
}

QString HeatmapModel::tooltip(int row, int column) const {
    const Row& r = m_rows[row];
    const Cell& cell = r.cells[column];
    QStringList lines;
    lines << QStringLiteral("<b>%1</b> at %2").arg(m_candidates[column].toHtmlEscaped(), rowLabel(r));
    lines << tr("status: %1").arg(candidateStatusName(cell.status));
    if (!cell.reason.isEmpty()) lines << tr("reason: %1").arg(cell.reason.toHtmlEscaped());
    for (const auto& d : m_datasets) {
        const auto it = cell.scores.constFind(d);
        if (it == cell.scores.cend()) continue;
        QString line = QStringLiteral("%1: %2").arg(d.toHtmlEscaped()).arg(*it, 0, 'g', 10);
        if (const int rk = rank(row, column, d); rk > 0) line += tr(" (rank %1)").arg(rk);
        if (const auto a = cell.accuracy.constFind(d); a != cell.accuracy.cend())
            line += tr(", accuracy %1%").arg(*a * 100.0, 0, 'f', 1);
        lines << line;
    }
    if (const auto ch = change(row, column, QString()); ch && referenceColumn(row) != column)
        lines << tr("change vs the current choice (%1): %2 % of the loss (%3)")
                     .arg(m_candidates[referenceColumn(row)].toHtmlEscaped())
                     .arg(*ch, 0, 'f', 2)
                     .arg(*ch < 0   ? tr("better")
                          : *ch > 0 ? tr("worse")
                                    : tr("equal"));
    if (referenceColumn(row) == column)
        lines << tr("<i>the position's current choice (the reference of the change view)</i>");
    if (const auto rs = rankSum(row, column)) lines << tr("rank sum: %1").arg(*rs);
    if (const auto gm = geometricMean(row, column)) lines << tr("geometric mean: %1").arg(*gm, 0, 'g', 6);
    if (r.chosen == m_candidates[column]) lines << tr("<i>chosen for this position</i>");
    if (bestColumn(row) == column) lines << tr("<i>best under the %1 rule</i>").arg(m_rule);
    lines << tr("<small>losses: lower is better</small>");
    return lines.join(QStringLiteral("<br>"));
}

QVariant HeatmapModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size() || index.column() >= m_candidates.size()) return {};
    const int row = index.row(), col = index.column();
    const Cell& cell = m_rows[row].cells[col];
    switch (role) {
        case Qt::DisplayRole: {
            if (cell.status == CandidateStatus::disqualified) return QStringLiteral("✕");
            if (cell.status == CandidateStatus::failed) return QStringLiteral("!");
            if (cell.status == CandidateStatus::running) return QStringLiteral("…");
            const auto v = value(row, col);
            if (!v) return {};
            if (m_valueKind == ValueKind::change) {
                if (col == referenceColumn(row)) return QStringLiteral("0");
                return QStringLiteral("%1%2")
                    .arg(*v > 0 ? QStringLiteral("+") : QString())
                    .arg(*v, 0, 'f', std::abs(*v) >= 10 ? 0 : 1);
            }
            if (m_valueKind == ValueKind::accuracy) return QString::number(*v, 'f', 0);
            if (m_dataset.isEmpty() || m_valueKind == ValueKind::rank) return QString::number(*v, 'g', 4);
            return QString::number(*v, 'f', *v >= 100 ? 1 : 3);
        }
        case Qt::ToolTipRole:
            return tooltip(row, col);
        case ValueRole: {
            const auto v = value(row, col);
            return v ? QVariant(*v) : QVariant();
        }
        case NormalizedRole: {
            const auto v = value(row, col);
            const auto range = rowRange(row);
            if (!v || !range) return {};
            const double span = range->second - range->first;
            const double t = span > 0 ? (*v - range->first) / span : 0.0;
            return m_valueKind == ValueKind::accuracy ? 1.0 - t : t;  // accuracy: higher is better
        }
        case DivergingRole: {
            if (m_valueKind != ValueKind::change) return {};
            const auto v = value(row, col);
            if (!v) return {};
            const double scale = changeScale();
            return scale > 0 ? std::clamp(*v / scale, -1.0, 1.0) : 0.0;
        }
        case BestRole:
            return bestColumn(row) == col;
        case StatusRole:
            return static_cast<int>(cell.status);
        case ChosenRole:
            return !m_rows[row].chosen.isEmpty() && m_rows[row].chosen == m_candidates[col];
        case ReasonRole:
            return cell.reason;
        case Qt::TextAlignmentRole:
            return int(Qt::AlignCenter);
        default:
            return {};
    }
}

QVariant HeatmapModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Horizontal) {
        if (section < 0 || section >= m_candidates.size()) return {};
        if (role == Qt::ToolTipRole) return m_candidates[section];
        if (role == Qt::DisplayRole) {
            // Blends ("0.5*(current+ft_1)", "current+(ft_1-base)") wrap before
            // the second operand so columns stay narrow.
            QString name = m_candidates[section];
            const int plus = static_cast<int>(name.indexOf(QLatin1Char('+')));
            if (plus > 0 && name.size() > 12) name.insert(plus, QLatin1Char('\n'));
            return name;
        }
        return {};
    }
    if (section < 0 || section >= m_rows.size()) return {};
    if (role == Qt::DisplayRole) return rowLabel(m_rows[section]);
    if (role == Qt::ToolTipRole && !m_rows[section].chosen.isEmpty())
        return tr("chosen: %1").arg(m_rows[section].chosen);
    return {};
}

}  // namespace olm::ui
