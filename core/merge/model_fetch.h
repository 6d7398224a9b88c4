#pragma once
// The pool's folders, with the models named org/name that are in neither the
// Hugging Face cache nor models_dir downloaded from the Hub first (when the
// config's `download` is on, the original OLM's default).
#include "core/merge/config.h"
#include "core/util/progress.h"

#include <filesystem>
#include <vector>

namespace olm {

std::vector<std::filesystem::path> fetch_missing_models(const MergeConfig& config, ProgressSink* sink);

}  // namespace olm
