#include "ui/preview_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSet>
#include <QSplitter>
#include <QTextBrowser>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace olm::ui {

namespace {
enum Column { PositionColumn, CandidateColumn, DatasetColumn, PenaltyColumn, TextColumn };
constexpr int kSampleRole = Qt::UserRole + 1;
constexpr int kMaxSamples = 4000;

QString fullText(const PreviewSample& s) {
    QString out = QObject::tr("Position: %1\nCandidate: %2\nDataset: %3\nScore: %4\n")
                      .arg(s.position, s.candidate, s.dataset)
                      .arg(s.penalty, 0, 'g', 4);
    if (!s.reasons.isEmpty()) out += QObject::tr("Penalty: %1\n").arg(s.reasons.join(QStringLiteral("; ")));
    out += QObject::tr("\n— Prompt —\n%1\n\n— Generated —\n%2\n").arg(s.prompt, s.text);
    return out;
}

QString promptKey(const PreviewSample& s) { return s.dataset + QLatin1Char('\x1f') + s.prompt; }
}  // namespace

PreviewPanel::PreviewPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("previews"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Position")));
    m_positionBox = new QComboBox;
    m_positionBox->setObjectName(QStringLiteral("previewPosition"));
    m_positionBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bar->addWidget(m_positionBox);
    bar->addWidget(new QLabel(tr("Prompt")));
    m_prompt = new QComboBox;
    m_prompt->setObjectName(QStringLiteral("previewPrompt"));
    m_prompt->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_prompt->setMinimumContentsLength(30);
    bar->addWidget(m_prompt, 1);
    auto* legend =
        new QLabel(tr("<span style='background:#e06666;color:white'>&nbsp;forbidden script&nbsp;</span> "
                      "<span style='background:#fff2a8'>&nbsp;repeated word&nbsp;</span> "
                      "<span style='background:#f4c7c3'>&nbsp;over-long word&nbsp;</span>"));
    bar->addWidget(legend);
    layout->addLayout(bar);

    auto* split = new QSplitter(Qt::Vertical);
    split->setObjectName(QStringLiteral("previewSplit"));
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    m_columns = new QWidget;
    m_columns->setObjectName(QStringLiteral("previewColumns"));
    m_columnsLayout = new QHBoxLayout(m_columns);
    m_columnsLayout->setContentsMargins(2, 2, 2, 2);
    scroll->setWidget(m_columns);
    split->addWidget(scroll);

    auto* bottom = new QSplitter(Qt::Horizontal);
    m_list = new QTreeWidget;
    m_list->setObjectName(QStringLiteral("previewList"));
    m_list->setRootIsDecorated(false);
    m_list->setUniformRowHeights(true);
    m_list->setHeaderLabels(
        {tr("Position"), tr("Candidate"), tr("Dataset"), tr("Penalty"), tr("Generated text")});
    m_list->header()->setStretchLastSection(true);
    m_text = new QPlainTextEdit;
    m_text->setObjectName(QStringLiteral("previewText"));
    m_text->setReadOnly(true);
    m_text->setPlaceholderText(tr("Quality-mode generations appear here as candidates are scored."));
    bottom->addWidget(m_list);
    bottom->addWidget(m_text);
    bottom->setStretchFactor(0, 2);
    bottom->setStretchFactor(1, 1);
    split->addWidget(bottom);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    layout->addWidget(split, 1);
    connect(m_list, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
        m_text->setPlainText(item ? item->data(0, kSampleRole).toString() : QString());
    });
    connect(m_positionBox, &QComboBox::activated, this, [this](int i) {
        m_followLatest = i == m_positionBox->count() - 1;
        setPosition(m_positionBox->itemText(i));
    });
    connect(m_prompt, &QComboBox::currentIndexChanged, this, &PreviewPanel::rebuildColumns);
    rebuildColumns();
}

