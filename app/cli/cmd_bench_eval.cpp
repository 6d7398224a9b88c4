// olm bench eval: the evaluation work of a full forward-direction layer search
// (every position, every pool model's layer, one dataset per mode), measured in
// one run three ways: no prefix cache; prefix cache; prefix cache + identical-
// candidate reuse. Work = sum over layer runs of layers x batch rows x tokens
// (the engine's unit of cost), plus wall time. Checks that the runs choose the
// same winners and that cached scores equal uncached ones.
//
// Everything is generated here: a pool of 4 random Llama-shaped models that
// share a base (fine-tunes = base + noise), a byte-level BPE tokenizer.json
// with ChatML markers, and three conversation datasets written to a temporary
// folder and read back through the normal dataset loader.
#include "app/cli/args.h"
#include "app/cli/bench.h"
#include "app/cli/bench_tokenizer.h"
#include "core/eval/content_hash.h"
#include "core/eval/evaluator.h"
#include "core/model/transformer.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "core/util/threads.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include <unistd.h>

namespace {

using namespace olm;
namespace fs = std::filesystem;

// A real byte-level BPE tokenizer.json (no merges: one token per byte) with ChatML specials.
Tokenizer make_tokenizer() {
    nlohmann::json vocab = nlohmann::json::object();
    for (int b = 0; b < 256; ++b) vocab[cli::byte_level_char(static_cast<unsigned char>(b))] = b;
    nlohmann::json added = nlohmann::json::array();
    const char* specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 0; i < 3; ++i)
        added.push_back({{"id", 256 + i},
                         {"content", specials[i]},
                         {"single_word", false},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", false},
                         {"special", true}});
    const nlohmann::json tok = cli::byte_level_bpe_json(vocab, nlohmann::json::array(), added);
    const nlohmann::json config = {
        {"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"}, {"bos_token", nullptr}};
    return Tokenizer::from_json(tok.dump(), config.dump(), "bench tokenizer.json");
}

const char* kWords[] = {"the",     "model",   "layer",  "merge",  "river",    "stone", "light",
                        "quickly", "because", "seven",  "answer", "question", "green", "under",
                        "small",   "market",  "winter", "reason", "data",     "blue"};

std::string sentence(std::mt19937_64& rng, int words) {
    std::string s;
    for (int i = 0; i < words; ++i) {
        if (i) s += ' ';
        s += kWords[rng() % 20];
    }
    return s;
}

// Conversation JSON with n samples; prompts of 8-30 words, responses of 3-12 (empty for quality).
fs::path write_dataset(const fs::path& dir, const std::string& name, int n, bool with_response,
                       uint64_t seed) {
    std::mt19937_64 rng(seed);
    nlohmann::json arr = nlohmann::json::array();
    for (int i = 0; i < n; ++i) {
        const std::string q = sentence(rng, 8 + static_cast<int>(rng() % 23)) + "?";
        const std::string a = with_response ? sentence(rng, 3 + static_cast<int>(rng() % 10)) + "." : "";
        arr.push_back(
            {{"conversation", {{{"from", "human"}, {"value", q}}, {{"from", "gpt"}, {"value", a}}}}});
    }
    const fs::path p = dir / (name + ".json");
    std::ofstream(p) << arr.dump();
    return p;
}

at::Tensor linear_weight(int64_t out, int64_t in) { return at::randn({out, in}) / std::sqrt(double(in)); }

LayerWeights base_layer(const ModelSpec& s) {
    const int64_t h = s.hidden_size, q = s.num_attention_heads * s.head_dim,
                  kv = s.num_key_value_heads * s.head_dim;
    LayerWeights w;
    w[LayerUnit::input_layernorm].weight = at::ones({h});
    w[LayerUnit::post_attention_layernorm].weight = at::ones({h});
    w[LayerUnit::q_proj].weight = linear_weight(q, h);
    w[LayerUnit::k_proj].weight = linear_weight(kv, h);
    w[LayerUnit::v_proj].weight = linear_weight(kv, h);
    w[LayerUnit::o_proj].weight = linear_weight(h, q);
    w[LayerUnit::gate_proj].weight = linear_weight(s.intermediate_size, h);
    w[LayerUnit::up_proj].weight = linear_weight(s.intermediate_size, h);
    w[LayerUnit::down_proj].weight = linear_weight(h, s.intermediate_size);
    return w;
}

// base + relative noise on every defined tensor: a "fine-tune" of the layer.
LayerWeights perturbed(const LayerWeights& base, double rel) {
    LayerWeights w = base;
    for (UnitTensors& u : w.units)
        if (u.weight.defined())
            u.weight = u.weight + rel * u.weight.abs().mean() * at::randn(u.weight.sizes());
    return w;
}

struct RunResult {
    std::string name;
    std::vector<int> winners;
    std::vector<std::vector<double>> scores;  // [position * candidates][dataset]
    std::vector<EvalStats> stats;             // per dataset (= per mode)
    std::vector<double> seconds;              // per dataset
};

