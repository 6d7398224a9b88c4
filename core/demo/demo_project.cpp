#include "core/demo/demo_project.h"

#include "core/io/safetensors_writer.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdlib>
#include <sstream>

namespace olm::demo {

DemoOptions DemoOptions::quick() {
    DemoOptions o;
    o.shape.num_layers = 3;
    o.shape.hidden_size = 32;
    o.shape.intermediate_size = 64;
    o.merge_count = 60;
    o.train_samples_per_task = 200;
    o.dataset_samples = 40;
    o.base_steps = 6;
    o.specialist_steps = 4;
    o.batch_size = 8;
    o.own_layers = {{0}, {1}, {2}};
    return o;
}

std::vector<std::string> demo_model_names() { return {"base", "arithmetic", "reverse", "story"}; }

std::filesystem::path bundled_demo_dir() {
    if (const char* env = std::getenv("OLM_DEMO_DIR"); env && *env) return env;
    return std::filesystem::path(OLM_RESOURCES_DIR) / "demo";
}

namespace {

const std::vector<std::string> kSpecials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

std::vector<Conversation> make_conversations(Task task, int count, uint64_t seed) {
    Rng rng(seed);
    std::vector<Conversation> out;
    for (int i = 0; i < count; ++i) out.push_back(make_conversation(task, rng));
    return out;
}

// Distinct seed streams for training data, datasets and initialisation.
uint64_t stream_seed(uint64_t seed, uint64_t stream, uint64_t index) {
    Rng r(seed ^ (stream * 0x9E3779B97F4A7C15ull) ^ (index * 0xC2B2AE3D27D4EB4Full));
    return r.next();
}

void write_json(const std::filesystem::path& file, const nlohmann::json& j) {
    write_file_atomic(file, j.dump(2) + "\n");
}

void write_model_folder(const std::filesystem::path& dir, const TinyLlama& model, const ByteBpe& bpe,
                        const DemoOptions& o, ProgressSink& sink) {
    std::filesystem::create_directories(dir);
    const DType dtype = o.dtype == "float32" ? DType::F32 : DType::BF16;
    std::vector<TensorSource> sources;
    for (const auto& [name, t] : model.named_tensors()) {
        at::Tensor value = t.detach();
        sources.push_back({name, dtype, value.sizes().vec(), [value] { return value; }, {}});
    }
    write_safetensors_model(dir, sources, {}, sink);
    const int64_t eos = bpe.special_id("<|im_end|>");
    const int64_t bos = bpe.special_id("<|endoftext|>");
    write_json(dir / "config.json", model.hf_config(bos, eos, o.dtype));
    write_json(dir / "generation_config.json", {{"bos_token_id", bos},
                                                {"eos_token_id", nlohmann::json::array({eos, bos})},
                                                {"do_sample", false},
                                                {"transformers_version", "4.46.0"}});
    write_json(dir / "tokenizer.json", bpe.tokenizer_json());
    write_json(dir / "tokenizer_config.json", bpe.tokenizer_config_json(o.shape.max_position_embeddings));
    write_json(dir / "special_tokens_map.json", {{"additional_special_tokens", {"<|im_start|>", "<|im_end|>"}},
                                                 {"eos_token", "<|im_end|>"},
                                                 {"pad_token", "<|endoftext|>"}});
}

std::string config_yaml(const DemoOptions& o) {
    std::ostringstream y;
    y << "# OLM Studio demo project: a tiny Llama base and three specialists trained by\n"
         "# `olm demo generate` (each fine-tuned its own layers on one skill). Merging\n"
         "# them layer by layer should give one model with all three skills.\n"
         "models_dir: pool\n"
         "models: [base, arithmetic, reverse, story]\n"
         "base_model_name: base\n"
         "output_dir: output\n"
         "dataset_dir: datasets\n"
         "dataset:\n"
         "  arithmetic.json: {mode: exact}\n"
         "  reverse.json: {mode: bigram}\n"
         "  story.json: {mode: quality}\n"
         "direction: forward\n"
         "layer_swap: true\n"
         "boundary_select: false\n"
         "tensor_swap: false\n"
         "selection: ranks\n"
      << "samples: " << o.dataset_samples << "\n"
      << "holdout: " << o.holdout << "\n"
      << "seed: 0\n"
         "# The stories are ~50 words; the original's 100-word minimum would fail them all.\n"
         "min_words: 30\n"
         "quality_max_new_tokens: 96\n"
         "dtype: float32\n"
         "search: better\n";
    return y.str();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Restores libtorch's intra-op thread count on scope exit.
struct ThreadScope {
    int saved;
    explicit ThreadScope(int n) : saved(at::get_num_threads()) { at::set_num_threads(std::max(1, n)); }
    ~ThreadScope() { at::set_num_threads(saved); }
};

}  // namespace

DemoResult generate_demo_project(const std::filesystem::path& out, const DemoOptions& o, ProgressSink& sink) {
    if (o.own_layers.size() != kTaskCount) throw Error("demo: own_layers needs one entry per task");
    for (const auto& layers : o.own_layers)
        for (int64_t li : layers)
            if (li < 0 || li >= o.shape.num_layers)
                throw Error("demo: own layer " + std::to_string(li) + " outside 0.." +
                            std::to_string(o.shape.num_layers - 1));
    ThreadScope threads(o.threads);
    const auto t_start = std::chrono::steady_clock::now();
    std::filesystem::create_directories(out / "datasets");
    std::filesystem::create_directories(out / "pool");

    // 1. Corpus: training conversations and the evaluation datasets (separate streams).
    std::vector<std::vector<Conversation>> train_convs, eval_convs;
    std::vector<std::string> texts;
    for (int t = 0; t < kTaskCount; ++t) {
        train_convs.push_back(make_conversations(task_from_index(t), o.train_samples_per_task, stream_seed(o.seed, 1, t)));
        eval_convs.push_back(make_conversations(task_from_index(t), o.dataset_samples, stream_seed(o.seed, 2, t)));
        for (const auto& c : train_convs.back()) texts.push_back(prompt_chatml(c) + answer_chatml(c));
    }
    for (int t = 0; t < kTaskCount; ++t) {
        const Task task = task_from_index(t);
        write_conversation_dataset(out / "datasets" / (std::string(task_name(task)) + ".json"), eval_convs[t],
                                   /*empty_answers=*/task == Task::story);
    }

    // 2. Tokenizer.
    sink.log(LogLevel::info, "demo: training the byte-level BPE tokenizer");
    const ByteBpe bpe = train_byte_bpe(texts, o.merge_count, kSpecials);
    std::vector<std::vector<TokenizedSample>> train_data, eval_data;
    for (int t = 0; t < kTaskCount; ++t) {
        train_data.push_back(tokenize_all(bpe, train_convs[t]));
        eval_data.push_back(tokenize_all(bpe, eval_convs[t]));
    }

    // 3. Base model on the mixture.
    TinyLlamaShape shape = o.shape;
    shape.vocab_size = bpe.vocab_size();
    TinyLlama base = TinyLlama::init(shape, stream_seed(o.seed, 3, 0));
    TrainSettings bs;
    bs.steps = o.base_steps;
    bs.batch_size = o.batch_size;
    bs.lr = o.base_lr;
    bs.seed = stream_seed(o.seed, 4, 0);
    sink.log(LogLevel::info, "demo: training the base model");
    const TrainLog base_log = train_base(base, train_data, bs, sink);

    // 4. Specialists.
    std::vector<TinyLlama> specialists;
    std::vector<TrainLog> logs;
    for (int t = 0; t < kTaskCount; ++t) {
        TrainSettings ss = o.specialist;
        ss.steps = o.specialist_steps;
        ss.batch_size = o.batch_size;
        ss.lr = o.specialist_lr;
        ss.seed = stream_seed(o.seed, 5, t);
        ss.own_task = t;
        ss.own_layers = o.own_layers[static_cast<size_t>(t)];
        TinyLlama spec = base.clone();
        sink.log(LogLevel::info, std::string("demo: training the ") + task_name(task_from_index(t)) + " specialist");
        logs.push_back(train_specialist(spec, base, train_data, ss, sink));
        specialists.push_back(std::move(spec));
    }
    const double train_seconds = seconds_since(t_start);

    // 5. Write the pool.
    const auto names = demo_model_names();
    write_model_folder(out / "pool" / names[0], base, bpe, o, sink);
    for (int t = 0; t < kTaskCount; ++t)
        write_model_folder(out / "pool" / names[static_cast<size_t>(t + 1)], specialists[static_cast<size_t>(t)], bpe,
                           o, sink);
    write_file_atomic(out / "olm_config.yaml", config_yaml(o));

    // 6. Diagnostics (teacher-forced, on the dataset samples): each model, and the
    //    layer-local combination the pool is designed to allow.
    nlohmann::json diag = nlohmann::json::object();
    auto diagnose = [&](const std::string& name, const TinyLlama& m, const std::vector<const TinyLlamaLayer*>& layers) {
        nlohmann::json row = nlohmann::json::object();
        for (int t = 0; t < kTaskCount; ++t) {
            const TaskScore s = score_task(m, eval_data[static_cast<size_t>(t)], layers);
            row[task_name(task_from_index(t))] = {{"exact", s.exact}, {"token", s.token}};
        }
        diag[name] = row;
    };
    diagnose("base", base, {});
    for (int t = 0; t < kTaskCount; ++t) diagnose(names[static_cast<size_t>(t + 1)], specialists[static_cast<size_t>(t)], {});
    std::vector<const TinyLlamaLayer*> combined;
    for (size_t li = 0; li < base.layers.size(); ++li) combined.push_back(&base.layers[li]);
    for (int t = 0; t < kTaskCount; ++t)
        for (int64_t li : o.own_layers[static_cast<size_t>(t)])
            combined[static_cast<size_t>(li)] = &specialists[static_cast<size_t>(t)].layers[static_cast<size_t>(li)];
    diagnose("own layers combined", base, combined);

    auto loss_summary = [](const TrainLog& l) {
        const size_t n = l.loss.size(), k = std::min<size_t>(20, n);
        double first = 0, last = 0;
        for (size_t i = 0; i < k; ++i) first += l.loss[i] / k, last += l.loss[n - 1 - i] / k;
        return nlohmann::json{{"steps", n}, {"seconds", l.seconds}, {"loss_first20", first}, {"loss_last20", last}};
    };
    DemoResult result;
    result.models = names;
    result.config = out / "olm_config.yaml";
    result.log = {{"seed", o.seed},
                  {"threads", o.threads},
                  {"vocab_size", shape.vocab_size},
                  {"shape",
                   {{"hidden", shape.hidden_size},
                    {"intermediate", shape.intermediate_size},
                    {"layers", shape.num_layers},
                    {"heads", shape.num_heads},
                    {"kv_heads", shape.num_kv_heads}}},
                  {"own_layers", o.own_layers},
                  {"specialist",
                   {{"own_share", o.specialist.own_share},
                    {"other_lm_weight", o.specialist.other_lm_weight},
                    {"swap_dropout", o.specialist.swap_dropout},
                    {"locality_weight", o.specialist.locality_weight},
                    {"per_sample_mean", o.specialist.per_sample_mean}}},
                  {"train_seconds", train_seconds},
                  {"base", loss_summary(base_log)},
                  {"diagnostics_teacher_forced", diag}};
    for (int t = 0; t < kTaskCount; ++t) result.log[names[static_cast<size_t>(t + 1)]] = loss_summary(logs[static_cast<size_t>(t)]);
    write_json(out / "training.json", result.log);
    return result;
}

}  // namespace olm::demo
