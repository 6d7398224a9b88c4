// The pool and dataset panels on real tiny Hugging Face folders: dropping
// folders (a QDropEvent with QMimeData urls) adds them with their
// architecture, layers and pool-check verdict; files and duplicates are
// skipped; base choice, reorder and remove; the config they describe.
#include "core/merge/config.h"
#include "support/tiny_model.h"
#include "ui/dataset_panel.h"
#include "ui/pool_panel.h"

#include <QComboBox>
#include <QDropEvent>
#include <QLineEdit>
#include <QMimeData>
#include <QSemaphore>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>

#include <atomic>
#include <fstream>

namespace fs = std::filesystem;
using olm::ui::PoolModel;
using olm::ui::PoolPanel;

namespace {

// Sends the drag-enter / drop pair a file manager produces; returns whether the drop was accepted.
bool dropUrls(QWidget* target, const QStringList& paths) {
    QMimeData mime;
    QList<QUrl> urls;
    for (const auto& p : paths) urls << QUrl::fromLocalFile(p);
    mime.setUrls(urls);
    const QPoint at(target->width() / 2, target->height() / 2);
    QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(target, &enter);
    if (!enter.isAccepted()) return false;
    QDropEvent drop(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(target, &drop);
    return drop.isAccepted();
}

QString cell(const PoolModel* m, int row, int column) { return m->index(row, column).data().toString(); }

}  // namespace

class TestPoolPanel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        const fs::path root = m_tmp.path().toStdString();
        olm::testing::write_tiny_model(root / "base", {.layers = 2, .seed = 1});
        olm::testing::derive_model(root / "base", root / "ft_1", {.seed = 2, .layers = {1}});
        olm::testing::write_tiny_model(root / "deep", {.layers = 3, .seed = 3});
        olm::testing::write_tiny_model(root / "wide", {.intermediate = 96, .layers = 2, .seed = 4});
        fs::create_directories(root / "not_a_model");
        std::ofstream(root / "notes.txt") << "not a folder\n";
        std::ofstream(root / "chat.json")
            << R"([{"conversation": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},)"
            << R"( {"conversation": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]}])";
        std::ofstream(root / "broken.json") << "[{\"conversation\": ";
    }

    void droppedFoldersJoinThePoolWithVerdicts() {
        PoolPanel panel;
        panel.resize(600, 400);
        const QString root = m_tmp.path();
        auto p = [&](const char* n) { return root + QLatin1Char('/') + QLatin1String(n); };
        QVERIFY(
            dropUrls(&panel, {p("base"), p("ft_1"), p("deep"), p("wide"), p("notes.txt"), p("not_a_model")}));
        PoolModel* m = panel.model();
        QCOMPARE(m->rowCount(), 5);  // the text file is not a folder
        QCOMPARE(m->names(), (QStringList{"base", "ft_1", "deep", "wide", "not_a_model"}));
        // The folders are read and checked off the GUI thread: the rows are
        // there at once, "checking…", and nothing counts as compatible yet.
        QVERIFY(m->checking());
        QVERIFY(!m->allCompatible());
        QCOMPARE(cell(m, 1, PoolModel::VerdictColumn), QStringLiteral("checking…"));
        QVERIFY(m->waitForCheck());
        QCOMPARE(cell(m, 0, PoolModel::ArchitectureColumn), QStringLiteral("LlamaForCausalLM"));
        QCOMPARE(cell(m, 0, PoolModel::LayersColumn), QStringLiteral("2"));
        QCOMPARE(cell(m, 2, PoolModel::LayersColumn), QStringLiteral("3"));
        QVERIFY(!cell(m, 0, PoolModel::SizeColumn).isEmpty());
        // Verdicts against the base (the first model).
        QCOMPARE(cell(m, 0, PoolModel::VerdictColumn), QStringLiteral("OK (base)"));
        QCOMPARE(cell(m, 1, PoolModel::VerdictColumn), QStringLiteral("OK"));
        QCOMPARE(cell(m, 2, PoolModel::VerdictColumn), QStringLiteral("num_hidden_layers is 3, base has 2"));
        // The first differing tensor: an MLP projection of layer 0, [intermediate, hidden].
        QVERIFY2(cell(m, 3, PoolModel::VerdictColumn).startsWith(QStringLiteral("layer 0 mlp.")) &&
                     cell(m, 3, PoolModel::VerdictColumn)
                         .endsWith(QStringLiteral("is [96, 32], base has [64, 32]")),
                 qPrintable(cell(m, 3, PoolModel::VerdictColumn)));
        QVERIFY(!m->entries()[4].openable);
        QVERIFY(!cell(m, 4, PoolModel::VerdictColumn).isEmpty());
        QVERIFY(!m->allCompatible());

        // Dropping the same folder again adds nothing; a plain file is refused outright.
        QVERIFY(dropUrls(&panel, {p("base")}));
        QCOMPARE(m->rowCount(), 5);
        QVERIFY(m->waitForCheck());
        QVERIFY(!dropUrls(&panel, {p("notes.txt")}));

        // Remove the misfits; the rest is a compatible pool.
        m->removeRowsAt({2, 3, 4});
        QCOMPARE(m->names(), (QStringList{"base", "ft_1"}));
        QVERIFY(m->waitForCheck());
        QVERIFY(m->allCompatible());

        // Explicit base: ft_1 becomes the reference of the check.
        QComboBox* base = panel.baseSelector();
        base->setCurrentIndex(base->findText(QStringLiteral("ft_1")));
        QVERIFY(m->waitForCheck());
        QCOMPARE(cell(m, 1, PoolModel::VerdictColumn), QStringLiteral("OK (base)"));
        QCOMPARE(cell(m, 0, PoolModel::VerdictColumn), QStringLiteral("OK"));

        // Reorder: the pool order is the tie-break order.
        QCOMPARE(m->moveRow(1, -1), 0);
        QCOMPARE(m->names(), (QStringList{"ft_1", "base"}));

        olm::MergeConfig c;
        panel.applyTo(c);
        QCOMPARE(QString::fromStdString(c.models_dir.string()), QDir(root).absolutePath());
        QCOMPARE(c.models, (std::vector<std::string>{"ft_1", "base"}));
        QCOMPARE(c.base_model_name, std::string("ft_1"));
        QVERIFY(!c.base_select);
        base->setCurrentIndex(1);  // auto-select
        panel.applyTo(c);
        QVERIFY(c.base_select);
        QVERIFY(c.base_model_name.empty());
    }

    // A Hugging Face name typed into the field: from the cache when it is
    // there, else a row saying the merge downloads it; written back by name.
    // A slow disk must not freeze the window: the folders are read on another
    // thread while the event loop keeps running, and only the last edit's
    // check counts.
    void thePoolIsCheckedOffTheGuiThread() {
        const QString root = m_tmp.path();
        PoolModel m;
        QSemaphore gate;
        std::atomic<QThread*> checkThread{nullptr};
        std::atomic<int> checks{0};
        m.setCheckHook([&] {
            checkThread = QThread::currentThread();
            ++checks;
            gate.acquire();  // the "disk" answers when the test says so
        });
        QSignalSpy done(&m, &PoolModel::checked);
        QCOMPARE(m.addFolders({root + QStringLiteral("/base"), root + QStringLiteral("/deep")}), 2);
        QVERIFY(m.checking());
        // The GUI thread keeps serving events while the check waits on the disk.
        bool ticked = false;
        QTimer::singleShot(50, &m, [&] { ticked = true; });
        QTRY_VERIFY(ticked);
        QTRY_COMPARE(checks.load(), 1);
        QVERIFY(checkThread.load() != QThread::currentThread());
        QCOMPARE(done.count(), 0);
        QVERIFY(!m.allCompatible());
        // An edit while the first check is blocked: deep becomes the base.
        m.setBaseName(QStringLiteral("deep"));
        gate.release(2);
        QVERIFY(m.waitForCheck());
        QCOMPARE(done.count(), 1);  // the superseded check's results were dropped
        QCOMPARE(cell(&m, 1, PoolModel::VerdictColumn), QStringLiteral("OK (base)"));
        QCOMPARE(cell(&m, 0, PoolModel::VerdictColumn), QStringLiteral("num_hidden_layers is 2, base has 3"));
        QCOMPARE(cell(&m, 0, PoolModel::LayersColumn), QStringLiteral("2"));
        // Clearing the pool while a check waits ends the checking state at once.
        m.addFolders({root + QStringLiteral("/ft_1")});
        QVERIFY(m.checking());
        m.clear();
        QVERIFY(!m.checking());
        gate.release();
        QTest::qWait(50);  // the stale result arrives and is dropped
        QVERIFY(!m.checking());
        QCOMPARE(m.rowCount(), 0);
        m.setCheckHook({});
    }

    void hubNamesJoinThePool() {
        const fs::path root = m_tmp.path().toStdString();
        const fs::path cache = root / "hf";
        const std::string commit(40, 'a');
        const fs::path snap = cache / "models--org--cached" / "snapshots" / commit;
        olm::testing::write_tiny_model(snap, {.layers = 2, .seed = 1});
        fs::create_directories(cache / "models--org--cached" / "refs");
        std::ofstream(cache / "models--org--cached" / "refs" / "main") << commit;
        qputenv("HF_HUB_CACHE", QByteArray::fromStdString(cache.string()));

        PoolPanel panel;
        auto* m = panel.model();
        QVERIFY(!panel.addHubName(QStringLiteral("not a name")));
        QVERIFY(panel.hubNameEdit()->toolTip().contains(QStringLiteral("org/name")));
        panel.hubNameEdit()->setText(QStringLiteral("org/cached"));
        QTest::keyClick(panel.hubNameEdit(), Qt::Key_Return);
        QVERIFY(panel.addHubName(QStringLiteral(" org/remote@v2 ")));
        QCOMPARE(m->rowCount(), 2);
        QVERIFY(m->waitForCheck());
        QCOMPARE(m->names(), (QStringList{"org/cached", "org/remote@v2"}));
        QCOMPARE(m->entries()[0].path, QString::fromStdString(snap.string()));
        QCOMPARE(cell(m, 0, PoolModel::LayersColumn), QStringLiteral("2"));
        QVERIFY(!m->entries()[1].openable);
        QVERIFY(m->entries()[1].error.contains(QStringLiteral("not downloaded yet")));
        QVERIFY(m->entries()[1].compatible);  // does not block the start: the merge fetches it
        QVERIFY(panel.hubNameEdit()->text().isEmpty());
        QVERIFY(!m->addHubModel(QStringLiteral("org/cached"), {}));  // no duplicates

        olm::MergeConfig c;
        c.models_dir = "/kept";
        panel.applyTo(c);
        QCOMPARE(c.models, (std::vector<std::string>{"org/cached", "org/remote@v2"}));
        QCOMPARE(c.models_dir, fs::path("/kept"));
        PoolPanel again;
        again.loadFrom(c);
        QCOMPARE(again.model()->names(), (QStringList{"org/cached", "org/remote@v2"}));
        QCOMPARE(again.model()->entries()[0].path, QString::fromStdString(snap.string()));
        qunsetenv("HF_HUB_CACHE");
    }

    void datasetsTakeAModePerFile() {
        olm::ui::DatasetPanel panel;
        const QString root = m_tmp.path();
        auto* m = panel.model();
        QCOMPARE(m->addFiles({root + "/chat.json", root + "/broken.json", root + "/chat.json"}), 2);
        QCOMPARE(m->entries()[0].samples, 2);
        QCOMPARE(m->entries()[1].samples, -1);
        QVERIFY(!m->entries()[1].error.isEmpty());

        // The mode column is edited through the combo delegate.
        QTableView* view = panel.view();
        const QModelIndex mode = m->index(0, olm::ui::DatasetModel::ModeColumn);
        QVERIFY(m->flags(mode) & Qt::ItemIsEditable);
        auto* delegate = view->itemDelegateForColumn(olm::ui::DatasetModel::ModeColumn);
        QVERIFY(delegate);
        QStyleOptionViewItem opt;
        std::unique_ptr<QWidget> editor(delegate->createEditor(view->viewport(), opt, mode));
        auto* combo = qobject_cast<QComboBox*>(editor.get());
        QVERIFY(combo);
        QVERIFY(combo->findText(QStringLiteral("quality")) >= 0);
        QVERIFY(combo->findText(QStringLiteral("bigram")) >= 0);
        delegate->setEditorData(combo, mode);
        QCOMPARE(combo->currentText(), QStringLiteral("exact"));
        combo->setCurrentText(QStringLiteral("quality"));
        delegate->setModelData(combo, m, mode);
        QCOMPARE(m->entries()[0].mode, QStringLiteral("quality"));

        m->removeRowsAt({1});
        panel.samples()->setValue(7);
        olm::MergeConfig c;
        panel.applyTo(c);
        QCOMPARE(c.datasets.size(), std::size_t(1));
        QCOMPARE(c.datasets[0].name, std::string("chat.json"));
        QCOMPARE(c.datasets[0].mode, std::string("quality"));
        QCOMPARE(c.samples, int64_t(7));
    }

private:
    QTemporaryDir m_tmp;
};

QTEST_MAIN(TestPoolPanel)
#include "test_pool_panel.moc"
