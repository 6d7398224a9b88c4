#include "core/merge/session.h"

#include "core/eval/scripts.h"
#include "core/merge/model_fetch.h"
#include "core/util/error.h"

#include <algorithm>

namespace olm {

EvalSettings eval_settings_from(const MergeConfig& c) {
    EvalSettings s;
    s.samples = c.samples;
    s.holdout = c.holdout;
    s.seed = c.seed;
    s.batch_tokens = c.batch_tokens;
    s.quality_max_new_tokens = c.quality_max_new_tokens;
    s.min_words = c.min_words;
    s.forbidden_scripts = parse_script_ranges(c.forbidden_scripts);
    s.chat_family = c.chat_template == "auto" ? "" : c.chat_template;
    s.prefix_cache = c.prefix_cache;
    return s;
}

namespace {

std::filesystem::path base_folder(const MergeConfig& c) {
    const std::filesystem::path p = c.base_path();
    if (c.base_outside_pool() && !std::filesystem::exists(p))
        throw Error("base_model_name '" + c.base_model_name + "': no model folder at " + p.string());
    return p;
}

// The opened models: the pool, then a base outside it (a source of tensors, no candidate).
std::vector<std::string> opened_names(const MergeConfig& c, const std::vector<std::string>* pool_names) {
    std::vector<std::string> names = pool_names ? *pool_names : c.model_names();
    if (c.base_outside_pool()) names.push_back(c.base_display_name());
    return names;
}

std::vector<std::filesystem::path> opened_paths(const MergeConfig& c, ProgressSink* sink) {
    // Pool models named org/name that are on no disk come from the Hub (download: true).
    std::vector<std::filesystem::path> paths = fetch_missing_models(c, sink);
    if (c.base_outside_pool()) paths.push_back(base_folder(c));
    return paths;
}

}  // namespace

MergeSession::MergeSession(const MergeConfig& config, const std::string& device, ProgressSink* sink,
                           std::vector<std::string>* warnings, const std::vector<std::string>* pool_names)
    : m_config(config),
      m_pool(MergePool::open(opened_names(config, pool_names), opened_paths(config, sink), warnings)),
      m_tok(Tokenizer::from_folder(base_folder(config))) {
    const EvalSettings settings = eval_settings_from(config);
    for (const auto& d : config.datasets)
        m_datasets.push_back(load_eval_dataset(d.path, d.mode, m_tok, settings, d.name, d.think));
    // Positions past max_position_embeddings are extrapolated (RoPE computes
    // them, the model never saw them): say so once per dataset.
    const int64_t max_pos = m_pool.spec().max_position_embeddings;
    if (warnings && max_pos > 0)
        for (const auto& d : m_datasets) {
            const bool quality = d.mode == "quality";
            int64_t longest = 0, over = 0, total = 0;
            for (const auto* split : {&d.selection, &d.holdout})
                for (const auto& smp : *split) {
                    const int64_t n = static_cast<int64_t>(smp.context_ids.size()) +
                                      (quality ? config.quality_max_new_tokens
                                               : static_cast<int64_t>(smp.response_ids.size()));
                    longest = std::max(longest, n);
                    over += n > max_pos;
                    ++total;
                }
            if (over > 0)
                warnings->push_back("dataset " + d.name + ": " + std::to_string(over) + " of " +
                                    std::to_string(total) + " samples are longer than the model's " +
                                    "max_position_embeddings " + std::to_string(max_pos) + " (longest " +
                                    std::to_string(longest) + " tokens, context + " +
                                    (quality ? "quality_max_new_tokens" : "response") +
                                    "); positions past it are extrapolated and may score poorly");
        }
    EngineOptions eo = make_engine_options(device.empty() ? config.device : device, config.dtype);
    eo.max_batch_tokens = config.batch_tokens;
    eo.device_memory = config.device_memory;
    m_model = std::make_unique<Transformer>(Transformer::from_folder(m_pool.first(), eo));
    m_eval = std::make_unique<Evaluator>(*m_model, m_tok, settings, sink);
}

MergeSession::~MergeSession() = default;

bool MergeSession::has_holdout() const {
    for (const auto& d : m_datasets)
        if (!d.holdout.empty()) return true;
    return false;
}

SearchOptions MergeSession::search_options() const {
    const MergeConfig& c = m_config;
    SearchOptions o;
    o.pool = m_pool.names();
    if (c.base_outside_pool()) o.pool.pop_back();  // the base is opened last and is no candidate
    for (const auto& d : c.datasets) {
        o.datasets.push_back(d.name);
        o.dataset_modes.push_back(d.mode);
    }
    o.num_layers = m_pool.num_layers();
    if (c.tensor_swap) o.tensor_units = m_pool.tensor_units(c.skip_norm);
    if (!c.base_model_name.empty())
        o.base_model_name = c.base_outside_pool() ? m_pool.names().back() : c.base_display_name();
    // The boundary's parts as the base's parameter list holds them (the
    // original's working model is the base: its tied lm_head is no parameter).
    if (c.tensor_swap)
        o.boundary_units = m_pool.boundary_units(
            c.skip_norm, o.base_model_name.empty() ? o.pool.front() : o.base_model_name);
    o.base_select = c.base_select;
    o.boundary_select = c.boundary_select;
    o.max_models = static_cast<int>(std::min<int64_t>(c.max_models, 1 << 30));
    o.markov = static_cast<int>(std::min<int64_t>(c.markov, 1 << 20));
    o.layer_swap = c.layer_swap;
    o.tensor_swap = c.tensor_swap;
    o.backward = c.direction == "backward";
    o.improve_all = c.improve_all;
    o.selection = parse_selection_rule(c.effective_selection());
    o.interpolate = c.effective_interpolate();
    o.task_arithmetic = c.effective_task_arithmetic();
    o.sweeps = c.effective_sweeps();
    o.racing = c.effective_racing();
    o.racing_confidence = c.racing_confidence;
    o.es_svd = c.es_svd;
    o.es_norm = c.es_norm;
    o.es_svd_generations = static_cast<int>(c.es_svd_generations);
    o.es_norm_generations = static_cast<int>(c.es_norm_generations);
    o.es_svd_sigma = c.es_svd_sigma;
    o.es_norm_sigma = c.es_norm_sigma;
    o.es_seed = c.es_seed;
    if (c.tensor_swap && (c.es_svd || c.es_norm))
        for (const auto& u : o.tensor_units) {
            int svd = 0, norm = 0;
            if (unit_expert(u) < 0) {
                const at::Tensor w = m_pool.unit(0, u, single_model(m_pool.names().front())).weight;
                if (w.defined()) {
                    svd = es_planned_population(EsKind::svd, w.sizes());
                    norm = es_planned_population(EsKind::norm, w.sizes());
                }
            }
            o.es_svd_population.push_back(svd);
            o.es_norm_population.push_back(norm);
        }
    if (c.tensor_swap && (c.es_svd || c.es_norm)) {
        const BoundaryWeights w = m_pool.boundary(single_model(m_pool.names().front()));
        for (const auto& b : o.boundary_units) {
            const at::Tensor& t = w[boundary_part_from_name(b)];
            o.es_svd_population.push_back(t.defined() ? es_planned_population(EsKind::svd, t.sizes()) : 0);
            o.es_norm_population.push_back(t.defined() ? es_planned_population(EsKind::norm, t.sizes()) : 0);
        }
    }
    return o;
}

void MergeSession::apply(const MergeState& st) {
    m_eval->end_position();
    BoundaryWeights bw = m_pool.boundary(st.boundary);
    for (const auto& [part, r] : st.boundary_parts) {
        const BoundaryPart p = boundary_part_from_name(part);
        bw[p] = m_pool.boundary(r)[p];
    }
    m_model->set_boundary(bw);
    for (int L = 0; L < m_pool.num_layers(); ++L)
        m_model->set_layer(L, m_pool.layer(L, st.layers[static_cast<size_t>(L)]));
    for (const auto& [key, r] : st.units) {
        const auto dot = key.find('.');
        set_unit(std::stoi(key.substr(0, dot)), key.substr(dot + 1), r);
    }
    // ES fine-tunings, replayed from their seeds and winners ("3.q_proj", or a
    // boundary part "embed_tokens").
    for (const auto& [key, runs] : st.tuned) {
        if (is_boundary_part_name(key)) {
            const BoundaryPart part = boundary_part_from_name(key);
            m_model->set_boundary_part(part, es_replay(runs, m_model->boundary()[part]));
            continue;
        }
        const auto dot = key.find('.');
        const int L = std::stoi(key.substr(0, dot));
        const std::string unit = key.substr(dot + 1);
        if (unit_expert(unit) >= 0) continue;  // never tuned
        const LayerUnit u = layer_unit_from_name(unit);
        UnitTensors t = m_model->layer(L)[u];
        t.weight = es_replay(runs, t.weight);
        m_model->set_layer_unit(L, u, t);
    }
    m_model->commit();
}

void MergeSession::set_unit(int layer, const std::string& unit, const Recipe& r) {
    if (layer < 0) {
        const BoundaryPart part = boundary_part_from_name(unit);
        m_model->set_boundary_part(part, m_pool.boundary(r)[part]);
        return;
    }
    if (const int e = unit_expert(unit); e >= 0) {
        // A layer without experts (Qwen3-MoE's dense layers) has nothing to set.
        if (m_pool.spec().layer_is_sparse(layer)) m_model->set_expert(layer, e, m_pool.expert(layer, e, r));
        return;
    }
    m_model->set_layer_unit(layer, layer_unit_from_name(unit), m_pool.unit(layer, unit, r));
}

std::vector<DatasetScore> MergeSession::score_all(EvalSplit split) {
    m_eval->end_position();
    std::vector<DatasetScore> out;
    for (const auto& d : m_datasets) out.push_back(m_eval->score(d, split));
    return out;
}

void MergeSession::set_slot(const PositionId& pos, const Recipe& r) {
    switch (pos.kind) {
        case PositionId::Kind::base:
        case PositionId::Kind::reference: {
            MergeState st;
            st.boundary = r;
            st.layers.assign(static_cast<size_t>(m_pool.num_layers()), r);
            apply(st);
            break;
        }
        case PositionId::Kind::boundary:
            m_model->set_boundary(m_pool.boundary(r));
            break;
        case PositionId::Kind::layer:
            if (pos.window()) {
                for (const auto& [L, lr] : window_layers(r)) m_model->set_layer(L, m_pool.layer(L, lr));
                break;
            }
            m_model->set_layer(pos.layer, m_pool.layer(pos.layer, r));
            break;
        case PositionId::Kind::tensor:
            set_unit(pos.layer, pos.unit, r);
            break;
    }
}

void MergeSession::begin_position(const PositionId& pos) {
    const bool slot = pos.kind == PositionId::Kind::layer || pos.kind == PositionId::Kind::tensor;
    // The final norm and lm_head come after every layer: all layers are fixed
    // there. The embeddings come before them: nothing is.
    const bool after_layers = pos.boundary_part() && pos.unit != "embed_tokens";
    if (after_layers)
        m_eval->begin_position(m_pool.num_layers());
    else if (pos.window())
        m_eval->begin_position(pos.window_first);  // the window's first layer is the first that varies
    else if (slot && !pos.boundary_part())
        m_eval->begin_position(pos.layer);
    else
        m_eval->end_position();
    // The candidates of the previous position were read through the mapping:
    // drop their pages once the search moves on (whole models after a
    // whole-model position), so resident memory stays flat in the pool size.
    // (A window reads several layers: all of them are dropped, as after a whole model.)
    const int touched = slot && !pos.boundary_part() && !pos.window() ? pos.layer : -1;
    if (m_touched != kNothingTouched && m_touched != touched) m_pool.release(m_touched);
    m_touched = touched;
}

ScoreResult MergeSession::score(int dataset, ScoreSplit split) {
    const EvalDataset& ds = m_datasets.at(static_cast<size_t>(dataset));
    return scored(
        ds, m_eval->score(ds, split == ScoreSplit::selection ? EvalSplit::selection : EvalSplit::holdout));
}

long long MergeSession::sample_count(int dataset) const {
    return static_cast<long long>(m_datasets.at(static_cast<size_t>(dataset)).selection.size());
}

ScoreResult MergeSession::score_samples(int dataset, long long begin, long long end) {
    const EvalDataset& ds = m_datasets.at(static_cast<size_t>(dataset));
    const auto n = static_cast<long long>(ds.selection.size());
    if (begin < 0 || end > n || begin >= end)
        throw Error("dataset " + ds.name + ": samples " + std::to_string(begin) + "-" + std::to_string(end) +
                    " asked of " + std::to_string(n));
    if (begin == 0 && end == n) return score(dataset, ScoreSplit::selection);
    auto& chunk = m_chunks[{dataset, begin, end}];
    if (!chunk) {
        chunk = std::make_unique<EvalDataset>();
        chunk->name = ds.name;
        chunk->path = ds.path;
        chunk->mode = ds.mode;
        chunk->think = ds.think;
        chunk->records = ds.records;
        chunk->selection.assign(ds.selection.begin() + begin, ds.selection.begin() + end);
    }
    return scored(*chunk, m_eval->score(*chunk, EvalSplit::selection));
}

int MergeSession::es_begin(const PositionId& pos, EsKind kind, double initial_sigma, uint64_t seed,
                           std::string& why) {
    m_es.reset();
    if (pos.kind != PositionId::Kind::tensor) {
        why = "not a tensor position";
        return 0;
    }
    if (unit_expert(pos.unit) >= 0) {
        why = "a routed expert (three tensors) is not tuned";
        return 0;
    }
    m_es_layer = pos.layer;
    UnitTensors t;
    if (pos.boundary_part()) {
        m_es_part = boundary_part_from_name(pos.unit);
        t.weight = m_model->boundary()[m_es_part];
    } else {
        m_es_unit = layer_unit_from_name(pos.unit);
        t = m_model->layer(pos.layer)[m_es_unit];
    }
    if (!t.weight.defined()) {
        why = pos.boundary_part() ? "the model has no such tensor" : "the layer has no such tensor";
        return 0;
    }
    m_es_bias = t.bias;
    auto tuner = std::make_unique<EsTensorTuner>(kind, t.weight, initial_sigma, seed);
    if (!tuner->tunable()) {
        why = tuner->why();
        return 0;
    }
    m_es = std::move(tuner);
    return m_es->population();
}

double MergeSession::es_sigma() const { return m_es ? m_es->sigma() : 0.0; }

void MergeSession::es_draw() {
    if (m_es) m_es->draw();
}

void MergeSession::es_put(const at::Tensor& weight) {
    if (m_es_layer < 0)
        m_model->set_boundary_part(m_es_part, weight);
    else
        m_model->set_layer_unit(m_es_layer, m_es_unit, UnitTensors{weight, m_es_bias});
}

void MergeSession::es_offspring(int i) {
    if (!m_es) throw Error("no fine-tuning under way");
    es_put(m_es->offspring(i));
}

void MergeSession::es_accept(int winner, bool more) {
    if (!m_es) throw Error("no fine-tuning under way");
    m_es->accept(winner, more);
    es_put(m_es->best());
}

void MergeSession::es_end() { m_es.reset(); }

ScoreResult MergeSession::scored(const EvalDataset& ds, const DatasetScore& s) {
    if (m_events) {
        const auto& samples = ds.samples(s.split);
        for (size_t i = 0; i < s.samples.size() && i < samples.size() && i < 2; ++i) {
            if (s.samples[i].generated_text.empty()) continue;
            const std::vector<int32_t> ctx(samples[i].context_ids.begin(), samples[i].context_ids.end());
            m_events->preview(ds.name, m_tok.decode(ctx, /*skip_special_tokens=*/true),
                              s.samples[i].generated_text, s.samples[i].score, s.samples[i].penalty);
        }
    }
    ScoreResult r;
    r.score = s.score;
    r.accuracy = s.accuracy;
    r.per_sample = s.per_sample;
    return r;
}

}  // namespace olm
