#include "core/merge/run.h"

#include "core/io/export_folder.h"
#include "core/merge/fingerprint.h"
#include "core/merge/merge_export.h"
#include "core/merge/model_fetch.h"
#include "core/merge/original_report.h"
#include "core/merge/report.h"
#include "core/merge/safeguard.h"
#include "core/merge/session.h"
#include "core/model/transformer.h"
#include "core/util/atomic_file.h"
#include "core/util/dir_lock.h"
#include "core/util/error.h"
#include "core/util/json_file.h"
#include "core/util/json_text.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace olm {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// The evaluator's sink: forwards logs, blocks while paused, answers cancel.
class RunSink : public ProgressSink {
public:
    RunSink(MergeRun& run, MergeEvents& events) : m_run(run), m_events(events) {}
    void log(LogLevel level, std::string_view message) override { m_events.log(level, message); }
    // Hub downloads of pool models (the CLI draws a bar, the GUI may show it).
    void progress(std::string_view stage, long long done, long long total) override {
        if (stage == "download") m_events.progress(stage, done, total);
    }
    bool cancelled() const override {
        try {
            m_run.checkpoint();
        } catch (const Cancelled&) {
            return true;
        }
        return false;
    }

private:
    MergeRun& m_run;
    MergeEvents& m_events;
};

Json scores_json(const std::vector<DatasetScore>& scores, const std::vector<EvalDataset>& datasets) {
    Json j = Json::object();
    for (size_t d = 0; d < scores.size(); ++d) {
        j["metrics"][datasets[d].name] = scores[d].score;
        j["accuracy"][datasets[d].name] = scores[d].accuracy;
        j["per_sample"][datasets[d].name] = scores[d].per_sample;
    }
    return j;
}

// Scores the working model as it stands on the selection split (and the held-out split).
Json score_model(MergeSession& s) {
    Json j = scores_json(s.score_all(EvalSplit::selection), s.datasets());
    if (s.has_holdout()) j["heldout"] = scores_json(s.score_all(EvalSplit::holdout), s.datasets());
    return j;
}

std::vector<std::vector<double>> per_sample(const Json& entry, const std::vector<EvalDataset>& datasets) {
    std::vector<std::vector<double>> out;
    for (const auto& d : datasets)
        out.push_back(entry.at("per_sample").at(d.name).get<std::vector<double>>());
    return out;
}

std::string lines_text(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += "\n  - " + l;
    return out;
}

// A copy of the original OLM's report beside it, before this program's report
// replaces it: merge_report.original.json, or .original-2.json, ... when taken.
fs::path keep_original_report(const fs::path& report) {
    fs::path kept = report.parent_path() / "merge_report.original.json";
    for (int i = 2; fs::exists(kept); ++i)
        kept = report.parent_path() / ("merge_report.original-" + std::to_string(i) + ".json");
    write_file_atomic(kept, read_text_file(report, max_report_bytes, "merge report"));
    return kept;
}

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

}  // namespace

MergeRun::MergeRun(MergeConfig config, MergeEvents& events, MergeRunOptions options)
    : m_config(std::move(config)), m_events(events), m_options(std::move(options)) {}

MergeRun::~MergeRun() = default;

void MergeRun::pause() { m_paused.store(true); }

void MergeRun::resume() {
    m_paused.store(false);
    m_cv.notify_all();
}

void MergeRun::cancel() {
    m_cancel.store(true);
    m_cv.notify_all();
}

