#include "core/demo/demo_run.h"

#include "core/demo/corpus.h"
#include "core/demo/demo_project.h"
#include "core/merge/config.h"
#include "core/merge/recipe.h"
#include "core/merge/report.h"
#include "core/merge/run.h"
#include "core/merge/session.h"
#include "core/util/error.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace olm::demo {

namespace fs = std::filesystem;
using Json = nlohmann::json;

Interval paired_accuracy_bootstrap(const std::vector<std::vector<double>>& a,
                                   const std::vector<std::vector<double>>& b, int64_t resamples,
                                   uint64_t seed) {
    if (a.size() != b.size() || a.empty()) throw Error("demo bootstrap: dataset counts differ or are zero");
    for (size_t d = 0; d < a.size(); ++d)
        if (a[d].size() != b[d].size() || a[d].empty())
            throw Error("demo bootstrap: dataset " + std::to_string(d) + " has unpaired or no samples");
    auto statistic = [&](const std::vector<std::vector<size_t>>& pick) {
        double total = 0.0;
        for (size_t d = 0; d < a.size(); ++d) {
            double s = 0.0;
            for (size_t i : pick[d]) s += a[d][i] - b[d][i];
            total += s / static_cast<double>(pick[d].size());
        }
        return total / static_cast<double>(a.size());
    };
    std::vector<std::vector<size_t>> identity(a.size());
    for (size_t d = 0; d < a.size(); ++d)
        for (size_t i = 0; i < a[d].size(); ++i) identity[d].push_back(i);
    Interval out;
    out.mean = statistic(identity);
    Rng rng(seed);
    std::vector<double> stats;
    std::vector<std::vector<size_t>> pick(a.size());
    for (int64_t r = 0; r < resamples; ++r) {
        for (size_t d = 0; d < a.size(); ++d) {
            pick[d].resize(a[d].size());
            for (auto& i : pick[d]) i = rng.below(a[d].size());
        }
        stats.push_back(statistic(pick));
    }
    std::sort(stats.begin(), stats.end());
    auto quantile = [&](double q) {
        const double pos = q * static_cast<double>(stats.size() - 1);
        const size_t lo = static_cast<size_t>(std::floor(pos));
        const size_t hi = std::min(stats.size() - 1, lo + 1);
        return stats[lo] + (stats[hi] - stats[lo]) * (pos - static_cast<double>(lo));
    };
    out.low = quantile(0.025);
    out.high = quantile(0.975);
    return out;
}

namespace {

DemoRow row_from(const std::string& name, const Json& entry, const std::vector<std::string>& datasets) {
    DemoRow row;
    row.name = name;
    for (const auto& d : datasets) {
        row.selection[d] = entry.at("accuracy").at(d).get<double>();
        row.heldout[d] = entry.at("heldout").at("accuracy").at(d).get<double>();
        row.mean_heldout += row.heldout[d] / static_cast<double>(datasets.size());
    }
    return row;
}

// Per-sample correctness (1/0) of one whole model on the held-out split of every dataset.
std::vector<std::vector<double>> heldout_correct(MergeSession& session, const std::string& model,
                                                 int num_layers) {
    MergeState st;
    st.base = model;
    st.boundary = single_model(model);
    st.layers.assign(static_cast<size_t>(num_layers), single_model(model));
    session.apply(st);
    std::vector<std::vector<double>> out;
    for (const auto& score : session.score_all(EvalSplit::holdout)) {
        std::vector<double> c;
        for (const auto& s : score.samples) c.push_back(s.correct ? 1.0 : 0.0);
        out.push_back(std::move(c));
    }
    return out;
}

std::string layer_recipe_text(const Json& report) {
    std::ostringstream s;
    const Json& layers = report.at("recipe").at("layers");
    std::vector<std::pair<int, std::string>> rows;
    for (auto it = layers.begin(); it != layers.end(); ++it)
        rows.emplace_back(std::stoi(it.key()), recipe_text(recipe_from_json(it.value())));
    std::sort(rows.begin(), rows.end());
    for (const auto& [i, text] : rows) s << "  layer " << i << ": " << text << "\n";
    return s.str();
}

}  // namespace

