#include "ui/pool_model.h"

#include "ui/run_types.h"

#include <QBrush>
#include <QColor>
#include <QDir>
#include <QFileInfo>
#include <QFont>

#include <algorithm>

namespace olm::ui {

PoolModel::PoolModel(QObject* parent) : QAbstractTableModel(parent) {}

int PoolModel::addFolders(const QStringList& paths) {
    QVector<PoolEntry> fresh;
    for (const auto& p : paths) {
        const QString abs = QFileInfo(p).absoluteFilePath();
        if (!QFileInfo(abs).isDir()) continue;
        const bool known =
            std::any_of(m_entries.cbegin(), m_entries.cend(),
                        [&](const PoolEntry& e) { return e.path == abs; }) ||
            std::any_of(fresh.cbegin(), fresh.cend(), [&](const PoolEntry& e) { return e.path == abs; });
        if (!known) fresh << inspectModelFolder(abs);
    }
    if (fresh.isEmpty()) return 0;
    beginInsertRows({}, static_cast<int>(m_entries.size()),
                    static_cast<int>(m_entries.size() + fresh.size() - 1));
    m_entries << fresh;
    endInsertRows();
    recheck();
    return static_cast<int>(fresh.size());
}

bool PoolModel::addHubModel(const QString& name, const QString& folder) {
    if (std::any_of(m_entries.cbegin(), m_entries.cend(),
                    [&](const PoolEntry& e) { return e.hubName == name; }))
        return false;
    PoolEntry e;
    if (!folder.isEmpty()) {
        e = inspectModelFolder(folder);
    } else {
        e.path = name;
        e.pendingDownload = true;
        e.error = tr("not downloaded yet: fetched from the Hugging Face Hub when the merge starts");
    }
    e.name = name;
    e.hubName = name;
    beginInsertRows({}, static_cast<int>(m_entries.size()), static_cast<int>(m_entries.size()));
    m_entries << e;
    endInsertRows();
    recheck();
    return true;
}

int PoolModel::refreshDownloads(const std::function<QString(const QString&)>& folderOf) {
    int found = 0;
    for (auto& e : m_entries) {
        if (!e.pendingDownload) continue;
        const QString folder = folderOf(e.hubName);
        if (folder.isEmpty()) continue;
        const QString name = e.hubName;
        e = inspectModelFolder(folder);
        e.name = name;
        e.hubName = name;
        ++found;
    }
    if (found) recheck();
    return found;
}

void PoolModel::removeRowsAt(QList<int> rows) {
    std::sort(rows.begin(), rows.end(), std::greater<>());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    for (int r : rows) {
        if (r < 0 || r >= m_entries.size()) continue;
        beginRemoveRows({}, r, r);
        if (m_entries[r].name == m_baseName) m_baseName.clear();
        m_entries.removeAt(r);
        endRemoveRows();
    }
    recheck();
}

int PoolModel::moveRow(int row, int delta) {
    const int to = row + delta;
    if (row < 0 || row >= m_entries.size() || to < 0 || to >= m_entries.size() || delta == 0) return row;
    // beginMoveRows wants the destination before which the row lands.
    beginMoveRows({}, row, row, {}, delta > 0 ? to + 1 : to);
    m_entries.move(row, to);
    endMoveRows();
    recheck();
    return to;
}

void PoolModel::clear() {
    beginResetModel();
    m_entries.clear();
    m_baseName.clear();
    endResetModel();
    emit poolChanged();
}

QStringList PoolModel::paths() const {
    QStringList out;
    for (const auto& e : m_entries) out << e.path;
    return out;
}

QStringList PoolModel::names() const {
    QStringList out;
    for (const auto& e : m_entries) out << e.name;
    return out;
}

int PoolModel::indexOfName(const QString& name) const {
    for (int i = 0; i < m_entries.size(); ++i)
        if (m_entries[i].name == name) return i;
    return -1;
}

void PoolModel::setBaseName(const QString& name) {
    if (name == m_baseName) return;
    m_baseName = name;
    recheck();
}

int PoolModel::baseRow() const {
    const int i = indexOfName(m_baseName);
    return i >= 0 ? i : (m_entries.isEmpty() ? -1 : 0);
}

bool PoolModel::allCompatible() const {
    return !m_entries.isEmpty() &&
           std::all_of(m_entries.cbegin(), m_entries.cend(), [](const PoolEntry& e) { return e.compatible; });
}

void PoolModel::recheck() {
    checkPool(m_entries, baseRow());
    if (!m_entries.isEmpty()) emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    emit poolChanged();
}

int PoolModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_entries.size());
}

int PoolModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant PoolModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_entries.size()) return {};
    const PoolEntry& e = m_entries[index.row()];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case NameColumn:
                return e.name;
            case ArchitectureColumn:
                return e.openable ? e.architecture : tr("—");
            case LayersColumn:
                return e.openable ? QVariant(e.layers) : QVariant();
            case SizeColumn:
                return e.openable ? QStringLiteral("%1 %2").arg(formatBytes(e.bytes), e.dtype) : QString();
            case VerdictColumn:
                return e.verdict;
        }
    }
    if (role == Qt::ToolTipRole) {
        QString tip = QStringLiteral("%1\n%2").arg(e.path, e.openable ? e.verdict : e.error);
        for (const auto& w : e.warnings) tip += QStringLiteral("\n") + w;
        return tip;
    }
    if (role == Qt::ForegroundRole && index.column() == VerdictColumn)
        return QBrush(e.compatible ? QColor(30, 130, 60) : QColor(190, 40, 40));
    if (role == Qt::FontRole && index.row() == baseRow() && index.column() == NameColumn) {
        QFont f;
        f.setBold(true);
        return f;
    }
    return {};
}

QVariant PoolModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (role != Qt::DisplayRole) return {};
    if (orientation == Qt::Vertical) return section + 1;
    switch (section) {
        case NameColumn:
            return tr("Model");
        case ArchitectureColumn:
            return tr("Architecture");
        case LayersColumn:
            return tr("Layers");
        case SizeColumn:
            return tr("Size");
        case VerdictColumn:
            return tr("Pool check");
    }
    return {};
}

}  // namespace olm::ui
