// Models named org/name: the Hugging Face cache lookup, and downloads from a
// Hub look-alike on 127.0.0.1 (tests/io/hub_server.py): layout, revisions, 404,
// gated 401, an interrupted transfer and its resume, a checksum mismatch,
// pickle-only repositories, the merge config's `download`, and the CLI.
#include "core/io/hf_cache.h"
#include "core/io/hub_download.h"
#include "core/io/model_folder.h"
#include "core/merge/config.h"
#include "core/merge/model_fetch.h"
#include "core/util/dir_lock.h"
#include "tests/support/hub_server.h"
#include "tests/support/test_files.h"
#include "tests/support/tiny_model.h"

#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <mutex>
#include <thread>

using namespace olm;
namespace fs = std::filesystem;
using testing::error_of;
using testing::HubServer;
using testing::read_text;
using testing::write_text;

namespace {

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";
const std::string kCommitV1 = "fedcba9876543210fedcba9876543210fedcba98";

QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

// A tiny sharded model plus files a merge does not need.
fs::path make_repo(const fs::path& dir, int shards = 2) {
    testing::TinyModelOptions o;
    o.shards = shards;
    testing::write_tiny_model(dir, o);
    write_text(dir / "README.md", "# tiny\n");
    write_text(dir / "pytorch_model.bin", std::string(300, 'p'));
    fs::create_directories(dir / "original");
    write_text(dir / "original" / "consolidated.safetensors", std::string(200, 'c'));
    return dir;
}

nlohmann::json repo_spec(const fs::path& dir) {
    return {{"dir", dir.string()}, {"commit", kCommit}, {"refs", {{"main", kCommit}, {"v1", kCommit}}}};
}

HubOptions options_for(const HubServer& s, const fs::path& cache) {
    HubOptions o;
    o.endpoint = s.endpoint();
    o.cache_dir = cache;
    o.token = "";
    return o;
}

// Unset the variables that would point the tests at a real cache or token.
void clean_env() {
    for (const char* v : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "HF_TOKEN",
                          "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HUB_OFFLINE"})
        qunsetenv(v);
}

}  // namespace

class TestHub : public QObject {
    Q_OBJECT
private slots:
    void init() { clean_env(); }
    void names();
    void cache_dir_from_environment();
    void cache_lookup();
    void download_layout();
    void download_revision();
    void not_found();
    void gated_needs_token();
    void interrupted_transfer_resumes();
    void resume_after_failed_run();
    void checksum_mismatch();
    void pickle_only_refused();
    void config_download_key();
    void base_outside_pool_downloaded();
    void concurrent_download_waits();
    void cli_download_and_inspect();
};

void TestHub::names() {
    for (const char* good :
         {"org/name", "Qwen/Qwen2.5-7B", "meta-llama/Llama-3.1-8B@main", "a_b/c.d@0123abcd"})
        QVERIFY2(is_hub_model_name(good), good);
    for (const char* bad : {"name", "./org/name", "../a/b", "/abs/path", "a/b/c", "org/", "/name",
                            "org/.hidden", "org/na me", "org/name@", "org/a..b", "base"})
        QVERIFY2(!is_hub_model_name(bad), bad);
    const auto r = parse_hub_model_name("org/name@v1.2");
    QCOMPARE(r.repo, std::string("org/name"));
    QCOMPARE(r.revision, std::string("v1.2"));
    QCOMPARE(parse_hub_model_name("org/name").revision, std::string("main"));
    QVERIFY(error_of([] { parse_hub_model_name("not a name"); }).find("org/name") != std::string::npos);
}

void TestHub::cache_dir_from_environment() {
    const QByteArray home = qgetenv("HOME");
    qputenv("HOME", "/home/someone");
    qunsetenv("XDG_CACHE_HOME");
    QCOMPARE(hf_hub_cache_dir(), fs::path("/home/someone/.cache/huggingface/hub"));
    qputenv("XDG_CACHE_HOME", "/xdg");
    QCOMPARE(hf_hub_cache_dir(), fs::path("/xdg/huggingface/hub"));
    qputenv("HF_HOME", "/hf");
    QCOMPARE(hf_hub_cache_dir(), fs::path("/hf/hub"));
    qputenv("HF_HUB_CACHE", "/cache");
    QCOMPARE(hf_hub_cache_dir(), fs::path("/cache"));
    QCOMPARE(hf_repo_cache_dir("/cache", "org/name"), fs::path("/cache/models--org--name"));
    qunsetenv("XDG_CACHE_HOME");
    qputenv("HOME", home);
}

