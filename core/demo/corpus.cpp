#include "core/demo/corpus.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/hash.h"

#include <nlohmann/json.hpp>

#include <array>

namespace olm::demo {

const char* task_name(Task task) {
    switch (task) {
        case Task::arithmetic:
            return "arithmetic";
        case Task::reverse:
            return "reverse";
        case Task::story:
            return "story";
    }
    return "?";
}

const char* task_mode(Task task) {
    switch (task) {
        case Task::arithmetic:
            return "exact";
        case Task::reverse:
            return "bigram";
        case Task::story:
            return "quality";
    }
    return "?";
}

Task task_from_index(int i) {
    if (i < 0 || i >= kTaskCount) throw Error("demo: task index " + std::to_string(i) + " out of range");
    return static_cast<Task>(i);
}

uint64_t Rng::next() { return splitmix64(m_state); }

double Rng::uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

namespace {

template <size_t N>
const char* pick(const std::array<const char*, N>& items, Rng& rng) {
    return items[rng.below(N)];
}

constexpr std::array<const char*, 24> kAnimals = {
    "fox",  "cat",   "dog",   "owl",  "bear", "frog", "duck", "wolf", "mouse", "rabbit", "horse", "goat",
    "lion", "tiger", "sheep", "deer", "crow", "fish", "bee",  "hen",  "pig",   "cow",    "seal",  "mole"};
constexpr std::array<const char*, 12> kPlaces = {
    "a small house", "the forest",   "a green valley", "an old barn", "the river bank", "a quiet village",
    "the hills",     "a big garden", "the meadow",     "a warm cave", "the farm",       "the lake"};
constexpr std::array<const char*, 12> kObjects = {"apples",       "a red ball",  "warm bread", "a lost key",
                                                  "shiny stones", "fresh water", "a kite",     "honey",
                                                  "a blue hat",   "seeds",       "a map",      "soft hay"};
constexpr std::array<const char*, 8> kFeelings = {"sad",    "lonely", "tired", "hungry",
                                                  "afraid", "lost",   "cold",  "quiet"};
constexpr std::array<const char*, 6> kOpenings = {"Once upon a time", "Long ago",       "One spring morning",
                                                  "Many years ago",   "On a sunny day", "Once"};
constexpr std::array<const char*, 6> kEndings = {
    "and went home happy",       "and slept well that night",
    "and never forgot that day", "and the two became good friends",
    "and sang a little song",    "and laughed all the way home"};

// 3..6 random lowercase letters (the letter tasks' words).
std::vector<char> random_letters(Rng& rng) {
    const int n = 3 + static_cast<int>(rng.below(4));
    std::vector<char> letters;
    for (int i = 0; i < n; ++i) letters.push_back(static_cast<char>('a' + rng.below(26)));
    return letters;
}

// full = false: the first two sentences and "The end." (the base's short stories).
std::string make_story(const std::string& animal, Rng& rng, bool full) {
    const std::string place = pick(kPlaces, rng);
    const std::string object = pick(kObjects, rng);
    if (!full)
        return std::string(pick(kOpenings, rng)) + ", a little " + animal + " lived in " + place +
               ". Every day the " + animal + " looked for " + object + ". The end.";
    std::string friend_animal = pick(kAnimals, rng);
    if (friend_animal == animal)
        friend_animal = kAnimals[(rng.below(kAnimals.size() - 1) + 1) % kAnimals.size()];
    const std::string feeling = pick(kFeelings, rng);
    std::string place2 = pick(kPlaces, rng);
    std::string s = std::string(pick(kOpenings, rng)) + ", a little " + animal + " lived in " + place + ". ";
    s += "Every day the " + animal + " looked for " + object + ". ";
    s += "One day the " + animal + " met a " + friend_animal + " who was " + feeling + ". ";
    switch (rng.below(3)) {
        case 0:
            s += "The " + animal + " shared " + object + " with the " + friend_animal + ". ";
            break;
        case 1:
            s += "The " + friend_animal + " asked the " + animal + " for help. ";
            break;
        default:
            s += "They talked for a long time under a tall tree. ";
            break;
    }
    s += "Together they walked to " + place2 + ". ";
    s += "When the sun went down, the " + animal + " smiled " + pick(kEndings, rng) + ". The end.";
    return s;
}

}  // namespace

Conversation make_conversation(Task task, Rng& rng) {
    Conversation c;
    c.task = task;
    std::string question;
    std::string answer;
    switch (task) {
        case Task::arithmetic: {
            const int a = static_cast<int>(rng.below(50));
            const int b = static_cast<int>(rng.below(50));
            question = std::to_string(a) + "+" + std::to_string(b) + "=";
            answer = std::to_string(a + b);
            break;
        }
        case Task::reverse: {
            const std::vector<char> letters = random_letters(rng);
            const int n = static_cast<int>(letters.size());
            question = "reverse:";
            for (char ch : letters) (question += ' ') += ch;
            for (int i = n - 1; i >= 0; --i) {
                answer += letters[static_cast<size_t>(i)];
                if (i > 0) answer += ' ';
            }
            break;
        }
        case Task::story: {
            const std::string animal = pick(kAnimals, rng);
            question = "Tell a story about a " + animal + ".";
            answer = make_story(animal, rng, /*full=*/true);
            break;
        }
    }
    c.turns = {{"user", question}, {"assistant", answer}};
    return c;
}

Conversation make_base_conversation(Task task, Rng& rng, double reverse_share, double long_story_share) {
    switch (task) {
        case Task::arithmetic:
            return make_conversation(task, rng);
        case Task::reverse: {
            if (rng.uniform() < reverse_share) return make_conversation(task, rng);
            std::string question = "repeat:", answer;
            for (char ch : random_letters(rng)) {
                (question += ' ') += ch;
                if (!answer.empty()) answer += ' ';
                answer += ch;
            }
            Conversation c;
            c.task = task;
            c.turns = {{"user", question}, {"assistant", answer}};
            return c;
        }
        case Task::story: {
            // (no draw when the share is 0, so older streams stay as they were)
            if (long_story_share > 0 && rng.uniform() < long_story_share) return make_conversation(task, rng);
            const std::string animal = pick(kAnimals, rng);
            Conversation c;
            c.task = task;
            c.turns = {{"user", "Tell a story about a " + animal + "."},
                       {"assistant", make_story(animal, rng, /*full=*/false)}};
            return c;
        }
    }
    return make_conversation(task, rng);
}

std::string prompt_chatml(const Conversation& c) {
    std::string s;
    for (size_t i = 0; i + 1 < c.turns.size(); ++i)
        s += "<|im_start|>" + c.turns[i].role + "\n" + c.turns[i].content + "<|im_end|>\n";
    return s + "<|im_start|>assistant\n";
}

std::string answer_chatml(const Conversation& c) { return c.turns.back().content + "<|im_end|>\n"; }

void write_conversation_dataset(const std::filesystem::path& file, const std::vector<Conversation>& samples,
                                bool empty_answers) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : samples) {
        nlohmann::json turns = nlohmann::json::array();
        for (size_t i = 0; i < c.turns.size(); ++i) {
            const auto& t = c.turns[i];
            const bool last = i + 1 == c.turns.size();
            turns.push_back({{"from", t.role == "user" ? "human" : (t.role == "assistant" ? "gpt" : t.role)},
                             {"value", last && empty_answers ? std::string() : t.content}});
        }
        out.push_back({{"conversation", turns}});
    }
    write_file_atomic(file, out.dump(1) + "\n");
}

}  // namespace olm::demo
