#include "core/merge/config.h"

#include "core/util/memory_size.h"

#include "core/eval/scripts.h"
#include "core/io/hf_cache.h"
#include "core/merge/config_keys.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/hash.h"
#include "core/util/json_file.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace olm {

namespace fs = std::filesystem;

const std::vector<std::string>& merge_config_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> out;
        for (const ConfigKey& k : config_key_table()) out.push_back(k.name);
        return out;
    }();
    return keys;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string nearest(const std::string& key, const std::vector<std::string>& known) {
    std::string best;
    size_t best_d = SIZE_MAX;
    for (const auto& k : known) {
        const size_t d = edit_distance(key, k);
        if (d < best_d) {
            best_d = d;
            best = k;
        }
    }
    return best;
}

struct Reader {
    std::string name;  // file name for messages
    fs::path base_dir;

    [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& what) const {
        const int line = n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
        throw Error(name + ":" + std::to_string(line) + ": " + key + ": " + what);
    }
    // A map key: YAML allows a list or a map as a key ("[a]: 1", "? {x: 1}");
    // a config key is always a plain name.
    std::string key_name(const YAML::Node& k, const std::string& where) const {
        if (!k.IsScalar())
            fail(k, where.empty() ? std::string("(key)") : where,
                 "a key must be a plain name, found a list or map");
        return k.Scalar();
    }
    std::string scalar(const YAML::Node& n, const std::string& key) const {
        if (n.IsNull()) return "";
        if (!n.IsScalar()) fail(n, key, "expected a single value");
        return n.Scalar();
    }
    bool boolean(const YAML::Node& n, const std::string& key) const {
        std::string s = scalar(n, key);
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
        if (s == "false" || s == "no" || s == "off" || s == "0") return false;
        fail(n, key, "expected true or false, found '" + n.Scalar() + "'");
    }
    long long integer(const YAML::Node& n, const std::string& key, long long min) const {
        const std::string s = scalar(n, key);
        size_t pos = 0;
        long long v = 0;
        try {
            v = std::stoll(s, &pos);
        } catch (const std::exception&) {
            pos = 0;
        }
        if (s.empty() || pos != s.size()) fail(n, key, "expected an integer, found '" + s + "'");
        if (v < min) fail(n, key, "must be at least " + std::to_string(min) + ", found " + s);
        return v;
    }
    double number(const YAML::Node& n, const std::string& key) const {
        const std::string s = scalar(n, key);
        size_t pos = 0;
        double v = 0;
        try {
            v = std::stod(s, &pos);
        } catch (const std::exception&) {
            pos = 0;
        }
        if (s.empty() || pos != s.size()) fail(n, key, "expected a number, found '" + s + "'");
        return v;
    }
    std::string choice(const YAML::Node& n, const std::string& key,
                       const std::vector<std::string>& allowed) const {
        const std::string s = scalar(n, key);
        for (const auto& a : allowed)
            if (s == a) return s;
        std::string list;
        for (const auto& a : allowed)
            list += (list.empty() ? "" : ", ") + (a.empty() ? std::string("(empty)") : a);
        fail(n, key, "'" + s + "' is not one of: " + list);
    }
    std::vector<std::string> strings(const YAML::Node& n, const std::string& key) const {
        std::vector<std::string> out;
        if (n.IsNull()) return out;
        if (n.IsScalar()) return {n.Scalar()};
        if (!n.IsSequence()) fail(n, key, "expected a list");
        for (const auto& e : n) out.push_back(scalar(e, key));
        return out;
    }
    fs::path path(const YAML::Node& n, const std::string& key) const {
        const std::string s = scalar(n, key);
        if (s.empty()) return base_dir;
        fs::path p(s);
        if (!s.empty() && s[0] == '~')
            if (const char* home = std::getenv("HOME")) p = fs::path(home) / s.substr(s.size() > 1 ? 2 : 1);
        fs::path out = p.is_absolute() ? p.lexically_normal() : (base_dir / p).lexically_normal();
        if (out.filename().empty() && out.has_parent_path()) out = out.parent_path();  // "dir/" -> "dir"
        return out;
    }
};

// Every key of every map at most once: YAML parsers differ on duplicates
// (yaml-cpp's lookup takes the first, iteration sees both), so a repeated
// key is an error naming both lines. Aliases are followed, so the walk is
// bounded: a recursive alias ("b: &y [*y]") would never end and nested
// aliases ("billion laughs") grow exponentially.
constexpr int kMaxYamlDepth = 64;
constexpr long kMaxYamlNodes = 100000;