void TestHub::cache_lookup() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path cache = root / "hub";
    // A snapshot as huggingface_hub leaves it: files are links into blobs/.
    const fs::path repo = cache / "models--org--tiny";
    const fs::path src = root / "src";
    testing::TinyModelOptions sharded;
    sharded.shards = 2;
    testing::write_tiny_model(src, sharded);
    fs::create_directories(repo / "blobs");
    fs::create_directories(repo / "snapshots" / kCommit);
    int n = 0;
    for (const auto& e : fs::directory_iterator(src)) {
        const std::string blob = "blob" + std::to_string(n++);
        fs::copy_file(e.path(), repo / "blobs" / blob);
        fs::create_symlink(fs::path("../../blobs") / blob,
                           repo / "snapshots" / kCommit / e.path().filename());
    }
    fs::create_directories(repo / "refs");
    write_text(repo / "refs" / "main", kCommit);
    // Not cached: only under models_dir.
    const fs::path models = root / "models";
    testing::write_tiny_model(models / "org_local");
    testing::write_tiny_model(models / "org_tiny");  // also cached: the cache wins

    const fs::path snap = repo / "snapshots" / kCommit;
    QCOMPARE(find_in_hf_cache(parse_hub_model_name("org/tiny"), cache).value(), snap);
    QCOMPARE(find_in_hf_cache(parse_hub_model_name("org/tiny@" + kCommit), cache).value(), snap);
    QVERIFY(!find_in_hf_cache(parse_hub_model_name("org/tiny@v2"), cache));
    write_text(repo / "refs" / "v2", kCommit + "\n");
    QCOMPARE(find_in_hf_cache(parse_hub_model_name("org/tiny@v2"), cache).value(), snap);
    QVERIFY(ModelFolder::open(snap).spec().num_hidden_layers == 2);

    QCOMPARE(find_model_folder("org/tiny", models, cache).value(), snap);
    QCOMPARE(find_model_folder("org/local", models, cache).value(), models / "org_local");
    QVERIFY(!find_model_folder("org/absent", models, cache));
    QVERIFY(!find_model_folder("org/local@v9", models, cache));  // a revision only comes from the cache

    // A shard the index names is missing: not loadable, so not found.
    fs::path shard;
    for (const auto& e : fs::directory_iterator(snap))
        if (e.path().filename().string().find("-of-") != std::string::npos) shard = e.path();
    QVERIFY(!shard.empty());
    fs::remove(shard);
    QVERIFY(!find_in_hf_cache(parse_hub_model_name("org/tiny"), cache));
    QCOMPARE(find_model_folder("org/tiny", models, cache).value(), models / "org_tiny");
}

void TestHub::download_layout() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path src = make_repo(root / "src");
    HubServer hub(root, {{"org/tiny", repo_spec(src)}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    const fs::path snap = hub_download_model(parse_hub_model_name("org/tiny"), options_for(hub, cache));
    const fs::path repo = cache / "models--org--tiny";
    QCOMPARE(snap, repo / "snapshots" / kCommit);
    QCOMPARE(read_text(repo / "refs" / "main"), kCommit);
    // Every file a merge reads, byte for byte, as a link into blobs/ named by
    // its sha256 (LFS) or git blob id (the etag transformers uses).
    int weights = 0;
    for (const auto& e : fs::directory_iterator(src)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file() || name == "README.md" || name == "pytorch_model.bin") continue;
        const fs::path link = snap / name;
        QVERIFY2(fs::is_symlink(link), name.c_str());
        QCOMPARE(read_text(link), read_text(e.path()));
        const std::string target = fs::read_symlink(link).string();
        const bool lfs = name.size() > 12 && name.substr(name.size() - 12) == ".safetensors";
        QCOMPARE(target, std::string("../../blobs/") +
                             (lfs ? sha256_file_hex(e.path()) : git_blob_sha1_hex(e.path())));
        weights += lfs;
    }
    QCOMPARE(weights, 2);
    // What a merge does not read was not fetched.
    for (const char* skipped : {"README.md", "pytorch_model.bin", "original/consolidated.safetensors"}) {
        QVERIFY2(hub.requests_for(std::string("/") + skipped).empty(), skipped);
        QVERIFY(!fs::exists(snap / skipped));
    }
    QVERIFY(!hub.requests_for("/model-00001-of-00002.safetensors").empty());
    // The model opens, and is found in the cache from now on.
    QCOMPARE(ModelFolder::open(snap).spec().num_hidden_layers, int64_t(2));
    QCOMPARE(find_in_hf_cache(parse_hub_model_name("org/tiny"), cache).value(), snap);
    // A second download fetches nothing: only the file list is asked for.
    const size_t before = hub.requests().size();
    QCOMPARE(hub_download_model(parse_hub_model_name("org/tiny"), options_for(hub, cache)), snap);
    const auto after = hub.requests();
    QCOMPARE(after.size(), before + 1);
    QVERIFY(after.back()["path"].get<std::string>().rfind("/api/models/org/tiny/revision/main", 0) == 0);
    QCOMPARE(after.back()["query"].get<std::string>(), std::string("blobs=true"));
}

