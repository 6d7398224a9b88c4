#include "core/tokenizer/tokenizer.h"
#include <QtTest>
class TestChatTemplate : public QObject {
    Q_OBJECT
private slots:
    void placeholder() {}
};
QTEST_GUILESS_MAIN(TestChatTemplate)
#include "test_chat_template.moc"
