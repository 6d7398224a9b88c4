#pragma once
// Where OLM Studio finds its read-only resources (demo project, icons) and
// where it keeps per-user data. Nothing here is fixed at build time: the
// resources folder is found relative to the running binary, so the build tree
// (build/app/olm -> build/share/olm-studio, a link to resources/) and an
// installed tree (PREFIX/bin/olm -> PREFIX/share/olm-studio) both work.
//
//   resources_dir()      $OLM_RESOURCES_DIR, else <exe>/../share/olm-studio
//   user_data_dir()      $XDG_DATA_HOME/olm-studio, else ~/.local/share/olm-studio
//   writable_demo_dir()  a user copy of resources_dir()/demo, made on first use
#include <filesystem>
#include <string>

namespace olm {

// The folder of the running executable (/proc/self/exe).
std::filesystem::path executable_dir();

// The read-only resources folder. Throws olm::Error naming every place looked at
// when none holds a demo/ folder.
std::filesystem::path resources_dir();

// The per-user data folder (not created).
std::filesystem::path user_data_dir();

struct DemoCopy {
    std::filesystem::path dir;  // the writable demo project
    bool copied = false;        // true when this call made (or refreshed) the copy
};

// A writable copy of the bundled demo project, user_data_dir()/demo. Made on
// first use; refreshed when the bundled project changed (its training.json
// differs from the one the copy was made from). Edits and outputs in the copy
// survive otherwise.
DemoCopy writable_demo_dir(const std::filesystem::path& bundled);

}  // namespace olm
