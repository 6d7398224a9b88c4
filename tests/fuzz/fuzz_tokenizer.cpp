// libFuzzer target: tokenizer.json -> Tokenizer, then encode/decode of a few
// fixed texts. Loading must succeed or throw olm::Error; every id encode
// returns must lie in [0, vocab_size); decode must not crash.
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    olm::Tokenizer tok;
    try {
        tok = olm::Tokenizer::from_json(text, {}, "tokenizer.json");
    } catch (const olm::Error&) {
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "load: unexpected exception type: %s\n", e.what());
        std::abort();
    }
    static const char* const k_texts[] = {"Hello world, 123!", " <s>a\n\tb  c</s> ",
                                          "\xc3\xa9t\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80", ""};
    for (const char* t : k_texts) {
        for (bool special : {false, true}) {
            try {
                const auto ids = tok.encode(t, special);
                for (int32_t id : ids)
                    if (id < 0 || id >= tok.vocab_size()) {
                        std::fprintf(stderr, "encode gave id %d outside [0, %lld)\n", id,
                                     static_cast<long long>(tok.vocab_size()));
                        std::abort();
                    }
                (void)tok.decode(ids, false);
                (void)tok.decode(ids, true);
                (void)tok.id_to_pieces(ids);
            } catch (const olm::Error&) {
            } catch (const std::exception& e) {
                std::fprintf(stderr, "encode: unexpected exception type: %s\n", e.what());
                std::abort();
            }
        }
    }
    return 0;
}
