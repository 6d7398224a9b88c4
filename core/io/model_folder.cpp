#include "core/io/model_folder.h"

#include "core/io/model_config.h"
#include "core/util/error.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace olm {

namespace fs = std::filesystem;

struct ModelFolder::State {
    fs::path path;
    ModelSpec spec;
    const Architecture* arch = nullptr;
    std::vector<std::shared_ptr<SafetensorsFile>> shards;
    // tensor name -> (shard index, info)
    std::unordered_map<std::string, std::pair<size_t, const TensorInfo*>> tensors;
};

const std::vector<std::string>& tokenizer_file_names() {
    static const std::vector<std::string> k = {
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
        "merges.txt",     "tokenizer.model",       "added_tokens.json",       "chat_template.jinja",
    };
    return k;
}

namespace {

bool is_pickle_name(const fs::path& p) {
    const std::string name = p.filename().string();
    const std::string ext = p.extension().string();
    return ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt" || ext == ".pkl" ||
           name == "pytorch_model.bin.index.json";
}

[[noreturn]] void pickle_error(const fs::path& file) {
    throw Error(file.string() +
                " is a PyTorch pickle checkpoint. Loading a pickle can run arbitrary code, so OLM Studio "
                "refuses it and never unpickles. Convert the model to safetensors first, e.g. in Python: "
                "AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)");
}

}  // namespace

void refuse_pickle(const fs::path& path) {
    if (fs::is_regular_file(path)) {
        if (is_pickle_name(path)) pickle_error(path);
        return;
    }
    if (!fs::is_directory(path)) return;
    if (fs::exists(path / "model.safetensors") || fs::exists(path / "model.safetensors.index.json")) return;
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(path))
        if (e.is_regular_file() && is_pickle_name(e.path())) found.push_back(e.path());
    std::sort(found.begin(), found.end());
    if (!found.empty()) pickle_error(found.front());
}

ModelFolder ModelFolder::open(const fs::path& folder) {
    if (!fs::exists(folder)) throw Error(folder.string() + ": no such folder");
    refuse_pickle(folder);
    if (!fs::is_directory(folder))
        throw Error(folder.string() + ": not a folder (expected a Hugging Face model folder)");

    auto st = std::make_shared<State>();
    st->path = folder;
    st->spec = load_model_spec(folder);
    (void)architecture_for(st->spec);  // an unsupported architecture fails before the shards are read

    const fs::path index = folder / "model.safetensors.index.json";
    const fs::path single = folder / "model.safetensors";
    if (fs::exists(index)) {
        const auto j = read_json_file(index);
        const std::string label = index.string();
        auto wm = j.find("weight_map");
        if (!j.is_object() || wm == j.end() || !wm->is_object())
            throw Error(label + ": missing object 'weight_map'");
        std::map<std::string, size_t> shard_of_file;
        for (auto it = wm->begin(); it != wm->end(); ++it) {
            if (!it.value().is_string())
                throw Error(label + ": weight_map entry '" + it.key() + "' is not a file name");
            const std::string file = it.value().get<std::string>();
            if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
                throw Error(label + ": weight_map entry '" + it.key() + "' names '" + file +
                            "', which is not a file inside the folder");
            auto found = shard_of_file.find(file);
            if (found == shard_of_file.end()) {
                const fs::path shard_path = folder / file;
                if (!fs::exists(shard_path))
                    throw Error(label + ": shard '" + file + "' (holding '" + it.key() + "') is missing");
                st->shards.push_back(SafetensorsFile::open(shard_path));
                found = shard_of_file.emplace(file, st->shards.size() - 1).first;
            }
            const auto& shard = st->shards[found->second];
            const TensorInfo* info = shard->find(it.key());
            if (!info)
                throw Error(label + ": tensor '" + it.key() + "' is mapped to shard '" + file +
                            "' but that shard does not contain it");
            st->tensors[it.key()] = {found->second, info};
        }
    } else if (fs::exists(single)) {
        st->shards.push_back(SafetensorsFile::open(single));
        for (const auto& t : st->shards[0]->tensors()) st->tensors[t.name] = {0, &t};
    } else {
        throw Error(folder.string() + ": no model.safetensors or model.safetensors.index.json");
    }

    // The family's layout whose names the checkpoint holds (Gemma 3 has two).
    st->arch = &architecture_for(st->spec, [&](const std::string& n) { return st->tensors.count(n) > 0; });
    // Every expected tensor present with its expected shape.
    for (const auto& e : all_tensors(*st->arch, st->spec)) {
        auto it = st->tensors.find(e.name);
        if (it == st->tensors.end()) {
            if (!e.required) continue;
            std::string also;  // the other layouts the folder does not hold either
            for (const Architecture* a : layouts_of(st->arch->name))
                if (a != st->arch) also += " (nor " + a->layout + ": '" + name_in_layout(*a, e.name) + "')";
            throw Error(folder.string() + ": " + st->spec.architecture + " tensor '" + e.name +
                        "' is missing" + also);
        }
        const TensorInfo& info = *it->second.second;
        if (info.shape != e.shape)
            throw Error(info.file.string() + ": tensor '" + e.name + "' has shape " + shape_text(info.shape) +
                        ", config.json implies " + shape_text(e.shape));
    }
    ModelFolder m;
    m.m_state = std::move(st);
    return m;
}

