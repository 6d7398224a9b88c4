#include "core/tokenizer/chat_template.h"

#include "core/util/error.h"

namespace olm {

namespace {

struct Marker {
    const char* text;
    ChatFamily family;
};
// Checked in this order; the first marker present in the template wins.
constexpr Marker kMarkers[] = {
    {"<|im_start|>", ChatFamily::chatml},       {"<|start_header_id|>", ChatFamily::llama3},
    {"<start_of_turn>", ChatFamily::gemma},     {"[INST]", ChatFamily::mistral},
    {"<|start_of_role|>", ChatFamily::granite},
};

constexpr ChatFamily kFamilies[] = {ChatFamily::chatml,  ChatFamily::llama3, ChatFamily::mistral,
                                    ChatFamily::gemma,   ChatFamily::phi3,   ChatFamily::tulu,
                                    ChatFamily::granite, ChatFamily::plain};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
}

// Canonical roles; dataset aliases (human, gpt, model, bot) are accepted.
std::vector<ChatTurn> canonical_turns(const std::vector<ChatTurn>& turns) {
    std::vector<ChatTurn> out = turns;
    for (size_t i = 0; i < out.size(); ++i) {
        auto& r = out[i].role;
        if (r == "human") r = "user";
        if (r == "gpt" || r == "model" || r == "bot") r = "assistant";
        if (r != "system" && r != "user" && r != "assistant")
            throw Error("chat turn " + std::to_string(i) + " has role \"" + turns[i].role +
                        "\" (expected system, user or assistant)");
    }
    return out;
}

std::string token_or(const Tokenizer& tok, const std::optional<std::string>& configured,
                     const char* fallback) {
    if (configured && tok.token_to_id(*configured)) return *configured;
    return fallback;
}

// System turns folded into the next user turn (Mistral, Gemma have no system role).
std::vector<ChatTurn> fold_system(const std::vector<ChatTurn>& turns) {
    std::vector<ChatTurn> out;
    std::string pending;
    for (const auto& t : turns) {
        if (t.role == "system") {
            pending += t.content + "\n\n";
        } else if (t.role == "user" && !pending.empty()) {
            out.push_back({t.role, pending + t.content});
            pending.clear();
        } else {
            out.push_back(t);
        }
    }
    if (!pending.empty()) out.push_back({"user", pending});
    return out;
}

bool template_has(const Tokenizer& tok, std::string_view text) {
    const auto t = tok.chat_template();
    return t && t->find(text) != std::string::npos;
}

// Phi-3's template writes a newline after each role tag and after <|end|>
// ('<|user|>\n' in its Jinja source); Phi-4-mini's writes none.
bool phi_newlines(const Tokenizer& tok) {
    if (!tok.chat_template()) return true;
    return template_has(tok, "|>\\n") || template_has(tok, "|>\n");
}

// The template opens with {{ bos_token }} (Phi-3's of mid-2024 do).
bool template_starts_with_bos(const Tokenizer& tok) {
    const auto t = tok.chat_template();
    if (!t) return false;
    std::string s = trim(*t);
    for (const char* open : {"{{ bos_token }}", "{{bos_token}}", "{{- bos_token }}", "{{- bos_token -}}"})
        if (s.rfind(open, 0) == 0) return true;
    return false;
}

struct Format {
    std::string text;    // all turns rendered
    std::string header;  // assistant header to append
    std::string end_of_turn;
    bool wants_bos = false;
};

// The template of OLMo 2 Instruct / Tülu 3: an assistant turn that is not the
// last ends with eos_token and a newline ("eos_token + '\n'" in its source).
bool tulu_template(const Tokenizer& tok) {
    return template_has(tok, "<|user|>") && template_has(tok, "<|assistant|>") &&
           (template_has(tok, "eos_token + '\\n'") || template_has(tok, "eos_token + '\n'"));
}

// Renders `turns` and returns the assistant header for the next reply.
// reply_follows: a final assistant reply comes after these turns (so none of
// them is the conversation's last).
Format render(const Tokenizer& tok, ChatFamily family, const std::vector<ChatTurn>& turns,
              bool reply_follows) {
    Format f;
    switch (family) {
        case ChatFamily::chatml:
            if (template_has(tok, "<|im_sep|>")) {
                // Phi-4: <|im_start|>role<|im_sep|>content<|im_end|>, no newlines.
                for (const auto& t : turns)
                    f.text += "<|im_start|>" + t.role + "<|im_sep|>" + t.content + "<|im_end|>";
                f.header = "<|im_start|>assistant<|im_sep|>";
                f.end_of_turn = "<|im_end|>";
                break;
            }
            for (const auto& t : turns) f.text += "<|im_start|>" + t.role + "\n" + t.content + "<|im_end|>\n";
            f.header = "<|im_start|>assistant\n";
            // Qwen 3's hybrid template renders every final assistant turn after an
            // empty think block (its generation prompt too, with enable_thinking
            // false): the non-thinking reply follows the block.
            if (auto tmpl = tok.chat_template(); tmpl && tmpl->find("enable_thinking") != std::string::npos)
                f.header += "<think>\n\n</think>\n\n";
            f.end_of_turn = "<|im_end|>";
            break;
        case ChatFamily::llama3:
            for (const auto& t : turns)
                f.text +=
                    "<|start_header_id|>" + t.role + "<|end_header_id|>\n\n" + trim(t.content) + "<|eot_id|>";
            f.header = "<|start_header_id|>assistant<|end_header_id|>\n\n";
            f.end_of_turn = "<|eot_id|>";
            f.wants_bos = true;
            break;
        case ChatFamily::mistral: {
            f.end_of_turn = token_or(tok, tok.eos_token(), "</s>");
            for (const auto& t : fold_system(turns)) {
                if (t.role == "user")
                    f.text += "[INST] " + t.content + " [/INST]";
                else
                    f.text += t.content + f.end_of_turn;
            }
            f.header = "";  // the reply follows [/INST] directly
            f.wants_bos = true;
            break;
        }
        case ChatFamily::gemma:
            for (const auto& t : fold_system(turns)) {
                std::string role = t.role == "assistant" ? "model" : t.role;
                f.text += "<start_of_turn>" + role + "\n" + trim(t.content) + "<end_of_turn>\n";
            }
            f.header = "<start_of_turn>model\n";
            f.end_of_turn = "<end_of_turn>";
            f.wants_bos = true;
            break;
        case ChatFamily::phi3: {
            const std::string nl = phi_newlines(tok) ? "\n" : "";
            for (const auto& t : turns) f.text += "<|" + t.role + "|>" + nl + t.content + "<|end|>" + nl;
            f.header = "<|assistant|>" + nl;
            f.end_of_turn = "<|end|>";
            f.wants_bos = template_starts_with_bos(tok);
            break;
        }
        case ChatFamily::tulu: {
            // <|system|>\n…\n, <|user|>\n…\n, <|assistant|>\n…eos (+ \n unless last).
            f.end_of_turn = token_or(tok, tok.eos_token(), "<|endoftext|>");
            for (size_t i = 0; i < turns.size(); ++i) {
                const auto& t = turns[i];
                if (t.role == "assistant")
                    f.text += "<|assistant|>\n" + t.content + f.end_of_turn +
                              (reply_follows || i + 1 < turns.size() ? "\n" : "");
                else
                    f.text += "<|" + t.role + "|>\n" + t.content + "\n";
            }
            f.header = "<|assistant|>\n";
            f.wants_bos = template_starts_with_bos(tok);
            break;
        }
        case ChatFamily::granite:
            // Granite 3.0's template; 3.1 and later write the same turns but, with
            // no system turn, open with a default system message holding today's
            // date, which is left out here (a score must not change with the date).
            for (const auto& t : turns)
                f.text += "<|start_of_role|>" + t.role + "<|end_of_role|>" + t.content + "<|end_of_text|>\n";
            f.header = "<|start_of_role|>assistant<|end_of_role|>";
            f.end_of_turn = "<|end_of_text|>";
            break;
        case ChatFamily::plain:
            for (const auto& t : turns) {
                if (t.role == "system")
                    f.text += t.content + "\n\n";
                else
                    f.text += std::string(t.role == "user" ? "User: " : "Assistant: ") + t.content + "\n";
            }
            f.header = "Assistant:";
            f.end_of_turn = tok.eos_token() && tok.token_to_id(*tok.eos_token()) ? *tok.eos_token() : "";
            break;
    }
    return f;
}

}  // namespace

