#include "core/dist/peers.h"

#include "core/util/error.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cerrno>
#include <cstdlib>

namespace olm {

namespace {

using Clock = std::chrono::steady_clock;

// An integer environment variable, or nullopt when unset.
std::optional<long long> env_int(const std::function<const char*(const char*)>& env, const char* name) {
    const char* v = env(name);
    if (!v || !*v) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const long long n = std::strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0')
        throw Error(std::string("distributed launch: ") + name + "='" + v + "' is not an integer");
    return n;
}

std::string env_text(const std::function<const char*(const char*)>& env, const char* name) {
    const char* v = env(name);
    return v ? std::string(v) : std::string();
}

// SLURM's tasks per node as it writes them: "4", "4(x2)", "2(x3),1": the
// first node's count (every rank of a host shares it; mixed counts are rare).
std::optional<long long> slurm_tasks_per_node(const std::string& text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    const long long n = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || n < 1) return std::nullopt;
    return n;
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

}  // namespace

std::optional<LaunchInfo> launch_from_env(const std::function<const char*(const char*)>& env) {
    LaunchInfo info;
    if (auto t = env_int(env, "OLM_DIST_TIMEOUT")) {
        if (*t < 1) throw Error("distributed launch: OLM_DIST_TIMEOUT must be at least 1 (seconds)");
        info.timeout_s = static_cast<double>(*t);
    }
    const auto world = env_int(env, "WORLD_SIZE");
    const auto rank = env_int(env, "RANK");
    if (world || rank) {
        if (!world || !rank) throw Error("distributed launch: RANK and WORLD_SIZE must be set together");
        if (*world <= 1) return std::nullopt;
        info.launcher = "torchrun / env";
        info.world_size = static_cast<int>(*world);
        info.rank = static_cast<int>(*rank);
        info.local_rank = static_cast<int>(env_int(env, "LOCAL_RANK").value_or(0));
        info.local_world_size = static_cast<int>(env_int(env, "LOCAL_WORLD_SIZE").value_or(1));
        info.agent_store = env_text(env, "TORCHELASTIC_USE_AGENT_STORE") == "True";
        info.run_id = env_text(env, "TORCHELASTIC_RUN_ID");
        if (!info.run_id.empty()) info.run_id += "." + env_text(env, "TORCHELASTIC_RESTART_COUNT");
        info.master_addr = env_text(env, "MASTER_ADDR");
        if (info.master_addr.empty())
            throw Error("distributed launch: WORLD_SIZE is " + std::to_string(*world) +
                        " but MASTER_ADDR is not set (the host of rank 0)");
    } else if (const auto ntasks = env_int(env, "SLURM_NTASKS")) {
        if (*ntasks <= 1) return std::nullopt;
        const auto procid = env_int(env, "SLURM_PROCID");
        if (!procid) throw Error("distributed launch: SLURM_NTASKS is set but SLURM_PROCID is not");
        info.launcher = "slurm";
        info.world_size = static_cast<int>(*ntasks);
        info.rank = static_cast<int>(*procid);
        info.local_rank = static_cast<int>(env_int(env, "SLURM_LOCALID").value_or(0));
        auto per_node = slurm_tasks_per_node(env_text(env, "SLURM_NTASKS_PER_NODE"));
        if (!per_node) per_node = slurm_tasks_per_node(env_text(env, "SLURM_TASKS_PER_NODE"));
        info.local_world_size = static_cast<int>(per_node.value_or(1));
        info.run_id = env_text(env, "SLURM_JOB_ID");
        if (!info.run_id.empty()) info.run_id += "." + env_text(env, "SLURM_STEP_ID");
        info.master_addr = env_text(env, "MASTER_ADDR");
        if (info.master_addr.empty()) info.master_addr = env_text(env, "SLURM_LAUNCH_NODE_IPADDR");
        if (info.master_addr.empty())
            throw Error(
                "distributed launch: under SLURM set MASTER_ADDR to the first node "
                "(export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1))");
    } else {
        return std::nullopt;
    }
    if (auto p = env_int(env, "MASTER_PORT")) {
        if (*p < 1 || *p > 65535) throw Error("distributed launch: MASTER_PORT must be in 1..65535");
        info.master_port = static_cast<int>(*p);
    }
    // torchrun's agent serves its own TCPStore on MASTER_PORT, in the wire
    // protocol of the torch that runs torchrun, which need not be the libtorch
    // olm was built with (libtorch 1.13's client gets no answer from torch 2.x's
    // server and waits forever). So olm never uses it: rank 0 hosts olm's store
    // on the next port.
    info.store_port = info.master_port + (info.agent_store ? 1 : 0);
    if (auto p = env_int(env, "OLM_DIST_PORT")) {
        if (*p < 1 || *p > 65535) throw Error("distributed launch: OLM_DIST_PORT must be in 1..65535");
        info.store_port = static_cast<int>(*p);
    }
    if (info.store_port > 65535)
        throw Error(
            "distributed launch: MASTER_PORT 65535 leaves no port for olm's store next to "
            "torchrun's; set OLM_DIST_PORT");
    if (info.rank < 0 || info.rank >= info.world_size)
        throw Error("distributed launch: rank " + std::to_string(info.rank) + " is outside 0.." +
                    std::to_string(info.world_size - 1));
    if (info.local_rank < 0) throw Error("distributed launch: the local rank must not be negative");
    info.local_world_size = std::max(1, info.local_world_size);
    if (info.run_id.empty() || info.run_id == ".") info.run_id = "run";
    return info;
}

std::string rank_device(const std::string& device, const LaunchInfo& info) {
    const bool gpus = at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0;
    const bool cuda = device.rfind("cuda", 0) == 0 || (device.empty() && gpus);
    if (!cuda) return device;
    const int n = gpus ? at::detail::getCUDAHooks().getNumGPUs() : 0;
    if (info.local_rank >= n)
        throw Error("rank " + std::to_string(info.rank) + " is local rank " +
                    std::to_string(info.local_rank) + " on its host, which has " + std::to_string(n) +
                    " GPU(s): start at most one rank per GPU (torchrun --nproc-per-node " +
                    std::to_string(n) + ")");
    return "cuda:" + std::to_string(info.local_rank);
}

struct StorePeers::Impl {
    c10::intrusive_ptr<c10d::TCPStore> store;
};

void StorePeers::store_lost(const std::exception& e) const {
    throw Error("rank " + std::to_string(m_info.rank) + " lost the store on " + m_info.master_addr + ":" +
                std::to_string(m_info.store_port) + " (rank 0 hosts it: did rank 0 stop?)" + ": " + e.what() +
                "; the report on rank 0 holds every finished candidate: rerun with --resume");
}

template <class F>
auto StorePeers::with_store(F&& op) {
    try {
        std::lock_guard<std::mutex> lock(m_mutex);
        return op(*m_impl->store);
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        store_lost(e);
    }
}

StorePeers::StorePeers(const LaunchInfo& info, std::chrono::milliseconds join_timeout)
    : m_info(info), m_impl(std::make_unique<Impl>()) {
    const std::string where = m_info.master_addr + ":" + std::to_string(m_info.store_port);
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(m_info.store_port);
    opts.isServer = m_info.rank == 0;
    opts.waitWorkers = false;
    opts.timeout = join_timeout;
    try {
        m_impl->store = c10::make_intrusive<c10d::TCPStore>(m_info.master_addr, opts);
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(m_info.rank) + ": cannot " +
                    (opts.isServer ? "open the store on " : "reach the store on ") + where + " (" +
                    m_info.launcher + " launch): " + e.what());
    }
    m_beats.assign(static_cast<size_t>(m_info.world_size), -1);
    m_beat_at.assign(static_cast<size_t>(m_info.world_size), Clock::now());
    const int64_t arrived = with_store([&](c10d::Store& st) {
        st.add(key("hb/" + std::to_string(m_info.rank)), 1);
        return st.add(key("joined"), 1);
    });
    if (arrived > m_info.world_size)
        throw Error("more processes joined " + where + " than WORLD_SIZE " +
                    std::to_string(m_info.world_size) + " (is another merge using the same port?)");
    const auto t0 = Clock::now();
    while (true) {
        const int64_t joined = with_store([&](c10d::Store& st) { return st.add(key("joined"), 0); });
        if (joined >= m_info.world_size) break;
        if (Clock::now() - t0 > join_timeout)
            throw Error(
                "only " + std::to_string(joined) + " of " + std::to_string(m_info.world_size) +
                " ranks reached the store on " + where + " within " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(join_timeout).count()) +
                " s");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (auto& t : m_beat_at) t = Clock::now();
    // Started last: a constructor that throws leaves no thread behind.
    m_heartbeat = std::thread([this] {
        const std::string hb = key("hb/" + std::to_string(m_info.rank));
        while (!m_stop.load()) {
            for (int i = 0; i < 20 && !m_stop.load(); ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            if (m_stop.load()) break;
            try {
                std::lock_guard<std::mutex> lock(m_mutex);
                m_impl->store->add(hb, 1);
            } catch (const std::exception&) {
                break;  // the store is gone: the next exchange says so
            }
        }
    });
}

StorePeers::~StorePeers() {
    m_stop.store(true);
    if (m_heartbeat.joinable()) m_heartbeat.join();
}

std::string StorePeers::key(const std::string& k) const { return "olm/" + m_info.run_id + "/" + k; }

void StorePeers::check_peer(int r) {
    const int64_t beat =
        with_store([&](c10d::Store& st) { return st.add(key("hb/" + std::to_string(r)), 0); });
    const auto i = static_cast<size_t>(r);
    const auto now = Clock::now();
    if (beat != m_beats[i]) {
        m_beats[i] = beat;
        m_beat_at[i] = now;
    } else if (std::chrono::duration<double>(now - m_beat_at[i]).count() > m_info.timeout_s) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.0f", m_info.timeout_s);
        throw Error("rank " + std::to_string(r) + " of " + std::to_string(m_info.world_size) +
                    " stopped responding (no heartbeat for " + buf +
                    " s: it died or hangs); the report on rank 0 holds every finished candidate: "
                    "rerun with --resume (any number of ranks)");
    }
}

