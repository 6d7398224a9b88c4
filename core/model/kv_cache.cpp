#include "core/model/kv_cache.h"

#include "core/util/error.h"

namespace olm {

KvCache::KvCache(int64_t num_layers, int64_t capacity_hint)
    : m_layers(static_cast<size_t>(num_layers)), m_capacity_hint(capacity_hint) {}

int64_t KvCache::layer_length(int64_t layer) const { return m_layers.at(layer).length; }

int64_t KvCache::layer_capacity(int64_t layer) const {
    const Layer& l = m_layers.at(layer);
    return l.k.defined() ? l.k.size(2) : 0;
}

int64_t KvCache::grown_capacity(int64_t current, int64_t needed) const {
    int64_t cap = std::max<int64_t>(current, m_capacity_hint);
    if (cap == 0) cap = needed;
    while (cap < needed) cap *= 2;  // doubling: amortised O(1) per decoded token
    return cap;
}

std::pair<at::Tensor, at::Tensor> KvCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
    if (layer < 0 || layer >= num_layers())
        throw Error("KvCache: layer " + std::to_string(layer) + " out of range");
    Layer& l = m_layers[layer];
    const int64_t t = k.size(2);
    const int64_t needed = l.length + t;
    if (!l.k.defined() || l.k.size(2) < needed) {
        const int64_t cap = grown_capacity(l.k.defined() ? l.k.size(2) : 0, needed);
        // [B, kv_heads, cap, head_dim]
        at::Tensor nk = at::empty({k.size(0), k.size(1), cap, k.size(3)}, k.options());
        at::Tensor nv = at::empty({v.size(0), v.size(1), cap, v.size(3)}, v.options());
        if (l.length > 0) {
            nk.narrow(2, 0, l.length).copy_(l.k.narrow(2, 0, l.length));
            nv.narrow(2, 0, l.length).copy_(l.v.narrow(2, 0, l.length));
        }
        l.k = nk;
        l.v = nv;
    } else if (l.k.size(0) != k.size(0)) {
        throw Error("KvCache: batch size " + std::to_string(k.size(0)) + " does not match the cache's " +
                    std::to_string(l.k.size(0)));
    }
    l.k.narrow(2, l.length, t).copy_(k);
    l.v.narrow(2, l.length, t).copy_(v);
    l.length = needed;
    return {l.k.narrow(2, 0, needed), l.v.narrow(2, 0, needed)};
}

void KvCache::set_valid(int64_t begin, const at::Tensor& mask) {
    const int64_t t = mask.size(1);
    const int64_t needed = begin + t;
    if (!m_valid.defined() || m_valid.size(1) < needed) {
        const int64_t cap = grown_capacity(m_valid.defined() ? m_valid.size(1) : 0, needed);
        at::Tensor nv = at::zeros({mask.size(0), cap}, mask.options().dtype(at::kBool));
        if (m_valid.defined()) nv.narrow(1, 0, m_valid.size(1)).copy_(m_valid);
        m_valid = nv;
    }
    m_valid.narrow(1, begin, t).copy_(mask);
}

at::Tensor KvCache::valid(int64_t n) const {
    if (!m_valid.defined() || m_valid.size(1) < n)
        throw Error("KvCache: validity of " + std::to_string(n) + " columns requested, not recorded");
    return m_valid.narrow(1, 0, n);
}

KvCache KvCache::clone(int64_t end_layer) const {
    KvCache out(num_layers(), m_capacity_hint);
    const int64_t end = end_layer < 0 ? num_layers() : std::min(end_layer, num_layers());
    for (int64_t i = 0; i < end; ++i) {
        const Layer& l = m_layers[i];
        if (!l.k.defined()) continue;
        out.m_layers[i].k = l.k.clone();
        out.m_layers[i].v = l.v.clone();
        out.m_layers[i].length = l.length;
    }
    if (m_valid.defined()) out.m_valid = m_valid.clone();
    return out;
}

void KvCache::select_rows(const at::Tensor& rows) {
    for (Layer& l : m_layers) {
        if (!l.k.defined()) continue;
        l.k = l.k.index_select(0, rows.to(l.k.device()));
        l.v = l.v.index_select(0, rows.to(l.v.device()));
    }
    if (m_valid.defined()) m_valid = m_valid.index_select(0, rows.to(m_valid.device()));
}

}  // namespace olm
