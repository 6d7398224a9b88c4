#include "core/tokenizer/tokenizer.h"

#include "core/tokenizer/added_vocab.h"
#include "core/tokenizer/bpe.h"
#include "core/tokenizer/pipeline.h"
#include "core/tokenizer/unicode.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <unordered_map>
#include <unordered_set>

namespace olm {

using nlohmann::json;

struct Tokenizer::Impl {
    std::unique_ptr<tok::Normalizer> normalizer;
    std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
    std::unique_ptr<tok::Bpe> model;
    std::unique_ptr<tok::PostProcessor> post_processor;
    std::unique_ptr<tok::Decoder> decoder;

    std::vector<AddedToken> added;
    std::unordered_map<int32_t, size_t> added_by_id;  // id -> index in `added`
    tok::StringIdMap added_by_content;
    std::unordered_set<std::string> special_contents;
    tok::AddedMatcher raw_matcher, normalized_matcher;
    int64_t vocab_size = 0;

    // tokenizer_config.json / special_tokens_map.json
    std::optional<std::string> chat_template, bos, eos, pad, unk;
    std::optional<bool> add_bos;
    bool clean_up_spaces = false;

    std::string origin;
};

namespace {

// A special-token field: "text", {"content": "text", ...} or null.
std::optional<std::string> token_field(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return std::nullopt;
}

void apply_config(Tokenizer::Impl& impl, const json& cfg, bool overwrite) {
    auto set = [&](std::optional<std::string>& field, const char* key) {
        if (overwrite || !field) {
            if (auto v = token_field(cfg, key)) field = v;
        }
    };
    set(impl.bos, "bos_token");
    set(impl.eos, "eos_token");
    set(impl.pad, "pad_token");
    set(impl.unk, "unk_token");
    if (!overwrite) return;  // special_tokens_map.json carries only the tokens
    if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean())
        impl.add_bos = cfg["add_bos_token"].get<bool>();
    if (cfg.contains("clean_up_tokenization_spaces") && cfg["clean_up_tokenization_spaces"].is_boolean())
        impl.clean_up_spaces = cfg["clean_up_tokenization_spaces"].get<bool>();
    if (cfg.contains("chat_template")) {
        const json& ct = cfg["chat_template"];
        if (ct.is_string()) {
            impl.chat_template = ct.get<std::string>();
        } else if (ct.is_array()) {  // [{"name": "default", "template": "..."}, ...]
            for (const auto& t : ct)
                if (t.value("name", std::string()) == "default" && t.contains("template"))
                    impl.chat_template = t["template"].get<std::string>();
            if (!impl.chat_template && !ct.empty() && ct[0].contains("template"))
                impl.chat_template = ct[0]["template"].get<std::string>();
        }
    }
}

void check_utf8(std::string_view text) {
    size_t bad = unicode::find_invalid_utf8(text);
    if (bad != std::string_view::npos) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
        throw Error("tokenizer input is not valid UTF-8: byte " + std::string(hex) + " at offset " +
                    std::to_string(bad));
    }
}

}  // namespace

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json, std::string_view config_json,
                               const std::string& origin) {
    return build(tokenizer_json, config_json, {}, origin);
}

