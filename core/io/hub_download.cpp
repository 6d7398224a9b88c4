#include "core/io/hub_download.h"

#include "core/util/atomic_file.h"
#include "core/util/dir_lock.h"
#include "core/util/error.h"
#include "core/util/version.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace olm {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

std::string read_first_line(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

void curl_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string url_quote(const std::string& s, bool keep_slash) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string mib(int64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
    return buf;
}

// One HTTP GET: the body goes to a file (2xx answers) or to a string.
struct Transfer {
    CURL* curl = nullptr;
    long status = 0;
    std::string body;        // API answers and error bodies
    std::string error_code;  // X-Error-Code
    std::string error_message;
    std::FILE* file = nullptr;
    int64_t file_offset = 0;  // bytes already in the file (resume)
    int64_t written = 0;
    bool restarted = false;  // the server ignored the Range and sent the whole file
    ProgressSink* sink = nullptr;
    int64_t done_before = 0;  // bytes of earlier files
    int64_t total = 0;
    std::chrono::steady_clock::time_point last_report{};
    bool cancelled = false;
};

size_t header_cb(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (also after a redirect)
        const auto sp = line.find(' ');
        t->status = sp == std::string::npos ? 0 : std::atol(line.c_str() + sp + 1);
        t->body.clear();
        t->error_code.clear();
        t->error_message.clear();
    } else {
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string key = line.substr(0, colon);
            std::transform(key.begin(), key.end(), key.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            std::string value = line.substr(colon + 1);
            while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
                value.erase(0, 1);
            while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
            if (key == "x-error-code") t->error_code = value;
            if (key == "x-error-message") t->error_message = value;
        }
    }
    return size * n;
}

size_t write_cb(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    if (t->file && t->status >= 200 && t->status < 300) {
        if (t->status == 200 && t->file_offset > 0 && t->written == 0 && !t->restarted) {
            // Range not honoured: start the file over.
            std::fflush(t->file);
            if (::ftruncate(::fileno(t->file), 0) != 0) return 0;
            t->file_offset = 0;
            t->restarted = true;
        }
        if (std::fwrite(data, 1, len, t->file) != len) return 0;
        t->written += static_cast<int64_t>(len);
    } else if (t->body.size() < (16u << 20)) {
        t->body.append(data, len);
    }
    return len;
}

int progress_cb(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (!t->sink) return 0;
    if (t->sink->cancelled()) {
        t->cancelled = true;
        return 1;
    }
    const auto now = std::chrono::steady_clock::now();
    if (t->file && now - t->last_report > std::chrono::milliseconds(100)) {
        t->last_report = now;
        t->sink->progress("download", t->done_before + t->file_offset + t->written, t->total);
    }
    return 0;
}

struct CurlHandle {
    CURL* h;
    curl_slist* headers = nullptr;
    CurlHandle() : h(curl_easy_init()) {
        if (!h) throw Error("cannot initialise libcurl");
    }
    ~CurlHandle() {
        curl_slist_free_all(headers);
        curl_easy_cleanup(h);
    }
};

// Runs a GET; returns the curl result (the HTTP status is in t.status).
CURLcode http_get(const std::string& url, const HubOptions& o, Transfer& t, int64_t range_from = 0) {
    curl_init_once();
    CurlHandle c;
    t.curl = c.h;
    c.headers = curl_slist_append(c.headers, ("User-Agent: olm-studio/" + version()).c_str());
    if (!o.token.empty())
        c.headers = curl_slist_append(c.headers, ("Authorization: Bearer " + o.token).c_str());
    curl_easy_setopt(c.h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.h, CURLOPT_HTTPHEADER, c.headers);
    curl_easy_setopt(c.h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c.h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c.h, CURLOPT_LOW_SPEED_TIME, o.stall_timeout_s);
    curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c.h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c.h, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(c.h, CURLOPT_XFERINFODATA, &t);
    const std::string range = std::to_string(range_from) + "-";
    if (range_from > 0) curl_easy_setopt(c.h, CURLOPT_RANGE, range.c_str());
    const CURLcode rc = curl_easy_perform(c.h);
    t.curl = nullptr;
    return rc;
}

std::string describe(const HubModelRef& ref) { return ref.text(); }

