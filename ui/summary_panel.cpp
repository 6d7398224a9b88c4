#include "ui/summary_panel.h"

#include "core/merge/recipe.h"

#include <nlohmann/json.hpp>

#include <QTextBrowser>
#include <QVBoxLayout>

#include <cmath>
#include <fstream>

namespace olm::ui {
namespace {
using Json = nlohmann::json;

QString q(const std::string& s) { return QString::fromStdString(s).toHtmlEscaped(); }

QString pct(const Json& entry, const std::string& split, const std::string& dataset) {
    const Json* e = &entry;
    if (!split.empty()) {
        if (!entry.contains(split)) return QStringLiteral("–");
        e = &entry[split];
    }
    if (!e->contains("accuracy") || !(*e)["accuracy"].contains(dataset) ||
        !(*e)["accuracy"][dataset].is_number())
        return QStringLiteral("–");
    return QStringLiteral("%1 %").arg((*e)["accuracy"][dataset].get<double>() * 100.0, 0, 'f', 1);
}

QString recipeText(const Json& r) {
    try {
        return q(olm::recipe_text(olm::recipe_from_json(r)));
    } catch (const std::exception&) {
        return q(r.dump());
    }
}
}  // namespace

SummaryPanel::SummaryPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("summary"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_text = new QTextBrowser;
    m_text->setObjectName(QStringLiteral("summaryText"));
    m_text->setOpenExternalLinks(false);
    layout->addWidget(m_text);
    clear();
}

void SummaryPanel::clear() {
    m_empty = true;
    m_safeguardLine.clear();
    m_text->setHtml(
        tr("<p style='color:#666'>The summary of a finished merge appears here: the recipe, the accuracy "
           "of the base, the best pool model and the merge, and the safeguard's verdict.</p>"));
}

QString SummaryPanel::html() const { return m_text->toHtml(); }

bool SummaryPanel::loadReport(const QString& path) {
    Json j;
    try {
        std::ifstream in(path.toStdString());
        if (!in) return false;
        j = Json::parse(in);
    } catch (const std::exception&) {
        return false;
    }
    if (!j.is_object() || !j.contains("final") || !j.contains("recipe")) {
        clear();
        return false;
    }
    const Json& fin = j["final"];
    const Json& recipe = j["recipe"];
    const std::string base = recipe.value("base", std::string());
    std::string best =
        j.contains("safeguard") ? j["safeguard"].value("best_model", std::string()) : std::string();
    std::vector<std::string> datasets;
    if (fin.contains("metrics"))
        for (auto it = fin["metrics"].begin(); it != fin["metrics"].end(); ++it) datasets.push_back(it.key());
    if (j.contains("config") && j["config"].contains("dataset") &&
        j["config"]["dataset"].is_array()) {  // config order
        std::vector<std::string> ordered;
        for (const auto& d : j["config"]["dataset"]) {
            const std::string name = d.value("name", std::string());
            if (std::find(datasets.begin(), datasets.end(), name) != datasets.end()) ordered.push_back(name);
        }
        if (ordered.size() == datasets.size()) datasets = ordered;
    }
    const Json refs =
        j.contains("references") && j["references"].is_object() ? j["references"] : Json::object();
    if (best.empty()) {  // best mean accuracy among the pool models
        double top = -1;
        for (auto it = refs.begin(); it != refs.end(); ++it) {
            if (it.key() == "soup" || !it.value().contains("accuracy")) continue;
            double sum = 0;
            int n = 0;
            for (const auto& d : datasets)
                if (it.value()["accuracy"].contains(d) && it.value()["accuracy"][d].is_number()) {
                    sum += it.value()["accuracy"][d].get<double>();
                    ++n;
                }
            if (n > 0 && sum / n > top) top = sum / n, best = it.key();
        }
    }
    const bool heldout = fin.contains("heldout");
    const std::string split = heldout ? "heldout" : "";
    QString h;
    const std::string status = j.value("status", std::string());
    h += QStringLiteral("<h2>%1</h2>")
             .arg(status == "complete" ? tr("Merge complete") : tr("Merge so far (search unfinished)"));
    // accuracy table
    h += QStringLiteral("<h3>%1</h3>")
             .arg(heldout ? tr("Accuracy on the held-out samples") : tr("Accuracy (selection samples)"));
    h += QStringLiteral(
             "<table cellspacing=0 cellpadding=4 border=1 "
             "style='border-collapse:collapse'><tr><th>%1</th><th>%2<br><small>%3</small></"
             "th><th>%4<br><small>%5</small></th><th>%6</th></tr>")
             .arg(tr("dataset"), tr("base"), q(base), tr("best pool model"), q(best), tr("merge"));
    for (const auto& d : datasets) {
        const QString b = refs.contains(base) ? pct(refs[base], split, d) : QStringLiteral("–");
        const QString p = refs.contains(best) ? pct(refs[best], split, d) : QStringLiteral("–");
        h += QStringLiteral(
                 "<tr><td>%1</td><td align=right>%2</td><td align=right>%3</td><td "
                 "align=right><b>%4</b></td></tr>")
                 .arg(q(d), b, p, pct(fin, split, d));
    }
    h += QStringLiteral("</table>");
    // safeguard
    if (j.contains("safeguard")) {
        const Json& s = j["safeguard"];
        const Json& iv = s.contains("heldout") ? s["heldout"] : s.value("selection", Json::object());
        const std::string verdict = s.value("verdict", std::string());
        const char* colour = verdict == "better" ? "#1a7f37" : verdict == "worse" ? "#b02020" : "#8a6d00";
        h += QStringLiteral("<h3>%1</h3><p>").arg(tr("Safeguard"));
        h += tr("The merge against the best pool model %1: <b style='color:%2'>%3</b>")
                 .arg(q(s.value("best_model", std::string())), QLatin1String(colour), q(verdict));
        if (iv.contains("mean"))
            h +=
                tr(" — mean score gain %1 (95 % interval %2 to %3, %4 split; positive = the merge is better)")
                    .arg(iv["mean"].get<double>(), 0, 'g', 3)
                    .arg(iv.value("low", 0.0), 0, 'g', 3)
                    .arg(iv.value("high", 0.0), 0, 'g', 3)
                    .arg(s.contains("heldout") ? tr("held-out") : tr("selection"));
        if (s.value("exported", std::string("merge")) != "merge")
            h += tr("<br>Strict mode: the export is %1, not the merge.")
                     .arg(q(s["exported"].get<std::string>()));
        h += QStringLiteral("</p>");
    } else if (!m_safeguardLine.isEmpty()) {
        h += QStringLiteral("<p>%1</p>").arg(m_safeguardLine.toHtmlEscaped());
    }
    // recipe
    h += QStringLiteral("<h3>%1</h3><table cellspacing=0 cellpadding=3>").arg(tr("Recipe"));
    h += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>").arg(tr("base"), q(base));
    if (recipe.contains("boundary"))
        h += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>")
                 .arg(tr("boundary"), recipeText(recipe["boundary"]));
    if (recipe.contains("layers") && recipe["layers"].is_object()) {
        std::vector<std::pair<int, QString>> layers;
        for (auto it = recipe["layers"].begin(); it != recipe["layers"].end(); ++it)
            layers.emplace_back(std::stoi(it.key()), recipeText(it.value()));
        std::sort(layers.begin(), layers.end());
        for (const auto& [i, r] : layers)
            h += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>").arg(tr("layer %1").arg(i), r);
    }
    if (recipe.contains("tensors") && recipe["tensors"].is_object())
        for (auto it = recipe["tensors"].begin(); it != recipe["tensors"].end(); ++it)
            h += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>").arg(q(it.key()), recipeText(it.value()));
    // ES fine-tunings: how many generations found a better tensor.
    if (recipe.contains("es") && recipe["es"].is_object())
        for (auto it = recipe["es"].begin(); it != recipe["es"].end(); ++it) {
            if (!it.value().is_array()) continue;
            for (const Json& run : it.value()) {
                if (!run.is_object() || run.value("population", 0) <= 0) continue;
                int won = 0, gens = 0;
                for (const Json& g : run.value("history", Json::array())) {
                    ++gens;
                    if (g.is_object() && g.value("winner", -1) >= 0) ++won;
                }
                h += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>")
                         .arg(q(it.key()), tr("%1: %2 of %3 generations improved")
                                               .arg(q(run.value("kind", std::string())))
                                               .arg(won)
                                               .arg(gens));
            }
        }
    h += QStringLiteral("</table>");
    // time
    if (j.contains("timings")) {
        const Json& t = j["timings"];
        h += QStringLiteral("<h3>%1</h3><p>").arg(tr("Time"));
        h += tr("%1 s in all, %2 s of search; %3 evaluations in this run.")
                 .arg(t.value("total_seconds", 0.0), 0, 'f', 0)
                 .arg(t.value("search_seconds", 0.0), 0, 'f', 0)
                 .arg(t.value("evaluations_this_run", 0LL));
        h += QStringLiteral("</p>");
    }
    if (j.contains("export") && j["export"].contains("folder"))
        h += tr("<p>Exported to <b>%1</b>.</p>").arg(q(j["export"]["folder"].get<std::string>()));
    m_text->setHtml(h);
    m_empty = false;
    return true;
}

}  // namespace olm::ui
