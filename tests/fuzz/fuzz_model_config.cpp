// libFuzzer target: config.json (+ generation_config.json) -> ModelSpec.
// Any input must either give a spec inside ModelSpecLimits or throw olm::Error;
// a crash, another exception type or an out-of-bounds spec fails the run.
#include "core/io/model_config.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const nlohmann::json j = olm::parse_json_text(text, "config.json");
        olm::ModelSpec s = olm::parse_model_spec(j, "config.json");
        olm::merge_generation_config(s, j);
        using L = olm::ModelSpecLimits;
        const bool ok = s.num_hidden_layers >= 1 && s.num_hidden_layers <= L::max_layers &&
                        s.hidden_size >= 1 && s.hidden_size <= L::max_hidden && s.intermediate_size >= 1 &&
                        s.intermediate_size <= L::max_intermediate && s.num_attention_heads >= 1 &&
                        s.num_attention_heads <= L::max_heads && s.num_key_value_heads >= 1 &&
                        s.num_attention_heads % s.num_key_value_heads == 0 && s.head_dim >= 2 &&
                        s.head_dim % 2 == 0 && s.head_dim <= L::max_head_dim && s.vocab_size >= 1 &&
                        s.vocab_size <= L::max_vocab && std::isfinite(s.rope_theta) && s.rope_theta > 0 &&
                        std::isfinite(s.rms_norm_eps) && s.rms_norm_eps > 0 && s.max_position_embeddings >= 0;
        if (!ok) {
            std::fprintf(stderr, "accepted a config outside the limits: %s\n", j.dump().c_str());
            std::abort();
        }
    } catch (const olm::Error&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception type: %s\n", e.what());
        std::abort();
    }
    return 0;
}
