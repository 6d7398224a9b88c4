"""`olm logits` on cuda:0 against transformers on the same GPU (tools/gpu-check.sh).

Usage: python3 tools/gpu_logits_check.py OLM_BINARY OUT.json

A random Qwen2 model of Qwen2.5-0.5B's layer shape (hidden 896, 14 heads, 2 KV
heads, intermediate 4864; 4 layers, the tiny test tokenizer's 512 tokens) is
made by transformers and saved in bf16. Both programs score the same token
sequences on cuda:0:
  bf16: olm --dtype bf16 against transformers in bf16; the bound is twice
        transformers' own bf16-vs-fp32 deviation plus 1e-2 (as
        tests/conformance/test_models.py::test_logits_bf16 on the CPU);
  fp32: olm --dtype fp32 against transformers in fp32 (TF32 off), bound 1e-3.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, Qwen2Config

ROOT = Path(__file__).resolve().parents[1]
TOKENIZER = ROOT / "tests" / "data" / "tokenizers" / "tiny-bytelevel"
LENGTHS = [1, 7, 64, 200]


def olm_logits(olm, path, ids, dtype):
    p = subprocess.run([olm, "logits", str(path), "--ids", ",".join(map(str, ids)), "--json", "--device",
                        "cuda:0", "--dtype", dtype], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise SystemExit(f"olm logits failed ({p.returncode}):\n{p.stderr}")
    return torch.tensor(json.loads(p.stdout)["logits"], dtype=torch.float32)


def main():
    olm, out = sys.argv[1], Path(sys.argv[2])
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=512, hidden_size=896, intermediate_size=4864, num_hidden_layers=4,
                      num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=4096,
                      rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)
    model = AutoModelForCausalLM.from_config(cfg).eval()
    with torch.no_grad():  # random norms too, so that every weight matters
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.add_(0.1 * torch.randn_like(p))
    g = torch.Generator().manual_seed(1)
    seqs = [torch.randint(0, 512, (n,), generator=g).tolist() for n in LENGTHS]
    result = {"model": "Qwen2 hidden 896, 14 heads, 2 KV heads, intermediate 4864, 4 layers, vocab 512",
              "lengths": LENGTHS, "bf16": [], "fp32": []}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qwen2"
        model.to(torch.bfloat16).save_pretrained(path)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(TOKENIZER / f, path / f)
        hf32 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval().to("cuda:0")
        hf16 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).eval().to("cuda:0")
        for ids in seqs:
            x = torch.tensor([ids], device="cuda:0")
            with torch.no_grad():
                ref32 = hf32(x).logits[0].float().cpu()
                ref16 = hf16(x).logits[0].float().cpu()
            got16 = olm_logits(olm, path, ids, "bf16")
            got32 = olm_logits(olm, path, ids, "fp32")
            noise = (ref16 - ref32).abs().max().item()
            d16 = (got16 - ref16).abs().max().item()
            d32 = (got32 - ref32).abs().max().item()
            result["bf16"].append({"length": len(ids), "max_abs_diff": d16, "hf_bf16_vs_fp32": noise,
                                   "bound": 2 * noise + 1e-2, "ok": d16 <= 2 * noise + 1e-2})
            result["fp32"].append({"length": len(ids), "max_abs_diff": d32, "bound": 1e-3, "ok": d32 <= 1e-3})
            ok = ok and result["bf16"][-1]["ok"] and result["fp32"][-1]["ok"]
    result["ok"] = ok
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
