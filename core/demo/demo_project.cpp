#include "core/demo/demo_project.h"

#include "core/io/model_folder.h"
#include "core/io/safetensors_writer.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/resources.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
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
    o.quality_dataset_samples = 20;
    o.base_steps = 6;
    o.specialist_steps = 4;
    o.batch_size = 8;
    o.own_layers = {{0}, {1}, {2}};
    return o;
}

TrainSettings DemoOptions::default_specialist() {
    TrainSettings s;
    s.own_share = 0.75;
    s.other_lm_weight = 0.0;
    s.swap_dropout = 0.5;
    s.locality_weight = 0.0;
    s.layer_locality_weight = 1.0;
    s.per_sample_mean = true;
    return s;
}

void DemoOptions::set(const std::string& key, const std::string& value) {
    auto number = [&] {
        try {
            size_t used = 0;
            const double v = std::stod(value, &used);
            if (used == value.size()) return v;
        } catch (const std::exception&) {
        }
        throw Error("demo option " + key + ": \"" + value + "\" is not a number");
    };
    auto boolean = [&] {
        if (value == "true" || value == "1") return true;
        if (value == "false" || value == "0") return false;
        throw Error("demo option " + key + ": expected true or false, found \"" + value + "\"");
    };
    const std::map<std::string, std::function<void()>> setters = {
        {"seed", [&] { seed = static_cast<uint64_t>(number()); }},
        {"base_steps", [&] { base_steps = static_cast<int>(number()); }},
        {"specialist_steps", [&] { specialist_steps = static_cast<int>(number()); }},
        {"batch_size", [&] { batch_size = static_cast<int>(number()); }},
        {"base_lr", [&] { base_lr = number(); }},
        {"specialist_lr", [&] { specialist_lr = number(); }},
        {"train_samples_per_task", [&] { train_samples_per_task = static_cast<int>(number()); }},
        {"dataset_samples", [&] { dataset_samples = static_cast<int>(number()); }},
        {"quality_dataset_samples", [&] { quality_dataset_samples = static_cast<int>(number()); }},
        {"quality_max_new_tokens", [&] { quality_max_new_tokens = static_cast<int>(number()); }},
        {"min_words", [&] { min_words = static_cast<int>(number()); }},
        {"base_reverse_share", [&] { base_reverse_share = number(); }},
        {"base_per_sample_mean", [&] { base_per_sample_mean = boolean(); }},
        {"base_long_story_share", [&] { base_long_story_share = number(); }},
        {"own_share", [&] { specialist.own_share = number(); }},
        {"other_lm_weight", [&] { specialist.other_lm_weight = number(); }},
        {"swap_dropout", [&] { specialist.swap_dropout = number(); }},
        {"locality_weight", [&] { specialist.locality_weight = number(); }},
        {"layer_locality_weight", [&] { specialist.layer_locality_weight = number(); }},
        {"specialist_per_sample_mean", [&] { specialist.per_sample_mean = boolean(); }},
        {"earlier_layer_share", [&] { specialist.earlier_layer_share = number(); }},
        {"base_dir", [&] { base_dir = value; }},
    };
    auto it = setters.find(key);
    if (it == setters.end()) {
        std::string known;
        for (const auto& [k, f] : setters) known += (known.empty() ? "" : ", ") + k;
        throw Error("unknown demo option \"" + key + "\" (known: " + known + ")");
    }
    it->second();
}

std::vector<std::string> demo_model_names() { return {"base", "arithmetic", "reverse", "story"}; }

std::filesystem::path bundled_demo_dir() {
    if (const char* env = std::getenv("OLM_DEMO_DIR"); env && *env) return env;
    return resources_dir() / "demo";
}

