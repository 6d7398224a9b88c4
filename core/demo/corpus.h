#pragma once
// The demo's generated corpus: three small skills, each a conversation
// (user turn -> assistant turn) drawn from a seeded generator.
//
//   arithmetic  "27+35="                 -> "62"                        (scored in exact mode)
//   reverse     "reverse: k d m q"       -> "q m d k"                   (bigram mode)
//   story       "Tell a story about a fox." -> a templated ~50-word story (quality mode)
//
// The base model learns a weaker version of each (see make_base_conversation):
// the specialists' skills are what the merge has to bring together.
//
// Everything is ASCII; the same seed gives the same samples on every platform
// (our own splitmix64 generator, no std distributions).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace olm::demo {

enum class Task { arithmetic, reverse, story };
constexpr int kTaskCount = 3;

const char* task_name(Task task);  // "arithmetic", "reverse", "story"
const char* task_mode(Task task);  // "exact", "bigram", "quality"
Task task_from_index(int i);

// Deterministic 64-bit generator (splitmix64): identical streams everywhere.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_state(seed) {}
    uint64_t next();
    // Uniform in [0, n).
    uint64_t below(uint64_t n) { return next() % n; }
    double uniform();  // [0, 1)

private:
    uint64_t m_state;
};

struct ChatTurn {
    std::string role;  // "user" | "assistant"
    std::string content;
};

struct Conversation {
    Task task = Task::arithmetic;
    std::vector<ChatTurn> turns;  // user, assistant
};

Conversation make_conversation(Task task, Rng& rng);

// The base model's version of a skill, so that the base is weak at all three:
// arithmetic as is; the letter task is a reversal with probability
// reverse_share and otherwise a copy ("repeat: k d m" -> "k d m"); a story is the
// full one with probability long_story_share and otherwise stops after its first
// two sentences ("... The end.", under 22 words).
Conversation make_base_conversation(Task task, Rng& rng, double reverse_share, double long_story_share = 0.0);

// ChatML rendering, the same text the tokenizer_config.json chat template gives:
//   <|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n
// prompt_chatml: everything up to and including "<|im_start|>assistant\n".
std::string prompt_chatml(const Conversation& c);
// The assistant part after the prompt: "{answer}<|im_end|>\n".
std::string answer_chatml(const Conversation& c);

// Writes a dataset in the OLM conversation format:
// [{"conversation": [{"from": "human", "value": ...}, {"from": "gpt", "value": ...}]}, ...]
// With empty_answers the final gpt turn is "" (a quality dataset: generation starts there).
void write_conversation_dataset(const std::filesystem::path& file, const std::vector<Conversation>& samples,
                                bool empty_answers);

}  // namespace olm::demo
