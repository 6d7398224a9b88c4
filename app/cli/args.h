#pragma once
// Minimal argument parser for subcommands: positionals, `--key value`,
// `--key=value` and boolean `--flag`. Unknown options are an error that names them.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace olm::cli {

class Args {
public:
    // value_options: options that take a value; flags: boolean options.
    Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
         const std::set<std::string>& flags);

    const std::vector<std::string>& positional() const { return m_positional; }
    bool flag(const std::string& name) const { return m_flags.count(name) > 0; }
    std::optional<std::string> value(const std::string& name) const;
    std::string value_or(const std::string& name, const std::string& fallback) const;
    long long int_or(const std::string& name, long long fallback) const;
    double double_or(const std::string& name, double fallback) const;

private:
    std::vector<std::string> m_positional;
    std::set<std::string> m_flags;
    std::map<std::string, std::string> m_values;
};

// "1,2,3" -> {1,2,3}; throws olm::Error naming the bad element.
std::vector<long long> parse_int_list(const std::string& text);

}  // namespace olm::cli
