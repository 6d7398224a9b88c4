#pragma once
// Model arguments of the CLI (olm inspect, eval, generate, logits, tokenize):
// a folder, or a Hugging Face name org/name[@revision] found in the Hugging
// Face cache. DownloadBar: the terminal progress bar of Hub downloads.
#include "core/util/progress.h"

#include <chrono>
#include <filesystem>
#include <string>

namespace olm::cli {

// arg itself when it exists; a cached snapshot for org/name; otherwise throws
// (naming `olm download` for a name that is not cached).
std::filesystem::path model_folder_arg(const std::string& arg);

// Seconds as "m:ss", or "h:mm:ss" from an hour on (ETAs of progress lines).
std::string clock_text(double seconds);

// "download 45% 12.3/27.1 MB 3.2 MB/s ETA 0:05" on one terminal line (stderr);
// without a terminal, a line every 10 %.
class DownloadBar {
public:
    DownloadBar();
    void update(long long done, long long total);
    void finish();  // ends the bar's line

private:
    bool m_tty;
    bool m_dirty = false;
    int m_last_decile = -1;
    std::chrono::steady_clock::time_point m_start;
    long long m_first = -1;  // bytes at the first update (a resumed file counts from there)
};

// Log lines and the download bar on stderr.
class DownloadSink : public ProgressSink {
public:
    void log(LogLevel level, std::string_view message) override;
    void progress(std::string_view stage, long long done, long long total) override;
    void finish() { m_bar.finish(); }

private:
    DownloadBar m_bar;
};

}  // namespace olm::cli
