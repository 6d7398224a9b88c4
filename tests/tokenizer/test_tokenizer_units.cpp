#include "core/tokenizer/tokenizer.h"
#include <QtTest>
class TestTokenizerUnits : public QObject {
    Q_OBJECT
private slots:
    void placeholder() {}
};
QTEST_GUILESS_MAIN(TestTokenizerUnits)
#include "test_tokenizer_units.moc"
