// End to end on the shipped demo project: `olm demo`'s merge with the `better`
// search (the project's own config) must do what the demo promises — on the
// held-out split the merged model is at least as good as the base on every
// dataset, its mean held-out accuracy beats the best single pool model with a
// 95% paired bootstrap interval above zero, and the exported model re-scored
// from disk reproduces the report's held-out accuracies.
#include "core/demo/demo_project.h"
#include "core/demo/demo_run.h"

#include <QTemporaryDir>
#include <QtTest>

namespace fs = std::filesystem;

namespace {

class QuietEvents : public olm::MergeEvents {};

const olm::demo::DemoRow& row(const olm::demo::DemoRunResult& r, const std::string& name) {
    for (const auto& x : r.rows)
        if (x.name == name) return x;
    throw std::runtime_error("no row " + name);
}

}  // namespace

class TestDemoMerge : public QObject {
    Q_OBJECT

private slots:
    void betterMergeBeatsEveryPoolModel() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        olm::demo::DemoRunOptions o;
        o.project = olm::demo::bundled_demo_dir();
        o.out = fs::path(tmp.path().toStdString());
        o.presets = {"better"};
        QuietEvents events;
        const auto result = olm::demo::run_demo(o, events);
        qInfo().noquote() << QString::fromStdString(olm::demo::format_demo_table(result));

        const auto& merge = row(result, "merge (better)");
        const auto& base = row(result, "base");
        for (const auto& d : result.datasets)
            QVERIFY2(merge.heldout.at(d) >= base.heldout.at(d),
                     (d + ": merge " + std::to_string(merge.heldout.at(d)) + " < base " +
                      std::to_string(base.heldout.at(d)))
                         .c_str());
        QCOMPARE(result.presets.size(), size_t(1));
        const auto& p = result.presets.front();
        // The best pool model by mean held-out accuracy, and the interval of the difference.
        double best = 0;
        for (const auto& r : result.rows)
            if (!r.is_merge && r.name != "soup") best = std::max(best, r.mean_heldout);
        QVERIFY(merge.mean_heldout > best);
        QVERIFY2(p.low > 0, ("merge - " + p.best_model + ": " + std::to_string(p.diff) + " [" +
                             std::to_string(p.low) + ", " + std::to_string(p.high) + "]")
                                .c_str());
        QVERIFY(p.export_reproduced);
    }
};

QTEST_GUILESS_MAIN(TestDemoMerge)
#include "test_demo_merge.moc"
