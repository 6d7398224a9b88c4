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

GenerateResult generate(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                        const GenerateOptions& options) {
    return generate(model, run_prefix(model, prompts, 0), options);
}

GenerateResult generate(Transformer& model, const PrefixState& prefix, const GenerateOptions& options) {
    c10::InferenceMode guard;
    const int64_t B = prefix.batch.size();
    const at::Device dev = model.options().device;
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

    std::vector<int64_t> active(B);  // batch row -> prompt index
    for (int64_t b = 0; b < B; ++b) active[b] = b;
    std::vector<int64_t> next_pos(prefix.batch.lengths.begin(), prefix.batch.lengths.end());

    while (true) {
        at::Tensor tok = logits.argmax(-1).to(at::kCPU);  // [b] first maximum on ties
        const int64_t* t = tok.data_ptr<int64_t>();
        std::vector<int64_t> keep;
        std::vector<int64_t> keep_tokens;
        for (size_t r = 0; r < active.size(); ++r) {
            const int64_t idx = active[r];
            const bool eos =
                std::find(options.eos_ids.begin(), options.eos_ids.end(), t[r]) != options.eos_ids.end();
            if (eos) {
                result.stop[idx] = StopReason::eos;
                continue;
            }
            result.tokens[idx].push_back(t[r]);
            if (static_cast<int64_t>(result.tokens[idx].size()) >= options.max_new_tokens) continue;
            keep.push_back(static_cast<int64_t>(r));
            keep_tokens.push_back(t[r]);
        }
        if (keep.empty()) break;
        if (keep.size() != active.size()) {  // drop finished rows from the cache
            at::Tensor rows = at::tensor(keep, at::kLong).to(dev);
            cache.select_rows(rows);
            std::vector<int64_t> na, np;
            for (int64_t r : keep) {
                na.push_back(active[r]);
                np.push_back(next_pos[r]);
            }
            active = std::move(na);
            next_pos = std::move(np);
        }
        const int64_t n = static_cast<int64_t>(active.size());
        Batch step;
        step.ids = at::tensor(keep_tokens, at::kLong).view({n, 1});
        step.mask = at::ones({n, 1}, at::kBool);
        step.positions = at::tensor(next_pos, at::kLong).view({n, 1});
        step.lengths.assign(n, 1);
        for (auto& p : next_pos) ++p;
        at::Tensor x = model.run_layers(model.embed(step), step, 0, model.num_layers(), &cache);
        logits = model.head(x.select(1, 0));  // [n, V]
    }
    return result;
}

}  // namespace olm
