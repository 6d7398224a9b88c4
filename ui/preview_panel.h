#pragma once
// Quality-mode generations. Top: side by side, the generations of every
// candidate of the current position for one prompt, with the detectors'
// findings marked in the text (forbidden-script characters, repeated words,
// over-long words) and each sample's score. Bottom: the stream, newest on
// top (the last maxRows() samples).
#include "ui/core_bridge.h"
#include "ui/run_types.h"

#include <QWidget>

class QComboBox;
class QHBoxLayout;
class QLabel;
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
    void setDetectors(const PreviewDetectors& detectors) { m_detectors = detectors; }

    // The side-by-side view.
    QString position() const { return m_position; }
    void setPosition(const QString& position);
    QStringList positions() const;
    QComboBox* promptSelector() const { return m_prompt; }
    // Candidates shown side by side for the selected prompt, and their texts as HTML.
    QStringList sideBySideCandidates() const;
    QString sideBySideHtml(const QString& candidate) const;

    // The text as HTML with the detectors' findings marked; *findings lists them.
    static QString highlight(const QString& text, const PreviewDetectors& detectors,
                             QStringList* findings = nullptr);

private:
    void rebuildPrompts();
    void rebuildColumns();

    QTreeWidget* m_list;
    QPlainTextEdit* m_text;
    QComboBox* m_positionBox;
    QComboBox* m_prompt;
    QWidget* m_columns;
    QHBoxLayout* m_columnsLayout;
    QVector<PreviewSample> m_samples;  // every sample, in arrival order (bounded)
    QString m_position;
    bool m_followLatest = true;
    PreviewDetectors m_detectors;
};

}  // namespace olm::ui
