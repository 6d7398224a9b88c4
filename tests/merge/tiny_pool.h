#pragma once
// Tiny real pools for the merge tests, with planted solutions:
//
//   truth   a random tiny Llama (sharp distributions: weight_scale 0.3)
//   base    truth with every layer corrupted (seeded Gaussian noise)
//   m<k>    the base with truth's layer k (every other tensor the base's)
//   dataset truth's own greedy continuations of a few prompts (bigram mode),
//           so the closer a model is to truth, the better it scores
//
// In such a pool exactly one model carries truth's layer k, and the search
// must find it at every position.
#include <ATen/ATen.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace olm::testing {

struct PlantedPool {
    std::filesystem::path dir;             // root (models/, datasets/)
    std::filesystem::path truth;           // the uncorrupted model
    std::vector<std::string> models;       // pool names, pool order (folders under dir/models)
    std::string dataset = "planted.json";  // under dir/datasets
};

// Writes truth; returns its folder. layers: model depth.
std::filesystem::path write_truth(const std::filesystem::path& dir, int layers, uint64_t seed = 11);

// Writes datasets/<name>: `count` prompts with truth's greedy continuations.
void write_truth_dataset(const std::filesystem::path& truth, const std::filesystem::path& file, int count,
                         int new_tokens);

// truth + base + m0..m{layers-1}, and the dataset.
PlantedPool make_planted_pool(const std::filesystem::path& dir, int layers, double noise = 0.01,
                              int samples = 12);

// A config YAML text for a pool under dir (models_dir: models, dataset_dir: datasets).
std::string pool_config(const PlantedPool& p, const std::string& extra);

// dst: src's files with every tensor replaced by fn(name, tensor) (stored in
// src's dtype, one model.safetensors).
void write_model_from(const std::filesystem::path& src, const std::filesystem::path& dst,
                      const std::function<at::Tensor(const std::string&, const at::Tensor&)>& fn);

// dst = 2 * a - b for every tensor (float32 math, stored in a's dtype): the
// mirror image of b around a. Config and tokenizer files copied from a.
void write_mirror_model(const std::filesystem::path& a, const std::filesystem::path& b,
                        const std::filesystem::path& dst);

}  // namespace olm::testing
