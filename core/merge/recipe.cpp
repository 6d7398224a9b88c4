#include "core/merge/recipe.h"

#include "core/util/error.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace olm {

Recipe single_model(const std::string& name) { return Recipe{{name, 1.0}}; }

Recipe normalized(const Recipe& r) {
    Recipe out;
    for (const auto& [name, c] : r) {
        if (std::abs(c) < 1e-12) continue;
        out[name] = std::round(c * 1e12) / 1e12;
    }
    return out;
}

Recipe combine(const Recipe& x, double a, const Recipe& y, double b) {
    Recipe out;
    for (const auto& [name, c] : x) out[name] += a * c;
    for (const auto& [name, c] : y) out[name] += b * c;
    return normalized(out);
}

std::string single_model_name(const Recipe& r) {
    if (r.size() == 1 && r.begin()->second == 1.0) return r.begin()->first;
    return "";
}

bool same_recipe(const Recipe& a, const Recipe& b) { return normalized(a) == normalized(b); }

Recipe window_recipe(const std::map<int, Recipe>& layers) {
    Recipe out;
    for (const auto& [L, r] : layers)
        for (const auto& [name, c] : r) out[std::to_string(L) + ":" + name] = c;
    return out;
}

std::map<int, Recipe> window_layers(const Recipe& r) {
    std::map<int, Recipe> out;
    for (const auto& [key, c] : r) {
        const auto colon = key.find(':');
        if (colon == std::string::npos || colon == 0 || colon > 6 ||
            key.find_first_not_of("0123456789") != colon)
            throw Error("window recipe: '" + key + "' is not <layer>:<model>");
        out[std::stoi(key.substr(0, colon))][key.substr(colon + 1)] = c;
    }
    return out;
}

std::string recipe_text(const Recipe& r) {
    if (auto s = single_model_name(r); !s.empty()) return s;
    std::string out;
    for (const auto& [name, c] : r) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", std::abs(c));
        if (!out.empty())
            out += c < 0 ? " - " : " + ";
        else if (c < 0)
            out += "-";
        out += std::string(buf) + "*" + name;
    }
    return out.empty() ? "0" : out;
}

nlohmann::json recipe_to_json(const Recipe& r) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, c] : r) j[name] = c;
    return j;
}

Recipe recipe_from_json(const nlohmann::json& j) {
    if (!j.is_object()) throw Error("recipe: expected an object {model: coefficient}, found " + j.dump());
    Recipe r;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (!it.value().is_number())
            throw Error("recipe: coefficient of '" + it.key() + "' is not a number: " + it.value().dump());
        r[it.key()] = it.value().get<double>();
    }
    return r;
}

}  // namespace olm
