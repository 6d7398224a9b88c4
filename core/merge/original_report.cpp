#include "core/merge/original_report.h"

#include "core/merge/recipe.h"
#include "core/model/weights.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace olm {

using Json = nlohmann::json;

namespace {

std::string pool_text(const std::vector<std::string>& pool) {
    std::string s;
    for (const auto& m : pool) s += (s.empty() ? "" : ", ") + m;
    return s;
}

// entry["best_model"] (or entry[key]), checked against the pool.
std::string model_of(const Json& entry, const char* key, const std::string& where,
                     const std::vector<std::string>& pool) {
    if (!entry.is_object() || !entry.contains(key) || !entry[key].is_string())
        throw Error("original OLM report: " + where + " has no \"" + key + "\" (a model name)");
    const std::string m = entry[key].get<std::string>();
    if (std::find(pool.begin(), pool.end(), m) == pool.end())
        throw Error("original OLM report: " + where + " names '" + m + "', which is not in the pool (" +
                    pool_text(pool) + ")");
    return m;
}

// "model.layers.3.self_attn.q_proj.weight" -> "model.layers.3.self_attn.q_proj": the module
// the original swaps as one unit (every parameter named <module>.weight / <module>.bias).
std::string module_of(const std::string& tensor) {
    for (const char* suffix : {".weight", ".bias"}) {
        const std::string s = suffix;
        if (tensor.size() > s.size() && tensor.compare(tensor.size() - s.size(), s.size(), s) == 0)
            return tensor.substr(0, tensor.size() - s.size());
    }
    return tensor;
}

// Module -> where its tensors live here: a layer unit ("3.self_attn.q_proj") or a boundary part.
struct Target {
    int layer = -1;
    std::string key;
};

std::map<std::string, Target> module_targets(const Architecture& arch, const ModelSpec& spec) {
    std::map<std::string, Target> modules;
    for (const ExpectedTensor& t : all_tensors(arch, spec)) {
        const int layer = layer_of(arch, t.name);
        modules[module_of(t.name)] = {layer, layer < 0 ? t.unit : std::to_string(layer) + "." + t.unit};
    }
    return modules;
}

const Target& target_of(const std::map<std::string, Target>& modules, const std::string& tensor,
                        const Architecture& arch, const ModelSpec& spec) {
    auto m = modules.find(module_of(tensor));
    if (m == modules.end())
        throw Error("original OLM report: tensors[\"" + tensor + "\"] is not a tensor of " + arch.name +
                    " (expected names such as " +
                    (spec.num_hidden_layers > 0 ? layer_tensors(arch, spec, 0).front().name : std::string()) +
                    ")");
    return m->second;
}

int layer_index(const std::string& key, int num_layers) {
    int L = -1;
    if (!key.empty() && key.size() < 7 && std::all_of(key.begin(), key.end(), ::isdigit)) L = std::stoi(key);
    if (L < 0 || L >= num_layers)
        throw Error("original OLM report: layers[\"" + key + "\"] is not a layer of the model (0.." +
                    std::to_string(num_layers - 1) + ")");
    return L;
}

// metrics {dataset: {model: score}} -> candidates {model: {recipe, status, scores, reason}}.
// A non-finite score is how the original marks a degraded (or failed) candidate.
Json candidates_of(const Json& metrics) {
    Json out = Json::object();
    if (!metrics.is_object()) return out;
    for (auto d = metrics.begin(); d != metrics.end(); ++d) {
        if (!d->is_object()) continue;
        for (auto m = d->begin(); m != d->end(); ++m) {
            Json& c = out[m.key()];
            if (c.is_null()) {
                c = {{"recipe", recipe_to_json(single_model(m.key()))},
                     {"status", "evaluated"},
                     {"scores", Json::object()}};
            }
            const double v = m->is_number() ? m->get<double>() : std::numeric_limits<double>::infinity();
            c["scores"][d.key()] = v;  // Infinity too: it ranks the candidate last there, as in the original
            if (!std::isfinite(v) && c["status"] == "evaluated") {
                c["status"] = "disqualified";
                c["reason"] = "no finite score on " + d.key() +
                              " in the original OLM's report (degraded under improve_all, or its evaluation "
                              "failed)";
            }
        }
    }
    return out;
}

}  // namespace

bool is_original_report(const Json& report) {
    if (!report.is_object() || report.contains("version")) return false;
    auto b = report.find("base_model");
    return b != report.end() && b->is_object() && b->contains("name") && (*b)["name"].is_string();
}

