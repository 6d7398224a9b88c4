// olm bench merge: OLM Studio's layer search against the original OLM's method
// built from the same engine, on the same generated pool, in one process.
//
//   (a) OLM Studio: `olm merge` in-process (MergeRun, preset original, the pool
//       memory-mapped once, batched evaluation, prefix cache, KV cache in the
//       greedy modes, the report written after every candidate, no export).
//   (b) The original's method (olm.py): for every evaluation the candidate
//       model is read again from disk whole (every tensor copied into fresh
//       memory, as from_pretrained does), its layer is put into the working
//       model, every sample is scored alone (batch 1) through all layers (no
//       prefix cache), `exact_match` recomputes the whole sequence at every
//       greedy step (no KV cache), and the whole working model is written to
//       disk after every position.
//
// Both score with the original's current modes (exact_match, bigram_loss),
// choose with its rule (selection: ranks = Copeland on per-dataset ranks) and
// must choose the same model at every layer; (b)'s scores, computed here from
// the logits with nothing shared with the evaluator but the mode formulas, are
// compared with (a)'s. Printed: wall time of each and their ratio, the
// evaluation work of each, and the FLOPs each needed against the matmul rate
// measured in the same run.
//
// The pool is generated with a planted solution (write_pool): a random
// Qwen2-shaped "truth", a base = truth with noise in every layer, models that
// each carry some of truth's layers, a word-level byte-BPE tokenizer.json
// (ChatML specials) padded to the vocabulary size, and two conversation
// datasets whose answers are truth's own greedy continuations.
#include "app/cli/args.h"
#include "app/cli/bench.h"
#include "app/cli/bench_timing.h"
#include "app/cli/bench_tokenizer.h"
#include "core/eval/dataset.h"
#include "core/eval/modes.h"
#include "core/io/architecture.h"
#include "core/io/model_config.h"
#include "core/io/model_folder.h"
#include "core/io/safetensors_writer.h"
#include "core/merge/config.h"
#include "core/merge/run.h"
#include "core/merge/search.h"
#include "core/model/batch.h"
#include "core/model/transformer.h"
#include "core/model/weights.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "core/util/threads.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <unistd.h>

