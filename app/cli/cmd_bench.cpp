// olm bench NAME [OPTIONS]: dispatches to the benchmarks registered with OLM_BENCHMARK.
#include "app/cli/bench.h"
#include "app/cli/command.h"
#include "core/util/error.h"

#include <algorithm>
#include <iostream>

namespace olm::cli {

std::vector<Benchmark>& benchmarks() {
    static std::vector<Benchmark> list;
    return list;
}

namespace {

std::string bench_list() {
    auto list = benchmarks();
    std::sort(list.begin(), list.end(),
              [](const Benchmark& a, const Benchmark& b) { return a.name < b.name; });
    std::string s;
    for (const auto& b : list) s += "  " + b.name + "  " + b.summary + "\n";
    return s;
}

}  // namespace

}  // namespace olm::cli

OLM_COMMAND("bench", "run a benchmark (olm bench NAME; see olm bench --list)",
            "NAME [OPTIONS]   (olm bench --list)", [](const std::vector<std::string>& args) -> int {
                using namespace olm::cli;
                if (args.empty() || args[0] == "--list") {
                    std::cout << "Benchmarks:\n" << bench_list();
                    return args.empty() ? 2 : 0;
                }
                for (const auto& b : benchmarks()) {
                    if (b.name != args[0]) continue;
                    std::vector<std::string> rest(args.begin() + 1, args.end());
                    if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
                        std::cout << "Usage: olm bench " << b.name << " " << b.usage << "\n";
                        return 0;
                    }
                    return b.run(rest);
                }
                throw olm::Error("unknown benchmark '" + args[0] + "'; available:\n" + bench_list());
            });
