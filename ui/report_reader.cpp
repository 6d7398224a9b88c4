#include "ui/report_reader.h"

#include "core/util/json_file.h"
#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

#include <QObject>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <exception>

namespace olm::ui {
namespace {

using Json = nlohmann::json;

QMap<QString, double> scoreMap(const Json& j) {
    QMap<QString, double> out;
    if (!j.is_object()) return out;
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it->is_number()) out.insert(QString::fromStdString(it.key()), it->get<double>());
    return out;
}

CandidateStatus statusFrom(const std::string& s) {
    if (s == "reused-identical" || s == "reused_identical" || s == "reused") return CandidateStatus::reused;
    if (s == "disqualified") return CandidateStatus::disqualified;
    if (s == "failed") return CandidateStatus::failed;
    return CandidateStatus::evaluated;
}

// One position section: candidates {name: {...}} (this program), or the
// original's metrics {dataset: {model: score}}. whole: a whole-model section
// (base_model, boundary_layers: candidate_metrics and name) rather than a slot
// (metrics and best_model).
void readPosition(const Json& s, PositionKind kind, int layer, const QString& unit, ReportContents& out,
                  bool whole) {
    QMap<QString, CandidateResult> byName;
    QStringList order;
    auto entry = [&](const QString& name) -> CandidateResult& {
        if (!byName.contains(name)) {
            CandidateResult r;
            r.kind = kind;
            r.layer = layer;
            r.unit = unit;
            r.candidate = name;
            byName.insert(name, r);
            order << name;
        }
        return byName[name];
    };
    if (const auto c = s.find("candidates"); c != s.end() && c->is_object()) {
        for (auto it = c->begin(); it != c->end(); ++it) {
            CandidateResult& r = entry(QString::fromStdString(it.key()));
            r.status = statusFrom(it->value("status", std::string("evaluated")));
            r.scores = scoreMap(it->value("scores", Json::object()));
            r.accuracy = scoreMap(it->value("accuracy", Json::object()));
            r.reason = QString::fromStdString(it->value("reason", std::string()));
        }
    } else {
        const char* key = whole ? "candidate_metrics" : "metrics";
        // The original writes Infinity for a candidate that degraded under
        // improve_all (or whose evaluation failed): shown as disqualified.
        if (const auto m = s.find(key); m != s.end() && m->is_object()) {
            for (auto d = m->begin(); d != m->end(); ++d) {
                if (!d->is_object()) continue;
                for (auto it = d->begin(); it != d->end(); ++it) {
                    if (!it->is_number()) continue;
                    CandidateResult& r = entry(QString::fromStdString(it.key()));
                    const double v = it->get<double>();
                    r.scores.insert(QString::fromStdString(d.key()), v);  // Infinity ranks last, as there
                    if (!std::isfinite(v)) {
                        r.status = CandidateStatus::disqualified;
                        r.reason = QObject::tr(
                                       "no finite score on %1 (the original OLM records a degraded "
                                       "or failed candidate as Infinity)")
                                       .arg(QString::fromStdString(d.key()));
                    }
                }
            }
        }
    }
    // Keep the search's candidate order when the report has it.
    if (const auto o = s.find("order"); o != s.end() && o->is_array()) {
        QStringList ordered;
        for (const auto& n : *o)
            if (n.is_string() && byName.contains(QString::fromStdString(n.get<std::string>())))
                ordered << QString::fromStdString(n.get<std::string>());
        for (const auto& n : order)
            if (!ordered.contains(n)) ordered << n;
        order = ordered;
    }
    for (const auto& n : order) out.candidates << byName[n];

    const std::string winner = whole ? s.value("name", std::string()) : s.value("best_model", std::string());
    if (winner.empty()) return;
    PositionDecision d;
    d.kind = kind;
    d.layer = layer;
    d.unit = unit;
    d.winner = QString::fromStdString(winner);
    d.scores = byName.contains(d.winner) && !byName[d.winner].scores.isEmpty()
                   ? byName[d.winner].scores
                   : scoreMap(s.value("metrics", Json::object()));
    out.decisions << d;
    if (kind == PositionKind::layer || kind == PositionKind::tensor)
        out.layers = std::max(out.layers, layer + 1);
}

void readPass(const Json& root, bool backward, ReportContents& out) {
    if (const auto b = root.find("base_model"); b != root.end() && b->is_object()) {
        readPosition(*b, PositionKind::base, -1, {}, out, true);
        const QString name = QString::fromStdString(b->value("name", std::string()));
        const auto metrics = scoreMap(b->value("metrics", Json::object()));
        if (!name.isEmpty() && !metrics.isEmpty()) out.references << ReferenceScores{name, true, metrics};
    }
    if (const auto b = root.find("boundary_layers"); b != root.end() && b->is_object())
        readPosition(*b, PositionKind::boundary, -1, {}, out, true);
    for (const char* section : {"layers", "tensors"}) {
        const auto sec = root.find(section);
        if (sec == root.end() || !sec->is_object()) continue;
        struct Key {
            int layer;
            QString unit;
            std::string key;
        };
        std::vector<Key> keys, boundaryParts;
        for (auto it = sec->begin(); it != sec->end(); ++it) {
            const QString k = QString::fromStdString(it.key());
            const int dot = static_cast<int>(k.indexOf(QLatin1Char('.')));
            bool ok = false;
            const int layer = (dot < 0 ? k : k.left(dot)).toInt(&ok);
            if (ok) {
                keys.push_back({layer, dot < 0 ? QString() : k.mid(dot + 1), it.key()});
                continue;
            }
            // A markov window "first-last", decided at its last layer (backward: its first).
            static const QRegularExpression window(QStringLiteral("^(\\d+)-(\\d+)$"));
            if (const auto w = window.match(k); w.hasMatch() && std::string(section) == "layers") {
                keys.push_back({(backward ? w.captured(1) : w.captured(2)).toInt(), QString(), it.key()});
                continue;
            }
            // The original's tensors section: full tensor names, one per module
            // ("model.layers.3.self_attn.q_proj.weight", "model.embed_tokens.weight").
            static const QRegularExpression layerTensor(
                QStringLiteral("^(?:model\\.)?layers\\.(\\d+)\\.(.+)\\.(?:weight|bias)$"));
            // This program's tensors section names a boundary part by itself ("embed_tokens").
            static const QRegularExpression boundaryTensor(
                QStringLiteral("^(?:model\\.)?(embed_tokens|norm|lm_head)(?:\\.(?:weight|bias))?$"));
            if (std::string(section) != "tensors") continue;
            if (const auto m = layerTensor.match(k); m.hasMatch())
                keys.push_back({m.captured(1).toInt(), m.captured(2), it.key()});
            else if (const auto b = boundaryTensor.match(k); b.hasMatch())
                boundaryParts.push_back({-1, b.captured(1), it.key()});
        }
        std::stable_sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
            return backward ? a.layer > b.layer : a.layer < b.layer;
        });
        const PositionKind kind =
            std::string(section) == "layers" ? PositionKind::layer : PositionKind::tensor;
        for (const auto& k : boundaryParts)
            readPosition(sec->at(k.key), PositionKind::boundary, -1, k.unit, out, false);
        for (const auto& k : keys) readPosition(sec->at(k.key), kind, k.layer, k.unit, out, false);
    }
}

}  // namespace

