// olm export --report merge_report.json --out DIR: rebuild a merge from the
// pool and its report (any report, finished or not: the recipe decided so far).
#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/io/export_folder.h"
#include "core/merge/config.h"
#include "core/merge/fingerprint.h"
#include "core/merge/merge_export.h"
#include "core/merge/original_report.h"
#include "core/merge/report.h"
#include "core/merge/session.h"
#include "core/util/error.h"
#include "core/util/threads.h"

#include <iostream>

namespace {
// Export notices (leftovers of interrupted exports removed or left alone) on stderr.
struct StderrSink : olm::ProgressSink {
    void log(olm::LogLevel level, std::string_view m) override {
        std::cerr << (level == olm::LogLevel::warning ? "warning: " : "") << m << "\n";
    }
};
}  // namespace

OLM_COMMAND(
    "export",
    "write the merged model of a merge_report.json (weights, config, tokenizer, model card, mergekit YAML)",
    "--report merge_report.json --out DIR [--config CONFIG.yaml] [--device D] [--no-verify] [--overwrite]\n\n"
    "  The pool and datasets are taken from the report's resolved config (or from --config).\n"
    "  Unless --no-verify, the written model is scored from disk and compared with the report's scores.\n"
    "  DIR must be new, empty or (with --overwrite) hold a previous export of olm, which is replaced;\n"
    "  a folder holding other files is never written to.",
    [](const std::vector<std::string>& argv) -> int {
        olm::cli::Args args(argv, {"report", "out", "config", "device"}, {"no-verify", "overwrite"});
        const auto report_path = args.value("report");
        const auto out = args.value("out");
        if (!report_path || !out) throw olm::Error("--report and --out are required (see olm export --help)");
        const bool overwrite = args.flag("overwrite");
        olm::check_export_replaceable(*out, overwrite, "pass --overwrite");  // before loading anything
        olm::apply_thread_settings();
        olm::MergeReport report = olm::MergeReport::load(*report_path);
        const bool original = olm::is_original_report(report.json());
        if (original && !args.value("config"))
            throw olm::Error(
                *report_path +
                " was written by the original OLM, which keeps no config in its report: pass the "
                "merge's --config (its olm_config.yaml)");
        olm::MergeConfig config;
        if (auto c = args.value("config")) {
            config = olm::load_merge_config(*c);
        } else {
            const auto& j = report.json().at("config");
            config.models = j.at("model_paths").get<std::vector<std::string>>();
            config.base_model_name.clear();
            for (const auto& d : j.at("dataset"))
                config.datasets.push_back({d.at("name").get<std::string>(), d.at("path").get<std::string>(),
                                           d.at("mode").get<std::string>()});
            config.samples = j.at("samples").get<int64_t>();
            config.holdout = j.at("holdout").get<double>();
            config.seed = j.at("seed").get<uint64_t>();
            config.batch_tokens = j.at("batch_tokens").get<int64_t>();
            config.quality_max_new_tokens = j.at("quality_max_new_tokens").get<int64_t>();
            config.min_words = j.at("min_words").get<int64_t>();
            config.forbidden_scripts = j.at("forbidden_scripts").get<std::vector<std::string>>();
            config.chat_template = j.at("chat_template").get<std::string>();
            config.dtype = j.at("dtype").get<std::string>();
            config.device = j.at("device").get<std::string>();
        }
        // Pool names as the report knows them (the original's report: as the config names them).
        const auto names =
            original ? config.model_names() : report.json().at("pool").get<std::vector<std::string>>();
        std::vector<std::string> warnings;
        if (config.models.size() != names.size())
            throw olm::Error("the report's pool has " + std::to_string(names.size()) +
                             " models, the config " + std::to_string(config.models.size()) +
                             "; pass the merge's --config");
        if (report.json().contains("inputs")) {
            for (const auto& c :
                 olm::fingerprint_changes(report.json()["inputs"], olm::input_fingerprint(config, &names)))
                std::cerr << "warning: changed since the report was written: " << c << "\n";
        }
        olm::MergeSession session(config, args.value_or("device", ""), nullptr, &warnings, &names);
        for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
        const olm::MergeState state = olm::report_state(report, session.pool());
        if (original)
            std::cout << "the original OLM's report: rebuilt from its best_model entries (base " << state.base
                      << ", " << state.units.size() << " tensor unit(s) and " << state.boundary_parts.size()
                      << " boundary part(s) taken apart from their layer)\n";
        StderrSink sink;
        olm::MergeExportOptions eo;
        eo.overwrite = overwrite;
        nlohmann::json written = report.json();
        if (original) {  // the model card names the pool and the datasets from these
            written["pool"] = names;
            written["config"] = olm::merge_config_to_json(config);
        }
        const auto res = olm::export_merge(session.pool(), state, written, *out, sink, eo);
        std::cout << "wrote " << res.folder.string() << " (" << res.files.size() << " shard(s))\n";
        if (!args.flag("no-verify") && report.json().contains("final") &&
            report.json()["final"].value("recipe", nlohmann::json()) == report.json()["recipe"]) {
            std::map<std::string, double> expected;
            for (auto it = report.json()["final"]["metrics"].begin();
                 it != report.json()["final"]["metrics"].end(); ++it)
                expected[it.key()] = it.value();
            olm::verify_export(session, res.folder, expected);
            std::cout << "verified: the written model scores as the report says\n";
        }
        return 0;
    });
