#include "ui/options_panel.h"

#include "core/merge/config.h"
#include "core/util/error.h"
#include "core/util/memory_size.h"
#include "ui/core_bridge.h"

#include <QValidator>

#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QToolButton>

#include <algorithm>
#include <optional>

namespace olm::ui {

namespace {

// device_memory as the field shows it: "" = no limit, "auto", else the
// largest unit that divides it exactly ("20GiB", "512MiB", "1000000").
QString memoryText(int64_t bytes) {
    if (bytes == 0) return {};
    if (bytes < 0) return QStringLiteral("auto");
    for (const auto& [unit, size] : {std::pair{"TiB", int64_t{1} << 40}, std::pair{"GiB", int64_t{1} << 30},
                                     std::pair{"MiB", int64_t{1} << 20}, std::pair{"KiB", int64_t{1} << 10}})
        if (bytes % size == 0) return QString::number(bytes / size) + QLatin1String(unit);
    return QString::number(bytes);
}

// "" / "0" = no limit, else what parse_memory_size accepts.
std::optional<int64_t> parseMemory(const QString& text) {
    const QString t = text.trimmed();
    if (t.isEmpty() || t == QLatin1String("0")) return int64_t{0};
    try {
        return olm::parse_memory_size(t.toStdString());
    } catch (const olm::Error&) {
        return std::nullopt;
    }
}

class MemoryValidator : public QValidator {
public:
    using QValidator::QValidator;
    State validate(QString& input, int&) const override {
        return parseMemory(input) ? Acceptable : Intermediate;
    }
};

}  // namespace

OptionsPanel::OptionsPanel(QWidget* parent) : QGroupBox(tr("Direction and options"), parent) {
    setObjectName(QStringLiteral("directionPanel"));
    auto* form = new QFormLayout(this);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);

    auto* dir = new QHBoxLayout;
    m_forward = new QRadioButton(tr("Forward"));
    m_forward->setObjectName(QStringLiteral("forward"));
    m_forward->setToolTip(tr("First layer to last"));
    m_backward = new QRadioButton(tr("Backward"));
    m_backward->setObjectName(QStringLiteral("backward"));
    m_backward->setToolTip(tr("Last layer to first"));
    m_forward->setChecked(true);
    dir->addWidget(m_forward);
    dir->addWidget(m_backward);
    dir->addStretch(1);
    form->addRow(tr("Direction"), dir);

    auto* what = new QHBoxLayout;
    m_boundary = new QCheckBox(tr("Boundary"));
    m_boundary->setObjectName(QStringLiteral("boundarySelect"));
    m_boundary->setToolTip(tr("Try each model's embeddings, final norm and lm_head (boundary_select)"));
    m_layerSwap = new QCheckBox(tr("Layers"));
    m_layerSwap->setObjectName(QStringLiteral("layerSwap"));
    m_layerSwap->setChecked(true);
    m_tensorSwap = new QCheckBox(tr("Tensors"));
    m_tensorSwap->setObjectName(QStringLiteral("tensorSwap"));
    m_tensorSwap->setToolTip(
        tr("Then try each tensor unit (attention, MLP, norms) separately (tensor_swap)"));
    m_skipNorm = new QCheckBox(tr("Skip norms"));
    m_skipNorm->setObjectName(QStringLiteral("skipNorm"));
    m_skipNorm->setChecked(true);
    for (auto* c : {m_boundary, m_layerSwap, m_tensorSwap, m_skipNorm}) what->addWidget(c);
    what->addStretch(1);
    form->addRow(tr("Search"), what);

    // ES fine-tuning of each tensor decision (the original's es_svd / es_norm).
    auto* es = new QHBoxLayout;
    m_esSvd = new QCheckBox(tr("SVD"));
    m_esSvd->setObjectName(QStringLiteral("esSvd"));
    m_esSvd->setToolTip(
        tr("After each tensor decision, tune the weight by an evolution strategy on its "
           "singular values (es_svd; needs Tensors)"));
    m_esSvdGenerations = new QSpinBox;
    m_esSvdGenerations->setObjectName(QStringLiteral("esSvdGenerations"));
    m_esSvdGenerations->setRange(1, 1000);
    m_esSvdGenerations->setSuffix(tr(" gen."));
    m_esSvdGenerations->setToolTip(tr("Generations of the SVD tuning (es_svd_generations)"));
    m_esNorm = new QCheckBox(tr("Row norms"));
    m_esNorm->setObjectName(QStringLiteral("esNorm"));
    m_esNorm->setToolTip(tr("Then tune the weight's row norms, directions kept (es_norm; needs Tensors)"));
    m_esNormGenerations = new QSpinBox;
    m_esNormGenerations->setObjectName(QStringLiteral("esNormGenerations"));
    m_esNormGenerations->setRange(1, 1000);
    m_esNormGenerations->setSuffix(tr(" gen."));
    m_esNormGenerations->setToolTip(tr("Generations of the norm tuning (es_norm_generations)"));
    es->addWidget(m_esSvd);
    es->addWidget(m_esSvdGenerations);
    es->addWidget(m_esNorm);
    es->addWidget(m_esNormGenerations);
    es->addStretch(1);
    form->addRow(tr("ES fine-tuning"), es);