Tokenizer Tokenizer::build(std::string_view tokenizer_json, std::string_view config_json,
                           std::string_view special_map_json, const std::string& origin) {
    auto impl = std::make_shared<Impl>();
    impl->origin = origin;
    try {
        json j = parse_json_text(tokenizer_json, "");
        if (!j.contains("model")) throw Error("no \"model\" object");
        impl->model = std::make_unique<tok::Bpe>(j["model"]);
        impl->normalizer = tok::make_normalizer(j.value("normalizer", json()));
        impl->pre_tokenizer = tok::make_pre_tokenizer(j.value("pre_tokenizer", json()));
        impl->post_processor = tok::make_post_processor(j.value("post_processor", json()));
        impl->decoder = tok::make_decoder(j.value("decoder", json()));
        impl->vocab_size = impl->model->max_id() + 1;
        if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
            // As the reference: the "id" in the file is not trusted. A token already
            // known (model vocabulary or an earlier added token) keeps that id; a new
            // one gets the next id after the model vocabulary / the last added id.
            const int64_t model_size = impl->model->size();
            std::optional<int64_t> max_added;
            for (const auto& a : j["added_tokens"]) {
                AddedToken t;
                t.content = a.at("content").get<std::string>();
                if (t.content.empty()) continue;
                t.special = a.value("special", false);
                t.lstrip = a.value("lstrip", false);
                t.rstrip = a.value("rstrip", false);
                t.single_word = a.value("single_word", false);
                t.normalized = a.value("normalized", !t.special);
                auto known = impl->added_by_content.find(t.content);
                if (known != impl->added_by_content.end()) {  // same content again: new flags
                    t.id = known->second;
                    impl->added[impl->added_by_id[t.id]] = t;
                    continue;
                }
                if (auto mid = impl->model->token_to_id(t.content)) {
                    t.id = *mid;
                } else {
                    int64_t next = !max_added                                      ? model_size
                                   : (*max_added >= model_size || model_size == 0) ? *max_added + 1
                                                                                   : model_size;
                    if (next > tok::max_token_id)
                        throw Error("added token " + json(t.content).dump() + " would get id " +
                                    std::to_string(next) + ", above the limit of " +
                                    std::to_string(tok::max_token_id));
                    t.id = static_cast<int32_t>(next);
                }
                max_added = std::max<int64_t>(max_added.value_or(t.id), t.id);
                impl->added_by_id[t.id] = impl->added.size();
                impl->added_by_content[t.content] = t.id;
                impl->vocab_size = std::max<int64_t>(impl->vocab_size, t.id + 1);
                impl->added.push_back(std::move(t));
            }
            for (const auto& t : impl->added)
                if (t.special) impl->special_contents.insert(t.content);
        }
        // Ids the post-processor adds (BOS/EOS...) must name tokens of this vocabulary.
        if (impl->post_processor) {
            std::vector<int32_t> specials;
            impl->post_processor->apply(specials);
            for (int32_t id : specials)
                if (id < 0 || id >= impl->vocab_size)
                    throw Error("post_processor adds token id " + std::to_string(id) +
                                ", outside the vocabulary [0, " + std::to_string(impl->vocab_size) + ")");
        }
        impl->raw_matcher.build(impl->added, false);
        impl->normalized_matcher.build(impl->added, true);
    } catch (const json::exception& e) {
        throw Error(origin + ": " + e.what());
    } catch (const Error& e) {
        throw Error(origin + ": " + e.what());
    }
    if (!config_json.empty()) {
        try {
            apply_config(*impl, parse_json_text(config_json, origin + " (tokenizer_config.json)"), true);
        } catch (const json::exception& e) {
            throw Error(origin + " (tokenizer_config.json): " + e.what());
        }
    }
    if (!special_map_json.empty()) {
        try {
            apply_config(*impl, parse_json_text(special_map_json, origin + " (special_tokens_map.json)"),
                         false);
        } catch (const json::exception& e) {
            throw Error(origin + " (special_tokens_map.json): " + e.what());
        }
    }
    Tokenizer t;
    t.m_impl = std::move(impl);
    return t;
}

Tokenizer Tokenizer::from_folder(const std::filesystem::path& dir) {
    auto tj = dir / "tokenizer.json";
    if (!std::filesystem::exists(tj)) throw Error("no tokenizer.json in " + dir.string());
    std::string config;
    auto cj = dir / "tokenizer_config.json";
    if (std::filesystem::exists(cj)) config = read_text_file(cj, max_small_json_bytes);
    std::string special_map;
    auto sm = dir / "special_tokens_map.json";
    if (std::filesystem::exists(sm)) special_map = read_text_file(sm, max_small_json_bytes);
    return build(read_text_file(tj, max_tokenizer_json_bytes), config, special_map, tj.string());
}

