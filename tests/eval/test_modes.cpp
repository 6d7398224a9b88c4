// The mode formulas against hand-computed values, the quality penalties one by
// one, and the mode registry.
#include "core/eval/modes.h"
#include "core/eval/scripts.h"
#include "core/util/error.h"

#include <QtTest>

#include <cmath>

namespace {

// Logits whose softmax is the given probabilities (log p).
at::Tensor logits_of(const std::vector<std::vector<double>>& probs) {
    const auto T = static_cast<int64_t>(probs.size());
    const auto V = static_cast<int64_t>(probs[0].size());
    at::Tensor x = at::empty({T, V}, at::kDouble);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t v = 0; v < V; ++v) x[t][v] = std::log(probs[t][v]);
    return x.to(at::kFloat);
}

std::vector<olm::TokenStats> stats_of(const std::vector<std::vector<double>>& probs,
                                      const std::vector<int64_t>& targets) {
    return olm::token_stats(logits_of(probs), at::tensor(targets, at::kLong));
}

std::string repeat_words(int n, const std::string& prefix = "w") {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? " " : "") + prefix + std::to_string(i);
    return s;
}

}  // namespace

class TestModes : public QObject {
    Q_OBJECT
private slots:
    void tokenStatsMatchNaiveDouble() {
        at::manual_seed(3);
        const at::Tensor logits = at::randn({5, 11}) * 3;
        const at::Tensor targets = at::tensor(std::vector<int64_t>{0, 4, 10, 2, 7}, at::kLong);
        const auto stats = olm::token_stats(logits, targets);
        const at::Tensor d = logits.to(at::kDouble);
        for (int64_t t = 0; t < 5; ++t) {
            double mx = -1e300, sum = 0.0;
            int64_t arg = 0;
            for (int64_t v = 0; v < 11; ++v) {
                const double x = d[t][v].item<double>();
                if (x > mx) mx = x, arg = v;
            }
            for (int64_t v = 0; v < 11; ++v) sum += std::exp(d[t][v].item<double>() - mx);
            const double lse = mx + std::log(sum);
            QCOMPARE(stats[t].argmax, arg);
            QVERIFY(std::abs(stats[t].p_max - std::exp(mx - lse)) < 1e-6);
            QVERIFY(std::abs(stats[t].logp_target - (d[t][targets[t].item<int64_t>()].item<double>() - lse)) <
                    1e-5);
            QCOMPARE(stats[t].target_is_argmax, targets[t].item<int64_t>() == arg);
        }
    }

    void exactHandComputed() {
        // Token 0: p = (.25, .5, .25), expected 1 = argmax -> 1 - .5 = .5
        // Token 1: p = (.25, .25, .5), expected 0 != argmax -> 1 + .5 = 1.5
        const auto s = olm::exact_score(stats_of({{.25, .5, .25}, {.25, .25, .5}}, {1, 0}));
        QVERIFY(std::abs(s.score - 1.0) < 1e-6);
        QVERIFY(!s.correct);
        // All argmax: (1 - .5 + 1 - .8) / 2 = .35, an exact match.
        const auto c = olm::exact_score(stats_of({{.25, .5, .25}, {.1, .1, .8}}, {1, 2}));
        QVERIFY(std::abs(c.score - 0.35) < 1e-6);
        QVERIFY(c.correct);
    }

    void exactTieCountsAsArgmax() {
        const auto s = olm::exact_score(stats_of({{1.0 / 3, 1.0 / 3, 1.0 / 3}}, {2}));
        QVERIFY(s.correct);
        QVERIFY(std::abs(s.score - (1.0 - 1.0 / 3)) < 1e-6);
    }

    void bigramHandComputed() {
        // CE = ln 2, ln 4, ln 8: pairs ln 8 and ln 32, mean 4 ln 2 -> exp = 16.
        const auto s = olm::bigram_score(stats_of({{.5, .5}, {.25, .75}, {.875, .125}}, {0, 0, 1}));
        QVERIFY2(std::abs(s.score - 16.0) < 1e-4, qPrintable(QString::number(s.score)));
        QVERIFY(!s.correct);
        // One token: exp(CE) = 1 / p = 4.
        const auto one = olm::bigram_score(stats_of({{.25, .75}}, {0}));
        QVERIFY(std::abs(one.score - 4.0) < 1e-5);
    }

