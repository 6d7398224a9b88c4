#pragma once
// Export: where the merged model goes, its dtype and shard size. Accept
// refuses a folder that is, contains or lies inside a pool model folder, and
// asks before replacing a folder that is not empty.
#include <QDialog>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace olm::ui {

struct ExportSettings {
    QString folder;
    QString dtype;  // "" = as the pool stores it
    qint64 shardBytes = 5'000'000'000;
};

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    // what: a line saying which recipe is exported (the finished merge, the best so far).
    ExportDialog(const ExportSettings& defaults, const QStringList& poolFolders, const QString& what,
                 QWidget* parent = nullptr);
    ExportSettings settings() const;
    QLineEdit* folderEdit() const { return m_folder; }
    QComboBox* dtypeBox() const { return m_dtype; }
    QSpinBox* shardBox() const { return m_shard; }
    QString problem() const;  // why the folder is refused ("" when it is not)

    void accept() override;

private:
    void updateState();
    QStringList m_pool;
    QLineEdit* m_folder;
    QComboBox* m_dtype;
    QSpinBox* m_shard;
    QLabel* m_error;
    QDialogButtonBox* m_buttons;
};

}  // namespace olm::ui
