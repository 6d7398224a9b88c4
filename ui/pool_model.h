#pragma once
// The model pool as a table: name, architecture, layers, size and the pool
// compatibility verdict against the base (from core/io through core_bridge).
// Rows keep the pool order, which is also the merge's tie-break order.
//
// Opening folders and the pool check run on a worker thread (a slow or network
// file system must not freeze the window): every edit starts a new check, whose
// results replace the rows' verdicts unless a later edit has superseded it.
#include "ui/core_bridge.h"

#include <QAbstractTableModel>
#include <QThreadPool>

#include <functional>

namespace olm::ui {

class PoolModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { NameColumn, ArchitectureColumn, LayersColumn, SizeColumn, VerdictColumn, ColumnCount };

    explicit PoolModel(QObject* parent = nullptr);
    ~PoolModel() override;

    // Adds folders not in the pool yet (inspecting each); returns how many were added.
    int addFolders(const QStringList& paths);
    // Adds a Hugging Face model by name: folder is its snapshot in the Hugging
    // Face cache, or "" when it is not downloaded yet (the merge fetches it).
    // Returns false when the name is already in the pool.
    bool addHubModel(const QString& name, const QString& folder);
    // Models still awaiting their download whose folder folderOf(hubName) now
    // names (non-empty): re-inspected and re-checked. Returns how many.
    int refreshDownloads(const std::function<QString(const QString&)>& folderOf);
    void removeRowsAt(QList<int> rows);
    // Moves a row one step up (-1) or down (+1); returns its new row.
    int moveRow(int row, int delta);
    void clear();

    const QVector<PoolEntry>& entries() const { return m_entries; }
    QStringList paths() const;
    QStringList names() const;
    int indexOfName(const QString& name) const;

    // The base for the compatibility check: a model name, or "" = the first model.
    void setBaseName(const QString& name);
    QString baseName() const { return m_baseName; }
    int baseRow() const;
    // False while a check runs (the verdicts are not final yet).
    bool allCompatible() const;
    // A pool check is running (rows added since are shown as "checking…").
    bool checking() const { return m_checking; }
    // Runs the event loop until the running check has delivered its results
    // (true), or timeoutMs passed (false). Returns at once when none runs.
    bool waitForCheck(int timeoutMs = 60000);
    // Called on the check's thread before it reads any folder (tests stand in
    // a slow disk with it). Set it while no check runs.
    void setCheckHook(std::function<void()> hook) { m_checkHook = std::move(hook); }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    void poolChanged();
    // A pool check finished and its verdicts are in entries().
    void checked();

private:
    void recheck();
    void applyCheck(quint64 generation, const QVector<PoolEntry>& entries);

    QVector<PoolEntry> m_entries;
    QString m_baseName;
    QThreadPool m_workers;  // one thread: checks run in order, the last one wins
    quint64 m_generation = 0;
    bool m_checking = false;
    std::function<void()> m_checkHook;
};

}  // namespace olm::ui