    m_improveAll = new QComboBox;
    m_improveAll->setObjectName(QStringLiteral("improveAll"));
    m_improveAll->addItem(tr("off"), QString());
    m_improveAll->addItem(tr("all datasets"), QStringLiteral("all"));
    m_improveAll->addItem(tr("versus base"), QStringLiteral("base"));
    for (const auto& mode : evalModeNames()) m_improveAll->addItem(tr("%1 datasets").arg(mode), mode);
    m_improveAll->setToolTip(
        tr("Disqualify a candidate that is worse than the base (and the previous choice) on gated datasets"));
    form->addRow(tr("Improve all"), m_improveAll);

    m_maxModels = new QSpinBox;
    m_maxModels->setObjectName(QStringLiteral("maxModels"));
    m_maxModels->setRange(0, 9999);
    m_maxModels->setSpecialValueText(tr("all"));
    m_maxModels->setToolTip(
        tr("Score every pool model whole first and search with the best N only (max_models; ranked as the "
           "original's model_scanner: Copeland on the per-dataset ranks, ties by rank sum)"));
    form->addRow(tr("Pool models searched"), m_maxModels);

    m_markov = new QSpinBox;
    m_markov->setObjectName(QStringLiteral("markov"));
    m_markov->setRange(0, 16);
    m_markov->setSpecialValueText(tr("one layer at a time"));
    m_markov->setSuffix(tr(" previous layer(s)"));
    m_markov->setToolTip(tr(
        "Choose each layer together with the N before it (backward: after it) among every combination of "
        "pool models (markov, the original's model_scanner window search): pool^(N+1) candidates per layer; "
        "no blends, no sweeps"));
    form->addRow(tr("Layer window"), m_markov);

    m_selection = new QComboBox;
    m_selection->setObjectName(QStringLiteral("selection"));
    m_selection->addItem(tr("preset's (original: ranks, better: geometric mean)"), QString());
    m_selection->addItem(
        tr("ranks (the original's: Copeland at layers and tensors, rank sum at base and boundary)"),
        QStringLiteral("ranks"));
    m_selection->addItem(tr("rank sum everywhere"), QStringLiteral("rank_sum"));
    m_selection->addItem(tr("Copeland on the scores everywhere (draws count half)"),
                         QStringLiteral("copeland"));
    m_selection->addItem(tr("geometric mean of the scores"), QStringLiteral("geomean"));
    form->addRow(tr("Selection"), m_selection);

    m_preset = new QComboBox;
    m_preset->setObjectName(QStringLiteral("searchPreset"));
    m_preset->addItem(tr("original (greedy layer swap)"), QStringLiteral("original"));
    m_preset->addItem(tr("better (interpolated candidates)"), QStringLiteral("better"));
    m_preset->addItem(tr("thorough (interpolated + sweeps)"), QStringLiteral("thorough"));
    form->addRow(tr("Preset"), m_preset);

    m_racing = new QComboBox;
    m_racing->setObjectName(QStringLiteral("racing"));
    m_racing->addItem(tr("preset's (on in better and thorough)"), QString());
    m_racing->addItem(tr("on: stop candidates that cannot win"), QStringLiteral("on"));
    m_racing->addItem(tr("off: score every candidate on every sample"), QStringLiteral("off"));
    m_racing->setToolTip(
        tr("Racing scores a position's candidates on growing chunks of samples and stops one once a "
           "paired bound shows it cannot win (racing; docs/merge.md)"));
    form->addRow(tr("Racing"), m_racing);

    auto* compute = new QHBoxLayout;
    m_device = new QComboBox;
    m_device->setObjectName(QStringLiteral("device"));
    m_device->addItem(tr("auto (GPU if any, else cpu)"), QString());
    for (const auto& d : computeDevices()) m_device->addItem(d, d);
    m_dtype = new QComboBox;
    m_dtype->setObjectName(QStringLiteral("dtype"));
    m_dtype->addItem(tr("auto (bf16 on a GPU, else fp32)"), QString());
    for (const auto& [label, value] :
         {std::pair{"fp32 (float32)", "float32"}, std::pair{"bf16 (bfloat16)", "bfloat16"},
          std::pair{"fp16 (float16)", "float16"}})
        m_dtype->addItem(QLatin1String(label), QLatin1String(value));
    m_threads = new QSpinBox;
    m_threads->setObjectName(QStringLiteral("threads"));
    m_threads->setRange(0, 1024);
    m_threads->setSpecialValueText(tr("auto threads"));
    m_threads->setSuffix(tr(" threads"));
    m_threads->setToolTip(
        tr("CPU threads of the merge (threads; auto = the measured default, "
           "docs/bench-engine.md). Does not change the result."));
    compute->addWidget(m_device, 1);
    compute->addWidget(m_dtype, 1);
    compute->addWidget(m_threads);
    form->addRow(tr("Device"), compute);

