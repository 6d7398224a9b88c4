#include "ui/preview_panel.h"

#include <QHeaderView>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace olm::ui {

namespace {
enum Column { CandidateColumn, DatasetColumn, PenaltyColumn, TextColumn };
constexpr int kSampleRole = Qt::UserRole + 1;

QString fullText(const PreviewSample& s) {
    QString out = QObject::tr("Candidate: %1\nDataset: %2\n").arg(s.candidate, s.dataset);
    if (!s.reasons.isEmpty())
        out += QObject::tr("Penalty %1: %2\n").arg(s.penalty).arg(s.reasons.join(QStringLiteral("; ")));
    out += QObject::tr("\n— Prompt —\n%1\n\n— Generated —\n%2\n").arg(s.prompt, s.text);
    return out;
}
}  // namespace

PreviewPanel::PreviewPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("previews"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* split = new QSplitter(Qt::Vertical);
    m_list = new QTreeWidget;
    m_list->setObjectName(QStringLiteral("previewList"));
    m_list->setRootIsDecorated(false);
    m_list->setUniformRowHeights(true);
    m_list->setHeaderLabels({tr("Candidate"), tr("Dataset"), tr("Penalty"), tr("Generated text")});
    m_list->header()->setStretchLastSection(true);
    m_text = new QPlainTextEdit;
    m_text->setObjectName(QStringLiteral("previewText"));
    m_text->setReadOnly(true);
    m_text->setPlaceholderText(tr("Quality-mode generations of the current candidate appear here."));
    split->addWidget(m_list);
    split->addWidget(m_text);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 1);
    layout->addWidget(split);
    connect(m_list, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
        m_text->setPlainText(item ? item->data(0, kSampleRole).toString() : QString());
    });
}

void PreviewPanel::addSample(const PreviewSample& s) {
    auto* item = new QTreeWidgetItem;
    item->setText(CandidateColumn, s.candidate);
    item->setText(DatasetColumn, s.dataset);
    item->setText(PenaltyColumn, s.reasons.isEmpty() ? QString() : s.reasons.join(QStringLiteral("; ")));
    QString oneLine = s.text.simplified();
    if (oneLine.size() > 160) oneLine = oneLine.left(157) + QStringLiteral("…");
    item->setText(TextColumn, oneLine);
    item->setToolTip(TextColumn, s.prompt.left(400));
    item->setData(0, kSampleRole, fullText(s));
    m_list->insertTopLevelItem(0, item);
    while (m_list->topLevelItemCount() > maxRows())
        delete m_list->takeTopLevelItem(m_list->topLevelItemCount() - 1);
    if (m_list->topLevelItemCount() == 1) m_list->setCurrentItem(item);
}

void PreviewPanel::clear() {
    m_list->clear();
    m_text->clear();
}

int PreviewPanel::count() const { return m_list->topLevelItemCount(); }

}  // namespace olm::ui
