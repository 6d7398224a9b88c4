#include "app/cli/engine_cli.h"

#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "core/util/threads.h"

namespace olm::cli {

EngineOptions engine_options_from(const Args& args) {
    apply_thread_settings(cpu_threads(static_cast<int>(args.int_or("threads", 0))));
    return make_engine_options(args.value_or("device", ""), args.value_or("dtype", ""));
}

std::optional<Tokenizer> tokenizer_if_present(const std::filesystem::path& model_dir) {
    if (!std::filesystem::exists(model_dir / "tokenizer.json")) return std::nullopt;
    return Tokenizer::from_folder(model_dir);
}

std::vector<int64_t> input_ids_from(const Args& args, const std::filesystem::path& model_dir) {
    const auto ids = args.value("ids");
    const auto prompt = args.value("prompt");
    if (ids.has_value() == prompt.has_value())
        throw Error("give exactly one of --ids 1,2,3 or --prompt TEXT");
    std::vector<int64_t> out;
    if (ids) {
        for (long long v : parse_int_list(*ids)) out.push_back(v);
    } else {
        auto tok = tokenizer_if_present(model_dir);
        if (!tok) throw Error(model_dir.string() + ": no tokenizer.json for --prompt (use --ids)");
        for (int32_t v : tok->encode(*prompt, /*add_special_tokens=*/true)) out.push_back(v);
    }
    if (out.empty()) throw Error("the input is empty (no token ids)");
    return out;
}

}  // namespace olm::cli
