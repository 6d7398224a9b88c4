#pragma once
// Quality-mode generations streamed while a merge runs: the newest on top,
// with the candidate, dataset, prompt and penalty reasons when the mode gives
// them. Keeps the last maxRows() samples.
#include "ui/run_types.h"

#include <QWidget>

class QTreeWidget;
class QPlainTextEdit;

namespace olm::ui {

class PreviewPanel : public QWidget {
    Q_OBJECT
public:
    explicit PreviewPanel(QWidget* parent = nullptr);
    void addSample(const olm::ui::PreviewSample& sample);
    void clear();
    int count() const;
    int maxRows() const { return 200; }
    QTreeWidget* list() const { return m_list; }

private:
    QTreeWidget* m_list;
    QPlainTextEdit* m_text;
};

}  // namespace olm::ui
