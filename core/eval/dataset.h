#pragma once
// Evaluation datasets: reading and validating conversation files, the samples
// limit with its seeded held-out split, and the tokenised dataset the
// evaluator scores (tokenised once per dataset with the base tokenizer).
//
// Accepted files (extra keys on samples and turns are ignored):
//   [{"conversation": [{"from": "system"|"human"|"gpt", "value": "..."}, ...]}, ...]
//   [{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}, ...]
//   the same objects one per line (JSON Lines); "user"/"assistant" also in the "from" form.
// The last turn must be the assistant's: the expected response (exact, bigram) or the
// place where generation starts (quality, where it may be empty).
#include "core/eval/settings.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace olm {

class Tokenizer;

// One turn with its role normalised to "system", "user" or "assistant".
struct DatasetTurn {
    std::string role;
    std::string content;
};

// One conversation as read from the file; index = position in the file (0-based).
struct DatasetRecord {
    int64_t index = 0;
    std::vector<DatasetTurn> turns;  // last turn: the assistant's
};

// Reads and validates a dataset file. require_response: an empty final assistant
// turn is an error (exact, bigram); otherwise it is allowed (quality).
// Throws olm::Error naming the file, the sample index and the problem.
// Only regular files of at most max_dataset_bytes (core/util/json_file.h) are
// read; JSON nesting is bounded by max_json_depth.
std::vector<DatasetRecord> read_dataset_file(const std::filesystem::path& file, bool require_response);
// The same over the text of a file; file names it in errors.
std::vector<DatasetRecord> parse_dataset_text(const std::string& text, const std::filesystem::path& file,
                                              bool require_response);

// Which usable samples are scored: the first `samples` (<= 0: all) in file order,
// of which round(holdout * n) chosen by a seeded shuffle are held out. Both lists
// are positions into the usable samples, ascending. The shuffle is our own
// (splitmix64 + Fisher-Yates), so the split is the same on every platform.
struct SampleSplit {
    std::vector<int64_t> selection;
    std::vector<int64_t> holdout;
};
SampleSplit split_samples(int64_t usable, int64_t samples, double holdout, uint64_t seed);

enum class EvalSplit { selection, holdout };
const char* split_name(EvalSplit split);

// A tokenised sample: the model sees context_ids and is scored on response_ids
// (teacher-forced modes) or generates after context_ids (quality).
struct EvalSample {
    int64_t index = 0;  // sample index in the file
    std::vector<int64_t> context_ids;
    std::vector<int64_t> response_ids;
};

struct EvalDataset {
    std::string name;  // file stem unless given
    std::filesystem::path path;
    std::string mode;    // canonical mode name (see core/eval/modes.h)
    bool think = false;  // original-format modes: no reasoning mask after the context
    std::vector<EvalSample> selection;
    std::vector<EvalSample> holdout;
    int64_t records = 0;  // conversations in the file
    int64_t skipped = 0;  // usable by format but not scored (too long, empty after tokenising)
    std::vector<std::string> skip_reasons;  // "sample 7: 5012 tokens > max_sequence_tokens 4096"

    const std::vector<EvalSample>& samples(EvalSplit split) const {
        return split == EvalSplit::selection ? selection : holdout;
    }
};

// The original OLM project's prompt, used by the modes with original_format:
// per turn "<|im_start|>system\n{value}<|im_end|>\n" (system),
// "<|im_start|>user\n{value}<|im_end|>\n" (user) or "<|im_start|>assistant\n"
// (assistant: the header only, its text is never shown, the last turn included),
// then, unless think, the reasoning mask: the literal text below, whose "\n" are
// a backslash and an n, as the original writes them.
extern const char* const kOriginalReasoningMask;
std::string original_context(const std::vector<DatasetTurn>& turns, bool think);

// Reads, validates, tokenises and splits a dataset. mode may be an alias. Modes
// with original_format use original_context (tokenised with the tokenizer's
// special tokens, as the original's tokenizer call does) and the target
// " " + last turn; the others the chat template of settings.chat_family (or the
// one detected from the tokenizer). think only matters to original_format modes.
// Throws olm::Error when the file is invalid or no sample is usable.
EvalDataset load_eval_dataset(const std::filesystem::path& file, const std::string& mode,
                              const Tokenizer& tok, const EvalSettings& settings,
                              const std::string& name = {}, bool think = false);

}  // namespace olm