const ModelFolder::State& ModelFolder::state() const {
    if (!m_state) throw Error("ModelFolder used before open()");
    return *m_state;
}

const fs::path& ModelFolder::path() const { return state().path; }
const ModelSpec& ModelFolder::spec() const { return state().spec; }
const Architecture& ModelFolder::architecture() const { return *state().arch; }
bool ModelFolder::has(const std::string& name) const { return state().tensors.count(name) > 0; }

const TensorInfo& ModelFolder::info(const std::string& name) const {
    auto it = state().tensors.find(name);
    if (it == state().tensors.end()) throw Error(state().path.string() + ": no tensor named '" + name + "'");
    return *it->second.second;
}

at::Tensor ModelFolder::tensor(const std::string& name) const {
    auto it = state().tensors.find(name);
    if (it == state().tensors.end()) throw Error(state().path.string() + ": no tensor named '" + name + "'");
    return state().shards[it->second.first]->tensor(*it->second.second);
}

std::string ModelFolder::resolve(TensorRole role, int layer) const {
    std::string name = tensor_name(architecture(), role, layer);
    if (role == TensorRole::lm_head && !has(name) && spec().tie_word_embeddings)
        return tensor_name(architecture(), TensorRole::embed_tokens);
    return name;
}

at::Tensor ModelFolder::tensor(TensorRole role, int layer) const { return tensor(resolve(role, layer)); }

void ModelFolder::release(const std::string& name) const {
    auto it = state().tensors.find(name);
    if (it == state().tensors.end()) return;
    state().shards[it->second.first]->release(*it->second.second);
}

std::vector<std::string> ModelFolder::names() const {
    std::vector<std::string> out;
    out.reserve(state().tensors.size());
    for (const auto& [name, v] : state().tensors) out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

size_t ModelFolder::shard_count() const { return state().shards.size(); }
const std::vector<std::shared_ptr<SafetensorsFile>>& ModelFolder::shards() const { return state().shards; }

uint64_t ModelFolder::tensor_bytes() const {
    uint64_t n = 0;
    for (const auto& [name, v] : state().tensors) n += v.second->bytes();
    return n;
}

uint64_t ModelFolder::disk_bytes() const {
    uint64_t n = 0;
    for (const auto& s : state().shards) n += s->file_size();
    return n;
}

int64_t ModelFolder::parameter_count() const {
    int64_t n = 0;
    for (const auto& [name, v] : state().tensors) n += v.second->numel();
    return n;
}

DType ModelFolder::main_dtype() const {
    std::map<DType, uint64_t> bytes;
    for (const auto& [name, v] : state().tensors) bytes[v.second->dtype] += v.second->bytes();
    DType best = DType::F32;
    uint64_t most = 0;
    for (const auto& [d, b] : bytes)
        if (b > most) most = b, best = d;
    return best;
}

}  // namespace olm
