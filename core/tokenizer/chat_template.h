#pragma once
// Built-in chat formatters (ChatML, Llama 3, Mistral, Gemma, Phi-3, Tülu, Granite, plain) and the
// evaluation prompt split: context = every turn before the final assistant turn
// plus the assistant header; response = the final assistant text plus the
// family's end-of-turn token.
#include "core/tokenizer/tokenizer.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace olm {

// chatml also covers Phi-4's variant (<|im_sep|> after the role, no newlines);
// phi3 covers Phi-3 / Phi-3.5 (<|user|>\n...<|end|>\n) and Phi-4-mini (no newlines);
// tulu is OLMo 2 Instruct's and Tülu 3's (<|user|>\n...\n<|assistant|>\n...eos);
// granite is Granite 3's (<|start_of_role|>user<|end_of_role|>...<|end_of_text|>\n).
enum class ChatFamily { chatml, llama3, mistral, gemma, phi3, tulu, granite, plain };

struct ChatTurn {
    std::string role;  // system | user | assistant (aliases human, gpt, model, bot accepted)
    std::string content;
};

struct EvalPrompt {
    std::vector<int32_t> context_ids;
    std::vector<int32_t> response_ids;
    std::string family_reason;  // which family was used and why
};

std::string chat_family_name(ChatFamily family);
// "chatml","llama3","mistral","gemma","phi3","tulu","granite","plain"; "auto" and unknown names -> nullopt.
std::optional<ChatFamily> parse_chat_family(std::string_view name);
// Every family name joined by sep ("chatml|llama3|...|plain"), for usage and error texts.
std::string chat_family_names(std::string_view sep);

struct ChatFamilyChoice {
    ChatFamily family;
    std::string reason;  // e.g. "chatml: chat_template contains <|im_start|>"
};
// "auto": from the chat_template markers; without a template, from the
// vocabulary's marker tokens; else ChatML when <|im_start|> exists, else plain.
ChatFamilyChoice choose_chat_family(const Tokenizer& tok);
ChatFamily detect_chat_family(const Tokenizer& tok);

// The formatted text pieces (before tokenisation). Throws olm::Error when the
// turns do not end with an assistant turn or a role is unknown.
struct ChatText {
    std::string context;      // includes the assistant header, without BOS
    std::string response;     // final assistant text, without the end-of-turn token
    std::string end_of_turn;  // the family's end-of-turn token text ("" if none)
    bool wants_bos = false;   // the family's template starts with BOS
};
ChatText format_chat(const Tokenizer& tok, ChatFamily family, const std::vector<ChatTurn>& turns);

// Full conversation text for generation prompts (all turns, then the
// assistant header when add_generation_prompt).
std::string render_chat(const Tokenizer& tok, ChatFamily family, const std::vector<ChatTurn>& turns,
                        bool add_generation_prompt);

EvalPrompt build_eval_prompt(const Tokenizer& tok, ChatFamily family, const std::vector<ChatTurn>& turns);

}  // namespace olm