std::string chat_family_name(ChatFamily family) {
    switch (family) {
        case ChatFamily::chatml:
            return "chatml";
        case ChatFamily::llama3:
            return "llama3";
        case ChatFamily::mistral:
            return "mistral";
        case ChatFamily::gemma:
            return "gemma";
        case ChatFamily::phi3:
            return "phi3";
        case ChatFamily::tulu:
            return "tulu";
        case ChatFamily::granite:
            return "granite";
        case ChatFamily::plain:
            return "plain";
    }
    return "plain";
}

std::optional<ChatFamily> parse_chat_family(std::string_view name) {
    for (auto f : kFamilies)
        if (name == chat_family_name(f)) return f;
    return std::nullopt;
}

std::string chat_family_names(std::string_view sep) {
    std::string s;
    for (auto f : kFamilies) s += (s.empty() ? "" : std::string(sep)) + chat_family_name(f);
    return s;
}

ChatFamilyChoice choose_chat_family(const Tokenizer& tok) {
    if (auto tmpl = tok.chat_template()) {
        for (const auto& m : kMarkers)
            if (tmpl->find(m.text) != std::string::npos)
                return {m.family, chat_family_name(m.family) + ": chat_template contains " + m.text};
    }
    // Phi-3 / Phi-4-mini: role tags closed by <|end|>.
    if (template_has(tok, "<|end|>") &&
        (template_has(tok, "<|assistant|>") || template_has(tok, "'<|' + message['role']")))
        return {ChatFamily::phi3, "phi3: chat_template contains <|assistant|> and <|end|>"};
    if (tulu_template(tok))
        return {ChatFamily::tulu, "tulu: chat_template has <|user|>, <|assistant|> and eos_token + newline"};
    std::string why = tok.chat_template() ? "chat_template has no known marker" : "no chat_template";
    for (const auto& m : kMarkers)
        if (tok.token_to_id(m.text))
            return {m.family, chat_family_name(m.family) + ": " + why + ", vocabulary has " + m.text};
    if (tok.token_to_id("<|assistant|>") && tok.token_to_id("<|end|>"))
        return {ChatFamily::phi3, "phi3: " + why + ", vocabulary has <|assistant|> and <|end|>"};
    return {ChatFamily::plain, "plain: " + why + " and no chat marker token in the vocabulary"};
}