void MergeRun::checkpoint() {
    if (m_paused.load() && !m_cancel.load()) {
        std::unique_lock<std::mutex> lock(m_mutex);
        // Short waits: cancel() may come from a signal handler that cannot notify.
        while (m_paused.load() && !m_cancel.load()) m_cv.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (m_cancel.load()) throw Cancelled();
}

void MergeRun::check_inputs() const {
    const auto changed = changed_weight_files(m_inputs);
    if (!changed.empty())
        throw AbortRun(
            "a pool file changed while the merge ran (it is memory-mapped and must stay as it was):" +
            lines_text(changed) + "\n" + report_path().string() +
            " holds every finished candidate; restore the file and continue with --resume");
}

SearchHooks MergeRun::search_hooks(SearchPeers* peers) {
    SearchHooks hooks;
    hooks.checkpoint = [this] {
        checkpoint();
        check_inputs();
    };
    hooks.events = &m_events;
    hooks.peers = peers;
    return hooks;
}

void MergeRun::run_follower(SearchPeers& peers) {
    const std::string me = "rank " + std::to_string(peers.rank()) + " of " + std::to_string(peers.size());
    m_events.stage_changed(MergeStage::loading, "config, pool check, datasets");
    m_events.log(LogLevel::info, me + ": loading the pool and datasets; rank 0 writes the report");
    m_inputs = input_fingerprint(m_config);
    RunSink sink(*this, m_events);
    std::vector<std::string> warnings;
    MergeSession session(m_config, m_options.device, &sink, &warnings);
    session.set_events(&m_events);
    // The report rank 0 starts the search from (a resumed one holds results).
    const Json start = parse_json_text(peers.broadcast(std::string()));
    const std::string hash = merge_config_hash(m_config);
    if (start.value("config_hash", std::string()) != hash)
        throw Error(me + ": its config differs from rank 0's (hash " + hash + ", rank 0 " +
                    start.value("config_hash", std::string("?")) +
                    "): every rank must run the same config on the same pool and datasets");
    MergeReport report(start.at("report"));  // in memory only: rank 0 owns the file
    const SearchHooks hooks = search_hooks(&peers);
    const SearchResult res = run_search(session.search_options(), session, report, hooks);
    peers.finish();
    m_events.log(LogLevel::info, me + ": the search is done; this rank did " +
                                     std::to_string(res.evaluations_here) + " of the " +
                                     std::to_string(res.evaluations) +
                                     " dataset scorings of the search; rank 0 scores the merge and exports");
    m_events.stage_changed(MergeStage::done, "search complete");
}

void MergeRun::run() {
    SearchPeers* peers = m_options.peers && m_options.peers->size() > 1 ? m_options.peers : nullptr;
    if (peers && peers->rank() != 0) return run_follower(*peers);
    const auto t0 = Clock::now();
    auto stage = [&](MergeStage s, const std::string& what) {
        m_events.stage_changed(s, what);
        m_events.log(LogLevel::info, std::string(stage_name(s)) + ": " + what);
    };
    stage(MergeStage::loading, "config, pool check, datasets");
    for (const auto& w : m_config.warnings) m_events.log(LogLevel::warning, w);
    check_output_dir(m_config);
    fs::create_directories(m_config.output_dir);
    // Pool models named org/name that are not on disk come from the Hub first,
    // so the config hash below already sees their cache folders.
    {
        RunSink fetch_sink(*this, m_events);  // Pause/Cancel work during downloads too
        fetch_missing_models(m_config, &fetch_sink);
    }
    // One run per output folder, for the whole run (a killed holder frees it).
    const DirLock lock =
        DirLock::acquire(m_config.output_dir / kDirLockName, "output_dir " + m_config.output_dir.string());
    RunSink sink(*this, m_events);
    const fs::path merged_dir = m_config.output_dir / "merged";
    if (m_options.export_model) {
        // Refuse now rather than after the search: merged/ is replaced only when
        // it holds a previous export of this program.
        check_export_replaceable(merged_dir, true);
        remove_stale_export_folders(merged_dir, sink);
    }

    const fs::path report_path = m_config.report_path();
    const std::string hash = merge_config_hash(m_config);
    const Json inputs = input_fingerprint(m_config);
    MergeReport report;
    const bool resume = m_options.resume || m_config.load_merge_report;
    std::optional<Json> original;  // the original OLM's report, continued
    if (resume && fs::exists(report_path)) {
        report = MergeReport::load(report_path);
        if (is_original_report(report.json())) {
            original = report.json();
            report = MergeReport();
        }
    }
    if (original) {
        // continued once the pool is open; the file is not touched before
    } else if (resume && fs::exists(report_path)) {
        const std::string old = report.json().value("config_hash", std::string());
        if (old != hash && !m_options.force)
            throw Error("cannot resume: " + report_path.string() +
                        " was written with a different config (hash " + old + ", now " + hash +
                        "); use --force to resume anyway, or another output_dir to start over");
        if (!report.json().contains("inputs")) {
            m_events.log(
                LogLevel::warning,
                report_path.string() +
                    " has no fingerprint of its inputs (an older version wrote it): the contents of the "
                    "datasets and pool weights cannot be checked, so resuming trusts they are unchanged");
        } else {
            const auto changes = fingerprint_changes(report.json()["inputs"], inputs);
            if (!changes.empty() && !m_options.force)
                throw Error(
                    "cannot resume: the inputs changed since " + report_path.string() +
                    " was written, so its scores were measured on other data:" + lines_text(changes) +
                    "\nuse --force to resume anyway (old and new scores then mix), or another output_dir "
                    "to start over");
            if (!changes.empty())
                m_events.log(LogLevel::warning,
                             "resuming despite changed inputs (--force):" + lines_text(changes));
        }
        m_events.log(LogLevel::info, "resuming from " + report_path.string());
    } else if (fs::exists(report_path)) {
        m_events.log(LogLevel::warning,
                     "starting over: " + report_path.string() + " is replaced (use --resume to continue it)");
    }
    report.json()["version"] = kMergeReportVersion;
    report.json()["config"] = merge_config_to_json(m_config);
    report.json()["config_hash"] = hash;
    report.json()["inputs"] = inputs;
    report.json()["status"] = "running";
    report.set_autosave(report_path);
    if (!original) report.save();
    m_inputs = inputs;

    std::vector<std::string> warnings;
    MergeSession session(m_config, m_options.device, &sink, &warnings);
    session.set_events(&m_events);
    for (const auto& w : warnings) m_events.log(LogLevel::warning, w);
    if (session.model().memory_plan().streamed_layers > 0)
        m_events.log(LogLevel::info, memory_plan_text(session.model().memory_plan()));
    {
        Json ds = Json::object();
        for (const auto& d : session.datasets())
            ds[d.name] = {{"mode", d.mode},
                          {"selection", d.selection.size()},
                          {"holdout", d.holdout.size()},
                          {"skipped", d.skipped}};
        if (original) {
            report.json().update(import_original_report(*original, session.search_options(), session.pool()));
            const fs::path kept = keep_original_report(report_path);
            m_events.log(
                LogLevel::warning,
                report_path.string() +
                    " was written by the original OLM: the positions it decided are kept as it decided "
                    "them, with its scores (measured by the original, in its dtype), and the rest is "
                    "searched here; its file is kept as " +
                    kept.string());
            report.json()["continues"] = kept.filename().string();
        }
        report.json()["pool"] = session.pool().names();
        report.json()["datasets"] = ds;
        report.json()["has_heldout"] = session.has_holdout();
        report.save();
    }
    if (peers) {
        m_events.log(LogLevel::info, "distributed: " + std::to_string(peers->size()) +
                                         " ranks share every position's candidates; this rank (0) "
                                         "writes the report");
        peers->broadcast(dump_json_text(Json{{"config_hash", hash}, {"report", report.json()}}, -1));
    }

    // --- the search ----------------------------------------------------------
    const SearchHooks hooks = search_hooks(peers);
    const SearchResult res = run_search(session.search_options(), session, report, hooks);
    if (peers) {
        peers->finish();
        m_events.log(LogLevel::info, "distributed: rank 0 did " + std::to_string(res.evaluations_here) +
                                         " of the " + std::to_string(res.evaluations) +
                                         " dataset scorings of the search");
    }
    const auto t_search = Clock::now();
    {
        const EvalStats& st = session.evaluator().stats();
        EvaluationWork w;
        w.evaluations = st.evaluations;
        w.reused = st.reused;
        w.layer_token_rows = st.layer_token_rows;
        w.head_rows = st.head_rows;
        w.generated_tokens = st.generated_tokens;
        m_events.search_work(w);
        m_events.log(LogLevel::info, "search work: " + std::to_string(w.evaluations) + " dataset scorings (" +
                                         std::to_string(w.reused) + " reused), " +
                                         std::to_string(w.layer_token_rows) + " layer x token rows, " +
                                         std::to_string(w.head_rows) + " logits rows, " +
                                         std::to_string(w.generated_tokens) + " generated tokens");
    }

    if (res.samples_full > 0) {
        // Racing: what the merge's candidates were scored on, against every sample.
        const double saved =
            1.0 - static_cast<double>(res.samples_scored) / static_cast<double>(res.samples_full);
        report.json()["racing"] = {{"samples_scored", res.samples_scored},
                                   {"samples_full", res.samples_full},
                                   {"work_saved", saved}};
        report.save();
        char buf[160];
        std::snprintf(buf, sizeof buf, "racing: %lld of %lld candidate samples scored (%.1f%% saved)",
                      res.samples_scored, res.samples_full, 100.0 * saved);
        m_events.log(LogLevel::info, buf);
    }

    // --- the merge, then the reference points -------------------------------
    stage(MergeStage::references, "scoring the merge, every pool model and the pool soup");
    Json& j = report.json();
    if (!j.contains("final") || j["final"].value("recipe", Json()) != j["recipe"]) {
        checkpoint();
        session.apply(res.state);
        Json f = score_model(session);
        f["recipe"] = j["recipe"];
        j["final"] = f;
        report.save();
    }
    std::vector<std::pair<std::string, Recipe>> refs;
    const bool want_refs = m_config.references || m_config.safeguard != "off";
    if (want_refs)
        for (const auto& m : session.pool().names()) refs.emplace_back(m, single_model(m));
    if (m_config.references && session.pool().names().size() > 1) {
        Recipe soup;
        const double w = 1.0 / static_cast<double>(session.pool().names().size());
        for (const auto& m : session.pool().names()) soup[m] = w;
        refs.emplace_back("soup", soup);
    }
    for (size_t i = 0; i < refs.size(); ++i) {
        const auto& [name, recipe] = refs[i];
        PositionId pos;
        pos.kind = PositionId::Kind::reference;
        const CandidateEvent ev{pos, name, recipe, static_cast<int>(i), static_cast<int>(refs.size())};
        m_events.candidate_started(ev);
        if (!j.contains("references") || !j["references"].contains(name)) {
            checkpoint();
            check_inputs();
            session.set_slot(pos, recipe);
            Json e = score_model(session);
            e["recipe"] = recipe_to_json(recipe);
            j["references"][name] = e;
            report.save();
        }
        // The reference point as a candidate result (the GUI shows it next to the merge).
        CandidateResult res;
        const Json& e = j["references"][name];
        for (auto it = e["metrics"].begin(); it != e["metrics"].end(); ++it)
            res.scores[it.key()] = it.value();
        for (auto it = e["accuracy"].begin(); it != e["accuracy"].end(); ++it)
            res.accuracy[it.key()] = it.value();
        m_events.candidate_finished(ev, res);
    }

    // --- safeguard -------------------------------------------------------------
    std::string exported = "merge";
    if (m_config.safeguard != "off") {
        stage(MergeStage::safeguard, "paired bootstrap against the best pool model");
        const auto& names = session.pool().names();
        std::vector<std::vector<double>> table;
        // A model with a non-finite score (NaN weights) is no yardstick.
        std::vector<bool> finite(names.size(), true);
        for (size_t i = 0; i < names.size(); ++i) {
            std::vector<double> row;
            for (const auto& d : session.datasets()) {
                row.push_back(j["references"][names[i]]["metrics"][d.name].get<double>());
                finite[i] = finite[i] && std::isfinite(row.back());
            }
            table.push_back(row);
        }
        if (std::find(finite.begin(), finite.end(), true) == finite.end()) finite.assign(names.size(), true);
        const int best = select_best(table, finite, parse_selection_rule(m_config.effective_selection()));
        const std::string best_name = names[static_cast<size_t>(best)];
        Json s;
        s["best_model"] = best_name;
        s["statistic"] = "mean over datasets of the scaled per-sample score difference (best model - merge)";
        const BootstrapResult sel =
            paired_bootstrap(per_sample(j["final"], session.datasets()),
                             per_sample(j["references"][best_name], session.datasets()),
                             m_config.bootstrap_samples, m_config.seed);
        s["selection"] = bootstrap_to_json(sel);
        std::string verdict = sel.verdict;
        if (session.has_holdout()) {
            const BootstrapResult ho =
                paired_bootstrap(per_sample(j["final"]["heldout"], session.datasets()),
                                 per_sample(j["references"][best_name]["heldout"], session.datasets()),
                                 m_config.bootstrap_samples, m_config.seed + 1);
            s["heldout"] = bootstrap_to_json(ho);
            verdict = ho.verdict;
        }
        s["verdict"] = verdict;
        if (m_config.safeguard == "strict" && verdict != "better") exported = best_name;
        s["exported"] = exported;
        s["mode"] = m_config.safeguard;
        j["safeguard"] = s;
        report.save();
        std::string line = "safeguard: the merge vs the best pool model " + best_name + ": " + verdict +
                           " (selection " + fmt(sel.mean) + " [" + fmt(sel.low) + ", " + fmt(sel.high) + "]";
        if (s.contains("heldout"))
            line += "; held-out " + fmt(s["heldout"]["mean"].get<double>()) + " [" +
                    fmt(s["heldout"]["low"].get<double>()) + ", " + fmt(s["heldout"]["high"].get<double>()) +
                    "]";
        line += ")";
        m_events.log(verdict == "worse" ? LogLevel::warning : LogLevel::info, line);
        if (exported != "merge")
            m_events.log(LogLevel::warning, "safeguard is strict and the merge is not better: exporting " +
                                                exported + " instead of the merge");
    }

    // --- export ---------------------------------------------------------------
    auto timings = [&] {
        return Json{{"search_seconds", std::chrono::duration<double>(t_search - t0).count()},
                    {"total_seconds", std::chrono::duration<double>(Clock::now() - t0).count()},
                    {"evaluations_this_run", res.evaluations},
                    {"ranks", peers ? peers->size() : 1},
                    {"evaluations_rank0", res.evaluations_here}};
    };
    if (m_options.export_model) {
        stage(MergeStage::exporting, "writing the merged model");
        checkpoint();
        check_inputs();
        MergeState out = res.state;
        std::map<std::string, double> expected;
        if (exported != "merge") {
            out.base = exported;
            out.boundary = single_model(exported);
            out.layers.assign(out.layers.size(), single_model(exported));
            out.units.clear();
        }
        const Json& scored = exported == "merge" ? j["final"] : j["references"][exported];
        for (auto it = scored["metrics"].begin(); it != scored["metrics"].end(); ++it)
            expected[it.key()] = it.value();
        const fs::path target = merged_dir;
        j["export"] = {{"folder", target.string()}, {"model", exported}};
        report.save();
        export_merge(session.pool(), out, j, target, sink);
        if (m_options.verify_export) {
            j["export"]["verification"] = verify_export(session, target, expected);
            m_events.log(LogLevel::info, "export verified: the written model scores as the search did");
        }
        j["status"] = "complete";
        j["timings"] = timings();
        report.save();
        write_file_atomic(target / "merge_report.json", dump_json_text(j, 2) + "\n");
    } else {
        j["status"] = "complete";
        j["timings"] = timings();
        report.save();
    }
    stage(MergeStage::done, "merge complete");
}

MergePlan MergeRun::dry_run(bool calibrate) {
    RunSink sink(*this, m_events);
    std::vector<std::string> warnings = m_config.warnings;
    MergeSession session(m_config, m_options.device, &sink, &warnings);
    MergePlan p;
    SearchOptions o = session.search_options();
    p.pool_size = static_cast<int>(o.pool.size());
    p.layers = o.num_layers;
    p.datasets = static_cast<int>(o.datasets.size());
    const std::vector<std::string> units = session.pool().tensor_units(m_config.skip_norm);
    p.tensor_units_per_layer = static_cast<int>(units.size());
    p.evaluations = planned_evaluations(o);
    auto with = [&](std::vector<double> w, bool ta, int sweeps) {
        SearchOptions x = o;
        x.interpolate = std::move(w);
        x.task_arithmetic = ta;
        x.sweeps = sweeps;
        return planned_evaluations(x);
    };
    p.evaluations_original = with({}, false, 1);
    p.evaluations_better = with({0.5}, true, 1);
    p.evaluations_thorough = with({0.5}, true, 3);
    const long long extra =
        (static_cast<long long>(p.pool_size) + 2) * p.datasets * (session.has_holdout() ? 2 : 1);
    std::ostringstream t;
    for (const auto& w : warnings) t << "warning: " << w << "\n";
    t << "pool: " << p.pool_size << " models (compatible), " << p.layers << " layers, "
      << p.tensor_units_per_layer << " tensor units per layer\n";
    if (m_config.tensor_swap) {
        // The tensor positions in the order they are visited (backward: reversed).
        t << "tensor-wise order within a layer" << (o.backward ? " (backward)" : "") << ":";
        for (size_t i = 0; i < units.size(); ++i)
            t << (i ? ", " : " ") << units[o.backward ? units.size() - 1 - i : i];
        t << "\n";
        // The boundary's parts are units of the same list, as in the original's parameter list.
        std::vector<std::string> before, after;
        bool past_layers = false;
        for (const PositionId& pos : tensor_positions(o)) {
            if (!pos.boundary_part())
                past_layers = true;
            else
                (past_layers ? after : before).push_back(pos.unit);
        }
        auto list = [](const std::vector<std::string>& v) {
            std::string s;
            for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
            return s.empty() ? std::string("none") : s;
        };
        t << "tensor-wise boundary units: before the layers " << list(before) << "; after them "
          << list(after) << "\n";
    }
    for (const auto& d : session.datasets())
        t << "dataset " << d.name << " (" << d.mode << "): " << d.selection.size() << " selection, "
          << d.holdout.size() << " held-out samples"
          << (d.skipped ? ", " + std::to_string(d.skipped) + " skipped" : "") << "\n";
    t << memory_plan_text(session.model().memory_plan()) << " on "
      << device_name(session.model().options().device) << "\n";
    t << "search: " << m_config.search << " (selection " << selection_rule_name(o.selection)
      << ", interpolate " << o.interpolate.size() << " weight(s), task arithmetic "
      << (o.task_arithmetic ? "on" : "off") << ", sweeps <= " << o.sweeps << ", racing "
      << (o.racing ? "on" : "off") << ")\n";
    if (o.layer_swap && o.markov > 0) {
        long long most = 0;
        for (int L = 0; L < o.num_layers; ++L) most = std::max(most, window_combinations(o, L));
        t << "layer-wise markov window: each layer chosen with the " << o.markov << " before it"
          << (o.backward ? " (backward: after it)" : "") << ", up to " << most
          << " combinations of pool models per layer\n";
    }
    t << "evaluations (candidate x dataset, upper bound): " << p.evaluations << " + " << extra
      << " for the merge, the reference points and the safeguard\n";
    if (o.tensor_swap && (o.es_svd || o.es_norm)) {
        SearchOptions none = o;
        none.es_svd = none.es_norm = false;
        t << "ES fine-tuning after each tensor decision:";
        if (o.es_svd)
            t << " es_svd " << o.es_svd_generations << " generation(s), sigma " << o.es_svd_sigma << ";";
        if (o.es_norm)
            t << " es_norm " << o.es_norm_generations << " generation(s), sigma " << o.es_norm_sigma << ";";
        t << " " << planned_evaluations(o) - planned_evaluations(none)
          << " of the evaluations above score offspring; population per unit (es_svd/es_norm):";
        std::vector<std::string> all = units;
        all.insert(all.end(), o.boundary_units.begin(), o.boundary_units.end());
        for (size_t i = 0; i < all.size() && i < o.es_svd_population.size(); ++i)
            t << (i ? ", " : " ") << all[i] << " "
              << (o.es_svd_population[i]
                      ? std::to_string(o.es_svd_population[i]) + "/" + std::to_string(o.es_norm_population[i])
                      : std::string("not tuned"));
        t << "\n";
    }
    if (o.racing)
        t << "racing: candidates that cannot win stop after 8 or more samples per dataset, so the "
             "search scores fewer samples than this bound\n";
    // A preset this config's keys cannot be combined with is named, not counted.
    const bool es = o.tensor_swap && (o.es_svd || o.es_norm);
    const bool window = o.layer_swap && o.markov > 0;
    const std::string better_no = window ? "markov takes no blends" : "";
    const std::string thorough_no = window ? "markov takes no blends or sweeps"
                                    : es   ? "ES fine-tuning takes no sweeps"
                                           : "";
    auto count = [](long long n, const std::string& no) {
        return no.empty() ? std::to_string(n) : "refused (" + no + ")";
    };
    t << "by preset: original " << p.evaluations_original << ", better "
      << count(p.evaluations_better, better_no) << ", thorough " << count(p.evaluations_thorough, thorough_no)
      << "\n";
    if (calibrate) {
        PositionId pos;
        pos.kind = PositionId::Kind::base;
        session.set_slot(pos, single_model(o.base_model_name.empty() ? o.pool.front() : o.base_model_name));
        const auto c0 = Clock::now();
        session.score_all(EvalSplit::selection);
        const double per_candidate = std::chrono::duration<double>(Clock::now() - c0).count();
        p.seconds_per_evaluation = per_candidate / std::max(1, p.datasets);
        auto est = [&](long long n) {
            const double s = static_cast<double>(n) * p.seconds_per_evaluation;
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.0f s (%.1f min)", s, s / 60);
            return std::string(buf);
        };
        t << "calibration: " << fmt(p.seconds_per_evaluation)
          << " s per dataset evaluation of the whole model\n";
        t << "estimated time (whole-model evaluations; the prefix cache makes layer candidates cheaper): "
          << est(p.evaluations + extra) << "\n";
        t << "  original " << est(p.evaluations_original + extra) << ", better "
          << (better_no.empty() ? est(p.evaluations_better + extra) : "refused") << ", thorough "
          << (thorough_no.empty() ? est(p.evaluations_thorough + extra) : "refused") << "\n";
    }
    p.text = t.str();
    return p;
}

}  // namespace olm
