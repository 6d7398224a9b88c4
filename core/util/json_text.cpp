#include "core/util/json_text.h"

#include <cmath>
#include <limits>

namespace olm {

using Json = nlohmann::json;

namespace {

// Stand-ins while nlohmann parses / dumps: strings no report holds (a control
// character and a tag). Only exact matches are converted back.
const std::string kNan = std::string("\x01olm-non-finite:NaN");
const std::string kInf = std::string("\x01olm-non-finite:Infinity");
const std::string kNegInf = std::string("\x01olm-non-finite:-Infinity");

bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '+' || c == '-';
}

// Replaces the bare literals outside strings with quoted stand-ins; false when
// there were none.
bool replace_literals(std::string_view in, std::string& out) {
    bool any = false;
    out.clear();
    out.reserve(in.size() + 64);
    bool in_string = false;
    for (size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < in.size()) {
                out += in[++i];
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
            out += c;
            continue;
        }
        const bool boundary_before = i == 0 || !is_word_char(in[i - 1]);
        auto match = [&](std::string_view lit) {
            return boundary_before && in.substr(i, lit.size()) == lit &&
                   (i + lit.size() == in.size() || !is_word_char(in[i + lit.size()]));
        };
        const std::string* rep = nullptr;
        size_t len = 0;
        if (match("NaN")) {
            rep = &kNan;
            len = 3;
        } else if (match("Infinity")) {
            rep = &kInf;
            len = 8;
        } else if (match("-Infinity")) {
            rep = &kNegInf;
            len = 9;
        }
        if (rep) {
            out += Json(*rep).dump();
            i += len - 1;
            any = true;
            continue;
        }
        out += c;
    }
    return any;
}

void restore(Json& j) {
    if (j.is_string()) {
        const auto& s = j.get_ref<const std::string&>();
        if (s.size() > 1 && s[0] == '\x01') {
            if (s == kNan)
                j = std::numeric_limits<double>::quiet_NaN();
            else if (s == kInf)
                j = std::numeric_limits<double>::infinity();
            else if (s == kNegInf)
                j = -std::numeric_limits<double>::infinity();
        }
    } else if (j.is_structured()) {
        for (auto& v : j) restore(v);
    }
}

Json with_stand_ins(const Json& j) {
    if (j.is_number_float()) {
        const double v = j.get<double>();
        if (std::isnan(v)) return kNan;
        if (std::isinf(v)) return v > 0 ? kInf : kNegInf;
        return j;
    }
    if (j.is_object()) {
        Json out = Json::object();
        for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = with_stand_ins(it.value());
        return out;
    }
    if (j.is_array()) {
        Json out = Json::array();
        for (const auto& v : j) out.push_back(with_stand_ins(v));
        return out;
    }
    return j;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
}

}  // namespace

bool has_non_finite(const Json& j) {
    if (j.is_number_float()) return !std::isfinite(j.get<double>());
    if (j.is_structured())
        for (const auto& v : j)
            if (has_non_finite(v)) return true;
    return false;
}

Json parse_json_text(std::string_view text) {
    try {
        return Json::parse(text);
    } catch (const Json::parse_error&) {
        std::string replaced;
        if (!replace_literals(text, replaced)) throw;
        Json j;
        try {
            j = Json::parse(replaced);
        } catch (const Json::parse_error&) {
            return Json::parse(text);  // rethrows with the positions of the text as given
        }
        restore(j);
        return j;
    }
}

std::string dump_json_text(const Json& j, int indent) {
    if (!has_non_finite(j)) return j.dump(indent);
    std::string s = with_stand_ins(j).dump(indent);
    replace_all(s, Json(kNegInf).dump(), "-Infinity");
    replace_all(s, Json(kInf).dump(), "Infinity");
    replace_all(s, Json(kNan).dump(), "NaN");
    return s;
}

}  // namespace olm
