// olm demo: the bundled demo project (a trained tiny pool, three datasets, a merge config).
#include "app/cli/args.h"
#include "app/cli/command.h"
#include "core/demo/demo_project.h"
#include "core/demo/demo_run.h"
#include "core/util/error.h"
#include "core/util/resources.h"
#include "core/util/threads.h"

#include <iomanip>
#include <iostream>

namespace {

// Progress lines for the terminal.
class DemoSink : public olm::ProgressSink {
public:
    void log(olm::LogLevel, std::string_view message) override { std::cerr << message << "\n"; }
    void progress(std::string_view stage, long long done, long long total) override {
        if (stage == "write") return;
        std::cerr << "  " << stage << " " << done << "/" << total << "\r" << (done == total ? "\n" : "")
                  << std::flush;
    }
};

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : text + ",") {
        if (c == ',') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    return out;
}

int run_generate(const std::vector<std::string>& argv) {
    olm::cli::Args args(argv, {"out", "seed", "threads", "base-steps", "specialist-steps", "set"}, {"quick"});
    const auto out = args.value("out");
    if (!out) throw olm::Error("olm demo generate: --out DIR is required");
    olm::demo::DemoOptions o =
        args.flag("quick") ? olm::demo::DemoOptions::quick() : olm::demo::DemoOptions{};
    o.seed = static_cast<uint64_t>(args.int_or("seed", static_cast<long long>(o.seed)));
    o.threads = static_cast<int>(args.int_or("threads", o.threads));
    o.base_steps = static_cast<int>(args.int_or("base-steps", o.base_steps));
    o.specialist_steps = static_cast<int>(args.int_or("specialist-steps", o.specialist_steps));
    // --set KEY=VALUE[,KEY=VALUE...]: any generator option by name.
    if (auto set = args.value("set"))
        for (const std::string& item : split_commas(*set)) {
            const auto eq = item.find('=');
            if (eq == std::string::npos)
                throw olm::Error("olm demo generate --set: expected KEY=VALUE, found \"" + item + "\"");
            o.set(item.substr(0, eq), item.substr(eq + 1));
        }
    DemoSink sink;
    const auto result = olm::demo::generate_demo_project(*out, o, sink);
    std::cout << "demo project written to " << *out << " (training " << std::fixed << std::setprecision(1)
              << result.log.value("train_seconds", 0.0) << " s on " << o.threads << " thread(s))\n";
    const auto& diag = result.log["diagnostics_teacher_forced"];
    std::cout
        << "teacher-forced accuracy on the dataset samples (exact = every answer token is the argmax):\n";
    std::cout << std::left << std::setw(34) << "model";
    for (const char* t : {"arithmetic", "reverse", "story", "story(token)"}) std::cout << std::setw(14) << t;
    std::cout << "\n";
    for (const auto& [name, row] : diag.items()) {
        std::cout << std::setw(34) << name << std::setprecision(3) << std::setw(14)
                  << row["arithmetic"]["exact"].get<double>() << std::setw(14)
                  << row["reverse"]["exact"].get<double>() << std::setw(14)
                  << row["story"]["exact"].get<double>() << std::setw(14)
                  << row["story"]["token"].get<double>() << "\n";
    }
    return 0;
}

// Merge log lines on stderr, so stdout holds the table.
class DemoMergeEvents : public olm::MergeEvents {
public:
    void log(olm::LogLevel level, std::string_view message) override {
        if (level != olm::LogLevel::debug) std::cerr << message << "\n";
    }
    void position_decided(const olm::PositionDecision& d) override {
        std::cerr << "  decided " << d.position.key() << ": " << d.best_name << "\n";
    }
};

int run_merge_demo(const std::vector<std::string>& argv) {
    olm::cli::Args args(argv, {"project", "out", "search", "threads"}, {"fresh"});
    olm::demo::DemoRunOptions o;
    if (auto p = args.value("project")) {
        o.project = *p;
    } else {
        // The bundled project may be installed read-only: use the user's copy.
        const auto copy = olm::writable_demo_dir(olm::demo::bundled_demo_dir());
        o.project = copy.dir;
        if (copy.copied)
            std::cerr << "olm demo: copied the demo project from " << olm::demo::bundled_demo_dir().string()
                      << " to " << copy.dir.string() << "\n";
    }
    o.out = args.value_or("out", "olm-demo-output");
    if (auto s = args.value("search")) o.presets = split_commas(*s);
    o.resume = !args.flag("fresh");
    olm::ThreadSettings ts;  // as the demo's figures were measured: one thread each
    ts.intra_op = static_cast<int>(args.int_or("threads", 1));
    ts.blas = 1;
    const int threads = olm::apply_thread_settings(ts);
    std::cerr << "olm demo: project " << o.project.string() << ", outputs in " << o.out.string() << ", "
              << threads << " thread(s)\n";
    DemoMergeEvents events;
    const auto result = olm::demo::run_demo(o, events);
    std::cout << olm::demo::format_demo_table(result);
    return 0;
}

}  // namespace

OLM_COMMAND("demo", "generate or run the bundled demo project (a trained tiny model pool)",
            "usage: olm demo [--project DIR] [--out DIR] [--search original,better] [--threads N] [--fresh]\n"
            "  Merges the demo pool headless with each search preset (default project: a copy\n"
            "  of the bundled demo in $XDG_DATA_HOME/olm-studio/demo, ~/.local/share/olm-studio/demo,\n"
            "  made on first use) and prints every pool model and each merge on every dataset\n"
            "  (selection and held-out accuracy) with the merged recipe. Outputs (report,\n"
            "  merged model) go to DIR/<preset> (default ./olm-demo-output); a finished run\n"
            "  there is reused unless --fresh. --threads: libtorch threads (default 1).\n"
            "\n"
            "usage: olm demo generate --out DIR [--quick] [--seed N] [--threads N]\n"
            "                         [--base-steps N] [--specialist-steps N] [--set KEY=VALUE,...]\n"
            "  Trains the demo pool (a tiny Llama base and three specialists), writes it as\n"
            "  Hugging Face folders with the datasets and olm_config.yaml into DIR.\n"
            "  --quick: a tiny, seconds-long schedule (for tests). Same seed and thread count\n"
            "  give the same files on the same machine. --set: any generator option by name\n"
            "  (docs/demo.md lists them), e.g. --set layer_locality_weight=8,swap_dropout=0.5\n",
            [](const std::vector<std::string>& args) -> int {
                if (!args.empty() && args[0] == "generate")
                    return run_generate(std::vector<std::string>(args.begin() + 1, args.end()));
                return run_merge_demo(args);
            });
