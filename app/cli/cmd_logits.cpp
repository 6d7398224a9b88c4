// olm logits MODEL_DIR (--ids 1,2,3 | --prompt TEXT) [--top-k K] [--device ..] [--dtype ..] [--json]
#include "app/cli/command.h"
#include "app/cli/engine_cli.h"
#include "app/cli/model_arg.h"
#include "core/io/model_folder.h"
#include "core/model/transformer.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

#include <charconv>
#include <cstdio>
#include <iostream>

namespace {

// Shortest text that reads back as the same float.
void put_float(std::string& out, float v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

}  // namespace

OLM_COMMAND(
    "logits", "logits of a token sequence (last-position top-k, or all as JSON)",
    "MODEL_DIR (--ids 1,2,3 | --prompt TEXT) [--top-k K] [--device cpu|cuda:N] [--dtype fp32|bf16|fp16]\n"
    "       [--threads N] [--json]\n"
    "Prints the top K (default 10) tokens at the last position; --json prints\n"
    "{\"logits\": [[vocab floats] for every position]} (float32, shortest round-trip text).",
    [](const std::vector<std::string>& argv) -> int {
        using namespace olm;
        auto value_options = cli::kEngineValueOptions;
        value_options.insert({"prompt", "ids", "top-k"});
        cli::Args args(argv, value_options, {"json"});
        if (args.positional().size() != 1) throw Error("expected one MODEL_DIR (see olm logits --help)");
        const std::filesystem::path dir = olm::cli::model_folder_arg(args.positional()[0]);
        const EngineOptions options = cli::engine_options_from(args);
        const std::vector<int64_t> ids = cli::input_ids_from(args, dir);
        const ModelFolder folder = ModelFolder::open(dir);
        for (int64_t id : ids)
            if (id < 0 || id >= folder.spec().vocab_size)
                throw Error("token id " + std::to_string(id) + " outside the vocabulary [0, " +
                            std::to_string(folder.spec().vocab_size) + ")");
        Transformer model = Transformer::from_folder(folder, options);
        const at::Tensor logits = model.forward(make_batch({ids}))[0].to(at::kCPU).contiguous();  // [T, V]

        if (args.flag("json")) {
            const int64_t T = logits.size(0), V = logits.size(1);
            const float* p = logits.data_ptr<float>();
            std::string out = "{\"logits\": [";
            out.reserve(static_cast<size_t>(T * V * 12 + 32));
            for (int64_t t = 0; t < T; ++t) {
                out += t ? ", [" : "[";
                for (int64_t v = 0; v < V; ++v) {
                    if (v) out += ", ";
                    put_float(out, p[t * V + v]);
                }
                out += "]";
            }
            out += "]}\n";
            std::cout << out;
            return 0;
        }
        const int64_t k = std::min<int64_t>(args.int_or("top-k", 10), logits.size(1));
        if (k <= 0) throw Error("--top-k must be positive");
        auto top = logits[logits.size(0) - 1].topk(k);
        auto tok = cli::tokenizer_if_present(dir);
        std::printf("%-6s %-8s %-12s %s\n", "rank", "id", "logit", "token");
        for (int64_t i = 0; i < k; ++i) {
            const int64_t id = std::get<1>(top)[i].item<int64_t>();
            const std::string piece = tok ? tok->id_to_token(static_cast<int32_t>(id)) : "";
            std::printf("%-6lld %-8lld %-12.6f %s\n", static_cast<long long>(i + 1),
                        static_cast<long long>(id), std::get<0>(top)[i].item<float>(), piece.c_str());
        }
        return 0;
    });
