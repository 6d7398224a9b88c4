#pragma once
// Models named like Hugging Face repositories ("org/name", "org/name@revision")
// and the Hugging Face cache that transformers and huggingface_hub share:
//
//   <cache>/models--org--name/refs/main              the commit hash of "main"
//   <cache>/models--org--name/snapshots/<commit>/... the files (links into blobs/)
//   <cache>/models--org--name/blobs/<etag>           the content (sha256 for LFS files)
//
// The cache is $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
// else ~/.cache/huggingface/hub.
#include <filesystem>
#include <optional>
#include <string>

namespace olm {

struct HubModelRef {
    std::string repo;      // "org/name"
    std::string revision;  // "main" unless "@revision" was given (a branch, tag or commit hash)
    std::string text() const { return revision == "main" ? repo : repo + "@" + revision; }
};

// True for "org/name" and "org/name@rev": one '/', both parts of letters,
// digits, '-', '_', '.', not starting with '.' (so "./x", "../x", "/x" are paths).
bool is_hub_model_name(const std::string& name);
// Parses "org/name[@revision]"; throws olm::Error for anything else.
HubModelRef parse_hub_model_name(const std::string& name);

// The cache root from the environment (not created).
std::filesystem::path hf_hub_cache_dir();
// <cache>/models--org--name
std::filesystem::path hf_repo_cache_dir(const std::filesystem::path& cache, const std::string& repo);
// The commit a revision names in the cache: refs/<revision>, or the revision
// itself when it is a commit hash with a snapshot. nullopt when unknown.
std::optional<std::string> hf_cached_commit(const std::filesystem::path& cache, const HubModelRef& ref);

// The snapshot folder of ref when it holds a loadable model (config.json and
// safetensors weights, every shard an index names). nullopt otherwise.
std::optional<std::filesystem::path> find_in_hf_cache(
    const HubModelRef& ref, const std::filesystem::path& cache = hf_hub_cache_dir());

// Where a pool entry lives: a hub name is looked up in the Hugging Face cache,
// then under models_dir as models_dir/org_name or models_dir/org/name. nullopt
// when it is in neither (the caller may download it, hub_download.h).
std::optional<std::filesystem::path> find_model_folder(
    const std::string& name, const std::filesystem::path& models_dir,
    const std::filesystem::path& cache = hf_hub_cache_dir());

}  // namespace olm
