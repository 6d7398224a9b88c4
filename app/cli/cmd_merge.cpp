// olm merge CONFIG.yaml: the OLM search, report and export from the command line.
#include "app/cli/args.h"
#include "app/cli/command.h"
#include "app/cli/model_arg.h"
#include "core/dist/peers.h"
#include "core/merge/config.h"
#include "core/merge/run.h"
#include "core/util/error.h"
#include "core/util/memory_size.h"
#include "core/util/threads.h"

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

// A one-line live display on a terminal; plain log lines otherwise.
class TerminalEvents : public olm::MergeEvents {
public:
    explicit TerminalEvents(bool tty) : m_tty(tty) {}
    void set_quiet(bool quiet) { m_quiet = quiet; }
    void log(olm::LogLevel level, std::string_view message) override {
        clear_line();
        const char* tag = level == olm::LogLevel::warning ? "warning: "
                          : level == olm::LogLevel::error ? "error: "
                                                          : "";
        std::cout << tag << message << std::endl;
    }
    void stage_changed(olm::MergeStage s, std::string_view) override { m_stage = olm::stage_name(s); }
    // Pool models fetched from the Hub before the search.
    void progress(std::string_view stage, long long done, long long total) override {
        if (stage == "download") m_download.update(done, total);
    }
    void candidate_finished(const olm::CandidateEvent& c, const olm::CandidateResult& r) override {
        if (m_tty || m_quiet) return;
        std::cout << "candidate " << c.position.key()
                  << (c.position.pass > 1 ? " pass " + std::to_string(c.position.pass) : "") << " ["
                  << c.index + 1 << "/" << c.count << "] " << c.name << ": "
                  << olm::candidate_status_name(r.status);
        for (const auto& [d, s] : r.scores) std::cout << " " << d << "=" << s;
        if (!r.reason.empty()) std::cout << " (" << r.reason << ")";
        std::cout << std::endl;
    }
    void position_decided(const olm::PositionDecision& d) override {
        if (m_quiet) return;
        clear_line();
        std::cout << "decided " << d.position.key()
                  << (d.position.pass > 1 ? " pass " + std::to_string(d.position.pass) : "") << ": "
                  << d.best_name << " (" << olm::recipe_text(d.recipe) << ")"
                  << (d.changed ? "" : " unchanged") << std::endl;
    }
    void merge_progress(const olm::MergeProgress& p) override {
        if (!m_tty) return;
        std::string line =
            "[" + m_stage + "] " + p.detail + "  " + std::to_string(p.done) + "/" + std::to_string(p.total);
        if (p.eta_s) line += "  ETA " + olm::cli::clock_text(*p.eta_s);
        if (line.size() > 150) line = line.substr(0, 150);
        std::cout << "\r" << line << "\033[K" << std::flush;
        m_dirty = true;
    }
    void clear_line() {
        if (m_tty && m_dirty) std::cout << "\r\033[K";
        m_dirty = false;
    }

private:
    bool m_tty;
    bool m_quiet = false;
    bool m_dirty = false;
    olm::cli::DownloadBar m_download;
    std::string m_stage = "loading";
};

}  // namespace

