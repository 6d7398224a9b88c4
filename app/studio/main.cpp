// olm-studio: the OLM Studio desktop application.
//
//   olm-studio                       an empty project
//   olm-studio CONFIG.yaml           opens a merge config (and its report, if any)
//   olm-studio --demo                opens the demo project (a user copy of share/olm-studio/demo)
//   --run                            starts the merge at once (--resume: continues the report)
//   --screenshot FILE [--tab N]      saves the window as FILE after the run (or at once) and quits;
//                                    "{tab}" in FILE saves every result tab
//   --screenshot-after S             with --run: save the screen S seconds into the run instead
//   --export-dialog                  with --screenshot: show the export dialog and save the screen
//   OLM_STUDIO_RECORD_EVENTS=FILE    writes every run event (JSON lines) for the progress tests
#include "core/util/resources.h"
#include "core/util/threads.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDialog>
#include <QDir>
#include <QFileInfo>
#include <QGuiApplication>
#include <QPixmap>
#include <QScreen>
#include <QTabWidget>
#include <QTimer>

#include <cstdio>

namespace {

// The demo project: a writable copy of the bundled (possibly read-only,
// installed) one in the user's data folder, made on first use. Logs where.
QString demoConfigPath(olm::ui::MainWindow& window) {
    try {
        const auto bundled = olm::resources_dir() / "demo";
        const auto copy = olm::writable_demo_dir(bundled);
        if (copy.copied) {
            const QString line =
                QStringLiteral("copied the demo project from %1 to %2")
                    .arg(QString::fromStdString(bundled.string()), QString::fromStdString(copy.dir.string()));
            window.appendLog(line);
            std::fprintf(stderr, "olm-studio: %s\n", qPrintable(line));
        }
        return QString::fromStdString((copy.dir / "olm_config.yaml").string());
    } catch (const std::exception& e) {
        window.appendLog(QStringLiteral("demo project: %1").arg(QString::fromStdString(e.what())));
        return {};
    }
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("OLM Studio"));
    QApplication::setOrganizationName(QStringLiteral("OLM Studio"));
    olm::apply_thread_settings();

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Optimized Layer Merging for Hugging Face language models"));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("config"), QStringLiteral("merge config YAML to open"),
                                 QStringLiteral("[CONFIG.yaml]"));
    const QCommandLineOption demo(
        QStringLiteral("demo"),
        QStringLiteral("Open the demo project (copied on first use to ~/.local/share/olm-studio/demo)."));
    const QCommandLineOption run(QStringLiteral("run"), QStringLiteral("Start the merge at once."));
    const QCommandLineOption resume(QStringLiteral("resume"),
                                    QStringLiteral("With --run: continue from merge_report.json."));
    const QCommandLineOption shot(QStringLiteral("screenshot"),
                                  QStringLiteral("Save the window to FILE (after --run finishes) and quit."),
                                  QStringLiteral("FILE"));
    const QCommandLineOption tab(
        QStringLiteral("tab"),
        QStringLiteral("With --screenshot: the result tab to show (0 heatmap, 1 scores, 2 previews)."),
        QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption shotAfter(
        QStringLiteral("screenshot-after"),
        QStringLiteral("With --run and --screenshot: save the screen S seconds into the run."),
        QStringLiteral("S"));
    const QCommandLineOption exportDialog(
        QStringLiteral("export-dialog"),
        QStringLiteral("With --screenshot: open the export dialog and save the screen."));
    parser.addOptions({demo, run, resume, shot, tab, shotAfter, exportDialog});
    parser.process(app);

    olm::ui::MainWindow window;
    window.show();

    auto openDemo = [&window] {
        const QString path = demoConfigPath(window);
        if (!path.isEmpty()) window.openProject(path);
    };
    QObject::connect(&window, &olm::ui::MainWindow::openDemoRequested, &window, openDemo);
    if (parser.isSet(demo)) {
        openDemo();
    } else if (!parser.positionalArguments().isEmpty()) {
        window.openProject(parser.positionalArguments().first());
    }

    const QString screenshot = parser.value(shot);
    // The whole screen (dialogs included) when a dialog is shown or the run is caught midway.
    auto grabScreen = [&screenshot] {
        QCoreApplication::processEvents();
        const bool ok = QGuiApplication::primaryScreen()->grabWindow(0).save(screenshot);
        QApplication::exit(ok ? 0 : 1);
    };
    if (!screenshot.isEmpty() && parser.isSet(exportDialog)) {
        QTimer::singleShot(400, &window, [&window] { window.exportModel(); });
        QTimer::singleShot(1200, &window, grabScreen);
    }
    if (!screenshot.isEmpty() && parser.isSet(run) && parser.isSet(shotAfter))
        QTimer::singleShot(static_cast<int>(parser.value(shotAfter).toDouble() * 1000), &window, grabScreen);
    // FILE with "{tab}" saves every result tab (0 heatmap, 1 scores, 2 previews).
    auto grabAndQuit = [&window, &screenshot, &parser, &tab] {
        QTimer::singleShot(300, &window, [&window, &screenshot, &parser, &tab] {
            bool ok = true;
            const bool all = screenshot.contains(QStringLiteral("{tab}"));
            for (int t = 0; t < (all ? window.tabs()->count() : 1); ++t) {
                window.tabs()->setCurrentIndex(all ? t : parser.value(tab).toInt());
                QCoreApplication::processEvents();
                QString file = screenshot;
                ok = window.grab().save(file.replace(QStringLiteral("{tab}"), QString::number(t))) && ok;
            }
            QApplication::exit(ok ? 0 : 1);
        });
    };
    if (parser.isSet(run)) {
        QTimer::singleShot(0, &window, [&] {
            if (!window.startMerge(parser.isSet(resume))) {
                if (!screenshot.isEmpty()) grabAndQuit();
                return;
            }
            if (!screenshot.isEmpty() && !parser.isSet(shotAfter))
                QObject::connect(window.controller(), &olm::ui::MergeController::finished, &window,
                                 [&] { grabAndQuit(); });
        });
    } else if (!screenshot.isEmpty() && !parser.isSet(exportDialog)) {
        QTimer::singleShot(500, &window, grabAndQuit);
    }
    return QApplication::exec();
}
