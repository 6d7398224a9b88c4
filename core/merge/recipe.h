#pragma once
// What sits in one slot of the working model (the boundary, a layer, or one
// tensor unit of a layer): a linear combination of pool models,
// {model_name: coefficient}. The base's own layer is {base: 1}; a blend of the
// current choice and a candidate is {a: 0.5, b: 0.5}; task arithmetic is
// current + (candidate - base). Blended tensors are sum(coeff * tensor)
// computed in float32 and cast to the compute / output dtype.
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace olm {

using Recipe = std::map<std::string, double>;  // ordered by model name: stable text and hashing

// {name: 1}
Recipe single_model(const std::string& name);

// Drops coefficients whose magnitude is below 1e-12 and rounds the rest to
// 1e-12, so recipes reached by different arithmetic compare equal.
Recipe normalized(const Recipe& r);

// a*x + b*y, normalized.
Recipe combine(const Recipe& x, double a, const Recipe& y, double b);

// The single model when the recipe is {name: 1}, else "".
std::string single_model_name(const Recipe& r);

bool same_recipe(const Recipe& a, const Recipe& b);

// "ft_1" or "0.5*ft_1 + 0.5*base" (deterministic, name order).
std::string recipe_text(const Recipe& r);

// A window of consecutive layers (the markov window search) as one recipe:
// "<layer>:<model>" -> coefficient, so a window candidate is compared,
// recorded and resumed like any other. window_layers inverts it (throws
// olm::Error on a key without a layer).
Recipe window_recipe(const std::map<int, Recipe>& layers);
std::map<int, Recipe> window_layers(const Recipe& r);

nlohmann::json recipe_to_json(const Recipe& r);
Recipe recipe_from_json(const nlohmann::json& j);

}  // namespace olm
