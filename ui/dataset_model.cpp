#include "ui/dataset_model.h"

#include "ui/core_bridge.h"

#include <QBrush>
#include <QColor>
#include <QComboBox>
#include <QFileInfo>

#include <algorithm>

namespace olm::ui {

DatasetModel::DatasetModel(QObject* parent) : QAbstractTableModel(parent) {}

int DatasetModel::addFiles(const QStringList& paths, const QString& mode) {
    int added = 0;
    for (const auto& p : paths) {
        DatasetEntry e;
        const QFileInfo fi(p);
        e.path = fi.absoluteFilePath();
        e.name = fi.fileName();
        e.mode = mode;
        if (std::any_of(m_entries.cbegin(), m_entries.cend(),
                        [&](const DatasetEntry& x) { return x.path == e.path; }))
            continue;
        e.samples = countConversations(e.path, &e.error);
        addEntry(e);
        ++added;
    }
    return added;
}

void DatasetModel::addEntry(const DatasetEntry& entry) {
    const int at = static_cast<int>(m_entries.size());
    beginInsertRows({}, at, at);
    m_entries << entry;
    endInsertRows();
    emit datasetsChanged();
}

void DatasetModel::removeRowsAt(QList<int> rows) {
    std::sort(rows.begin(), rows.end(), std::greater<>());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    for (int r : rows) {
        if (r < 0 || r >= m_entries.size()) continue;
        beginRemoveRows({}, r, r);
        m_entries.removeAt(r);
        endRemoveRows();
    }
    emit datasetsChanged();
}

void DatasetModel::clear() {
    beginResetModel();
    m_entries.clear();
    endResetModel();
    emit datasetsChanged();
}

bool DatasetModel::setMode(int row, const QString& mode) { return setData(index(row, ModeColumn), mode); }

int DatasetModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_entries.size());
}

int DatasetModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant DatasetModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_entries.size()) return {};
    const DatasetEntry& e = m_entries[index.row()];
    if (role == Qt::DisplayRole || role == Qt::EditRole) {
        switch (index.column()) {
            case FileColumn:
                return e.name;
            case ModeColumn:
                return e.mode;
            case SamplesColumn:
                return e.samples >= 0 ? QVariant(e.samples) : QVariant(tr("unreadable"));
        }
    }
    if (role == Qt::ToolTipRole) return e.error.isEmpty() ? e.path : e.error;
    if (role == Qt::ForegroundRole && !e.error.isEmpty()) return QBrush(QColor(190, 40, 40));
    return {};
}

bool DatasetModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() || index.column() != ModeColumn || role != Qt::EditRole) return false;
    const QString mode = value.toString().trimmed();
    if (mode.isEmpty() || m_entries[index.row()].mode == mode) return false;
    m_entries[index.row()].mode = mode;
    emit dataChanged(index, index);
    emit datasetsChanged();
    return true;
}

Qt::ItemFlags DatasetModel::flags(const QModelIndex& index) const {
    auto f = QAbstractTableModel::flags(index);
    if (index.column() == ModeColumn) f |= Qt::ItemIsEditable;
    return f;
}

QVariant DatasetModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (role != Qt::DisplayRole || orientation != Qt::Horizontal) return {};
    switch (section) {
        case FileColumn:
            return tr("File");
        case ModeColumn:
            return tr("Mode");
        case SamplesColumn:
            return tr("Samples");
    }
    return {};
}

ModeDelegate::ModeDelegate(QStringList modes, QObject* parent)
    : QStyledItemDelegate(parent), m_modes(std::move(modes)) {}

QWidget* ModeDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const {
    auto* combo = new QComboBox(parent);
    combo->setObjectName(QStringLiteral("modeEditor"));
    combo->addItems(m_modes);
    // Commit as soon as a mode is picked, not only when focus leaves.
    connect(combo, &QComboBox::activated, this, [this, combo] {
        emit const_cast<ModeDelegate*>(this)->commitData(combo);
        emit const_cast<ModeDelegate*>(this)->closeEditor(combo);
    });
    return combo;
}

void ModeDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
    auto* combo = static_cast<QComboBox*>(editor);
    const QString mode = index.data(Qt::EditRole).toString();
    if (combo->findText(mode) < 0) combo->addItem(mode);
    combo->setCurrentText(mode);
}

void ModeDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
    model->setData(index, static_cast<QComboBox*>(editor)->currentText(), Qt::EditRole);
}

}  // namespace olm::ui
