#include "ui/pool_model.h"

#include "ui/run_types.h"

#include <QBrush>
#include <QColor>
#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QFont>
#include <QTimer>

#include <algorithm>

namespace olm::ui {

namespace {

// A row whose folder is read by the next check.
PoolEntry pendingEntry(const QString& path, const QString& hubName = {}) {
    PoolEntry e;
    e.path = path;
    e.name = hubName.isEmpty() ? QFileInfo(path).fileName() : hubName;
    e.hubName = hubName;
    e.inspected = false;
    e.verdict = QObject::tr("checking…");
    return e;
}

}  // namespace

PoolModel::PoolModel(QObject* parent) : QAbstractTableModel(parent) {
    m_workers.setMaxThreadCount(1);
    m_workers.setObjectName(QStringLiteral("pool check"));
}

PoolModel::~PoolModel() {
    // A check still reading headers posts to this object: wait for it first.
    m_workers.clear();
    m_workers.waitForDone();
}

int PoolModel::addFolders(const QStringList& paths) {
    QVector<PoolEntry> fresh;
    for (const auto& p : paths) {
        const QString abs = QFileInfo(p).absoluteFilePath();
        if (!QFileInfo(abs).isDir()) continue;
        const bool known =
            std::any_of(m_entries.cbegin(), m_entries.cend(),
                        [&](const PoolEntry& e) { return e.path == abs; }) ||
            std::any_of(fresh.cbegin(), fresh.cend(), [&](const PoolEntry& e) { return e.path == abs; });
        if (!known) fresh << pendingEntry(abs);
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
        e = pendingEntry(folder, name);
    } else {
        e.path = name;
        e.name = name;
        e.hubName = name;
        e.pendingDownload = true;
        e.error = tr("not downloaded yet: fetched from the Hugging Face Hub when the merge starts");
    }
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
        e = pendingEntry(folder, e.hubName);
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
    ++m_generation;  // a check still running is for rows that are gone
    const bool wasChecking = m_checking;
    m_checking = false;
    endResetModel();
    emit poolChanged();
    if (wasChecking) emit checked();
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
    return !m_checking && !m_entries.isEmpty() &&
           std::all_of(m_entries.cbegin(), m_entries.cend(), [](const PoolEntry& e) { return e.compatible; });
}

void PoolModel::recheck() {
    const quint64 generation = ++m_generation;
    m_checking = !m_entries.isEmpty();
    if (m_checking) {
        // The worker owns a copy; edits meanwhile start a newer check. Checks
        // queued behind the running one are superseded by this one: drop them.
        m_workers.clear();
        m_workers.start([this, generation, entries = m_entries, base = baseRow(),
                         hook = m_checkHook]() mutable {
            if (hook) hook();
            for (auto& e : entries) {
                if (e.inspected) continue;
                const QString name = e.name, hub = e.hubName;
                e = inspectModelFolder(e.path);
                e.name = name;
                e.hubName = hub;
            }
            checkPool(entries, base);
            QMetaObject::invokeMethod(
                this, [this, generation, entries] { applyCheck(generation, entries); }, Qt::QueuedConnection);
        });
    }
    if (!m_entries.isEmpty()) emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    emit poolChanged();
    if (!m_checking) emit checked();
}

void PoolModel::applyCheck(quint64 generation, const QVector<PoolEntry>& entries) {
    if (generation != m_generation || entries.size() != m_entries.size()) return;  // superseded
    m_entries = entries;
    m_checking = false;
    emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    emit checked();
}

bool PoolModel::waitForCheck(int timeoutMs) {
    if (!m_checking) return true;
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    connect(this, &PoolModel::checked, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    while (m_checking && timer.isActive()) loop.exec();
    return !m_checking;
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
        return !e.inspected ? QBrush(QColor(110, 110, 110))
                            : QBrush(e.compatible ? QColor(30, 130, 60) : QColor(190, 40, 40));
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
