#pragma once
// The few direct questions the panels ask core/ (all cheap, GUI thread):
// what a model folder is, whether a pool can be layer-merged, which
// evaluation modes and compute devices exist. Only core_bridge.cpp and
// merge_worker.cpp include libtorch-heavy core headers.
#include <QPair>
#include <QString>
#include <QStringList>
#include <QVector>

namespace olm::ui {

// One model folder as the pool panel shows it.
struct PoolEntry {
    QString path;          // absolute folder path
    QString name;          // folder name (the pool's display name)
    QString architecture;  // "LlamaForCausalLM", or "" when the folder could not be opened
    int layers = 0;
    int hidden = 0;
    qint64 bytes = 0;       // tensor bytes on disk
    QString dtype;          // main storage dtype
    bool openable = false;  // the folder opened as a Hugging Face model
    QString error;          // why it could not be opened
    bool compatible = false;
    QString verdict;       // "OK (base)", "OK", "OK, warning: ..." or the precise incompatibility reason
    QStringList warnings;  // non-blocking differences (tokenizer, rope/norm parameters)
    QString hubName;       // "org/name[@revision]" for a Hugging Face model (name and config entry), else ""
    bool pendingDownload = false;  // hubName is in no cache yet: the merge downloads it, then checks it
    bool inspected = true;         // false until inspectModelFolder has read path (pool check pending)
};

// Opens the folder with core/io (headers only) and fills the descriptive fields.
PoolEntry inspectModelFolder(const QString& path);

// Fills compatible/verdict of every entry against entries[base] with core/io's
// pool check (architecture, layer count, vocabulary, every tensor's shape),
// plus its warnings (tokenizer or config differences).
void checkPool(QVector<PoolEntry>& entries, int base);

// The output folder's run lock (core/util/dir_lock): "" when no other run holds
// it (or the folder has none), else the holder ("pid N, <command> since <time>").
QString outputFolderHolder(const QString& outputDir);

// Reads a dataset file with core/eval (conversation JSON or JSON Lines) and
// returns its number of conversations; -1 and the error text when invalid.
int countConversations(const QString& path, QString* error = nullptr);

// What the quality mode's detectors look for: forbidden code point ranges and
// the longest allowed word (core/eval's settings from the config's keys).
struct PreviewDetectors {
    QVector<QPair<uint, uint>> forbidden;  // inclusive code point ranges
    int maxWordChars = 20;
    QString error;  // why the config's forbidden_scripts did not parse
};
PreviewDetectors previewDetectors(const QStringList& forbiddenScripts);

// Registered evaluation modes ("exact", "bigram", "quality", ...).
QStringList evalModeNames();

// "cpu" plus "cuda:N" for every CUDA device libtorch sees.
QStringList computeDevices();

}  // namespace olm::ui