void check_duplicate_keys(const YAML::Node& n, const std::string& name, const std::string& where, int depth,
                          long& budget) {
    if (depth > kMaxYamlDepth || --budget < 0) {
        const int line = n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
        const std::string key = where.empty() ? std::string("(top)") : where.substr(0, where.size() - 1);
        throw Error(name + ":" + std::to_string(line) + ": " + key + ": nested more than " +
                    std::to_string(kMaxYamlDepth) + " levels deep or more than " +
                    std::to_string(kMaxYamlNodes) +
                    " values once aliases are expanded (a recursive or exploding alias?); refused");
    }
    if (n.IsMap()) {
        std::map<std::string, int> lines;
        for (auto it = n.begin(); it != n.end(); ++it) {
            const int line = it->first.Mark().line + 1;
            if (it->first.IsScalar()) {
                const std::string key = it->first.Scalar();
                auto [at, fresh] = lines.emplace(key, line);
                if (!fresh)
                    throw Error(name + ":" + std::to_string(line) + ": " + where + key +
                                ": duplicate key (first at line " + std::to_string(at->second) +
                                "); each key may appear once");
                check_duplicate_keys(it->second, name, where + key + ".", depth + 1, budget);
            } else {
                check_duplicate_keys(it->second, name, where, depth + 1, budget);
            }
        }
    } else if (n.IsSequence()) {
        for (const auto& e : n) check_duplicate_keys(e, name, where, depth + 1, budget);
    }
}

void check_duplicate_keys(const YAML::Node& root, const std::string& name) {
    long budget = kMaxYamlNodes;
    check_duplicate_keys(root, name, "", 0, budget);
}

fs::path resolved(const fs::path& p) {
    std::error_code ec;
    fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
    if (ec) r = fs::absolute(p).lexically_normal();
    if (r.filename().empty() && r.has_parent_path() && r != r.root_path()) r = r.parent_path();
    return r;
}

// true if inner is outer or lies inside it
bool within(const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

}  // namespace

std::string canonical_dtype(const std::string& dtype) {
    if (dtype == "fp32" || dtype == "float32") return "float32";
    if (dtype == "bf16" || dtype == "bfloat16") return "bfloat16";
    if (dtype == "fp16" || dtype == "float16") return "float16";
    if (dtype.empty() || dtype == "auto") return "";
    throw Error("dtype '" + dtype + "': expected fp32, bf16, fp16 (or float32, bfloat16, float16) or auto");
}

std::string output_dir_problem(const MergeConfig& c) {
    const fs::path out = resolved(c.output_dir);
    if (out == out.root_path())
        return "is the root folder " + out.string() + "; give the merge a folder of its own";
    auto names = c.model_names();
    auto paths = c.model_paths();
    if (c.base_outside_pool()) {
        names.push_back(c.base_display_name());
        paths.push_back(c.base_path());
    }
    for (size_t i = 0; i < paths.size(); ++i) {
        const fs::path m = resolved(paths[i]);
        if (within(out, m))
            return std::string(out == m ? "is" : "lies inside") + " the folder of pool model " + names[i] +
                   " (" + m.string() + "); the merge never writes into the pool: choose a folder outside it";
    }
    std::set<fs::path> dataset_folders;
    for (const auto& d : c.datasets) dataset_folders.insert(resolved(d.path.parent_path()));
    for (const auto& f : dataset_folders)
        if (out == f) return "is the folder of the datasets (" + f.string() + "); choose a folder of its own";
    // An explicit dataset_dir (not the config's own folder) is the datasets' alone.
    const fs::path dd = resolved(c.dataset_dir);
    const fs::path cfg_dir =
        resolved(c.config_path.has_parent_path() ? c.config_path.parent_path() : fs::path("."));
    if (dd != cfg_dir && within(out, dd))
        return std::string(out == dd ? "is" : "lies inside") + " the datasets' folder dataset_dir (" +
               dd.string() + "); choose a folder outside it";
    return "";
}

void check_output_dir(const MergeConfig& c) {
    const std::string p = output_dir_problem(c);
    if (!p.empty()) throw Error("output_dir " + c.output_dir.string() + " " + p);
}

std::vector<double> MergeConfig::effective_interpolate() const {
    if (interpolate) return *interpolate;
    if (search == "better" || search == "thorough") return {0.5};
    return {};
}

bool MergeConfig::effective_task_arithmetic() const {
    if (task_arithmetic) return *task_arithmetic;
    return search == "better" || search == "thorough";
}

