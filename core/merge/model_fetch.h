#pragma once
// The pool's folders, with the models named org/name that are in neither the
// Hugging Face cache nor models_dir downloaded from the Hub first (when the
// config's `download` is on, the original OLM's default). A base outside the
// pool named org/name is downloaded the same way (the returned paths are the
// pool's; config.base_path() then finds the base in the cache).
#include "core/merge/config.h"
#include "core/util/progress.h"

#include <filesystem>
#include <vector>

namespace olm {

std::vector<std::filesystem::path> fetch_missing_models(const MergeConfig& config, ProgressSink* sink);

}  // namespace olm
