#include "ui/pool_panel.h"

#include "core/io/hf_cache.h"
#include "core/merge/config.h"

#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>

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
namespace {
// Base selector entries before the model names.
constexpr int kFirstModel = 0;
constexpr int kAutoSelect = 1;
constexpr int kNamedBase = 2;
}  // namespace

PoolPanel::PoolPanel(QWidget* parent) : QGroupBox(tr("Model pool"), parent) {
    setObjectName(QStringLiteral("poolPanel"));
    setAcceptDrops(true);
    m_model = new PoolModel(this);

    auto* layout = new QVBoxLayout(this);
    auto* hint = new QLabel(tr("Drag Hugging Face model folders here, or use Add."));
    hint->setObjectName(QStringLiteral("poolHint"));
    hint->setEnabled(false);
    layout->addWidget(hint);

    m_view = new QTableView;
    m_view->setObjectName(QStringLiteral("modelPool"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->verticalHeader()->setDefaultSectionSize(22);
    // A long model name must not push the verdict off-screen: the name column
    // has a fixed, adjustable width and elides in the middle (full name and
    // verdict in the tooltip); the verdict takes the rest.
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_view->horizontalHeader()->setSectionResizeMode(PoolModel::NameColumn, QHeaderView::Interactive);
    m_view->horizontalHeader()->resizeSection(PoolModel::NameColumn, 130);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setTextElideMode(Qt::ElideMiddle);
    m_view->setWordWrap(false);
    layout->addWidget(m_view, 1);
    // Delete (and Backspace) remove the selected rows.
    m_view->installEventFilter(new DeleteKeyFilter(m_view, [this] { removeSelected(); }));

    // A Hugging Face model by name: the cache, else the Hub when the merge starts.
    auto* hub = new QHBoxLayout;
    m_hubName = new QLineEdit;
    m_hubName->setObjectName(QStringLiteral("poolHubName"));
    m_hubName->setPlaceholderText(tr("org/name or org/name@revision (Hugging Face)"));
    auto* addName = new QPushButton(tr("Add name"));
    addName->setObjectName(QStringLiteral("poolAddName"));
    connect(addName, &QPushButton::clicked, this, [this] { addHubName(m_hubName->text()); });
    connect(m_hubName, &QLineEdit::returnPressed, this, [this] { addHubName(m_hubName->text()); });
    hub->addWidget(m_hubName, 1);
    hub->addWidget(addName);
    m_buttons << addName;
    layout->addLayout(hub);

    auto* buttons = new QHBoxLayout;
    auto addButton = [&](const QString& text, const QString& name, auto slot) {
        auto* b = new QPushButton(text);
        b->setObjectName(name);
        connect(b, &QPushButton::clicked, this, slot);
        buttons->addWidget(b);
        m_buttons << b;
        return b;
    };
    addButton(tr("Add…"), QStringLiteral("poolAdd"), &PoolPanel::addFolderDialog);
    addButton(tr("Remove"), QStringLiteral("poolRemove"), &PoolPanel::removeSelected);
    addButton(tr("Up"), QStringLiteral("poolUp"), [this] { moveSelected(-1); });
    addButton(tr("Down"), QStringLiteral("poolDown"), [this] { moveSelected(+1); });
    buttons->addStretch(1);
    buttons->addWidget(new QLabel(tr("Base")));
    m_base = new QComboBox;
    m_base->setObjectName(QStringLiteral("baseModel"));
    m_base->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    buttons->addWidget(m_base);
    layout->addLayout(buttons);

    refreshBaseChoices();
    connect(m_model, &PoolModel::poolChanged, this, &PoolPanel::refreshBaseChoices);
    connect(m_base, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_model->setBaseName(i >= kNamedBase ? m_base->itemText(i) : QString()); });
}

QStringList PoolPanel::foldersFromUrls(const QList<QUrl>& urls) {
    QStringList out;
    for (const auto& u : urls) {
        if (!u.isLocalFile()) continue;
        const QFileInfo fi(u.toLocalFile());
        if (fi.isDir()) out << fi.absoluteFilePath();
    }
    return out;
}

void PoolPanel::setDropHighlight(bool on) {
    m_dropHighlight = on;
    m_view->setStyleSheet(
        on ? QStringLiteral("QTableView#modelPool { border: 2px dashed #2f7de1; background: #eaf2fd; }")
           : QString());
}

void PoolPanel::dragEnterEvent(QDragEnterEvent* event) {
    if (acceptDrops() && event->mimeData()->hasUrls() &&
        !foldersFromUrls(event->mimeData()->urls()).isEmpty()) {
        event->acceptProposedAction();
        setDropHighlight(true);
    }
}

void PoolPanel::dragLeaveEvent(QDragLeaveEvent* event) {
    setDropHighlight(false);
    QGroupBox::dragLeaveEvent(event);
}

void PoolPanel::dragMoveEvent(QDragMoveEvent* event) {
    if (isEnabled() && event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void PoolPanel::dropEvent(QDropEvent* event) {
    setDropHighlight(false);
    const QStringList folders = foldersFromUrls(event->mimeData()->urls());
    if (folders.isEmpty()) return;
    m_model->addFolders(folders);
    event->acceptProposedAction();
}

void PoolPanel::addFolderDialog() {
    // Several folders at once (Ctrl/Shift-click), starting in the project's folder.
    QFileDialog d(this, tr("Add Hugging Face model folders"), m_startFolder);
    d.setFileMode(QFileDialog::Directory);
    d.setOption(QFileDialog::DontUseNativeDialog, true);
    d.setOption(QFileDialog::ShowDirsOnly, true);
    for (auto* v : d.findChildren<QAbstractItemView*>())
        v->setSelectionMode(QAbstractItemView::ExtendedSelection);
    if (d.exec() == QDialog::Accepted) m_model->addFolders(d.selectedFiles());
}

namespace {

// The snapshot folder of a Hub model name in the Hugging Face cache, or "".
QString cachedHubFolder(const std::string& name) {
    try {
        if (auto dir = olm::find_in_hf_cache(olm::parse_hub_model_name(name)))
            return QString::fromStdString(dir->string());
    } catch (const std::exception&) {
    }
    return {};
}

}  // namespace

bool PoolPanel::addHubName(const QString& text) {
    const std::string name = text.trimmed().toStdString();
    if (!olm::is_hub_model_name(name)) {
        m_hubName->setToolTip(tr("\"%1\" is not a Hugging Face model name (org/name or org/name@revision)")
                                  .arg(text.trimmed()));
        return false;
    }
    m_model->addHubModel(QString::fromStdString(name), cachedHubFolder(name));
    m_hubName->clear();
    m_hubName->setToolTip({});
    return true;
}

void PoolPanel::refreshDownloads() {
    m_model->refreshDownloads([](const QString& name) { return cachedHubFolder(name.toStdString()); });
}

void PoolPanel::removeSelected() {
    QList<int> rows;
    for (const auto& idx : m_view->selectionModel()->selectedRows()) rows << idx.row();
    m_model->removeRowsAt(rows);
}

void PoolPanel::moveSelected(int delta) {
    const auto rows = m_view->selectionModel()->selectedRows();
    if (rows.size() != 1) return;
    const int to = m_model->moveRow(rows.first().row(), delta);
    m_view->selectRow(to);
}

void PoolPanel::refreshBaseChoices() {
    const QString current = m_base->currentIndex() >= kNamedBase ? m_base->currentText() : QString();
    const int special = m_base->currentIndex() >= 0 && m_base->currentIndex() < kNamedBase
                            ? m_base->currentIndex()
                            : kFirstModel;
    QSignalBlocker block(m_base);
    m_base->clear();
    m_base->insertItem(kFirstModel, tr("first model"));
    m_base->insertItem(kAutoSelect, tr("auto-select (best rank)"));
    for (const auto& n : m_model->names()) m_base->addItem(n);
    const int at = current.isEmpty() ? -1 : m_base->findText(current);
    m_base->setCurrentIndex(at >= kNamedBase ? at : special);
    if (at < kNamedBase && !m_model->baseName().isEmpty()) m_model->setBaseName({});
}

void PoolPanel::setEditable(bool editable) {
    for (auto* b : m_buttons) b->setEnabled(editable);
    m_base->setEnabled(editable);
    m_hubName->setEnabled(editable);
    setAcceptDrops(editable);
}

void PoolPanel::applyTo(olm::MergeConfig& config) const {
    // One common parent folder: models_dir + folder names (like the original
    // configs); otherwise absolute paths.
    // Hugging Face models are written by name.
    std::set<QString> parents;
    for (const auto& e : m_model->entries())
        if (e.hubName.isEmpty()) parents.insert(QFileInfo(e.path).absolutePath());
    config.models.clear();
    const bool common = parents.size() == 1;
    // With Hugging Face names only, models_dir stays (they may live there as org_name).
    if (!parents.empty())
        config.models_dir =
            common ? std::filesystem::path(parents.begin()->toStdString()) : std::filesystem::path();
    for (const auto& e : m_model->entries())
        config.models.push_back((!e.hubName.isEmpty() ? e.hubName : common ? e.name : e.path).toStdString());
    const int choice = m_base->currentIndex();
    config.base_select = choice == kAutoSelect;
    config.base_model_name = choice >= kNamedBase ? m_base->currentText().toStdString() : std::string();
}

void PoolPanel::loadFrom(const olm::MergeConfig& config) {
    m_model->clear();
    const auto folders_of = config.model_paths();
    for (std::size_t i = 0; i < folders_of.size() && i < config.models.size(); ++i) {
        const QString folder = QString::fromStdString(folders_of[i].string());
        if (olm::is_hub_model_name(config.models[i]))
            m_model->addHubModel(QString::fromStdString(config.models[i]),
                                 QFileInfo(folder).isDir() ? folder : QString());
        else
            m_model->addFolders({folder});
    }
    int choice = config.base_select ? kAutoSelect : kFirstModel;
    if (!config.base_model_name.empty()) {
        // base_model_name names a model as written in `models`; match its folder name.
        const auto names = config.model_names();
        const auto folders = config.model_paths();
        for (std::size_t i = 0; i < names.size() && i < folders.size(); ++i) {
            if (names[i] != config.base_model_name) continue;
            const int at =
                m_base->findText(QFileInfo(QString::fromStdString(folders[i].string())).fileName());
            if (at >= kNamedBase) choice = at;
        }
        if (choice < kNamedBase) {
            const int at = m_base->findText(QString::fromStdString(config.base_model_name));
            if (at >= kNamedBase) choice = at;
        }
    }
    m_base->setCurrentIndex(choice);
}

}  // namespace olm::ui