void TestHub::download_revision() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path src = make_repo(root / "src", 1);
    auto spec = repo_spec(src);
    spec["commit"] = kCommitV1;
    spec["refs"] = {{"main", kCommitV1}, {"v1", kCommitV1}};
    HubServer hub(root, {{"org/tiny", spec}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    const fs::path snap = hub_download_model(parse_hub_model_name("org/tiny@v1"), options_for(hub, cache));
    QCOMPARE(snap.filename().string(), kCommitV1);
    QCOMPARE(read_text(cache / "models--org--tiny" / "refs" / "v1"), kCommitV1);
    QVERIFY(!fs::exists(cache / "models--org--tiny" / "refs" / "main"));
    QCOMPARE(find_in_hf_cache(parse_hub_model_name("org/tiny@v1"), cache).value(), snap);
    QVERIFY(!find_in_hf_cache(parse_hub_model_name("org/tiny"), cache));  // main was never resolved
    QVERIFY(!hub.requests_for("/resolve/" + kCommitV1 + "/model.safetensors").empty());
}

void TestHub::not_found() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    HubServer hub(root, {{"org/tiny", repo_spec(make_repo(root / "src", 1))}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    const std::string e =
        error_of([&] { hub_download_model(parse_hub_model_name("org/absent"), options_for(hub, cache)); });
    QVERIFY2(
        e.find("org/absent: not found on " + hub.endpoint() + " (HTTP 404 RepoNotFound") != std::string::npos,
        e.c_str());
    const std::string r =
        error_of([&] { hub_download_model(parse_hub_model_name("org/tiny@nope"), options_for(hub, cache)); });
    QVERIFY2(r.find("org/tiny@nope: not found") != std::string::npos &&
                 r.find("RevisionNotFound") != std::string::npos,
             r.c_str());
    QVERIFY(!fs::exists(cache / "models--org--absent"));
}

void TestHub::gated_needs_token() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    auto spec = repo_spec(make_repo(root / "src", 1));
    spec["token"] = "hf_secret";
    HubServer hub(root, {{"org/gated", spec}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    const std::string e =
        error_of([&] { hub_download_model(parse_hub_model_name("org/gated"), options_for(hub, cache)); });
    QVERIFY2(e.find("HTTP 401 GatedRepo") != std::string::npos && e.find("set HF_TOKEN") != std::string::npos,
             e.c_str());
    QVERIFY(!fs::exists(cache / "models--org--gated" / "snapshots"));
    // A wrong token is refused with its own message.
    HubOptions wrong = options_for(hub, cache);
    wrong.token = "hf_wrong";
    const std::string w = error_of([&] { hub_download_model(parse_hub_model_name("org/gated"), wrong); });
    QVERIFY2(w.find("token in HF_TOKEN was refused") != std::string::npos, w.c_str());
    // HF_TOKEN from the environment opens it; every request carried it.
    qputenv("HF_TOKEN", "hf_secret");
    const fs::path snap = hub_download_model(parse_hub_model_name("org/gated"), options_for(hub, cache));
    QVERIFY(fs::is_regular_file(snap / "model.safetensors"));
    const auto reqs = hub.requests_for("/model.safetensors");
    QVERIFY(reqs.size() >= 2);  // the resolve and the redirected download
    for (const auto& r : reqs) QVERIFY(r["auth"].get<bool>());
}

void TestHub::interrupted_transfer_resumes() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path src = make_repo(root / "src", 1);
    auto spec = repo_spec(src);
    spec["interrupt"] = {{"model.safetensors", 5000}};
    HubServer hub(root, {{"org/tiny", spec}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    struct Sink : ProgressSink {
        std::vector<std::string> logs;
        long long last_done = 0, last_total = 0;
        void log(LogLevel, std::string_view m) override { logs.emplace_back(m); }
        void progress(std::string_view stage, long long done, long long total) override {
            if (stage == "download") last_done = done, last_total = total;
        }
    } sink;
    const fs::path snap = hub_download_model(parse_hub_model_name("org/tiny"), options_for(hub, cache), sink);
    QCOMPARE(read_text(snap / "model.safetensors"), read_text(src / "model.safetensors"));
    const auto reqs = hub.requests_for("/cdn/org/tiny/resolve/" + kCommit + "/model.safetensors");
    QCOMPARE(reqs.size(), size_t(2));
    QVERIFY(reqs[0]["range"].is_null());
    QCOMPARE(reqs[1]["range"].get<std::string>(), std::string("bytes=5000-"));
    QVERIFY(std::any_of(sink.logs.begin(), sink.logs.end(), [](const std::string& l) {
        return l.find("transfer interrupted") != std::string::npos;
    }));
    QVERIFY(sink.last_total > 0);
    QCOMPARE(sink.last_done, sink.last_total);
}

void TestHub::resume_after_failed_run() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path src = make_repo(root / "src", 1);
    auto spec = repo_spec(src);
    spec["interrupt"] = {{"model.safetensors", 3000}};
    HubServer hub(root, {{"org/tiny", spec}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    HubOptions once = options_for(hub, cache);
    once.attempts = 1;
    const std::string e = error_of([&] { hub_download_model(parse_hub_model_name("org/tiny"), once); });
    QVERIFY2(e.find("model.safetensors was interrupted") != std::string::npos &&
                 e.find("run the download again to resume") != std::string::npos,
             e.c_str());
    const std::string sha = sha256_file_hex(src / "model.safetensors");
    const fs::path part = cache / "models--org--tiny" / "blobs" / (sha + ".incomplete");
    QCOMPARE(fs::file_size(part), uintmax_t(3000));
    QVERIFY(!find_in_hf_cache(parse_hub_model_name("org/tiny"), cache));
    // The next run asks only for the rest.
    const fs::path snap = hub_download_model(parse_hub_model_name("org/tiny"), once);
    QCOMPARE(read_text(snap / "model.safetensors"), read_text(src / "model.safetensors"));
    QVERIFY(!fs::exists(part));
    const auto reqs = hub.requests_for("/cdn/org/tiny/resolve/" + kCommit + "/model.safetensors");
    QCOMPARE(reqs.back()["range"].get<std::string>(), std::string("bytes=3000-"));
}

void TestHub::checksum_mismatch() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path src = make_repo(root / "src", 1);
    auto spec = repo_spec(src);
    spec["corrupt"] = {"model.safetensors"};
    HubServer hub(root, {{"org/tiny", spec}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    const std::string sha = sha256_file_hex(src / "model.safetensors");
    const std::string e =
        error_of([&] { hub_download_model(parse_hub_model_name("org/tiny"), options_for(hub, cache)); });
    QVERIFY2(e.find("model.safetensors does not match its sha256 (expected " + sha + ", found ") !=
                 std::string::npos,
             e.c_str());
    const fs::path repo = cache / "models--org--tiny";
    QVERIFY(!fs::exists(repo / "blobs" / sha));
    QVERIFY(!fs::exists(repo / "blobs" / (sha + ".incomplete")));
    QVERIFY(!fs::exists(repo / "snapshots" / kCommit / "model.safetensors"));
    // A corrupted small file is caught by its git blob id.
    auto spec2 = repo_spec(src);
    spec2["corrupt"] = {"config.json"};
    QTemporaryDir tmp2;
    HubServer hub2(tmp2.path().toStdString(), {{"org/tiny", spec2}});
    QVERIFY(hub2.ok());
    const std::string c = error_of(
        [&] { hub_download_model(parse_hub_model_name("org/tiny"), options_for(hub2, root / "cache2")); });
    QVERIFY2(c.find("config.json does not match its git blob id (expected " +
                    git_blob_sha1_hex(src / "config.json")) != std::string::npos,
             c.c_str());
}

void TestHub::pickle_only_refused() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path src = root / "src";
    fs::create_directories(src);
    write_text(src / "config.json", testing::tiny_config_json({}));
    write_text(src / "pytorch_model.bin", std::string(500, 'x'));
    write_text(src / "training_args.pt", std::string(50, 'y'));
    HubServer hub(root, {{"org/pickled", repo_spec(src)}});
    QVERIFY(hub.ok());
    const std::string e = error_of(
        [&] { hub_download_model(parse_hub_model_name("org/pickled"), options_for(hub, root / "cache")); });
    QVERIFY2(
        e.find("org/pickled: the repository has only pickle weights (pytorch_model.bin, training_args.pt)") !=
            std::string::npos,
        e.c_str());
    QVERIFY(hub.requests_for("/pytorch_model.bin").empty());
    QVERIFY(hub.requests_for("/config.json").empty());
}

void TestHub::config_download_key() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    HubServer hub(root, {{"org/a", repo_spec(make_repo(root / "a", 1))},
                         {"org/b", repo_spec(make_repo(root / "b", 1))}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    qputenv("HF_HUB_CACHE", QByteArray::fromStdString(cache.string()));
    qputenv("HF_ENDPOINT", QByteArray::fromStdString(hub.endpoint()));
    fs::create_directories(root / "models");
    testing::write_tiny_model(root / "models" / "org_local");
    const std::string yaml =
        "models_dir: models\nmodels: [org/a, org/local, org/b]\ndataset:\n  d.json: {mode: exact}\n";
    MergeConfig off = parse_merge_config(yaml + "download: false\n", root);
    QCOMPARE(off.download, false);
    const auto kept = fetch_missing_models(off, nullptr);
    QCOMPARE(kept[0], root / "models" / "org_a");  // missing, left to the pool check
    QVERIFY(hub.requests().empty());
    MergeConfig on = parse_merge_config(yaml, root);
    QCOMPARE(on.download, true);  // the original OLM's default
    const auto paths = fetch_missing_models(on, nullptr);
    QCOMPARE(paths[0], cache / "models--org--a" / "snapshots" / kCommit);
    QCOMPARE(paths[1], root / "models" / "org_local");
    QCOMPARE(paths[2], cache / "models--org--b" / "snapshots" / kCommit);
    QCOMPARE(on.model_paths(), paths);  // from now on found in the cache
    QVERIFY(merge_config_to_yaml(on, root).find("download: true") != std::string::npos);
}

void TestHub::base_outside_pool_downloaded() {
    // base_model_name: org/name outside `models` is read (tokenizer, config,
    // tensors no candidate replaces), so the merge downloads it too.
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    HubServer hub(root, {{"org/a", repo_spec(make_repo(root / "a", 1))},
                         {"org/base", repo_spec(make_repo(root / "base", 1))}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    qputenv("HF_HUB_CACHE", QByteArray::fromStdString(cache.string()));
    qputenv("HF_ENDPOINT", QByteArray::fromStdString(hub.endpoint()));
    const std::string yaml =
        "models: [org/a]\nbase_model_name: org/base\ndataset:\n  d.json: {mode: exact}\n";
    MergeConfig off = parse_merge_config(yaml + "download: false\n", root);
    QVERIFY(off.base_outside_pool());
    fetch_missing_models(off, nullptr);
    QVERIFY(hub.requests().empty());
    MergeConfig on = parse_merge_config(yaml, root);
    const auto paths = fetch_missing_models(on, nullptr);
    QCOMPARE(paths.size(), size_t(1));  // the pool's paths; the base is found through the cache
    const fs::path base_snap = cache / "models--org--base" / "snapshots" / kCommit;
    QCOMPARE(on.base_path(), base_snap);
    QCOMPARE(read_text(base_snap / "model.safetensors"), read_text(root / "base" / "model.safetensors"));
    const size_t served = hub.requests().size();
    fetch_missing_models(on, nullptr);  // both in the cache now: nothing asked again
    QCOMPARE(hub.requests().size(), served);
}

void TestHub::concurrent_download_waits() {
    // Another process downloading the same blob holds huggingface_hub's lock
    // for it (<cache>/.locks/models--org--name/<etag>.lock); a download waits
    // for it instead of writing the same .incomplete file, then finds the file
    // complete or fetches it itself.
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path src = make_repo(root / "src", 1);
    HubServer hub(root, {{"org/tiny", repo_spec(src)}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    const fs::path locks = cache / ".locks" / "models--org--tiny";
    fs::create_directories(locks);
    DirLock held = DirLock::acquire(locks / (sha256_file_hex(src / "model.safetensors") + ".lock"), "test");
    struct Sink : ProgressSink {
        std::mutex m;
        std::vector<std::string> logs;
        void log(LogLevel, std::string_view s) override {
            std::lock_guard<std::mutex> g(m);
            logs.emplace_back(s);
        }
        bool saw(const std::string& what) {
            std::lock_guard<std::mutex> g(m);
            return std::any_of(logs.begin(), logs.end(),
                               [&](const std::string& l) { return l.find(what) != std::string::npos; });
        }
    } sink;
    fs::path snap;
    std::string error;
    std::thread t([&] {
        try {
            snap = hub_download_model(parse_hub_model_name("org/tiny"), options_for(hub, cache), sink);
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    QTRY_VERIFY_WITH_TIMEOUT(sink.saw("model.safetensors: another download of this file is running (pid " +
                                      std::to_string(::getpid())),
                             20000);
    QTest::qWait(600);  // still waiting: the weights were not requested
    const bool fetched_while_locked = !hub.requests_for("/resolve/" + kCommit + "/model.safetensors").empty();
    held.release();
    t.join();
    QVERIFY2(error.empty(), error.c_str());
    QVERIFY(!fetched_while_locked);
    QCOMPARE(read_text(snap / "model.safetensors"), read_text(src / "model.safetensors"));
}

void TestHub::cli_download_and_inspect() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    HubServer hub(root, {{"org/tiny", repo_spec(make_repo(root / "src"))}});
    QVERIFY(hub.ok());
    const fs::path cache = root / "cache";
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("HF_HUB_CACHE"), q(cache));
    env.insert(QStringLiteral("HF_ENDPOINT"), QString::fromStdString(hub.endpoint()));
    auto run = [&](const QStringList& args) {
        QProcess p;
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(OLM_CLI_PATH), args);
        p.waitForFinished(60000);
        return std::make_tuple(p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                               QString::fromUtf8(p.readAllStandardError()));
    };
    const auto [missing_code, missing_out, missing_err] = run({"inspect", "org/tiny"});
    QCOMPARE(missing_code, 1);
    QVERIFY2(missing_err.contains("fetch it with `olm download org/tiny`"), qPrintable(missing_err));
    const auto [code, out, err] = run({"download", "org/tiny"});
    QVERIFY2(code == 0, qPrintable(err));
    const fs::path snap = cache / "models--org--tiny" / "snapshots" / kCommit;
    QCOMPARE(out.trimmed(), q(snap));
    QVERIFY2(err.contains("download 100%"), qPrintable(err));
    QVERIFY2(err.contains("files to fetch"), qPrintable(err));
    const auto [icode, iout, ierr] = run({"inspect", "org/tiny"});
    QVERIFY2(icode == 0, qPrintable(ierr));
    QVERIFY2(iout.contains("LlamaForCausalLM"), qPrintable(iout));
    const auto [again, again_out, again_err] = run({"download", "org/tiny"});
    QCOMPARE(again, 0);
    QVERIFY(again_err.contains("already in the Hugging Face cache"));
    const auto [pcode, pout, perr] = run({"download", "org/absent"});
    QCOMPARE(pcode, 1);
    QVERIFY2(perr.contains("HTTP 404"), qPrintable(perr));
}

QTEST_GUILESS_MAIN(TestHub)
#include "test_hub.moc"
