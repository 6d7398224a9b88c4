// olm inspect MODEL_DIR... : what a model folder holds, and whether several
// folders can be layer-merged (the first is the base).
#include "app/cli/args.h"
#include "app/cli/command.h"
#include "app/cli/model_arg.h"
#include "core/io/inspect.h"
#include "core/util/error.h"

#include <chrono>
#include <iostream>

namespace {

int run_inspect(const std::vector<std::string>& argv) {
    const olm::cli::Args args(argv, {}, {"verify", "timing", "architectures"});
    const auto& dirs = args.positional();
    if (args.flag("architectures")) {
        std::cout << olm::describe_families();
        if (dirs.empty()) return 0;
    }
    if (dirs.empty()) throw olm::Error("give at least one model folder (olm inspect --help)");
    int status = 0;
    std::vector<olm::ModelFolder> opened;
    for (const auto& dir : dirs) {
        const uint64_t rss_before = olm::resident_bytes();
        const auto t0 = std::chrono::steady_clock::now();
        olm::ModelFolder m;
        try {
            m = olm::ModelFolder::open(olm::cli::model_folder_arg(dir));
        } catch (const olm::Error&) {
            // An architecture outside the table: say what is missing against the closest family.
            try {
                std::cout << olm::explain_unsupported(olm::cli::model_folder_arg(dir));
            } catch (const std::exception&) {
                // the error below says why the folder does not open
            }
            if (dirs.size() == 1) throw;
            std::cout << dir << "\n  cannot be opened (see the pool check below)\n";
            continue;
        }
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const uint64_t rss_after = olm::resident_bytes();
        std::cout << olm::describe_model(m);
        if (args.flag("timing"))
            std::cout << "  opened in      " << ms << " ms; resident memory " << olm::human_bytes(rss_before)
                      << " before, " << olm::human_bytes(rss_after) << " after (tensor data "
                      << olm::human_bytes(m.tensor_bytes()) << ")\n";
        if (args.flag("verify")) {
            const auto r = olm::verify_tensors(m);
            std::cout << "  verify         " << r.tensors << " tensors, " << r.elements
                      << " values: " << r.nan << " NaN, " << r.inf << " Inf\n";
            for (const auto& b : r.bad)
                std::cout << "    " << b.name << ": " << b.nan << " NaN, " << b.inf << " Inf\n";
            if (r.nan || r.inf) status = 3;
        }
        opened.push_back(m);
    }
    if (dirs.size() > 1) {
        std::vector<std::filesystem::path> paths(dirs.begin(), dirs.end());
        const auto verdict = olm::check_pool(paths);
        std::cout << olm::describe_pool(verdict);
        if (!verdict.ok && status == 0) status = 2;
    }
    return status;
}

}  // namespace

OLM_COMMAND("inspect", "show a model folder (or check a pool of them)",
            "MODEL_DIR [MODEL_DIR...] [--verify] [--timing]\n"
            "       olm inspect --architectures\n"
            "  MODEL_DIR: a folder, or org/name[@revision] from the Hugging Face cache\n\n"
            "Prints architecture, layers, hidden size, heads, parameters, dtype, size on disk\n"
            "and shard count of each Hugging Face model folder. Opening reads headers only.\n"
            "With several folders, the first is the base and the pool compatibility verdict\n"
            "follows (tokenizer differences are warnings).\n\n"
            "  --verify   read every tensor once and count NaN/Inf values\n"
            "  --timing   show the open time and resident memory before/after opening\n"
            "  --architectures  list the supported families and their forward features\n\n"
            "A folder of an unsupported architecture gets the closest family and what is\n"
            "missing against it (tensor names on either side).\n\n"
            "Exit status: 0 fine, 1 error, 2 pool not compatible, 3 NaN/Inf found by --verify.",
            run_inspect);