void StorePeers::wait_for(const std::string& k, int who) {
    const std::string full = key(k), abort_key = key("abort");
    auto nap = std::chrono::milliseconds(1);
    auto checked = Clock::now();
    while (true) {
        std::optional<std::string> aborted;
        const bool there = with_store([&](c10d::Store& st) {
            if (st.check({full})) return true;
            if (st.check({abort_key})) {
                aborted = text(st.get(abort_key));
                st.add(key("abort_seen"), 1);
            }
            return false;
        });
        if (there) return;
        if (aborted) throw Error(*aborted);
        if (Clock::now() - checked > std::chrono::milliseconds(500)) {
            check_peer(who);
            checked = Clock::now();
        }
        std::this_thread::sleep_for(nap);
        nap = std::min(nap * 2, std::chrono::milliseconds(20));
    }
}

std::vector<std::string> StorePeers::all_gather(const std::string& mine) {
    const std::string seq = "g/" + std::to_string(++m_seq) + "/";
    with_store([&](c10d::Store& st) { st.set(key(seq + std::to_string(m_info.rank)), bytes(mine)); });
    std::vector<std::string> out(static_cast<size_t>(m_info.world_size));
    out[static_cast<size_t>(m_info.rank)] = mine;
    for (int r = 0; r < m_info.world_size; ++r) {
        if (r == m_info.rank) continue;
        const std::string k = seq + std::to_string(r);
        wait_for(k, r);
        out[static_cast<size_t>(r)] = with_store([&](c10d::Store& st) { return text(st.get(key(k))); });
    }
    // Everyone has posted this exchange, so everyone has read the one before last.
    if (m_seq > 2)
        with_store([&](c10d::Store& st) {
            st.deleteKey(key("g/" + std::to_string(m_seq - 2) + "/" + std::to_string(m_info.rank)));
        });
    return out;
}

