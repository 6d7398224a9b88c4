#include "core/util/version.h"

#include <olm_version.h>

#include <ATen/Context.h>
#include <torch/version.h>

namespace olm {

std::string version() { return OLM_VERSION_STRING; }

std::string build_info() {
    std::string s = "olm " + version() + "\n";
    s += "libtorch " + std::string(TORCH_VERSION) + "\n";
    s += std::string("CUDA: ") + (at::hasCUDA() ? "available" : "not available") + "\n";
    return s;
}

}  // namespace olm