bool readMergeReport(const QString& path, ReportContents& out, QString* error) {
    out = {};
    std::string text;
    try {
        text = olm::read_text_file(path.toStdString(), olm::max_report_bytes);  // regular files only, bounded
    } catch (const std::exception& ex) {
        if (error) *error = QObject::tr("cannot read %1: %2").arg(path, QString::fromStdString(ex.what()));
        return false;
    }
    try {
        // NaN / Infinity literals too, within the depth limit
        const Json root = olm::json_depth_violation(text) == std::string::npos
                              ? olm::parse_json_text(std::string_view(text))
                              : olm::parse_json_text(text, {});
        if (!root.is_object()) throw std::runtime_error("not a JSON object");
        bool backward = false;
        if (const auto c = root.find("config"); c != root.end() && c->is_object())
            backward = c->value("direction", std::string()) == "backward";
        if (const auto p = root.find("pool"); p != root.end() && p->is_array())
            for (const auto& n : *p)
                if (n.is_string()) out.pool << QString::fromStdString(n.get<std::string>());
        if (const auto d = root.find("datasets"); d != root.end() && d->is_object())
            for (auto it = d->begin(); it != d->end(); ++it) out.datasets << QString::fromStdString(it.key());
        readPass(root, backward, out);
        if (const auto s = root.find("sweeps"); s != root.end() && s->is_object()) {
            std::vector<std::pair<int, const Json*>> passes;
            for (auto it = s->begin(); it != s->end(); ++it)
                passes.emplace_back(std::atoi(it.key().c_str()), &*it);
            std::sort(passes.begin(), passes.end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; });
            for (const auto& p : passes) readPass(*p.second, backward, out);
        }
        // references {name: {metrics {dataset: score}, recipe, ...}}: every pool model and the soup.
        if (const auto r = root.find("references"); r != root.end() && r->is_object()) {
            for (auto it = r->begin(); it != r->end(); ++it) {
                if (!it->is_object()) continue;
                const auto metrics = scoreMap(it->value("metrics", Json::object()));
                if (!metrics.isEmpty())
                    out.references << ReferenceScores{QString::fromStdString(it.key()), false, metrics};
            }
        }
        if (const auto s = root.find("status"); s != root.end() && s->is_string())
            out.status = QString::fromStdString(s->get<std::string>());
        for (const auto& c : out.candidates)
            for (auto it = c.scores.cbegin(); it != c.scores.cend(); ++it)
                if (!out.datasets.contains(it.key())) out.datasets << it.key();
        // The original's report lists no pool: its candidates, as they first appear.
        if (out.pool.isEmpty())
            for (const auto& c : out.candidates)
                if (!out.pool.contains(c.candidate)) out.pool << c.candidate;
        return true;
    } catch (const std::exception& ex) {
        if (error) *error = QObject::tr("%1: %2").arg(path, QString::fromStdString(ex.what()));
        return false;
    }
}

}  // namespace olm::ui
