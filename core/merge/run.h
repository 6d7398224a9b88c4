#pragma once
// One merge run: the object behind `olm merge` and the GUI's worker thread.
//
//   MergeConfig cfg = load_merge_config(path);
//   MyEvents ev;                           // a MergeEvents
//   MergeRun run(cfg, ev, {.resume = true});
//   run.run();                             // blocks; throws olm::Cancelled after cancel()
//
// pause(), resume() and cancel() are thread-safe and may be called from any
// thread while run() works; they are honoured between evaluation batches.
// The report (output_dir/merge_report.json) is written atomically after every
// candidate, so a cancelled or killed run continues with Options::resume.
// run() holds an flock on output_dir/.olm.lock throughout: a second run on the
// same folder (CLI or GUI, any process) is refused naming the holder's pid.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/merge/config.h"
#include "core/merge/events.h"
#include "core/merge/search.h"

namespace olm {

struct MergeRunOptions {
    bool resume = false;        // continue from output_dir/merge_report.json (also config load_merge_report)
    bool force = false;         // resume even when the config hash differs
    std::string device;         // overrides config.device when not empty
    bool export_model = true;   // write the merged model to output_dir after the search
    bool verify_export = true;  // re-score the written model and compare with the search's scores
    // A distributed merge (core/dist): every rank runs this with the same
    // config. Rank 0 does all a single process does and spreads each
    // position's candidates over the ranks; the others only score their share
    // of the search, write nothing and return when the search is done.
    SearchPeers* peers = nullptr;
};

// What a dry run finds: the plan without evaluating candidates.
struct MergePlan {
    int pool_size = 0;
    int layers = 0;
    int datasets = 0;
    int tensor_units_per_layer = 0;
    long long evaluations = 0;          // candidate x dataset evaluations, upper bound
    double seconds_per_evaluation = 0;  // from a short calibration (0 if not measured)
    std::string text;                   // human-readable plan, one fact a line
    // evaluations for each preset, for comparison
    long long evaluations_original = 0, evaluations_better = 0, evaluations_thorough = 0;
};

class MergeRun {
public:
    MergeRun(MergeConfig config, MergeEvents& events, MergeRunOptions options = {});
    ~MergeRun();
    MergeRun(const MergeRun&) = delete;
    MergeRun& operator=(const MergeRun&) = delete;

    // Loads the pool and datasets, searches, writes the report after every
    // candidate, exports. Blocks. Throws olm::Cancelled when cancelled (the
    // report is saved), olm::Error on failure.
    void run();

    // Validates config, pool and datasets, calibrates and returns the plan.
    MergePlan dry_run(bool calibrate = true);

    void pause();
    void resume();
    void cancel();
    bool paused() const { return m_paused.load(); }
    bool cancel_requested() const { return m_cancel.load(); }

    const MergeConfig& config() const { return m_config; }
    std::filesystem::path report_path() const { return m_config.report_path(); }

    // Blocks while paused; throws olm::Cancelled when cancel() was called.
    // Called by the search between evaluation batches.
    void checkpoint();
    // Throws olm::Error naming a pool weight file whose size or mtime changed
    // since the run started (called between candidates).
    void check_inputs() const;

private:
    // run() on a rank other than 0 of a distributed merge.
    void run_follower(SearchPeers& peers);
    // The search's pause/cancel and input checks, events and ranks.
    SearchHooks search_hooks(SearchPeers* peers);

    MergeConfig m_config;
    MergeEvents& m_events;
    MergeRunOptions m_options;
    std::atomic<bool> m_paused{false};
    std::atomic<bool> m_cancel{false};
    std::mutex m_mutex;
    std::condition_variable m_cv;
    nlohmann::json m_inputs;  // input_fingerprint at the start of run()
};

}  // namespace olm
