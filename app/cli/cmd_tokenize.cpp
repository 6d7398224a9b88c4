// olm tokenize: ids and pieces of a text, decoding of ids, a JSON-lines mode
// for scripts and conformance checks, and the evaluation prompt of a chat.
#include "app/cli/args.h"
#include "app/cli/command.h"
#include "app/cli/model_arg.h"
#include "core/tokenizer/chat_template.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string join_ids(const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(ids[i]);
    }
    return s;
}

void print_tokens(const olm::Tokenizer& tok, const std::vector<int32_t>& ids) {
    std::cout << "ids (" << ids.size() << "): " << join_ids(ids) << "\n";
    for (size_t i = 0; i < ids.size(); ++i)
        std::cout << i << "\t" << ids[i] << "\t" << dump(tok.id_to_token(ids[i]))
                  << (tok.is_special(ids[i]) ? "\tspecial" : "") << "\n";
}

int run_jsonl(const olm::Tokenizer& tok, std::istream& in) {
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        const json j = olm::parse_json_text(line, "--jsonl input line " + std::to_string(n));
        if (!j.is_string())
            throw olm::Error("--jsonl input line " + std::to_string(n) + ": expected a JSON string");
        std::string text = j.get<std::string>();
        std::vector<int32_t> ids, with_special;
        try {
            ids = tok.encode(text, false);
            with_special = tok.encode(text, true);
        } catch (const olm::Error& e) {
            throw olm::Error("--jsonl input line " + std::to_string(n) + ": " + e.what());
        }
        json out = {{"text", text},
                    {"ids", ids},
                    {"ids_with_special", with_special},
                    {"decoded", tok.decode(ids, false)},
                    {"decoded_skip", tok.decode(ids, true)}};
        std::cout << dump(out) << "\n";
    }
    return 0;
}

std::vector<olm::ChatTurn> read_chat(const std::string& path) {
    json j = olm::parse_json_text(olm::read_text_file(path, olm::max_dataset_bytes, "chat file"), path);
    if (j.is_object() && j.contains("messages")) j = j["messages"];
    if (!j.is_array()) throw olm::Error(path + ": expected a list of {\"role\", \"content\"} turns");
    std::vector<olm::ChatTurn> turns;
    for (size_t i = 0; i < j.size(); ++i) {
        if (!j[i].is_object() || !j[i].contains("role") || !j[i].contains("content"))
            throw olm::Error(path + ": turn " + std::to_string(i) + " needs \"role\" and \"content\"");
        std::string role = j[i]["role"].get<std::string>();
        if (role == "human") role = "user";
        if (role == "gpt" || role == "model") role = "assistant";
        turns.push_back({role, j[i]["content"].get<std::string>()});
    }
    return turns;
}

int run_chat(const olm::Tokenizer& tok, const std::string& path, const std::string& family_name) {
    auto turns = read_chat(path);
    olm::ChatFamilyChoice choice;
    if (family_name == "auto") {
        choice = olm::choose_chat_family(tok);
    } else {
        auto f = olm::parse_chat_family(family_name);
        if (!f)
            throw olm::Error("unknown chat family '" + family_name + "' (" + olm::chat_family_names(", ") +
                             ", auto)");
        choice = {*f, family_name + ": given with --family"};
    }
    auto prompt = olm::build_eval_prompt(tok, choice.family, turns);
    json out = {{"family", olm::chat_family_name(choice.family)},
                {"reason", choice.reason},
                {"context_ids", prompt.context_ids},
                {"response_ids", prompt.response_ids},
                {"context", tok.decode(prompt.context_ids, false)},
                {"response", tok.decode(prompt.response_ids, false)}};
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
}

}  // namespace

OLM_COMMAND("tokenize", "tokenize text with a model's tokenizer.json (ids, pieces, decode, JSON lines)",
            "MODEL_DIR \"text\" [--no-special]\n"
            "       olm tokenize MODEL_DIR --decode 1,2,3 [--skip-special]\n"
            "       olm tokenize MODEL_DIR --jsonl [--input FILE]\n"
            "       olm tokenize MODEL_DIR --chat CONVERSATION.json [--family "
            "auto|chatml|llama3|mistral|gemma|phi3|tulu|granite|plain]\n\n"
            "MODEL_DIR is a model folder or a folder holding only tokenizer files\n"
            "(tokenizer.json, optional tokenizer_config.json).\n"
            "  \"text\"         prints the ids (post-processor applied unless --no-special) and one\n"
            "                 line per token: position, id, piece (JSON string), 'special'\n"
            "  --decode IDS   prints the decoded text (--skip-special drops special tokens)\n"
            "  --jsonl        reads one JSON string per line (stdin or --input) and writes one object\n"
            "                 per line: {text, ids, ids_with_special, decoded, decoded_skip};\n"
            "                 ids: no special tokens added; decoded*: decode of ids\n"
            "  --chat FILE    a conversation [{role, content}, ...] ending with an assistant turn:\n"
            "                 prints the evaluation context and response ids and the chosen family",
            [](const std::vector<std::string>& argv) -> int {
                olm::cli::Args args(argv, {"decode", "input", "chat", "family"},
                                    {"jsonl", "no-special", "skip-special"});
                const auto& pos = args.positional();
                if (pos.empty()) throw olm::Error("tokenize: MODEL_DIR missing (olm tokenize --help)");
                auto tok = olm::Tokenizer::from_folder(olm::cli::model_folder_arg(pos[0]));
                if (args.flag("jsonl")) {
                    if (auto file = args.value("input")) {
                        std::ifstream in(*file);
                        if (!in) throw olm::Error("cannot read " + *file);
                        return run_jsonl(tok, in);
                    }
                    return run_jsonl(tok, std::cin);
                }
                if (auto chat = args.value("chat"))
                    return run_chat(tok, *chat, args.value_or("family", "auto"));
                if (auto d = args.value("decode")) {
                    std::vector<int32_t> ids;
                    for (long long v : olm::cli::parse_int_list(*d)) {
                        if (v < 0 || v > INT32_MAX)
                            throw olm::Error("--decode: id " + std::to_string(v) + " out of range");
                        if (v >= tok.vocab_size())
                            std::cerr << "warning: id " << v << " is outside the vocabulary ("
                                      << tok.vocab_size() << "); skipped as the reference library does\n";
                        ids.push_back(static_cast<int32_t>(v));
                    }
                    std::cout << tok.decode(ids, args.flag("skip-special")) << "\n";
                    return 0;
                }
                if (pos.size() < 2) throw olm::Error("tokenize: give a text, --decode, --jsonl or --chat");
                print_tokens(tok, tok.encode(pos[1], !args.flag("no-special")));
                return 0;
            });