ChatFamily detect_chat_family(const Tokenizer& tok) { return choose_chat_family(tok).family; }

ChatText format_chat(const Tokenizer& tok, ChatFamily family, const std::vector<ChatTurn>& given) {
    const std::vector<ChatTurn> turns = canonical_turns(given);
    if (turns.empty() || turns.back().role != "assistant")
        throw Error("the conversation must end with an assistant turn (" + std::to_string(turns.size()) +
                    " turns given)");
    std::vector<ChatTurn> before(turns.begin(), turns.end() - 1);
    Format f = render(tok, family, before, /*reply_follows=*/true);
    ChatText out;
    out.context = f.text + f.header;
    out.response = turns.back().content;
    if (family == ChatFamily::llama3 || family == ChatFamily::gemma) out.response = trim(out.response);
    if (family == ChatFamily::plain) out.response = " " + out.response;
    out.end_of_turn = f.end_of_turn;
    out.wants_bos = f.wants_bos;
    return out;
}

std::string render_chat(const Tokenizer& tok, ChatFamily family, const std::vector<ChatTurn>& turns,
                        bool add_generation_prompt) {
    Format f = render(tok, family, canonical_turns(turns), /*reply_follows=*/false);
    return add_generation_prompt ? f.text + f.header : f.text;
}

namespace {

// BOS for a context: the family's template starts with it, or (ChatML, plain)
// tokenizer_config.json asks for it with add_bos_token.
std::vector<int32_t> bos_prefix(const Tokenizer& tok, bool wants_bos) {
    bool want = wants_bos || tok.add_bos_token().value_or(false);
    if (!want) return {};
    if (auto id = tok.bos_id()) return {*id};
    return {};
}

}  // namespace

EvalPrompt build_eval_prompt(const Tokenizer& tok, ChatFamily family, const std::vector<ChatTurn>& turns) {
    ChatText text = format_chat(tok, family, turns);
    EvalPrompt p;
    p.context_ids = bos_prefix(tok, text.wants_bos);
    auto ctx = tok.encode(text.context, /*add_special_tokens=*/false);
    p.context_ids.insert(p.context_ids.end(), ctx.begin(), ctx.end());
    // In the joined conversation an added token with rstrip (Phi-3's role tags)
    // swallows the whitespace after it, and one with lstrip the whitespace
    // before it: encode the response as it would be cut from the whole text.
    auto flags = [&](std::optional<int32_t> id) -> const AddedToken* {
        if (!id) return nullptr;
        for (const auto& a : tok.added_tokens())
            if (a.id == *id) return &a;
        return nullptr;
    };
    std::string response = text.response;
    const std::optional<int32_t> eot =
        text.end_of_turn.empty() ? std::nullopt : tok.token_to_id(text.end_of_turn);
    if (const AddedToken* last =
            flags(p.context_ids.empty() ? std::nullopt : std::optional(p.context_ids.back()));
        last && last->rstrip)
        while (!response.empty() && is_space(response.front())) response.erase(response.begin());
    if (const AddedToken* e = flags(eot); e && e->lstrip)
        while (!response.empty() && is_space(response.back())) response.pop_back();
    p.response_ids = tok.encode(response, /*add_special_tokens=*/false);
    if (!text.end_of_turn.empty()) {
        if (!eot)
            throw Error("chat family " + chat_family_name(family) + " needs the end-of-turn token " +
                        text.end_of_turn + ", which the tokenizer does not have");
        p.response_ids.push_back(*eot);
    }
    auto detected = choose_chat_family(tok);
    p.family_reason =
        detected.family == family ? detected.reason : chat_family_name(family) + ": chosen explicitly";
    return p;
}

}  // namespace olm
