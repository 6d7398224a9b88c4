// Chat formatting and the evaluation prompt split, against the prompt strings
// the model families document (written out literally here), on the real
// tokenizers of Qwen 3, Llama 3, Gemma 3, Llama 2 (Mistral) and tiny-bytelevel.
#include "core/tokenizer/chat_template.h"
#include "core/util/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace {

std::filesystem::path dir_of(const std::string& name) {
    if (name == "tiny-bytelevel") return std::filesystem::path(OLM_TEST_DATA_DIR) / "tokenizers" / name;
    return std::filesystem::path(OLM_TOKENIZERS_DIR) / name;
}

const olm::Tokenizer& load(const std::string& name) {
    static std::map<std::string, olm::Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, olm::Tokenizer::from_folder(dir_of(name))).first;
    return it->second;
}

const std::vector<olm::ChatTurn> kChat = {{"system", "You are terse."},
                                          {"user", "What is 2+2?"},
                                          {"assistant", "4."},
                                          {"user", "And 3+3?"},
                                          {"assistant", "6."}};

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

class TestChatTemplate : public QObject {
    Q_OBJECT
private slots:
    void auto_family_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("reason");
        QTest::newRow("qwen3") << "qwen3"
                               << "chatml"
                               << "chat_template contains <|im_start|>";
        QTest::newRow("llama3") << "llama3"
                                << "llama3"
                                << "chat_template contains <|start_header_id|>";
        QTest::newRow("gemma3") << "gemma3"
                                << "gemma"
                                << "chat_template contains <start_of_turn>";
        QTest::newRow("llama2 (no template)") << "llama2"
                                              << "plain"
                                              << "no chat_template";
        QTest::newRow("tiny-bytelevel") << "tiny-bytelevel"
                                        << "chatml"
                                        << "chat_template contains <|im_start|>";
    }
    void auto_family() {
        QFETCH(QString, name);
        QFETCH(QString, family);
        QFETCH(QString, reason);
        auto choice = olm::choose_chat_family(load(name.toStdString()));
        QCOMPARE(QString::fromStdString(olm::chat_family_name(choice.family)), family);
        QVERIFY2(choice.reason.find(reason.toStdString()) != std::string::npos, choice.reason.c_str());
        QCOMPARE(olm::detect_chat_family(load(name.toStdString())), choice.family);
    }

    void eval_prompt_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("context");   // documented prompt text, BOS written out
        QTest::addColumn<QString>("response");  // final reply + end-of-turn token
        QTest::newRow("chatml qwen3")
            << "qwen3"
            << "chatml"
            << "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
               "<|im_start|>assistant\n4.<|im_end|>\n<|im_start|>user\nAnd "
               "3+3?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
            << "6.<|im_end|>";
        QTest::newRow("chatml tiny")
            << "tiny-bytelevel"
            << "chatml"
            << "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
               "<|im_start|>assistant\n4.<|im_end|>\n<|im_start|>user\nAnd "
               "3+3?<|im_end|>\n<|im_start|>assistant\n"
            << "6.<|im_end|>";
        QTest::newRow("llama3")
            << "llama3"
            << "llama3"
            << "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\n4.<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\n"
            << "6.<|eot_id|>";
        QTest::newRow("gemma") << "gemma3"
                               << "gemma"
                               << "<bos><start_of_turn>user\nYou are terse.\n\nWhat is "
                                  "2+2?<end_of_turn>\n<start_of_turn>model\n4.<end_of_turn>\n"
                                  "<start_of_turn>user\nAnd 3+3?<end_of_turn>\n<start_of_turn>model\n"
                               << "6.<end_of_turn>";
        QTest::newRow("mistral")
            << "llama2"
            << "mistral"
            << "<s>[INST] You are terse.\n\nWhat is 2+2? [/INST]4.</s>[INST] And 3+3? [/INST]"
            << "6.</s>";
    }
    // context = turns before the final assistant turn + assistant header (with the
    // family's BOS); response = final reply + end-of-turn token.
    void eval_prompt() {
        QFETCH(QString, name);
        QFETCH(QString, family);
        QFETCH(QString, context);
        QFETCH(QString, response);
        const auto& tok = load(name.toStdString());
        auto fam = olm::parse_chat_family(family.toStdString());
        QVERIFY(fam.has_value());
        auto p = olm::build_eval_prompt(tok, *fam, kChat);
        QCOMPARE(p.context_ids, tok.encode(context.toStdString(), false));
        QCOMPARE(p.response_ids, tok.encode(response.toStdString(), false));
        if (name != "llama2")  // the legacy sentencepiece normalizer prepends ▁ to every piece
            QCOMPARE(QString::fromStdString(tok.decode(p.context_ids, false)), context);
        // the end-of-turn token is one special id, last in the response
        QVERIFY(tok.is_special(p.response_ids.back()));
        QVERIFY2(p.family_reason.rfind(family.toStdString(), 0) == 0, p.family_reason.c_str());
    }

    void plain_family() {
        const auto& tok = load("llama2");
        auto text = olm::format_chat(tok, olm::ChatFamily::plain, kChat);
        QCOMPARE(
            text.context,
            std::string("You are terse.\n\nUser: What is 2+2?\nAssistant: 4.\nUser: And 3+3?\nAssistant:"));
        QCOMPARE(text.response, std::string(" 6."));
        QCOMPARE(text.end_of_turn, std::string("</s>"));
        auto p = olm::build_eval_prompt(tok, olm::ChatFamily::plain, kChat);
        QCOMPARE(p.context_ids.front(), 1);  // add_bos_token: true in tokenizer_config.json
        QCOMPARE(p.response_ids.back(), 2);
        QCOMPARE(concat({1}, tok.encode(text.context, false)), p.context_ids);
    }

    void role_aliases() {
        const auto& tok = load("tiny-bytelevel");
        std::vector<olm::ChatTurn> aliased = {{"human", "hi"}, {"gpt", "yo"}};
        std::vector<olm::ChatTurn> plain = {{"user", "hi"}, {"assistant", "yo"}};
        QCOMPARE(olm::build_eval_prompt(tok, olm::ChatFamily::chatml, aliased).context_ids,
                 olm::build_eval_prompt(tok, olm::ChatFamily::chatml, plain).context_ids);
    }

    void render_with_generation_prompt() {
        const auto& tok = load("tiny-bytelevel");
        std::vector<olm::ChatTurn> turns = {{"user", "hi"}};
        QCOMPARE(olm::render_chat(tok, olm::ChatFamily::chatml, turns, true),
                 std::string("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"));
        QCOMPARE(olm::render_chat(tok, olm::ChatFamily::chatml, turns, false),
                 std::string("<|im_start|>user\nhi<|im_end|>\n"));
    }

    void parse_family_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("known");
        for (const char* n : {"chatml", "llama3", "mistral", "gemma", "phi3", "tulu", "granite", "plain"})
            QTest::newRow(n) << n << true;
        QTest::newRow("auto") << "auto" << false;
        QTest::newRow("ChatML") << "ChatML" << false;
        QTest::newRow("empty") << "" << false;
    }
    void parse_family() {
        QFETCH(QString, name);
        QFETCH(bool, known);
        auto f = olm::parse_chat_family(name.toStdString());
        QCOMPARE(f.has_value(), known);
        if (known) QCOMPARE(QString::fromStdString(olm::chat_family_name(*f)), name);
    }

    void bad_conversations_data() {
        QTest::addColumn<int>("which");
        QTest::newRow("empty") << 0;
        QTest::newRow("ends with user") << 1;
        QTest::newRow("unknown role") << 2;
    }
    void bad_conversations() {
        QFETCH(int, which);
        std::vector<std::vector<olm::ChatTurn>> cases = {
            {}, {{"user", "hi"}}, {{"user", "hi"}, {"robot", "x"}, {"assistant", "y"}}};
        QVERIFY_EXCEPTION_THROWN(
            olm::build_eval_prompt(load("tiny-bytelevel"), olm::ChatFamily::chatml, cases[which]),
            olm::Error);
    }

    // OLMo 2 Instruct's template (role tags as text, eos_token + newline after
    // an assistant turn) is the tulu family; Zephyr's, which also has
    // <|user|> / <|assistant|> but puts eos_token after every turn, is not.
    void tulu_is_told_from_zephyr() {
        const std::string tulu =
            "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' "
            "+ "
            "message['content'] + '\\n' }}{% elif message['role'] == 'assistant' %}{% if not loop.last %}{{ "
            "'<|assistant|>\\n'  + message['content'] + eos_token + '\\n' }}{% else %}{{ '<|assistant|>\\n'  "
            "+ message['content'] + eos_token }}{% endif %}{% endif %}{% if loop.last and "
            "add_generation_prompt "
            "%}{{ '<|assistant|>\\n' }}{% endif %}{% endfor %}";
        const std::string zephyr =
            "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + "
            "message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ "
            "'<|assistant|>\\n'  + message['content'] + eos_token }}\n{% endif %}\n{% endfor %}";
        auto with_template = [](const QTemporaryDir& dir, const std::string& tmpl) {
            const auto src = dir_of("tiny-bytelevel");
            const std::filesystem::path d = dir.path().toStdString();
            std::filesystem::copy_file(src / "tokenizer.json", d / "tokenizer.json");
            nlohmann::json cfg;
            std::ifstream(src / "tokenizer_config.json") >> cfg;
            cfg["chat_template"] = tmpl;
            cfg["eos_token"] = "<|endoftext|>";
            cfg["bos_token"] = "<|endoftext|>";
            std::ofstream(d / "tokenizer_config.json") << cfg.dump();
            return olm::Tokenizer::from_folder(d);
        };
        QTemporaryDir a, b;
        const olm::Tokenizer t = with_template(a, tulu);
        QCOMPARE(olm::detect_chat_family(t), olm::ChatFamily::tulu);
        // (the tiny vocabulary's <|im_start|> then decides: chatml)
        QCOMPARE(olm::detect_chat_family(with_template(b, zephyr)), olm::ChatFamily::chatml);
        const std::vector<olm::ChatTurn> turns = {
            {"user", "Hi"}, {"assistant", "Hello"}, {"user", "2+2?"}, {"assistant", "4"}};
        const auto text = olm::format_chat(t, olm::ChatFamily::tulu, turns);
        QCOMPARE(text.context, std::string("<|user|>\nHi\n<|assistant|>\nHello<|endoftext|>\n<|user|>\n2+2?\n"
                                           "<|assistant|>\n"));
        QCOMPARE(text.end_of_turn, std::string("<|endoftext|>"));
        QVERIFY(text.wants_bos);
        // the last turn of a rendered conversation has no newline after eos
        QCOMPARE(olm::render_chat(t, olm::ChatFamily::tulu, {turns[0], turns[1]}, false),
                 std::string("<|user|>\nHi\n<|assistant|>\nHello<|endoftext|>"));
    }

    // Granite 3's turns: role between <|start_of_role|> and <|end_of_role|>, each
    // turn closed by <|end_of_text|> and a newline, no BOS (the literal below is
    // what granite-3.0-8b-instruct's template renders; test_tokenizers.py checks
    // the family against transformers' apply_chat_template of that template).
    void granite_turns() {
        QTemporaryDir dir;
        const auto src = dir_of("tiny-bytelevel");
        const std::filesystem::path d = dir.path().toStdString();
        nlohmann::json tj, cfg;
        std::ifstream(src / "tokenizer.json") >> tj;
        std::ifstream(src / "tokenizer_config.json") >> cfg;
        int next = 0;
        for (const auto& t : tj["added_tokens"]) next = std::max(next, t["id"].get<int>() + 1);
        for (const char* t : {"<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>"})
            tj["added_tokens"].push_back({{"id", next++},
                                          {"content", t},
                                          {"single_word", false},
                                          {"lstrip", false},
                                          {"rstrip", false},
                                          {"normalized", false},
                                          {"special", true}});
        cfg["chat_template"] =
            "{%- for message in messages %}{{- '<|start_of_role|>' + message['role'] + '<|end_of_role|>' + "
            "message['content'] + '<|end_of_text|>\n' }}{%- endfor %}";
        cfg["eos_token"] = "<|end_of_text|>";
        std::ofstream(d / "tokenizer.json") << tj.dump();
        std::ofstream(d / "tokenizer_config.json") << cfg.dump();
        const olm::Tokenizer t = olm::Tokenizer::from_folder(d);
        QCOMPARE(olm::detect_chat_family(t), olm::ChatFamily::granite);
        const std::vector<olm::ChatTurn> turns = {{"system", "Be brief."},
                                                  {"user", "Hi"},
                                                  {"assistant", "Hello"},
                                                  {"user", "2+2?"},
                                                  {"assistant", "4"}};
        const auto text = olm::format_chat(t, olm::ChatFamily::granite, turns);
        QCOMPARE(text.context, std::string("<|start_of_role|>system<|end_of_role|>Be brief.<|end_of_text|>\n"
                                           "<|start_of_role|>user<|end_of_role|>Hi<|end_of_text|>\n"
                                           "<|start_of_role|>assistant<|end_of_role|>Hello<|end_of_text|>\n"
                                           "<|start_of_role|>user<|end_of_role|>2+2?<|end_of_text|>\n"
                                           "<|start_of_role|>assistant<|end_of_role|>"));
        QCOMPARE(text.response, std::string("4"));
        QCOMPARE(text.end_of_turn, std::string("<|end_of_text|>"));
        QVERIFY(!text.wants_bos);
        const auto p = olm::build_eval_prompt(t, olm::ChatFamily::granite, turns);
        QCOMPARE(p.response_ids.back(), *t.token_to_id("<|end_of_text|>"));
    }

    void missing_end_of_turn_token_is_an_error() {
        // tiny-bytelevel has no <|eot_id|>
        QVERIFY_EXCEPTION_THROWN(
            olm::build_eval_prompt(load("tiny-bytelevel"), olm::ChatFamily::llama3, kChat), olm::Error);
    }
};

QTEST_GUILESS_MAIN(TestChatTemplate)
#include "test_chat_template.moc"