[[noreturn]] void throw_http(const HubModelRef& ref, const HubOptions& o, const Transfer& t,
                             const std::string& what) {
    std::string detail = t.error_message.empty() ? "" : ": " + t.error_message;
    if (t.status == 401 || t.status == 403)
        throw Error(
            describe(ref) + ": access denied by " + o.endpoint + " (HTTP " + std::to_string(t.status) +
            (t.error_code.empty() ? "" : " " + t.error_code) + detail + ") fetching " + what +
            (o.token.empty()
                 ? "; the repository is gated or private: accept its terms on the Hub and set HF_TOKEN"
                 : "; the token in HF_TOKEN was refused (no access to this repository)"));
    if (t.status == 404)
        throw Error(describe(ref) + ": not found on " + o.endpoint + " (HTTP 404" +
                    (t.error_code.empty() ? "" : " " + t.error_code) + detail + ") fetching " + what +
                    "; check the name and the revision" +
                    (o.token.empty() ? " (a private repository needs HF_TOKEN)" : ""));
    throw Error(describe(ref) + ": HTTP " + std::to_string(t.status) + detail + " from " + o.endpoint +
                " fetching " + what);
}

bool transient(CURLcode rc) {
    switch (rc) {
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_GOT_NOTHING:
        case CURLE_COULDNT_CONNECT:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
            return true;
        default:
            return false;
    }
}

template <typename Feed>
std::string digest_hex(const EVP_MD* md, const fs::path& file, Feed&& prefix) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) throw Error("cannot initialise a digest");
    prefix(ctx.get());
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("cannot read " + file.string());
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), out, &len);
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (unsigned int i = 0; i < len; ++i) {
        s += hex[out[i] >> 4];
        s += hex[out[i] & 15];
    }
    return s;
}

bool is_weight_pickle(const std::string& n) {
    for (const char* ext : {".bin", ".pt", ".pth", ".ckpt", ".pkl"})
        if (n.size() > std::string(ext).size() &&
            n.compare(n.size() - std::string(ext).size(), std::string::npos, ext) == 0)
            return true;
    return false;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), std::string::npos, suffix) == 0;
}

const std::set<std::string>& support_files() {
    static const std::set<std::string> names = {"config.json",
                                                "generation_config.json",
                                                "tokenizer.json",
                                                "tokenizer_config.json",
                                                "special_tokens_map.json",
                                                "tokenizer.model",
                                                "vocab.json",
                                                "merges.txt",
                                                "added_tokens.json",
                                                "chat_template.jinja",
                                                "chat_template.json",
                                                "model.safetensors.index.json"};
    return names;
}

std::vector<HubFile> select_files(const HubRepoInfo& info, const nlohmann::json* index) {
    std::vector<HubFile> small, weights;
    std::vector<std::string> pickles;
    bool has_config = false, has_index = false, has_single = false;
    for (const auto& f : info.files) {
        if (f.name.find('/') != std::string::npos) continue;  // subfolders hold other formats
        if (f.name == "config.json") has_config = true;
        if (f.name == "model.safetensors.index.json") has_index = true;
        if (f.name == "model.safetensors") has_single = true;
        if (is_weight_pickle(f.name)) pickles.push_back(f.name);
    }
    const std::string who = info.ref.text();
    std::set<std::string> shards;
    if (has_index && index) {
        try {
            for (const auto& [tensor, file] : index->at("weight_map").items())
                shards.insert(file.get<std::string>());
        } catch (const std::exception& e) {
            throw Error(who + ": model.safetensors.index.json has no usable weight_map: " + e.what());
        }
    }
    for (const auto& f : info.files) {
        if (f.name.find('/') != std::string::npos) continue;
        if (support_files().count(f.name)) {
            small.push_back(f);
        } else if (ends_with(f.name, ".safetensors")) {
            const bool take = has_index ? (index == nullptr || shards.count(f.name) > 0)
                                        : (has_single ? f.name == "model.safetensors" : true);
            if (take) weights.push_back(f);
        }
    }
    if (weights.empty()) {
        if (!pickles.empty()) {
            std::string list;
            for (const auto& p : pickles) list += (list.empty() ? "" : ", ") + p;
            throw Error(who + ": the repository has only pickle weights (" + list +
                        "); OLM Studio loads safetensors only, since pickle files can run code when "
                        "loaded. Convert the model to safetensors (or pick a revision that has them)");
        }
        throw Error(who + ": the repository has no safetensors weights");
    }
    if (!has_config) throw Error(who + ": the repository has no config.json (not a transformers model)");
    for (const auto& s : shards)
        if (std::none_of(weights.begin(), weights.end(), [&](const HubFile& f) { return f.name == s; }))
            throw Error(who + ": model.safetensors.index.json names " + s +
                        ", which the repository does not have");
    small.insert(small.end(), weights.begin(), weights.end());
    return small;
}

}  // namespace