std::string MergeConfig::effective_selection() const {
    if (!selection.empty()) return selection;
    return search == "better" || search == "thorough" ? "geomean" : "ranks";
}

bool MergeConfig::effective_racing() const {
    if (racing) return *racing;
    return search == "better" || search == "thorough";
}

int MergeConfig::effective_sweeps() const {
    if (sweeps) return *sweeps;
    return search == "thorough" ? 3 : 1;
}

namespace {

bool looks_like_path(const std::string& m) {
    const fs::path p(m);
    return p.is_absolute() || m.rfind("./", 0) == 0 || m.rfind("../", 0) == 0;
}

fs::path resolve_model(const MergeConfig& c, const std::string& m) {
    const fs::path p(m);
    if (looks_like_path(m)) return p.is_absolute() ? p : (c.config_path.parent_path() / p).lexically_normal();
    std::string flat = m;
    for (auto& ch : flat)
        if (ch == '/') ch = '_';
    // The Hugging Face cache (org/name[@revision]), then models_dir.
    if (auto found = find_model_folder(m, c.models_dir)) return *found;
    return c.models_dir / flat;  // missing: the pool check names it
}

}  // namespace

std::vector<fs::path> MergeConfig::model_paths() const {
    std::vector<fs::path> out;
    for (const auto& m : models) out.push_back(resolve_model(*this, m));
    return out;
}

bool MergeConfig::base_outside_pool() const {
    if (base_model_name.empty()) return false;
    const auto names = model_names();
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == base_model_name || models[i] == base_model_name) return false;
    return true;
}

fs::path MergeConfig::base_path() const {
    const auto paths = model_paths();
    if (base_model_name.empty()) return paths.empty() ? fs::path() : paths.front();
    const auto names = model_names();
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == base_model_name || models[i] == base_model_name) return paths[i];
    return resolve_model(*this, base_model_name);
}

std::string MergeConfig::base_display_name() const {
    if (base_model_name.empty()) return "";
    const auto names = model_names();
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == base_model_name || models[i] == base_model_name) return names[i];
    if (!looks_like_path(base_model_name)) return base_model_name;
    const fs::path p = fs::path(base_model_name).lexically_normal();
    return p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
}

std::vector<std::string> MergeConfig::model_names() const {
    std::vector<std::string> out;
    for (const auto& m : models) {
        fs::path p(m);
        if (p.is_absolute() || m.rfind("./", 0) == 0 || m.rfind("../", 0) == 0)
            out.push_back(p.lexically_normal().filename().string().empty()
                              ? p.lexically_normal().parent_path().filename().string()
                              : p.lexically_normal().filename().string());
        else
            out.push_back(m);
    }
    return out;
}

namespace {

// YAML streams are UTF-8 text of printable characters (YAML 1.2, 5.1: tab,
// line breaks, U+0020-U+007E, U+0085, U+00A0-U+D7FF, U+E000-U+FFFD and
// U+10000 up). yaml-cpp reads other bytes into strings it then cannot write
// back, so they are refused here, naming the line and the byte.
static void check_yaml_text(const std::string& t, const std::string& name) {
    int line = 1;
    for (size_t i = 0; i < t.size();) {
        const auto b = static_cast<unsigned char>(t[i]);
        uint32_t cp = b;
        size_t len = 1;
        if (b >= 0x80) {
            len = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b <= 0xDF ? 2 : 0;
            if (b >= 0xF5) len = 0;
            bool ok = len > 0 && i + len <= t.size();
            cp = len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : b & 0x07;
            for (size_t k = 1; ok && k < len; ++k) {
                const auto c = static_cast<unsigned char>(t[i + k]);
                ok = (c & 0xC0) == 0x80;
                cp = (cp << 6) | (c & 0x3F);
            }
            ok = ok && !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF));
            if (!ok) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02X", b);
                throw Error(name + ":" + std::to_string(line) + ": invalid YAML: byte " + hex +
                            " is not UTF-8 text");
            }
        }
        const bool printable = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0x7E) ||
                               cp == 0x85 || (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
                               cp >= 0x10000;
        if (!printable) {
            char hex[12];
            std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
            throw Error(name + ":" + std::to_string(line) + ": invalid YAML: character " + hex +
                        " is not printable (YAML allows tab, line breaks and printable Unicode)");
        }
        if (cp == 0xA) ++line;
        i += len;
    }
}

