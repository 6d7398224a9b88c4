#pragma once
// Errors are exceptions with context (file, tensor, sample, expected vs found),
// caught only at the edges: the CLI's main and the GUI worker's slot.
#include <stdexcept>
#include <string>

namespace olm {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown when a run is cancelled through a ProgressSink; not a failure.
class Cancelled : public Error {
public:
    Cancelled() : Error("cancelled") {}
};

}  // namespace olm
