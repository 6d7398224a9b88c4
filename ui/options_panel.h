#pragma once
// The direction / options panel: search direction, what is searched
// (boundary, layers, tensor units), gating (improve_all), the selection rule,
// the search preset, racing, compute device, dtype, threads and device memory,
// and the output folder.
#include <QGroupBox>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QRadioButton;
class QSpinBox;

namespace olm {
struct MergeConfig;
}

namespace olm::ui {

class OptionsPanel : public QGroupBox {
    Q_OBJECT
public:
    explicit OptionsPanel(QWidget* parent = nullptr);

    void applyTo(olm::MergeConfig& config) const;
    void loadFrom(const olm::MergeConfig& config);
    void setEditable(bool editable);

    QString outputDir() const;
    void setOutputDir(const QString& dir);

    QRadioButton* forward() const { return m_forward; }
    QRadioButton* backward() const { return m_backward; }
    QComboBox* preset() const { return m_preset; }
    QComboBox* device() const { return m_device; }

private:
    static void selectData(QComboBox* combo, const QString& value);

    QRadioButton* m_forward;
    QRadioButton* m_backward;
    QCheckBox* m_boundary;
    QCheckBox* m_layerSwap;
    QCheckBox* m_tensorSwap;
    QCheckBox* m_skipNorm;
    QCheckBox* m_esSvd;  // ES fine-tuning after each tensor decision (es_svd, es_norm)
    QSpinBox* m_esSvdGenerations;
    QCheckBox* m_esNorm;
    QSpinBox* m_esNormGenerations;
    QComboBox* m_improveAll;
    QSpinBox* m_maxModels;
    QSpinBox* m_markov;
    QSpinBox* m_threads;
    QComboBox* m_selection;
    QComboBox* m_preset;
    QComboBox* m_device;
    QComboBox* m_dtype;
    QComboBox* m_racing;
    QLineEdit* m_deviceMemory;
    QLineEdit* m_output;
};

}  // namespace olm::ui