OLM_COMMAND("merge", "run an OLM merge from a YAML config (search, merge_report.json, export)",
            "CONFIG.yaml [--resume] [--force] [--device cpu|cuda[:N]] [--dry-run] [--no-export] [--search "
            "original|better|thorough] [--threads N] [--device-memory SIZE]\n\n"
            "  --resume      continue from output_dir/merge_report.json (also: load_merge_report: true)\n"
            "  --force       resume even when the config or the inputs (dataset files, pool weights)\n"
            "                changed since the report was written\n"
            "  --device D    override the config's device\n"
            "  --dry-run     check config, pool and datasets, print the plan and an estimated time\n"
            "  --no-export   search only; export later with `olm export --report ...`\n"
            "  --search P    preset: original (default) | better | thorough (explicit keys override it)\n"
            "  --threads N   CPU threads (overrides the config's threads; default: docs/bench-engine.md)\n"
            "  --device-memory SIZE  weights the working model may keep on the device (20GiB, 80GB,\n"
            "                auto, 0 = no limit; overrides the config's device_memory): the layers that\n"
            "                do not fit stay in host memory and are streamed (docs/merge.md)\n\n"
            "Ctrl-C saves the state and exits with 130; `--resume` continues where it stopped.\n"
            "The merged model is written to output_dir/merged (replacing only a previous export of olm).\n"
            "One run per output_dir: a second one is refused while output_dir/.olm.lock is held.\n"
            "Distributed: under torchrun (--no-python), srun, or with RANK, WORLD_SIZE, MASTER_ADDR and\n"
            "MASTER_PORT set, the ranks share every position's candidates and rank 0 writes the report\n"
            "and the export (docs/distributed.md).",
            [](const std::vector<std::string>& argv) -> int {
                olm::cli::Args args(argv, {"device", "search", "threads", "device-memory"},
                                    {"resume", "force", "dry-run", "no-export"});
                if (args.positional().size() != 1)
                    throw olm::Error("expected one CONFIG.yaml (see olm merge --help)");
                olm::MergeConfig config = olm::load_merge_config(args.positional()[0]);
                if (args.value("threads")) {
                    const long long n = args.int_or("threads", 0);
                    if (n < 1) throw olm::Error("--threads: expected a count of at least 1");
                    config.threads = n;
                }
                if (const auto m = args.value("device-memory")) {
                    try {
                        config.device_memory = *m == "0" ? 0 : olm::parse_memory_size(*m);
                    } catch (const olm::Error& e) {
                        throw olm::Error(std::string("--device-memory: ") + e.what());
                    }
                }
                // A distributed launch (torchrun, srun, or RANK/WORLD_SIZE/MASTER_ADDR).
                const auto launch = olm::launch_from_env([](const char* n) { return std::getenv(n); });
                int threads = static_cast<int>(config.threads);
                // Ranks on one host share its cores (unless the thread count is given).
                if (launch && threads <= 0 && launch->local_world_size > 1 &&
                    !std::getenv("OPENBLAS_NUM_THREADS"))
                    threads = std::max(
                        1, static_cast<int>(std::thread::hardware_concurrency()) / launch->local_world_size);
                olm::apply_thread_settings(olm::cpu_threads(threads));
                if (auto s = args.value("search")) {
                    if (*s != "original" && *s != "better" && *s != "thorough")
                        throw olm::Error("--search: '" + *s + "' is not one of original, better, thorough");
                    config.search = *s;
                }
                olm::MergeRunOptions opt;
                opt.resume = args.flag("resume");
                opt.force = args.flag("force");
                opt.device = args.value_or("device", "");
                opt.export_model = !args.flag("no-export");
                std::unique_ptr<olm::StorePeers> peers;
                if (launch && !args.flag("dry-run")) {
                    opt.device = olm::rank_device(opt.device.empty() ? config.device : opt.device, *launch);
                    peers = std::make_unique<olm::StorePeers>(*launch);
                    opt.peers = peers.get();
                }
                // Ranks other than 0 print their log lines, not every candidate and decision.
                TerminalEvents events(::isatty(1) != 0 && (!launch || launch->rank == 0));
                events.set_quiet(launch && launch->rank != 0);
                olm::MergeRun run(config, events, opt);
                if (args.flag("dry-run")) {
                    const olm::MergePlan plan = run.dry_run(true);
                    std::cout << plan.text;
                    return 0;
                }
                g_interrupted = 0;
                auto previous = std::signal(SIGINT, on_sigint);
                std::atomic<bool> done{false};
                std::thread watcher([&] {
                    while (!done.load()) {
                        if (g_interrupted) {
                            run.cancel();
                            break;
                        }
                        std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    }
                });
                int rc = 0;
                try {
                    run.run();
                } catch (const olm::Cancelled&) {
                    events.clear_line();
                    if (peers) peers->abort("interrupted");
                    std::cerr << "olm merge: interrupted; the state is saved in "
                              << run.report_path().string() << " (continue with --resume)\n";
                    rc = 130;
                } catch (const std::exception& e) {
                    if (peers) peers->abort(e.what());
                    done.store(true);
                    watcher.join();
                    std::signal(SIGINT, previous);
                    events.clear_line();
                    throw;
                } catch (...) {
                    done.store(true);
                    watcher.join();
                    std::signal(SIGINT, previous);
                    events.clear_line();
                    throw;
                }
                done.store(true);
                watcher.join();
                std::signal(SIGINT, previous);
                events.clear_line();
                if (rc == 0 && launch && launch->rank != 0)
                    std::cout << "rank " << launch->rank << " of " << launch->world_size
                              << ": search done; rank 0 writes " << run.report_path().string() << "\n";
                else if (rc == 0)
                    std::cout << "merge complete: " << run.report_path().string() << "\n";
                return rc;
            });
