#include "core/util/progress.h"

namespace olm {

ProgressSink& null_sink() {
    static ProgressSink sink;
    return sink;
}

}  // namespace olm
