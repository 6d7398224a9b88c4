#pragma once
// The OLM evaluation modes: named, documented formulas (lower is better for all)
// and the registry the configuration names them through.
//
// The original OLM project's early formulas, over the model's chat template:
// exact   teacher-forced; per response token the cost is
//         1 - p(argmax) when the argmax is the expected token, else 1 + p(argmax);
//         mean over the response tokens. "correct" = every token was the argmax.
// bigram  teacher-forced; per response position t the cost is
//         CE(t) + CE(t+1) for t = 0..T-2 (a single-token response: CE(0));
//         the sample score is exp of the mean. "correct" as for exact.
// quality greedy generation from the context, decoded; words =
//         whitespace-split tokens, L = settings.max_length. Score L (a penalty) when
//         the text has a character of a forbidden script, fewer than min_words words,
//         or a word longer than max_word_chars characters; otherwise
//         1 / ((min(words, L) / L) * (unique / words)^2). "correct" = no penalty.
//
// The original's current modes, over its own prompt (original_format: the literal
// ChatML context of the conversation, the reasoning mask appended unless the
// dataset says think: true, the target tokenised as " " + answer):
// exact_match  greedy decoding without teacher forcing for as many steps as the
//         target has tokens; per step the cost is 1 - p_max when the argmax is the
//         target token of that step, else 1 + p_max; mean over the steps.
// bigram_loss  teacher-forced; s_t = 1 when p(target_t) < p_max(t), else 1 - p_max(t);
//         the sample score is the mean over t = 0..T-2 of s_t + s_{t+1}
//         (a one-token target: 2 * s_0, where the original divides by zero).
// diversity greedy generation (at most 2 * max_length new tokens, stopping only at
//         the tokenizer's EOS), decoded without special tokens: max_length when the
//         text has a character in U+4E00..U+9FFF, else
//         max_length / max(unique whitespace-separated words, 1).
//
// Adding a mode: write its function over TokenStats (teacher-forced) or text
// (generation) and add one register_mode line in builtin_modes() (modes.cpp),
// or call register_mode from your own code before the configuration is read.
#include "core/eval/settings.h"

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

namespace olm {

// What the teacher-forced modes need from one logits row and its expected token.
struct TokenStats {
    int64_t argmax = 0;             // first index of the largest logit
    double p_max = 0.0;             // softmax probability of the largest logit
    double logp_target = 0.0;       // log-softmax of the expected token (-CE)
    bool target_is_argmax = false;  // the expected token has the largest logit (ties count)
    int64_t target = 0;             // the expected token
};

// logits [T, vocab] (any float dtype/device; computed in fp32), targets [T] int64.
std::vector<TokenStats> token_stats(const at::Tensor& logits, const at::Tensor& targets);

// One sample's result in any mode.
struct SampleScore {
    double score = 0.0;
    bool correct = false;  // exact match (teacher-forced) / no penalty (quality)
    std::string penalty;   // quality: why the score is L, "" if none
};

SampleScore exact_score(const std::vector<TokenStats>& tokens);
SampleScore bigram_score(const std::vector<TokenStats>& tokens);
SampleScore quality_score(const std::string& text, const EvalSettings& settings);
// The original's current formulas (see above). exact_match_score takes one
// TokenStats per greedy step, scored against that step's target token.
SampleScore exact_match_score(const std::vector<TokenStats>& steps);
SampleScore bigram_loss_score(const std::vector<TokenStats>& tokens);
SampleScore diversity_score(const std::string& text, const EvalSettings& settings);

// Helpers of the quality formula, public for tests and previews.
std::vector<std::string> split_words(
    const std::string& utf8);                         // Unicode whitespace, like Python's str.split()
std::u32string decode_utf8(const std::string& utf8);  // invalid bytes -> U+FFFD

// teacher_forced: context + response scored in one pass; generation: free greedy
// generation scored as text; greedy_target: greedy decoding (fed its own argmax)
// for as many steps as the response has tokens, each step's logits scored
// against the response token of that step.
enum class ModeKind { teacher_forced, generation, greedy_target };

struct EvalMode {
    std::string name;
    std::string summary;  // one line for help and the UI
    ModeKind kind = ModeKind::teacher_forced;
    bool requires_response = true;  // an empty expected response is a dataset error
    // The original's prompt and stop rules (see above) instead of the chat template's.
    bool original_format = false;
    std::function<SampleScore(const std::vector<TokenStats>&)> score_tokens;  // teacher_forced, greedy_target
    std::function<SampleScore(const std::string&, const EvalSettings&)> score_text;  // generation
};

// Registers a mode under its name and aliases; a taken name is an error.
void register_mode(EvalMode mode, const std::vector<std::string>& aliases = {});
// By name or alias; an unknown name is an olm::Error listing the known modes.
const EvalMode& find_mode(const std::string& name);
// Canonical names, in registration order.
std::vector<std::string> mode_names();
// "alias -> name" pairs, for documentation and help.
std::vector<std::pair<std::string, std::string>> mode_aliases();

}  // namespace olm