std::string StorePeers::broadcast(const std::string& value) {
    const std::string k = "b/" + std::to_string(++m_seq);
    if (m_info.rank == 0) {
        with_store([&](c10d::Store& st) { st.set(key(k), bytes(value)); });
        return value;
    }
    wait_for(k, 0);
    return with_store([&](c10d::Store& st) { return text(st.get(key(k))); });
}

void StorePeers::abort(const std::string& why) noexcept {
    try {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_impl->store->check({key("abort")})) return;  // another rank's error is the cause
        m_impl->store->set(key("abort"), bytes("rank " + std::to_string(m_info.rank) + " of " +
                                               std::to_string(m_info.world_size) + " failed: " + why));
    } catch (...) {
        return;
    }
    if (m_info.rank != 0) return;
    // Rank 0 hosts the store: keep it up until the others have read why (at
    // most 3 s; a dead rank never does).
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < std::chrono::seconds(3)) {
        try {
            std::lock_guard<std::mutex> lock(m_mutex);
            if (m_impl->store->add(key("abort_seen"), 0) >= m_info.world_size - 1) return;
        } catch (...) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void StorePeers::finish() {
    if (m_info.rank != 0) {
        with_store([&](c10d::Store& st) { st.set(key("done/" + std::to_string(m_info.rank)), bytes("1")); });
        return;
    }
    for (int r = 1; r < m_info.world_size; ++r) wait_for("done/" + std::to_string(r), r);
}

}  // namespace olm