namespace {

const std::vector<std::string> kSpecials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

// count conversations from a generator make(rng), on its own seeded stream.
template <typename Make>
std::vector<Conversation> make_conversations(int count, uint64_t seed, Make&& make) {
    Rng rng(seed);
    std::vector<Conversation> out;
    for (int i = 0; i < count; ++i) out.push_back(make(rng));
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
    write_json(dir / "special_tokens_map.json",
               {{"additional_special_tokens", {"<|im_start|>", "<|im_end|>"}},
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
      << "samples: " << o.dataset_samples << "\n"
      << "holdout: " << o.holdout << "\n"
      << "seed: 0\n"
         "# The specialist's stories have ~55 words (~80 tokens), the base's stop after\n"
         "# two sentences (under 22 words); the original's 100-word minimum would fail both.\n"
      << "min_words: " << o.min_words << "\n"
      << "quality_max_new_tokens: " << o.quality_max_new_tokens << "\n"
      << "dtype: float32\n"
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
    //    The base learns the weak versions of the skills, the specialists the skills.
    std::vector<std::vector<Conversation>> train_convs, eval_convs, base_convs;
    std::vector<std::string> texts;
    for (int t = 0; t < kTaskCount; ++t) {
        const Task task = task_from_index(t);
        auto skill = [task](Rng& rng) { return make_conversation(task, rng); };
        auto weak = [task, &o](Rng& rng) {
            return make_base_conversation(task, rng, o.base_reverse_share, o.base_long_story_share);
        };
        const int n_eval = task == Task::story ? o.quality_dataset_samples : o.dataset_samples;
        train_convs.push_back(make_conversations(o.train_samples_per_task, stream_seed(o.seed, 1, t), skill));
        eval_convs.push_back(make_conversations(n_eval, stream_seed(o.seed, 2, t), skill));
        base_convs.push_back(make_conversations(o.train_samples_per_task, stream_seed(o.seed, 6, t), weak));
        for (const auto& c : train_convs.back()) texts.push_back(prompt_chatml(c) + answer_chatml(c));
        for (const auto& c : base_convs.back()) texts.push_back(prompt_chatml(c) + answer_chatml(c));
    }
    for (int t = 0; t < kTaskCount; ++t) {
        const Task task = task_from_index(t);
        write_conversation_dataset(out / "datasets" / (std::string(task_name(task)) + ".json"), eval_convs[t],
                                   /*empty_answers=*/task == Task::story);
    }

    // 2. Tokenizer.
    sink.log(LogLevel::info, "demo: training the byte-level BPE tokenizer");
    const ByteBpe bpe = train_byte_bpe(texts, o.merge_count, kSpecials);
    std::vector<std::vector<TokenizedSample>> train_data, eval_data, base_data;
    for (int t = 0; t < kTaskCount; ++t) {
        train_data.push_back(tokenize_all(bpe, train_convs[t]));
        base_data.push_back(tokenize_all(bpe, base_convs[t]));
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
    bs.per_sample_mean = o.base_per_sample_mean;
    TrainLog base_log;
    if (o.base_dir.empty()) {
        sink.log(LogLevel::info, "demo: training the base model");
        base_log = train_base(base, base_data, bs, sink);
    } else {
        sink.log(LogLevel::info, "demo: base model from " + o.base_dir.string());
        base = TinyLlama::from_folder(ModelFolder::open(o.base_dir));
        if (base.shape.vocab_size != shape.vocab_size || base.shape.hidden_size != shape.hidden_size ||
            base.shape.num_layers != shape.num_layers)
            throw Error("demo: base " + o.base_dir.string() + " has vocab " +
                        std::to_string(base.shape.vocab_size) + ", hidden " +
                        std::to_string(base.shape.hidden_size) + ", " +
                        std::to_string(base.shape.num_layers) + " layers; this project needs " +
                        std::to_string(shape.vocab_size) + ", " + std::to_string(shape.hidden_size) + ", " +
                        std::to_string(shape.num_layers));
    }

    // 4. Specialists.
    std::vector<TinyLlama> specialists;
    specialists.reserve(kTaskCount);  // `earlier` points into it
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
        sink.log(LogLevel::info,
                 std::string("demo: training the ") + task_name(task_from_index(t)) + " specialist");
        std::vector<SpecialistLayers> earlier;
        for (int e = 0; e < t; ++e)
            earlier.push_back({&specialists[static_cast<size_t>(e)], o.own_layers[static_cast<size_t>(e)]});
        logs.push_back(train_specialist(spec, base, train_data, ss, sink, earlier));
        specialists.push_back(std::move(spec));
    }
    const double train_seconds = seconds_since(t_start);

    // 5. Write the pool.
    const auto names = demo_model_names();
    write_model_folder(out / "pool" / names[0], base, bpe, o, sink);
    for (int t = 0; t < kTaskCount; ++t)
        write_model_folder(out / "pool" / names[static_cast<size_t>(t + 1)],
                           specialists[static_cast<size_t>(t)], bpe, o, sink);
    write_file_atomic(out / "olm_config.yaml", config_yaml(o));

    // 6. Diagnostics (teacher-forced, on the dataset samples): each model, and the
    //    layer-local combination the pool is designed to allow.
    nlohmann::json diag = nlohmann::json::object();
    auto diagnose = [&](const std::string& name, const TinyLlama& m,
                        const std::vector<const TinyLlamaLayer*>& layers) {
        nlohmann::json row = nlohmann::json::object();
        for (int t = 0; t < kTaskCount; ++t) {
            const TaskScore s = score_task(m, eval_data[static_cast<size_t>(t)], layers);
            row[task_name(task_from_index(t))] = {{"exact", s.exact}, {"token", s.token}};
        }
        diag[name] = row;
    };
    diagnose("base", base, {});
    for (int t = 0; t < kTaskCount; ++t)
        diagnose(names[static_cast<size_t>(t + 1)], specialists[static_cast<size_t>(t)], {});
    // Own layers of a set of specialists on the base (bit t of mask = specialist t):
    // the pairs show which specialists' layers interfere, all three is the design's target.
    for (int mask : {3, 5, 6, 7}) {
        std::vector<const TinyLlamaLayer*> combined;
        for (size_t li = 0; li < base.layers.size(); ++li) combined.push_back(&base.layers[li]);
        std::string name;
        for (int t = 0; t < kTaskCount; ++t) {
            if (!(mask & (1 << t))) continue;
            name += (name.empty() ? "" : "+") + names[static_cast<size_t>(t + 1)];
            for (int64_t li : o.own_layers[static_cast<size_t>(t)])
                combined[static_cast<size_t>(li)] =
                    &specialists[static_cast<size_t>(t)].layers[static_cast<size_t>(li)];
        }
        diagnose(mask == 7 ? std::string("own layers combined") : "own layers " + name, base, combined);
    }

    auto loss_summary = [](const TrainLog& l) {
        const size_t n = l.loss.size(), k = std::min<size_t>(20, n);
        double first = 0, last = 0;
        for (size_t i = 0; i < k; ++i) first += l.loss[i] / k, last += l.loss[n - 1 - i] / k;
        return nlohmann::json{
            {"steps", n}, {"seconds", l.seconds}, {"loss_first20", first}, {"loss_last20", last}};
    };
    DemoResult result;
    result.models = names;
    result.config = out / "olm_config.yaml";
    result.log = {
        {"seed", o.seed},
        {"threads", o.threads},
        {"vocab_size", shape.vocab_size},
        {"shape",
         {{"hidden", shape.hidden_size},
          {"intermediate", shape.intermediate_size},
          {"layers", shape.num_layers},
          {"heads", shape.num_heads},
          {"kv_heads", shape.num_kv_heads}}},
        {"own_layers", o.own_layers},
        {"base_reverse_share", o.base_reverse_share},
        {"base_long_story_share", o.base_long_story_share},
        {"base_per_sample_mean", o.base_per_sample_mean},
        {"steps", {{"base", o.base_steps}, {"specialist", o.specialist_steps}, {"batch", o.batch_size}}},
        {"specialist",
         {{"own_share", o.specialist.own_share},
          {"other_lm_weight", o.specialist.other_lm_weight},
          {"swap_dropout", o.specialist.swap_dropout},
          {"locality_weight", o.specialist.locality_weight},
          {"layer_locality_weight", o.specialist.layer_locality_weight},
          {"earlier_layer_share", o.specialist.earlier_layer_share},
          {"per_sample_mean", o.specialist.per_sample_mean}}},
        {"train_seconds", train_seconds},
        {"base", o.base_dir.empty() ? loss_summary(base_log) : nlohmann::json{{"from", o.base_dir.string()}}},
        {"diagnostics_teacher_forced", diag}};
    for (int t = 0; t < kTaskCount; ++t)
        result.log[names[static_cast<size_t>(t + 1)]] = loss_summary(logs[static_cast<size_t>(t)]);
    write_json(out / "training.json", result.log);
    return result;
}

}  // namespace olm::demo
