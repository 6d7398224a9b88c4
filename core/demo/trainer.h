#pragma once
// Training of the demo pool with libtorch autograd: a base model on the task
// mixture, then one specialist per task that fine-tunes only its own layers.
//
// Specialists are trained so that a layer-at-a-time merge can combine them:
//  - swap-dropout: at every step each own layer is replaced by the base's with
//    probability swap_dropout, so each layer helps on its own, not only as a set;
//  - locality: on the other tasks' samples, the hidden state after the
//    specialist's last own layer is pulled towards the base's, and each own
//    layer's output towards the base layer's output on the same input, so its
//    layers leave the other skills' inputs where the other specialists expect them;
//  - a share of the other tasks' data with a small language-model loss, as
//    general fine-tunes carry.
#include "core/demo/bpe_trainer.h"
#include "core/demo/corpus.h"
#include "core/demo/tiny_llama.h"
#include "core/util/progress.h"

#include <cstdint>
#include <vector>

namespace olm::demo {

// One tokenised conversation: prompt ids (context) and answer ids (answer + <|im_end|> + "\n").
struct TokenizedSample {
    Task task = Task::arithmetic;
    std::vector<int64_t> prompt;
    std::vector<int64_t> answer;
};

std::vector<TokenizedSample> tokenize_all(const ByteBpe& bpe, const std::vector<Conversation>& convs);

struct TrainSettings {
    int steps = 600;
    int batch_size = 32;
    double lr = 3e-3;
    double min_lr_ratio = 0.1;  // cosine decay to lr * min_lr_ratio
    double weight_decay = 0.01;
    double grad_clip = 1.0;
    uint64_t seed = 1;
    // Loss weighting: true = every sample counts the same (mean over its answer
    // tokens, then over samples); false = every answer token counts the same, so
    // long answers (the stories) dominate.
    bool per_sample_mean = false;
    // Specialists only.
    std::vector<int64_t> own_layers;  // layers the specialist trains (empty = all: the base)
    int own_task = -1;                // task index the specialist is for
    double own_share = 0.75;          // share of each batch from the own task
    double other_lm_weight = 0.2;     // CE weight on the other tasks' rows
    double swap_dropout = 0.5;        // probability an own layer is replaced by the base's
    double locality_weight = 1.0;     // relative MSE to the base's hidden state on other rows
    // Functional locality: on the other tasks' rows, each own layer applied to its
    // actual input is pulled towards the base's layer on the same input (squared
    // difference relative to the base layer's own change of the residual stream).
    // Unlike `locality_weight` this holds whatever the layers before it are, so the
    // layer stays a no-op change for the other skills when merged with other
    // specialists' layers.
    double layer_locality_weight = 0.0;
    // Probability that a layer of an earlier specialist (see train_specialist's
    // `earlier`) runs in place of the base's at a step, so this specialist's layers
    // learn to work on, and stay a no-op for, the residual streams those layers
    // produce: what a merge of several specialists feeds them.
    double earlier_layer_share = 0.5;
};

// Own layers of an already trained specialist.
struct SpecialistLayers {
    const TinyLlama* model = nullptr;
    std::vector<int64_t> layers;
};

struct TrainLog {
    std::vector<double> loss;  // per step
    double seconds = 0.0;
};

// Trains the base (own_layers empty: all parameters, uniform task mixture).
TrainLog train_base(TinyLlama& model, const std::vector<std::vector<TokenizedSample>>& data_by_task,
                    const TrainSettings& settings, ProgressSink& sink);

// Fine-tunes a copy of `base` in place of `specialist` (which must start as base.clone()).
// earlier: specialists trained before this one, whose own layers randomly replace
// the base's in the forward (TrainSettings::earlier_layer_share); their layers never
// change.
TrainLog train_specialist(TinyLlama& specialist, const TinyLlama& base,
                          const std::vector<std::vector<TokenizedSample>>& data_by_task,
                          const TrainSettings& settings, ProgressSink& sink,
                          const std::vector<SpecialistLayers>& earlier = {});

// Teacher-forced scores on samples: exact-match accuracy (every answer token is
// the argmax) and token accuracy, for the training log's diagnostics.
struct TaskScore {
    double exact = 0.0;
    double token = 0.0;
};
TaskScore score_task(const TinyLlama& model, const std::vector<TokenizedSample>& samples,
                     const std::vector<const TinyLlamaLayer*>& layers = {});

}  // namespace olm::demo
