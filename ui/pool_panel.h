#pragma once
// The model pool panel: drop Hugging Face model folders from a file manager
// (or add them with a folder dialog), see each one's architecture, layers,
// size and pool-check verdict, reorder (the order breaks ties), remove, and
// choose the base model (explicit, first, or auto-selected by the merge).
#include "ui/pool_model.h"

#include <QGroupBox>

class QComboBox;
class QLineEdit;
class QTableView;
class QPushButton;

namespace olm {
struct MergeConfig;
}

namespace olm::ui {

class PoolPanel : public QGroupBox {
    Q_OBJECT
public:
    explicit PoolPanel(QWidget* parent = nullptr);

    PoolModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QComboBox* baseSelector() const { return m_base; }
    QLineEdit* hubNameEdit() const { return m_hubName; }

    // Local folders among the urls (files and remote urls are skipped).
    static QStringList foldersFromUrls(const QList<QUrl>& urls);

    void applyTo(olm::MergeConfig& config) const;
    void loadFrom(const olm::MergeConfig& config);
    void setEditable(bool editable);
    // Where Add… starts (the project's folder).
    void setStartFolder(const QString& folder) { m_startFolder = folder; }
    bool dropHighlighted() const { return m_dropHighlight; }

public slots:
    void addFolderDialog();
    // Adds a Hugging Face model by name (org/name[@revision]): from the
    // Hugging Face cache when it is there, else downloaded when the merge
    // starts. Returns false (with the reason in the field's tooltip) for a bad name.
    bool addHubName(const QString& name);
    // After a run: the Hub models it downloaded are read from the cache now.
    void refreshDownloads();
    void removeSelected();
    void moveSelected(int delta);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragMoveEvent(QDragMoveEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void dragLeaveEvent(QDragLeaveEvent* event) override;

private:
    void refreshBaseChoices();
    void setDropHighlight(bool on);
    QString m_startFolder;
    bool m_dropHighlight = false;

    PoolModel* m_model;
    QTableView* m_view;
    QComboBox* m_base;
    QLineEdit* m_hubName;
    QList<QPushButton*> m_buttons;
};

}  // namespace olm::ui
