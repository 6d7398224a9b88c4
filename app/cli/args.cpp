#include "app/cli/args.h"

#include "core/util/error.h"

#include <cstdlib>

namespace olm::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
           const std::set<std::string>& flags) {
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a.size() > 2 && a.rfind("--", 0) == 0) {
            std::string name = a.substr(2);
            std::optional<std::string> inline_value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                inline_value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            if (value_options.count(name)) {
                if (inline_value) {
                    m_values[name] = *inline_value;
                } else {
                    if (i + 1 >= argv.size()) throw Error("option --" + name + " needs a value");
                    m_values[name] = argv[++i];
                }
            } else if (flags.count(name)) {
                if (inline_value) throw Error("option --" + name + " takes no value");
                m_flags.insert(name);
            } else {
                throw Error("unknown option --" + name);
            }
        } else {
            m_positional.push_back(a);
        }
    }
}

std::optional<std::string> Args::value(const std::string& name) const {
    auto it = m_values.find(name);
    if (it == m_values.end()) return std::nullopt;
    return it->second;
}

std::string Args::value_or(const std::string& name, const std::string& fallback) const {
    auto v = value(name);
    return v ? *v : fallback;
}

long long Args::int_or(const std::string& name, long long fallback) const {
    auto v = value(name);
    if (!v) return fallback;
    char* end = nullptr;
    long long x = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0') throw Error("option --" + name + " expects an integer, got '" + *v + "'");
    return x;
}

double Args::double_or(const std::string& name, double fallback) const {
    auto v = value(name);
    if (!v) return fallback;
    char* end = nullptr;
    double x = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0') throw Error("option --" + name + " expects a number, got '" + *v + "'");
    return x;
}

std::vector<long long> parse_int_list(const std::string& text) {
    std::vector<long long> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        char* end = nullptr;
        long long x = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0')
            throw Error("expected a comma-separated list of integers, bad element '" + item + "'");
        out.push_back(x);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

}  // namespace olm::cli
