#include "ui/main_window.h"

#include <QGroupBox>
#include <QListWidget>
#include <QPushButton>
#include <QtTest>

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
        QVERIFY(w.modelPool() != nullptr);
        QStringList buttons;
        for (auto* b : w.findChildren<QPushButton*>()) buttons << b->text();
        QVERIFY(buttons.contains(QStringLiteral("Start")));
        QVERIFY(buttons.contains(QStringLiteral("Pause")));
        QVERIFY(buttons.contains(QStringLiteral("Resume")));
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
