#pragma once
// A merge spread over processes with torch.distributed's launch conventions.
//
//   torchrun --nproc-per-node 8 --no-python olm merge cfg.yaml
//   srun --ntasks 16 olm merge cfg.yaml            (MASTER_ADDR exported)
//   RANK=1 WORLD_SIZE=2 MASTER_ADDR=host MASTER_PORT=29500 olm merge cfg.yaml
//
// The ranks meet at a c10d TCPStore on MASTER_ADDR:MASTER_PORT that rank 0
// hosts (under torchrun on MASTER_PORT + 1: the agent holds MASTER_PORT with a
// store of its own torch's protocol) and exchange only small texts
// through it: the report rank 0 starts from, and every position's candidate
// results. No tensor travels: every rank reads the pool from its own disk and
// holds its own working model, so no collective (Gloo, NCCL) is needed.
//
// A rank that dies or hangs stops the others: every rank beats a heartbeat key
// once a second from a thread of its own, a rank waiting on another gives up
// when that rank's heartbeat has not moved for `timeout` (OLM_DIST_TIMEOUT
// seconds, default 10), a rank that fails posts its error for the others to
// show, and losing rank 0's store is an error at the next exchange.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/merge/search.h"

namespace olm {

// Where this process stands in a launch, from the environment.
struct LaunchInfo {
    int rank = 0;
    int world_size = 1;
    int local_rank = 0;        // rank on this host: its GPU is cuda:local_rank
    int local_world_size = 1;  // ranks on this host: they share its CPU cores
    std::string master_addr;
    int master_port = 29500;
    // The port of olm's store, which rank 0 hosts on master_addr: MASTER_PORT,
    // or MASTER_PORT + 1 under torchrun's agent (which holds MASTER_PORT with a
    // store of its own), or OLM_DIST_PORT when set.
    int store_port = 29500;
    bool agent_store = false;  // torchrun's agent holds MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE)
    std::string run_id;        // keys are prefixed with it (several runs on one store)
    std::string launcher;      // "torchrun / env" | "slurm"
    double timeout_s = 10;     // a peer silent this long is taken for dead
};

// The launch this process belongs to, read through `env` (getenv in the
// program): torchrun's RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RUN_ID;
// OLM_DIST_PORT (the store's port), OLM_DIST_TIMEOUT;
// else SLURM's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE
// / SLURM_TASKS_PER_NODE, SLURM_JOB_ID (MASTER_ADDR from the environment, else
// SLURM_LAUNCH_NODE_IPADDR). nullopt when neither says there is more than one
// rank. Throws olm::Error naming the variable that is malformed or missing.
std::optional<LaunchInfo> launch_from_env(const std::function<const char*(const char*)>& env);

// The device a rank works on: cuda / cuda:N / auto on a host with GPUs ->
// cuda:LOCAL_RANK (one GPU per rank, as torchrun places them); cpu stays cpu.
// Throws when the host has fewer GPUs than local ranks.
std::string rank_device(const std::string& device, const LaunchInfo& info);

// The ranks of one launch over a c10d TCPStore.
class StorePeers : public SearchPeers {
public:
    // Connects (rank 0 hosts the store on store_port) and waits until
    // every rank has joined, for at most `join_timeout`.
    explicit StorePeers(const LaunchInfo& info,
                        std::chrono::milliseconds join_timeout = std::chrono::minutes(5));
    ~StorePeers() override;
    StorePeers(const StorePeers&) = delete;
    StorePeers& operator=(const StorePeers&) = delete;

    int rank() const override { return m_info.rank; }
    int size() const override { return m_info.world_size; }
    std::vector<std::string> all_gather(const std::string& mine) override;

    std::string broadcast(const std::string& text) override;
    // Tells the others this rank failed, with why (they stop at their next wait).
    void abort(const std::string& why) noexcept;
    // Rank 0 waits until every rank is done, so that its store outlives
    // their last read.
    void finish() override;

    const LaunchInfo& info() const { return m_info; }

private:
    std::string key(const std::string& k) const;
    // Blocks until `k` exists; throws when a peer aborted, `who`'s heartbeat
    // stopped, or the store is gone.
    void wait_for(const std::string& k, int who);
    // Throws when rank r's heartbeat has not moved for the timeout.
    void check_peer(int r);
    [[noreturn]] void store_lost(const std::exception& e) const;
    // op(store) under the lock; a store error becomes store_lost's.
    template <class F>
    auto with_store(F&& op);

    struct Impl;  // the c10d store (its headers stay out of this one)
    LaunchInfo m_info;
    std::unique_ptr<Impl> m_impl;
    std::mutex m_mutex;  // one store call at a time (the heartbeat thread shares it)
    long long m_seq = 0;
    std::vector<long long> m_beats;  // last heartbeat seen of each rank
    std::vector<std::chrono::steady_clock::time_point> m_beat_at;
    std::atomic<bool> m_stop{false};
    std::thread m_heartbeat;
};

}  // namespace olm
