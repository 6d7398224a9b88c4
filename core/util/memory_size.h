#pragma once
// Memory sizes as a user writes them ("20GiB", "80GB", "auto") and as the
// product prints them. No libtorch here: the config parser (and its fuzz
// target) uses it.
#include <cstdint>
#include <string>

namespace olm {

// "20GiB", "512MiB", "80GB", "1.5T", a plain byte count; "auto" -> -1 (the
// device's free memory less a reserve for activations, decided by the engine).
// Throws olm::Error naming the text otherwise.
int64_t parse_memory_size(const std::string& text);
// 1536 -> "1.5 KiB", 20 GiB -> "20.00 GiB".
std::string size_text(int64_t bytes);

}  // namespace olm
