#include "app/cli/command.h"
#include "core/merge/config_keys.h"

#include <iostream>
#include <string>

OLM_COMMAND("config-reference", "print every merge config key (type, default, meaning) as markdown tables",
            "usage: olm config-reference [--heading N]\n"
            "  Prints the config reference that README.md and docs/merge.md hold: the original OLM's keys,\n"
            "  the new keys and the search options, one table each under a heading of N '#' (default 4).\n",
            [](const std::vector<std::string>& args) {
                int heading = 4;
                for (size_t i = 0; i < args.size(); ++i) {
                    if (args[i] == "--heading" && i + 1 < args.size()) {
                        const std::string& v = args[++i];
                        if (v.size() != 1 || v[0] < '1' || v[0] > '6') {
                            std::cerr << "olm config-reference: --heading expects 1..6, got '" << v << "'\n";
                            return 2;
                        }
                        heading = v[0] - '0';
                    } else {
                        std::cerr << "olm config-reference: unknown argument '" << args[i] << "'\n";
                        return 2;
                    }
                }
                std::cout << olm::config_reference_markdown(heading);
                return 0;
            });
