// Tokenising a validated dataset with the base tokenizer's chat template.
#include "core/eval/dataset.h"
#include "core/eval/modes.h"

#include "core/tokenizer/chat_template.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

namespace olm {

const char* const kOriginalReasoningMask = "<think>\\n\\n</think>\\n\\nCorrect answer:";

std::string original_context(const std::vector<DatasetTurn>& turns, bool think) {
    std::string context;
    for (const DatasetTurn& t : turns) {
        if (t.role == "system")
            context += "<|im_start|>system\n" + t.content + "<|im_end|>\n";
        else if (t.role == "user")
            context += "<|im_start|>user\n" + t.content + "<|im_end|>\n";
        else
            context += "<|im_start|>assistant\n";
    }
    if (!think) context += kOriginalReasoningMask;
    return context;
}

EvalDataset load_eval_dataset(const std::filesystem::path& file, const std::string& mode,
                              const Tokenizer& tok, const EvalSettings& settings, const std::string& name,
                              bool think) {
    const EvalMode& m = find_mode(mode);
    const std::vector<DatasetRecord> records = read_dataset_file(file, m.requires_response);

    ChatFamily family;
    if (settings.chat_family.empty() || settings.chat_family == "auto") {
        family = detect_chat_family(tok);
    } else {
        const auto parsed = parse_chat_family(settings.chat_family);
        if (!parsed)
            throw Error("unknown chat family \"" + settings.chat_family + "\" (known: auto, " +
                        chat_family_names(", ") + ")");
        family = *parsed;
    }

    EvalDataset ds;
    ds.name = name.empty() ? file.stem().string() : name;
    ds.path = file;
    ds.mode = m.name;
    ds.think = think;
    ds.records = static_cast<int64_t>(records.size());

    // The samples limit counts usable samples in file order, so tokenising stops
    // once enough are found.
    const int64_t wanted = settings.samples > 0 ? settings.samples : static_cast<int64_t>(records.size());
    std::vector<EvalSample> usable;
    for (const DatasetRecord& rec : records) {
        if (static_cast<int64_t>(usable.size()) >= wanted) break;
        std::vector<ChatTurn> turns;
        turns.reserve(rec.turns.size());
        for (const DatasetTurn& t : rec.turns) turns.push_back({t.role, t.content});
        EvalSample s;
        s.index = rec.index;
        const bool scored_response = m.kind != ModeKind::generation;
        if (m.original_format) {
            const std::vector<int32_t> c = tok.encode(original_context(rec.turns, think), true);
            s.context_ids.assign(c.begin(), c.end());
            if (scored_response) {
                const std::vector<int32_t> r = tok.encode(" " + rec.turns.back().content, true);
                s.response_ids.assign(r.begin(), r.end());
            }
        } else {
            EvalPrompt prompt;
            try {
                prompt = build_eval_prompt(tok, family, turns);
            } catch (const Error& e) {
                throw Error("dataset " + file.string() + ", sample " + std::to_string(rec.index) + ": " +
                            e.what());
            }
            s.context_ids.assign(prompt.context_ids.begin(), prompt.context_ids.end());
            if (scored_response)
                s.response_ids.assign(prompt.response_ids.begin(), prompt.response_ids.end());
        }
        const auto length = static_cast<int64_t>(s.context_ids.size() + s.response_ids.size());
        std::string reason;
        if (s.context_ids.empty())
            reason = "empty context after tokenising";
        else if (scored_response && s.response_ids.empty())
            reason = "empty response after tokenising";
        else if (settings.max_sequence_tokens > 0 && length > settings.max_sequence_tokens)
            reason = std::to_string(length) + " tokens > max_sequence_tokens " +
                     std::to_string(settings.max_sequence_tokens);
        if (!reason.empty()) {
            ++ds.skipped;
            ds.skip_reasons.push_back("sample " + std::to_string(rec.index) + ": " + reason);
            continue;
        }
        usable.push_back(std::move(s));
    }
    if (usable.empty()) {
        std::string why = ds.skip_reasons.empty() ? "" : " (first: " + ds.skip_reasons.front() + ")";
        throw Error("dataset " + file.string() + ": no usable samples; " + std::to_string(ds.skipped) +
                    " skipped" + why);
    }
    const SampleSplit split =
        split_samples(static_cast<int64_t>(usable.size()), settings.samples, settings.holdout, settings.seed);
    for (int64_t i : split.selection) ds.selection.push_back(usable[i]);
    for (int64_t i : split.holdout) ds.holdout.push_back(usable[i]);
    return ds;
}

}  // namespace olm
