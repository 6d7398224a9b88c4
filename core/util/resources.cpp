#include "core/util/resources.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

namespace fs = std::filesystem;

namespace olm {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return {};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

fs::path executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw Error("cannot find the running executable (/proc/self/exe): " + ec.message());
    return exe.parent_path();
}

fs::path resources_dir() {
    if (const std::string e = env("OLM_RESOURCES_DIR"); !e.empty()) {
        if (!fs::is_directory(e)) throw Error("OLM_RESOURCES_DIR=" + e + " is not a folder");
        return e;
    }
    const fs::path dir = executable_dir();
    // Installed: PREFIX/bin/olm + PREFIX/share/olm-studio. Build tree:
    // build/app/olm + build/share/olm-studio (a link to the source resources/).
    const fs::path candidates[] = {dir / ".." / "share" / "olm-studio",
                                   dir / ".." / ".." / "share" / "olm-studio"};
    for (const auto& c : candidates)
        if (fs::is_directory(c / "demo")) return fs::weakly_canonical(c);
    throw Error("OLM Studio resources not found: looked for share/olm-studio/demo next to " + dir.string() +
                " (set OLM_RESOURCES_DIR to the resources folder)");
}

fs::path user_data_dir() {
    if (const std::string x = env("XDG_DATA_HOME"); !x.empty() && fs::path(x).is_absolute())
        return fs::path(x) / "olm-studio";
    const std::string home = env("HOME");
    if (home.empty()) throw Error("neither XDG_DATA_HOME nor HOME is set: no place for user data");
    return fs::path(home) / ".local" / "share" / "olm-studio";
}

DemoCopy writable_demo_dir(const fs::path& bundled) {
    if (!fs::is_regular_file(bundled / "olm_config.yaml"))
        throw Error("demo project not found: " + (bundled / "olm_config.yaml").string());
    DemoCopy out;
    out.dir = user_data_dir() / "demo";
    const fs::path stamp = out.dir / ".bundled-training.json";
    const std::string source = read_all(bundled / "training.json");
    if (fs::is_regular_file(out.dir / "olm_config.yaml") && fs::exists(stamp) && read_all(stamp) == source)
        return out;
    std::error_code ec;
    fs::create_directories(out.dir, ec);
    if (ec) throw Error("cannot create " + out.dir.string() + ": " + ec.message());
    // The pool, datasets and config; a previous copy's outputs stay.
    for (const char* item : {"pool", "datasets"}) {
        fs::remove_all(out.dir / item, ec);
        fs::copy(bundled / item, out.dir / item, fs::copy_options::recursive, ec);
        if (ec) throw Error("cannot copy the demo project to " + out.dir.string() + ": " + ec.message());
    }
    for (const char* item : {"olm_config.yaml", "training.json"}) {
        if (!fs::exists(bundled / item)) continue;
        fs::copy_file(bundled / item, out.dir / item, fs::copy_options::overwrite_existing, ec);
        if (ec) throw Error("cannot copy " + (bundled / item).string() + ": " + ec.message());
    }
    // The installed files are read-only; the copy is the user's.
    for (const auto& e : fs::recursive_directory_iterator(out.dir))
        fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add, ec);
    write_file_atomic(stamp, source);
    out.copied = true;
    return out;
}

}  // namespace olm
