#include "ui/main_window.h"

#include "core/util/version.h"

#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSplitter>
#include <QStatusBar>
#include <QTableWidget>
#include <QVBoxLayout>

namespace olm::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(QStringLiteral("OLM Studio %1").arg(QString::fromStdString(olm::version())));
    setObjectName(QStringLiteral("MainWindow"));

    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->addWidget(buildPoolPanel(), 2);
    leftLayout->addWidget(buildDatasetPanel(), 1);
    leftLayout->addWidget(buildDirectionPanel());

    auto* centre = new QWidget;
    auto* centreLayout = new QVBoxLayout(centre);
    auto* heatmapPlaceholder = new QLabel(tr("Layer scores appear here while a merge runs."));
    heatmapPlaceholder->setObjectName(QStringLiteral("heatmap"));
    heatmapPlaceholder->setAlignment(Qt::AlignCenter);
    heatmapPlaceholder->setMinimumSize(480, 320);
    centreLayout->addWidget(heatmapPlaceholder, 1);
    m_log = new QPlainTextEdit;
    m_log->setObjectName(QStringLiteral("log"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    centreLayout->addWidget(m_log);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(left);
    splitter->addWidget(centre);
    splitter->setStretchFactor(1, 1);
    setCentralWidget(splitter);

    m_status = new QLabel(tr("Ready"));
    statusBar()->addWidget(m_status, 1);
    resize(1200, 760);
}

QWidget* MainWindow::buildPoolPanel() {
    auto* box = new QGroupBox(tr("Model pool"));
    box->setObjectName(QStringLiteral("poolPanel"));
    auto* layout = new QVBoxLayout(box);
    m_modelPool = new QListWidget;
    m_modelPool->setObjectName(QStringLiteral("modelPool"));
    layout->addWidget(new QLabel(tr("Drag Hugging Face model folders here.")));
    layout->addWidget(m_modelPool);
    return box;
}

QWidget* MainWindow::buildDatasetPanel() {
    auto* box = new QGroupBox(tr("Datasets"));
    box->setObjectName(QStringLiteral("datasetPanel"));
    auto* layout = new QVBoxLayout(box);
    m_datasets = new QTableWidget(0, 2);
    m_datasets->setObjectName(QStringLiteral("datasets"));
    m_datasets->setHorizontalHeaderLabels({tr("File"), tr("Mode")});
    m_datasets->horizontalHeader()->setStretchLastSection(true);
    layout->addWidget(m_datasets);
    return box;
}

QWidget* MainWindow::buildDirectionPanel() {
    auto* box = new QGroupBox(tr("Direction"));
    box->setObjectName(QStringLiteral("directionPanel"));
    auto* layout = new QVBoxLayout(box);
    m_forward = new QRadioButton(tr("Forward (first layer to last)"));
    m_backward = new QRadioButton(tr("Backward (last layer to first)"));
    m_forward->setChecked(true);
    layout->addWidget(m_forward);
    layout->addWidget(m_backward);
    auto* buttons = new QHBoxLayout;
    m_start = new QPushButton(tr("Start"));
    m_pause = new QPushButton(tr("Pause"));
    m_resume = new QPushButton(tr("Resume"));
    m_pause->setEnabled(false);
    m_resume->setEnabled(false);
    buttons->addWidget(m_start);
    buttons->addWidget(m_pause);
    buttons->addWidget(m_resume);
    layout->addLayout(buttons);
    return box;
}

}  // namespace olm::ui
