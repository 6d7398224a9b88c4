// olm-studio: the OLM Studio desktop application.
#include "ui/main_window.h"

#include <QApplication>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("OLM Studio"));
    QApplication::setOrganizationName(QStringLiteral("OLM Studio"));
    olm::ui::MainWindow window;
    window.show();
    return QApplication::exec();
}
