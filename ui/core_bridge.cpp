// libtorch first: its headers use the identifier `slots`, which Qt defines as a macro.
#include "core/eval/dataset.h"
#include "core/eval/modes.h"
#include "core/eval/scripts.h"
#include "core/eval/settings.h"
#include "core/io/model_folder.h"
#include "core/io/pool_check.h"
#include "core/util/dir_lock.h"

#include <torch/cuda.h>

#include "ui/core_bridge.h"

#include <QDir>
#include <QFileInfo>
#include <QObject>

#include <exception>
#include <filesystem>
#include <map>

namespace olm::ui {

PoolEntry inspectModelFolder(const QString& path) {
    PoolEntry e;
    const QFileInfo fi(path);
    e.path = fi.absoluteFilePath();
    e.name = fi.fileName();
    try {
        const ModelFolder m = ModelFolder::open(e.path.toStdString());
        e.architecture = QString::fromStdString(m.architecture().name);
        e.layers = static_cast<int>(m.spec().num_hidden_layers);
        e.hidden = static_cast<int>(m.spec().hidden_size);
        e.bytes = static_cast<qint64>(m.disk_bytes());
        e.dtype = QString::fromStdString(std::string(dtype_name(m.main_dtype())));
        e.openable = true;
    } catch (const std::exception& ex) {
        e.error = QString::fromStdString(ex.what());
    }
    return e;
}

void checkPool(QVector<PoolEntry>& entries, int base) {
    if (entries.isEmpty()) return;
    if (base < 0 || base >= entries.size()) base = 0;
    // Reopening is cheap (headers only) and keeps PoolEntry free of core types.
    std::map<int, ModelFolder> opened;
    for (int i = 0; i < entries.size(); ++i) {
        if (!entries[i].openable) continue;
        try {
            opened.emplace(i, ModelFolder::open(entries[i].path.toStdString()));
        } catch (const std::exception& ex) {
            entries[i].openable = false;
            entries[i].error = QString::fromStdString(ex.what());
        }
    }
    const auto baseIt = opened.find(base);
    for (int i = 0; i < entries.size(); ++i) {
        PoolEntry& e = entries[i];
        if (!e.openable) {
            // A Hub model not downloaded yet does not block the start: the run
            // fetches it and core's pool check judges it then.
            e.compatible = e.pendingDownload;
            e.verdict = e.error;
            continue;
        }
        if (i == base) {
            e.compatible = true;
            e.verdict = QObject::tr("OK (base)");
            continue;
        }
        if (baseIt == opened.end()) {
            e.compatible = entries[base].pendingDownload;
            e.verdict = e.compatible ? QObject::tr("checked against the base once it is downloaded")
                                     : QObject::tr("base model could not be opened");
            continue;
        }
        // core/io's pool check: the first reason the model cannot be layer-merged.
        const QString why = QString::fromStdString(olm::incompatibility(baseIt->second, opened.at(i)));
        e.compatible = why.isEmpty();
        QStringList notes;
        for (const auto& w : olm::config_warnings(baseIt->second, opened.at(i)))
            notes << QString::fromStdString(w);
        if (const auto tok = olm::tokenizer_difference(baseIt->second.path(), opened.at(i).path()))
            notes << QString::fromStdString(*tok);
        e.warnings = notes;
        e.verdict =
            why.isEmpty()
                ? (notes.isEmpty() ? QObject::tr("OK")
                                   : QObject::tr("OK, warning: %1").arg(notes.join(QStringLiteral("; "))))
                : why;
    }
}

QString outputFolderHolder(const QString& outputDir) {
    if (outputDir.isEmpty()) return {};
    const std::filesystem::path lock = std::filesystem::path(outputDir.toStdString()) / kDirLockName;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(lock, ec)) return {};
    try {
        std::string holder;
        const DirLock probe = DirLock::try_acquire(lock, /*remove_on_release=*/false, &holder);
        if (probe.held()) return {};
        return QString::fromStdString(holder.empty() ? std::string("another process") : holder);
    } catch (const std::exception&) {
        return {};  // an unreadable lock file is the run's own error to report
    }
}

int countConversations(const QString& path, QString* error) {
    try {
        return static_cast<int>(read_dataset_file(path.toStdString(), /*require_response=*/false).size());
    } catch (const std::exception& ex) {
        if (error) *error = QString::fromStdString(ex.what());
        return -1;
    }
}

QStringList evalModeNames() {
    QStringList out;
    for (const auto& n : mode_names()) out << QString::fromStdString(n);
    if (out.isEmpty())
        out << QStringLiteral("exact") << QStringLiteral("bigram") << QStringLiteral("quality");
    return out;
}

QStringList computeDevices() {
    QStringList out{QStringLiteral("cpu")};
    if (torch::cuda::is_available()) {
        const auto n = torch::cuda::device_count();
        for (std::size_t i = 0; i < n; ++i) out << QStringLiteral("cuda:%1").arg(i);
    }
    return out;
}

PreviewDetectors previewDetectors(const QStringList& forbiddenScripts) {
    PreviewDetectors d;
    d.maxWordChars = static_cast<int>(olm::EvalSettings{}.max_word_chars);
    try {
        std::vector<std::string> names;
        for (const auto& s : forbiddenScripts) names.push_back(s.toStdString());
        for (const auto& r : olm::parse_script_ranges(names))
            d.forbidden.append({static_cast<uint>(r.first), static_cast<uint>(r.last)});
    } catch (const std::exception& e) {
        d.error = QString::fromUtf8(e.what());
    }
    return d;
}

}  // namespace olm::ui
