// The safeguard's paired bootstrap on constructed per-sample scores: a merge
// better than the member, one indistinguishable, one worse; independence from
// dataset scale; determinism.
#include <QtTest/QtTest>

#include "core/merge/safeguard.h"
#include "core/util/error.h"

#include <random>

using namespace olm;

namespace {

// n samples of member scores ~ N(mu, 1) and merge = member + shift + N(0, noise).
void make_pair(int n, double shift, double noise, uint64_t seed, std::vector<double>& merge,
               std::vector<double>& member, double scale = 1.0) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0.0, 1.0);
    merge.clear();
    member.clear();
    for (int i = 0; i < n; ++i) {
        const double m = 3.0 + g(rng);
        member.push_back(scale * m);
        merge.push_back(scale * (m + shift + noise * g(rng)));
    }
}

}  // namespace

class TestSafeguard : public QObject {
    Q_OBJECT
private slots:
    void verdicts_data() {
        QTest::addColumn<double>("shift");
        QTest::addColumn<QString>("verdict");
        QTest::newRow("merge better (lower scores)") << -0.3 << "better";
        QTest::newRow("indistinguishable") << 0.0 << "not distinguishable";
        QTest::newRow("merge worse") << 0.3 << "worse";
    }
    void verdicts() {
        QFETCH(double, shift);
        QFETCH(QString, verdict);
        std::vector<std::vector<double>> merge(2), member(2);
        make_pair(300, shift, 0.5, 1, merge[0], member[0]);
        make_pair(200, shift, 0.5, 2, merge[1], member[1], 50.0);  // another scale, same weight
        const BootstrapResult r = paired_bootstrap(merge, member, 2000, 7);
        QCOMPARE(QString::fromStdString(r.verdict), verdict);
        QVERIFY(r.low <= r.mean && r.mean <= r.high);
        QCOMPARE(r.samples, int64_t(500));
        // Deterministic for a seed.
        const BootstrapResult again = paired_bootstrap(merge, member, 2000, 7);
        QCOMPARE(again.low, r.low);
        QCOMPARE(again.high, r.high);
    }

    void statisticMatchesHandComputation() {
        // Dataset 0: diffs member - merge = {1, 1, 1, 1} over pooled sd of {0,0,0,0,1,1,1,1} = 0.5 -> 2.
        // Dataset 1: all equal -> 0 (sd 0 -> scale 1). Mean over datasets = 1.
        const std::vector<std::vector<double>> merge = {{0, 0, 0, 0}, {5, 5}};
        const std::vector<std::vector<double>> member = {{1, 1, 1, 1}, {5, 5}};
        const BootstrapResult r = paired_bootstrap(merge, member, 100, 1);
        QCOMPARE(r.mean, 1.0);
        QCOMPARE(r.low, 1.0);  // no variation in the differences
        QCOMPARE(QString::fromStdString(r.verdict), QString("better"));
    }

    void shapeErrors() {
        QVERIFY_THROWS_EXCEPTION(Error, paired_bootstrap({{1, 2}}, {{1}}, 10, 1));
        QVERIFY_THROWS_EXCEPTION(Error, paired_bootstrap({{}}, {{}}, 10, 1));
    }
};

QTEST_GUILESS_MAIN(TestSafeguard)
#include "test_safeguard.moc"
