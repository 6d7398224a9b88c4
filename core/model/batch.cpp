#include "core/model/batch.h"

#include "core/util/error.h"

namespace olm {

int64_t Batch::column(int64_t b, int64_t j) const {
    return side == PadSide::right ? j : width() - lengths.at(b) + j;
}

Batch Batch::slice(int64_t begin, int64_t end) const {
    Batch out;
    out.ids = ids.slice(0, begin, end);
    out.mask = mask.slice(0, begin, end);
    out.positions = positions.slice(0, begin, end);
    out.lengths.assign(lengths.begin() + begin, lengths.begin() + end);
    out.side = side;
    return out;
}

Batch make_batch(const std::vector<std::vector<int64_t>>& sequences, PadSide side, int64_t pad_id,
                 int64_t first_position) {
    if (sequences.empty()) throw Error("make_batch: no sequences");
    int64_t width = 0;
    for (size_t i = 0; i < sequences.size(); ++i) {
        if (sequences[i].empty()) throw Error("make_batch: sequence " + std::to_string(i) + " is empty");
        width = std::max<int64_t>(width, static_cast<int64_t>(sequences[i].size()));
    }
    const int64_t n = static_cast<int64_t>(sequences.size());
    Batch batch;
    batch.side = side;
    batch.ids = at::full({n, width}, pad_id, at::kLong);
    batch.mask = at::zeros({n, width}, at::kBool);
    batch.positions = at::zeros({n, width}, at::kLong);
    auto ids = batch.ids.accessor<int64_t, 2>();
    auto mask = batch.mask.accessor<bool, 2>();
    auto pos = batch.positions.accessor<int64_t, 2>();
    for (int64_t b = 0; b < n; ++b) {
        const auto& seq = sequences[b];
        const int64_t len = static_cast<int64_t>(seq.size());
        batch.lengths.push_back(len);
        const int64_t offset = side == PadSide::right ? 0 : width - len;
        for (int64_t j = 0; j < len; ++j) {
            ids[b][offset + j] = seq[j];
            mask[b][offset + j] = true;
            pos[b][offset + j] = first_position + j;
        }
    }
    return batch;
}

}  // namespace olm