MergeState original_report_state(const Json& report, const std::vector<std::string>& pool,
                                 const Architecture& arch, const ModelSpec& spec) {
    if (!is_original_report(report))
        throw Error(
            "not a merge report of the original OLM (it has a \"version\" key or no base_model name)");
    const int num_layers = static_cast<int>(spec.num_hidden_layers);
    MergeState st;
    st.base = model_of(report["base_model"], "name", "base_model", pool);
    st.boundary = single_model(st.base);
    if (auto b = report.find("boundary_layers"); b != report.end() && b->is_object() && b->contains("name"))
        st.boundary = single_model(model_of(*b, "name", "boundary_layers", pool));
    st.layers.assign(static_cast<size_t>(num_layers), single_model(st.base));

    if (auto layers = report.find("layers"); layers != report.end()) {
        if (!layers->is_object()) throw Error("original OLM report: \"layers\" is not an object");
        for (auto it = layers->begin(); it != layers->end(); ++it)
            st.layers[static_cast<size_t>(layer_index(it.key(), num_layers))] =
                single_model(model_of(it.value(), "best_model", "layers[\"" + it.key() + "\"]", pool));
    }

    if (auto tensors = report.find("tensors"); tensors != report.end()) {
        if (!tensors->is_object()) throw Error("original OLM report: \"tensors\" is not an object");
        const auto modules = module_targets(arch, spec);
        // Each entry names one module (its weight tensor) and replaces that module.
        for (auto it = tensors->begin(); it != tensors->end(); ++it) {
            const Target& t = target_of(modules, it.key(), arch, spec);
            const Recipe r =
                single_model(model_of(it.value(), "best_model", "tensors[\"" + it.key() + "\"]", pool));
            if (t.layer < 0)
                st.boundary_parts[t.key] = r;
            else
                st.units[t.key] = r;
        }
    }
    // Overrides equal to what they override say nothing.
    for (auto it = st.boundary_parts.begin(); it != st.boundary_parts.end();)
        it = same_recipe(it->second, st.boundary) ? st.boundary_parts.erase(it) : std::next(it);
    for (auto it = st.units.begin(); it != st.units.end();) {
        const int L = std::stoi(it->first.substr(0, it->first.find('.')));
        it = same_recipe(it->second, st.layers[static_cast<size_t>(L)]) ? st.units.erase(it) : std::next(it);
    }
    return st;
}

MergeState report_state(const MergeReport& report, const MergePool& pool) {
    if (!is_original_report(report.json())) return report.state(pool.num_layers());
    const ModelFolder& base = pool.first();
    return original_report_state(report.json(), pool.names(), base.architecture(), pool.spec());
}

Json import_original_report(const Json& report, const SearchOptions& o, const MergePool& pool) {
    const ModelSpec& spec = pool.spec();
    const Architecture& arch = pool.first().architecture();
    // Validates every entry against the pool and the model.
    (void)original_report_state(report, pool.names(), arch, spec);
    Json out = Json::object();
    auto fixed = [](Json section, const std::string& winner, bool whole) {
        section["imported"] = true;
        section["recipe"] = recipe_to_json(single_model(winner));
        if (!whole) section["candidates"] = candidates_of(section.value("metrics", Json::object()));
        return section;
    };
    const Json& base = report["base_model"];
    Json b = fixed(base, base["name"].get<std::string>(), true);
    b["candidates"] = {{base["name"].get<std::string>(),
                        {{"recipe", recipe_to_json(single_model(base["name"].get<std::string>()))},
                         {"status", "evaluated"},
                         {"scores", Json::object()}}}};
    const Json base_metrics = base.value("metrics", Json::object());
    for (auto it = base_metrics.begin(); it != base_metrics.end(); ++it)
        if (it->is_number() && std::isfinite(it->get<double>()))
            b["candidates"][base["name"].get<std::string>()]["scores"][it.key()] = *it;
    out["base_model"] = b;
    if (auto bl = report.find("boundary_layers");
        bl != report.end() && bl->is_object() && bl->contains("name")) {
        if (!o.boundary_select)
            throw Error(
                "the original OLM's report chose boundary_layers, but boundary_select is off in this config");
        out["boundary_layers"] = fixed(*bl, (*bl)["name"].get<std::string>(), true);
    }
    if (auto layers = report.find("layers"); layers != report.end() && !layers->empty()) {
        if (!o.layer_swap)
            throw Error("the original OLM's report decided layers, but layer_swap is off in this config");
        for (auto it = layers->begin(); it != layers->end(); ++it) {
            const int L = layer_index(it.key(), o.num_layers);
            out["layers"][std::to_string(L)] = fixed(*it, (*it)["best_model"].get<std::string>(), false);
        }
    }
    if (auto tensors = report.find("tensors"); tensors != report.end() && !tensors->empty()) {
        if (!o.tensor_swap)
            throw Error("the original OLM's report decided tensors, but tensor_swap is off in this config");
        const auto modules = module_targets(arch, spec);
        for (auto it = tensors->begin(); it != tensors->end(); ++it) {
            const Target& t = target_of(modules, it.key(), arch, spec);
            // A boundary part's key is its name ("embed_tokens"), a layer unit's "3.self_attn.q_proj".
            const std::string unit = t.layer < 0 ? t.key : t.key.substr(t.key.find('.') + 1);
            const auto& visited = t.layer < 0 ? o.boundary_units : o.tensor_units;
            if (std::find(visited.begin(), visited.end(), unit) == visited.end())
                throw Error("the original OLM's report decided " + it.key() +
                            ", which this config's tensor-wise "
                            "search does not visit (skip_norm?)");
            out["tensors"][t.key] = fixed(*it, (*it)["best_model"].get<std::string>(), false);
        }
    }
    return out;
}

}  // namespace olm
