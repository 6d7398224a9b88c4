// olm bench engine: prefill / decode tokens/s (fp32, bf16; batch 1, 16) next to
// the machine's own matmul GFLOP/s measured in the same run, slot swap cost,
// the cost of streaming layers from host memory, and the effect of the
// intra-op / BLAS thread settings.
// The model is generated in memory (random weights, hidden 1024, 16 heads,
// 8 KV heads, 8 layers, intermediate 2816 by default).
#include "app/cli/args.h"
#include "app/cli/bench.h"
#include "app/cli/bench_timing.h"
#include "core/model/transformer.h"
#include "core/util/error.h"
#include "core/util/threads.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace {

using namespace olm;
using cli::best_time;
using cli::Clock;
using cli::matmul_gflops;
using cli::seconds_since;

struct BenchModel {
    ModelSpec spec;
    BoundaryWeights boundary;
    std::vector<LayerWeights> layers;
    LayerWeights spare;  // another "pool model's" layer for swap timing
};

LayerWeights random_layer(const ModelSpec& s) {
    const int64_t h = s.hidden_size, hd = s.head_dim;
    auto lin = [](int64_t out, int64_t in) { return at::randn({out, in}) * (1.0 / std::sqrt(double(in))); };
    LayerWeights w;
    w[LayerUnit::input_layernorm].weight = 1 + 0.1 * at::randn({h});
    w[LayerUnit::post_attention_layernorm].weight = 1 + 0.1 * at::randn({h});
    w[LayerUnit::q_proj].weight = lin(s.num_attention_heads * hd, h);
    w[LayerUnit::k_proj].weight = lin(s.num_key_value_heads * hd, h);
    w[LayerUnit::v_proj].weight = lin(s.num_key_value_heads * hd, h);
    w[LayerUnit::o_proj].weight = lin(h, s.num_attention_heads * hd);
    w[LayerUnit::gate_proj].weight = lin(s.intermediate_size, h);
    w[LayerUnit::up_proj].weight = lin(s.intermediate_size, h);
    w[LayerUnit::down_proj].weight = lin(h, s.intermediate_size);
    return w;
}

BenchModel make_model(int64_t hidden, int64_t heads, int64_t kv_heads, int64_t layers, int64_t inter,
                      int64_t vocab) {
    at::manual_seed(1234);
    BenchModel m;
    ModelSpec& s = m.spec;
    s.architecture = "LlamaForCausalLM";
    s.model_type = "llama";
    s.hidden_size = hidden;
    s.intermediate_size = inter;
    s.num_hidden_layers = layers;
    s.num_attention_heads = heads;
    s.num_key_value_heads = kv_heads;
    s.head_dim = hidden / heads;
    s.vocab_size = vocab;
    s.rms_norm_eps = 1e-5;
    s.rope_theta = 10000.0;
    s.max_position_embeddings = 4096;
    m.boundary.embed_tokens = at::randn({vocab, hidden}) * 0.02;
    m.boundary.norm = at::ones({hidden});
    m.boundary.lm_head = at::randn({vocab, hidden}) * 0.02;
    for (int64_t l = 0; l < layers; ++l) m.layers.push_back(random_layer(s));
    m.spare = random_layer(s);
    return m;
}

Transformer build(const BenchModel& m, const EngineOptions& o) {
    Transformer t(m.spec, o);
    t.set_boundary(m.boundary);
    for (int64_t l = 0; l < m.spec.num_hidden_layers; ++l) t.set_layer(l, m.layers[l]);
    t.commit();
    return t;
}

// Multiply-adds ×2 of the layers over B sequences of T tokens (causal
// attention) plus the head at one position per sequence.
double forward_flops(const ModelSpec& s, int64_t B, int64_t T, int64_t past = 0) {
    const double h = s.hidden_size, im = s.intermediate_size, hd = s.head_dim;
    const double nh = s.num_attention_heads, nkv = s.num_key_value_heads;
    const double per_token_linear = 2 * (h * nh * hd * 2 + h * nkv * hd * 2 + 3 * h * im);
    // Scores and weighted sum: each query sees on average past + (T+1)/2 keys.
    const double keys = past + (T + 1) / 2.0;
    const double per_token_attn = 2 * 2 * nh * hd * keys;
    return double(B * T) * s.num_hidden_layers * (per_token_linear + per_token_attn) +
           double(B) * 2 * h * s.vocab_size;
}

