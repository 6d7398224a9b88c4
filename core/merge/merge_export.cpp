#include "core/merge/merge_export.h"

#include "core/io/architecture.h"
#include "core/io/export_folder.h"
#include "core/io/safetensors_reader.h"
#include "core/merge/report.h"
#include "core/merge/session.h"
#include "core/util/error.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace olm {

namespace {

using Json = nlohmann::json;

// The recipe of one tensor of the model.
Recipe tensor_recipe(const MergeState& st, const Architecture& arch, const ExpectedTensor& t, int layer) {
    if (t.unit.empty() && layer < 0) return st.boundary;
    const LayerTensorRef ref = layer_tensor_ref(t.role);
    return st.unit_recipe(layer, layer_unit_name(ref.unit));
}

std::string num(double v, int digits = 4) {
    if (!std::isfinite(v)) return "n/a";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

}  // namespace

MergeExportResult export_merge(const MergePool& pool, const MergeState& state, const Json& report,
                               const std::filesystem::path& target, ProgressSink& sink) {
    return export_merge(pool, state, report, target, sink, MergeExportOptions{});
}

MergeExportResult export_merge(const MergePool& pool, const MergeState& state, const Json& report,
                               const std::filesystem::path& target, ProgressSink& sink,
                               const MergeExportOptions& options) {
    DType out_dtype = pool.storage_dtype();
    if (!options.dtype.empty()) {
        if (options.dtype == "float32")
            out_dtype = DType::F32;
        else if (options.dtype == "bfloat16")
            out_dtype = DType::BF16;
        else if (options.dtype == "float16")
            out_dtype = DType::F16;
        else
            throw Error("export: unknown dtype '" + options.dtype + "' (float32, bfloat16 or float16)");
    }
    const ModelFolder& base = pool.folder(state.base);
    const Architecture& arch = base.architecture();
    const ModelSpec& spec = base.spec();
    if (static_cast<int>(state.layers.size()) != pool.num_layers())
        throw Error("export: the recipe has " + std::to_string(state.layers.size()) + " layers, the pool " +
                    std::to_string(pool.num_layers()));
    std::vector<TensorSource> sources;
    for (const ExpectedTensor& t : all_tensors(arch, spec)) {
        if (!base.has(t.name)) continue;  // e.g. lm_head of a tied model
        const int layer = layer_of(arch, t.name);
        const Recipe r = tensor_recipe(state, arch, t, layer);
        pool.check_recipe(r);
        TensorSource s;
        s.name = t.name;
        s.dtype = out_dtype;
        s.shape = base.info(t.name).shape;
        s.produce = [&pool, name = t.name, r]() { return pool.tensor(name, r); };
        s.done = [&pool, name = t.name, r]() {
            for (const auto& [m, c] : r) pool.folder(m).release(name);
        };
        sources.push_back(std::move(s));
    }
    ExportOptions eo;
    eo.overwrite = true;
    eo.max_shard_bytes = options.max_shard_bytes;
    for (const auto& n : pool.names()) eo.protected_folders.push_back(pool.folder(n).path());
    std::map<std::string, std::string> refs;
    if (report.contains("config") && report["config"].contains("models")) {
        const auto models = report["config"]["models"].get<std::vector<std::string>>();
        for (size_t i = 0; i < models.size() && i < pool.names().size(); ++i)
            refs[pool.names()[i]] = models[i];
    }
    for (const auto& n : pool.names())
        if (!refs.count(n)) refs[n] = pool.folder(n).path().string();
    eo.extra_files["README.md"] = model_card(report, state);
    eo.extra_files["mergekit_config.yml"] =
        mergekit_yaml(state, pool.num_layers(), refs, std::string(dtype_torch_name(out_dtype)));
    eo.extra_files["merge_report.json"] = report.dump(2) + "\n";
    eo.metadata["olm_merge"] = "OLM Studio";
    ExportResult res = export_model_folder(base, sources, target, eo, sink);
    return MergeExportResult{res.folder, res.model.files};
}

std::string mergekit_yaml(const MergeState& st, int num_layers,
                          const std::map<std::string, std::string>& refs, const std::string& dtype) {
    auto ref = [&](const std::string& m) {
        auto it = refs.find(m);
        return it == refs.end() ? m : it->second;
    };
    // A layer's signature: its recipe and its unit overrides.
    auto units_of = [&](int L) {
        std::map<std::string, Recipe> u;
        const std::string prefix = std::to_string(L) + ".";
        for (const auto& [k, r] : st.units)
            if (k.rfind(prefix, 0) == 0) u[k.substr(prefix.size())] = r;
        return u;
    };
    bool blended = !single_model_name(st.boundary).size();
    for (int L = 0; L < num_layers; ++L) {
        blended = blended || single_model_name(st.layers[static_cast<size_t>(L)]).empty();
        for (const auto& [u, r] : units_of(L)) blended = blended || !r.empty();
    }
    std::ostringstream y;
    y << "# mergekit configuration written by OLM Studio: rebuilds this merge from the pool.\n";
    y << "# Layer recipe from merge_report.json; run: mergekit-yaml mergekit_config.yml ./out\n";
    y << "slices:\n";
    int L = 0;
    while (L < num_layers) {
        int end = L + 1;
        while (end < num_layers &&
               same_recipe(st.layers[static_cast<size_t>(end)], st.layers[static_cast<size_t>(L)]) &&
               units_of(end) == units_of(L) && units_of(L).empty())
            ++end;
        const Recipe& r = st.layers[static_cast<size_t>(L)];
        const auto units = units_of(L);
        y << "  - sources:\n";
        if (!blended) {
            y << "      - model: " << ref(single_model_name(r)) << "\n";
            y << "        layer_range: [" << L << ", " << end << "]\n";
        } else {
            std::set<std::string> models;
            for (const auto& [m, c] : r) models.insert(m);
            for (const auto& [u, ur] : units)
                for (const auto& [m, c] : ur) models.insert(m);
            for (const auto& m : models) {
                const double layer_c = r.count(m) ? r.at(m) : 0.0;
                y << "      - model: " << ref(m) << "\n";
                y << "        layer_range: [" << L << ", " << end << "]\n";
                y << "        parameters:\n";
                if (units.empty()) {
                    y << "          weight: " << num(layer_c, 12) << "\n";
                } else {
                    y << "          weight:\n";
                    for (const auto& [u, ur] : units)
                        y << "            - filter: " << u
                          << "\n              value: " << num(ur.count(m) ? ur.at(m) : 0.0, 12) << "\n";
                    y << "            - value: " << num(layer_c, 12) << "\n";
                }
            }
        }
        L = end;
    }
    if (blended) {
        y << "merge_method: linear\nparameters:\n  normalize: false\n";
        if (!single_model_name(st.boundary).empty())
            y << "base_model: " << ref(single_model_name(st.boundary)) << "\n";
        else
            y << "# The embeddings / final norm / lm_head blend " << recipe_text(st.boundary)
              << "; mergekit takes them from the slice sources' weights.\n";
    } else {
        y << "merge_method: passthrough\n";
        y << "# embeddings, final norm and lm_head come from " << ref(single_model_name(st.boundary)) << "\n";
        y << "base_model: " << ref(single_model_name(st.boundary)) << "\n";
    }
    y << "dtype: " << dtype << "\n";
    return y.str();
}

std::string model_card(const Json& report, const MergeState& st) {
    std::ostringstream md;
    const Json cfg = report.value("config", Json::object());
    std::vector<std::string> datasets;
    for (const auto& d : cfg.value("dataset", Json::array()))
        datasets.push_back(d.value("name", std::string()));
    md << "---\ntags:\n- merge\n- olm\nbase_model: " << st.base << "\n---\n\n";
    md << "# OLM merge of " << report.value("pool", Json::array()).size() << " models\n\n";
    md << "Built with OLM Studio (Optimized Layer Merging): for each layer position the layer of each pool "
          "model"
          " (and, with the better/thorough search, blends of them) was scored on the evaluation datasets and "
          "the"
          " best by aggregate rank kept.\n\n";
    md << "- **Base model:** " << st.base << "\n";
    md << "- **Pool:** ";
    bool first = true;
    for (const auto& m : report.value("pool", Json::array())) {
        md << (first ? "" : ", ") << m.get<std::string>();
        first = false;
    }
    md << "\n- **Search:** " << cfg.value("search", std::string("original")) << " (selection "
       << cfg.value("selection", std::string("ranks")) << ", direction "
       << cfg.value("direction", std::string()) << ", improve_all '"
       << cfg.value("improve_all", std::string()) << "', sweeps " << cfg.value("sweeps", 1) << ")\n";
    md << "- **Datasets:** ";
    first = true;
    for (const auto& d : cfg.value("dataset", Json::array())) {
        md << (first ? "" : ", ") << d.value("name", std::string()) << " (" << d.value("mode", std::string())
           << ")";
        first = false;
    }
    md << "\n\n## Layer recipe\n\n| slot | recipe |\n|---|---|\n";
    md << "| embeddings, final norm, lm_head | " << recipe_text(st.boundary) << " |\n";
    for (size_t L = 0; L < st.layers.size(); ++L)
        md << "| layer " << L << " | " << recipe_text(st.layers[L]) << " |\n";
    for (const auto& [k, r] : st.units) md << "| layer " << k << " | " << recipe_text(r) << " |\n";

    auto row = [&](const std::string& label, const Json& entry) {
        md << "| " << label;
        for (const auto& d : datasets) {
            const Json m = entry.value("metrics", Json::object());
            md << " | " << (m.contains(d) ? num(m[d].get<double>()) : "");
            const Json h = entry.value("heldout", Json::object()).value("metrics", Json::object());
            if (report.value("has_heldout", false))
                md << " | " << (h.contains(d) ? num(h[d].get<double>()) : "");
        }
        md << " |\n";
    };
    md << "\n## Scores (lower is better)\n\n| model";
    for (const auto& d : datasets) {
        md << " | " << d;
        if (report.value("has_heldout", false)) md << " | " << d << " (held-out)";
    }
    md << " |\n|---";
    for (size_t i = 0; i < datasets.size() * (report.value("has_heldout", false) ? 2 : 1); ++i) md << "|---";
    md << "|\n";
    if (report.contains("final")) row("**this merge**", report["final"]);
    if (report.contains("base_model")) {
        Json b = report["base_model"];
        if (report.contains("references") && report["references"].contains(st.base))
            b = report["references"][st.base];
        row("base (" + st.base + ")", b);
    }
    if (report.contains("references"))
        for (auto it = report["references"].begin(); it != report["references"].end(); ++it)
            if (it.key() != st.base) row(it.key(), it.value());
    if (report.contains("safeguard")) {
        const Json& s = report["safeguard"];
        md << "\n## Safeguard\n\nCompared with the best single pool model ("
           << s.value("best_model", std::string())
           << ") by a paired bootstrap over samples (95% interval of the mean scaled score difference; "
              "positive ="
              " the merge is better):\n\n";
        for (const char* split : {"selection", "heldout"})
            if (s.contains(split))
                md << "- " << split << ": **" << s[split].value("verdict", std::string()) << "** ("
                   << num(s[split].value("mean", 0.0)) << " [" << num(s[split].value("low", 0.0)) << ", "
                   << num(s[split].value("high", 0.0)) << "])\n";
        if (s.value("exported", std::string()) != "merge")
            md << "\nThe safeguard is strict and the merge was not better: this folder holds the best pool "
                  "model ("
               << s.value("exported", std::string()) << ") instead.\n";
    }
    md << "\n## Reproduce\n\n`mergekit_config.yml` rebuilds the recipe with mergekit; `merge_report.json` "
          "holds every"
          " candidate's scores and rebuilds the merge with `olm export --report merge_report.json --out "
          "DIR`.\n";
    return md.str();
}

Json verify_export(MergeSession& session, const std::filesystem::path& folder,
                   const std::map<std::string, double>& expected, double tolerance) {
    const ModelFolder f = ModelFolder::open(folder);
    Transformer model = Transformer::from_folder(f, session.model().options());
    Evaluator ev(model, session.tokenizer(), eval_settings_from(session.config()));
    Json out = Json::object();
    std::string bad;
    for (const auto& d : session.datasets()) {
        const double got = ev.score(d, EvalSplit::selection).score;
        auto it = expected.find(d.name);
        if (it == expected.end()) continue;
        const double rel = std::abs(got - it->second) / std::max(std::abs(it->second), 1e-12);
        out[d.name] = {{"exported", got}, {"expected", it->second}, {"rel_diff", rel}};
        if (!(rel <= tolerance))
            bad += " " + d.name + ": " + num(got, 10) + " vs " + num(it->second, 10) + ";";
    }
    if (!bad.empty()) throw Error("the exported model does not score as the search did:" + bad);
    return out;
}

}  // namespace olm
