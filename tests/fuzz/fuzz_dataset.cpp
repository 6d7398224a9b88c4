// libFuzzer target: an evaluation dataset file (JSON array or JSON Lines).
// Parsing must give records that satisfy the documented shape (at least one
// turn, the last the assistant's) or throw olm::Error.
#include "core/eval/dataset.h"
#include "core/util/error.h"

#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    for (bool require_response : {false, true}) {
        try {
            const auto records = olm::parse_dataset_text(text, "fuzz.json", require_response);
            for (const auto& r : records) {
                if (r.turns.empty() || r.turns.back().role != "assistant" ||
                    (require_response && r.turns.back().content.empty())) {
                    std::fprintf(stderr, "accepted a malformed sample %lld\n",
                                 static_cast<long long>(r.index));
                    std::abort();
                }
            }
        } catch (const olm::Error&) {
        } catch (const std::exception& e) {
            std::fprintf(stderr, "unexpected exception type: %s\n", e.what());
            std::abort();
        }
    }
    return 0;
}
