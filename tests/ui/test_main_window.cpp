// The main window: its panels and controls exist, a project YAML opens into
// the panels, and saving writes a config that core/merge's own loader reads
// back with the same content.
#include "core/merge/config.h"
#include "support/tiny_model.h"
#include "ui/dataset_panel.h"
#include "ui/heatmap_model.h"
#include "ui/main_window.h"
#include "ui/options_panel.h"
#include "ui/pool_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGroupBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

namespace fs = std::filesystem;

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void opensWithItsPanels() {
        olm::ui::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.windowTitle().startsWith(QStringLiteral("OLM Studio")));
        QVERIFY(w.findChild<QGroupBox*>(QStringLiteral("poolPanel")));
        QVERIFY(w.findChild<QGroupBox*>(QStringLiteral("datasetPanel")));
        QVERIFY(w.findChild<QGroupBox*>(QStringLiteral("directionPanel")));
        QVERIFY(w.findChild<QTableView*>(QStringLiteral("heatmap")));
        QVERIFY(w.findChild<QWidget*>(QStringLiteral("scoreChart")));
        QVERIFY(w.findChild<QWidget*>(QStringLiteral("previews")));
        QVERIFY(w.findChild<QPlainTextEdit*>(QStringLiteral("log")));
        QVERIFY(w.modelPool() != nullptr);
        QStringList buttons;
        for (auto* b : w.findChildren<QPushButton*>()) buttons << b->text();
        for (const char* b : {"Start", "Pause", "Resume", "Cancel", "Export"})
            QVERIFY2(buttons.contains(QLatin1String(b)), b);
        // Nothing to run on an empty project.
        QVERIFY(!w.findChild<QPushButton*>(QStringLiteral("start"))->isEnabled());
        QVERIFY(!w.findChild<QPushButton*>(QStringLiteral("pause"))->isEnabled());
        QVERIFY(!w.startMerge(false));
    }

    void projectOpensAndSavesThroughTheConfigLoader() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const fs::path root = tmp.path().toStdString();
        olm::testing::write_tiny_model(root / "models" / "base", {.layers = 3, .seed = 1});
        olm::testing::derive_model(root / "models" / "base", root / "models" / "ft_1",
                                   {.seed = 2, .layers = {0}});
        fs::create_directories(root / "data");
        std::ofstream(root / "data" / "math.json")
            << R"([{"conversation": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]}])";
        std::ofstream(root / "data" / "chat.json")
            << R"([{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]}])";
        std::ofstream(root / "project.yaml")
            << "models_dir: models\n"
               "models: [base, ft_1]\n"
               "output_dir: out\n"
               "dataset_dir: data\n"
               "dataset:\n  math.json: {mode: exact}\n  chat.json: {mode: quality}\n"
               "direction: backward\n"
               "base_model_name: ft_1\n"
               "boundary_select: true\n"
               "improve_all: base\n"
               "selection: copeland\n"
               "search: better\n"
               "samples: 5\n"
               "max_models: 1\n"
               "threads: 3\n"
               "racing: false\n"
               "device_memory: 20GiB\n"
               "tensor_swap: true\n"
               "es_norm: true\n"
               "es_norm_generations: 2\n"
               "es_norm_sigma: 0.02\n"
               "seed: 42\n";
        olm::ui::MainWindow w;
        QVERIFY(w.openProject(QString::fromStdString((root / "project.yaml").string())));
        QCOMPARE(w.poolPanel()->model()->names(), (QStringList{"base", "ft_1"}));
        QVERIFY(w.poolPanel()->model()->waitForCheck());
        QVERIFY(w.poolPanel()->model()->allCompatible());
        QCOMPARE(w.poolPanel()->baseSelector()->currentText(), QStringLiteral("ft_1"));
        QCOMPARE(w.datasetPanel()->model()->rowCount(), 2);
        QCOMPARE(w.datasetPanel()->model()->entries()[1].mode, QStringLiteral("quality"));
        QVERIFY(w.optionsPanel()->backward()->isChecked());
        QCOMPARE(w.optionsPanel()->preset()->currentData().toString(), QStringLiteral("better"));
        auto* maxModels = w.optionsPanel()->findChild<QSpinBox*>(QStringLiteral("maxModels"));
        QVERIFY(maxModels);
        QCOMPARE(maxModels->value(), 1);
        auto* threads = w.optionsPanel()->findChild<QSpinBox*>(QStringLiteral("threads"));
        QVERIFY(threads);
        QCOMPARE(threads->value(), 3);
        auto* racing = w.optionsPanel()->findChild<QComboBox*>(QStringLiteral("racing"));
        QVERIFY(racing);
        QCOMPARE(racing->currentData().toString(), QStringLiteral("off"));
        auto* memory = w.optionsPanel()->findChild<QLineEdit*>(QStringLiteral("deviceMemory"));
        QVERIFY(memory);
        QCOMPARE(memory->text(), QStringLiteral("20GiB"));
        auto* esSvd = w.optionsPanel()->findChild<QCheckBox*>(QStringLiteral("esSvd"));
        auto* esSvdGenerations = w.optionsPanel()->findChild<QSpinBox*>(QStringLiteral("esSvdGenerations"));
        auto* esNorm = w.optionsPanel()->findChild<QCheckBox*>(QStringLiteral("esNorm"));
        auto* esNormGenerations = w.optionsPanel()->findChild<QSpinBox*>(QStringLiteral("esNormGenerations"));
        QVERIFY(esSvd && esSvdGenerations && esNorm && esNormGenerations);
        QVERIFY(!esSvd->isChecked());
        QVERIFY(esNorm->isChecked());
        QCOMPARE(esNormGenerations->value(), 2);
        // The heatmap is laid out for the pool: one row per layer, one column per model.
        QCOMPARE(w.heatmapModel()->rowCount(), 3);
        QCOMPARE(w.heatmapModel()->candidates(), (QStringList{"base", "ft_1"}));
        QCOMPARE(w.heatmapModel()->datasets(), (QStringList{"math.json", "chat.json"}));
        QVERIFY(w.findChild<QPushButton*>(QStringLiteral("start"))->isEnabled());

        // Edit in the GUI, save, and read back with core/merge's loader.
        w.optionsPanel()->forward()->setChecked(true);
        maxModels->setValue(2);
        threads->setValue(0);
        racing->setCurrentIndex(racing->findData(QStringLiteral("on")));
        memory->setText(QStringLiteral("512 MiB"));
        esSvd->setChecked(true);
        esSvdGenerations->setValue(3);
        w.datasetPanel()->model()->setMode(0, QStringLiteral("bigram"));
        const QString saved = QString::fromStdString((root / "saved.yaml").string());
        QVERIFY(w.saveProject(saved));
        const olm::MergeConfig c = olm::load_merge_config(saved.toStdString());
        QCOMPARE(c.direction, std::string("forward"));
        QCOMPARE(c.model_paths().size(), std::size_t(2));
        QCOMPARE(fs::canonical(c.model_paths()[1]), fs::canonical(root / "models" / "ft_1"));
        QCOMPARE(c.base_model_name, std::string("ft_1"));
        QCOMPARE(c.datasets.size(), std::size_t(2));
        QCOMPARE(c.datasets[0].mode, std::string("bigram"));
        QCOMPARE(c.datasets[1].mode, std::string("quality"));
        QCOMPARE(fs::canonical(c.datasets[1].path), fs::canonical(root / "data" / "chat.json"));
        QVERIFY(c.boundary_select);
        QCOMPARE(c.improve_all, std::string("base"));
        QCOMPARE(c.selection, std::string("copeland"));
        QCOMPARE(c.search, std::string("better"));
        QCOMPARE(c.samples, int64_t(5));
        QCOMPARE(c.max_models, int64_t(2));
        QCOMPARE(c.threads, int64_t(0));  // auto
        QVERIFY(c.racing && *c.racing);
        QCOMPARE(c.device_memory, int64_t{512} << 20);
        QVERIFY(c.es_svd && c.es_norm);
        QCOMPARE(c.es_svd_generations, int64_t{3});
        QCOMPARE(c.es_norm_generations, int64_t{2});
        QCOMPARE(c.es_norm_sigma, 0.02);  // not in the panel: kept as the project had it
        // A size that does not parse is not accepted and leaves the value as it was.
        memory->setText(QStringLiteral("12 parsecs"));
        QVERIFY(!memory->hasAcceptableInput());
        QVERIFY(w.saveProject(saved));
        QCOMPARE(olm::load_merge_config(saved.toStdString()).device_memory, int64_t{512} << 20);
        memory->clear();
        QVERIFY(w.saveProject(saved));
        QCOMPARE(olm::load_merge_config(saved.toStdString()).device_memory, int64_t{0});
        // The markov window: off by default; with the original preset (no blends) it is saved.
        auto* markov = w.optionsPanel()->findChild<QSpinBox*>(QStringLiteral("markov"));
        QVERIFY(markov);
        QCOMPARE(markov->value(), 0);
        w.optionsPanel()->preset()->setCurrentIndex(
            w.optionsPanel()->preset()->findData(QStringLiteral("original")));
        markov->setValue(1);
        QVERIFY(w.saveProject(saved));
        const olm::MergeConfig windowed = olm::load_merge_config(saved.toStdString());
        QCOMPARE(windowed.markov, int64_t{1});
        QCOMPARE(windowed.search, std::string("original"));
        QCOMPARE(c.seed, uint64_t(42));  // a key the panels do not show survives
        QCOMPARE(fs::weakly_canonical(c.output_dir), fs::weakly_canonical(root / "out"));
    }

    void badProjectIsReportedInTheLog() {
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("bad.yaml"));
        std::ofstream(path.toStdString()) << "models: [a]\ndirection: sideways\n";
        olm::ui::MainWindow w;
        QVERIFY(!w.openProject(path));
        QVERIFY(w.log()->toPlainText().contains(QStringLiteral("cannot open project")));
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
