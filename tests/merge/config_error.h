#pragma once
// The error a merge config's text gets from the loader ("" when it loads), for
// tests of what the loader refuses and how it names it.
#include <string>

#include "core/merge/config.h"
#include "core/util/error.h"

namespace olm::testing {

inline std::string config_error(const std::string& text, const std::string& dir) {
    try {
        parse_merge_config(text, dir, "olm_config.yaml");
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

}  // namespace olm::testing
