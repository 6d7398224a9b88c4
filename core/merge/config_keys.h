#pragma once
// Every key of a merge config in one table: its name, where it comes from (the
// original OLM, or OLM Studio), its type, its default and what it means. The
// loader's set of known keys (and the nearest-key hint for an unknown one) and
// the config reference of README.md and docs/merge.md (`olm config-reference`;
// test_config checks the docs hold it byte for byte) come from here. Reading a
// key's value, hashing it, saving it and the GUI's widgets are still code per key.
#include <string>
#include <vector>

namespace olm {

enum class ConfigKeySection {
    original,  // the original OLM's olm_config.yaml (olm.py, model_scanner.py)
    added,     // OLM Studio's
    search,    // OLM Studio's search options beyond the original
};

struct ConfigKey {
    const char* name;
    ConfigKeySection section;
    const char* type;          // as the reference writes it (markdown)
    const char* default_text;  // likewise
    const char* meaning;       // likewise
};

// In reference order: the original's keys, the new ones, the search options.
const std::vector<ConfigKey>& config_key_table();
const ConfigKey* find_config_key(const std::string& name);  // nullptr when unknown

// The config reference as markdown: per section a heading of `heading_level`
// '#' and the table | key | type | default | meaning |.
std::string config_reference_markdown(int heading_level = 4);

}  // namespace olm