namespace {

using namespace olm;
namespace fs = std::filesystem;
using Json = nlohmann::json;
using cli::Clock;
using cli::seconds_since;
using cli::timed_merge;

// "m3" (written so that GCC 12's -Wstringop-overflow false positive on
// literal + std::string stays quiet)
std::string model_name(int m) { return std::to_string(m).insert(0, 1, 'm'); }

struct Shape {
    int64_t hidden = 512, intermediate = 1536, layers = 8, heads = 8, kv_heads = 2, vocab = 32000;
    int models = 4;
    int samples = 32;
    double noise = 0.1;
    uint64_t seed = 1;
    // Every m<k> (k > 0) adds noise of its own (this relative scale) to m0's
    // layers where it does not hold truth's: no two candidates are identical.
    double own_noise = 0;
};

const char* kWords[] = {"the",     "model",  "layer",  "merge",  "river",  "stone",  "light",
                        "quickly", "seven",  "answer", "green",  "under",  "small",  "question",
                        "blue",    "winter", "data",   "reason", "market", "because"};
// Words of the prompt format that are worth one token each.
const char* kFormatWords[] = {"user", "assistant", "system", "think", "Correct", "answer"};

std::string byte_char(unsigned char b) { return cli::byte_level_char(b); }

// A byte-level BPE tokenizer.json whose merges build every word (bare and with
// a leading space) into one token, ChatML specials, padded with unreachable
// entries to `vocab` ids.
void write_tokenizer(const fs::path& dir, int64_t vocab_size) {
    Json vocab = Json::object();
    int64_t next = 0;
    for (int b = 0; b < 256; ++b) vocab[byte_char(static_cast<unsigned char>(b))] = next++;
    Json merges = Json::array();
    std::set<std::string> seen;
    auto add_word = [&](const std::string& word) {
        std::string cur = byte_char(static_cast<unsigned char>(word[0]));
        for (size_t i = 1; i < word.size(); ++i) {
            const std::string ch = byte_char(static_cast<unsigned char>(word[i]));
            const std::string merge = cur + " " + ch;
            cur += ch;
            if (seen.insert(merge).second) merges.push_back(merge);
            if (!vocab.contains(cur)) vocab[cur] = next++;
        }
    };
    for (const char* w : kWords) add_word(w), add_word(std::string(" ") + w);
    for (const char* w : kFormatWords) add_word(w), add_word(std::string(" ") + w);
    Json added = Json::array();
    for (const char* s : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
        added.push_back({{"id", next},
                         {"content", s},
                         {"single_word", false},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", false},
                         {"special", true}});
        vocab[s] = next++;
    }
    if (next > vocab_size) throw Error("bench merge: --vocab must be at least " + std::to_string(next));
    for (int64_t i = 0; next < vocab_size; ++i) vocab["<unused_" + std::to_string(i) + ">"] = next++;
    const Json tok = cli::byte_level_bpe_json(vocab, merges, added);
    std::ofstream(dir / "tokenizer.json") << tok.dump();
    const Json cfg = {{"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"}, {"bos_token", nullptr}};
    std::ofstream(dir / "tokenizer_config.json") << cfg.dump(2);
}

Json qwen2_config(const Shape& s, int64_t eos_id) {
    return {{"architectures", {"Qwen2ForCausalLM"}},
            {"model_type", "qwen2"},
            {"hidden_size", s.hidden},
            {"intermediate_size", s.intermediate},
            {"num_hidden_layers", s.layers},
            {"num_attention_heads", s.heads},
            {"num_key_value_heads", s.kv_heads},
            {"vocab_size", s.vocab},
            {"hidden_act", "silu"},
            {"rms_norm_eps", 1e-6},
            {"rope_theta", 1000000.0},
            {"max_position_embeddings", 4096},
            {"tie_word_embeddings", false},
            {"use_sliding_window", false},
            {"sliding_window", nullptr},
            {"bos_token_id", nullptr},
            {"eos_token_id", eos_id},
            {"torch_dtype", "float32"}};
}

// Greedy continuations of `truth` (in memory) after each context, `steps[i]`
// tokens each, chosen among `allowed` ids (whole words with a leading space).
std::vector<std::vector<int64_t>> truth_answers(Transformer& truth,
                                                const std::vector<std::vector<int64_t>>& contexts,
                                                const std::vector<int64_t>& steps,
                                                const at::Tensor& allowed) {
    at::InferenceMode guard;
    std::vector<std::vector<int64_t>> seqs = contexts, out(contexts.size());
    const int64_t most = *std::max_element(steps.begin(), steps.end());
    for (int64_t t = 0; t < most; ++t) {
        const Batch b = make_batch(seqs);
        const at::Tensor h = truth.run_layers(truth.embed(b), b, 0, truth.num_layers());
        std::vector<int64_t> rows, cols;
        for (int64_t i = 0; i < b.size(); ++i) rows.push_back(i), cols.push_back(b.lengths[i] - 1);
        const at::Tensor logits = truth.head_at(h, at::tensor(rows, at::kLong), at::tensor(cols, at::kLong));
        const at::Tensor pick = allowed.index_select(0, logits.index_select(1, allowed).argmax(1));
        for (size_t i = 0; i < seqs.size(); ++i) {
            const int64_t id = pick[static_cast<int64_t>(i)].item<int64_t>();
            seqs[i].push_back(id);
            if (t < steps[i]) out[i].push_back(id);
        }
    }
    return out;
}

// Writes a planted pool under dir/models and its two datasets under
// dir/datasets:
//   truth  a random Qwen2-shaped model (dir/truth, not in the pool)
//   m0     the base: truth with relative noise in every layer tensor
//   m<k>   the base with truth's layers l where l % (models - 1) == k - 1
//   data   short random questions; answers = truth's greedy continuation of
//          the original's prompt (so the closer to truth, the better it scores)
// Returns the planted model name of every layer.
std::vector<std::string> write_pool(const fs::path& dir, const Shape& s) {
    const fs::path models = dir / "models", truth_dir = dir / "truth";
    fs::create_directories(truth_dir);
    write_tokenizer(truth_dir, s.vocab);
    const Tokenizer tok = Tokenizer::from_folder(truth_dir);
    const auto eos = tok.token_to_id("<|im_end|>");
    if (!eos) throw Error("bench merge: the generated tokenizer has no <|im_end|>");
    std::ofstream(truth_dir / "config.json") << qwen2_config(s, *eos).dump(2);
    const ModelSpec spec = load_model_spec(truth_dir);
    const Architecture& arch = architecture_for(spec);
    std::vector<int64_t> words;
    for (const char* w : kWords) words.push_back(*tok.token_to_id(byte_char(' ') + w));
    const at::Tensor allowed = at::tensor(words, at::kLong);

    at::manual_seed(s.seed);
    std::vector<std::pair<std::string, at::Tensor>> truth;
    for (const ExpectedTensor& t : all_tensors(arch, spec)) {
        if (!t.required) continue;
        at::Tensor v;
        const int64_t in = t.shape.size() == 2 ? t.shape[1] : 1;
        if (is_norm_role(t.role)) {
            v = at::ones(t.shape);
        } else if (t.shape.size() == 1) {  // biases
            v = 0.02 * at::randn(t.shape);
        } else if (t.role == TensorRole::embed_tokens) {
            v = at::randn(t.shape);
        } else if (t.role == TensorRole::lm_head) {
            // logits of std ~8 for the words, ~0.3 for every other id: peaked on the words
            v = (0.3 / std::sqrt(double(in))) * at::randn(t.shape);
            v.index_copy_(0, allowed, (8.0 / std::sqrt(double(in))) * at::randn({allowed.size(0), in}));
        } else {
            v = at::randn(t.shape) / std::sqrt(double(in));
        }
        truth.emplace_back(t.name, v);
    }
    write_safetensors_file(truth_dir / "model.safetensors", truth);

    std::vector<std::pair<std::string, at::Tensor>> base;
    for (const auto& [name, v] : truth) {
        at::Tensor w = v;
        if (layer_of(arch, name) >= 0 && v.dim() == 2) w = v + s.noise * v.std() * at::randn(v.sizes());
        base.emplace_back(name, w);
    }
    std::vector<std::string> planted(static_cast<size_t>(s.layers));
    for (int m = 0; m < s.models; ++m) {
        const fs::path d = models / (model_name(m));
        fs::create_directories(d);
        for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"})
            fs::copy_file(truth_dir / f, d / f);
        std::vector<std::pair<std::string, at::Tensor>> tensors;
        for (size_t i = 0; i < base.size(); ++i) {
            const int l = layer_of(arch, base[i].first);
            const bool from_truth = m > 0 && l >= 0 && l % (s.models - 1) == m - 1;
            at::Tensor w = from_truth ? truth[i].second : base[i].second;
            if (!from_truth && m > 0 && l >= 0 && s.own_noise > 0 && w.dim() == 2)
                w = w + s.own_noise * w.std() * at::randn(w.sizes());
            tensors.emplace_back(base[i].first, w);
            if (from_truth) planted[static_cast<size_t>(l)] = model_name(m);
        }
        write_safetensors_file(d / "model.safetensors", tensors);
    }

    const ModelFolder truth_folder = ModelFolder::open(truth_dir);
    Transformer truth_model = Transformer::from_folder(truth_folder);
    fs::create_directories(dir / "datasets");
    std::mt19937_64 rng(s.seed + 100);
    auto sentence = [&](int n) {
        std::string out;
        for (int i = 0; i < n; ++i) {
            if (i) out += ' ';
            out += kWords[rng() % 20];
        }
        return out;
    };
    for (const char* name : {"exact", "bigram"}) {
        std::vector<std::string> questions;
        std::vector<std::vector<int64_t>> contexts;
        std::vector<int64_t> steps;
        for (int i = 0; i < s.samples; ++i) {
            questions.push_back(sentence(8 + static_cast<int>(rng() % 9)) + "?");
            const std::vector<int32_t> c =
                tok.encode(original_context({{"user", questions.back()}, {"assistant", ""}}, false), true);
            contexts.emplace_back(c.begin(), c.end());
            steps.push_back(2 + static_cast<int64_t>(rng() % 3));
        }
        const auto answers = truth_answers(truth_model, contexts, steps, allowed);
        Json arr = Json::array();
        for (int i = 0; i < s.samples; ++i) {
            std::vector<int32_t> ids(answers[i].begin(), answers[i].end());
            std::string a = tok.decode(ids, true);
            if (!a.empty() && a[0] == ' ') a.erase(0, 1);
            arr.push_back(
                {{"conversation",
                  {{{"from", "human"}, {"value", questions[i]}}, {{"from", "gpt"}, {"value", a}}}}});
        }
        std::ofstream(dir / "datasets" / (std::string(name) + ".json")) << arr.dump();
    }
    return planted;
}

std::string merge_yaml(const Shape& s) {
    std::string models;
    for (int m = 0; m < s.models; ++m) models += (m ? ", m" : "m") + std::to_string(m);
    return "models_dir: models\n"
           "models: [" +
           models +
           "]\n"
           "base_model_name: m0\n"
           "dataset_dir: datasets\n"
           "dataset:\n"
           "  exact.json: {mode: exact_match, think: false}\n"
           "  bigram.json: {mode: bigram_loss, think: false}\n"
           "samples: " +
           std::to_string(s.samples) +
           "\n"
           "search: original\n"
           "selection: ranks\n"
           "layer_swap: true\n"
           "tensor_swap: false\n"
           "boundary_select: false\n"
           "base_select: false\n"
           "improve_all: \"\"\n"
           "references: false\n"
           "safeguard: off\n"
           "device: cpu\n"
           "dtype: fp32\n"
           "output_dir: out\n";
}

// --- (a) OLM Studio ----------------------------------------------------------

struct Outcome {
    std::vector<std::string> winners;                                   // per layer
    std::map<std::pair<int, std::string>, std::vector<double>> scores;  // (layer, candidate) -> per dataset
    double seconds = 0;
    EvaluationWork work;
    long long evaluations = 0;  // candidate x dataset scorings
    double bytes_read = 0, bytes_written = 0;
};

class Recorder : public MergeEvents {
public:
    explicit Recorder(Outcome& out, std::vector<std::string> datasets)
        : m_out(out), m_datasets(std::move(datasets)) {}
    void candidate_finished(const CandidateEvent& c, const CandidateResult& r) override {
        if (c.position.kind != PositionId::Kind::layer) return;
        std::vector<double> v;
        for (const auto& d : m_datasets) v.push_back(r.scores.count(d) ? r.scores.at(d) : NAN);
        m_out.scores[{c.position.layer, c.name}] = v;
        m_out.evaluations += static_cast<long long>(r.scores.size());
    }
    void position_decided(const PositionDecision& d) override {
        if (d.position.kind != PositionId::Kind::layer) return;
        const auto l = static_cast<size_t>(d.position.layer);
        if (m_out.winners.size() <= l) m_out.winners.resize(l + 1);
        m_out.winners[l] = d.best_name;
    }
    void search_work(const EvaluationWork& w) override { m_out.work = w; }

private:
    Outcome& m_out;
    std::vector<std::string> m_datasets;
};

Outcome run_studio(const fs::path& dir, const Shape& s) {
    Outcome out;
    fs::remove_all(dir / "out");
    std::ofstream(dir / "merge.yaml") << merge_yaml(s);
    MergeConfig cfg = load_merge_config(dir / "merge.yaml");
    Recorder rec(out, {"exact.json", "bigram.json"});  // the config's dataset names
    out.seconds = timed_merge(cfg, rec);
    out.bytes_written = static_cast<double>(fs::file_size(dir / "out" / "merge_report.json"));
    return out;
}

// --- (b) the original's method ----------------------------------------------

struct NaiveCounters {
    long long forwards = 0, layer_token_rows = 0, head_rows = 0, generated = 0;
};

// One batch-1 forward over the whole sequence: logits [T, V] at every position.
at::Tensor full_forward(Transformer& model, const std::vector<int64_t>& ids, NaiveCounters& c) {
    const at::Tensor logits = model.forward(make_batch({ids}));
    ++c.forwards;
    c.layer_token_rows += model.num_layers() * static_cast<long long>(ids.size());
    c.head_rows += static_cast<long long>(ids.size());
    return logits[0];
}

double score_naive(Transformer& model, const EvalDataset& ds, NaiveCounters& c) {
    const EvalMode& mode = find_mode(ds.mode);
    double sum = 0;
    for (const EvalSample& s : ds.selection) {
        const auto T = static_cast<int64_t>(s.response_ids.size());
        if (mode.kind == ModeKind::greedy_target) {
            // The original: the whole sequence again at every step, its own argmax appended.
            std::vector<int64_t> ids = s.context_ids;
            std::vector<TokenStats> steps;
            for (int64_t t = 0; t < T; ++t) {
                const at::Tensor logits = full_forward(model, ids, c);
                const at::Tensor last = logits.slice(0, logits.size(0) - 1);
                const at::Tensor target = at::tensor(std::vector<int64_t>{s.response_ids[t]}, at::kLong);
                const TokenStats st = token_stats(last, target)[0];
                steps.push_back(st);
                ids.push_back(st.argmax);
                ++c.generated;
            }
            sum += mode.score_tokens(steps).score;
        } else {
            std::vector<int64_t> ids = s.context_ids;
            ids.insert(ids.end(), s.response_ids.begin(), s.response_ids.end());
            const at::Tensor logits = full_forward(model, ids, c);
            const auto C = static_cast<int64_t>(s.context_ids.size());
            const at::Tensor rows = logits.slice(0, C - 1, C - 1 + T);
            const at::Tensor targets = at::tensor(s.response_ids, at::kLong);
            sum += mode.score_tokens(token_stats(rows, targets)).score;
        }
    }
    return sum / static_cast<double>(ds.selection.size());
}

// Reads a model folder again and copies every tensor into fresh memory (what
// from_pretrained does); returns layer `layer` of the copy.
LayerWeights reload_layer(const fs::path& folder, int64_t layer, double& bytes) {
    const ModelFolder f = ModelFolder::open(folder);
    for (const std::string& n : f.names()) {
        const at::Tensor t = f.tensor(n).clone();
        bytes += static_cast<double>(t.numel() * t.element_size());
    }
    LayerWeights w = load_layer_weights(f, layer);
    for (UnitTensors& u : w.units) {
        if (u.weight.defined()) u.weight = u.weight.clone();
        if (u.bias.defined()) u.bias = u.bias.clone();
    }
    return w;
}

Outcome run_naive(const fs::path& dir, const Shape& s, NaiveCounters& c) {
    Outcome out;
    const auto t0 = Clock::now();
    std::vector<fs::path> folders;
    std::vector<std::string> names;
    for (int m = 0; m < s.models; ++m) {
        names.push_back(model_name(m));
        folders.push_back(dir / "models" / names.back());
    }
    const ModelFolder base = ModelFolder::open(folders[0]);
    Transformer model = Transformer::from_folder(base);
    const Tokenizer tok = Tokenizer::from_folder(folders[0]);
    EvalSettings settings;
    settings.samples = s.samples;
    std::vector<EvalDataset> datasets;
    datasets.push_back(load_eval_dataset(dir / "datasets" / "exact.json", "exact_match", tok, settings));
    datasets.push_back(load_eval_dataset(dir / "datasets" / "bigram.json", "bigram_loss", tok, settings));

    const Architecture& arch = base.architecture();
    std::vector<int> recipe(static_cast<size_t>(s.layers), 0);
    const fs::path save = dir / "naive-working-model";
    fs::create_directories(save);
    at::InferenceMode guard;
    for (int64_t L = 0; L < s.layers; ++L) {
        std::vector<std::vector<double>> scores;
        for (int m = 0; m < s.models; ++m) {
            model.set_layer(L, reload_layer(folders[m], L, out.bytes_read));
            std::vector<double> row;
            for (const EvalDataset& ds : datasets) {
                row.push_back(score_naive(model, ds, c));
                ++out.evaluations;
            }
            out.scores[{static_cast<int>(L), names[m]}] = row;
            scores.push_back(row);
        }
        const int best = select_best(scores, std::vector<bool>(scores.size(), true), SelectionRule::ranks,
                                     /*slot=*/true);
        recipe[L] = best;
        model.set_layer(L, reload_layer(folders[best], L, out.bytes_read));
        model.commit();
        out.winners.push_back(names[best]);
        // The whole working model to disk after every position.
        std::vector<ModelFolder> open;
        for (const auto& f : folders) open.push_back(ModelFolder::open(f));
        std::vector<std::pair<std::string, at::Tensor>> tensors;
        for (const std::string& n : base.names()) {
            const int l = layer_of(arch, n);
            tensors.emplace_back(n, open[l >= 0 ? recipe[l] : 0].tensor(n));
            out.bytes_written += static_cast<double>(tensors.back().second.numel() * 4);
        }
        write_safetensors_file(save / "model.safetensors", tensors);
    }
    out.seconds = seconds_since(t0);
    return out;
}

int run_bench(const std::vector<std::string>& argv) {
    cli::Args args(argv,
                   {"hidden", "intermediate", "layers", "heads", "kv-heads", "vocab", "models", "samples",
                    "noise", "own-noise", "seed", "threads", "blas-threads", "dir"},
                   {"quick", "keep", "thread-sweep", "pool-only", "no-original"});
    const bool quick = args.flag("quick");
    Shape s;
    s.hidden = args.int_or("hidden", quick ? 64 : 512);
    s.intermediate = args.int_or("intermediate", 3 * s.hidden);
    s.layers = args.int_or("layers", quick ? 3 : 8);
    s.heads = args.int_or("heads", quick ? 4 : 8);
    s.kv_heads = args.int_or("kv-heads", 2);
    s.vocab = args.int_or("vocab", quick ? 512 : 32000);
    s.models = static_cast<int>(args.int_or("models", quick ? 3 : 4));
    s.samples = static_cast<int>(args.int_or("samples", quick ? 8 : 32));
    s.noise = args.double_or("noise", quick ? 0.3 : 0.1);
    s.seed = static_cast<uint64_t>(args.int_or("seed", 1));
    s.own_noise = args.double_or("own-noise", 0.0);
    if (s.layers < 1 || s.models < 2 || s.samples < 1 || s.hidden % s.heads != 0 || s.heads % s.kv_heads != 0)
        throw Error(
            "bench merge: bad sizes (layers >= 1, models >= 2, samples >= 1, heads | hidden, kv-heads | "
            "heads)");
    ThreadSettings ts;
    ts.intra_op = static_cast<int>(args.int_or("threads", 0));
    if (auto b = args.value("blas-threads")) ts.blas = std::stoi(*b);
    const int threads = apply_thread_settings(ts);

    const bool keep = args.flag("keep") || args.value("dir").has_value();
    if (args.flag("pool-only") && !args.value("dir")) throw Error("bench merge: --pool-only needs --dir DIR");
    const fs::path dir = args.value("dir")
                             ? fs::path(*args.value("dir"))
                             : fs::temp_directory_path() / ("olm-bench-merge-" + std::to_string(::getpid()));
    if (fs::exists(dir) && !fs::is_empty(dir))
        throw Error("bench merge: " + dir.string() + " exists and is not empty");
    fs::create_directories(dir);

    const std::vector<std::string> planted = write_pool(dir, s);
    if (args.flag("pool-only")) {
        std::ofstream(dir / "merge.yaml") << merge_yaml(s);
        std::printf("wrote the pool, its datasets and merge.yaml under %s (run: olm merge %s --no-export)\n",
                    dir.string().c_str(), (dir / "merge.yaml").string().c_str());
        return 0;
    }
    const ModelSpec spec = load_model_spec(dir / "models" / "m0");
    const double layer_params = double(s.hidden) * double(spec.num_attention_heads * spec.head_dim) * 2 +
                                double(s.hidden) * double(spec.num_key_value_heads * spec.head_dim) * 2 +
                                3.0 * double(s.hidden) * double(s.intermediate);
    const double head_params = double(s.hidden) * double(s.vocab);
    std::printf("olm bench merge: OLM Studio's layer search vs the original's method on the same engine\n");
    std::printf(
        "pool: %d Qwen2-shaped models (m0 = a random truth + %.2g relative noise in every layer, m<k> = m0 "
        "with "
        "truth's layers l %% %d == k-1), hidden "
        "%lld, intermediate %lld, %lld layers, %lld heads / %lld kv heads, vocab %lld (%.1f M parameters, "
        "%.0f MB fp32 each)\n",
        s.models, s.noise, s.models - 1, (long long)s.hidden, (long long)s.intermediate, (long long)s.layers,
        (long long)s.heads, (long long)s.kv_heads, (long long)s.vocab,
        (layer_params * double(s.layers) + 2 * head_params) / 1e6,
        (layer_params * double(s.layers) + 2 * head_params) * 4 / 1e6);
    std::printf(
        "datasets: exact_match and bigram_loss (think: false), %d samples each; selection: ranks (Copeland); "
        "libtorch %s CPU fp32, %d intra-op threads, %d BLAS threads; folder %s\n\n",
        s.samples, TORCH_VERSION, threads, blas_threads(), dir.string().c_str());
    std::fflush(stdout);

    const Outcome studio = run_studio(dir, s);
    std::printf("OLM Studio done in %.1f s\n", studio.seconds);
    std::fflush(stdout);
    NaiveCounters nc;
    const bool original = !args.flag("no-original");
    const Outcome naive = original ? run_naive(dir, s, nc) : studio;
    if (original) std::printf("original's method done in %.1f s\n\n", naive.seconds);

    bool same = true, all_compared = true;
    double max_rel = 0;
    if (original) {
        const double mm = cli::matmul_gflops(at::kFloat, 512, s.hidden, s.intermediate, /*reps=*/5);
        auto gflop = [&](double layer_rows, double head_rows) {
            return (2 * layer_params * layer_rows + 2 * head_params * head_rows) / 1e9;
        };
        const double g_studio = gflop(double(studio.work.layer_token_rows), double(studio.work.head_rows));
        const double g_naive = gflop(double(nc.layer_token_rows), double(nc.head_rows));
        std::printf("%-20s %9s %12s %16s %12s %10s %10s %10s %9s\n", "method", "wall s", "scorings",
                    "layer x token", "logits rows", "generated", "GFLOP", "read MB", "write MB");
        std::printf("%-20s %9.1f %12lld %16lld %12lld %10lld %10.1f %10s %9.2f\n", "OLM Studio",
                    studio.seconds, (long long)studio.work.evaluations,
                    (long long)studio.work.layer_token_rows, (long long)studio.work.head_rows,
                    (long long)studio.work.generated_tokens, g_studio, "mmap once",
                    studio.bytes_written / 1e6);
        std::printf("%-20s %9.1f %12lld %16lld %12lld %10lld %10.1f %10.0f %9.0f\n", "original's method",
                    naive.seconds, naive.evaluations, nc.layer_token_rows, nc.head_rows, nc.generated,
                    g_naive, naive.bytes_read / 1e6, naive.bytes_written / 1e6);
        std::printf("\nwall-time ratio (original's method / OLM Studio): %.1fx; work ratio (GFLOP): %.1fx\n",
                    naive.seconds / studio.seconds, g_naive / g_studio);
        std::printf(
            "measured fp32 matmul rate: %.1f GFLOP/s; at that rate OLM Studio's projections and logits take "
            "%.1f s "
            "(%.0f%% of its wall time), the original's method's %.1f s (%.0f%%)\n",
            mm, g_studio / mm, 100 * g_studio / mm / studio.seconds, g_naive / mm,
            100 * g_naive / mm / naive.seconds);

        std::string a, b;
        for (const auto& w : studio.winners) a += w + " ";
        for (const auto& w : naive.winners) b += w + " ";
        max_rel = 0;
        size_t compared = 0;
        for (const auto& [key, v] : naive.scores) {
            auto it = studio.scores.find(key);
            if (it == studio.scores.end()) continue;
            for (size_t d = 0; d < v.size(); ++d) {
                const double rel = std::abs(it->second[d] - v[d]) / std::max(std::abs(v[d]), 1e-12);
                // a score missing on either side (NaN) is a disagreement, never a zero
                max_rel = std::isfinite(rel) ? std::max(max_rel, rel) : INFINITY;
                ++compared;
            }
        }
        same = studio.winners == naive.winners;
        int found = 0;
        for (size_t l = 0; l < planted.size() && l < studio.winners.size(); ++l)
            found += planted[l] == studio.winners[l];
        std::string p;
        for (const auto& w : planted) p += w + " ";
        all_compared = compared == naive.scores.size() * 2;
        std::printf("\nchoices per layer: OLM Studio %s| original's method %s| same: %s\n", a.c_str(),
                    b.c_str(), same ? "yes" : "NO");
        std::printf("planted (truth's layer): %s| found by both: %d of %zu layers\n", p.c_str(),
                    same ? found : 0, planted.size());
        std::printf(
            "scores compared: %zu (every candidate of every layer: %s); max relative difference %.2e\n",
            compared, all_compared ? "yes" : "NO", max_rel);
    }
    if (args.flag("thread-sweep")) {
        // OLM Studio's search again under each thread setting, twice, in alternating order.
        const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        std::vector<std::pair<int, int>> combos = {{1, 1}, {cores, 1}, {1, cores}, {cores, cores}};
        std::map<std::pair<int, int>, std::vector<double>> walls;
        for (int rep = 0; rep < 2; ++rep) {
            if (rep == 1) std::reverse(combos.begin(), combos.end());
            for (auto [ti, tb] : combos) {
                at::set_num_threads(ti);
                set_blas_threads(tb);
                const Outcome o = run_studio(dir, s);
                walls[{ti, tb}].push_back(o.seconds);
                if (o.winners != studio.winners)
                    throw Error("bench merge: choices changed with the thread setting");
            }
        }
        std::printf("\nOLM Studio's search per thread setting (wall s, two runs in alternating order):\n");
        std::printf("%-10s %-10s %10s %10s %10s\n", "intra-op", "BLAS", "run 1", "run 2", "best");
        for (const auto& [k, v] : walls)
            std::printf("%-10d %-10d %10.1f %10.1f %10.1f\n", k.first, k.second, v[0], v[1],
                        std::min(v[0], v[1]));
        apply_thread_settings(ts);
    }
    if (!keep) fs::remove_all(dir);
    return same && all_compared && max_rel <= 1e-4 ? 0 : 1;
}

}  // namespace

OLM_BENCHMARK("merge", "OLM Studio's layer search vs the original's method (reload, batch 1, no caches)",
              "[--quick] [--hidden 512] [--intermediate 3*hidden] [--layers 8] [--heads 8] [--kv-heads 2]\n"
              "       [--vocab 32000] [--models 4] [--samples 32] [--noise 0.1 (0.3 quick)] [--own-noise 0]\n"
              "       [--seed 1]\n"
              "       [--threads N] [--blas-threads N] [--thread-sweep] [--no-original]\n"
              "       [--dir DIR [--pool-only] | --keep]\n"
              "  --own-noise X  every m<k> but m0 adds noise of its own (relative scale X) to the layers\n"
              "                 where it does not hold truth's, so no two candidates are identical\n"
              "  --no-original  skip the original's method (with --thread-sweep: the sweep only)\n"
              "  --thread-sweep  OLM Studio's search again under intra-op x BLAS threads 1 and all cores\n"
              "  --dir DIR  write the pool, its merge.yaml and the report there and keep them\n"
              "  --pool-only  with --dir: only write the pool, its datasets and merge.yaml\n"
              "             (DIR must be new or empty; default: a temporary folder, removed)",
              run_bench);
