// The progress model on a recorded event stream of a real demo merge
// (tests/ui/data/demo_run_events.jsonl: `olm-studio --demo --run` with
// OLM_STUDIO_RECORD_EVENTS set; every event the worker saw, with its time).
// Replayed with the clock of the recording, as the window's half-second timer
// would sample it:
//  - after the first layer is decided, the predicted end (now + ETA) stays
//    within ±25 % of the run's real end, at every sample;
//  - the share done never goes back by more than a hair and keeps moving
//    during the reference scorings (where an evaluation count stands still);
//  - every stage has a name;
//  - a pause is no work: ETA and share stand still while paused, and the
//    estimate after resuming equals the one without the pause.
#include "core/merge/config.h"
#include "ui/progress_tracker.h"

#include <QFile>
#include <QtTest>

#include <cmath>

using olm::ui::ProgressTracker;
using olm::ui::RunEvent;

namespace {

QVector<RunEvent> loadStream(const QString& path) {
    QVector<RunEvent> out;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return out;
    while (!f.atEnd()) {
        RunEvent e;
        const QByteArray line = f.readLine().trimmed();
        if (!line.isEmpty() && olm::ui::runEventFromJson(line, e)) out << e;
    }
    return out;
}

olm::ui::RunPlan demoPlan(const QVector<RunEvent>& events) {
    const olm::MergeConfig c =
        olm::load_merge_config(std::string(OLM_RESOURCES_DIR) + "/demo/olm_config.yaml");
    int layers = 0;
    for (const auto& e : events)
        if (e.kind == QLatin1String("layer")) layers = std::max(layers, e.layer + 1);
    return olm::ui::runPlanFor(c, layers, false, false);
}

}  // namespace

class TestProgressTracker : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        m_events = loadStream(QStringLiteral(OLM_TEST_DATA_DIR "/../ui/data/demo_run_events.jsonl"));
        QVERIFY2(m_events.size() > 50, "the recorded demo stream is missing");
        QCOMPARE(m_events.last().type, RunEvent::Type::finished);
    }

    void etaStableWithinAQuarterAfterTheFirstLayer() {
        const auto plan = demoPlan(m_events);
        QVERIFY(plan.layers > 1);
        ProgressTracker t(plan);
        const double end = m_events.last().t;
        bool afterFirstLayer = false;
        double lastFraction = 0.0, worst = 0.0;
        int samples = 0;
        double next = 0.0;
        QStringList stages;
        for (const auto& e : m_events) {
            // The timer's samples between the previous event and this one.
            for (; next < e.t; next += 0.5) {
                if (!afterFirstLayer) continue;
                const auto eta = t.etaSeconds(next);
                QVERIFY2(eta.has_value(), qPrintable(QStringLiteral("no ETA at %1 s").arg(next)));
                const double predicted = next + *eta;
                const double err = std::abs(predicted - end) / end;
                worst = std::max(worst, err);
                QVERIFY2(err <= 0.25, qPrintable(QStringLiteral("at %1 s (%2) predicted end %3 s, real %4 s")
                                                     .arg(next)
                                                     .arg(t.stageTitle())
                                                     .arg(predicted)
                                                     .arg(end)));
                const double f = t.fraction(next);
                QVERIFY2(f >= lastFraction - 0.02,
                         qPrintable(QStringLiteral("share went back at %1 s: %2 -> %3")
                                        .arg(next)
                                        .arg(lastFraction)
                                        .arg(f)));
                lastFraction = std::max(lastFraction, f);
                ++samples;
            }
            t.add(e);
            if (!stages.contains(t.stageTitle())) stages << t.stageTitle();
            if (e.type == RunEvent::Type::decision && e.kind == QLatin1String("layer"))
                afterFirstLayer = true;
        }
        qInfo("%d samples over %.0f s; worst predicted end off by %.1f %%; stages: %s", samples, end,
              100.0 * worst, qPrintable(stages.join(QStringLiteral(", "))));
        QVERIFY(samples > 20);
        QCOMPARE(t.fraction(end), 1.0);
        for (const char* s :
             {"Loading", "Scoring the base", "Layers", "Reference scoring", "Safeguard", "Done"})
            QVERIFY2(stages.contains(QLatin1String(s)), s);
    }

    void shareMovesDuringTheReferenceScorings() {
        ProgressTracker t(demoPlan(m_events));
        int i = 0;
        for (; i < m_events.size(); ++i) {
            t.add(m_events[i]);
            if (m_events[i].type == RunEvent::Type::stage && m_events[i].stage == QLatin1String("references"))
                break;
        }
        QVERIFY(i + 1 < m_events.size());
        const double from = m_events[i].t, to = m_events[i + 1].t;
        QVERIFY2(to - from > 1.0, "the merge's own scoring takes a while");
        QVERIFY(t.fraction(from + 0.9 * (to - from)) > t.fraction(from) + 1e-4);
        QVERIFY(*t.etaSeconds(from + 0.9 * (to - from)) < *t.etaSeconds(from));
    }

    void pausedTimeIsNotWork() {
        const auto plan = demoPlan(m_events);
        // Pause for 100 s right after the third layer decision.
        int at = -1, layers = 0;
        for (int i = 0; i < m_events.size() && at < 0; ++i)
            if (m_events[i].type == RunEvent::Type::decision && m_events[i].kind == QLatin1String("layer") &&
                ++layers == 3)
                at = i;
        QVERIFY(at > 0);
        ProgressTracker plain(plan), paused(plan);
        for (int i = 0; i <= at; ++i) {
            plain.add(m_events[i]);
            paused.add(m_events[i]);
        }
        const double t0 = m_events[at].t;
        RunEvent p;
        p.type = RunEvent::Type::paused;
        p.t = t0;
        paused.add(p);
        QVERIFY(paused.paused());
        const double etaAtPause = *paused.etaSeconds(t0);
        QCOMPARE(*paused.etaSeconds(t0 + 60), etaAtPause);
        QCOMPARE(paused.fraction(t0 + 60), paused.fraction(t0));
        RunEvent r;
        r.type = RunEvent::Type::resumed;
        r.t = t0 + 100;
        paused.add(r);
        for (int i = at + 1; i < m_events.size() - 1; ++i) {
            plain.add(m_events[i]);
            RunEvent shifted = m_events[i];
            shifted.t += 100;
            paused.add(shifted);
            QVERIFY(std::abs(*paused.etaSeconds(shifted.t) - *plain.etaSeconds(m_events[i].t)) < 1e-6);
        }
    }

    void eventsRoundTripThroughJson() {
        RunEvent e;
        e.type = RunEvent::Type::candidateFinished;
        e.t = 12.345;
        e.kind = QStringLiteral("layer");
        e.layer = 3;
        e.name = QStringLiteral("0.5*(current+story)");
        e.index = 2;
        e.count = 9;
        e.status = QStringLiteral("evaluated");
        RunEvent back;
        QVERIFY(olm::ui::runEventFromJson(olm::ui::runEventToJson(e), back));
        QCOMPARE(back.type, e.type);
        QCOMPARE(back.t, e.t);
        QCOMPARE(back.layer, 3);
        QCOMPARE(back.name, e.name);
        QCOMPARE(back.count, 9);
        QCOMPARE(back.status, e.status);
        QVERIFY(!olm::ui::runEventFromJson("{\"ev\": \"nonsense\"}", back));
    }

private:
    QVector<RunEvent> m_events;
};

QTEST_MAIN(TestProgressTracker)
#include "test_progress_tracker.moc"
