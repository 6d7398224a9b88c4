// Precompiled header shared by every libtorch-using target (see cmake/OlmHelpers.cmake).
// ATen + the small torch/types.h layer, never <torch/torch.h>: that one drags in
// autograd/optim/nn and doubles compile time.
#pragma once
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