MergeConfig parse_merge_config_text(const std::string& yaml_text, const fs::path& base_dir,
                                    const std::string& name) {
    check_yaml_text(yaml_text, name);
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw Error(name + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    }
    if (!root.IsMap()) throw Error(name + ": expected a map of settings at the top level");
    check_duplicate_keys(root, name);
    Reader rd{name, base_dir};
    MergeConfig c;
    c.config_path = base_dir / fs::path(name).filename();  // load_merge_config sets the real path
    c.models_dir = base_dir;
    c.output_dir = base_dir / "output";
    c.dataset_dir = base_dir;
    YAML::Node dataset_node;

    const auto& keys = merge_config_keys();
    std::set<std::string> seen;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string key = rd.key_name(it->first, "");
        const YAML::Node v = it->second;  // a copy: it-> yields a temporary proxy
        seen.insert(key);
        static const std::vector<std::pair<std::string, std::string>> unsupported = {
            {"metric_dir", "not used by the original's code either"}};
        const auto un = std::find_if(unsupported.begin(), unsupported.end(),
                                     [&](const auto& u) { return u.first == key; });
        if (un != unsupported.end()) {
            const int line = it->first.Mark().line + 1;
            c.warnings.push_back(name + ":" + std::to_string(line) + ": key '" + key +
                                 "' of the original OLM ignored (" + un->second + ")");
            continue;
        }
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            const int line = it->first.Mark().line + 1;
            c.warnings.push_back(name + ":" + std::to_string(line) + ": unknown key '" + key +
                                 "' ignored (did you mean '" + nearest(key, keys) + "'?)");
            continue;
        }
        if (key == "models_dir")
            c.models_dir = rd.path(v, key);
        else if (key == "models") {
            c.models = rd.strings(v, key);
            if (c.models.empty()) rd.fail(v, key, "the pool is empty");
        } else if (key == "output_dir")
            c.output_dir = rd.path(v, key);
        else if (key == "dataset_dir")
            c.dataset_dir = rd.path(v, key);
        else if (key == "dataset")
            dataset_node = v;
        else if (key == "direction")
            c.direction = rd.choice(v, key, {"forward", "backward"});
        else if (key == "base_model_name")
            c.base_model_name = rd.scalar(v, key);
        else if (key == "base_select")
            c.base_select = rd.boolean(v, key);
        else if (key == "boundary_select")
            c.boundary_select = rd.boolean(v, key);
        else if (key == "layer_swap")
            c.layer_swap = rd.boolean(v, key);
        else if (key == "tensor_swap")
            c.tensor_swap = rd.boolean(v, key);
        else if (key == "skip_norm")
            c.skip_norm = rd.boolean(v, key);
        else if (key == "improve_all") {
            c.improve_all = rd.scalar(v, key);
            if (c.improve_all == "false" || c.improve_all == "none" || c.improve_all == "off")
                c.improve_all = "";
        } else if (key == "samples")
            c.samples = rd.integer(v, key, 0);
        else if (key == "max_models")
            c.max_models = rd.integer(v, key, 1);
        else if (key == "markov")
            c.markov = rd.integer(v, key, 0);
        else if (key == "selection") {
            c.selection = rd.scalar(v, key);
            if (c.selection != "ranks" && c.selection != "rank_sum" && c.selection != "copeland" &&
                c.selection != "geomean") {
                // The original sums ranks for any value but its default "ranks".
                c.warnings.push_back(name + ":" + std::to_string(v.Mark().line + 1) + ": selection: '" +
                                     c.selection +
                                     "' is not ranks, rank_sum, copeland or geomean; treated as rank_sum, "
                                     "as the original treats any value other than ranks");
                c.selection = "rank_sum";
            }
        } else if (key == "load_merge_report")
            c.load_merge_report = rd.boolean(v, key);
        else if (key == "device") {
            c.device = rd.scalar(v, key);
            if (c.device == "auto") c.device.clear();
        } else if (key == "dtype") {
            c.dtype = canonical_dtype(
                rd.choice(v, key, {"", "auto", "float32", "bfloat16", "float16", "fp32", "bf16", "fp16"}));
        } else if (key == "batch_tokens")
            c.batch_tokens = rd.integer(v, key, 1);
        else if (key == "threads")
            c.threads = rd.integer(v, key, 0);
        else if (key == "device_memory") {
            const std::string t = rd.scalar(v, key);
            try {
                c.device_memory = t.empty() || t == "0" ? 0 : parse_memory_size(t);
            } catch (const Error& e) {
                rd.fail(v, key, e.what());
            }
        } else if (key == "quality_max_new_tokens")
            c.quality_max_new_tokens = rd.integer(v, key, 1);
        else if (key == "min_words")
            c.min_words = rd.integer(v, key, 0);
        else if (key == "forbidden_scripts") {
            c.forbidden_scripts = rd.strings(v, key);
            try {
                parse_script_ranges(c.forbidden_scripts);
            } catch (const Error& e) {
                rd.fail(v, key, e.what());
            }
        } else if (key == "holdout") {
            c.holdout = rd.number(v, key);
            if (c.holdout < 0 || c.holdout >= 1) rd.fail(v, key, "must be a fraction in [0, 1)");
        } else if (key == "chat_template")
            c.chat_template = rd.scalar(v, key).empty() ? "auto" : rd.scalar(v, key);
        else if (key == "prefix_cache")
            c.prefix_cache = rd.boolean(v, key);
        else if (key == "seed")
            c.seed = static_cast<uint64_t>(rd.integer(v, key, 0));
        else if (key == "search")
            c.search = rd.choice(v, key, {"original", "better", "thorough"});
        else if (key == "interpolate") {
            std::vector<double> w;
            if (v.IsScalar())
                w.push_back(rd.number(v, key));
            else if (v.IsSequence())
                for (const auto& e : v) w.push_back(rd.number(e, key));
            else if (!v.IsNull())
                rd.fail(v, key, "expected a list of weights in (0, 1)");
            for (double x : w)
                if (!(x > 0 && x < 1)) rd.fail(v, key, "every weight must lie strictly between 0 and 1");
            c.interpolate = w;
        } else if (key == "task_arithmetic")
            c.task_arithmetic = rd.boolean(v, key);
        else if (key == "sweeps")
            c.sweeps = static_cast<int>(rd.integer(v, key, 1));
        else if (key == "racing")
            c.racing = rd.boolean(v, key);
        else if (key == "racing_confidence") {
            c.racing_confidence = rd.number(v, key);
            if (!(c.racing_confidence >= 0.5 && c.racing_confidence < 1))
                rd.fail(v, key, "must be a probability in [0.5, 1), e.g. 0.999");
        } else if (key == "safeguard")
            c.safeguard = rd.choice(v, key, {"warn", "strict", "off"});
        else if (key == "references")
            c.references = rd.boolean(v, key);
        else if (key == "bootstrap_samples")
            c.bootstrap_samples = rd.integer(v, key, 100);
        else if (key == "download")
            c.download = rd.boolean(v, key);
        else if (key == "es_svd")
            c.es_svd = rd.boolean(v, key);
        else if (key == "es_norm")
            c.es_norm = rd.boolean(v, key);
        else if (key == "es_svd_generations")
            c.es_svd_generations = rd.integer(v, key, 1);
        else if (key == "es_norm_generations")
            c.es_norm_generations = rd.integer(v, key, 1);
        else if (key == "es_svd_sigma" || key == "es_norm_sigma") {
            const double x = rd.number(v, key);
            if (!(x > 0) || !std::isfinite(x)) rd.fail(v, key, "must be a number above 0");
            (key == "es_svd_sigma" ? c.es_svd_sigma : c.es_norm_sigma) = x;
        } else if (key == "es_seed")
            c.es_seed = static_cast<uint64_t>(rd.integer(v, key, 0));
    }
    if (c.es_svd || c.es_norm) {
        const char* k = c.es_svd ? "es_svd" : "es_norm";
        if (!c.tensor_swap)
            c.warnings.push_back(name + ":" + std::to_string(root[k].Mark().line + 1) + ": " + k +
                                 " has no effect without tensor_swap (the original fine-tunes tensors after "
                                 "each tensor-wise decision)");
        if (c.effective_sweeps() > 1)
            rd.fail(root[k], k,
                    "ES fine-tuning runs once, after each tensor decision: it cannot be combined with sweeps "
                    "above 1 (the " +
                        c.search + " preset or the sweeps key)");
    }
    if (c.markov > 0) {
        const YAML::Node m = root["markov"];
        if (!c.layer_swap)
            c.warnings.push_back(
                name + ":" + std::to_string(m.Mark().line + 1) +
                ": markov has no effect without layer_swap (it is the layer-wise search's window)");
        if (c.effective_sweeps() > 1 || !c.effective_interpolate().empty() || c.effective_task_arithmetic())
            rd.fail(
                m, "markov",
                "the window search's candidates are combinations of pool models, one per layer: it cannot "
                "be combined with interpolate, task_arithmetic or sweeps above 1 (the " +
                    c.search + " preset sets them; use search: original or set them off)");
        // pool^(markov+1) combinations per window: refuse what could never finish.
        double combos = 1;
        const double pool = static_cast<double>(
            c.max_models > 0 ? std::min<int64_t>(c.max_models, static_cast<int64_t>(c.models.size()))
                             : static_cast<int64_t>(c.models.size()));
        for (int64_t k = 0; k <= c.markov && combos <= 1e6; ++k) combos *= std::max(pool, 1.0);
        if (combos > 1e6)
            rd.fail(m, "markov",
                    "a window of " + std::to_string(c.markov + 1) + " layers over " +
                        std::to_string(static_cast<long long>(pool)) +
                        " pool models has more than a million combinations to score per layer");
    }
    if (!seen.count("models")) throw Error(name + ": models: missing (the list of pool models)");
    if (!seen.count("dataset"))
        throw Error(name + ": dataset: missing (map of dataset files to {mode: ...})");
    if (!dataset_node.IsMap() || dataset_node.size() == 0)
        rd.fail(dataset_node, "dataset", "expected a map {file.json: {mode: exact|bigram|quality}}");
    for (auto it = dataset_node.begin(); it != dataset_node.end(); ++it) {
        MergeDatasetEntry e;
        e.name = rd.key_name(it->first, "dataset");
        const fs::path p(e.name);
        e.path = p.is_absolute() ? p : (c.dataset_dir / p).lexically_normal();
        const YAML::Node v = it->second;  // a copy: it-> yields a temporary proxy
        if (v.IsMap()) {
            for (auto f = v.begin(); f != v.end(); ++f) {
                const std::string k = rd.key_name(f->first, "dataset." + e.name);
                if (k == "mode")
                    e.mode = rd.scalar(f->second, "dataset." + e.name + ".mode");
                else if (k == "think")
                    e.think = rd.boolean(f->second, "dataset." + e.name + ".think");
                else
                    c.warnings.push_back(name + ":" + std::to_string(f->first.Mark().line + 1) +
                                         ": unknown key '" + k + "' in dataset " + e.name +
                                         " ignored (did you mean '" + nearest(k, {"mode", "think"}) + "'?)");
            }
        } else if (v.IsScalar()) {
            e.mode = v.Scalar();
        } else if (!v.IsNull()) {
            rd.fail(v, "dataset." + e.name, "expected {mode: exact|bigram|quality}");
        }
        if (e.mode.empty()) rd.fail(v, "dataset." + e.name + ".mode", "empty mode");
        c.datasets.push_back(e);
    }
    if (!c.improve_all.empty() && c.improve_all != "all" && c.improve_all != "base") {
        bool found = false;
        for (const auto& d : c.datasets) found = found || d.mode == c.improve_all;
        if (!found)
            rd.fail(root["improve_all"], "improve_all",
                    "'" + c.improve_all + "' is neither all, base nor the mode of a configured dataset");
    }
    if (c.base_outside_pool()) {
        const auto names = c.model_names();
        if (std::find(names.begin(), names.end(), c.base_display_name()) != names.end())
            rd.fail(root["base_model_name"], "base_model_name",
                    "'" + c.base_model_name + "' is outside models but has the name of a pool model");
    }
    if (const std::string p = output_dir_problem(c); !p.empty()) {
        if (seen.count("output_dir"))
            rd.fail(root["output_dir"], "output_dir", c.output_dir.string() + " " + p);
        throw Error(name + ": output_dir: " + c.output_dir.string() + " " + p);
    }
    return c;
}

}  // namespace

