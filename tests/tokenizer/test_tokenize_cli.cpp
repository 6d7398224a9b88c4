#include "core/tokenizer/tokenizer.h"
#include <QtTest>
class TestTokenizeCli : public QObject {
    Q_OBJECT
private slots:
    void placeholder() {}
};
QTEST_GUILESS_MAIN(TestTokenizeCli)
#include "test_tokenize_cli.moc"
