#pragma once
// Shared by `olm generate` and `olm logits`: engine options from --device /
// --dtype / --threads, and the input ids from --ids or --prompt (tokenized
// with the model folder's tokenizer.json).
#include "app/cli/args.h"
#include "core/model/engine_options.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace olm {
class Tokenizer;
}

namespace olm::cli {

// Options every engine command accepts (value options).
inline const std::set<std::string> kEngineValueOptions = {"device", "dtype", "threads"};

// Applies --threads (and OLM_THREADS), then returns the device/dtype choice.
EngineOptions engine_options_from(const Args& args);

// --ids 1,2,3 or --prompt TEXT (needs tokenizer.json in model_dir; BOS etc.
// added as the tokenizer's post-processor says). Exactly one is required.
std::vector<int64_t> input_ids_from(const Args& args, const std::filesystem::path& model_dir);

// The tokenizer of a model folder, when it has tokenizer.json.
std::optional<Tokenizer> tokenizer_if_present(const std::filesystem::path& model_dir);

}  // namespace olm::cli
