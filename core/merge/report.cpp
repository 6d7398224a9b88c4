#include "core/merge/report.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_file.h"
#include "core/util/json_text.h"

#include <fstream>
#include <sstream>

namespace olm {

using Json = nlohmann::json;

namespace {

std::string section_name(PositionId::Kind k) {
    switch (k) {
        case PositionId::Kind::base:
            return "base_model";
        case PositionId::Kind::boundary:
            return "boundary_layers";
        case PositionId::Kind::layer:
            return "layers";
        case PositionId::Kind::tensor:
            return "tensors";
        case PositionId::Kind::reference:
            return "references";
    }
    return "?";
}

bool whole_section(PositionId::Kind k) {
    return k == PositionId::Kind::base || k == PositionId::Kind::boundary;
}
}  // namespace

Json candidate_result_to_json(const CandidateResult& r) {
    Json e = Json::object();
    e["status"] = candidate_status_name(r.status);
    e["scores"] = r.scores;
    if (!r.accuracy.empty()) e["accuracy"] = r.accuracy;
    if (!r.reason.empty()) e["reason"] = r.reason;
    if (!r.measured.empty()) e["measured"] = r.measured;
    if (!r.stopped.empty()) e["stopped"] = r.stopped;
    if (!r.per_sample.empty()) e["per_sample"] = r.per_sample;
    return e;
}

CandidateResult candidate_result_from_json(const Json& c, const std::string& where) {
    CandidateResult r;
    try {
        const std::string st = c.at("status").get<std::string>();
        if (st == "evaluated")
            r.status = CandidateStatus::evaluated;
        else if (st == "reused-identical")
            r.status = CandidateStatus::reused_identical;
        else if (st == "disqualified")
            r.status = CandidateStatus::disqualified;
        else if (st == "failed")
            r.status = CandidateStatus::failed;
        else
            throw Error("merge report: unknown candidate status '" + st + "' at " + where);
        r.scores = c.value("scores", Json::object()).get<std::map<std::string, double>>();
        r.accuracy = c.value("accuracy", Json::object()).get<std::map<std::string, double>>();
        r.reason = c.value("reason", std::string());
        r.measured = c.value("measured", Json::object()).get<std::map<std::string, double>>();
        r.per_sample =
            c.value("per_sample", Json::object()).get<std::map<std::string, std::vector<double>>>();
        r.stopped = c.value("stopped", Json::object()).get<std::map<std::string, long long>>();
    } catch (const Json::exception& e) {
        throw Error("merge report: the candidate " + where + " is malformed: " + e.what());
    }
    return r;
}

MergeReport::MergeReport() : m_json(Json::object()) { m_json["version"] = kMergeReportVersion; }

MergeReport::MergeReport(nlohmann::json j) : m_json(std::move(j)) {
    if (!m_json.is_object()) throw Error("merge report: not a JSON object");
}

MergeReport MergeReport::load(const std::filesystem::path& path) {
    const std::string text = read_text_file(path, max_report_bytes, "merge report");
    // NaN / Infinity literals (as Python writes them) are accepted within the depth limit.
    if (json_depth_violation(text) == std::string::npos) try {
            return MergeReport(parse_json_text(std::string_view(text)));
        } catch (const Json::exception&) {
        }
    return MergeReport(parse_json_text(text, "merge report " + path.string()));  // names the error
}

void MergeReport::save_to(const std::filesystem::path& path) const {
    write_file_atomic(path, dump_json_text(m_json, 2) + "\n");
}

void MergeReport::save() const {
    if (!m_path.empty()) save_to(m_path);
}

Json& MergeReport::section(const PositionId& pos) {
    Json* root = &m_json;
    if (pos.pass > 1) root = &m_json["sweeps"][std::to_string(pos.pass)];
    Json& s = (*root)[section_name(pos.kind)];
    if (whole_section(pos.kind)) return s;
    return s[pos.key()];
}

const Json* MergeReport::section_if(const PositionId& pos) const {
    const Json* root = &m_json;
    if (pos.pass > 1) {
        auto it = m_json.find("sweeps");
        if (it == m_json.end()) return nullptr;
        auto p = it->find(std::to_string(pos.pass));
        if (p == it->end()) return nullptr;
        root = &*p;
    }
    auto s = root->find(section_name(pos.kind));
    if (s == root->end()) return nullptr;
    if (whole_section(pos.kind)) return &*s;
    auto e = s->find(pos.key());
    return e == s->end() ? nullptr : &*e;
}

std::optional<CandidateResult> MergeReport::find(const PositionId& pos, const std::string& name,
                                                 const Recipe& recipe) const {
    const Json* s = section_if(pos);
    if (!s) return std::nullopt;
    auto cands = s->find("candidates");
    if (cands == s->end()) return std::nullopt;
    auto c = cands->find(name);
    if (c == cands->end()) return std::nullopt;
    if (!same_recipe(recipe_from_json(c->at("recipe")), recipe)) return std::nullopt;
    return candidate_result_from_json(*c, pos.key() + " " + name);
}

void MergeReport::record(const PositionId& pos, const CandidateEvent& c, const CandidateResult& r,
                         double seconds) {
    Json& s = section(pos);
    Json e = candidate_result_to_json(r);
    e["recipe"] = recipe_to_json(c.recipe);
    e["seconds"] = seconds;
    s["candidates"][c.name] = std::move(e);
    // Original-compatible table: metrics {dataset: {model: score}}.
    Json& metrics = whole_section(pos.kind) ? s["candidate_metrics"] : s["metrics"];
    for (const auto& [d, v] : r.scores) metrics[d][c.name] = v;
    save();
}

void MergeReport::record_decision(const PositionDecision& d, const std::vector<std::string>& order) {
    Json& s = section(d.position);
    if (whole_section(d.position.kind)) {
        s["name"] = d.best_name;
        s["metrics"] = d.scores;
    } else {
        s["best_model"] = d.best_name;
    }
    s["recipe"] = recipe_to_json(d.recipe);
    s["order"] = order;
    s["changed"] = d.changed;
    // Racing kept every candidate's per-sample values while the position was
    // open; from now on only the winner's are needed (the next position's race
    // starts from the working model's).
    if (auto c = s.find("candidates"); c != s.end())
        for (auto it = c->begin(); it != c->end(); ++it)
            if (it.key() != d.best_name) it->erase("per_sample");
    save();
}

std::optional<PositionDecision> MergeReport::fixed_decision(const PositionId& pos) const {
    const Json* s = section_if(pos);
    if (!s || !s->value("imported", false)) return std::nullopt;
    PositionDecision d;
    d.position = pos;
    try {
        if (whole_section(pos.kind)) {
            d.best_name = s->at("name").get<std::string>();
            d.scores = s->at("metrics").get<std::map<std::string, double>>();
        } else {
            d.best_name = s->at("best_model").get<std::string>();
            for (auto it = s->at("metrics").begin(); it != s->at("metrics").end(); ++it)
                if (it->contains(d.best_name)) d.scores[it.key()] = it->at(d.best_name).get<double>();
        }
        d.recipe = recipe_from_json(s->at("recipe"));
    } catch (const Json::exception& e) {
        throw Error("merge report: the imported decision at " + pos.key() + " is malformed: " + e.what());
    }
    return d;
}

Json es_run_to_json(const EsRun& run) {
    Json j = Json::object();
    j["kind"] = es_kind_name(run.kind);
    j["seed"] = run.seed;
    j["sigma"] = run.initial_sigma;
    j["generations"] = run.generations;
    j["population"] = run.population;
    if (!run.skipped.empty()) j["skipped"] = run.skipped;
    j["baseline"] = run.baseline;
    if (!run.result.empty()) j["result"] = run.result;
    Json gens = Json::array();
    for (const EsGeneration& g : run.history) {
        Json e = Json::object();
        e["sigma"] = g.sigma;
        Json offs = Json::array();
        for (const EsOffspring& o : g.offspring) {
            if (!o.scored)
                offs.push_back(nullptr);
            else if (!o.failed.empty())
                offs.push_back({{"failed", o.failed}});
            else
                offs.push_back({{"scores", o.scores}});
        }
        e["offspring"] = std::move(offs);
        if (g.winner) e["winner"] = *g.winner;
        gens.push_back(std::move(e));
    }
    j["history"] = std::move(gens);
    return j;
}

EsRun es_run_from_json(const Json& j, const std::string& where) {
    EsRun run;
    try {
        run.kind = es_kind_from_name(j.at("kind").get<std::string>());
        run.seed = j.at("seed").get<uint64_t>();
        run.initial_sigma = j.at("sigma").get<double>();
        run.generations = j.at("generations").get<int>();
        run.population = j.at("population").get<int>();
        run.skipped = j.value("skipped", std::string());
        run.baseline = j.at("baseline").get<std::map<std::string, double>>();
        if (j.contains("result")) run.result = j.at("result").get<std::map<std::string, double>>();
        for (const Json& e : j.at("history")) {
            EsGeneration g;
            g.sigma = e.at("sigma").get<double>();
            for (const Json& o : e.at("offspring")) {
                EsOffspring off;
                if (!o.is_null()) {
                    off.scored = true;
                    if (o.contains("failed"))
                        off.failed = o.at("failed").get<std::string>();
                    else
                        off.scores = o.at("scores").get<std::map<std::string, double>>();
                }
                g.offspring.push_back(std::move(off));
            }
            if (e.contains("winner")) {
                g.winner = e.at("winner").get<int>();
                if (*g.winner < -1 || *g.winner >= static_cast<int>(g.offspring.size()))
                    throw Error("merge report: " + where + ": winner " + std::to_string(*g.winner) + " of " +
                                std::to_string(g.offspring.size()) + " offspring");
            }
            run.history.push_back(std::move(g));
        }
    } catch (const Json::exception& e) {
        throw Error("merge report: the fine-tuning at " + where + " is malformed: " + e.what());
    }
    return run;
}

std::optional<EsRun> MergeReport::find_es(const PositionId& pos, EsKind kind) const {
    const Json* s = section_if(pos);
    if (!s) return std::nullopt;
    auto es = s->find("es");
    if (es == s->end()) return std::nullopt;
    auto r = es->find(es_kind_name(kind));
    if (r == es->end()) return std::nullopt;
    return es_run_from_json(*r, pos.key());
}

void MergeReport::record_es(const PositionId& pos, const EsRun& run) {
    section(pos)["es"][es_kind_name(run.kind)] = es_run_to_json(run);
    save();
}

void MergeReport::record_search_pool(const std::vector<std::string>& kept) {
    m_json["search_pool"] = kept;
    save();
}

void MergeReport::record_state(const MergeState& st) {
    Json r = Json::object();
    r["base"] = st.base;
    r["boundary"] = recipe_to_json(st.boundary);
    Json layers = Json::object();
    for (size_t i = 0; i < st.layers.size(); ++i) layers[std::to_string(i)] = recipe_to_json(st.layers[i]);
    r["layers"] = std::move(layers);
    Json units = Json::object();
    for (const auto& [k, v] : st.units) units[k] = recipe_to_json(v);
    r["tensors"] = std::move(units);
    if (!st.boundary_parts.empty()) {
        Json parts = Json::object();
        for (const auto& [k, v] : st.boundary_parts) parts[k] = recipe_to_json(v);
        r["boundary_parts"] = std::move(parts);
    }
    if (!st.tuned.empty()) {
        Json es = Json::object();
        for (const auto& [k, runs] : st.tuned) {
            Json list = Json::array();
            for (const EsRun& run : runs) list.push_back(es_run_to_json(run));
            es[k] = std::move(list);
        }
        r["es"] = std::move(es);
    }
    m_json["recipe"] = std::move(r);
    save();
}

MergeState MergeReport::state(int num_layers) const {
    auto it = m_json.find("recipe");
    if (it == m_json.end())
        throw Error("merge report has no recipe yet (the search has not decided the base)");
    MergeState st;
    try {
        st.base = it->at("base").get<std::string>();
        st.boundary = recipe_from_json(it->at("boundary"));
        const Json& layers = it->at("layers");
        if (static_cast<int>(layers.size()) != num_layers)
            throw Error("merge report recipe has " + std::to_string(layers.size()) +
                        " layers, the model has " + std::to_string(num_layers));
        for (int i = 0; i < num_layers; ++i)
            st.layers.push_back(recipe_from_json(layers.at(std::to_string(i))));
        for (auto u = it->at("tensors").begin(); u != it->at("tensors").end(); ++u)
            st.units[u.key()] = recipe_from_json(u.value());
        if (auto p = it->find("boundary_parts"); p != it->end())
            for (auto u = p->begin(); u != p->end(); ++u) {
                if (u.key() != "embed_tokens" && u.key() != "norm" && u.key() != "lm_head")
                    throw Error("merge report recipe: unknown boundary part '" + u.key() +
                                "' (embed_tokens, norm or lm_head)");
                st.boundary_parts[u.key()] = recipe_from_json(u.value());
            }
        if (auto p = it->find("es"); p != it->end())
            for (auto u = p->begin(); u != p->end(); ++u)
                for (const Json& run : u.value()) {
                    EsRun r = es_run_from_json(run, "recipe.es." + u.key());
                    if (!r.finished())
                        throw Error("merge report recipe: the fine-tuning at " + u.key() + " is unfinished");
                    st.tuned[u.key()].push_back(std::move(r));
                }
    } catch (const Json::exception& e) {
        throw Error(std::string("merge report recipe is malformed: ") + e.what());
    }
    return st;
}

Json without_timings(const Json& j) {
    if (j.is_object()) {
        Json out = Json::object();
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (it.key() == "seconds" || it.key() == "timings") continue;
            out[it.key()] = without_timings(it.value());
        }
        return out;
    }
    if (j.is_array()) {
        Json out = Json::array();
        for (const auto& v : j) out.push_back(without_timings(v));
        return out;
    }
    return j;
}

}  // namespace olm
