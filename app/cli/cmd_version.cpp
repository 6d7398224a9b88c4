#include "app/cli/command.h"
#include "core/util/version.h"

#include <iostream>

OLM_COMMAND("version", "print the version and build information", "", [](const std::vector<std::string>&) {
    std::cout << olm::build_info();
    return 0;
});