MergeConfig parse_merge_config(const std::string& yaml_text, const fs::path& base_dir,
                               const std::string& name) {
    try {
        return parse_merge_config_text(yaml_text, base_dir, name);
    } catch (const YAML::Exception& e) {
        // Every node access above is checked; this is the net for any yaml-cpp
        // conversion not yet guarded, so a caller only ever sees olm::Error.
        throw Error(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

MergeConfig load_merge_config(const fs::path& path) {
    if (!fs::exists(path)) throw Error("cannot open merge config " + path.string());
    const std::string text = read_text_file(path, max_small_json_bytes, "merge config");  // regular, bounded
    const fs::path abs = fs::absolute(path).lexically_normal();
    MergeConfig c = parse_merge_config(text, abs.parent_path(), path.string());
    c.config_path = abs;
    return c;
}

namespace {

std::string rel(const fs::path& p, const fs::path& base) {
    if (base.empty()) return p.string();
    const fs::path r = p.lexically_relative(base);
    if (!r.empty() && r.native().rfind("..", 0) != 0) return r.string() == "." ? "." : r.string();
    return p.string();
}

}  // namespace

std::string merge_config_to_yaml(const MergeConfig& c, const fs::path& base_dir) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "models_dir" << YAML::Value << rel(c.models_dir, base_dir);
    out << YAML::Key << "models" << YAML::Value << YAML::BeginSeq;
    for (const auto& m : c.models) out << m;
    out << YAML::EndSeq;
    out << YAML::Key << "output_dir" << YAML::Value << rel(c.output_dir, base_dir);
    out << YAML::Key << "dataset_dir" << YAML::Value << rel(c.dataset_dir, base_dir);
    out << YAML::Key << "dataset" << YAML::Value << YAML::BeginMap;
    for (const auto& d : c.datasets)
        out << YAML::Key << d.name << YAML::Value << YAML::BeginMap << YAML::Key << "mode" << YAML::Value
            << d.mode << YAML::Key << "think" << YAML::Value << d.think << YAML::EndMap;
    out << YAML::EndMap;
    out << YAML::Key << "direction" << YAML::Value << c.direction;
    out << YAML::Key << "base_model_name" << YAML::Value << c.base_model_name;
    out << YAML::Key << "base_select" << YAML::Value << c.base_select;
    out << YAML::Key << "boundary_select" << YAML::Value << c.boundary_select;
    out << YAML::Key << "layer_swap" << YAML::Value << c.layer_swap;
    out << YAML::Key << "tensor_swap" << YAML::Value << c.tensor_swap;
    out << YAML::Key << "skip_norm" << YAML::Value << c.skip_norm;
    out << YAML::Key << "improve_all" << YAML::Value << c.improve_all;
    out << YAML::Key << "samples" << YAML::Value << c.samples;
    if (c.max_models > 0) out << YAML::Key << "max_models" << YAML::Value << c.max_models;
    if (c.markov > 0) out << YAML::Key << "markov" << YAML::Value << c.markov;
    if (!c.selection.empty()) out << YAML::Key << "selection" << YAML::Value << c.selection;
    if (c.es_svd || c.es_norm) {
        out << YAML::Key << "es_svd" << YAML::Value << c.es_svd;
        out << YAML::Key << "es_svd_generations" << YAML::Value << c.es_svd_generations;
        out << YAML::Key << "es_svd_sigma" << YAML::Value << c.es_svd_sigma;
        out << YAML::Key << "es_norm" << YAML::Value << c.es_norm;
        out << YAML::Key << "es_norm_generations" << YAML::Value << c.es_norm_generations;
        out << YAML::Key << "es_norm_sigma" << YAML::Value << c.es_norm_sigma;
        out << YAML::Key << "es_seed" << YAML::Value << c.es_seed;
    }
    out << YAML::Key << "download" << YAML::Value << c.download;
    out << YAML::Key << "load_merge_report" << YAML::Value << c.load_merge_report;
    out << YAML::Key << "device" << YAML::Value << (c.device.empty() ? std::string("auto") : c.device);
    out << YAML::Key << "dtype" << YAML::Value << (c.dtype.empty() ? std::string("auto") : c.dtype);
    out << YAML::Key << "batch_tokens" << YAML::Value << c.batch_tokens;
    if (c.threads > 0) out << YAML::Key << "threads" << YAML::Value << c.threads;
    if (c.device_memory != 0)
        out << YAML::Key << "device_memory" << YAML::Value
            << (c.device_memory < 0 ? std::string("auto") : std::to_string(c.device_memory));
    out << YAML::Key << "quality_max_new_tokens" << YAML::Value << c.quality_max_new_tokens;
    out << YAML::Key << "min_words" << YAML::Value << c.min_words;
    out << YAML::Key << "forbidden_scripts" << YAML::Value << YAML::Flow << c.forbidden_scripts;
    out << YAML::Key << "holdout" << YAML::Value << c.holdout;
    out << YAML::Key << "chat_template" << YAML::Value << c.chat_template;
    out << YAML::Key << "prefix_cache" << YAML::Value << c.prefix_cache;
    out << YAML::Key << "seed" << YAML::Value << c.seed;
    out << YAML::Key << "search" << YAML::Value << c.search;
    if (c.interpolate) out << YAML::Key << "interpolate" << YAML::Value << YAML::Flow << *c.interpolate;
    if (c.task_arithmetic) out << YAML::Key << "task_arithmetic" << YAML::Value << *c.task_arithmetic;
    if (c.sweeps) out << YAML::Key << "sweeps" << YAML::Value << *c.sweeps;
    if (c.racing) out << YAML::Key << "racing" << YAML::Value << *c.racing;
    if (c.racing_confidence != 0.999)
        out << YAML::Key << "racing_confidence" << YAML::Value << c.racing_confidence;
    out << YAML::Key << "safeguard" << YAML::Value << c.safeguard;
    out << YAML::Key << "references" << YAML::Value << c.references;
    out << YAML::Key << "bootstrap_samples" << YAML::Value << c.bootstrap_samples;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

void save_merge_config(const MergeConfig& config, const fs::path& path) {
    const fs::path abs = fs::absolute(path).lexically_normal();
    write_file_atomic(abs, merge_config_to_yaml(config, abs.parent_path()));
}

nlohmann::json merge_config_to_json(const MergeConfig& c) {
    nlohmann::json j;
    j["models_dir"] = c.models_dir.string();
    j["models"] = c.models;
    std::vector<std::string> paths;
    for (const auto& p : c.model_paths()) paths.push_back(p.string());
    j["model_paths"] = paths;
    j["output_dir"] = c.output_dir.string();
    j["dataset_dir"] = c.dataset_dir.string();
    nlohmann::json ds = nlohmann::json::array();
    for (const auto& d : c.datasets) {
        nlohmann::json e = {{"name", d.name}, {"path", d.path.string()}, {"mode", d.mode}};
        if (d.think) e["think"] = true;  // absent when false: hashes of earlier runs stay valid
        ds.push_back(e);
    }
    j["dataset"] = ds;
    j["direction"] = c.direction;
    j["base_model_name"] = c.base_model_name;
    j["base_select"] = c.base_select;
    j["boundary_select"] = c.boundary_select;
    j["layer_swap"] = c.layer_swap;
    j["tensor_swap"] = c.tensor_swap;
    j["skip_norm"] = c.skip_norm;
    j["improve_all"] = c.improve_all;
    j["samples"] = c.samples;
    if (c.max_models > 0)
        j["max_models"] = c.max_models;        // absent when unset: hashes of earlier runs stay valid
    if (c.markov > 0) j["markov"] = c.markov;  // likewise
    j["selection"] = c.effective_selection();
    if (c.es_svd || c.es_norm) {  // absent when off: hashes of earlier runs stay valid
        j["es_svd"] = c.es_svd;
        j["es_svd_generations"] = c.es_svd_generations;
        j["es_svd_sigma"] = c.es_svd_sigma;
        j["es_norm"] = c.es_norm;
        j["es_norm_generations"] = c.es_norm_generations;
        j["es_norm_sigma"] = c.es_norm_sigma;
        j["es_seed"] = c.es_seed;
    }
    j["load_merge_report"] = c.load_merge_report;
    j["device"] = c.device;
    j["dtype"] = c.dtype;
    j["batch_tokens"] = c.batch_tokens;
    if (c.threads > 0) j["threads"] = c.threads;  // absent when unset: hashes of earlier runs stay valid
    if (c.device_memory != 0) j["device_memory"] = c.device_memory;  // -1: auto
    j["quality_max_new_tokens"] = c.quality_max_new_tokens;
    j["min_words"] = c.min_words;
    j["forbidden_scripts"] = c.forbidden_scripts;
    j["holdout"] = c.holdout;
    j["chat_template"] = c.chat_template;
    j["prefix_cache"] = c.prefix_cache;
    j["seed"] = c.seed;
    j["search"] = c.search;
    j["interpolate"] = c.effective_interpolate();
    j["task_arithmetic"] = c.effective_task_arithmetic();
    j["sweeps"] = c.effective_sweeps();
    if (c.effective_racing()) {  // absent when off: hashes of earlier runs stay valid
        j["racing"] = true;
        j["racing_confidence"] = c.racing_confidence;
    }
    j["safeguard"] = c.safeguard;
    j["references"] = c.references;
    j["bootstrap_samples"] = c.bootstrap_samples;
    return j;
}

std::string merge_config_hash(const MergeConfig& c) {
    nlohmann::json j = merge_config_to_json(c);
    for (const char* k :
         {"device", "output_dir", "load_merge_report", "batch_tokens", "threads", "device_memory"})
        j.erase(k);
    // FNV-1a 64 over the canonical dump (keys sorted by nlohmann::json).
    const uint64_t h = fnv1a64(j.dump());
    std::ostringstream o;
    o << std::hex << std::setw(16) << std::setfill('0') << h;
    return o.str();
}

}  // namespace olm
