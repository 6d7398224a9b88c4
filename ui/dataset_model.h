#pragma once
// Evaluation datasets: conversation-format JSON files, each with its mode
// (exact / bigram / quality), edited in place through ModeDelegate's combo.
#include <QAbstractTableModel>
#include <QStringList>
#include <QStyledItemDelegate>
#include <QVector>

namespace olm::ui {

struct DatasetEntry {
    QString path;  // absolute file path
    QString name;  // the config key (file name)
    QString mode = QStringLiteral("exact");
    int samples = -1;  // conversations in the file, -1 when unreadable
    QString error;     // why the file could not be read
};

class DatasetModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { FileColumn, ModeColumn, SamplesColumn, ColumnCount };

    explicit DatasetModel(QObject* parent = nullptr);

    // Adds files not listed yet; returns how many were added.
    int addFiles(const QStringList& paths, const QString& mode = QStringLiteral("exact"));
    void addEntry(const DatasetEntry& entry);
    void removeRowsAt(QList<int> rows);
    void clear();
    const QVector<DatasetEntry>& entries() const { return m_entries; }
    bool setMode(int row, const QString& mode);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    void datasetsChanged();

private:
    QVector<DatasetEntry> m_entries;
};

// A combo box editor listing the evaluation modes.
class ModeDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    ModeDelegate(QStringList modes, QObject* parent = nullptr);
    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option,
                          const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;

private:
    QStringList m_modes;
};

}  // namespace olm::ui
