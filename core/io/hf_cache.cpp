#include "core/io/hf_cache.h"

#include "core/util/error.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace olm {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

bool valid_part(const std::string& s) {
    if (s.empty() || s.size() > 96 || s[0] == '.' || s[0] == '-') return false;
    if (s.find("..") != std::string::npos) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

bool is_commit_hash(const std::string& s) {
    if (s.size() != 40) return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c)))
            return false;
    return true;
}

std::string read_trimmed(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

// config.json plus weights: model.safetensors, or an index whose shards all exist.
bool loadable(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / "config.json", ec)) return false;  // follows the blob link
    if (fs::is_regular_file(dir / "model.safetensors", ec)) return true;
    const fs::path index = dir / "model.safetensors.index.json";
    if (!fs::is_regular_file(index, ec)) return false;
    try {
        std::ifstream in(index);
        const auto j = nlohmann::json::parse(in);
        for (const auto& [tensor, file] : j.at("weight_map").items())
            if (!fs::is_regular_file(dir / file.get<std::string>(), ec)) return false;
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

bool is_hub_model_name(const std::string& name) {
    const std::string repo = name.substr(0, name.find('@'));
    const auto slash = repo.find('/');
    if (slash == std::string::npos || repo.find('/', slash + 1) != std::string::npos) return false;
    if (!valid_part(repo.substr(0, slash)) || !valid_part(repo.substr(slash + 1))) return false;
    const auto at = name.find('@');
    return at == std::string::npos || (at + 1 < name.size() && name.find('@', at + 1) == std::string::npos);
}

HubModelRef parse_hub_model_name(const std::string& name) {
    if (!is_hub_model_name(name))
        throw Error("\"" + name +
                    "\" is not a Hugging Face model name (expected org/name or org/name@revision)");
    HubModelRef r;
    const auto at = name.find('@');
    r.repo = name.substr(0, at);
    r.revision = at == std::string::npos ? "main" : name.substr(at + 1);
    return r;
}

fs::path hf_hub_cache_dir() {
    if (const auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
    if (const auto v = env("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v;
    if (const auto v = env("HF_HOME"); !v.empty()) return fs::path(v) / "hub";
    if (const auto v = env("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "huggingface" / "hub";
    const auto home = env("HOME");
    return fs::path(home.empty() ? "." : home) / ".cache" / "huggingface" / "hub";
}

fs::path hf_repo_cache_dir(const fs::path& cache, const std::string& repo) {
    std::string flat = "models--" + repo;
    for (size_t p = flat.find('/'); p != std::string::npos; p = flat.find('/', p + 2))
        flat.replace(p, 1, "--");
    return cache / flat;
}

std::optional<std::string> hf_cached_commit(const fs::path& cache, const HubModelRef& ref) {
    const fs::path repo = hf_repo_cache_dir(cache, ref.repo);
    std::error_code ec;
    if (is_commit_hash(ref.revision) && fs::is_directory(repo / "snapshots" / ref.revision, ec))
        return ref.revision;
    const fs::path r = repo / "refs" / ref.revision;
    if (!fs::is_regular_file(r, ec)) return std::nullopt;
    const std::string commit = read_trimmed(r);
    if (commit.empty()) return std::nullopt;
    return commit;
}

std::optional<fs::path> find_in_hf_cache(const HubModelRef& ref, const fs::path& cache) {
    const auto commit = hf_cached_commit(cache, ref);
    if (!commit) return std::nullopt;
    const fs::path dir = hf_repo_cache_dir(cache, ref.repo) / "snapshots" / *commit;
    if (!loadable(dir)) return std::nullopt;
    return dir;
}

std::optional<fs::path> find_model_folder(const std::string& name, const fs::path& models_dir,
                                          const fs::path& cache) {
    std::error_code ec;
    if (is_hub_model_name(name)) {
        const HubModelRef ref = parse_hub_model_name(name);
        if (auto dir = find_in_hf_cache(ref, cache)) return dir;
        if (ref.revision != "main") return std::nullopt;  // a revision exists only in the cache
    }
    std::string flat = name;
    for (auto& c : flat)
        if (c == '/') c = '_';
    if (fs::exists(models_dir / flat, ec)) return models_dir / flat;
    if (fs::exists(models_dir / name, ec)) return models_dir / name;
    return std::nullopt;
}

}  // namespace olm
