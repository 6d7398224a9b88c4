#pragma once
// Subcommand registry of the `olm` CLI. A subcommand is one file,
// app/cli/cmd_<name>.cpp, holding a static OLM_COMMAND(...) registration.
#include <functional>
#include <string>
#include <vector>

namespace olm::cli {

struct Command {
    std::string name;
    std::string summary;  // one line for `olm --help`
    std::string usage;    // full help for `olm NAME --help`
    std::function<int(const std::vector<std::string>& args)> run;
};

std::vector<Command>& commands();

struct Registrar {
    explicit Registrar(Command c) { commands().push_back(std::move(c)); }
};

}  // namespace olm::cli

#define OLM_CLI_CONCAT_(a, b) a##b
#define OLM_CLI_CONCAT(a, b) OLM_CLI_CONCAT_(a, b)
#define OLM_COMMAND(...)                                            \
    static ::olm::cli::Registrar OLM_CLI_CONCAT(olm_cli_registrar_, \
                                                __LINE__)(::olm::cli::Command{__VA_ARGS__})
