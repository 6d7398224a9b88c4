#include "app/cli/model_arg.h"

#include "core/io/hf_cache.h"
#include "core/util/error.h"

#include <unistd.h>
#include <cstdio>
#include <iostream>

namespace olm::cli {

std::filesystem::path model_folder_arg(const std::string& arg) {
    std::error_code ec;
    if (std::filesystem::exists(arg, ec) || !is_hub_model_name(arg)) return arg;
    const HubModelRef ref = parse_hub_model_name(arg);
    if (auto dir = find_in_hf_cache(ref)) return *dir;
    throw Error(arg + ": no such folder, and not in the Hugging Face cache (" + hf_hub_cache_dir().string() +
                "); fetch it with `olm download " + arg + "`");
}

// Defined outside the anonymous namespace: cmd_merge's progress line uses it too.
std::string clock_text(double s) {
    char buf[32];
    const long t = static_cast<long>(s + 0.5);
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

DownloadBar::DownloadBar() : m_tty(::isatty(2) != 0), m_start(std::chrono::steady_clock::now()) {}

void DownloadBar::update(long long done, long long total) {
    const auto now = std::chrono::steady_clock::now();
    if (m_first < 0) {
        m_first = done;
        m_start = now;
    }
    const double pct = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0.0;
    const double secs = std::chrono::duration<double>(now - m_start).count();
    const double rate = secs > 0.2 ? static_cast<double>(done - m_first) / secs : 0.0;
    char line[160];
    int n = std::snprintf(line, sizeof line, "download %3.0f%% %.1f/%.1f MB", pct, done / 1e6, total / 1e6);
    if (rate > 0) {
        n += std::snprintf(line + n, sizeof line - n, " %.1f MB/s", rate / 1e6);
        if (total > done)
            std::snprintf(line + n, sizeof line - n, " ETA %s", clock_text((total - done) / rate).c_str());
    }
    if (m_tty) {
        const int width = 24;
        const int fill =
            total > 0 ? static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total)) : 0;
        std::cerr << "\r[" << std::string(fill, '#') << std::string(width - fill, '.') << "] " << line
                  << "\033[K" << std::flush;
        m_dirty = true;
    } else {
        const int decile = static_cast<int>(pct / 10);
        if (decile != m_last_decile) {
            m_last_decile = decile;
            std::cerr << line << "\n";
        }
    }
}

void DownloadBar::finish() {
    if (m_tty && m_dirty) std::cerr << "\n";
    m_dirty = false;
}

void DownloadSink::log(LogLevel level, std::string_view message) {
    m_bar.finish();
    std::cerr << (level == LogLevel::warning ? "warning: "
                  : level == LogLevel::error ? "error: "
                                             : "")
              << message << "\n";
}

void DownloadSink::progress(std::string_view stage, long long done, long long total) {
    if (stage == "download") m_bar.update(done, total);
}

}  // namespace olm::cli
