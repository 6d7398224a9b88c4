#include "ui/welcome_page.h"

#include "core/merge/config.h"
#include "ui/core_bridge.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>
#include <QWizardPage>

#include <set>

namespace olm::ui {

WelcomePage::WelcomePage(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("welcomePage"));
    auto* outer = new QHBoxLayout(this);
    outer->addStretch(1);
    auto* col = new QVBoxLayout;
    outer->addLayout(col, 3);
    outer->addStretch(1);
    col->addStretch(1);
    auto* title =
        new QLabel(tr("<h1>OLM Studio</h1>"
                      "<p>Merge language models layer by layer: every layer is taken from the pool model "
                      "(or blend) that scores best on your datasets.</p>"));
    title->setWordWrap(true);
    col->addWidget(title);
    auto button = [&](const QString& text, const QString& name, const QString& tip) {
        auto* b = new QPushButton(text);
        b->setObjectName(name);
        b->setToolTip(tip);
        b->setMinimumHeight(34);
        col->addWidget(b);
        return b;
    };
    connect(button(tr("Open the demo project"), QStringLiteral("welcomeDemo"),
                   tr("A tiny base and three specialists; the merge takes about a minute")),
            &QPushButton::clicked, this, &WelcomePage::openDemo);
    connect(button(tr("Open a project…"), QStringLiteral("welcomeOpen"), tr("A merge config (YAML)")),
            &QPushButton::clicked, this, &WelcomePage::openProjectDialog);
    connect(button(tr("New project…"), QStringLiteral("welcomeNew"),
                   tr("Choose pool models, datasets and an output folder")),
            &QPushButton::clicked, this, &WelcomePage::newProject);
    col->addSpacing(12);
    col->addWidget(new QLabel(tr("<b>Recent projects</b>")));
    m_recent = new QListWidget;
    m_recent->setObjectName(QStringLiteral("recentProjects"));
    m_recent->setMaximumHeight(180);
    col->addWidget(m_recent);
    connect(m_recent, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { emit openRecent(item->data(Qt::UserRole).toString()); });
    col->addStretch(2);
}

void WelcomePage::setRecent(const QStringList& paths) {
    m_recent->clear();
    for (const auto& p : paths) {
        auto* item = new QListWidgetItem(
            QStringLiteral("%1 — %2").arg(QFileInfo(p).fileName(), QFileInfo(p).absolutePath()));
        item->setData(Qt::UserRole, p);
        item->setToolTip(p);
        m_recent->addItem(item);
    }
    if (paths.isEmpty()) {
        auto* item = new QListWidgetItem(tr("(none yet)"));
        item->setFlags(Qt::NoItemFlags);
        m_recent->addItem(item);
    }
}

// --- the wizard -------------------------------------------------------------

NewProjectWizard::NewProjectWizard(const QString& startFolder, QWidget* parent)
    : QWizard(parent), m_start(startFolder.isEmpty() ? QDir::homePath() : startFolder) {
    setObjectName(QStringLiteral("newProjectWizard"));
    setWindowTitle(tr("New project"));
    setOption(QWizard::NoBackButtonOnStartPage);

    // 1. pool
    auto* pool = new QWizardPage;
    pool->setTitle(tr("Pool models"));
    pool->setSubTitle(
        tr("Hugging Face model folders, or org/name ids of models in the local cache. "
           "The first is the base unless you choose another later."));
    auto* pl = new QVBoxLayout(pool);
    m_models = new QListWidget;
    m_models->setObjectName(QStringLiteral("wizardModels"));
    m_models->setSelectionMode(QAbstractItemView::ExtendedSelection);
    pl->addWidget(m_models);
    auto* prow = new QHBoxLayout;
    auto* addFolder = new QPushButton(tr("Add folders…"));
    connect(addFolder, &QPushButton::clicked, this, [this] {
        QFileDialog d(this, tr("Model folders"), m_start);
        d.setFileMode(QFileDialog::Directory);
        d.setOption(QFileDialog::DontUseNativeDialog, true);
        for (auto* v : d.findChildren<QAbstractItemView*>())
            v->setSelectionMode(QAbstractItemView::ExtendedSelection);
        if (d.exec()) addModels(d.selectedFiles());
    });
    prow->addWidget(addFolder);
    auto* id = new QLineEdit;
    id->setObjectName(QStringLiteral("wizardModelId"));
    id->setPlaceholderText(tr("org/name"));
    prow->addWidget(id, 1);
    auto* addId = new QPushButton(tr("Add id"));
    connect(addId, &QPushButton::clicked, this, [this, id] {
        if (!id->text().trimmed().isEmpty()) addModels({id->text().trimmed()});
        id->clear();
    });
    prow->addWidget(addId);
    auto* removeModel = new QPushButton(tr("Remove"));
    connect(removeModel, &QPushButton::clicked, this, [this] { qDeleteAll(m_models->selectedItems()); });
    prow->addWidget(removeModel);
    pl->addLayout(prow);
    addPage(pool);

    // 2. datasets
    auto* data = new QWizardPage;
    data->setTitle(tr("Datasets"));
    data->setSubTitle(tr("Conversation JSON / JSON Lines files the merge is scored on."));
    auto* dl = new QVBoxLayout(data);
    m_datasets = new QListWidget;
    m_datasets->setObjectName(QStringLiteral("wizardDatasets"));
    dl->addWidget(m_datasets);
    auto* drow = new QHBoxLayout;
    auto* addData = new QPushButton(tr("Add files…"));
    connect(addData, &QPushButton::clicked, this, [this] {
        addDatasets(QFileDialog::getOpenFileNames(this, tr("Datasets"), m_start,
                                                  tr("Conversations (*.json *.jsonl)")));
    });
    drow->addWidget(addData);
    drow->addWidget(new QLabel(tr("Mode of new files")));
    m_mode = new QComboBox;
    m_mode->setObjectName(QStringLiteral("wizardMode"));
    m_mode->addItems(evalModeNames());
    drow->addWidget(m_mode);
    drow->addStretch(1);
    dl->addLayout(drow);
    addPage(data);

    // 3. output
    auto* out = new QWizardPage;
    out->setTitle(tr("Output"));
    out->setSubTitle(tr("Where the report and the merged model go, and where the project is saved."));
    auto* form = new QFormLayout(out);
    m_output = new QLineEdit(QDir(m_start).filePath(QStringLiteral("merge_output")));
    m_output->setObjectName(QStringLiteral("wizardOutput"));
    form->addRow(tr("Output folder"), m_output);
    m_configPath = new QLineEdit(QDir(m_start).filePath(QStringLiteral("olm_config.yaml")));
    m_configPath->setObjectName(QStringLiteral("wizardConfig"));
    form->addRow(tr("Project file"), m_configPath);
    m_preset = new QComboBox;
    m_preset->setObjectName(QStringLiteral("wizardPreset"));
    m_preset->addItem(tr("better — blends and task arithmetic, geometric-mean selection"),
                      QStringLiteral("better"));
    m_preset->addItem(tr("original — whole layers, rank sum"), QStringLiteral("original"));
    m_preset->addItem(tr("thorough — better, three sweeps"), QStringLiteral("thorough"));
    form->addRow(tr("Search"), m_preset);
    addPage(out);
}

