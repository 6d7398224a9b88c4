#include "ui/export_dialog.h"

#include "ui/project_checks.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace olm::ui {

ExportDialog::ExportDialog(const ExportSettings& d, const QStringList& poolFolders, const QString& what,
                           QWidget* parent)
    : QDialog(parent), m_pool(poolFolders) {
    setObjectName(QStringLiteral("exportDialog"));
    setWindowTitle(tr("Export the merged model"));
    auto* layout = new QVBoxLayout(this);
    if (!what.isEmpty()) {
        auto* l = new QLabel(what);
        l->setObjectName(QStringLiteral("exportWhat"));
        l->setWordWrap(true);
        layout->addWidget(l);
    }
    auto* form = new QFormLayout;
    m_folder = new QLineEdit(d.folder);
    m_folder->setObjectName(QStringLiteral("exportFolder"));
    m_folder->setMinimumWidth(360);
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getExistingDirectory(this, tr("Export folder"), m_folder->text());
        if (!f.isEmpty()) m_folder->setText(f);
    });
    auto* row = new QHBoxLayout;
    row->addWidget(m_folder, 1);
    row->addWidget(browse);
    form->addRow(tr("Folder"), row);
    m_dtype = new QComboBox;
    m_dtype->setObjectName(QStringLiteral("exportDtype"));
    m_dtype->addItem(tr("as the pool stores it"), QString());
    m_dtype->addItem(QStringLiteral("float32"), QStringLiteral("float32"));
    m_dtype->addItem(QStringLiteral("bfloat16"), QStringLiteral("bfloat16"));
    m_dtype->addItem(QStringLiteral("float16"), QStringLiteral("float16"));
    m_dtype->setCurrentIndex(std::max(0, m_dtype->findData(d.dtype)));
    form->addRow(tr("Tensor dtype"), m_dtype);
    m_shard = new QSpinBox;
    m_shard->setObjectName(QStringLiteral("exportShard"));
    m_shard->setRange(1, 100000);
    m_shard->setSuffix(tr(" MB"));
    m_shard->setValue(static_cast<int>(std::clamp<qint64>(d.shardBytes / 1'000'000, 1, 100000)));
    m_shard->setToolTip(tr("Largest safetensors shard; bigger models are split into several files"));
    form->addRow(tr("Shard size"), m_shard);
    layout->addLayout(form);
    m_error = new QLabel;
    m_error->setObjectName(QStringLiteral("exportError"));
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #b02020"));
    layout->addWidget(m_error);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Export"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &ExportDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &ExportDialog::reject);
    layout->addWidget(m_buttons);
    connect(m_folder, &QLineEdit::textChanged, this, &ExportDialog::updateState);
    updateState();
}

ExportSettings ExportDialog::settings() const {
    ExportSettings s;
    s.folder = QDir::cleanPath(m_folder->text().trimmed());
    s.dtype = m_dtype->currentData().toString();
    s.shardBytes = static_cast<qint64>(m_shard->value()) * 1'000'000;
    return s;
}

QString ExportDialog::problem() const {
    const QString f = m_folder->text().trimmed();
    if (f.isEmpty()) return tr("Choose a folder for the merged model.");
    if (QDir::isRelativePath(f)) return tr("Give the folder as a full path.");
    if (const QString p = folderInPoolProblem(f, m_pool); !p.isEmpty())
        return tr("Not here: %1. The export never writes into the pool.").arg(p);
    return {};
}

void ExportDialog::updateState() {
    const QString p = problem();
    m_error->setText(p);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(p.isEmpty());
}

void ExportDialog::accept() {
    if (!problem().isEmpty()) return;
    const QDir dir(settings().folder);
    if (dir.exists() && !dir.isEmpty()) {
        QMessageBox ask(QMessageBox::Warning, tr("Replace the folder?"),
                        tr("%1 is not empty. The export replaces its contents with the merged model.")
                            .arg(settings().folder),
                        QMessageBox::NoButton, this);
        ask.setObjectName(QStringLiteral("exportReplaceDialog"));
        QPushButton* replace = ask.addButton(tr("Replace"), QMessageBox::DestructiveRole);
        ask.addButton(QMessageBox::Cancel);
        ask.exec();
        if (ask.clickedButton() != replace) return;
    }
    QDialog::accept();
}

}  // namespace olm::ui