RunResult run_search(const std::string& name, Transformer& model,
                     const std::vector<std::vector<LayerWeights>>& pool, const Tokenizer& tok,
                     const std::vector<EvalDataset>& datasets, EvalSettings settings, bool identical_reuse) {
    const int64_t N = model.num_layers();
    const int M = static_cast<int>(pool.size());
    for (int64_t l = 0; l < N; ++l) model.set_layer(l, pool[0][l]);  // start from the base
    model.commit();
    std::vector<std::unique_ptr<Evaluator>> evs;
    for (size_t d = 0; d < datasets.size(); ++d)
        evs.push_back(std::make_unique<Evaluator>(model, tok, settings));
    // Content key of the model = its per-layer recipe (which pool model sits where).
    std::vector<std::vector<uint64_t>> layer_hash(M, std::vector<uint64_t>(N));
    for (int m = 0; m < M; ++m)
        for (int64_t l = 0; l < N; ++l) layer_hash[m][l] = layer_content_hash(pool[m][l]);
    std::vector<int> recipe(N, 0);
    RunResult r;
    r.name = name;
    r.seconds.assign(datasets.size(), 0.0);
    for (int64_t L = 0; L < N; ++L) {
        for (auto& ev : evs) ev->begin_position(L);
        std::vector<std::vector<double>> scores(M, std::vector<double>(datasets.size()));
        for (int c = 0; c < M; ++c) {
            model.set_layer(L, pool[c][L]);
            recipe[L] = c;
            uint64_t key = 0x5EED;
            for (int64_t l = 0; l < N; ++l) key = hash_combine(key, layer_hash[recipe[l]][l]);
            for (size_t d = 0; d < datasets.size(); ++d) {
                const DatasetScore s = identical_reuse ? evs[d]->score(datasets[d], EvalSplit::selection, key)
                                                       : evs[d]->score(datasets[d]);
                scores[c][d] = s.score;
                r.seconds[d] += s.seconds;
            }
            r.scores.push_back(scores[c]);
        }
        // Winner: smallest sum of per-dataset ranks, ties to the earlier model.
        int winner = 0;
        double best = 1e300;
        for (int c = 0; c < M; ++c) {
            double rank_sum = 0;
            for (size_t d = 0; d < datasets.size(); ++d)
                for (int o = 0; o < M; ++o) rank_sum += scores[o][d] < scores[c][d] ? 1 : 0;
            if (rank_sum < best) best = rank_sum, winner = c;
        }
        model.set_layer(L, pool[winner][L]);
        model.commit();
        recipe[L] = winner;
        r.winners.push_back(winner);
    }
    for (auto& ev : evs) r.stats.push_back(ev->stats());
    return r;
}