// Slot swap timing: layer 1 to another model's layer (a candidate the slot
// does not hold: upload / conversion when one is needed) and back to the
// working model's layer (free: kept from before the round). Microseconds per call.
struct SwapCost {
    double to_candidate_us = 0, back_us = 0;
};

SwapCost swap_cost(Transformer& model, const BenchModel& bm, int n) {
    SwapCost c;
    for (int i = 0; i < n; ++i) {
        const auto t0 = Clock::now();
        model.set_layer(1, bm.spare);
        if (model.options().device.is_cuda())
            model.head(at::zeros({1, bm.spec.hidden_size})).to(at::kCPU);  // sync
        c.to_candidate_us += seconds_since(t0) * 1e6 / n;
        const auto t1 = Clock::now();
        model.set_layer(1, bm.layers[1]);
        c.back_us += seconds_since(t1) * 1e6 / n;
    }
    return c;
}

struct Run {
    double prefill_tps = 0, prefill_gflops = 0, decode_tps = 0;
};

Run run_model(Transformer& model, int64_t B, int64_t T, int64_t steps, int reps, bool decode) {
    c10::InferenceMode guard;
    Run r;
    std::vector<std::vector<int64_t>> seqs(B);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t) seqs[b].push_back((b * 131 + t * 7) % model.spec().vocab_size);
    const Batch batch = make_batch(seqs);
    // Prefill = what evaluation does: all layers over all tokens, the head at the last position.
    const bool cuda = model.options().device.is_cuda();
    // On a GPU each timing ends when the result is there (one element read back).
    auto sync = [&](const at::Tensor& t) {
        if (cuda) t.flatten().select(0, 0).item<float>();
    };
    const double tp = best_time(reps, [&] {
        at::Tensor h = model.run_layers(model.embed(batch), batch, 0, model.num_layers());
        sync(model.head(h.select(1, T - 1)));
    });
    r.prefill_tps = double(B * T) / tp;
    r.prefill_gflops = forward_flops(model.spec(), B, T) / tp / 1e9;
    if (!decode) return r;
    double best = 1e30;
    for (int rep = 0; rep < std::max(1, reps); ++rep) {
        KvCache cache(model.num_layers(), T + steps);
        at::Tensor h = model.run_layers(model.embed(batch), batch, 0, model.num_layers(), &cache);
        at::Tensor tok = model.head(h.select(1, T - 1)).argmax(-1);
        const auto t0 = Clock::now();
        for (int64_t s = 0; s < steps; ++s) {
            Batch step;
            step.ids = tok.view({B, 1});
            step.mask = at::ones({B, 1}, at::kBool);
            step.positions = at::full({B, 1}, T + s, at::kLong);
            step.lengths.assign(B, 1);
            at::Tensor x = model.run_layers(model.embed(step), step, 0, model.num_layers(), &cache);
            tok = model.head(x.select(1, 0)).argmax(-1);
        }
        sync(tok);
        best = std::min(best, seconds_since(t0));
    }
    r.decode_tps = double(B * steps) / best;
    return r;
}

