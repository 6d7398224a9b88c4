#include "core/model/generate.h"

#include "core/util/error.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

namespace olm {

PrefixState run_prefix(Transformer& model, const std::vector<std::vector<int64_t>>& prompts, int64_t layer) {
    c10::InferenceMode guard;
    if (layer < 0 || layer > model.num_layers())
        throw Error("run_prefix: layer " + std::to_string(layer) + " outside [0, " +
                    std::to_string(model.num_layers()) + "]");
    PrefixState p;
    p.batch = make_batch(prompts, PadSide::left);
    p.layer = layer;
    p.cache = KvCache(model.num_layers());
    p.hidden = model.run_layers(model.embed(p.batch), p.batch, 0, layer, &p.cache);
    if (layer == 0) p.cache.set_valid(0, p.batch.mask.to(model.options().device));
    return p;
}

GreedyRows::GreedyRows(const Batch& prompts, const GenerateOptions& options, GenerateResult& result)
    : m_options(options), m_result(result), m_next_pos(prompts.lengths.begin(), prompts.lengths.end()) {
    m_active.resize(prompts.size());
    for (int64_t b = 0; b < prompts.size(); ++b) m_active[b] = b;
}

bool GreedyRows::advance(const at::Tensor& logits, KvCache& cache) {
    at::Tensor tok = logits.argmax(-1).to(at::kCPU);  // [n] first maximum on ties
    const int64_t* t = tok.data_ptr<int64_t>();
    std::vector<int64_t> keep;
    m_tokens.clear();
    for (size_t r = 0; r < m_active.size(); ++r) {
        const int64_t idx = m_active[r];
        const auto& eos = m_options.eos_ids;
        if (std::find(eos.begin(), eos.end(), t[r]) != eos.end()) {
            m_result.stop[idx] = StopReason::eos;
            continue;
        }
        m_result.tokens[idx].push_back(t[r]);
        if (static_cast<int64_t>(m_result.tokens[idx].size()) >= m_options.max_new_tokens) continue;
        keep.push_back(static_cast<int64_t>(r));
        m_tokens.push_back(t[r]);
    }
    if (keep.empty()) return false;
    if (keep.size() != m_active.size()) {  // drop finished rows from the cache
        cache.select_rows(at::tensor(keep, at::kLong).to(logits.device()));
        std::vector<int64_t> na, np;
        for (int64_t r : keep) {
            na.push_back(m_active[r]);
            np.push_back(m_next_pos[r]);
        }
        m_active = std::move(na);
        m_next_pos = std::move(np);
    }
    return true;
}

Batch GreedyRows::step_batch() const {
    const int64_t n = size();
    Batch step;
    step.ids = at::tensor(m_tokens, at::kLong).view({n, 1});
    step.mask = at::ones({n, 1}, at::kBool);
    step.positions = at::tensor(m_next_pos, at::kLong).view({n, 1});
    step.lengths.assign(n, 1);
    return step;
}

void GreedyRows::fed() {
    for (auto& p : m_next_pos) ++p;
}

GenerateResult generate(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                        const GenerateOptions& options) {
    return generate(model, run_prefix(model, prompts, 0), options);
}

namespace {

// The real tokens of row b of a left-padded prompt batch.
std::vector<int64_t> prompt_tokens(const Batch& batch, int64_t b) {
    const at::Tensor ids = batch.ids[b].to(at::kCPU).contiguous();
    const at::Tensor mask = batch.mask[b].to(at::kCPU).contiguous();
    std::vector<int64_t> out;
    for (int64_t j = 0; j < batch.width(); ++j)
        if (mask[j].item<bool>()) out.push_back(ids[j].item<int64_t>());
    return out;
}

}  // namespace

GenerateResult generate(Transformer& model, const PrefixState& prefix, const GenerateOptions& options) {
    c10::InferenceMode guard;
    const int64_t B = prefix.batch.size();
    GenerateResult result;
    result.tokens.resize(B);
    result.stop.assign(B, StopReason::max_new_tokens);
    if (options.max_new_tokens <= 0) return result;

    // Room for the whole generation up front: the cache does not grow per step.
    const int64_t capacity = prefix.batch.width() + options.max_new_tokens;
    KvCache cache = prefix.cache.clone(prefix.layer);
    cache.reserve_hint(capacity);
    at::Tensor h = model.run_layers(prefix.hidden, prefix.batch, prefix.layer, model.num_layers(), &cache);
    at::Tensor logits = model.head(h.select(1, h.size(1) - 1));  // [B, V] (left padding: last column is real)

    // Phi-3's longrope: the first time a sequence passes the original length,
    // transformers drops the cache and runs the whole sequence again, so every
    // key is rotated with the long factors (Phi3ForCausalLM.
    // prepare_inputs_for_generation). Prompts already past it start long.
    const RopeScaling& rope = model.spec().rope_scaling;
    const bool longrope = rope.type == "longrope";
    bool switched = !longrope || *std::max_element(prefix.batch.lengths.begin(), prefix.batch.lengths.end()) >
                                     rope.original_max_position_embeddings;

    GreedyRows rows(prefix.batch, options, result);
    while (rows.advance(logits, cache)) {
        const Batch step = rows.step_batch();
        const auto& pos = rows.positions();
        if (!switched &&
            *std::max_element(pos.begin(), pos.end()) + 1 > rope.original_max_position_embeddings) {
            switched = true;
            std::vector<std::vector<int64_t>> seqs;  // prompt + everything generated, incl. the token fed now
            for (int64_t idx : rows.active()) {
                seqs.push_back(prompt_tokens(prefix.batch, idx));
                seqs.back().insert(seqs.back().end(), result.tokens[idx].begin(), result.tokens[idx].end());
            }
            const Batch full = make_batch(seqs, PadSide::left);
            cache = KvCache(model.num_layers());
            cache.reserve_hint(full.width() + options.max_new_tokens);
            rows.fed();
            at::Tensor x = model.run_layers(model.embed(full), full, 0, model.num_layers(), &cache);
            logits = model.head(x.select(1, x.size(1) - 1));  // [n, V]
            continue;
        }
        rows.fed();
        at::Tensor x = model.run_layers(model.embed(step), step, 0, model.num_layers(), &cache);
        logits = model.head(x.select(1, 0));  // [n, V]
    }
    return result;
}

}  // namespace olm