int run_bench(const std::vector<std::string>& argv) {
    cli::Args args(argv,
                   {"layers", "models", "hidden", "intermediate", "samples", "max-new-tokens", "batch-tokens",
                    "threads", "seed", "noise"},
                   {});
    const int nthreads = apply_thread_settings(cpu_threads(static_cast<int>(args.int_or("threads", 0))));
    const int64_t layers = args.int_or("layers", 8), hidden = args.int_or("hidden", 64);
    const int models = static_cast<int>(args.int_or("models", 4));
    const int samples = static_cast<int>(args.int_or("samples", 8));
    const double noise = args.double_or("noise", 0.05);
    if (layers < 1 || models < 2 || hidden < 8 || samples < 1) throw Error("bench eval: bad sizes");

    ModelSpec spec;
    spec.architecture = "LlamaForCausalLM";
    spec.model_type = "llama";
    spec.hidden_size = hidden;
    spec.intermediate_size = args.int_or("intermediate", 3 * hidden);
    spec.num_hidden_layers = layers;
    spec.num_attention_heads = 4;
    spec.num_key_value_heads = 2;
    spec.head_dim = hidden / 4;
    spec.vocab_size = 259;
    spec.rms_norm_eps = 1e-5;
    spec.max_position_embeddings = 4096;
    spec.eos_token_ids = {258};

    at::manual_seed(static_cast<uint64_t>(args.int_or("seed", 1)));
    BoundaryWeights boundary;
    boundary.embed_tokens = at::randn({spec.vocab_size, hidden});
    boundary.norm = at::ones({hidden});
    boundary.lm_head = at::randn({spec.vocab_size, hidden}) / std::sqrt(double(hidden));
    std::vector<std::vector<LayerWeights>> pool(models);
    for (int64_t l = 0; l < layers; ++l) pool[0].push_back(base_layer(spec));
    for (int m = 1; m < models; ++m)
        for (int64_t l = 0; l < layers; ++l) pool[m].push_back(perturbed(pool[0][l], noise));
    Transformer model(spec);
    model.set_boundary(boundary);

    const Tokenizer tok = make_tokenizer();
    const fs::path dir = fs::temp_directory_path() / ("olm-bench-eval-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    EvalSettings settings;
    settings.samples = samples;
    settings.chat_family = "chatml";
    settings.quality_max_new_tokens = args.int_or("max-new-tokens", 64);
    settings.batch_tokens = args.int_or("batch-tokens", 4096);
    settings.min_words = 5;
    std::vector<EvalDataset> datasets;
    datasets.push_back(
        load_eval_dataset(write_dataset(dir, "exact", samples, true, 11), "exact", tok, settings));
    datasets.push_back(
        load_eval_dataset(write_dataset(dir, "bigram", samples, true, 12), "bigram", tok, settings));
    datasets.push_back(
        load_eval_dataset(write_dataset(dir, "quality", samples, false, 13), "quality", tok, settings));
    fs::remove_all(dir);

    int64_t tokens = 0;
    for (const auto& ds : datasets)
        for (const auto& s : ds.selection)
            tokens += static_cast<int64_t>(s.context_ids.size() + s.response_ids.size());
    std::printf(
        "olm bench eval: forward layer search, %lld layers x %d models, hidden %lld, intermediate %lld, "
        "vocab %lld\n",
        static_cast<long long>(layers), models, static_cast<long long>(hidden),
        static_cast<long long>(spec.intermediate_size), static_cast<long long>(spec.vocab_size));
    std::printf(
        "datasets: exact, bigram, quality; %d samples each, %lld prompt+response tokens in all; quality "
        "max_new_tokens %lld; batch_tokens %lld; %d threads; libtorch CPU fp32\n\n",
        samples, static_cast<long long>(tokens), static_cast<long long>(settings.quality_max_new_tokens),
        static_cast<long long>(settings.batch_tokens), nthreads);

    EvalSettings off = settings;
    off.prefix_cache = false;
    std::vector<RunResult> runs;
    runs.push_back(run_search("no prefix cache", model, pool, tok, datasets, off, false));
    runs.push_back(run_search("prefix cache", model, pool, tok, datasets, settings, false));
    runs.push_back(run_search("prefix cache + identical", model, pool, tok, datasets, settings, true));

    auto total_work = [](const RunResult& r) {
        int64_t w = 0;
        for (const auto& s : r.stats) w += s.layer_token_rows;
        return w;
    };
    auto total_time = [](const RunResult& r) {
        double t = 0;
        for (double s : r.seconds) t += s;
        return t;
    };
    const RunResult& base = runs[0];
    std::printf("%-26s %16s %7s %9s %7s %6s %7s\n", "run", "work (l*rows)", "ratio", "time s", "ratio",
                "evals", "reused");
    for (const RunResult& r : runs) {
        int64_t evals = 0, reused = 0;
        for (const auto& s : r.stats) evals += s.evaluations, reused += s.reused;
        std::printf("%-26s %16lld %7.3f %9.2f %7.3f %6lld %7lld\n", r.name.c_str(),
                    static_cast<long long>(total_work(r)), double(total_work(r)) / double(total_work(base)),
                    total_time(r), total_time(r) / total_time(base), static_cast<long long>(evals),
                    static_cast<long long>(reused));
    }
    std::printf("\nper mode (work ratio / time ratio against no prefix cache):\n");
    for (size_t d = 0; d < datasets.size(); ++d) {
        std::printf("  %-8s", datasets[d].mode.c_str());
        for (size_t i = 1; i < runs.size(); ++i)
            std::printf("   %s: %.3f / %.3f", runs[i].name.c_str(),
                        double(runs[i].stats[d].layer_token_rows) / double(base.stats[d].layer_token_rows),
                        runs[i].seconds[d] / base.seconds[d]);
        std::printf("\n");
    }
    double max_rel = 0.0;
    bool same_winners = true;
    for (size_t i = 1; i < runs.size(); ++i) {
        same_winners = same_winners && runs[i].winners == base.winners;
        for (size_t k = 0; k < base.scores.size() && k < runs[i].scores.size(); ++k)
            for (size_t d = 0; d < datasets.size(); ++d) {
                const double a = runs[i].scores[k][d], b = base.scores[k][d];
                max_rel = std::max(max_rel, std::abs(a - b) / std::max(std::abs(b), 1e-12));
            }
    }
    std::string winners;
    for (int w : base.winners) winners += std::to_string(w);
    std::printf("\nwinners per position: %s; same in all runs: %s; max relative score difference: %.2e\n",
                winners.c_str(), same_winners ? "yes" : "NO", max_rel);
    return same_winners && max_rel <= 1e-5 ? 0 : 1;
}

}  // namespace

OLM_BENCHMARK("eval",
              "evaluation work of a forward layer search: prefix cache and identical candidates vs none",
              "[--layers 8] [--models 4] [--hidden 64] [--intermediate 3*hidden] [--samples 8]\n"
              "       [--max-new-tokens 64] [--batch-tokens 4096] [--noise 0.05] [--seed 1] [--threads N]",
              run_bench);
