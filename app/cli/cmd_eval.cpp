// olm eval MODEL_DIR --dataset FILE --mode exact|bigram|quality: scores one model
// on one dataset, as the merge would.
#include "app/cli/args.h"
#include "app/cli/command.h"
#include "app/cli/engine_cli.h"
#include "app/cli/model_arg.h"
#include "core/eval/evaluator.h"
#include "core/eval/scripts.h"
#include "core/io/model_folder.h"
#include "core/model/transformer.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace {

using namespace olm;

std::string join_modes() {
    std::string s;
    for (const std::string& m : mode_names()) s += (s.empty() ? "" : "|") + m;
    return s;
}

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        const std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) out.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

EvalSettings settings_from(const cli::Args& args) {
    EvalSettings s;
    s.samples = args.int_or("samples", s.samples);
    s.holdout = args.double_or("holdout", s.holdout);
    s.seed = static_cast<uint64_t>(args.int_or("seed", 0));
    s.batch_tokens = args.int_or("batch-tokens", s.batch_tokens);
    s.max_sequence_tokens = args.int_or("max-sequence-tokens", s.max_sequence_tokens);
    s.quality_max_new_tokens = args.int_or("max-new-tokens", s.quality_max_new_tokens);
    s.min_words = args.int_or("min-words", s.min_words);
    s.max_length = args.int_or("max-length", s.max_length);
    s.chat_family = args.value_or("chat-family", "");
    if (auto f = args.value("forbidden-scripts"))
        s.forbidden_scripts =
            *f == "none" ? std::vector<CodepointRange>{} : parse_script_ranges(split_commas(*f));
    return s;
}

void print_json(const EvalDataset& ds, const DatasetScore& sc, EvalSplit split) {
    const bool quality = find_mode(ds.mode).kind == ModeKind::generation;
    nlohmann::json out;
    out["dataset"] = ds.path.string();
    out["mode"] = ds.mode;
    out["split"] = split_name(split);
    out["score"] = sc.score;
    out["accuracy"] = sc.accuracy;
    out["skipped"] = ds.skipped;
    out["seconds"] = sc.seconds;
    nlohmann::json samples = nlohmann::json::array();
    const auto& src = ds.samples(split);
    for (size_t i = 0; i < sc.samples.size(); ++i) {
        const SampleResult& r = sc.samples[i];
        nlohmann::json s;
        s["index"] = r.index;
        s["score"] = r.score;
        s["correct"] = r.correct;
        s["context_ids"] = src[i].context_ids;
        s["response_ids"] = src[i].response_ids;
        if (quality) {
            s["generated_ids"] = r.generated_ids;
            s["generated_text"] = r.generated_text;
            s["penalty"] = r.penalty.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.penalty);
        }
        samples.push_back(std::move(s));
    }
    out["samples"] = std::move(samples);
    // Shortest round-trip doubles, so the numbers can be re-computed and compared.
    std::cout << out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void print_text(const EvalDataset& ds, const DatasetScore& sc, EvalSplit split, int previews) {
    std::printf("dataset   %s (%s, %s split)\n", ds.path.string().c_str(), ds.mode.c_str(),
                split_name(split));
    std::printf("samples   %zu scored, %lld skipped, %lld in the file\n", sc.samples.size(),
                static_cast<long long>(ds.skipped), static_cast<long long>(ds.records));
    for (size_t i = 0; i < ds.skip_reasons.size() && i < 5; ++i)
        std::printf("  skipped %s\n", ds.skip_reasons[i].c_str());
    std::printf("score     %.6f   (lower is better)\n", sc.score);
    const bool quality = find_mode(ds.mode).kind == ModeKind::generation;
    std::printf("accuracy  %.4f   (%s)\n", sc.accuracy,
                quality ? "share without a penalty" : "exact-match share");
    std::printf("time      %.2f s\n", sc.seconds);
    if (!quality) return;
    for (int i = 0; i < previews && i < static_cast<int>(sc.samples.size()); ++i) {
        const SampleResult& r = sc.samples[i];
        std::string text = r.generated_text;
        if (text.size() > 400) text = text.substr(0, 400) + "...";
        std::printf("\n--- sample %lld  score %.4f%s%s\n%s\n", static_cast<long long>(r.index), r.score,
                    r.penalty.empty() ? "" : "  penalty: ", r.penalty.c_str(), text.c_str());
    }
}

}  // namespace

OLM_COMMAND(
    "eval", "score a model on one dataset (exact, bigram, quality, exact_match, bigram_loss or diversity)",
    "MODEL_DIR --dataset FILE --mode MODE [--samples N] [--holdout F --seed S] [--split selection|holdout]\n"
    "       [--device cpu|cuda:N] [--dtype fp32|bf16] [--threads N] [--batch-tokens N]\n"
    "       [--max-new-tokens N] [--min-words N] [--max-length L] [--forbidden-scripts "
    "cjk,U+0400-U+04FF|none]\n"
    "       [--chat-family auto|chatml|llama3|mistral|gemma|phi3|tulu|granite|plain] [--max-sequence-tokens "
    "N] "
    "[--previews N] "
    "[--think] [--json]\n"
    "Modes: exact, bigram, quality (the original's early formulas over the chat template) and\n"
    "exact_match, bigram_loss, diversity (its current ones over its own ChatML prompt, with the\n"
    "reasoning mask unless --think); lower is better.\n"
    "Prints the score, the accuracy and, for quality, the first --previews (3) generations.\n"
    "--json prints {\"score\", \"accuracy\", \"samples\": [{\"index\", \"score\", \"context_ids\", "
    "\"response_ids\",\n"
    "\"generated_text\", \"penalty\" (quality)}]} so every number can be re-computed from the ids.",
    [](const std::vector<std::string>& argv) -> int {
        auto value_options = cli::kEngineValueOptions;
        value_options.insert({"dataset", "mode", "samples", "holdout", "seed", "split", "batch-tokens",
                              "max-new-tokens", "min-words", "max-length", "forbidden-scripts", "chat-family",
                              "max-sequence-tokens", "previews"});
        cli::Args args(argv, value_options, {"json", "think"});
        if (args.positional().size() != 1) throw Error("expected one MODEL_DIR (see olm eval --help)");
        const auto dataset = args.value("dataset");
        const auto mode = args.value("mode");
        if (!dataset) throw Error("--dataset FILE is required");
        if (!mode) throw Error("--mode is required (" + join_modes() + ")");
        const std::string split_text = args.value_or("split", "selection");
        if (split_text != "selection" && split_text != "holdout")
            throw Error("--split must be selection or holdout, got \"" + split_text + "\"");
        const EvalSplit split = split_text == "holdout" ? EvalSplit::holdout : EvalSplit::selection;

        const std::filesystem::path dir = olm::cli::model_folder_arg(args.positional()[0]);
        const EvalSettings settings = settings_from(args);
        const EngineOptions engine = cli::engine_options_from(args);
        const Tokenizer tok = Tokenizer::from_folder(dir);
        const EvalDataset ds = load_eval_dataset(*dataset, *mode, tok, settings, {}, args.flag("think"));
        if (ds.samples(split).empty()) throw Error("the " + split_text + " split is empty (see --holdout)");
        const ModelFolder folder = ModelFolder::open(dir);
        Transformer model = Transformer::from_folder(folder, engine);
        Evaluator evaluator(model, tok, settings);
        const DatasetScore score = evaluator.score(ds, split);
        if (args.flag("json"))
            print_json(ds, score, split);
        else
            print_text(ds, score, split, static_cast<int>(args.int_or("previews", 3)));
        return 0;
    });
