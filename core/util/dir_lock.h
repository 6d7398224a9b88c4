#pragma once
// One run per folder: an exclusive advisory lock (flock) on a lock file,
// held for as long as the DirLock lives. The holder's pid is written into the
// file so a refused second run can name it. A lock left by a killed process is
// free again (the kernel drops flock locks with the process), so no stale-lock
// cleanup is ever needed.
//
//   DirLock lock = DirLock::acquire(output_dir / kDirLockName, "output_dir " + output_dir.string());
//   ...                                  // released by the destructor
#include <filesystem>
#include <string>

namespace olm {

// The lock file a merge keeps in its output_dir.
inline constexpr const char* kDirLockName = ".olm.lock";

class DirLock {
public:
    // Creates lock_file if needed (its folder must exist) and takes the lock
    // without waiting. Throws olm::Error "<what> is in use by another run (pid N,
    // <command> since <time>); ..." when another process (or another DirLock of
    // this process) holds it. remove_on_release: unlink the file when released
    // (acquire then checks it locked the file still at that path).
    static DirLock acquire(const std::filesystem::path& lock_file, const std::string& what,
                           bool remove_on_release = false);
    // The same without the refusal: an unheld DirLock when another holds the
    // lock (its "pid N, command, since time" in *holder), for callers that wait.
    // Other failures (the file cannot be created or locked) still throw.
    static DirLock try_acquire(const std::filesystem::path& lock_file, bool remove_on_release = false,
                               std::string* holder = nullptr);

    DirLock() = default;
    DirLock(DirLock&& other) noexcept;
    DirLock& operator=(DirLock&& other) noexcept;
    DirLock(const DirLock&) = delete;
    DirLock& operator=(const DirLock&) = delete;
    ~DirLock();

    bool held() const { return m_fd >= 0; }
    const std::filesystem::path& path() const { return m_path; }
    void release();

private:
    int m_fd = -1;
    std::filesystem::path m_path;
    bool m_remove = false;
};

// The pid recorded in a lock file (0 when absent or unreadable).
long lock_holder_pid(const std::filesystem::path& lock_file);

}  // namespace olm
