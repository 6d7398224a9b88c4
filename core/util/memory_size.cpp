#include "core/util/memory_size.h"

#include "core/util/error.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>

namespace olm {

std::string size_text(int64_t bytes) {
    char buf[32];
    const double b = static_cast<double>(bytes);
    if (b >= 1024.0 * 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024)
        std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
    else
        std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
    return buf;
}

int64_t parse_memory_size(const std::string& text) {
    std::string t = text;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t == "auto") return -1;
    size_t end = 0;
    double v = 0;
    try {
        v = std::stod(t, &end);
    } catch (const std::exception&) {
        end = 0;
    }
    std::string unit = t.substr(end);
    while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
    double scale = 0;
    if (unit.empty() || unit == "b")
        scale = 1;
    else if (unit == "k" || unit == "kib")
        scale = 1024.0;
    else if (unit == "kb")
        scale = 1e3;
    else if (unit == "m" || unit == "mib")
        scale = 1024.0 * 1024;
    else if (unit == "mb")
        scale = 1e6;
    else if (unit == "g" || unit == "gib")
        scale = 1024.0 * 1024 * 1024;
    else if (unit == "gb")
        scale = 1e9;
    else if (unit == "t" || unit == "tib")
        scale = 1024.0 * 1024 * 1024 * 1024;
    else if (unit == "tb")
        scale = 1e12;
    if (end == 0 || scale == 0 || !(v > 0) || v * scale > 9e18)
        throw Error("memory size '" + text +
                    "': expected a positive size such as 20GiB, 512MiB, 80GB, or auto");
    return static_cast<int64_t>(v * scale);
}

}  // namespace olm