const Tokenizer::Impl& Tokenizer::impl() const {
    if (!m_impl) throw Error("Tokenizer used before loading (default-constructed)");
    return *m_impl;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
    const Impl& im = impl();
    check_utf8(text);
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 4);

    // 1. added tokens on the raw text; 2. normalize the rest; 3. normalized added tokens.
    std::vector<tok::Piece> pieces;
    auto flush = [&] {
        if (pieces.empty()) return;
        if (im.pre_tokenizer) im.pre_tokenizer->apply(pieces);
        for (const auto& p : pieces) im.model->tokenize(p.text, ids);
        pieces.clear();
    };
    auto text_segment = [&](std::string_view seg, bool at_start) {
        std::string s(seg);
        if (im.normalizer) im.normalizer->apply(s);
        if (im.normalized_matcher.empty()) {
            if (!s.empty()) pieces.push_back({std::move(s), at_start});
            return;
        }
        for (const auto& sp : im.normalized_matcher.split(s)) {
            if (sp.id >= 0) {
                flush();
                ids.push_back(sp.id);
            } else {
                pieces.push_back({s.substr(sp.start, sp.end - sp.start), at_start && sp.start == 0});
            }
        }
    };

    if (im.raw_matcher.empty()) {
        if (!text.empty()) text_segment(text, true);
    } else {
        for (const auto& sp : im.raw_matcher.split(text)) {
            if (sp.id >= 0) {
                flush();
                ids.push_back(sp.id);
            } else {
                text_segment(text.substr(sp.start, sp.end - sp.start), sp.start == 0);
            }
        }
    }
    flush();
    if (add_special_tokens && im.post_processor) im.post_processor->apply(ids);
    return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
    const Impl& im = impl();
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        const std::string* tok = nullptr;
        auto it = im.added_by_id.find(id);
        if (it != im.added_by_id.end())
            tok = &im.added[it->second].content;
        else
            tok = im.model->id_to_token(id);
        if (!tok) continue;  // unknown ids are skipped, as the reference does
        if (skip_special_tokens && im.special_contents.count(*tok)) continue;
        tokens.push_back(*tok);
    }
    if (!im.decoder) {
        std::string out;
        for (size_t k = 0; k < tokens.size(); ++k) {
            if (k) out += ' ';
            out += tokens[k];
        }
        return out;
    }
    im.decoder->apply(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
}

std::string Tokenizer::clean_up_tokenization(std::string s) {
    static const std::pair<const char*, const char*> kRules[] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) {
        std::string_view f(from);
        std::string out;
        size_t pos = 0, hit;
        while ((hit = s.find(f, pos)) != std::string::npos) {
            out.append(s, pos, hit - pos);
            out.append(to);
            pos = hit + f.size();
        }
        out.append(s, pos, std::string::npos);
        s = std::move(out);
    }
    return s;
}

std::string Tokenizer::decode_for_display(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
    std::string s = decode(ids, skip_special_tokens);
    return impl().clean_up_spaces ? clean_up_tokenization(std::move(s)) : s;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
    auto it = impl().added_by_content.find(token);
    if (it != impl().added_by_content.end()) return it->second;
    return impl().model->token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
    auto it = impl().added_by_id.find(id);
    if (it != impl().added_by_id.end()) return impl().added[it->second].content;
    const std::string* t = impl().model->id_to_token(id);
    return t ? *t : std::string();
}

std::vector<std::string> Tokenizer::id_to_pieces(const std::vector<int32_t>& ids) const {
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (int32_t id : ids) out.push_back(id_to_token(id));
    return out;
}

int64_t Tokenizer::vocab_size() const { return impl().vocab_size; }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl().added; }

bool Tokenizer::is_special(int32_t id) const {
    auto it = impl().added_by_id.find(id);
    return it != impl().added_by_id.end() && impl().added[it->second].special;
}

std::optional<std::string> Tokenizer::chat_template() const { return impl().chat_template; }
std::optional<std::string> Tokenizer::bos_token() const { return impl().bos; }
std::optional<std::string> Tokenizer::eos_token() const { return impl().eos; }
std::optional<std::string> Tokenizer::pad_token() const { return impl().pad; }
std::optional<std::string> Tokenizer::unk_token() const { return impl().unk; }

namespace {
std::optional<int32_t> id_of(const Tokenizer& t, const std::optional<std::string>& tok) {
    return tok ? t.token_to_id(*tok) : std::nullopt;
}
}  // namespace

std::optional<int32_t> Tokenizer::bos_id() const { return id_of(*this, impl().bos); }
std::optional<int32_t> Tokenizer::eos_id() const { return id_of(*this, impl().eos); }
std::optional<int32_t> Tokenizer::pad_id() const { return id_of(*this, impl().pad); }
std::optional<int32_t> Tokenizer::unk_id() const { return id_of(*this, impl().unk); }
std::optional<bool> Tokenizer::add_bos_token() const { return impl().add_bos; }
bool Tokenizer::clean_up_tokenization_spaces() const { return impl().clean_up_spaces; }

}  // namespace olm
