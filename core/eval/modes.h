#pragma once
// The OLM evaluation modes: named, documented formulas (lower is better for all)
// and the registry the configuration names them through.
//
// exact   (alias exact_match) teacher-forced; per response token the cost is
//         1 - p(argmax) when the argmax is the expected token, else 1 + p(argmax);
//         mean over the response tokens. "correct" = every token was the argmax.
// bigram  (alias bigram_loss) teacher-forced; per response position t the cost is
//         CE(t) + CE(t+1) for t = 0..T-2 (a single-token response: CE(0));
//         the sample score is exp of the mean. "correct" as for exact.
// quality (alias diversity) greedy generation from the context, decoded; words =
//         whitespace-split tokens, L = settings.max_length. Score L (a penalty) when
//         the text has a character of a forbidden script, fewer than min_words words,
//         or a word longer than max_word_chars characters; otherwise
//         1 / ((min(words, L) / L) * (unique / words)^2). "correct" = no penalty.
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

// Helpers of the quality formula, public for tests and previews.
std::vector<std::string> split_words(
    const std::string& utf8);                         // Unicode whitespace, like Python's str.split()
std::u32string decode_utf8(const std::string& utf8);  // invalid bytes -> U+FFFD

enum class ModeKind { teacher_forced, generation };

struct EvalMode {
    std::string name;
    std::string summary;  // one line for help and the UI
    ModeKind kind = ModeKind::teacher_forced;
    bool requires_response = true;  // an empty expected response is a dataset error
    std::function<SampleScore(const std::vector<TokenStats>&)> score_tokens;         // teacher_forced
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