int run_bench(const std::vector<std::string>& argv) {
    cli::Args args(argv,
                   {"hidden", "heads", "kv-heads", "layers", "intermediate", "vocab", "seq", "steps", "reps",
                    "threads", "blas-threads", "batches", "dtypes", "device"},
                   {"quick", "no-thread-sweep", "no-streaming"});
    const bool quick = args.flag("quick");
    const int64_t hidden = args.int_or("hidden", 1024), heads = args.int_or("heads", 16),
                  kvh = args.int_or("kv-heads", 8), layers = args.int_or("layers", quick ? 2 : 8),
                  inter = args.int_or("intermediate", 2816), vocab = args.int_or("vocab", 32000),
                  seq = args.int_or("seq", quick ? 32 : 128), steps = args.int_or("steps", quick ? 4 : 16);
    const int reps = static_cast<int>(args.int_or("reps", quick ? 1 : 2));
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    ThreadSettings ts;
    ts.intra_op = static_cast<int>(args.int_or("threads", 0));
    ts.blas = static_cast<int>(args.int_or("blas-threads", 0));
    const int intra = apply_thread_settings(ts);
    std::vector<int64_t> batches;
    for (long long b : cli::parse_int_list(args.value_or("batches", "1,16"))) batches.push_back(b);
    std::vector<at::ScalarType> dtypes;
    {
        std::string list = args.value_or("dtypes", "fp32,bf16");
        size_t pos = 0;
        while (pos <= list.size()) {
            const size_t comma = std::min(list.find(',', pos), list.size());
            dtypes.push_back(parse_dtype(list.substr(pos, comma - pos)));
            pos = comma + 1;
        }
    }

    const at::Device device = make_engine_options(args.value_or("device", "cpu"), "fp32").device;
    std::printf("olm bench engine (device %s)\n", device.str().c_str());
    std::printf("machine: %d cores; libtorch %s; intra-op threads %d, BLAS threads %d; CUDA %s\n", cores,
                TORCH_VERSION, intra, blas_threads(), at::hasCUDA() ? "available" : "not available");
    std::printf(
        "model: hidden %lld, heads %lld, kv heads %lld, layers %lld, intermediate %lld, vocab %lld; "
        "prefill %lld tokens/sequence, decode %lld steps\n\n",
        (long long)hidden, (long long)heads, (long long)kvh, (long long)layers, (long long)inter,
        (long long)vocab, (long long)seq, (long long)steps);
    const BenchModel bm = make_model(hidden, heads, kvh, layers, inter, vocab);

    // --- throughput ---------------------------------------------------------
    std::printf("%-6s %-6s %12s %14s %12s %12s %10s\n", "dtype", "batch", "prefill t/s", "prefill GF/s",
                "matmul GF/s", "prefill/mm", "decode t/s");
    for (at::ScalarType dt : dtypes) {
        EngineOptions o;
        o.dtype = dt;
        o.device = device;
        Transformer model = build(bm, o);
        for (int64_t B : batches) {
            const double mm = matmul_gflops(dt, B * seq, hidden, inter, reps, device);
            const Run r = run_model(model, B, seq, steps, reps, true);
            std::printf("%-6s %-6lld %12.1f %14.1f %12.1f %11.0f%% %10.1f\n", dtype_name(dt).c_str(),
                        (long long)B, r.prefill_tps, r.prefill_gflops, mm, 100 * r.prefill_gflops / mm,
                        r.decode_tps);
            std::fflush(stdout);
        }
    }

    // --- slot swap ------------------------------------------------------------
    std::printf("\nslot swap (layer 1 to another model's layer, then back), per set_layer call:\n");
    for (at::ScalarType dt : dtypes) {
        EngineOptions o;
        o.dtype = dt;
        Transformer model = build(bm, o);
        const SwapCost c = swap_cost(model, bm, dt == at::kFloat ? 1000 : 5);
        std::printf("  cpu %-5s: to candidate %.1f us, back %.1f us (%s)\n", dtype_name(dt).c_str(),
                    c.to_candidate_us, c.back_us,
                    dt == at::kFloat ? "no copy: the tensors are used in place"
                                     : "candidate converted from fp32 once; back is free");
    }
    if (at::hasCUDA()) {
        Transformer model = build(bm, make_engine_options("cuda:0", "bf16"));
        const SwapCost c = swap_cost(model, bm, 10);
        std::printf("  cuda bf16: to candidate (host-to-device upload of one layer) %.1f us, back %.1f us\n",
                    c.to_candidate_us, c.back_us);
    }

    // --- streaming --------------------------------------------------------------
    // The same prefill and decode with half the layers (at least three: with two
    // in flight, fewer streamed layers save no device memory) kept in
    // host memory and streamed to the device under a device_memory budget, against
    // all layers resident: the cost of running a model larger than the device.
    if (!args.flag("no-streaming") && layers < 3) {
        std::printf("\nstreaming: skipped (it needs at least 3 layers; --layers)\n");
    } else if (!args.flag("no-streaming")) {
        const at::ScalarType dt = dtypes.front();
        const int64_t streamed = std::max<int64_t>(3, layers / 2);
        const MemoryPlan full = plan_device_memory(bm.spec, dt, 0);
        const int64_t budget =
            full.boundary_bytes + (layers - streamed + std::min<int64_t>(2, streamed)) * full.layer_bytes;
        EngineOptions o;
        o.dtype = dt;
        o.device = device;
        Transformer resident = build(bm, o);
        o.device_memory = budget;
        Transformer streaming = build(bm, o);
        std::printf("\nstreaming (%s, %s; budget %s): %s\n", device.str().c_str(), dtype_name(dt).c_str(),
                    size_text(budget).c_str(), memory_plan_text(streaming.memory_plan()).c_str());
        std::printf("%-6s %14s %14s %8s %12s %12s %8s\n", "batch", "prefill t/s", "streamed t/s", "ratio",
                    "decode t/s", "streamed t/s", "ratio");
        for (int64_t B : batches) {
            const Run a = run_model(resident, B, seq, steps, reps, true);
            const Run b = run_model(streaming, B, seq, steps, reps, true);
            std::printf("%-6lld %14.1f %14.1f %7.2fx %12.1f %12.1f %7.2fx\n", (long long)B, a.prefill_tps,
                        b.prefill_tps, a.prefill_tps / b.prefill_tps, a.decode_tps, b.decode_tps,
                        a.decode_tps / b.decode_tps);
            std::fflush(stdout);
        }
        std::printf("(ratio = streamed / resident time per token; %s)\n",
                    device.is_cuda() ? "each streamed layer's upload runs on a side stream under the "
                                       "previous layer's compute"
                                     : "on the CPU a streamed layer is a copy in host memory, so this is "
                                       "the copy's cost; a GPU uploads over PCIe instead");
    }

    // --- threads --------------------------------------------------------------
    if (!args.flag("no-thread-sweep") && device.is_cpu()) {
        std::printf("\nthread settings (fp32, batch %lld prefill, batch 1 decode):\n",
                    (long long)batches.back());
        std::printf("%-10s %-10s %12s %12s %10s\n", "intra-op", "BLAS", "matmul GF/s", "prefill t/s",
                    "decode t/s");
        EngineOptions o;
        Transformer model = build(bm, o);
        std::vector<std::pair<int, int>> combos = {{1, 1}, {cores, 1}, {1, cores}, {cores, cores}};
        for (auto [ti, tb] : combos) {
            at::set_num_threads(ti);
            set_blas_threads(tb);
            const double mm = matmul_gflops(at::kFloat, batches.back() * seq, hidden, inter, reps);
            const Run big = run_model(model, batches.back(), seq, steps, reps, false);
            const Run one = run_model(model, 1, seq, steps, reps, true);
            std::printf("%-10d %-10d %12.1f %12.1f %10.1f\n", ti, tb, mm, big.prefill_tps, one.decode_tps);
            std::fflush(stdout);
        }
        apply_thread_settings(ts);
    }
    return 0;
}

}  // namespace

OLM_BENCHMARK(
    "engine", "transformer prefill/decode tokens/s, matmul GFLOP/s, slot swap cost, thread settings",
    "[--quick] [--hidden 1024 --heads 16 --kv-heads 8 --layers 8 --intermediate 2816 --vocab 32000]\n"
    "       [--seq 128] [--steps 16] [--reps 2] [--batches 1,16] [--dtypes fp32,bf16]\n"
    "       [--threads N] [--blas-threads N] [--no-thread-sweep] [--no-streaming] [--device cpu|cuda:N]\n"
    "  --device D  throughput on D (the matmul rate too; on a GPU each timing waits for the result;\n"
    "              the thread sweep is CPU only)\n"
    "  streaming: the same runs with half the layers streamed from host memory (device_memory)",
    run_bench);
