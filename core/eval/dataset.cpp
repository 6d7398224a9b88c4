// Reading, validating and splitting evaluation datasets (no tokenizer here;
// tokenising lives in eval_dataset.cpp).
#include "core/eval/dataset.h"

#include "core/util/error.h"
#include "core/util/hash.h"
#include "core/util/json_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace olm {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& where,
                       const std::string& problem) {
    throw Error("dataset " + file.string() + (where.empty() ? "" : ", " + where) + ": " + problem);
}

std::string sample_where(int64_t index) { return "sample " + std::to_string(index); }

// "human"/"user" -> user, "gpt"/"assistant" -> assistant, "system" -> system; "" if unknown.
std::string normalise_role(const std::string& role) {
    if (role == "system") return "system";
    if (role == "human" || role == "user") return "user";
    if (role == "gpt" || role == "assistant") return "assistant";
    return {};
}

const char* type_name(const json& j) { return j.type_name(); }

DatasetRecord parse_record(const std::filesystem::path& file, int64_t index, const json& sample,
                           bool require_response) {
    const std::string where = sample_where(index);
    if (!sample.is_object())
        fail(file, where,
             std::string("expected an object with \"conversation\" or \"messages\", found ") +
                 type_name(sample));
    const json* turns = nullptr;
    for (const char* key : {"conversation", "conversations", "messages"}) {
        auto it = sample.find(key);
        if (it != sample.end()) {
            turns = &*it;
            break;
        }
    }
    if (!turns) fail(file, where, "no \"conversation\" or \"messages\" key");
    if (!turns->is_array())
        fail(file, where, std::string("the turns must be an array, found ") + type_name(*turns));
    if (turns->empty()) fail(file, where, "the conversation has no turns");

    DatasetRecord rec;
    rec.index = index;
    for (size_t t = 0; t < turns->size(); ++t) {
        const json& turn = (*turns)[t];
        const std::string twhere = where + ", turn " + std::to_string(t);
        if (!turn.is_object())
            fail(file, twhere, std::string("expected an object, found ") + type_name(turn));
        const bool from_form = turn.contains("from");
        const char* role_key = from_form ? "from" : "role";
        const char* text_key = from_form ? "value" : "content";
        auto role_it = turn.find(role_key);
        auto text_it = turn.find(text_key);
        if (role_it == turn.end()) fail(file, twhere, "no \"from\" or \"role\" key");
        if (!role_it->is_string()) fail(file, twhere, std::string("the role must be a string"));
        if (text_it == turn.end()) fail(file, twhere, std::string("no \"") + text_key + "\" key");
        if (!text_it->is_string())
            fail(file, twhere,
                 std::string("\"") + text_key + "\" must be a string, found " + type_name(*text_it));
        const std::string role = normalise_role(role_it->get<std::string>());
        if (role.empty())
            fail(file, twhere,
                 "unknown role \"" + role_it->get<std::string>() +
                     "\" (known: system, human, user, gpt, assistant)");
        rec.turns.push_back({role, text_it->get<std::string>()});
    }
    if (rec.turns.back().role != "assistant")
        fail(file, where,
             "the last turn must be the assistant's (the expected response), found \"" +
                 rec.turns.back().role + "\"");
    if (require_response && rec.turns.back().content.empty())
        fail(file, where, "the expected response (last assistant turn) is empty");
    return rec;
}

std::string slurp(const std::filesystem::path& file) {
    if (!std::filesystem::exists(file)) throw Error("dataset " + file.string() + ": cannot open the file");
    return read_text_file(file, max_dataset_bytes, "dataset");  // regular files only, size-limited
}

}  // namespace

std::vector<DatasetRecord> read_dataset_file(const std::filesystem::path& file, bool require_response) {
    return parse_dataset_text(slurp(file), file, require_response);
}

std::vector<DatasetRecord> parse_dataset_text(const std::string& text, const std::filesystem::path& file,
                                              bool require_response) {
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) fail(file, "", "the file is empty");

    std::vector<DatasetRecord> records;
    if (text[first] == '[') {
        if (const size_t at = json_depth_violation(text); at != std::string::npos)
            fail(file, "",
                 "JSON nested deeper than " + std::to_string(max_json_depth) + " levels (at byte " +
                     std::to_string(at) + "); refused");
        json doc;
        try {
            doc = json::parse(text);
        } catch (const json::exception& e) {  // parse_error; out_of_range: a number too large
            fail(file, "", std::string("not JSON: ") + e.what());
        }
        for (size_t i = 0; i < doc.size(); ++i)
            records.push_back(parse_record(file, static_cast<int64_t>(i), doc[i], require_response));
    } else if (text[first] == '{') {
        // JSON Lines: one sample object per non-empty line.
        std::istringstream lines(text);
        std::string line;
        int64_t line_no = 0;
        while (std::getline(lines, line)) {
            ++line_no;
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            const int64_t index = static_cast<int64_t>(records.size());
            if (const size_t at = json_depth_violation(line); at != std::string::npos)
                fail(file, sample_where(index) + " (line " + std::to_string(line_no) + ")",
                     "JSON nested deeper than " + std::to_string(max_json_depth) + " levels (at column " +
                         std::to_string(at + 1) + "); refused");
            json sample;
            try {
                sample = json::parse(line);
            } catch (const json::exception& e) {  // parse_error; out_of_range: a number too large
                fail(file, sample_where(index) + " (line " + std::to_string(line_no) + ")",
                     std::string("not JSON: ") + e.what());
            }
            records.push_back(parse_record(file, index, sample, require_response));
        }
    } else {
        fail(file, "", "not JSON: expected a JSON array of samples or JSON Lines");
    }
    if (records.empty()) fail(file, "", "no samples");
    return records;
}

SampleSplit split_samples(int64_t usable, int64_t samples, double holdout, uint64_t seed) {
    if (holdout < 0.0 || holdout >= 1.0)
        throw Error("holdout must be in [0, 1), got " + std::to_string(holdout));
    const int64_t n = samples > 0 ? std::min(usable, samples) : usable;
    const int64_t held = std::min<int64_t>(n - 1, static_cast<int64_t>(std::llround(holdout * n)));
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    uint64_t state = seed;
    for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
        const int64_t j = static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(i + 1));
        std::swap(order[i], order[j]);
    }
    SampleSplit split;
    if (held > 0) split.holdout.assign(order.begin(), order.begin() + held);
    std::vector<bool> is_held(n, false);
    for (int64_t h : split.holdout) is_held[h] = true;
    for (int64_t i = 0; i < n; ++i)
        if (!is_held[i]) split.selection.push_back(i);
    std::sort(split.holdout.begin(), split.holdout.end());
    return split;
}

const char* split_name(EvalSplit split) { return split == EvalSplit::selection ? "selection" : "holdout"; }

}  // namespace olm
