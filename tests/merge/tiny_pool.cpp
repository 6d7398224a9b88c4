#include "merge/tiny_pool.h"

#include "core/eval/dataset.h"
#include "core/io/model_folder.h"
#include "core/io/safetensors_writer.h"
#include "core/model/generate.h"
#include "core/model/transformer.h"
#include "core/tokenizer/tokenizer.h"
#include "support/tiny_model.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace olm::testing {

namespace fs = std::filesystem;

fs::path write_truth(const fs::path& dir, int layers, uint64_t seed) {
    TinyModelOptions o;
    o.layers = layers;
    o.vocab = 512;
    o.hidden = 32;
    o.intermediate = 64;
    o.seed = seed;
    o.weight_scale = 0.3;
    o.tokenizer_from = fs::path(OLM_TEST_DATA_DIR) / "tokenizers" / "tiny-bytelevel";
    const fs::path p = dir / "truth";
    write_tiny_model(p, o);
    return p;
}

void write_truth_dataset(const fs::path& truth, const fs::path& file, int count, int new_tokens) {
    const std::vector<std::string> words = {"the",  "cat",   "sat",  "on",  "a",    "mat",
                                            "and",  "dog",   "ran",  "far", "blue", "sky",
                                            "over", "green", "hill", "we",  "go",   "home"};
    nlohmann::json rows = nlohmann::json::array();
    for (int i = 0; i < count; ++i) {
        std::string prompt;
        for (int w = 0; w < 4; ++w)
            prompt += (w ? " " : "") + words[static_cast<size_t>((i * 7 + w * 5 + i / 3) % 18)];
        rows.push_back(
            {{"conversation", {{{"from", "human"}, {"value", prompt}}, {{"from", "gpt"}, {"value", "x"}}}}});
    }
    fs::create_directories(file.parent_path());
    std::ofstream(file) << rows.dump(1);
    const Tokenizer tok = Tokenizer::from_folder(truth);
    EvalSettings s;
    s.samples = 0;
    const EvalDataset ds = load_eval_dataset(file, "bigram", tok, s);
    const ModelFolder f = ModelFolder::open(truth);
    Transformer model = Transformer::from_folder(f);
    // Truth's greedy continuation, restricted at each step to the best token
    // that keeps the text printable ASCII and canonically tokenised, so the
    // evaluator's re-tokenisation of the text gives back exactly these ids.
    for (size_t i = 0; i < rows.size(); ++i) {
        const std::vector<int64_t>& ctx = ds.selection[i].context_ids;
        std::vector<int32_t> resp;
        for (int step = 0; step < new_tokens; ++step) {
            std::vector<int64_t> seq = ctx;
            seq.insert(seq.end(), resp.begin(), resp.end());
            const at::Tensor logits = model.forward(make_batch({seq}))[0][-1];  // [V]
            const at::Tensor order = logits.argsort(/*dim=*/-1, /*descending=*/true);
            for (int64_t j = 0; j < std::min<int64_t>(order.size(0), 64); ++j) {
                const auto c = static_cast<int32_t>(order[j].item<int64_t>());
                if (tok.is_special(c)) continue;
                std::vector<int32_t> cand = resp;
                cand.push_back(c);
                const std::string text = tok.decode(cand, /*skip_special_tokens=*/true);
                bool ok = !text.empty() && text.front() != ' ';
                for (unsigned char ch : text) ok = ok && ch >= 0x20 && ch < 0x7f;
                if (!ok || tok.encode(text, false) != cand) continue;
                resp = cand;
                break;
            }
        }
        std::string text = tok.decode(resp, /*skip_special_tokens=*/true);
        if (text.empty()) text = "x";
        rows[i]["conversation"][1]["value"] = text;
    }
    std::ofstream(file) << rows.dump(1);
}

PlantedPool make_planted_pool(const fs::path& dir, int layers, double noise, int samples) {
    PlantedPool p;
    p.dir = dir;
    const fs::path models = dir / "models";
    fs::create_directories(models);
    p.truth = write_truth(models, layers);
    std::vector<int> all;
    for (int L = 0; L < layers; ++L) all.push_back(L);
    derive_model(p.truth, models / "base", {.seed = 100, .scale = noise, .layers = all});
    p.models.push_back("base");
    const ModelFolder truth = ModelFolder::open(p.truth);
    for (int k = 0; k < layers; ++k) {
        // base with truth's layer k: the only candidate that differs from the base at k.
        const std::string name = "m" + std::to_string(k);
        const std::string marker = "layers." + std::to_string(k) + ".";
        write_model_from(models / "base", models / name, [&](const std::string& tensor, const at::Tensor& t) {
            return tensor.find(marker) != std::string::npos ? truth.tensor(tensor) : t;
        });
        p.models.push_back(name);
    }
    write_truth_dataset(p.truth, dir / "datasets" / p.dataset, samples, 10);
    return p;
}

std::string pool_config(const PlantedPool& p, const std::string& extra) {
    // extra may name its own output_dir (a key appears once).
    std::string y = "models_dir: models\ndataset_dir: datasets\n";
    if (extra.find("output_dir:") == std::string::npos) y += "output_dir: out\n";
    y += "models:\n";
    for (const auto& m : p.models) y += "  - " + m + "\n";
    y += "dataset:\n  " + p.dataset + ":\n    mode: bigram\nsamples: 0\n" + extra;
    // The tests search layers unless they say otherwise (the original's default is off).
    if (extra.find("layer_swap:") == std::string::npos) y += "layer_swap: true\n";
    return y;
}

void write_model_from(const fs::path& src, const fs::path& dst,
                      const std::function<at::Tensor(const std::string&, const at::Tensor&)>& fn) {
    const ModelFolder f = ModelFolder::open(src);
    fs::create_directories(dst);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& name : f.names()) {
        const at::Tensor t = f.tensor(name);
        tensors.emplace_back(name, fn(name, t).to(t.scalar_type()).contiguous());
    }
    write_safetensors_file(dst / "model.safetensors", tensors);
    for (const auto& e : fs::directory_iterator(src))
        if (e.is_regular_file() && e.path().extension() != ".safetensors" &&
            e.path().filename() != "model.safetensors.index.json")
            fs::copy_file(e.path(), dst / e.path().filename());
}

void write_mirror_model(const fs::path& a, const fs::path& b, const fs::path& dst) {
    const ModelFolder fb = ModelFolder::open(b);
    write_model_from(a, dst, [&](const std::string& name, const at::Tensor& ta) {
        return ta.to(at::kFloat) * 2 - fb.tensor(name).to(at::kFloat);
    });
}

}  // namespace olm::testing
