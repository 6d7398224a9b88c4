#pragma once
// The small interface through which long-running core code reports to its host.
// The GUI adapts it to Qt signals, the CLI to a terminal progress line. Methods
// may be called from a worker thread; implementations must be thread-safe.
#include <string_view>

namespace olm {

enum class LogLevel { debug, info, warning, error };

class ProgressSink {
public:
    virtual ~ProgressSink() = default;
    virtual void log(LogLevel level, std::string_view message) {
        (void)level;
        (void)message;
    }
    // done/total in work units of the current stage; total 0 = unknown.
    virtual void progress(std::string_view stage, long long done, long long total) {
        (void)stage;
        (void)done;
        (void)total;
    }
    // Polled between units of work; returning true makes the work stop
    // (throwing olm::Cancelled) at the next safe point.
    virtual bool cancelled() const { return false; }
};

// A sink that ignores everything; the default for library calls.
ProgressSink& null_sink();

}  // namespace olm
