#pragma once
// `olm demo`: merges the demo pool headless with one or more search presets and
// builds the table a new user sees: every pool model, the pool soup and each
// preset's merge on every dataset (selection and held-out accuracy), the mean
// held-out accuracy, and the merge's difference to the best pool model with a
// 95% paired bootstrap interval.
//
// The merge itself is the product's (core/merge MergeRun); the accuracies are the
// ones in its merge_report.json. For the interval, the exported merged model and
// the best pool model are re-scored from disk on the held-out split (which also
// checks that the export reproduces the report's numbers).
#include "core/merge/events.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace olm::demo {

struct DemoRunOptions {
    std::filesystem::path project;  // folder with olm_config.yaml (default: the bundled demo)
    std::filesystem::path out;      // merge outputs go to out/<preset>/
    std::vector<std::string> presets = {"original", "better"};
    bool resume = true;  // reuse a finished or interrupted run's report
    int64_t bootstrap_resamples = 2000;
};

struct DemoRow {
    std::string name;                         // pool model, "soup" or "merge (<preset>)"
    std::map<std::string, double> selection;  // dataset -> accuracy
    std::map<std::string, double> heldout;    // dataset -> accuracy
    double mean_heldout = 0.0;
    bool is_merge = false;
};

struct DemoPresetResult {
    std::string preset;
    std::string recipe;    // layer-by-layer recipe, one line per layer
    double seconds = 0.0;  // wall time of the merge
    long long evaluations = 0;
    std::string best_model;                    // best pool model by mean held-out accuracy
    double diff = 0.0, low = 0.0, high = 0.0;  // merge - best model, mean held-out accuracy, 95% CI
    bool export_reproduced = false;  // the re-scored export matched the report's held-out accuracies
    std::string safeguard;           // the merge's own safeguard verdict line
};

struct DemoRunResult {
    std::vector<std::string> datasets;
    std::vector<DemoRow> rows;
    std::vector<DemoPresetResult> presets;
};

DemoRunResult run_demo(const DemoRunOptions& options, MergeEvents& events);
std::string format_demo_table(const DemoRunResult& result);

// Paired bootstrap of mean over datasets of (mean a - mean b), resampling the
// samples of each dataset with replacement. Returns {observed, low 2.5%, high 97.5%}.
struct Interval {
    double mean = 0.0, low = 0.0, high = 0.0;
};
Interval paired_accuracy_bootstrap(const std::vector<std::vector<double>>& a,
                                   const std::vector<std::vector<double>>& b, int64_t resamples,
                                   uint64_t seed);

}  // namespace olm::demo
