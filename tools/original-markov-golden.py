#!/usr/bin/env python3
"""Golden figures of the original OLM's markov window search, for tests/merge/test_original_markov.cpp.

Runs the original's model_scanner.py merge (model_scanner.olm from a checkout of
github.com/jeffmeloy/olm, imported from --original, not copied here) on the tiny pool of
tests/data/original with layer_swap and markov: 1, forward and backward, and writes, per
direction, the merge_report.json it wrote and every window combination's scores (the
metrics its process_model returned) with the combination rank_models put first.

The base (olm-a) is a pool model, so both programs search the same pool (model_scanner.py
would insert a base from outside it into the pool).

Four things are set from outside the original's code, none changed inside it:
  * model_scanner.py's compute_exact_match is olm.py's (model_scanner.py's own stops at
    the first wrong token and scores 1.0; OLM Studio's exact_match is olm.py's): the
    window search is model_scanner.py's, every score olm.py's (its other modes are the
    same code in both files; the tiny pool's bigram_loss scores tie at 2.0, which would
    leave the ranks to scoring order);
  * without a GPU, torch.cuda.synchronize and empty_cache do nothing (they raise);
  * load_model loads float32 (the original loads bfloat16), as in the other goldens;
  * compute_layer_ranks lists the combinations in the order they were scored instead of
    Python set order, so that rank_models's last tie-break is the earlier combination,
    OLM Studio's documented tie-break.

  python tools/original-markov-golden.py --original /path/to/olm --data tests/data/original \\
      --out tests/data/original/golden_markov.json
(torch 2.15, transformers 5.24, CPU.)
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

MODELS = ["olm-a", "olm-b", "olm-c", "olm-d"]
DATASETS = {
    "exact.json": {"mode": "exact_match", "think": False},
    "exact2.json": {"mode": "exact_match", "think": True},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--original", required=True, help="folder holding the original's model_scanner.py")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not torch.cuda.is_available():
        torch.cuda.synchronize = lambda *a, **k: None
        torch.cuda.empty_cache = lambda *a, **k: None

    sys.path.insert(0, args.original)
    import model_scanner as ms  # the original
    import olm  # the original's olm.py, for its exact_match

    ms.compute_exact_match = olm.compute_exact_match

    def load_model(path, device):
        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, device_map="cpu")
        return model, AutoTokenizer.from_pretrained(path)

    ms.load_model = load_model

    layer_ranks = ms.compute_layer_ranks

    def scored_order_ranks(metrics):
        ranks = layer_ranks(metrics)
        order = []
        for per in metrics.values():
            for m in per:
                if m not in order:
                    order.append(m)
        return {m: ranks[m] for m in order if m in ranks}

    ms.compute_layer_ranks = scored_order_ranks

    golden = {
        "original_commit": open(os.path.join(args.original, "COMMIT")).read().strip()
        if os.path.exists(os.path.join(args.original, "COMMIT"))
        else "",
        "models": MODELS,
        "dataset": DATASETS,
        "markov": 1,
        "runs": {},
    }
    for direction in ("forward", "backward"):
        work = tempfile.mkdtemp()
        out_dir = os.path.join(work, "out")
        os.makedirs(out_dir)
        config = {
            "models_dir": os.path.join(args.data, "models"),
            "models": list(MODELS),
            "base_model_name": MODELS[0],
            "output_dir": out_dir,
            "dataset_dir": os.path.join(args.data, "datasets"),
            "dataset": DATASETS,
            "samples": 200,
            "direction": direction,
            "layer_swap": True,
            "markov": 1,
            "tensor_swap": False,
        }
        combos = {}  # combination name -> {dataset: score}
        process = ms.OlmRuntime.process_model

        def recorded_process(self, model_name, layer_metrics, layer_idx, config):
            out = process(self, model_name, layer_metrics, layer_idx, config)
            if model_name.startswith("window_"):
                combos[model_name] = {d: out[d][model_name] for d in out if model_name in out[d]}
            return out

        ms.OlmRuntime.process_model = recorded_process
        firsts = []
        rank = ms.rank_models

        def recorded_rank(model_ranks):
            ordered = rank(model_ranks)
            firsts.append(ordered[0])
            return ordered

        ms.rank_models = recorded_rank
        with torch.inference_mode():
            ms.olm(config)
        ms.OlmRuntime.process_model = process
        ms.rank_models = rank
        report = json.load(open(os.path.join(out_dir, "merge_report.json")))
        golden["runs"][direction] = {"report": report, "combos": combos, "winners": firsts}
        shutil.rmtree(work)
    with open(args.out, "w") as f:
        json.dump(golden, f, indent=1)


if __name__ == "__main__":
    main()
