// Needs autograd and the optimisers, so this one file includes <torch/torch.h>.
#include <torch/torch.h>

#include "core/demo/trainer.h"

#include "core/util/error.h"

#include <chrono>
#include <cmath>

namespace olm::demo {

std::vector<TokenizedSample> tokenize_all(const ByteBpe& bpe, const std::vector<Conversation>& convs) {
    std::vector<TokenizedSample> out;
    out.reserve(convs.size());
    for (const auto& c : convs)
        out.push_back({c.task, bpe.encode(prompt_chatml(c)), bpe.encode(answer_chatml(c))});
    return out;
}

namespace {

// A right-padded batch: ids [b, t]; targets [b, t] (the next token); answer_mask
// [b, t] = 1 where the target is an answer token; token_mask [b, t] = 1 where the
// position holds a real token.
struct Batch {
    at::Tensor ids, targets, answer_mask, token_mask;
    std::vector<int> task;  // per row
};

Batch make_batch(const std::vector<const TokenizedSample*>& rows) {
    int64_t len = 0;
    for (auto* s : rows)
        len = std::max<int64_t>(len, static_cast<int64_t>(s->prompt.size() + s->answer.size()));
    const int64_t b = static_cast<int64_t>(rows.size());
    auto ids = at::zeros({b, len}, at::kLong);
    auto targets = at::zeros({b, len}, at::kLong);
    auto amask = at::zeros({b, len}, at::kFloat);
    auto tmask = at::zeros({b, len}, at::kFloat);
    auto pid = ids.accessor<int64_t, 2>();
    auto ptg = targets.accessor<int64_t, 2>();
    auto pam = amask.accessor<float, 2>();
    auto ptm = tmask.accessor<float, 2>();
    Batch batch;
    for (int64_t r = 0; r < b; ++r) {
        const auto* s = rows[static_cast<size_t>(r)];
        std::vector<int64_t> seq = s->prompt;
        seq.insert(seq.end(), s->answer.begin(), s->answer.end());
        const int64_t n = static_cast<int64_t>(seq.size());
        const int64_t answer_begin = static_cast<int64_t>(s->prompt.size());
        for (int64_t t = 0; t < n; ++t) {
            pid[r][t] = seq[static_cast<size_t>(t)];
            ptm[r][t] = 1.f;
            if (t + 1 < n) {
                ptg[r][t] = seq[static_cast<size_t>(t + 1)];
                if (t + 1 >= answer_begin) pam[r][t] = 1.f;
            }
        }
        batch.task.push_back(static_cast<int>(s->task));
    }
    batch.ids = ids;
    batch.targets = targets;
    batch.answer_mask = amask;
    batch.token_mask = tmask;
    return batch;
}

// Per-token cross-entropy [b, t].
at::Tensor token_ce(const at::Tensor& logits, const at::Tensor& targets) {
    auto logp = at::log_softmax(logits, /*dim=*/-1);
    return -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
}

// Mean CE over the masked tokens: per token, or per sample first (see TrainSettings).
at::Tensor masked_mean(const at::Tensor& ce, const at::Tensor& mask, bool per_sample) {
    if (!per_sample) return (ce * mask).sum() / mask.sum().clamp_min(1.f);
    auto n = mask.sum(1);                               // [b]
    auto rows = (ce * mask).sum(1) / n.clamp_min(1.f);  // [b]
    auto used = (n > 0).to(at::kFloat);
    return (rows * used).sum() / used.sum().clamp_min(1.f);
}

double cosine_lr(const TrainSettings& s, int step) {
    const double progress = static_cast<double>(step) / std::max(1, s.steps);
    const double warm = std::min(1.0, (step + 1) / 20.0);
    return s.lr * warm * (s.min_lr_ratio + (1.0 - s.min_lr_ratio) * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

template <typename StepFn>
TrainLog run_steps(std::vector<at::Tensor> params, const TrainSettings& s, const char* stage,
                   ProgressSink& sink, StepFn&& step_loss) {
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(s.lr).weight_decay(s.weight_decay));
    TrainLog log;
    const auto t0 = std::chrono::steady_clock::now();
    for (int step = 0; step < s.steps; ++step) {
        if (sink.cancelled()) throw Cancelled();
        for (auto& group : opt.param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(cosine_lr(s, step));
        opt.zero_grad();
        at::Tensor loss = step_loss(step);
        loss.backward();
        torch::nn::utils::clip_grad_norm_(params, s.grad_clip);
        opt.step();
        log.loss.push_back(loss.item<double>());
        if (step % 25 == 0 || step + 1 == s.steps) sink.progress(stage, step + 1, s.steps);
    }
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return log;
}

std::vector<at::Tensor> all_parameters(const TinyLlama& m) {
    std::vector<at::Tensor> p = {m.embed_tokens, m.norm, m.lm_head};
    for (const auto& l : m.layers)
        for (auto& t : l.tensors()) p.push_back(t);
    return p;
}

}  // namespace

TrainLog train_base(TinyLlama& model, const std::vector<std::vector<TokenizedSample>>& data,
                    const TrainSettings& s, ProgressSink& sink) {
    Rng rng(s.seed);
    return run_steps(all_parameters(model), s, "train base", sink, [&](int) {
        std::vector<const TokenizedSample*> rows;
        for (int r = 0; r < s.batch_size; ++r) {
            const auto& pool = data[static_cast<size_t>(rng.below(data.size()))];
            rows.push_back(&pool[rng.below(pool.size())]);
        }
        Batch b = make_batch(rows);
        auto out = forward(model, b.ids);
        auto ce = token_ce(out.logits, b.targets);
        return masked_mean(ce, b.answer_mask, s.per_sample_mean);
    });
}

TrainLog train_specialist(TinyLlama& spec, const TinyLlama& base,
                          const std::vector<std::vector<TokenizedSample>>& data, const TrainSettings& s,
                          ProgressSink& sink, const std::vector<SpecialistLayers>& earlier) {
    for (const auto& e : earlier)
        for (int64_t li : e.layers)
            if (std::find(s.own_layers.begin(), s.own_layers.end(), li) != s.own_layers.end())
                throw Error("demo: layer " + std::to_string(li) + " belongs to two specialists");
    if (s.own_task < 0 || s.own_task >= static_cast<int>(data.size()))
        throw Error("demo: specialist without a task");
    if (s.own_layers.empty()) throw Error("demo: specialist without own layers");
    // Only the own layers learn; everything else stays the base's.
    std::vector<at::Tensor> params;
    for (auto& t : all_parameters(spec)) t.set_requires_grad(false);
    for (int64_t li : s.own_layers)
        for (auto& t : spec.layers[static_cast<size_t>(li)].tensors()) {
            t.set_requires_grad(true);
            params.push_back(t);
        }
    const int64_t last_own = *std::max_element(s.own_layers.begin(), s.own_layers.end());
    Rng rng(s.seed);
    const int own_rows = std::max(1, static_cast<int>(std::lround(s.own_share * s.batch_size)));
    std::string stage = std::string("train ") + task_name(task_from_index(s.own_task));
    return run_steps(params, s, stage.c_str(), sink, [&](int) {
        std::vector<const TokenizedSample*> rows;
        const auto& own = data[static_cast<size_t>(s.own_task)];
        for (int r = 0; r < own_rows; ++r) rows.push_back(&own[rng.below(own.size())]);
        for (int r = own_rows; r < s.batch_size; ++r) {
            int t = static_cast<int>(rng.below(data.size() - 1));
            if (t >= s.own_task) ++t;
            const auto& pool = data[static_cast<size_t>(t)];
            rows.push_back(&pool[rng.below(pool.size())]);
        }
        Batch b = make_batch(rows);
        // Swap-dropout: which own layers run this step (at least one).
        std::vector<const TinyLlamaLayer*> layers;
        for (size_t i = 0; i < spec.layers.size(); ++i) layers.push_back(&spec.layers[i]);
        std::vector<int64_t> dropped;
        for (int64_t li : s.own_layers)
            if (rng.uniform() < s.swap_dropout) dropped.push_back(li);
        if (dropped.size() == s.own_layers.size())
            dropped.erase(dropped.begin() + static_cast<long>(rng.below(dropped.size())));
        for (int64_t li : dropped) layers[static_cast<size_t>(li)] = &base.layers[static_cast<size_t>(li)];
        // Earlier specialists' layers in place of the base's, each with earlier_layer_share.
        for (const auto& e : earlier)
            for (int64_t li : e.layers)
                if (s.earlier_layer_share > 0 && rng.uniform() < s.earlier_layer_share)
                    layers[static_cast<size_t>(li)] = &e.model->layers[static_cast<size_t>(li)];

        auto out = forward(spec, b.ids, layers, last_own, /*keep_layer_inputs=*/s.layer_locality_weight > 0);
        auto ce = token_ce(out.logits, b.targets);  // [b, t]
        auto row_own = at::zeros({b.ids.size(0), 1}, at::kFloat);
        for (int r = 0; r < own_rows; ++r) row_own[r][0] = 1.f;
        auto row_other = 1.f - row_own;
        auto own_mask = b.answer_mask * row_own;
        auto other_mask = b.answer_mask * row_other;
        auto loss = masked_mean(ce, own_mask, s.per_sample_mean);
        if (s.other_lm_weight > 0 && other_mask.sum().item<float>() > 0)
            loss = loss + s.other_lm_weight * masked_mean(ce, other_mask, s.per_sample_mean);
        if (s.locality_weight > 0) {
            at::Tensor ref;
            {
                at::NoGradGuard no_grad;
                ref = forward(base, b.ids, {}, last_own).hidden;
            }
            auto tok = (b.token_mask * row_other).unsqueeze(-1);  // [b, t, 1]
            auto diff = ((out.hidden - ref).pow(2) * tok).sum();
            auto norm = (ref.pow(2) * tok).sum().clamp_min(1e-6);
            loss = loss + s.locality_weight * diff / norm;
        }
        if (s.layer_locality_weight > 0 && own_rows < b.ids.size(0)) {
            const int64_t n_other = b.ids.size(0) - own_rows;
            auto tok = b.token_mask.narrow(0, own_rows, n_other).unsqueeze(-1);  // [o, t, 1]
            at::Tensor diff = at::zeros({}, at::kFloat), norm = at::zeros({}, at::kFloat);
            for (int64_t li : s.own_layers) {
                auto in = out.layer_inputs[static_cast<size_t>(li)].narrow(0, own_rows, n_other).detach();
                at::Tensor ref;
                {
                    at::NoGradGuard no_grad;
                    ref = layer_forward(spec.shape, base.layers[static_cast<size_t>(li)], in);
                    norm = norm + ((ref - in).pow(2) * tok).sum();
                }
                auto mine = layer_forward(spec.shape, spec.layers[static_cast<size_t>(li)], in);
                diff = diff + ((mine - ref).pow(2) * tok).sum();
            }
            loss = loss + s.layer_locality_weight * diff / norm.clamp_min(1e-6);
        }
        return loss;
    });
}

TaskScore score_task(const TinyLlama& model, const std::vector<TokenizedSample>& samples,
                     const std::vector<const TinyLlamaLayer*>& layers) {
    at::NoGradGuard no_grad;
    TaskScore score;
    int64_t exact = 0, tokens = 0, correct = 0;
    for (size_t i = 0; i < samples.size(); i += 64) {
        std::vector<const TokenizedSample*> rows;
        for (size_t j = i; j < std::min(samples.size(), i + 64); ++j) rows.push_back(&samples[j]);
        Batch b = make_batch(rows);
        auto out = forward(model, b.ids, layers);
        auto hit = (out.logits.argmax(-1) == b.targets).to(at::kFloat) * b.answer_mask;  // [b, t]
        auto per_row_hits = hit.sum(1), per_row_n = b.answer_mask.sum(1);
        exact += (per_row_hits == per_row_n).sum().item<int64_t>();
        correct += static_cast<int64_t>(hit.sum().item<double>());
        tokens += static_cast<int64_t>(b.answer_mask.sum().item<double>());
    }
    score.exact = samples.empty() ? 0.0 : static_cast<double>(exact) / static_cast<double>(samples.size());
    score.token = tokens == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(tokens);
    return score;
}

}  // namespace olm::demo