QString PreviewPanel::highlight(const QString& text, const PreviewDetectors& d, QStringList* findings) {
    QString html;
    QSet<QString> seen;
    QStringList found;
    const QList<uint> cps = text.toUcs4();
    // Words: maximal runs of non-space code points (as core/eval splits them).
    int i = 0;
    const int n = static_cast<int>(cps.size());
    auto esc = [](const QList<uint>& part) {
        return QString::fromUcs4(reinterpret_cast<const char32_t*>(part.data()), part.size()).toHtmlEscaped();
    };
    while (i < n) {
        if (QChar::isSpace(cps[i])) {
            html += cps[i] == '\n' ? QStringLiteral("<br>") : QStringLiteral(" ");
            ++i;
            continue;
        }
        int j = i;
        while (j < n && !QChar::isSpace(cps[j])) ++j;
        const QList<uint> word = cps.mid(i, j - i);
        const QString plain = QString::fromUcs4(reinterpret_cast<const char32_t*>(word.data()), word.size());
        QString inner;
        for (uint c : word) {
            bool forbidden = false;
            for (const auto& r : d.forbidden) forbidden = forbidden || (c >= r.first && c <= r.second);
            const QString ch = esc({c});
            if (forbidden) {
                inner += QStringLiteral("<span style='background:#e06666;color:white'>%1</span>").arg(ch);
                found << QObject::tr("forbidden script: U+%1")
                             .arg(QString::number(c, 16).toUpper().rightJustified(4, QLatin1Char('0')));
            } else {
                inner += ch;
            }
        }
        const bool tooLong = word.size() > d.maxWordChars;
        const QString key = plain.toLower();
        const bool repeated = seen.contains(key);
        seen.insert(key);
        if (tooLong) {
            html +=
                QStringLiteral("<span style='background:#f4c7c3' title='longer than %1 characters'>%2</span>")
                    .arg(d.maxWordChars)
                    .arg(inner);
            found << QObject::tr("over-long word: %1").arg(plain.left(40));
        } else if (repeated) {
            html += QStringLiteral("<span style='background:#fff2a8'>%1</span>").arg(inner);
            found << QObject::tr("repeated: %1").arg(plain);
        } else {
            html += inner;
        }
        i = j;
    }
    if (findings) {
        found.removeDuplicates();
        *findings = found;
    }
    return html;
}

void PreviewPanel::addSample(const PreviewSample& s) {
    m_samples << s;
    if (m_samples.size() > kMaxSamples) m_samples.remove(0, m_samples.size() - kMaxSamples);
    auto* item = new QTreeWidgetItem;
    item->setText(PositionColumn, s.position);
    item->setText(CandidateColumn, s.candidate);
    item->setText(DatasetColumn, s.dataset);
    item->setText(PenaltyColumn, s.reasons.isEmpty() ? QString() : s.reasons.join(QStringLiteral("; ")));
    QString oneLine = s.text.simplified();
    if (oneLine.size() > 160) oneLine = oneLine.left(157) + QStringLiteral("…");
    item->setText(TextColumn, oneLine);
    item->setToolTip(TextColumn, s.prompt.left(400));
    item->setToolTip(PenaltyColumn, item->text(PenaltyColumn));
    item->setData(0, kSampleRole, fullText(s));
    m_list->insertTopLevelItem(0, item);
    while (m_list->topLevelItemCount() > maxRows())
        delete m_list->takeTopLevelItem(m_list->topLevelItemCount() - 1);
    if (m_list->topLevelItemCount() == 1) m_list->setCurrentItem(item);
    if (m_positionBox->findText(s.position) < 0) m_positionBox->addItem(s.position);
    if (m_followLatest && s.position != m_position)
        setPosition(s.position);
    else if (s.position == m_position) {
        if (m_prompt->findData(promptKey(s)) < 0)
            rebuildPrompts();
        else
            rebuildColumns();
    }
}

QStringList PreviewPanel::positions() const {
    QStringList out;
    for (int i = 0; i < m_positionBox->count(); ++i) out << m_positionBox->itemText(i);
    return out;
}