HubOptions HubOptions::resolved() const {
    HubOptions o = *this;
    if (o.endpoint.empty()) o.endpoint = env("HF_ENDPOINT");
    if (o.endpoint.empty()) o.endpoint = "https://huggingface.co";
    while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
    if (o.token.empty()) o.token = env("HF_TOKEN");
    if (o.token.empty()) o.token = env("HUGGING_FACE_HUB_TOKEN");
    if (o.token.empty()) {
        fs::path file = env("HF_TOKEN_PATH");
        if (file.empty()) {
            const std::string home = env("HF_HOME");
            if (!home.empty())
                file = fs::path(home) / "token";
            else if (!env("HOME").empty())
                file = fs::path(env("HOME")) / ".cache" / "huggingface" / "token";
        }
        std::error_code ec;
        if (!file.empty() && fs::is_regular_file(file, ec)) o.token = read_first_line(file);
    }
    if (o.cache_dir.empty()) o.cache_dir = hf_hub_cache_dir();
    if (o.attempts < 1) o.attempts = 1;
    return o;
}

std::string sha256_file_hex(const fs::path& file) {
    return digest_hex(EVP_sha256(), file, [](EVP_MD_CTX*) {});
}

std::string git_blob_sha1_hex(const fs::path& file) {
    const std::string header = "blob " + std::to_string(fs::file_size(file)) + std::string(1, '\0');
    return digest_hex(EVP_sha1(), file,
                      [&](EVP_MD_CTX* ctx) { EVP_DigestUpdate(ctx, header.data(), header.size()); });
}

HubRepoInfo hub_repo_info(const HubModelRef& ref, const HubOptions& options) {
    const HubOptions o = options.resolved();
    const std::string url = o.endpoint + "/api/models/" + url_quote(ref.repo, true) + "/revision/" +
                            url_quote(ref.revision, false) + "?blobs=true";
    Transfer t;
    const CURLcode rc = http_get(url, o, t);
    if (rc != CURLE_OK)
        throw Error(ref.text() + ": cannot reach " + o.endpoint + " (" + curl_easy_strerror(rc) + ")");
    if (t.status != 200) throw_http(ref, o, t, "the file list");
    HubRepoInfo info;
    info.ref = ref;
    try {
        const auto j = nlohmann::json::parse(t.body);
        info.commit = j.at("sha").get<std::string>();
        for (const auto& s : j.at("siblings")) {
            HubFile f;
            f.name = s.at("rfilename").get<std::string>();
            if (s.contains("size") && s["size"].is_number_integer()) f.size = s["size"].get<int64_t>();
            if (s.contains("blobId") && s["blobId"].is_string()) f.blob_id = s["blobId"].get<std::string>();
            if (s.contains("lfs") && s["lfs"].is_object()) {
                f.sha256 = s["lfs"].value("sha256", "");
                if (s["lfs"].contains("size")) f.size = s["lfs"]["size"].get<int64_t>();
            }
            info.files.push_back(f);
        }
    } catch (const std::exception& e) {
        throw Error(ref.text() + ": unexpected answer from " + url + ": " + e.what());
    }
    if (info.commit.size() < 7 || info.commit.find('/') != std::string::npos ||
        info.commit.find("..") != std::string::npos)
        throw Error(ref.text() + ": unexpected commit id \"" + info.commit + "\" from " + url);
    return info;
}

std::vector<HubFile> hub_files_for_merge(const HubRepoInfo& info) { return select_files(info, nullptr); }

