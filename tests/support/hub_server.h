#pragma once
// A Hugging Face Hub look-alike on 127.0.0.1 for tests: tests/io/hub_server.py
// (python3) serving folders as repositories, one server per test. The test
// target defines OLM_HUB_SERVER as the script's path.
//
//   HubServer hub(work_dir, {{"org/tiny", {{"dir", folder}, {"commit", sha}, {"refs", {{"main", sha}}}}}});
//   hub.endpoint() -> "http://127.0.0.1:PORT"; hub.requests() -> what was asked, in order
#include "tests/support/test_files.h"

#include <QProcess>
#include <QString>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace olm::testing {

// The Hub look-alike, one per test.
class HubServer {
public:
    HubServer(const std::filesystem::path& work, const nlohmann::json& repos) : m_log(work / "server.log") {
        const std::filesystem::path spec = work / "spec.json";
        olm::testing::write_text(spec, nlohmann::json{{"repos", repos}}.dump());
        m_proc.setProcessChannelMode(QProcess::SeparateChannels);
        m_proc.start(QStringLiteral("python3"),
                     {QStringLiteral(OLM_HUB_SERVER), QString::fromStdString(spec.string()),
                      QString::fromStdString(m_log.string())});
        if (!m_proc.waitForStarted(10000) || !m_proc.waitForReadyRead(10000)) return;
        m_port = QString::fromUtf8(m_proc.readLine()).trimmed().toInt();
    }
    ~HubServer() {
        m_proc.kill();
        m_proc.waitForFinished(5000);
    }
    bool ok() const { return m_port > 0; }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    std::vector<nlohmann::json> requests() const {
        std::vector<nlohmann::json> out;
        std::istringstream in(olm::testing::read_text(m_log));
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) out.push_back(nlohmann::json::parse(line));
        return out;
    }
    // Requests whose path ends with suffix.
    std::vector<nlohmann::json> requests_for(const std::string& suffix) const {
        std::vector<nlohmann::json> out;
        for (const auto& r : requests()) {
            const std::string p = r["path"];
            if (p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0)
                out.push_back(r);
        }
        return out;
    }

private:
    std::filesystem::path m_log;
    QProcess m_proc;
    int m_port = 0;
};

}  // namespace olm::testing
