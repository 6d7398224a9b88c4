#include "ui/project_checks.h"

#include "core/merge/config.h"

#include <nlohmann/json.hpp>

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QObject>
#include <QRegularExpression>

#include <algorithm>
#include <fstream>
#include <set>

namespace olm::ui {
namespace {

bool readJson(const QString& path, nlohmann::json& out) {
    std::ifstream in(path.toStdString());
    if (!in) return false;
    try {
        out = nlohmann::json::parse(in);
        return out.is_object();
    } catch (const std::exception&) {
        return false;
    }
}

QString brief(const nlohmann::json& v) {
    if (v.is_string()) return QString::fromStdString(v.get<std::string>());
    if (v.is_array()) {
        QStringList items;
        for (const auto& x : v) items << brief(x);
        return items.join(QStringLiteral(", "));
    }
    if (v.is_object()) {
        QStringList items;
        for (auto it = v.begin(); it != v.end(); ++it) items << QString::fromStdString(it.key());
        return items.join(QStringLiteral(", "));
    }
    QString s = QString::fromStdString(v.dump());
    return s.size() > 60 ? s.left(57) + QStringLiteral("…") : s;
}

QString canonical(const QString& path) {
    const QFileInfo fi(path);
    const QString c = fi.exists() ? fi.canonicalFilePath() : QString();
    return QDir::cleanPath(c.isEmpty() ? fi.absoluteFilePath() : c);
}

bool inside(const QString& child, const QString& parent) {
    return child == parent || child.startsWith(parent + QLatin1Char('/'));
}

}  // namespace

QStringList configChanges(const QString& reportPath, const olm::MergeConfig& current, bool* readable) {
    nlohmann::json report;
    if (readable) *readable = false;
    if (!readJson(reportPath, report) || !report.contains("config") || !report["config"].is_object())
        return {};
    if (readable) *readable = true;
    if (report.value("config_hash", std::string()) == olm::merge_config_hash(current)) return {};
    const nlohmann::json old = report["config"];
    const nlohmann::json now = olm::merge_config_to_json(current);
    QStringList out;
    // What decides the result (core's hash leaves these out).
    static const std::set<std::string> ignored{"device",       "output_dir", "load_merge_report",
                                               "batch_tokens", "models_dir", "model_paths",
                                               "dataset_dir"};
    auto oldOf = [&](const std::string& k) { return old.contains(k) ? old[k] : nlohmann::json(); };
    for (auto it = now.begin(); it != now.end(); ++it) {
        const std::string& k = it.key();
        if (ignored.count(k) || oldOf(k) == it.value()) continue;
        const nlohmann::json& was = oldOf(k);
        if (k == "models" && was.is_array() && it.value().is_array()) {
            auto a = was.get<std::vector<std::string>>(), b = it.value().get<std::vector<std::string>>();
            auto sa = a, sb = b;
            std::sort(sa.begin(), sa.end());
            std::sort(sb.begin(), sb.end());
            if (sa == sb) {
                out << QObject::tr("pool order: %1 → %2").arg(brief(was), brief(it.value()));
                continue;
            }
            QStringList added, removed;
            for (const auto& m : b)
                if (std::find(a.begin(), a.end(), m) == a.end()) added << QString::fromStdString(m);
            for (const auto& m : a)
                if (std::find(b.begin(), b.end(), m) == b.end()) removed << QString::fromStdString(m);
            if (!added.isEmpty()) out << QObject::tr("pool: added %1").arg(added.join(QStringLiteral(", ")));
            if (!removed.isEmpty())
                out << QObject::tr("pool: removed %1").arg(removed.join(QStringLiteral(", ")));
            continue;
        }
        if (k == "dataset" && was.is_array() && it.value().is_array()) {  // [{name, mode, path}]
            auto byName = [](const nlohmann::json& list) {
                nlohmann::json m = nlohmann::json::object();
                for (const auto& d : list)
                    if (d.is_object()) m[d.value("name", std::string())] = d.value("mode", std::string());
                return m;
            };
            const nlohmann::json a = byName(was), b = byName(it.value());
            for (auto d = b.begin(); d != b.end(); ++d)
                if (!a.contains(d.key()))
                    out << QObject::tr("dataset added: %1").arg(QString::fromStdString(d.key()));
                else if (a[d.key()] != d.value())
                    out << QObject::tr("dataset %1: mode %2 → %3")
                               .arg(QString::fromStdString(d.key()), brief(a[d.key()]), brief(d.value()));
            for (auto d = a.begin(); d != a.end(); ++d)
                if (!b.contains(d.key()))
                    out << QObject::tr("dataset removed: %1").arg(QString::fromStdString(d.key()));
            if (a == b) out << QObject::tr("dataset order or files changed");
            continue;
        }
        if (k == "dataset" && was.is_object() && it.value().is_object()) {
            for (auto d = it.value().begin(); d != it.value().end(); ++d)
                if (!was.contains(d.key()))
                    out << QObject::tr("dataset added: %1").arg(QString::fromStdString(d.key()));
                else if (was[d.key()] != d.value())
                    out << QObject::tr("dataset %1: %2 → %3")
                               .arg(QString::fromStdString(d.key()), brief(was[d.key()]), brief(d.value()));
            for (auto d = was.begin(); d != was.end(); ++d)
                if (!it.value().contains(d.key()))
                    out << QObject::tr("dataset removed: %1").arg(QString::fromStdString(d.key()));
            continue;
        }
        out << QStringLiteral("%1: %2 → %3")
                   .arg(QString::fromStdString(k), was.is_null() ? QObject::tr("(not set)") : brief(was),
                        brief(it.value()));
    }
    if (out.isEmpty()) out << QObject::tr("the config differs from the one that wrote the report");
    return out;
}

QString reportStatus(const QString& reportPath) {
    nlohmann::json report;
    if (!readJson(reportPath, report)) return {};
    return QString::fromStdString(report.value("status", std::string()));
}

QString moveReportAside(const QString& reportPath, QString* error) {
    const QFileInfo fi(reportPath);
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    QString target = fi.dir().filePath(QStringLiteral("%1-%2.json").arg(fi.completeBaseName(), stamp));
    for (int i = 2; QFileInfo::exists(target); ++i)
        target = fi.dir().filePath(QStringLiteral("%1-%2-%3.json").arg(fi.completeBaseName(), stamp).arg(i));
    if (!QFile::rename(reportPath, target)) {
        if (error) *error = QObject::tr("cannot move %1 to %2").arg(reportPath, target);
        return {};
    }
    return target;
}

QString folderInPoolProblem(const QString& folder, const QStringList& poolFolders) {
    if (folder.trimmed().isEmpty()) return {};
    const QString f = canonical(folder);
    for (const auto& p : poolFolders) {
        const QString m = canonical(p);
        if (inside(f, m))
            return f == m ? QObject::tr("%1 is the pool model folder %2").arg(folder, QFileInfo(m).fileName())
                          : QObject::tr("%1 is inside the pool model folder %2")
                                .arg(folder, QFileInfo(m).fileName());
        if (inside(m, f))
            return QObject::tr("%1 contains the pool model folder %2").arg(folder, QFileInfo(m).fileName());
    }
    return {};
}

QString plainMessage(QString m) {
    // The run's own wording, then any flag left over.
    m.replace(QStringLiteral("; use --force to resume anyway, or another output_dir to start over"),
              QObject::tr("; choose Resume anyway to continue it, or Start over"));
    m.replace(QStringLiteral(" (use --resume to continue it)"), QObject::tr(" (Resume continues it)"));
    static const QList<std::pair<QString, QString>> flags{
        {QStringLiteral("--force"), QObject::tr("Resume anyway")},
        {QStringLiteral("--resume"), QObject::tr("Resume")},
        {QStringLiteral("--out"), QObject::tr("the output folder")},
        {QStringLiteral("--device"), QObject::tr("the device option")},
        {QStringLiteral("--export"), QObject::tr("Export")},
    };
    for (const auto& [flag, words] : flags)
        m.replace(QRegularExpression(
                      QStringLiteral("(?<![\\w-])%1(?![\\w-])").arg(QRegularExpression::escape(flag))),
                  words);
    static const QRegularExpression anyFlag(QStringLiteral("(?<![\\w-])--[a-z][a-z-]*"));
    m.replace(anyFlag, QObject::tr("the matching option"));
    return m;
}

}  // namespace olm::ui
