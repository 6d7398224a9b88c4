// olm generate MODEL_DIR (--prompt TEXT | --ids 1,2,3) [--max-new-tokens N]
//               [--device cpu|cuda:N] [--dtype fp32|bf16|fp16] [--threads N] [--json]
#include "app/cli/command.h"
#include "app/cli/engine_cli.h"
#include "app/cli/model_arg.h"
#include "core/io/model_folder.h"
#include "core/model/generate.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <iostream>

OLM_COMMAND(
    "generate", "greedy generation with a model (KV-cached)",
    "MODEL_DIR (--prompt TEXT | --ids 1,2,3) [--max-new-tokens N] [--device cpu|cuda:N]\n"
    "       [--dtype fp32|bf16|fp16] [--threads N] [--json]\n"
    "Stops at any EOS id of config.json / generation_config.json or after N new tokens (default 64).\n"
    "--json prints {\"ids\": [generated ids], \"text\": decoded text or null, \"stop\": \"eos\"|\"length\"}.",
    [](const std::vector<std::string>& argv) -> int {
        using namespace olm;
        auto value_options = cli::kEngineValueOptions;
        value_options.insert({"prompt", "ids", "max-new-tokens"});
        cli::Args args(argv, value_options, {"json"});
        if (args.positional().size() != 1) throw Error("expected one MODEL_DIR (see olm generate --help)");
        const std::filesystem::path dir = olm::cli::model_folder_arg(args.positional()[0]);
        const EngineOptions options = cli::engine_options_from(args);
        const std::vector<int64_t> ids = cli::input_ids_from(args, dir);
        const ModelFolder folder = ModelFolder::open(dir);
        Transformer model = Transformer::from_folder(folder, options);
        GenerateOptions go;
        go.max_new_tokens = args.int_or("max-new-tokens", 64);
        if (go.max_new_tokens < 0) throw Error("--max-new-tokens must be >= 0");
        go.eos_ids = folder.spec().eos_token_ids;
        const GenerateResult r = generate(model, {ids}, go);
        const auto& out = r.tokens[0];

        std::optional<std::string> text;
        if (auto tok = cli::tokenizer_if_present(dir)) {
            std::vector<int32_t> ids32(out.begin(), out.end());
            text = tok->decode(ids32, /*skip_special_tokens=*/true);
        }
        if (args.flag("json")) {
            nlohmann::json j;
            j["ids"] = out;
            j["text"] = text ? nlohmann::json(*text) : nlohmann::json(nullptr);
            j["stop"] = r.stop[0] == StopReason::eos ? "eos" : "length";
            std::cout << j.dump() << "\n";
        } else if (text) {
            std::cout << *text << "\n";
        } else {
            for (size_t i = 0; i < out.size(); ++i) std::cout << (i ? "," : "") << out[i];
            std::cout << "\n";
        }
        return 0;
    });
