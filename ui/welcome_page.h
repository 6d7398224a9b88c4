#pragma once
// What the empty window shows: open the demo, open a project, start a new one
// (NewProjectWizard), or reopen a recent project.
#include <QWidget>
#include <QWizard>

class QLineEdit;
class QListWidget;
class QComboBox;

namespace olm::ui {

class WelcomePage : public QWidget {
    Q_OBJECT
public:
    explicit WelcomePage(QWidget* parent = nullptr);
    void setRecent(const QStringList& paths);
    QListWidget* recentList() const { return m_recent; }

signals:
    void openDemo();
    void openProjectDialog();
    void newProject();
    void openRecent(const QString& path);

private:
    QListWidget* m_recent;
};

// New project: pool models (folders, or org/name ids), datasets with their
// evaluation mode, output folder and where the config goes. Saves a merge
// config with the `better` search preset.
class NewProjectWizard : public QWizard {
    Q_OBJECT
public:
    explicit NewProjectWizard(const QString& startFolder, QWidget* parent = nullptr);

    // Filled by the pages (public so tests drive the wizard without file dialogs).
    QListWidget* models() const { return m_models; }
    QListWidget* datasets() const { return m_datasets; }
    QComboBox* datasetMode() const { return m_mode; }
    QLineEdit* outputDir() const { return m_output; }
    QLineEdit* configPath() const { return m_configPath; }
    QComboBox* preset() const { return m_preset; }
    void addModels(const QStringList& foldersOrIds);
    void addDatasets(const QStringList& files);

    // Writes the config (olm::save_merge_config); false and *error on failure.
    bool save(QString* error = nullptr) const;

    void accept() override;

private:
    QListWidget* m_models;
    QListWidget* m_datasets;
    QComboBox* m_mode;
    QLineEdit* m_output;
    QLineEdit* m_configPath;
    QComboBox* m_preset;
    QString m_start;
};

}  // namespace olm::ui