void NewProjectWizard::addModels(const QStringList& items) {
    for (const auto& i : items) {
        if (i.isEmpty() || !m_models->findItems(i, Qt::MatchExactly).isEmpty()) continue;
        m_models->addItem(i);
    }
}

void NewProjectWizard::addDatasets(const QStringList& files) {
    for (const auto& f : files) {
        if (f.isEmpty()) continue;
        auto* item = new QListWidgetItem(QStringLiteral("%1  [%2]").arg(f, m_mode->currentText()));
        item->setData(Qt::UserRole, f);
        item->setData(Qt::UserRole + 1, m_mode->currentText());
        m_datasets->addItem(item);
    }
}

bool NewProjectWizard::save(QString* error) const {
    auto fail = [&](const QString& why) {
        if (error) *error = why;
        return false;
    };
    if (m_models->count() == 0) return fail(tr("Add at least one pool model."));
    if (m_datasets->count() == 0) return fail(tr("Add at least one dataset."));
    if (m_output->text().trimmed().isEmpty()) return fail(tr("Choose an output folder."));
    if (m_configPath->text().trimmed().isEmpty()) return fail(tr("Choose where the project file goes."));
    olm::MergeConfig c;
    for (int i = 0; i < m_models->count(); ++i) {
        const QString m = m_models->item(i)->text();
        c.models.push_back((QFileInfo(m).isDir() ? QFileInfo(m).absoluteFilePath() : m).toStdString());
    }
    std::set<QString> folders;
    for (int i = 0; i < m_datasets->count(); ++i)
        folders.insert(QFileInfo(m_datasets->item(i)->data(Qt::UserRole).toString()).absolutePath());
    const bool common = folders.size() == 1;
    if (common) c.dataset_dir = folders.begin()->toStdString();
    for (int i = 0; i < m_datasets->count(); ++i) {
        const QFileInfo f(m_datasets->item(i)->data(Qt::UserRole).toString());
        olm::MergeDatasetEntry d;
        d.name = (common ? f.fileName() : f.absoluteFilePath()).toStdString();
        d.path = f.absoluteFilePath().toStdString();
        d.mode = m_datasets->item(i)->data(Qt::UserRole + 1).toString().toStdString();
        c.datasets.push_back(std::move(d));
    }
    c.output_dir = QDir::cleanPath(m_output->text().trimmed()).toStdString();
    c.search = m_preset->currentData().toString().toStdString();
    const QString path = m_configPath->text().trimmed();
    c.config_path = path.toStdString();
    try {
        QDir().mkpath(QFileInfo(path).absolutePath());
        olm::save_merge_config(c, path.toStdString());
    } catch (const std::exception& e) {
        return fail(QString::fromUtf8(e.what()));
    }
    return true;
}

void NewProjectWizard::accept() {
    QString error;
    if (!save(&error)) {
        QMessageBox::warning(this, tr("New project"), error);
        return;
    }
    QWizard::accept();
}

}  // namespace olm::ui
