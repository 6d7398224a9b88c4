#include "core/merge/merge_export.h"

#include "core/io/architecture.h"
#include "core/io/export_folder.h"
#include "core/io/safetensors_reader.h"
#include "core/merge/es_tune.h"
#include "core/merge/report.h"
#include "core/merge/session.h"
#include "core/util/error.h"
#include "core/util/json_text.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace olm {

namespace {

using Json = nlohmann::json;

// The recipe of one tensor of the model.
Recipe tensor_recipe(const MergeState& st, const ExpectedTensor& t, int layer) {
    if (layer < 0) return st.boundary_recipe(t.unit);
    return st.unit_recipe(layer, t.unit);
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
        const Recipe r = tensor_recipe(state, t, layer);
        pool.check_recipe(r);
        TensorSource s;
        s.name = t.name;
        s.dtype = out_dtype;
        s.shape = base.info(t.name).shape;
        // A weight tensor that ES fine-tuned: the tuning replayed from its
        // seed and winners (bit-identical to what the search scored).
        const std::vector<EsRun>* tuned = nullptr;
        if (layer >= 0 && t.expert < 0 && !layer_tensor_ref(t.role).bias) {
            if (auto it = state.tuned.find(std::to_string(layer) + "." + t.unit); it != state.tuned.end())
                tuned = &it->second;
        } else if (layer < 0 && is_boundary_part_name(t.unit)) {
            if (auto it = state.tuned.find(t.unit); it != state.tuned.end()) tuned = &it->second;
        }
        if (tuned)
            s.produce = [&pool, name = t.name, r, runs = *tuned]() {
                return es_replay(runs, pool.tensor(name, r));
            };
        else
            s.produce = [&pool, name = t.name, r]() { return pool.tensor(name, r); };
        s.done = [&pool, name = t.name, r]() {
            for (const auto& [m, c] : r) {
                const ModelFolder& f = pool.folder(m);
                f.release(name_in_layout(f.architecture(), name));
            }
        };
        sources.push_back(std::move(s));
    }
    // Parts outside the language model (a vision tower): the base's tensors,
    // bytes and dtype unchanged.
    for (const std::string& name : base.names()) {
        if (!carried_part(arch, name)) continue;
        const TensorInfo& info = base.info(name);
        TensorSource s;
        s.name = name;
        s.dtype = info.dtype;
        s.shape = info.shape;
        s.produce = [&base, name]() { return base.tensor(name); };
        s.done = [&base, name]() { base.release(name); };
        sources.push_back(std::move(s));
    }
    ExportOptions eo;
    eo.overwrite = options.overwrite;
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
    // mergekit's templates for the expert families (mixtral.json, qwen3_moe.json
    // in 0.1.5) name transformers' fused in-memory expert tensors
    // (mlp.experts.gate_up_proj), which checkpoints on disk do not have, and its
    // filters cannot name one expert: no configuration is written for them;
    // nor when a pool model is in a layout mergekit's template does not name
    // (Gemma 3 under transformers' in-memory names); nor when ES fine-tuned a
    // tensor (mergekit has no such method).
    bool with_mergekit = spec.num_experts == 0 && state.tuned.empty();
    for (const auto& n : pool.names())
        with_mergekit = with_mergekit && pool.folder(n).architecture().mergekit_names;
    eo.extra_files["README.md"] = model_card(report, state, with_mergekit);
    if (with_mergekit)
        eo.extra_files["mergekit_config.yml"] =
            mergekit_yaml(state, pool.num_layers(), refs, std::string(dtype_torch_name(out_dtype)), &arch);
    eo.extra_files["merge_report.json"] = dump_json_text(report, 2) + "\n";
    eo.metadata["olm_merge"] = "OLM Studio";
    ExportResult res = export_model_folder(base, sources, target, eo, sink);
    return MergeExportResult{res.folder, res.model.files};
}

