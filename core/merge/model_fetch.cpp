#include "core/merge/model_fetch.h"

#include "core/io/hf_cache.h"
#include "core/io/hub_download.h"

namespace olm {

std::vector<std::filesystem::path> fetch_missing_models(const MergeConfig& config, ProgressSink* sink) {
    std::vector<std::filesystem::path> paths = config.model_paths();
    if (!config.download) return paths;
    ProgressSink& out = sink ? *sink : null_sink();
    std::error_code ec;
    for (size_t i = 0; i < paths.size(); ++i) {
        const std::string& name = config.models[i];
        if (!is_hub_model_name(name) || std::filesystem::exists(paths[i], ec)) continue;
        paths[i] = hub_download_model(parse_hub_model_name(name), HubOptions{}, out);
    }
    // A base outside the pool (base_model_name: org/name) is read too: the
    // tokenizer, the config and the tensors no candidate replaces.
    if (config.base_outside_pool() && is_hub_model_name(config.base_model_name) &&
        !std::filesystem::exists(config.base_path(), ec))
        hub_download_model(parse_hub_model_name(config.base_model_name), HubOptions{}, out);
    return paths;
}

}  // namespace olm
