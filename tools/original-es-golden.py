#!/usr/bin/env python3
"""Golden figures of the original OLM's ES fine-tuning, for tests/merge/test_es_golden.cpp.

Runs the original's whole merge (olm.olm from a checkout of github.com/jeffmeloy/olm,
imported from --original, not copied here) on the tiny pool of tests/data/original with
tensor_swap and es_svd (2 generations) and es_norm (1 generation), and writes what it did:

  golden_es.json   the original's merge_report.json, and for every fine-tuned tensor the
                   scores of every offspring (evaluation order) and each generation's winner
  model.safetensors the merged model the original saved

Five things are set from outside the original's code, none changed inside it:
  * without a GPU, torch.cuda.synchronize and empty_cache do nothing (they raise);
  * calculate_full_svd is handed a copy of the tensor, as on a GPU (on a CPU it
    divides the tuned tensor by its largest magnitude in place);
  * Copeland ties go to the earlier pool model (compute_layer_ranks's models in
    pool order instead of Python set order), OLM Studio's documented tie-break;
  * load_model loads float32 (the original loads bfloat16), as in the other goldens;
  * torch.manual_seed(es_tensor_seed(es_seed, key, kind)) before each fine-tuning, key
    "L.unit" for a layer's unit and "embed_tokens" / "norm" / "lm_head" for the boundary's,
    the per-tensor seed OLM Studio uses (the original draws from one global stream).

  python tools/original-es-golden.py --original /path/to/olm --data tests/data/original \\
      --out tests/data/original/golden_es
(torch 2.15, transformers 5.24, CPU; PYTHONHASHSEED=0.)
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

MASK = (1 << 64) - 1


def es_tensor_seed(es_seed, key, kind):
    h = 1469598103934665603
    for c in (key + "/" + kind).encode():
        h = ((h ^ c) * 1099511628211) & MASK
    z = (es_seed + h + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return z & 0x7FFFFFFF


def unit_key(tensor_name):
    # model.layers.3.self_attn.q_proj.weight -> 3.self_attn.q_proj; model.embed_tokens.weight
    # -> embed_tokens, model.norm.weight -> norm, lm_head.weight -> lm_head
    parts = tensor_name.split(".")
    assert parts[-1] == "weight", tensor_name
    if parts[0] == "model" and parts[1] == "layers":
        return parts[2] + "." + ".".join(parts[3:-1])
    assert parts[-2] in ("embed_tokens", "norm", "lm_head"), tensor_name
    return parts[-2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--original", required=True, help="folder holding the original's olm.py")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--es-seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    work = tempfile.mkdtemp()
    out_dir = os.path.join(work, "out")
    os.makedirs(out_dir)
    config = {
        "models_dir": os.path.join(args.data, "models"),
        "models": ["olm-a", "olm-b", "olm-c", "olm-d"],
        "base_model_name": "base",
        "output_dir": out_dir,
        "dataset_dir": os.path.join(args.data, "datasets"),
        "dataset": {
            "exact.json": {"mode": "exact_match", "think": False},
            "bigram.json": {"mode": "bigram_loss", "think": False},
            "exact2.json": {"mode": "exact_match", "think": True},
        },
        "samples": 200,
        "layer_swap": False,
        "tensor_swap": True,
        "es_svd": True,
        "es_svd_generations": 2,
        "es_svd_sigma": 0.5,
        "es_norm": True,
        "es_norm_generations": 1,
        "es_norm_sigma": 0.01,
    }
    # The original calls torch.cuda.synchronize() after every evaluation, which
    # raises on a machine without a GPU driver.
    if not torch.cuda.is_available():
        torch.cuda.synchronize = lambda *a, **k: None
        torch.cuda.empty_cache = lambda *a, **k: None

    sys.path.insert(0, args.original)
    import olm  # the original

    def load_model(path, device):
        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, device_map="cpu")
        return model, AutoTokenizer.from_pretrained(path)

    olm.load_model = load_model

    # calculate_full_svd divides its argument by max|W| in place when that is
    # already a float32 CPU tensor (A = tensor.to("cpu", float32) is then the
    # same tensor), which scales the tensor being tuned on a CPU-only machine;
    # on a GPU .to makes a copy and the tensor is left alone. It gets a copy
    # here, as on a GPU.
    svd = olm.calculate_full_svd
    olm.calculate_full_svd = lambda tensor, epsilon=1e-10: svd(tensor.clone(), epsilon)

    # compute_layer_ranks lists the models in Python set order, which breaks
    # Copeland ties; OLM Studio breaks them by pool order, and so does this
    # run (the ranks themselves are the original's).
    layer_ranks = olm.compute_layer_ranks

    def pool_ordered_ranks(metrics):
        ranks = layer_ranks(metrics)
        return {m: ranks[m] for m in config["models"] if m in ranks}

    olm.compute_layer_ranks = pool_ordered_ranks

    calls = []
    evaluate = olm.evaluate_model_on_dataset

    def recorded_evaluate(*a, **k):
        v = evaluate(*a, **k)
        calls.append(v)
        return v

    olm.evaluate_model_on_dataset = recorded_evaluate
    selections = []
    select = olm.select_best_model

    def recorded_select(ranks, *a, **k):
        best = select(ranks, *a, **k)
        selections.append((len(calls), best))
        return best

    olm.select_best_model = recorded_select

    tunings = {}

    def seeded(kind, fn):
        def run(model, tensor_name, datasets, *a, **k):
            key = unit_key(tensor_name)
            torch.manual_seed(es_tensor_seed(args.es_seed, key, kind))
            first_call, first_sel = len(calls), len(selections)
            out = fn(model, tensor_name, datasets, *a, **k)
            tunings.setdefault(key, {})[kind] = {
                "seed": es_tensor_seed(args.es_seed, key, kind),
                "scores": calls[first_call:],
                # (evaluations of this tuning before the selection, offspring index)
                "selections": [(n - first_call, int(b)) for n, b in selections[first_sel:]],
                "result": out,
            }
            return out

        return run

    olm.fine_tune_tensor_svd_es = seeded("es_svd", olm.fine_tune_tensor_svd_es)
    olm.fine_tune_tensor_norm_es = seeded("es_norm", olm.fine_tune_tensor_norm_es)

    with torch.inference_mode():
        olm.olm(config)
    report = json.load(open(os.path.join(out_dir, "merge_report.json")))
    os.makedirs(args.out, exist_ok=True)
    shutil.copy(os.path.join(out_dir, "model.safetensors"), os.path.join(args.out, "model.safetensors"))
    golden = {
        "original_commit": open(os.path.join(args.original, "COMMIT")).read().strip()
        if os.path.exists(os.path.join(args.original, "COMMIT"))
        else "",
        "config": {k: v for k, v in config.items() if k not in ("models_dir", "output_dir", "dataset_dir")},
        "es_seed": args.es_seed,
        "report": report,
        "tunings": tunings,
    }
    with open(os.path.join(args.out, "golden_es.json"), "w") as f:
        json.dump(golden, f, indent=1)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