std::string mergekit_yaml(const MergeState& st, int num_layers,
                          const std::map<std::string, std::string>& refs, const std::string& dtype,
                          const Architecture* arch) {
    auto ref = [&](const std::string& m) {
        auto it = refs.find(m);
        return it == refs.end() ? m : it->second;
    };
    // A layer's unit overrides ("self_attn.q_proj" -> recipe).
    auto units_of = [&](int L) {
        std::map<std::string, Recipe> u;
        const std::string prefix = std::to_string(L) + ".";
        for (const auto& [k, r] : st.units)
            if (k.rfind(prefix, 0) == 0 && !r.empty()) u[k.substr(prefix.size())] = r;
        return u;
    };
    // Slices: runs of consecutive layers with the same recipe and no unit
    // overrides; a layer with overrides is a slice of its own.
    struct Slice {
        int begin, end;
    };
    std::vector<Slice> slices;
    for (int L = 0; L < num_layers;) {
        int end = L + 1;
        while (end < num_layers && units_of(L).empty() && units_of(end).empty() &&
               same_recipe(st.layers[static_cast<size_t>(end)], st.layers[static_cast<size_t>(L)]))
            ++end;
        slices.push_back({L, end});
        L = end;
    }
    // One model for the whole boundary, or "" (blended, or its parts from different models).
    std::string boundary_model = single_model_name(st.boundary);
    for (const auto& [part, r] : st.boundary_parts)
        if (single_model_name(r) != boundary_model) boundary_model.clear();
    // mergekit takes the embeddings from the sources of the first slice and the
    // final norm and lm_head from those of the last (plan.py: pre_weights /
    // post_weights). `passthrough` (one source per slice, copied as is) is
    // therefore exact only when every slot is one model and the first and last
    // slices hold the boundary's model; anything else is `linear` with
    // normalize: false, where every tensor is sum(weight * tensor) and the
    // weights are filtered per tensor: the boundary's coefficients for
    // embed_tokens (first slice) and model.norm / lm_head (last slice), a
    // unit's coefficients for its tensors, the layer's otherwise.
    bool passthrough = !boundary_model.empty() && !slices.empty();
    for (int L = 0; L < num_layers && passthrough; ++L)
        passthrough = !single_model_name(st.layers[static_cast<size_t>(L)]).empty() && units_of(L).empty();
    if (passthrough)
        passthrough =
            single_model_name(st.layers[static_cast<size_t>(slices.front().begin)]) == boundary_model &&
            single_model_name(st.layers[static_cast<size_t>(slices.back().begin)]) == boundary_model;

    // Every slice lists every model of the recipe (weight 0 where it has no
    // part): mergekit pairs the last slice's sources with as many entries as
    // the first slice has when it plans the final norm and lm_head.
    std::set<std::string> all_models;
    for (const auto& [m, c] : st.boundary) all_models.insert(m);
    for (const auto& [part, r] : st.boundary_parts)
        for (const auto& [m, c] : r) all_models.insert(m);
    for (const Recipe& r : st.layers)
        for (const auto& [m, c] : r) all_models.insert(m);
    for (const auto& [k, r] : st.units)
        for (const auto& [m, c] : r) all_models.insert(m);

    std::ostringstream y;
    y << "# mergekit configuration written by OLM Studio: rebuilds this merge from the pool.\n";
    y << "# Layer recipe from merge_report.json; run: mergekit-yaml mergekit_config.yml ./out\n";
    if (!passthrough)
        y << "# Every tensor is sum(weight * tensor) (linear, normalize: false); embed_tokens (first "
             "slice),\n"
             "# model.norm and lm_head (last slice) carry the recipe of the embeddings / final norm / "
             "lm_head: "
          << recipe_text(st.boundary) << "\n";
    for (const auto& [part, r] : st.boundary_parts)
        if (!passthrough) y << "# except " << part << ": " << recipe_text(r) << "\n";
    std::ostringstream sl;  // the slices
    sl << "slices:\n";
    for (size_t i = 0; i < slices.size(); ++i) {
        const auto [L, end] = slices[i];
        const Recipe& r = st.layers[static_cast<size_t>(L)];
        sl << "  - sources:\n";
        if (passthrough) {
            sl << "      - model: " << ref(single_model_name(r)) << "\n";
            sl << "        layer_range: [" << L << ", " << end << "]\n";
            continue;
        }
        const auto units = units_of(L);
        const bool first = i == 0, last = i + 1 == slices.size();
        auto coeff = [](const Recipe& rr, const std::string& m) { return rr.count(m) ? rr.at(m) : 0.0; };
        for (const auto& m : all_models) {
            std::vector<std::pair<std::string, double>> filters;
            if (first) filters.push_back({"embed_tokens", coeff(st.boundary_recipe("embed_tokens"), m)});
            if (last) {
                filters.push_back({"model.norm.", coeff(st.boundary_recipe("norm"), m)});
                filters.push_back({"lm_head", coeff(st.boundary_recipe("lm_head"), m)});
            }
            for (const auto& [u, ur] : units) filters.push_back({u + ".", coeff(ur, m)});
            sl << "      - model: " << ref(m) << "\n";
            sl << "        layer_range: [" << L << ", " << end << "]\n";
            sl << "        parameters:\n";
            if (filters.empty()) {
                sl << "          weight: " << num(coeff(r, m), 17) << "\n";
            } else {
                sl << "          weight:\n";
                for (const auto& [f, c] : filters)
                    sl << "            - filter: " << f << "\n              value: " << num(c, 17) << "\n";
                sl << "            - value: " << num(coeff(r, m), 17) << "\n";
            }
        }
    }
    if (!arch || arch->mergekit_module.empty()) {
        y << sl.str();
    } else {
        // mergekit's modular form: the slices are the language model's; each
        // carried part (vision tower, projector) is the base's, taken whole.
        y << "modules:\n  " << arch->mergekit_module << ":\n";
        std::istringstream in(sl.str());
        for (std::string line; std::getline(in, line);) y << "    " << line << "\n";
        for (const CarriedPart& c : arch->carried) {
            y << "  " << c.mergekit_module << ":\n    models:\n      - model: " << ref(st.base) << "\n";
            if (!passthrough) y << "        parameters:\n          weight: 1\n";
        }
    }
    if (passthrough) {
        y << "merge_method: passthrough\n";
        y << "# embeddings, final norm and lm_head come from " << ref(boundary_model)
          << " (the first and last slices' model)\n";
    } else {
        y << "merge_method: linear\nparameters:\n  normalize: false\n";
    }
    // The config and tokenizer of the output come from the base.
    y << "base_model: " << ref(st.base) << "\n";
    y << "dtype: " << dtype << "\n";
    return y.str();
}

std::string model_card(const Json& report, const MergeState& st, bool with_mergekit) {
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
    for (const auto& [part, r] : st.boundary_parts) md << "| " << part << " | " << recipe_text(r) << " |\n";
    for (size_t L = 0; L < st.layers.size(); ++L)
        md << "| layer " << L << " | " << recipe_text(st.layers[L]) << " |\n";
    for (const auto& [k, r] : st.units) md << "| layer " << k << " | " << recipe_text(r) << " |\n";
    for (const auto& [k, runs] : st.tuned)
        for (const EsRun& run : runs) {
            if (run.population == 0) continue;
            int won = 0;
            for (int w : run.winners()) won += w >= 0 ? 1 : 0;
            md << "| layer " << k << " | " << es_kind_name(run.kind) << " fine-tuning: " << won << " of "
               << run.generations << " generations improved (seed " << run.seed << ") |\n";
        }

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
    md << "\n## Reproduce\n\n"
       << (with_mergekit ? "`mergekit_config.yml` rebuilds the recipe with mergekit; " : "")
       << "`merge_report.json` holds every candidate's scores and rebuilds the merge with `olm export "
          "--report merge_report.json --out DIR`.\n";
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