    void emptyResponseIsAnError() {
        QVERIFY_THROWS_EXCEPTION(olm::Error, olm::exact_score({}));
        QVERIFY_THROWS_EXCEPTION(olm::Error, olm::bigram_score({}));
    }

    void qualityFormula() {
        olm::EvalSettings s;
        s.min_words = 4;
        // n = 4, unique = 3, L = 4096: 1 / ((4 / 4096) * (3/4)^2) = 4096 * 16 / 36.
        const auto q = olm::quality_score("alpha beta alpha gamma", s);
        QVERIFY(q.penalty.empty());
        QVERIFY(q.correct);
        QVERIFY(std::abs(q.score - 4096.0 * 16.0 / 36.0) < 1e-9);
        // More words than L: the length share is capped at 1.
        s.max_length = 4;
        const auto capped = olm::quality_score("a b c d e f g h", s);
        QVERIFY(std::abs(capped.score - 1.0) < 1e-12);
    }

    void qualityPenalties_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("minWords");
        QTest::addColumn<bool>("cjkForbidden");
        QTest::addColumn<QString>("reason");  // "" = no penalty
        const QString ok = QString::fromStdString(repeat_words(10));
        QTest::newRow("clean") << ok << 10 << true << "";
        QTest::newRow("cjk") << ok + QStringLiteral(" 中文") << 10 << true << "U+4E2D";
        QTest::newRow("cjk allowed") << ok + QStringLiteral(" 中文") << 10 << false << "";
        QTest::newRow("cjk edge first") << ok + QStringLiteral(" \u4E00") << 10 << true << "U+4E00";
        QTest::newRow("cjk edge last") << ok + QStringLiteral(" \u9FFF") << 10 << true << "U+9FFF";
        QTest::newRow("outside block") << ok + QStringLiteral(" \u3400") << 10 << true << "";
        QTest::newRow("too few words")
            << QString::fromStdString(repeat_words(9)) << 10 << true << "too few words: 9";
        QTest::newRow("word of 20 chars") << ok + " " + QString(20, 'x') << 10 << true << "";
        QTest::newRow("word of 21 chars") << ok + " " + QString(21, 'x') << 10 << true << "longer than 20";
        QTest::newRow("21 two-byte chars")
            << ok + " " + QString(21, QChar(0xE9)) << 10 << true << "longer than 20";
        QTest::newRow("20 two-byte chars") << ok + " " + QString(20, QChar(0xE9)) << 10 << true << "";
        QTest::newRow("empty") << QString() << 1 << true << "too few words: 0";
    }
    void qualityPenalties() {
        QFETCH(QString, text);
        QFETCH(int, minWords);
        QFETCH(bool, cjkForbidden);
        QFETCH(QString, reason);
        olm::EvalSettings s;
        s.min_words = minWords;
        if (!cjkForbidden) s.forbidden_scripts.clear();
        const auto q = olm::quality_score(text.toStdString(), s);
        if (reason.isEmpty()) {
            QVERIFY2(q.penalty.empty(), q.penalty.c_str());
            QVERIFY(q.score < 4096.0);
        } else {
            QCOMPARE(q.score, 4096.0);
            QVERIFY(!q.correct);
            QVERIFY2(QString::fromStdString(q.penalty).contains(reason), q.penalty.c_str());
        }
    }

    void scriptNamesAndRanges_data() {
        QTest::addColumn<QString>("entry");
        QTest::addColumn<uint>("inside");
        QTest::addColumn<uint>("outside");
        QTest::newRow("cjk = the default block") << "CJK" << 0x9FFFu << 0x3400u;
        QTest::newRow("han adds extension A") << "han" << 0x3400u << 0x3000u;
        QTest::newRow("cyrillic") << "Cyrillic" << 0x0416u << 0x0041u;
        QTest::newRow("explicit range") << "U+0041-U+005A" << 0x5Au << 0x61u;
        QTest::newRow("bare hex range") << "0e00-0e7f" << 0x0E01u << 0x0E80u;
        QTest::newRow("single code point") << "U+00E9" << 0xE9u << 0xEAu;
    }
    void scriptNamesAndRanges() {
        QFETCH(QString, entry);
        QFETCH(uint, inside);
        QFETCH(uint, outside);
        const auto ranges = olm::parse_script_ranges(entry.toStdString());
        auto hit = [&](char32_t c) {
            return std::any_of(ranges.begin(), ranges.end(),
                               [&](const auto& r) { return c >= r.first && c <= r.last; });
        };
        QVERIFY(hit(inside));
        QVERIFY(!hit(outside));
    }
    void unknownScriptIsAnError_data() {
        QTest::addColumn<QString>("entry");
        QTest::newRow("name") << "klingon";
        QTest::newRow("reversed range") << "U+9FFF-U+4E00";
        QTest::newRow("not hex") << "U+XYZ";
        QTest::newRow("beyond unicode") << "U+110000";
    }
    void unknownScriptIsAnError() {
        QFETCH(QString, entry);
        try {
            olm::parse_script_ranges(entry.toStdString());
            QFAIL("expected olm::Error");
        } catch (const olm::Error& e) {
            QVERIFY2(QString(e.what()).contains(entry) && QString(e.what()).contains("cyrillic"), e.what());
        }
    }

    void unicodeWhitespaceSplitsWords() {
        // ideographic space, no-break space, tab, newline, em space
        const auto w = olm::split_words("a\u3000b\u00A0c\td\ne\u2003f  ");
        QCOMPARE(w.size(), size_t(6));
        QCOMPARE(QString::fromStdString(w[5]), QStringLiteral("f"));
        QCOMPARE(olm::decode_utf8("\xFF"
                                  "a")
                     .size(),
                 size_t(2));
        QCOMPARE(olm::decode_utf8("\xFF"
                                  "a")[0],
                 char32_t(0xFFFD));
    }

    void registryNamesAndAliases() {
        // The original's current names are modes of their own, not aliases of the early ones.
        QCOMPARE(olm::find_mode("exact_match").name, std::string("exact_match"));
        QCOMPARE(olm::find_mode("exact_match").kind, olm::ModeKind::greedy_target);
        QVERIFY(olm::find_mode("exact_match").original_format);
        QCOMPARE(olm::find_mode("bigram_loss").name, std::string("bigram_loss"));
        QCOMPARE(olm::find_mode("bigram_loss").kind, olm::ModeKind::teacher_forced);
        QCOMPARE(olm::find_mode("diversity").name, std::string("diversity"));
        QCOMPARE(olm::find_mode("diversity").kind, olm::ModeKind::generation);
        QVERIFY(!olm::find_mode("exact").original_format);
        QCOMPARE(olm::find_mode("quality").kind, olm::ModeKind::generation);
        QVERIFY(!olm::find_mode("quality").requires_response);
        try {
            olm::find_mode("perplexity");
            QFAIL("expected olm::Error");
        } catch (const olm::Error& e) {
            const QString msg = e.what();
            QVERIFY2(msg.contains("perplexity") && msg.contains("exact") && msg.contains("bigram") &&
                         msg.contains("quality") && msg.contains("diversity"),
                     e.what());
        }
    }

    void registeringAModeIsOneCall() {
        olm::EvalMode m;
        m.name = "first_token";
        m.summary = "cost of the first response token only";
        m.score_tokens = [](const std::vector<olm::TokenStats>& t) {
            return olm::SampleScore{-t.front().logp_target, t.front().target_is_argmax, {}};
        };
        olm::register_mode(m, {"first"});
        const auto s = olm::find_mode("first").score_tokens(stats_of({{.25, .75}, {.5, .5}}, {1, 0}));
        QVERIFY(std::abs(s.score - (-std::log(.75))) < 1e-6);
        QVERIFY_THROWS_EXCEPTION(olm::Error, olm::register_mode(m));
        const auto names = olm::mode_names();
        QVERIFY(std::find(names.begin(), names.end(), "first_token") != names.end());
    }
};

QTEST_GUILESS_MAIN(TestModes)
#include "test_modes.moc"
