// bench_merge_presets: original / better / thorough on generated pools.
// For each pool and preset: the merge's held-out score, the best pool model's,
// the safeguard's paired-bootstrap difference with its 95% interval, the
// evaluations used (candidate x dataset evaluations actually run) and wall time.
//
//   build-merge/tests/merge/bench_merge_presets [WORKDIR]
//
// Pools (tiny Llama, hidden 32, byte-level BPE tokenizer, bigram mode,
// 48 samples of which half held out):
//   planted  truth with every layer corrupted (base) + m<k> = base with truth's layer k
//   mirror   a = truth + noise in every layer, b = 2*truth - a, c = truth + other noise:
//            truth's layers are exactly the averages of a and b
#include "core/merge/config.h"
#include "core/merge/report.h"
#include "core/merge/run.h"
#include "merge/tiny_pool.h"
#include "support/tiny_model.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

using namespace olm;
namespace fs = std::filesystem;

namespace {

class Quiet : public MergeEvents {};

long long evaluations(const nlohmann::json& j) {
    long long n = 0;
    auto count = [&](const nlohmann::json& section) {
        if (section.contains("candidates"))
            for (const auto& c : section["candidates"])
                if (c["status"] != "reused-identical") n += static_cast<long long>(c["scores"].size());
    };
    for (const char* s : {"base_model", "boundary_layers"})
        if (j.contains(s)) count(j[s]);
    auto entries = [&](const nlohmann::json& root) {
        for (const char* s : {"layers", "tensors"})
            if (root.contains(s))
                for (const auto& e : root[s]) count(e);
    };
    entries(j);
    if (j.contains("sweeps"))
        for (const auto& p : j["sweeps"]) entries(p);
    return n;
}

void bench(const testing::PlantedPool& p, const std::string& label, const std::string& extra) {
    for (const std::string preset : {"original", "better", "thorough"}) {
        const fs::path cfg = p.dir / (preset + ".yaml");
        std::ofstream(cfg) << testing::pool_config(p, extra + "search: " + preset + "\noutput_dir: out_" +
                                                          preset + "\nholdout: 0.5\nsafeguard: warn\n");
        const MergeConfig c = load_merge_config(cfg);
        Quiet q;
        const auto t0 = std::chrono::steady_clock::now();
        MergeRun(c, q, {.export_model = false}).run();
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto r = MergeReport::load(c.report_path()).json();
        const std::string d = p.dataset;
        const std::string best = r["safeguard"]["best_model"];
        const auto& h = r["safeguard"]["heldout"];
        std::printf("| %s | %s | %.4g | %s %.4g | %+.3f [%+.3f, %+.3f] %s | %lld | %.1f |\n", label.c_str(),
                    preset.c_str(), r["final"]["heldout"]["metrics"][d].get<double>(), best.c_str(),
                    r["references"][best]["heldout"]["metrics"][d].get<double>(), h["mean"].get<double>(),
                    h["low"].get<double>(), h["high"].get<double>(), h["verdict"].get<std::string>().c_str(),
                    evaluations(r), secs);
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const fs::path work = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "olm-bench-merge";
    fs::remove_all(work);
    std::printf(
        "| pool | search | merge held-out | best pool model held-out | merge vs best (scaled, 95%% CI) | "
        "evaluations | wall s |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    {
        testing::PlantedPool p = testing::make_planted_pool(work / "planted", 4, 0.01, 48);
        bench(p, "planted (4 layers, 5 models)", "base_model_name: base\n");
    }
    {
        testing::PlantedPool p;
        p.dir = work / "mirror";
        const fs::path models = p.dir / "models";
        fs::create_directories(models);
        p.truth = testing::write_truth(models, 4, 31);
        testing::derive_model(p.truth, models / "a", {.seed = 41, .scale = 0.02, .layers = {0, 1, 2, 3}});
        testing::write_mirror_model(p.truth, models / "a", models / "b");
        testing::derive_model(p.truth, models / "c", {.seed = 43, .scale = 0.02, .layers = {0, 1, 2, 3}});
        testing::write_truth_dataset(p.truth, p.dir / "datasets" / p.dataset, 48, 10);
        p.models = {"a", "b", "c"};
        bench(p, "mirror (4 layers, 3 models)", "");
    }
    return 0;
}
