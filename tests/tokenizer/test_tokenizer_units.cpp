// Units of the tokenizer against independent references: the Unicode
// standard's U+FFFD substitution example, a naive O(n^2) BPE, planted
// added-token cases, transformers' clean-up rules, and error paths.
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/unicode.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

using nlohmann::json;

namespace {

const std::filesystem::path kTiny =
    std::filesystem::path(OLM_TEST_DATA_DIR) / "tokenizers" / "tiny-bytelevel";

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A minimal byte-level tokenizer.json around a given vocab/merges.
json tiny_json() { return json::parse(read_all(kTiny / "tokenizer.json")); }

// Naive BPE: repeatedly merge the lowest-ranked adjacent pair (leftmost first).
std::vector<std::string> naive_bpe(const std::string& word,
                                   const std::map<std::pair<std::string, std::string>, int>& ranks) {
    std::vector<std::string> syms;
    size_t i = 0;
    while (i < word.size()) {
        size_t n = olm::unicode::cp_len(static_cast<unsigned char>(word[i]));
        syms.push_back(word.substr(i, n));
        i += n;
    }
    while (syms.size() > 1) {
        int best = -1;
        size_t at = 0;
        for (size_t k = 0; k + 1 < syms.size(); ++k) {
            auto it = ranks.find({syms[k], syms[k + 1]});
            if (it != ranks.end() && (best < 0 || it->second < best)) {
                best = it->second;
                at = k;
            }
        }
        if (best < 0) break;
        syms[at] += syms[at + 1];
        syms.erase(syms.begin() + static_cast<long>(at) + 1);
    }
    return syms;
}

}  // namespace

class TestTokenizerUnits : public QObject {
    Q_OBJECT
private slots:
    // Unicode 15, section 3.9, "U+FFFD Substitution of Maximal Subparts" (Table 3-8).
    void lossy_utf8_matches_unicode_example() {
        std::string in = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
        std::string want =
            "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD"
            "d";
        QCOMPARE(olm::unicode::from_utf8_lossy(in), want);
        QCOMPARE(olm::unicode::from_utf8_lossy("h\xC3\xA9llo"), std::string("h\xC3\xA9llo"));
    }