    m_deviceMemory = new QLineEdit;
    m_deviceMemory->setObjectName(QStringLiteral("deviceMemory"));
    m_deviceMemory->setPlaceholderText(tr("no limit (e.g. 20GiB, 80GB, auto)"));
    m_deviceMemory->setValidator(new MemoryValidator(m_deviceMemory));
    m_deviceMemory->setToolTip(
        tr("Device memory the working model's weights may take (device_memory): the layers beyond it "
           "stay in host memory and are streamed to the device during each forward. Does not change "
           "the result."));
    form->addRow(tr("Device memory"), m_deviceMemory);

    auto* out = new QHBoxLayout;
    m_output = new QLineEdit;
    m_output->setObjectName(QStringLiteral("outputDir"));
    m_output->setPlaceholderText(tr("folder for merge_report.json and the merged model"));
    auto* browse = new QToolButton;
    browse->setText(QStringLiteral("…"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Output folder"), m_output->text());
        if (!d.isEmpty()) m_output->setText(d);
    });
    out->addWidget(m_output, 1);
    out->addWidget(browse);
    form->addRow(tr("Output"), out);
}

void OptionsPanel::selectData(QComboBox* combo, const QString& value) {
    int at = combo->findData(value);
    if (at < 0) {  // a value this build does not list (e.g. cuda:3 on another machine): keep it
        combo->addItem(value, value);
        at = combo->count() - 1;
    }
    combo->setCurrentIndex(at);
}

QString OptionsPanel::outputDir() const { return m_output->text().trimmed(); }
void OptionsPanel::setOutputDir(const QString& dir) { m_output->setText(dir); }

void OptionsPanel::setEditable(bool editable) {
    for (auto* w : findChildren<QWidget*>()) w->setEnabled(editable);
}

void OptionsPanel::applyTo(olm::MergeConfig& c) const {
    c.direction = m_backward->isChecked() ? "backward" : "forward";
    c.boundary_select = m_boundary->isChecked();
    c.layer_swap = m_layerSwap->isChecked();
    c.tensor_swap = m_tensorSwap->isChecked();
    c.skip_norm = m_skipNorm->isChecked();
    c.es_svd = m_esSvd->isChecked();
    c.es_svd_generations = m_esSvdGenerations->value();
    c.es_norm = m_esNorm->isChecked();
    c.es_norm_generations = m_esNormGenerations->value();
    c.improve_all = m_improveAll->currentData().toString().toStdString();
    c.max_models = m_maxModels->value();
    c.markov = m_markov->value();
    c.threads = m_threads->value();
    c.selection = m_selection->currentData().toString().toStdString();
    c.search = m_preset->currentData().toString().toStdString();
    c.device = m_device->currentData().toString().toStdString();
    c.dtype = m_dtype->currentData().toString().toStdString();
    const QString racing = m_racing->currentData().toString();
    c.racing = racing.isEmpty() ? std::nullopt : std::optional<bool>(racing == QLatin1String("on"));
    // An unfinished size (the validator keeps it Intermediate) leaves the config's value.
    if (const auto m = parseMemory(m_deviceMemory->text())) c.device_memory = *m;
    c.output_dir = outputDir().toStdString();
}

void OptionsPanel::loadFrom(const olm::MergeConfig& c) {
    (c.direction == "backward" ? m_backward : m_forward)->setChecked(true);
    m_boundary->setChecked(c.boundary_select);
    m_layerSwap->setChecked(c.layer_swap);
    m_tensorSwap->setChecked(c.tensor_swap);
    m_skipNorm->setChecked(c.skip_norm);
    m_esSvd->setChecked(c.es_svd);
    m_esSvdGenerations->setValue(static_cast<int>(std::clamp<int64_t>(c.es_svd_generations, 1, 1000)));
    m_esNorm->setChecked(c.es_norm);
    m_esNormGenerations->setValue(static_cast<int>(std::clamp<int64_t>(c.es_norm_generations, 1, 1000)));
    selectData(m_improveAll, QString::fromStdString(c.improve_all));
    m_maxModels->setValue(static_cast<int>(std::clamp<int64_t>(c.max_models, 0, m_maxModels->maximum())));
    m_markov->setValue(static_cast<int>(std::clamp<int64_t>(c.markov, 0, m_markov->maximum())));
    m_threads->setValue(static_cast<int>(std::clamp<int64_t>(c.threads, 0, m_threads->maximum())));
    selectData(m_selection, QString::fromStdString(c.selection));
    selectData(m_preset, QString::fromStdString(c.search));
    selectData(m_device, QString::fromStdString(c.device));
    selectData(m_dtype, QString::fromStdString(c.dtype));
    selectData(m_racing, !c.racing ? QString() : *c.racing ? QStringLiteral("on") : QStringLiteral("off"));
    m_deviceMemory->setText(memoryText(c.device_memory));
    m_output->setText(QString::fromStdString(c.output_dir.string()));
}

}  // namespace olm::ui
