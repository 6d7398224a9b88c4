#pragma once
// An inline message strip above the results: a title, every reason as a
// bullet, and action buttons ("Resume anyway", "Start over", ...). Used for
// pre-flight refusals, a report that no longer matches the config, and
// anything the user must decide before a run.
#include <QFrame>
#include <QStringList>

#include <functional>

class QLabel;
class QHBoxLayout;
class QPushButton;

namespace olm::ui {

class Banner : public QFrame {
    Q_OBJECT
public:
    enum class Kind { error, warning, info };
    explicit Banner(const QString& objectName, QWidget* parent = nullptr);

    void showMessage(Kind kind, const QString& title, const QStringList& lines = {});
    QPushButton* addAction(const QString& text, const QString& objectName, std::function<void()> action);
    void clear();  // hides it and drops its actions

    Kind kind() const { return m_kind; }
    QString title() const { return m_titleText; }
    QStringList lines() const { return m_lines; }
    QString text() const;  // title and lines as plain text

private:
    QLabel* m_icon;
    QLabel* m_label;
    QHBoxLayout* m_actions;
    Kind m_kind = Kind::info;
    QString m_titleText;
    QStringList m_lines;
};

}  // namespace olm::ui