DemoRunResult run_demo(const DemoRunOptions& o, MergeEvents& events) {
    const fs::path project = o.project.empty() ? bundled_demo_dir() : o.project;
    const fs::path config_path = project / "olm_config.yaml";
    if (!fs::exists(config_path))
        throw Error("olm demo: " + config_path.string() +
                    " not found (generate one with `olm demo generate --out DIR`)");
    DemoRunResult result;
    bool pool_rows_done = false;
    for (const auto& preset : o.presets) {
        MergeConfig cfg = load_merge_config(config_path);
        for (const auto& w : cfg.warnings) events.log(LogLevel::warning, w);
        cfg.search = preset;
        cfg.output_dir = fs::absolute(o.out / preset);
        cfg.load_merge_report = false;
        fs::create_directories(cfg.output_dir);
        const bool finished = fs::exists(cfg.report_path()) &&
                              MergeReport::load(cfg.report_path()).json().value("status", "") == "complete";
        DemoPresetResult pr;
        pr.preset = preset;
        const auto t0 = std::chrono::steady_clock::now();
        if (!(o.resume && finished)) {
            events.log(LogLevel::info, "demo: merging with search: " + preset);
            MergeRunOptions ro;
            ro.resume = o.resume && fs::exists(cfg.report_path());
            ro.force = false;
            MergeRun run(cfg, events, ro);
            run.run();
        }
        pr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const Json report = MergeReport::load(cfg.report_path()).json();
        if (result.datasets.empty())
            for (const auto& d : cfg.datasets) result.datasets.push_back(d.name);
        if (!report.contains("final") || !report.contains("references") ||
            !report["final"].contains("heldout"))
            throw Error(
                "olm demo: " + cfg.report_path().string() +
                " lacks final/references/held-out scores (the demo config needs holdout and references)");
        if (report.contains("timings")) {
            pr.seconds = report["timings"].value("total_seconds", pr.seconds);
            pr.evaluations = report["timings"].value("evaluations_this_run", 0LL);
        }
        if (!pool_rows_done) {
            for (auto it = report["references"].begin(); it != report["references"].end(); ++it)
                result.rows.push_back(row_from(it.key(), it.value(), result.datasets));
            pool_rows_done = true;
        }
        DemoRow merged = row_from("merge (" + preset + ")", report["final"], result.datasets);
        merged.is_merge = true;
        pr.recipe = layer_recipe_text(report);
        if (report.contains("safeguard")) {
            const Json& s = report["safeguard"];
            pr.safeguard = s.value("verdict", "") + " vs " + s.value("best_model", "");
        }
        // Best pool model by mean held-out accuracy (the soup is a reference, not a pool model).
        const DemoRow* best = nullptr;
        for (const auto& r : result.rows)
            if (r.name != "soup" && !r.is_merge && (!best || r.mean_heldout > best->mean_heldout)) best = &r;
        if (!best) throw Error("olm demo: no pool model in the report's references");
        pr.best_model = best->name;

        // Re-score the exported merge and the best pool model from disk (held-out).
        const fs::path exported = cfg.output_dir / "merged";
        MergeConfig check = cfg;
        const auto names = cfg.model_names();
        const auto paths = cfg.model_paths();
        fs::path best_path;
        for (size_t i = 0; i < names.size(); ++i)
            if (names[i] == best->name) best_path = paths[i];
        check.models = {exported.string(), best_path.string()};
        check.base_model_name = "";
        const std::vector<std::string> pool_names = {"merged", best->name};
        MergeSession session(check, "", &events, nullptr, &pool_names);
        const int layers = static_cast<int>(session.model().num_layers());
        const auto merged_correct = heldout_correct(session, "merged", layers);
        const auto best_correct = heldout_correct(session, best->name, layers);
        pr.export_reproduced = true;
        for (size_t d = 0; d < result.datasets.size(); ++d) {
            double acc = 0.0;
            for (double c : merged_correct[d]) acc += c / static_cast<double>(merged_correct[d].size());
            if (std::abs(acc - merged.heldout[result.datasets[d]]) > 1e-9) pr.export_reproduced = false;
        }
        const Interval iv = paired_accuracy_bootstrap(merged_correct, best_correct, o.bootstrap_resamples, 7);
        pr.diff = iv.mean;
        pr.low = iv.low;
        pr.high = iv.high;
        result.rows.push_back(std::move(merged));
        result.presets.push_back(std::move(pr));
    }
    return result;
}

std::string format_demo_table(const DemoRunResult& r) {
    std::ostringstream s;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-22s", "model");
    s << buf;
    for (const auto& d : r.datasets) {
        std::snprintf(buf, sizeof buf, " %20s", (d + " sel/held").c_str());
        s << buf;
    }
    s << "   mean held-out\n";
    for (const auto& row : r.rows) {
        std::snprintf(buf, sizeof buf, "%-22s", row.name.c_str());
        s << buf;
        for (const auto& d : r.datasets) {
            std::snprintf(buf, sizeof buf, " %12.1f%% %5.1f%%", 100.0 * row.selection.at(d),
                          100.0 * row.heldout.at(d));
            s << buf;
        }
        std::snprintf(buf, sizeof buf, "   %6.1f%%\n", 100.0 * row.mean_heldout);
        s << buf;
    }
    s << "(accuracy: exact = every answer token is the argmax; bigram likewise; quality = no penalty)\n";
    for (const auto& p : r.presets) {
        std::snprintf(
            buf, sizeof buf,
            "\nsearch: %s  (%.0f s, %lld evaluations)\n  merge - best pool model (%s), mean held-out "
            "accuracy: %+.1f points [95%% CI %+.1f, %+.1f]%s\n",
            p.preset.c_str(), p.seconds, p.evaluations, p.best_model.c_str(), 100.0 * p.diff, 100.0 * p.low,
            100.0 * p.high, p.low > 0 ? "  (better)" : "");
        s << buf;
        if (!p.safeguard.empty()) s << "  merge safeguard (score-based): " << p.safeguard << "\n";
        s << "  exported model re-scored from disk: "
          << (p.export_reproduced ? "reproduces the held-out accuracies" : "DIFFERS from the report") << "\n";
        s << "  recipe:\n" << p.recipe;
    }
    return s.str();
}

}  // namespace olm::demo
