#include "ui/dataset_panel.h"

#include "core/merge/config.h"
#include "ui/core_bridge.h"

#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QMimeData>
#include <QPushButton>

#include <QSpinBox>
#include <QTableView>
#include <QUrl>
#include <QVBoxLayout>
#include <functional>

#include <set>

namespace olm::ui {
namespace {
class DeleteKeyFilter : public QObject {
public:
    DeleteKeyFilter(QObject* parent, std::function<void()> action)
        : QObject(parent), m_action(std::move(action)) {}
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::KeyPress) {
            const int key = static_cast<QKeyEvent*>(event)->key();
            if (key == Qt::Key_Delete || key == Qt::Key_Backspace) {
                m_action();
                return true;
            }
        }
        return QObject::eventFilter(watched, event);
    }

private:
    std::function<void()> m_action;
};
}  // namespace

DatasetPanel::DatasetPanel(QWidget* parent) : QGroupBox(tr("Datasets"), parent) {
    setObjectName(QStringLiteral("datasetPanel"));
    setAcceptDrops(true);
    m_model = new DatasetModel(this);
    auto* layout = new QVBoxLayout(this);
    m_view = new QTableView;
    m_view->setObjectName(QStringLiteral("datasets"));
    m_view->setModel(m_model);
    m_view->setItemDelegateForColumn(DatasetModel::ModeColumn, new ModeDelegate(evalModeNames(), m_view));
    m_view->setEditTriggers(QAbstractItemView::AllEditTriggers);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(22);
    m_view->horizontalHeader()->setSectionResizeMode(DatasetModel::FileColumn, QHeaderView::Stretch);
    m_view->horizontalHeader()->setSectionResizeMode(DatasetModel::ModeColumn, QHeaderView::ResizeToContents);
    m_view->horizontalHeader()->setSectionResizeMode(DatasetModel::SamplesColumn,
                                                     QHeaderView::ResizeToContents);
    layout->addWidget(m_view, 1);
    // Delete (and Backspace) remove the selected rows.
    m_view->installEventFilter(new DeleteKeyFilter(m_view, [this] { removeSelected(); }));

    auto* row = new QHBoxLayout;
    auto* add = new QPushButton(tr("Add…"));
    add->setObjectName(QStringLiteral("datasetAdd"));
    auto* remove = new QPushButton(tr("Remove"));
    remove->setObjectName(QStringLiteral("datasetRemove"));
    connect(add, &QPushButton::clicked, this, &DatasetPanel::addFileDialog);
    connect(remove, &QPushButton::clicked, this, &DatasetPanel::removeSelected);
    m_buttons << add << remove;
    row->addWidget(add);
    row->addWidget(remove);
    row->addStretch(1);
    row->addWidget(new QLabel(tr("Samples")));
    m_samples = new QSpinBox;
    m_samples->setObjectName(QStringLiteral("samples"));
    m_samples->setRange(0, 1000000);
    m_samples->setSpecialValueText(tr("all"));
    m_samples->setToolTip(tr("Selection samples scored per dataset (0 = all)"));
    row->addWidget(m_samples);
    row->addWidget(new QLabel(tr("Held out")));
    m_holdout = new QDoubleSpinBox;
    m_holdout->setObjectName(QStringLiteral("holdout"));
    m_holdout->setRange(0.0, 0.9);
    m_holdout->setSingleStep(0.05);
    m_holdout->setToolTip(tr("Fraction of each dataset kept out of the selection and scored at the end"));
    row->addWidget(m_holdout);
    layout->addLayout(row);
}

void DatasetPanel::dragEnterEvent(QDragEnterEvent* event) {
    if (isEnabled() && event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void DatasetPanel::dropEvent(QDropEvent* event) {
    QStringList files;
    for (const auto& u : event->mimeData()->urls())
        if (u.isLocalFile() && QFileInfo(u.toLocalFile()).isFile()) files << u.toLocalFile();
    if (files.isEmpty()) return;
    m_model->addFiles(files);
    event->acceptProposedAction();
}

void DatasetPanel::addFileDialog() {
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Add evaluation datasets"), {}, tr("Conversation datasets (*.json *.jsonl);;All files (*)"));
    m_model->addFiles(files);
}

void DatasetPanel::removeSelected() {
    QList<int> rows;
    for (const auto& idx : m_view->selectionModel()->selectedRows()) rows << idx.row();
    m_model->removeRowsAt(rows);
}

void DatasetPanel::setEditable(bool editable) {
    for (auto* b : m_buttons) b->setEnabled(editable);
    m_view->setEditTriggers(editable ? QAbstractItemView::AllEditTriggers
                                     : QAbstractItemView::NoEditTriggers);
    m_samples->setEnabled(editable);
    m_holdout->setEnabled(editable);
    setAcceptDrops(editable);
}

void DatasetPanel::applyTo(olm::MergeConfig& config) const {
    std::set<QString> folders;
    for (const auto& e : m_model->entries()) folders.insert(QFileInfo(e.path).absolutePath());
    const bool common = folders.size() == 1;
    config.dataset_dir =
        common ? std::filesystem::path(folders.begin()->toStdString()) : std::filesystem::path();
    config.datasets.clear();
    for (const auto& e : m_model->entries()) {
        olm::MergeDatasetEntry d;
        d.name = (common ? QFileInfo(e.path).fileName() : e.path).toStdString();
        d.path = e.path.toStdString();
        d.mode = e.mode.toStdString();
        config.datasets.push_back(std::move(d));
    }
    config.samples = m_samples->value();
    config.holdout = m_holdout->value();
}

void DatasetPanel::loadFrom(const olm::MergeConfig& config) {
    m_model->clear();
    for (const auto& d : config.datasets) {
        DatasetEntry e;
        e.path = QString::fromStdString(d.path.string());
        e.name = QString::fromStdString(d.name);
        e.mode = QString::fromStdString(d.mode);
        e.samples = countConversations(e.path, &e.error);
        m_model->addEntry(e);
    }
    m_samples->setValue(static_cast<int>(config.samples));
    m_holdout->setValue(config.holdout);
}

}  // namespace olm::ui
