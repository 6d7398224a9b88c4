// olm download org/name[@revision]: fetches a model from the Hugging Face Hub
// into the Hugging Face cache (only the files a merge reads).
#include "app/cli/args.h"
#include "app/cli/command.h"
#include "app/cli/model_arg.h"
#include "core/io/hf_cache.h"
#include "core/io/hub_download.h"
#include "core/util/error.h"

#include <iostream>

namespace {

int run_download(const std::vector<std::string>& argv) {
    const olm::cli::Args args(argv, {"endpoint", "cache-dir", "attempts"}, {"force"});
    if (args.positional().empty())
        throw olm::Error("give at least one model name org/name (olm download --help)");
    olm::HubOptions o;
    o.endpoint = args.value_or("endpoint", "");
    o.cache_dir = args.value_or("cache-dir", "");
    o.attempts = static_cast<int>(args.int_or("attempts", o.attempts));
    for (const auto& name : args.positional()) {
        const olm::HubModelRef ref = olm::parse_hub_model_name(name);
        const auto cache = o.resolved().cache_dir;
        if (!args.flag("force"))
            if (auto dir = olm::find_in_hf_cache(ref, cache)) {
                std::cerr << name << ": already in the Hugging Face cache\n";
                std::cout << dir->string() << "\n";
                continue;
            }
        olm::cli::DownloadSink sink;
        const auto dir = olm::hub_download_model(ref, o, sink);
        sink.finish();
        std::cout << dir.string() << "\n";
    }
    return 0;
}

}  // namespace

OLM_COMMAND("download", "fetch models from the Hugging Face Hub into the Hugging Face cache",
            "org/name[@revision] [...] [--endpoint URL] [--cache-dir DIR] [--attempts N] [--force]\n\n"
            "  Downloads the files a merge reads (config.json, generation_config.json, the\n"
            "  safetensors weights and their index, the tokenizer files) into the Hugging Face\n"
            "  cache, in the layout transformers uses (blobs/, snapshots/<commit>/, refs/), and\n"
            "  prints the snapshot folder. An interrupted download resumes where it stopped;\n"
            "  every file is checked against the size and sha256 the Hub announces.\n"
            "  Repositories with only pickle weights (*.bin, *.pt) are refused.\n\n"
            "  --endpoint URL   the Hub (default $HF_ENDPOINT, else https://huggingface.co)\n"
            "  --cache-dir DIR  the cache (default $HF_HUB_CACHE, else $HF_HOME/hub, else\n"
            "                   ~/.cache/huggingface/hub)\n"
            "  --attempts N     tries per file, each resuming the last (default 3)\n"
            "  --force          ask the Hub even when the model is already cached\n"
            "  Gated and private repositories need a token: $HF_TOKEN (or $HF_HOME/token).\n"
            "  A name in `models:` of a merge config is downloaded the same way when it is\n"
            "  missing (config key download: true, the default).",
            run_download);
