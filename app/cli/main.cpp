// olm: the headless OLM Studio command line.
#include "app/cli/command.h"
#include "core/util/error.h"
#include "core/util/version.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>

namespace olm::cli {

std::vector<Command>& commands() {
    static std::vector<Command> list;
    return list;
}

namespace {

void print_help() {
    std::cout << "olm " << version() << " - Optimized Layer Merging for Hugging Face language models\n\n"
              << "Usage: olm COMMAND [ARGS...]\n       olm COMMAND --help\n\nCommands:\n";
    auto list = commands();
    std::sort(list.begin(), list.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
    size_t width = 0;
    for (const auto& c : list) width = std::max(width, c.name.size());
    for (const auto& c : list)
        std::cout << "  " << c.name << std::string(width - c.name.size() + 3, ' ') << c.summary << "\n";
    std::cout
        << "\nOptions:\n  --version   print the version and build information\n  --help      this text\n";
}

}  // namespace
}  // namespace olm::cli

int main(int argc, char** argv) {
    using namespace olm::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print_help();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version" || args[0] == "-V") {
        std::cout << olm::build_info();
        return 0;
    }
    for (const auto& c : commands()) {
        if (c.name != args[0]) continue;
        std::vector<std::string> rest(args.begin() + 1, args.end());
        if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
            std::cout << "Usage: olm " << c.name << " " << c.usage << "\n";
            return 0;
        }
        try {
            return c.run(rest);
        } catch (const olm::Cancelled&) {
            std::cerr << "olm " << c.name << ": cancelled\n";
            return 130;
        } catch (const std::exception& e) {
            std::cerr << "olm " << c.name << ": error: " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "olm: unknown command '" << args[0] << "' (see olm --help)\n";
    return 2;
}
