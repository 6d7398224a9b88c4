#pragma once
// `olm bench NAME`: each area registers its benchmark from its own file
// (app/cli/cmd_bench_<name>.cpp) with
//   OLM_BENCHMARK("name", "one-line summary", "usage after `olm bench name`", run);
// cmd_bench.cpp dispatches. A benchmark is a Command in its own registry.
#include "app/cli/command.h"

#include <vector>

namespace olm::cli {

using Benchmark = Command;
std::vector<Benchmark>& benchmarks();

struct BenchmarkRegistrar {
    explicit BenchmarkRegistrar(Benchmark b) { benchmarks().push_back(std::move(b)); }
};

}  // namespace olm::cli

#define OLM_BENCHMARK(...)                                                     \
    static ::olm::cli::BenchmarkRegistrar OLM_CLI_CONCAT(olm_bench_registrar_, \
                                                         __LINE__)(::olm::cli::Benchmark{__VA_ARGS__})
