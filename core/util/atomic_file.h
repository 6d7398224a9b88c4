#pragma once
// Writes that never leave a half-written file behind: write to a temporary file
// in the same folder, fsync, then rename over the target.
#include <filesystem>
#include <string_view>

namespace olm {

void write_file_atomic(const std::filesystem::path& target, std::string_view contents);

// fsync a file or directory by path (best effort on directories).
void fsync_path(const std::filesystem::path& path);

}  // namespace olm
