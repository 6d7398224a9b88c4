// Batched scoring of datasets over the engine's split execution, with the
// prefix cache of the layer search and the identical-candidate memo.
#include "core/eval/evaluator.h"

#include "core/model/generate.h"
#include "core/model/transformer.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "core/util/progress.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <set>

namespace olm {

// Teacher-forced batch: inputs are context + response[:-1] (right-padded, so the
// causal mask alone keeps pads out of every real position); logits are taken only
// at the positions that predict a response token.
struct Evaluator::TfBatch {
    Batch batch;
    std::vector<int64_t> members;  // positions in the split's sample list
    std::vector<int64_t> offsets;  // per member: first row in rows/cols/targets (+ a final end)
    at::Tensor rows, cols;         // [R] int64: where logits are needed
    at::Tensor targets;            // [R] int64: the expected tokens there
    at::Tensor hidden;             // prefix cache: [B, T, H] entering the cached layer
};

// The first candidate's greedy run at a position, kept so that later candidates
// skip layers [0, L) for generated tokens while their generation coincides with it
// (those layers and the tokens fed so far being the same, so are the states).
struct DecodeRecord {
    int64_t layer = -1;                           // -1 = nothing recorded
    std::vector<std::vector<int64_t>> fed;        // per prompt: the tokens fed back, in order
    std::vector<std::vector<at::Tensor>> hidden;  // per prompt: [H] entering `layer` for each fed token
};

// Generation batch: prompts = contexts; the prefix cache keeps the prompt state.
struct Evaluator::GenBatch {
    std::vector<int64_t> members;
    std::vector<std::vector<int64_t>> prompts;
    std::unique_ptr<PrefixState> prefix;
    DecodeRecord record;
};

struct Evaluator::Plan {
    std::string fingerprint;  // guards against a different dataset at the same address
    EvalSplit split = EvalSplit::selection;
    std::vector<TfBatch> tf;
    std::vector<GenBatch> gen;
};

namespace {

std::string dataset_fingerprint(const EvalDataset& ds, EvalSplit split) {
    const auto& s = ds.samples(split);
    std::string f = ds.name + '\n' + ds.path.string() + '\n' + ds.mode + '\n' + std::to_string(s.size());
    if (!s.empty()) f += ':' + std::to_string(s.front().index) + ':' + std::to_string(s.back().index);
    return f;
}

DatasetScore sized_result(const std::vector<EvalSample>& samples, bool from_prefix) {
    DatasetScore out;
    out.samples.resize(samples.size());
    out.per_sample.resize(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) out.samples[i].index = samples[i].index;
    out.from_prefix = from_prefix;
    return out;
}

double elapsed_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Stop ids for generation: the model's EOS ids, the tokenizer's EOS and the
// end-of-turn markers of the chat families that exist as special tokens.
std::vector<int64_t> stop_ids(const Transformer& model, const Tokenizer& tok) {
    std::set<int64_t> ids(model.spec().eos_token_ids.begin(), model.spec().eos_token_ids.end());
    if (auto e = tok.eos_id()) ids.insert(*e);
    for (const char* marker : {"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|endoftext|>", "</s>"}) {
        if (auto id = tok.token_to_id(marker); id && tok.is_special(*id)) ids.insert(*id);
    }
    return {ids.begin(), ids.end()};
}

// New tokens a generation mode may produce: the original's modes allow twice
// max_length, as its generate call does.
int64_t max_new_tokens(const EvalMode& mode, const EvalSettings& settings) {
    return mode.original_format ? 2 * settings.max_length : settings.quality_max_new_tokens;
}

// Decode work of the engine's generate: every generated token but the last is fed
// back through all N layers (a token is not fed when it is EOS or the last allowed).
void count_decode(const GenerateResult& gen, int64_t N, EvalStats& stats) {
    int64_t steps = 0;
    for (size_t m = 0; m < gen.tokens.size(); ++m) {
        const int64_t fed =
            static_cast<int64_t>(gen.tokens[m].size()) + (gen.stop[m] == StopReason::eos ? 1 : 0) - 1;
        stats.layer_token_rows += N * std::max<int64_t>(fed, 0);
        steps = std::max(steps, fed);
    }
    stats.forward_layers += N * steps;
}

// Greedy decoding from a prefix at layer L > 0, as olm::generate (same steps, same
// stop rules), sharing layers [0, L) of generated tokens with the recorded run.
// While every active row has fed exactly the recorded tokens, the states entering
// L are taken from the record and layers [0, L) are skipped; their K/V are caught
// up in one chunk when a row first diverges (never, when none does). The first
// run at a position (record.layer != L) computes everything and records.
GenerateResult generate_shared(Transformer& model, const PrefixState& prefix, const GenerateOptions& options,
                               DecodeRecord& record, EvalStats& stats) {
    c10::InferenceMode guard;
    const int64_t B = prefix.batch.size(), L = prefix.layer, N = model.num_layers();
    GenerateResult result;
    result.tokens.resize(B);
    result.stop.assign(B, StopReason::max_new_tokens);
    if (options.max_new_tokens <= 0) return result;
    const bool recording = record.layer != L;
    if (recording) {
        record = DecodeRecord();
        record.layer = L;
        record.fed.resize(B);
        record.hidden.resize(B);
    }
    std::vector<bool> on_record(B, !recording);

    KvCache cache = prefix.cache.clone(L);
    cache.reserve_hint(prefix.batch.width() + options.max_new_tokens);
    at::Tensor h = model.run_layers(prefix.hidden, prefix.batch, L, N, &cache);
    stats.layer_token_rows += (N - L) * B * prefix.batch.width();
    stats.forward_layers += N - L;
    at::Tensor logits = model.head(h.select(1, h.size(1) - 1));  // [B, V]

    GreedyRows rows(prefix.batch, options, result);
    std::vector<std::vector<int64_t>> owed(
        B);  // per prompt: fed tokens whose [0, L) K/V are not in the cache
    int64_t owed_count = 0;

    while (rows.advance(logits, cache)) {
        const std::vector<int64_t>& active = rows.active();
        const std::vector<int64_t>& keep_tokens = rows.tokens();
        const std::vector<int64_t>& next_pos = rows.positions();
        const auto n = static_cast<int64_t>(active.size());
        bool all_on = !recording;
        for (int64_t r = 0; r < n; ++r) {
            const int64_t idx = active[r];
            const size_t j = result.tokens[idx].size() - 1;  // index of the token fed now
            on_record[idx] =
                on_record[idx] && j < record.fed[idx].size() && record.fed[idx][j] == keep_tokens[r];
            all_on = all_on && on_record[idx];
        }
        const Batch step = rows.step_batch();
        at::Tensor x;  // [n, 1, H] entering L
        if (all_on) {
            std::vector<at::Tensor> rows;
            for (int64_t r = 0; r < n; ++r) {
                const int64_t idx = active[r];
                rows.push_back(record.hidden[idx][result.tokens[idx].size() - 1]);
                owed[idx].push_back(keep_tokens[r]);
            }
            x = at::stack(rows).unsqueeze(1);
            ++owed_count;
        } else {
            if (owed_count > 0) {  // catch up layers [0, L) for the tokens fed on the record
                std::vector<int64_t> ids, pos;
                for (int64_t r = 0; r < n; ++r) {
                    const int64_t idx = active[r];
                    for (int64_t k = 0; k < owed_count; ++k) {
                        ids.push_back(owed[idx][k]);
                        pos.push_back(next_pos[r] - owed_count + k);
                    }
                    owed[idx].clear();
                }
                Batch chunk;
                chunk.ids = at::tensor(ids, at::kLong).view({n, owed_count});
                chunk.mask = at::ones({n, owed_count}, at::kBool);
                chunk.positions = at::tensor(pos, at::kLong).view({n, owed_count});
                chunk.lengths.assign(n, owed_count);
                model.run_layers(model.embed(chunk), chunk, 0, L, &cache);
                stats.layer_token_rows += L * n * owed_count;
                stats.forward_layers += L;
                owed_count = 0;
            }
            x = model.run_layers(model.embed(step), step, 0, L, &cache);
            stats.layer_token_rows += L * n;
            stats.forward_layers += L;
            if (recording) {
                for (int64_t r = 0; r < n; ++r) {
                    const int64_t idx = active[r];
                    record.fed[idx].push_back(keep_tokens[r]);
                    record.hidden[idx].push_back(x[r][0].clone());
                }
            }
        }
        rows.fed();
        x = model.run_layers(x, step, L, N, &cache);
        stats.layer_token_rows += (N - L) * n;
        stats.forward_layers += N - L;
        logits = model.head(x.select(1, 0));  // [n, V]
    }
    return result;
}
}  // namespace

std::vector<std::vector<int64_t>> plan_batches(const std::vector<int64_t>& lengths, int64_t budget) {
    std::vector<int64_t> order(lengths.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
    std::vector<std::vector<int64_t>> batches;
    std::vector<int64_t> current;
    for (int64_t i : order) {
        // Ascending order: the newcomer is the longest of the group.
        if (!current.empty() && static_cast<int64_t>(current.size() + 1) * lengths[i] > budget) {
            batches.push_back(std::move(current));
            current.clear();
        }
        current.push_back(i);
    }
    if (!current.empty()) batches.push_back(std::move(current));
    return batches;
}

Evaluator::Evaluator(Transformer& model, const Tokenizer& tok, EvalSettings settings, ProgressSink* sink)
    : m_model(model), m_tok(tok), m_settings(std::move(settings)), m_sink(sink) {
    if (m_settings.batch_tokens <= 0) throw Error("batch_tokens must be positive");
}

Evaluator::~Evaluator() = default;

void Evaluator::set_sink(ProgressSink* sink) { m_sink = sink; }

void Evaluator::check_cancel() const {
    if (m_sink && m_sink->cancelled()) throw Cancelled();
}

void Evaluator::begin_position(int64_t first_variable_layer) {
    if (first_variable_layer < 0 || first_variable_layer > m_model.num_layers())
        throw Error("begin_position: layer " + std::to_string(first_variable_layer) + " outside [0, " +
                    std::to_string(m_model.num_layers()) + "]");
    m_prefix_layer = first_variable_layer;
}

void Evaluator::end_position() {
    m_prefix_layer.reset();
    drop_caches();
}

void Evaluator::drop_caches() {
    for (auto& [key, plan] : m_plans) {
        for (TfBatch& b : plan->tf) b.hidden = at::Tensor();
        for (GenBatch& g : plan->gen) {
            g.prefix.reset();
            g.record = DecodeRecord();
        }
    }
    m_cache_layer = -1;
    m_cache_fixed.clear();
}

std::vector<at::Tensor> Evaluator::fixed_tensors(int64_t end_layer) const {
    std::vector<at::Tensor> out;
    out.push_back(m_model.boundary().embed_tokens);
    for (int64_t l = 0; l < end_layer; ++l) {
        const LayerWeights w = m_model.layer(l);
        for (const UnitTensors& u : w.units) {
            out.push_back(u.weight);
            out.push_back(u.bias);
        }
    }
    return out;
}

namespace {

// The same tensor: the held handle keeps its memory alive, so equal data
// pointer, dtype, sizes and strides mean the same bytes.
bool same_tensor(const at::Tensor& a, const at::Tensor& b) {
    if (a.defined() != b.defined()) return false;
    if (!a.defined()) return true;
    return a.data_ptr() == b.data_ptr() && a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
           a.strides() == b.strides() && a.device() == b.device();
}

}  // namespace

void Evaluator::sync_prefix() {
    const int64_t L = *m_prefix_layer;
    if (m_cache_layer >= 0) {
        const std::vector<at::Tensor> now = fixed_tensors(m_cache_layer);
        bool same = m_cache_layer <= L && now.size() == m_cache_fixed.size();
        for (size_t i = 0; same && i < now.size(); ++i) same = same_tensor(now[i], m_cache_fixed[i]);
        if (!same) drop_caches();
    }
    if (m_cache_layer >= 0 && m_cache_layer < L) {
        // Forward: run the kept states through the layers that became fixed.
        c10::InferenceMode guard;
        const int64_t from = m_cache_layer;
        for (auto& [key, plan] : m_plans) {
            for (TfBatch& b : plan->tf) {
                if (!b.hidden.defined()) continue;
                check_cancel();
                b.hidden = m_model.run_layers(b.hidden, b.batch, from, L);
                m_stats.layer_token_rows += (L - from) * b.batch.size() * b.batch.width();
                m_stats.forward_layers += L - from;
            }
            for (GenBatch& g : plan->gen) {
                if (!g.prefix) continue;
                check_cancel();
                g.prefix->hidden =
                    m_model.run_layers(g.prefix->hidden, g.prefix->batch, from, L, &g.prefix->cache);
                g.prefix->layer = L;
                m_stats.layer_token_rows += (L - from) * g.prefix->batch.size() * g.prefix->batch.width();
                m_stats.forward_layers += L - from;
            }
        }
    }
    if (m_cache_layer != L) {
        m_cache_layer = L;
        m_cache_fixed = fixed_tensors(L);
    }
}

Evaluator::Plan& Evaluator::plan_for(const EvalDataset& dataset, EvalSplit split) {
    const auto key = std::make_tuple(&dataset, static_cast<int>(split));
    const std::string fingerprint = dataset_fingerprint(dataset, split);
    auto it = m_plans.find(key);
    if (it != m_plans.end() && it->second->fingerprint == fingerprint) return *it->second;

    auto plan = std::make_unique<Plan>();
    plan->fingerprint = fingerprint;
    plan->split = split;
    const std::vector<EvalSample>& samples = dataset.samples(split);
    const EvalMode& mode = find_mode(dataset.mode);
    std::vector<int64_t> lengths;
    for (const EvalSample& s : samples) {
        if (mode.kind == ModeKind::teacher_forced)
            lengths.push_back(static_cast<int64_t>(s.context_ids.size() + s.response_ids.size()) - 1);
        else if (mode.kind == ModeKind::greedy_target)
            lengths.push_back(static_cast<int64_t>(s.context_ids.size() + s.response_ids.size()));
        else  // the prompt plus what may be generated
            lengths.push_back(static_cast<int64_t>(s.context_ids.size()) + max_new_tokens(mode, m_settings));
    }
    for (const std::vector<int64_t>& group : plan_batches(lengths, m_settings.batch_tokens)) {
        if (mode.kind == ModeKind::teacher_forced) {
            TfBatch b;
            b.members = group;
            std::vector<std::vector<int64_t>> seqs;
            std::vector<int64_t> rows, cols, targets;
            for (size_t m = 0; m < group.size(); ++m) {
                const EvalSample& s = samples[group[m]];
                if (s.context_ids.empty() || s.response_ids.empty())
                    throw Error("dataset " + dataset.name + ", sample " + std::to_string(s.index) +
                                ": empty context or response");
                std::vector<int64_t> seq = s.context_ids;
                seq.insert(seq.end(), s.response_ids.begin(), s.response_ids.end() - 1);
                seqs.push_back(std::move(seq));
                b.offsets.push_back(static_cast<int64_t>(rows.size()));
                const auto c = static_cast<int64_t>(s.context_ids.size());
                for (size_t t = 0; t < s.response_ids.size(); ++t) {
                    rows.push_back(static_cast<int64_t>(m));
                    cols.push_back(c - 1 + static_cast<int64_t>(t));  // right padding: column = position
                    targets.push_back(s.response_ids[t]);
                }
            }
            b.offsets.push_back(static_cast<int64_t>(rows.size()));
            b.batch = make_batch(seqs, PadSide::right);
            b.rows = at::tensor(rows, at::kLong);
            b.cols = at::tensor(cols, at::kLong);
            b.targets = at::tensor(targets, at::kLong);
            plan->tf.push_back(std::move(b));
        } else {
            GenBatch g;
            g.members = group;
            for (int64_t i : group) g.prompts.push_back(samples[i].context_ids);
            plan->gen.push_back(std::move(g));
        }
    }
    Plan& ref = *plan;
    m_plans[key] = std::move(plan);
    return ref;
}

DatasetScore Evaluator::score(const EvalDataset& dataset, EvalSplit split,
                              std::optional<uint64_t> content_key) {
    const auto memo_key = std::make_tuple(
        content_key.value_or(0), dataset.name + '\n' + dataset.path.string(), static_cast<int>(split));
    if (content_key) {
        auto it = m_memo.find(memo_key);
        if (it != m_memo.end()) {
            DatasetScore reused = it->second;
            reused.reused = true;
            reused.seconds = 0.0;
            ++m_stats.reused;
            return reused;
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    const EvalMode& mode = find_mode(dataset.mode);
    if (dataset.samples(split).empty())
        throw Error("dataset " + dataset.name + ": the " + split_name(split) + " split has no samples");
    Plan& plan = plan_for(dataset, split);
    if (m_settings.prefix_cache && m_prefix_layer) sync_prefix();
    DatasetScore result = mode.kind == ModeKind::teacher_forced  ? score_teacher_forced(mode, dataset, plan)
                          : mode.kind == ModeKind::greedy_target ? score_greedy_target(mode, dataset, plan)
                                                                 : score_generation(mode, dataset, plan);
    result.split = split;
    const auto n = static_cast<double>(result.per_sample.size());
    double sum = 0.0, correct = 0.0;
    for (const SampleResult& s : result.samples) {
        sum += s.score;
        correct += s.correct ? 1.0 : 0.0;
    }
    result.score = sum / n;
    result.accuracy = correct / n;
    result.seconds = elapsed_since(t0);
    ++m_stats.evaluations;
    if (content_key) m_memo[memo_key] = result;
    return result;
}

DatasetScore Evaluator::score_teacher_forced(const EvalMode& mode, const EvalDataset& dataset, Plan& plan) {
    c10::InferenceMode guard;
    const int64_t N = m_model.num_layers();
    const bool use_prefix = m_settings.prefix_cache && m_prefix_layer.has_value();
    const int64_t L = use_prefix ? *m_prefix_layer : 0;

    const size_t total = dataset.samples(plan.split).size();
    DatasetScore out = sized_result(dataset.samples(plan.split), use_prefix && L > 0);
    long long done = 0;
    for (TfBatch& b : plan.tf) {
        check_cancel();
        const int64_t rows_tokens = b.batch.size() * b.batch.width();
        at::Tensor h;
        if (use_prefix) {
            if (!b.hidden.defined()) {
                b.hidden = m_model.run_layers(m_model.embed(b.batch), b.batch, 0, L);
                m_stats.layer_token_rows += L * rows_tokens;
                m_stats.forward_layers += L;
            }
            h = b.hidden;
        } else {
            h = m_model.embed(b.batch);
        }
        const int64_t from = use_prefix ? L : 0;
        h = m_model.run_layers(h, b.batch, from, N);
        m_stats.layer_token_rows += (N - from) * rows_tokens;
        m_stats.forward_layers += N - from;
        const at::Tensor logits = m_model.head_at(h, b.rows, b.cols);  // [R, V] float32
        m_stats.head_rows += logits.size(0);
        const std::vector<TokenStats> stats = token_stats(logits, b.targets);
        for (size_t m = 0; m < b.members.size(); ++m) {
            const std::vector<TokenStats> mine(stats.begin() + b.offsets[m],
                                               stats.begin() + b.offsets[m + 1]);
            const SampleScore s = mode.score_tokens(mine);
            const int64_t pos = b.members[m];
            out.per_sample[pos] = s.score;
            out.samples[pos].score = s.score;
            out.samples[pos].correct = s.correct;
            out.samples[pos].penalty = s.penalty;
        }
        done += static_cast<long long>(b.members.size());
        if (m_sink) m_sink->progress("evaluate " + dataset.name, done, static_cast<long long>(total));
    }
    return out;
}

DatasetScore Evaluator::score_generation(const EvalMode& mode, const EvalDataset& dataset, Plan& plan) {
    c10::InferenceMode guard;
    const int64_t N = m_model.num_layers();
    const bool use_prefix = m_settings.prefix_cache && m_prefix_layer.has_value();
    const int64_t L = use_prefix ? *m_prefix_layer : 0;
    GenerateOptions options;
    options.max_new_tokens = max_new_tokens(mode, m_settings);
    if (!mode.original_format)
        options.eos_ids = stop_ids(m_model, m_tok);
    else if (auto e = m_tok.eos_id())  // the original stops at the tokenizer's EOS only
        options.eos_ids = {*e};

    const size_t total = dataset.samples(plan.split).size();
    DatasetScore out = sized_result(dataset.samples(plan.split), use_prefix && L > 0);
    long long done = 0;
    for (GenBatch& g : plan.gen) {
        check_cancel();
        GenerateResult gen;
        if (use_prefix) {
            if (!g.prefix) {
                g.prefix = std::make_unique<PrefixState>(run_prefix(m_model, g.prompts, L));
                m_stats.layer_token_rows += L * g.prefix->batch.size() * g.prefix->batch.width();
                m_stats.forward_layers += L;
            }
            if (L > 0) {
                gen = generate_shared(m_model, *g.prefix, options, g.record, m_stats);
            } else {
                gen = generate(m_model, *g.prefix, options);
                m_stats.layer_token_rows += N * g.prefix->batch.size() * g.prefix->batch.width();
                m_stats.forward_layers += N;
                count_decode(gen, N, m_stats);
            }
        } else {
            gen = generate(m_model, g.prompts, options);
            // Counted as the left-padded prompt batch the engine runs.
            int64_t width = 0;
            for (const auto& p : g.prompts) width = std::max<int64_t>(width, static_cast<int64_t>(p.size()));
            m_stats.layer_token_rows += N * static_cast<int64_t>(g.prompts.size()) * width;
            m_stats.forward_layers += N;
            count_decode(gen, N, m_stats);
        }
        for (size_t m = 0; m < g.members.size(); ++m) {
            const std::vector<int64_t>& ids = gen.tokens[m];
            m_stats.generated_tokens += static_cast<int64_t>(ids.size());
            const std::string text =
                m_tok.decode_for_display(std::vector<int32_t>(ids.begin(), ids.end()), /*skip_special=*/true);
            const SampleScore s = mode.score_text(text, m_settings);
            const int64_t pos = g.members[m];
            SampleResult& r = out.samples[pos];
            r.score = s.score;
            r.correct = s.correct;
            r.penalty = s.penalty;
            r.generated_text = text;
            r.generated_ids = ids;
            out.per_sample[pos] = s.score;
        }
        done += static_cast<long long>(g.members.size());
        if (m_sink) m_sink->progress("evaluate " + dataset.name, done, static_cast<long long>(total));
    }
    return out;
}

DatasetScore Evaluator::score_greedy_target(const EvalMode& mode, const EvalDataset& dataset, Plan& plan) {
    c10::InferenceMode guard;
    const int64_t N = m_model.num_layers();
    const bool use_prefix = m_settings.prefix_cache && m_prefix_layer.has_value();
    const int64_t L = use_prefix ? *m_prefix_layer : 0;
    const std::vector<EvalSample>& samples = dataset.samples(plan.split);

    DatasetScore out = sized_result(samples, use_prefix && L > 0);
    long long done = 0;
    for (GenBatch& g : plan.gen) {
        check_cancel();
        std::unique_ptr<PrefixState> local;
        const PrefixState* prefix = nullptr;
        if (use_prefix) {
            if (!g.prefix) {
                g.prefix = std::make_unique<PrefixState>(run_prefix(m_model, g.prompts, L));
                m_stats.layer_token_rows += L * g.prefix->batch.size() * g.prefix->batch.width();
                m_stats.forward_layers += L;
            }
            prefix = g.prefix.get();
        } else {
            local = std::make_unique<PrefixState>(run_prefix(m_model, g.prompts, 0));
            prefix = local.get();
        }
        const int64_t B = prefix->batch.size();
        const int64_t from = prefix->layer;
        // Every row decodes for as many steps as the longest target of the batch
        // (each row's own steps are scored; EOS does not stop it, as in the original).
        int64_t steps = 0;
        std::vector<int64_t> length(static_cast<size_t>(B));
        for (int64_t m = 0; m < B; ++m) {
            length[m] = static_cast<int64_t>(samples[g.members[m]].response_ids.size());
            steps = std::max(steps, length[m]);
        }
        KvCache cache = prefix->cache.clone(from);
        cache.reserve_hint(prefix->batch.width() + steps);
        at::Tensor h = m_model.run_layers(prefix->hidden, prefix->batch, from, N, &cache);
        m_stats.layer_token_rows += (N - from) * B * prefix->batch.width();
        m_stats.forward_layers += N - from;
        at::Tensor logits = m_model.head(h.select(1, h.size(1) - 1));  // [B, V] (left padding)
        std::vector<std::vector<TokenStats>> per(static_cast<size_t>(B));
        std::vector<int64_t> pos(prefix->batch.lengths.begin(), prefix->batch.lengths.end());
        for (int64_t t = 0; t < steps; ++t) {
            std::vector<int64_t> targets(static_cast<size_t>(B), 0);
            for (int64_t m = 0; m < B; ++m)
                if (t < length[m]) targets[m] = samples[g.members[m]].response_ids[t];
            const std::vector<TokenStats> st = token_stats(logits, at::tensor(targets, at::kLong));
            m_stats.head_rows += B;
            std::vector<int64_t> next(static_cast<size_t>(B));
            for (int64_t m = 0; m < B; ++m) {
                if (t < length[m]) per[m].push_back(st[m]);
                next[m] = st[m].argmax;
            }
            if (t + 1 == steps) break;
            Batch step;
            step.ids = at::tensor(next, at::kLong).view({B, 1});
            step.mask = at::ones({B, 1}, at::kBool);
            step.positions = at::tensor(pos, at::kLong).view({B, 1});
            step.lengths.assign(B, 1);
            for (auto& p : pos) ++p;
            at::Tensor x = m_model.run_layers(m_model.embed(step), step, 0, N, &cache);
            m_stats.layer_token_rows += N * B;
            m_stats.forward_layers += N;
            m_stats.generated_tokens += B;
            logits = m_model.head(x.select(1, 0));  // [B, V]
        }
        for (int64_t m = 0; m < B; ++m) {
            const SampleScore s = mode.score_tokens(per[m]);
            const int64_t p = g.members[m];
            out.per_sample[p] = s.score;
            out.samples[p].score = s.score;
            out.samples[p].correct = s.correct;
            out.samples[p].penalty = s.penalty;
            for (const TokenStats& ts : per[m]) out.samples[p].generated_ids.push_back(ts.argmax);
        }
        done += static_cast<long long>(g.members.size());
        if (m_sink)
            m_sink->progress("evaluate " + dataset.name, done, static_cast<long long>(samples.size()));
    }
    return out;
}

}  // namespace olm
