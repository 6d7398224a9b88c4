#pragma once
// Downloads a model from the Hugging Face Hub (or any server speaking its HTTP
// API) into the Hugging Face cache layout, so transformers reuses the files:
//
//   GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true
//       -> "sha" (the commit) and "siblings" (rfilename, size, blobId, lfs.sha256)
//   GET {endpoint}/{repo}/resolve/{commit}/{file}
//       -> blobs/<sha256 or blobId>.incomplete, resumed with Range, checked, renamed
//   snapshots/<commit>/<file> -> ../../blobs/<etag>, refs/<revision> = commit
//
// Only what a merge reads is fetched: config.json, generation_config.json,
// safetensors weights and their index, tokenizer files. A repository whose
// weights are pickle files only (*.bin, *.pt) is refused.
#include "core/io/hf_cache.h"
#include "core/util/progress.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace olm {

struct HubOptions {
    std::string endpoint;             // "" = $HF_ENDPOINT, else https://huggingface.co
    std::string token;                // "" = $HF_TOKEN, else $HF_HOME/token (if any)
    std::filesystem::path cache_dir;  // "" = hf_hub_cache_dir()
    int attempts = 3;                 // tries per file; each resumes where the last stopped
    long stall_timeout_s = 60;        // abort a transfer that moves no byte for this long

    // The values after applying the environment defaults.
    HubOptions resolved() const;
};

struct HubFile {
    std::string name;     // rfilename
    int64_t size = -1;    // bytes (-1: the server gave none)
    std::string sha256;   // LFS files: the content's sha256
    std::string blob_id;  // git blob id (sha1 of "blob <size>\0<content>")
    bool lfs() const { return !sha256.empty(); }
    std::string etag() const { return lfs() ? sha256 : blob_id; }
};

struct HubRepoInfo {
    HubModelRef ref;
    std::string commit;
    std::vector<HubFile> files;  // every file of the revision
};

// The file list of a revision. Throws olm::Error: not found (404), gated or
// private (401/403, naming HF_TOKEN), other HTTP or network errors.
HubRepoInfo hub_repo_info(const HubModelRef& ref, const HubOptions& options = {});

// The files a merge needs, in download order; throws for a pickle-only
// repository or one without config.json.
std::vector<HubFile> hub_files_for_merge(const HubRepoInfo& info);

// Downloads what is missing and returns the snapshot folder. Progress:
// sink.progress("download", bytes done, bytes total) and log lines per file;
// sink.cancelled() aborts (olm::Cancelled; the partial file stays for a resume).
std::filesystem::path hub_download_model(const HubModelRef& ref, const HubOptions& options = {},
                                         ProgressSink& sink = null_sink());

// Hex digests of a file (used to check downloads).
std::string sha256_file_hex(const std::filesystem::path& file);
std::string git_blob_sha1_hex(const std::filesystem::path& file);

}  // namespace olm
