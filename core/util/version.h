#pragma once
#include <string>

namespace olm {

// "0.1.0"
std::string version();
// Multi-line description of the build: version, libtorch version, CUDA availability.
std::string build_info();

}  // namespace olm