    void invalid_utf8_is_an_error_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<int>("offset");
        QTest::newRow("lone continuation") << QByteArray("ab\x80", 3) << 2;
        QTest::newRow("truncated 3-byte") << QByteArray("x\xE2\x82", 3) << 1;
        QTest::newRow("overlong") << QByteArray("\xC0\xAF", 2) << 0;
        QTest::newRow("surrogate") << QByteArray("\xED\xA0\x80", 3) << 0;
        QTest::newRow("above U+10FFFF") << QByteArray("ok \xF4\x90\x80\x80", 7) << 3;
        QTest::newRow("0xFF") << QByteArray("\xFF", 1) << 0;
    }
    void invalid_utf8_is_an_error() {
        QFETCH(QByteArray, text);
        QFETCH(int, offset);
        auto tok = olm::Tokenizer::from_folder(kTiny);
        try {
            tok.encode(std::string_view(text.constData(), static_cast<size_t>(text.size())), false);
            QFAIL("no error");
        } catch (const olm::Error& e) {
            QVERIFY2(std::string(e.what()).find("offset " + std::to_string(offset)) != std::string::npos,
                     e.what());
        }
    }

    // The fast queue-based merge equals the naive definition on random words.
    void bpe_matches_naive_reference() {
        json j = tiny_json();
        std::map<std::pair<std::string, std::string>, int> ranks;
        int r = 0;
        for (const auto& m : j["model"]["merges"]) {
            std::string s = m.get<std::string>();
            auto sp = s.find(' ');
            ranks.emplace(std::make_pair(s.substr(0, sp), s.substr(sp + 1)), r++);
        }
        const auto& vocab = j["model"]["vocab"];
        auto tok = olm::Tokenizer::from_folder(kTiny);
        std::mt19937 rng(7);
        const std::string letters = "etaoinshrdlucmfwypvbgkqjxz";
        for (int n = 0; n < 2000; ++n) {
            std::string word;
            int len = 1 + static_cast<int>(rng() % 14);
            for (int k = 0; k < len; ++k) word += letters[rng() % (k % 3 == 0 ? 8 : letters.size())];
            std::vector<int32_t> want;
            for (const auto& piece : naive_bpe(word, ranks)) want.push_back(vocab[piece].get<int32_t>());
            auto got = tok.encode(word, false);
            if (got != want) QFAIL(("mismatch on word " + word).c_str());
        }
    }

    // "a b" strings and ["a","b"] pairs are the same merges.
    void merges_in_both_file_forms() {
        json strings = tiny_json();
        json pairs = strings;
        json list = json::array();
        for (const auto& m : strings["model"]["merges"]) {
            std::string s = m.get<std::string>();
            auto sp = s.find(' ');
            list.push_back({s.substr(0, sp), s.substr(sp + 1)});
        }
        pairs["model"]["merges"] = list;
        auto a = olm::Tokenizer::from_json(strings.dump());
        auto b = olm::Tokenizer::from_json(pairs.dump());
        const std::string text = "The licenses for most software are designed to take away your freedom.";
        QCOMPARE(a.encode(text, false), b.encode(text, false));
        QVERIFY(a.encode(text, false).size() < text.size() / 2);  // merges did apply
    }

    // Added tokens: matched before pre-tokenisation, leftmost-longest, lstrip/rstrip.
    void added_tokens_planted() {
        json j = tiny_json();
        j["added_tokens"].push_back(
            {{"id", 512}, {"content", "<a>"}, {"special", true}, {"normalized", false}});
        j["added_tokens"].push_back(
            {{"id", 513}, {"content", "<a>b"}, {"special", false}, {"normalized", false}});
        j["added_tokens"].push_back(
            {{"id", 514}, {"content", "[L]"}, {"special", true}, {"normalized", false}, {"lstrip", true}});
        j["added_tokens"].push_back(
            {{"id", 515}, {"content", "[R]"}, {"special", true}, {"normalized", false}, {"rstrip", true}});
        auto tok = olm::Tokenizer::from_json(j.dump());
        auto x = [&](const char* s) { return tok.encode(s, false); };
        auto cat = [](std::vector<int32_t> a, const std::vector<int32_t>& b) {
            a.insert(a.end(), b.begin(), b.end());
            return a;
        };
        QCOMPARE(x("<|im_start|>user"), cat({510}, x("user")));
        QCOMPARE(x("<a>bc"), cat({513}, x("c")));  // longest wins
        QCOMPARE(x("<a>c"), cat({512}, x("c")));
        QCOMPARE(x("hi   [L]x"), cat(cat(x("hi"), {514}), x("x")));   // spaces before [L] absorbed
        QCOMPARE(x("y[R]   z"), cat(cat(x("y"), {515}), x("z")));     // spaces after [R] absorbed
        QCOMPARE(tok.decode({512, 513}, true), std::string("<a>b"));  // only specials skipped
        QCOMPARE(tok.vocab_size(), int64_t(516));
    }

    void tiny_metadata() {
        auto tok = olm::Tokenizer::from_folder(kTiny);
        QCOMPARE(tok.vocab_size(), int64_t(512));
        QCOMPARE(tok.token_to_id("<|endoftext|>").value(), 509);
        QCOMPARE(tok.token_to_id("<|im_start|>").value(), 510);
        QCOMPARE(tok.eos_id().value(), 511);
        QCOMPARE(tok.pad_id().value(), 509);
        QVERIFY(!tok.bos_id());
        QCOMPARE(tok.id_to_token(511), std::string("<|im_end|>"));
        QCOMPARE(tok.id_to_token(100000), std::string());
        QVERIFY(tok.is_special(510));
        QVERIFY(!tok.is_special(65));
        QVERIFY(tok.chat_template().has_value());
        QVERIFY(!tok.token_to_id("no such token"));
    }

    void clean_up_tokenization_data() {
        QTest::addColumn<QString>("in");
        QTest::addColumn<QString>("out");
        QTest::newRow("punct") << "Hello , world ! Yes ? No ."
                               << "Hello, world! Yes? No.";
        QTest::newRow("contractions") << "I do n't know , I 'm sure it 's you 're we 've"
                                      << "I don't know, I'm sure it's you're we've";
        QTest::newRow("quote") << "a ' b"
                               << "a'b";
        QTest::newRow("untouched") << "plain text"
                                   << "plain text";
    }
    void clean_up_tokenization() {
        QFETCH(QString, in);
        QFETCH(QString, out);
        QCOMPARE(QString::fromStdString(olm::Tokenizer::clean_up_tokenization(in.toStdString())), out);
    }

    void load_errors_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("needle");
        QTest::newRow("not json") << "{oops"
                                  << "parse";
        QTest::newRow("no model") << "{}"
                                  << "no \"model\"";
        QTest::newRow("unigram") << "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}"
                                 << "Unigram";
        QTest::newRow("bad merge")
            << "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}"
            << "merge #0";
        QTest::newRow("bad merge form")
            << "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}"
            << "merge #0";
        QTest::newRow("unknown pre_tokenizer") << "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
                                                  "\"merges\": []}, \"pre_tokenizer\": {\"type\": \"Magic\"}}"
                                               << "Magic";
        QTest::newRow("bad regex")
            << "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": "
               "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"([\"}, \"behavior\": \"Isolated\"}}"
            << "bad regex";
        QTest::newRow("unknown unk") << "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": "
                                        "[], \"unk_token\": \"<unk>\"}}"
                                     << "unk_token";
    }
    void load_errors() {
        QFETCH(QString, json);
        QFETCH(QString, needle);
        try {
            olm::Tokenizer::from_json(json.toStdString(), {}, "test.json");
            QFAIL("no error");
        } catch (const olm::Error& e) {
            std::string msg = e.what();
            QVERIFY2(msg.find(needle.toStdString()) != std::string::npos &&
                         msg.find("test.json") != std::string::npos,
                     e.what());
        }
    }

    // special_tokens_map.json fills tokens tokenizer_config.json does not name.
    void special_tokens_map_fallback() {
        QTemporaryDir dir;
        std::filesystem::path d = dir.path().toStdString();
        std::filesystem::copy_file(kTiny / "tokenizer.json", d / "tokenizer.json");
        std::ofstream(d / "special_tokens_map.json")
            << "{\"bos_token\": {\"content\": \"<|endoftext|>\"}, \"eos_token\": \"<|im_end|>\"}";
        auto tok = olm::Tokenizer::from_folder(d);
        QCOMPARE(tok.bos_id().value(), 509);
        QCOMPARE(tok.eos_id().value(), 511);
        QVERIFY(!tok.chat_template());
        std::ofstream(d / "tokenizer_config.json")
            << "{\"eos_token\": \"<|endoftext|>\", \"clean_up_tokenization_spaces\": true}";
        auto tok2 = olm::Tokenizer::from_folder(d);
        QCOMPARE(tok2.eos_id().value(), 509);  // tokenizer_config.json wins
        QCOMPARE(tok2.bos_id().value(), 509);  // from the map
        QVERIFY(tok2.clean_up_tokenization_spaces());
        auto ids = tok2.encode("Hello , world", false);
        QCOMPARE(tok2.decode(ids, false), std::string("Hello , world"));
        QCOMPARE(tok2.decode_for_display(ids, false), std::string("Hello, world"));
    }

    void default_constructed_is_an_error() {
        olm::Tokenizer empty;
        QVERIFY_EXCEPTION_THROWN(empty.encode("x", false), olm::Error);
    }

    void missing_folder_is_an_error() {
        QVERIFY_EXCEPTION_THROWN(olm::Tokenizer::from_folder("/nonexistent/olm-tokenizer"), olm::Error);
    }

    // Unknown ids are skipped on decode, as the reference does; no crash.
    void decode_unknown_ids() {
        auto tok = olm::Tokenizer::from_folder(kTiny);
        auto ids = tok.encode("hello", false);
        auto with = ids;
        with.insert(with.begin() + 1, 99999);
        with.push_back(-5);
        QCOMPARE(tok.decode(with, false), std::string("hello"));
    }

    // encode is safe from several threads (shared word cache).
    void concurrent_encode() {
        auto tok = olm::Tokenizer::from_folder(kTiny);
        std::vector<std::string> texts;
        for (int i = 0; i < 200; ++i)
            texts.push_back("word" + std::to_string(i * 7919) + " and more text number " + std::to_string(i));
        std::vector<std::vector<int32_t>> want;
        auto fresh = olm::Tokenizer::from_folder(kTiny);  // its own word cache
        for (const auto& t : texts) want.push_back(fresh.encode(t, false));
        std::vector<std::vector<int32_t>> a(texts.size()), b(texts.size());
        std::thread t1([&] {
            for (size_t i = 0; i < texts.size(); ++i) a[i] = tok.encode(texts[i], false);
        });
        std::thread t2([&] {
            for (size_t i = texts.size(); i-- > 0;) b[i] = tok.encode(texts[i], false);
        });
        t1.join();
        t2.join();
        QCOMPARE(a, want);
        QCOMPARE(b, want);
    }

    // A negative vocabulary id once wrote outside the token table and 2^40
    // wrapped to 0; ids past max_token_id would size a huge table.
    void vocabularyIdsOutOfRange_data() {
        QTest::addColumn<QString>("id");
        QTest::newRow("negative") << "-5";
        QTest::newRow("2^40") << "1099511627776";
        QTest::newRow("2^22") << "4194304";
        QTest::newRow("2^64-1") << "18446744073709551615";
        QTest::newRow("fraction") << "3.5";
        QTest::newRow("string") << "\"7\"";
    }
    void vocabularyIdsOutOfRange() {
        QFETCH(QString, id);
        json j = tiny_json();
        j["model"]["vocab"]["zz"] = json::parse(id.toStdString());
        const std::string want =
            "t.json: vocabulary token \"zz\" has id " + id.toStdString() + ", outside [0, 4194303]";
        try {
            olm::Tokenizer::from_json(j.dump(), {}, "t.json");
            QFAIL("no error");
        } catch (const olm::Error& e) {
            QCOMPARE(std::string(e.what()), want);
        }
        // A large id inside the bound is accepted (a table with holes, as the reference allows).
        j["model"]["vocab"]["zz"] = 100000;
        QCOMPARE(olm::Tokenizer::from_json(j.dump()).vocab_size(), int64_t(100001));
    }
    void postProcessorIdsOutOfRange_data() {
        QTest::addColumn<QString>("ids");
        QTest::addColumn<QString>("expected");
        QTest::newRow("negative")
            << "[-1]"
            << "TemplateProcessing special token \"<s>\" has id -1, outside [0, 4194303]";
        QTest::newRow("2^40") << "[1099511627776]"
                              << "TemplateProcessing special token \"<s>\" has id 1099511627776";
        QTest::newRow("past the vocabulary")
            << "[4000]"
            << "post_processor adds token id 4000, outside the vocabulary [0, 512)";
    }
    void postProcessorIdsOutOfRange() {
        QFETCH(QString, ids);
        QFETCH(QString, expected);
        json j = tiny_json();
        j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [], "special_tokens": {"<s>": {"id": "<s>", "tokens": ["<s>"], "ids": )" +
                                          ids.toStdString() + "}}}");
        try {
            olm::Tokenizer::from_json(j.dump(), {}, "t.json");
            QFAIL("no error");
        } catch (const olm::Error& e) {
            QVERIFY2(std::string(e.what()).rfind("t.json: " + expected.toStdString(), 0) == 0, e.what());
        }
    }
    void deepNestingIsRefused() {
        json j = tiny_json();
        std::string text = j.dump();
        text.insert(text.size() - 1, ", \"x\": " + std::string(100000, '[') + std::string(100000, ']'));
        try {
            olm::Tokenizer::from_json(text, {}, "t.json");
            QFAIL("no error");
        } catch (const olm::Error& e) {
            QVERIFY2(
                std::string(e.what()).rfind("t.json: JSON nested deeper than 256 levels (at byte ", 0) == 0,
                e.what());
        }
        try {
            olm::Tokenizer::from_json(j.dump(), std::string(1000, '[') + std::string(1000, ']'), "t.json");
            QFAIL("no error");
        } catch (const olm::Error& e) {
            QVERIFY2(std::string(e.what()).rfind(
                         "t.json (tokenizer_config.json): JSON nested deeper than 256", 0) == 0,
                     e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestTokenizerUnits)
#include "test_tokenizer_units.moc"
