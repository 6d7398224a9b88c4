#pragma once
// The end-of-run summary, read from merge_report.json: the recipe position
// by position, the accuracy of the base, the best pool model and the merge on
// every dataset (held-out split when the run kept one), the safeguard's
// verdict with its bootstrap interval, the time and the evaluations.
#include <QWidget>

class QTextBrowser;

namespace olm::ui {

class SummaryPanel : public QWidget {
    Q_OBJECT
public:
    explicit SummaryPanel(QWidget* parent = nullptr);
    // false (and the panel says why) when the report has no finished search.
    bool loadReport(const QString& path);
    void clear();
    bool isEmpty() const { return m_empty; }
    void setSafeguardLine(const QString& line) { m_safeguardLine = line; }
    QString html() const;
    QTextBrowser* browser() const { return m_text; }

private:
    QTextBrowser* m_text;
    bool m_empty = true;
    QString m_safeguardLine;
};

}  // namespace olm::ui
