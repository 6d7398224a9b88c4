#include "ui/banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStyle>
#include <QVBoxLayout>

namespace olm::ui {

Banner::Banner(const QString& objectName, QWidget* parent) : QFrame(parent) {
    setObjectName(objectName);
    setFrameShape(QFrame::StyledPanel);
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(8, 6, 8, 6);
    m_icon = new QLabel;
    m_icon->setAlignment(Qt::AlignTop);
    row->addWidget(m_icon);
    m_label = new QLabel;
    m_label->setObjectName(objectName + QStringLiteral("Text"));
    m_label->setWordWrap(true);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_label->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    row->addWidget(m_label, 1);
    m_actions = new QHBoxLayout;
    row->addLayout(m_actions);
    hide();
}

void Banner::showMessage(Kind kind, const QString& title, const QStringList& lines) {
    m_kind = kind;
    m_titleText = title;
    m_lines = lines;
    const char* colours[] = {"#fde2e1; border: 1px solid #d9534f", "#fff4d6; border: 1px solid #e0a800",
                             "#e3f0fb; border: 1px solid #4a90d9"};
    setStyleSheet(QStringLiteral("#%1 { background: %2; border-radius: 4px; } QLabel { color: #202020; }")
                      .arg(objectName(), QLatin1String(colours[static_cast<int>(kind)])));
    const QStyle::StandardPixmap icons[] = {QStyle::SP_MessageBoxCritical, QStyle::SP_MessageBoxWarning,
                                            QStyle::SP_MessageBoxInformation};
    m_icon->setPixmap(style()->standardIcon(icons[static_cast<int>(kind)]).pixmap(24, 24));
    QString html = QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped());
    if (!lines.isEmpty()) {
        html += QStringLiteral("<ul style='margin: 2px 0 0 -20px'>");
        for (const auto& l : lines) html += QStringLiteral("<li>%1</li>").arg(l.toHtmlEscaped());
        html += QStringLiteral("</ul>");
    }
    m_label->setText(html);
    show();
}

QPushButton* Banner::addAction(const QString& text, const QString& name, std::function<void()> action) {
    auto* b = new QPushButton(text);
    b->setObjectName(name);
    connect(b, &QPushButton::clicked, this, [action] { action(); });
    m_actions->addWidget(b);
    return b;
}

void Banner::clear() {
    hide();
    m_titleText.clear();
    m_lines.clear();
    while (auto* item = m_actions->takeAt(0)) {
        delete item->widget();
        delete item;
    }
}

QString Banner::text() const {
    QStringList all{m_titleText};
    for (const auto& l : m_lines) all << QStringLiteral("• ") + l;
    return all.join(QLatin1Char('\n'));
}

}  // namespace olm::ui
