#pragma once
// Can these model folders be layer-merged? The first folder is the base; each
// other model must have the same architecture, layer count, vocabulary size,
// attention layout and the same shape for every boundary and per-layer tensor.
// Tokenizer differences (vocab/merges/added tokens) are warnings, not errors.
#include "core/io/model_folder.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace olm {

struct PoolMember {
    std::filesystem::path path;
    bool ok = false;
    std::string reason;  // why not, e.g. "layer 3 mlp.up_proj is [11008, 4096], base has [13824, 5120]"
    std::vector<std::string> warnings;  // e.g. tokenizer differs from the base
};

struct PoolVerdict {
    bool ok = false;                  // every member ok
    std::vector<PoolMember> members;  // in the order given; members[0] is the base
};

PoolVerdict check_pool(const std::vector<std::filesystem::path>& folders);
PoolVerdict check_pool(const std::vector<ModelFolder>& models);

// "" when other can be layer-merged with base, else the first reason it cannot.
std::string incompatibility(const ModelFolder& base, const ModelFolder& other);
// Non-blocking differences: rope/norm parameters that differ.
std::vector<std::string> config_warnings(const ModelFolder& base, const ModelFolder& other);
// Why other's tokenizer differs from base's, or nullopt if they agree.
std::optional<std::string> tokenizer_difference(const std::filesystem::path& base,
                                                const std::filesystem::path& other);

}  // namespace olm
