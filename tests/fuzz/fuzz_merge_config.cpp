// libFuzzer target: the YAML merge config. Parsing must give a config or
// throw olm::Error; an accepted config must survive the round trip through
// merge_config_to_yaml.
#include "core/merge/config.h"
#include "core/util/error.h"

#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const std::filesystem::path base = "/nonexistent-olm-fuzz";
    try {
        const olm::MergeConfig c = olm::parse_merge_config(text, base, "merge.yaml");
        const std::string again = olm::merge_config_to_yaml(c, base);
        try {
            (void)olm::parse_merge_config(again, base, "merge.yaml (round trip)");
        } catch (const olm::Error& e) {
            std::fprintf(stderr, "an accepted config does not read back: %s\n%s\n", e.what(), again.c_str());
            std::abort();
        }
    } catch (const olm::Error&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception type: %s\n", e.what());
        std::abort();
    }
    return 0;
}