void PreviewPanel::setPosition(const QString& position) {
    m_position = position;
    const int at = m_positionBox->findText(position);
    if (at >= 0) m_positionBox->setCurrentIndex(at);
    rebuildPrompts();
}

void PreviewPanel::rebuildPrompts() {
    const QString current = m_prompt->currentData().toString();
    QSignalBlocker block(m_prompt);
    m_prompt->clear();
    for (const auto& s : m_samples) {
        if (s.position != m_position || m_prompt->findData(promptKey(s)) >= 0) continue;
        QString label = s.prompt.simplified();
        if (label.size() > 90) label = label.left(87) + QStringLiteral("…");
        m_prompt->addItem(QStringLiteral("%1: %2").arg(s.dataset, label), promptKey(s));
        m_prompt->setItemData(m_prompt->count() - 1, s.prompt, Qt::ToolTipRole);
    }
    const int at = m_prompt->findData(current);
    m_prompt->setCurrentIndex(at >= 0 ? at : 0);
    rebuildColumns();
}

QStringList PreviewPanel::sideBySideCandidates() const {
    QStringList out;
    const QString key = m_prompt->currentData().toString();
    for (const auto& s : m_samples)
        if (s.position == m_position && promptKey(s) == key && !out.contains(s.candidate)) out << s.candidate;
    return out;
}

QString PreviewPanel::sideBySideHtml(const QString& candidate) const {
    const QString key = m_prompt->currentData().toString();
    for (auto it = m_samples.crbegin(); it != m_samples.crend(); ++it)
        if (it->position == m_position && promptKey(*it) == key && it->candidate == candidate)
            return highlight(it->text, m_detectors);
    return {};
}

void PreviewPanel::rebuildColumns() {
    while (auto* item = m_columnsLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    const QString key = m_prompt->currentData().toString();
    const QStringList candidates = sideBySideCandidates();
    if (candidates.isEmpty()) {
        auto* empty =
            new QLabel(tr("When the quality mode scores candidates, their generations for the same prompt "
                          "appear here side by side."));
        empty->setWordWrap(true);
        empty->setEnabled(false);
        m_columnsLayout->addWidget(empty);
        return;
    }
    for (const auto& c : candidates) {
        const PreviewSample* sample = nullptr;
        for (auto it = m_samples.crbegin(); it != m_samples.crend() && !sample; ++it)
            if (it->position == m_position && promptKey(*it) == key && it->candidate == c) sample = &*it;
        auto* box = new QWidget;
        box->setMinimumWidth(220);
        auto* v = new QVBoxLayout(box);
        v->setContentsMargins(2, 2, 2, 2);
        QStringList findings;
        const QString html = highlight(sample->text, m_detectors, &findings);
        const bool penalised = !sample->reasons.isEmpty();
        auto* head = new QLabel(
            QStringLiteral("<b>%1</b><br><span style='color:%2'>%3 %4</span>")
                .arg(c.toHtmlEscaped(), penalised ? QStringLiteral("#b02020") : QStringLiteral("#1a7f37"),
                     tr("score %1").arg(sample->penalty, 0, 'g', 4),
                     penalised
                         ? QStringLiteral("— ") + sample->reasons.join(QStringLiteral("; ")).toHtmlEscaped()
                         : tr("(no penalty; lower is better)")));
        head->setWordWrap(true);
        head->setToolTip(findings.join(QLatin1Char('\n')));
        v->addWidget(head);
        auto* text = new QTextBrowser;
        text->setObjectName(QStringLiteral("sideBySide_%1").arg(c));
        text->setHtml(html);
        v->addWidget(text, 1);
        m_columnsLayout->addWidget(box, 1);
    }
}

void PreviewPanel::clear() {
    m_list->clear();
    m_text->clear();
    m_samples.clear();
    m_positionBox->clear();
    m_prompt->clear();
    m_position.clear();
    m_followLatest = true;
    rebuildColumns();
}

int PreviewPanel::count() const { return m_list->topLevelItemCount(); }

}  // namespace olm::ui