namespace {

// Downloads one file into blobs/ (resuming a .incomplete) and checks it.
void fetch_blob(const HubModelRef& ref, const HubOptions& o, const std::string& commit, const HubFile& f,
                const fs::path& blob, ProgressSink& sink, int64_t done_before, int64_t total) {
    const fs::path part = fs::path(blob.string() + ".incomplete");
    const std::string url =
        o.endpoint + "/" + url_quote(ref.repo, true) + "/resolve/" + commit + "/" + url_quote(f.name, true);
    std::error_code ec;
    CURLcode rc = CURLE_OK;
    Transfer t;
    for (int attempt = 1; attempt <= o.attempts; ++attempt) {
        int64_t have = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
        if (f.size >= 0 && have > f.size) {
            fs::remove(part, ec);
            have = 0;
        }
        if (f.size >= 0 && have == f.size && have > 0) break;
        if (have > 0) sink.log(LogLevel::info, "  " + f.name + ": resuming at " + mib(have));
        std::FILE* file = std::fopen(part.c_str(), "ab");
        if (!file) throw Error("cannot write " + part.string());
        t = Transfer{};
        t.file = file;
        t.file_offset = have;
        t.sink = &sink;
        t.done_before = done_before;
        t.total = total;
        rc = http_get(url, o, t, have);
        const bool closed = std::fclose(file) == 0;
        if (t.cancelled) throw Cancelled();
        if (!closed) throw Error("cannot write " + part.string() + " (disk full?)");
        if (rc == CURLE_OK && t.status == 416 && f.size >= 0 && have == f.size) break;
        if (rc == CURLE_OK && t.status >= 200 && t.status < 300) break;
        if (rc == CURLE_OK && (t.status == 401 || t.status == 403 || t.status == 404))
            throw_http(ref, o, t, f.name);
        if (rc == CURLE_OK && t.status == 416) {
            fs::remove(part, ec);
            continue;
        }
        const bool retry = rc == CURLE_OK ? t.status >= 500 : transient(rc);
        const std::string why =
            rc == CURLE_OK ? "HTTP " + std::to_string(t.status) : std::string(curl_easy_strerror(rc));
        const int64_t now = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
        if (!retry) throw Error(ref.text() + ": downloading " + f.name + " from " + url + " failed: " + why);
        if (attempt == o.attempts)
            throw Error(ref.text() + ": downloading " + f.name + " was interrupted " +
                        std::to_string(o.attempts) + " times (" + why + ", " + mib(now) + " of " +
                        mib(f.size) + " kept); run the download again to resume");
        sink.log(LogLevel::warning, "  " + f.name + ": transfer interrupted (" + why + ") at " + mib(now) +
                                        "; resuming (attempt " + std::to_string(attempt + 1) + " of " +
                                        std::to_string(o.attempts) + ")");
    }
    // Check what arrived against what the Hub announced.
    const int64_t got = static_cast<int64_t>(fs::file_size(part, ec));
    if (f.size >= 0 && got != f.size) {
        fs::remove(part, ec);
        throw Error(ref.text() + ": " + f.name + " has " + std::to_string(got) +
                    " bytes, the Hub announced " + std::to_string(f.size) +
                    "; the partial file was removed, run the download again");
    }
    std::string expected, found, kind;
    if (f.lfs()) {
        kind = "sha256";
        expected = f.sha256;
        found = sha256_file_hex(part);
    } else if (!f.blob_id.empty()) {
        kind = "git blob id";
        expected = f.blob_id;
        found = git_blob_sha1_hex(part);
    }
    if (expected != found) {
        fs::remove(part, ec);
        throw Error(ref.text() + ": " + f.name + " does not match its " + kind + " (expected " + expected +
                    ", found " + found +
                    "); the download was corrupted or the file changed, the bad copy was "
                    "removed");
    }
    fs::rename(part, blob, ec);
    if (ec) throw Error("cannot move " + part.string() + " to " + blob.string() + ": " + ec.message());
}

// One download of a blob at a time, across processes: the lock huggingface_hub
// takes for the same file (<cache>/.locks/models--org--name/<etag>.lock, an
// flock), so this program and a transformers download wait for each other
// instead of writing one .incomplete file together.
DirLock lock_blob(const fs::path& cache_dir, const HubModelRef& ref, const HubFile& f, ProgressSink& sink) {
    const fs::path dir = cache_dir / ".locks" / hf_repo_cache_dir(cache_dir, ref.repo).filename();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message());
    const fs::path file = dir / (f.etag() + ".lock");
    bool told = false;
    for (;;) {
        std::string holder;
        DirLock l = DirLock::try_acquire(file, false, &holder);
        if (l.held()) return l;
        if (!told) {
            if (holder.rfind("pid unknown", 0) == 0) holder = "another program, such as huggingface_hub";
            sink.log(LogLevel::info, "  " + f.name + ": another download of this file is running (" + holder +
                                         "; lock " + file.string() + "); waiting for it");
            told = true;
        }
        if (sink.cancelled()) throw Cancelled();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

}  // namespace

fs::path hub_download_model(const HubModelRef& ref, const HubOptions& options, ProgressSink& sink) {
    const HubOptions o = options.resolved();
    if (env("HF_HUB_OFFLINE") == "1" || env("HF_HUB_OFFLINE") == "true")
        throw Error(ref.text() + ": not in the Hugging Face cache (" + o.cache_dir.string() +
                    ") and HF_HUB_OFFLINE is set, so it is not downloaded");
    sink.log(LogLevel::info,
             "downloading " + ref.text() + " from " + o.endpoint + " into " + o.cache_dir.string());
    HubRepoInfo info = hub_repo_info(ref, o);
    const fs::path repo_dir = hf_repo_cache_dir(o.cache_dir, ref.repo);
    const fs::path blobs = repo_dir / "blobs";
    const fs::path snapshot = repo_dir / "snapshots" / info.commit;
    std::error_code ec;
    fs::create_directories(blobs, ec);
    fs::create_directories(snapshot, ec);
    if (ec) throw Error("cannot create " + snapshot.string() + ": " + ec.message());

    auto blob_of = [&](const HubFile& f) {
        if (f.etag().empty() || f.etag().find('/') != std::string::npos)
            throw Error(ref.text() + ": the Hub gave no checksum for " + f.name);
        return blobs / f.etag();
    };
    auto have_blob = [&](const HubFile& f) {
        const fs::path b = blob_of(f);
        return fs::is_regular_file(b, ec) &&
               (f.size < 0 || static_cast<int64_t>(fs::file_size(b, ec)) == f.size);
    };
    // Fetches f unless it is there, under its lock; another process may have
    // finished it while this one waited.
    auto fetch = [&](const HubFile& f, int64_t done_before, int64_t total) {
        const DirLock lock = lock_blob(o.cache_dir, ref, f, sink);
        if (!have_blob(f)) fetch_blob(ref, o, info.commit, f, blob_of(f), sink, done_before, total);
    };
    auto link = [&](const HubFile& f) {
        const fs::path l = snapshot / f.name;
        fs::remove(l, ec);
        fs::create_symlink(fs::path("..") / ".." / "blobs" / f.etag(), l, ec);
        if (ec) throw Error("cannot link " + l.string() + ": " + ec.message());
    };

    // The shard index first: it says which weight files are needed.
    nlohmann::json index;
    bool has_index = false;
    for (const auto& f : info.files)
        if (f.name == "model.safetensors.index.json") {
            if (!have_blob(f)) fetch(f, 0, f.size);
            link(f);
            try {
                std::ifstream in(blob_of(f));
                index = nlohmann::json::parse(in);
            } catch (const std::exception& e) {
                throw Error(ref.text() + ": model.safetensors.index.json is not JSON: " + e.what());
            }
            has_index = true;
        }
    const std::vector<HubFile> files = select_files(info, has_index ? &index : nullptr);

    int64_t total = 0, done = 0;
    std::vector<const HubFile*> missing;
    for (const auto& f : files) {
        if (have_blob(f)) continue;
        missing.push_back(&f);
        total += std::max<int64_t>(f.size, 0);
    }
    if (!missing.empty())
        sink.log(LogLevel::info, "  " + std::to_string(missing.size()) + " of " +
                                     std::to_string(files.size()) + " files to fetch, " + mib(total) +
                                     " (commit " + info.commit + ")");
    for (const HubFile* f : missing) {
        sink.log(LogLevel::info, "  " + f->name + " (" + mib(f->size) + ")");
        fetch(*f, done, total);
        done += std::max<int64_t>(f->size, 0);
        sink.progress("download", done, total);
    }
    for (const auto& f : files) link(f);
    if (ref.revision != info.commit) {
        const fs::path r = repo_dir / "refs" / ref.revision;
        fs::create_directories(r.parent_path(), ec);
        write_file_atomic(r, info.commit);
    }
    sink.log(LogLevel::info, "  " + ref.text() + " is in " + snapshot.string());
    return snapshot;
}

}  // namespace olm
