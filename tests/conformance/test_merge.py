"""Exports: a pool derived from a transformers-made model (fine-tunes = noise
on chosen layers) merged by `olm merge` (search original: layer picks; search
better: blends) and by `olm export` from recipes that use every shape a recipe
can take (task arithmetic, a blended boundary, tensor-unit overrides).
The merged folder must load in transformers without missing/unexpected keys,
its logits in transformers must equal `olm logits` on it, and the exported
mergekit_config.yml run through mergekit must rebuild every tensor."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from conftest import (GEMMA3_LAYOUTS, REPORT, hf_logits, id_sequences, load_hf, make_model, olm, olm_logits,
                      to_state_dict_layout)

DATASET = [
    [("user", "What is two plus two?"), ("assistant", "Four.")],
    [("user", "Name a colour."), ("assistant", "Blue, like the sky.")],
    [("user", "Spell cat backwards."), ("assistant", "tac")],
    [("user", "Count to five."), ("assistant", "1 2 3 4 5")],
]
# (architecture, storage dtype, fine-tune name -> layers that get noise)
POOLS = {
    "llama-fp32": ("llama", "float32", {"ft_a": [0, 2], "ft_b": [1]}),
    "qwen3-bf16": ("qwen3", "bfloat16", {"ft_a": [0], "ft_b": [1, 2]}),
    "gemma2-fp32": ("gemma2", "float32", {"ft_a": [1], "ft_b": [0, 2]}),
}


# The later families: one pool each, merged layer-wise and tensor-wise in one
# run (search original with tensor_swap), plus the tensor-unit hand recipe.
FAMILY_POOLS = {
    "gemma3-bf16": ("gemma3", "bfloat16", {"ft_a": [2], "ft_b": [0, 1]}),
    # The fine-tunes' noise also reaches their vision tower's layer 0; the
    # merge must carry the base's.
    "gemma3-vision-bf16": ("gemma3-vision", "bfloat16", {"ft_a": [0, 2], "ft_b": [1]}),
    "granite-bf16": ("granite", "bfloat16", {"ft_a": [0, 2], "ft_b": [1]}),
    "olmo2-fp32": ("olmo2", "float32", {"ft_a": [1], "ft_b": [0, 2]}),
    "phi3-fp32": ("phi3", "float32", {"ft_a": [0], "ft_b": [1, 2]}),
    # Routed experts: each expert and the router are tensor-wise units.
    "mixtral-fp32": ("mixtral", "float32", {"ft_a": [0, 2], "ft_b": [1]}),
    "qwen3-moe-bf16": ("qwen3-moe", "bfloat16", {"ft_a": [2], "ft_b": [0, 1]}),
    # Gemma 3 in both checkpoint layouts in one pool: the base and ft_b under
    # transformers' state-dict names (model.language_model.*), ft_a in the
    # Hub's; the export keeps the base's layout.
    "gemma3-layouts-fp32": ("gemma3-vision", "float32", {"ft_a": [0, 2], "ft_b": [1]}),
}
# Pool models rewritten to Gemma 3's state-dict layout after they are made.
STATE_DICT_LAYOUT = {"gemma3-layouts-fp32": ("base", "ft_b")}
# Pools without a mergekit configuration in the export: mergekit 0.1.5's
# templates for the expert families name transformers' fused in-memory expert
# tensors, and its gemma3 template names only the Hub's layout.
NO_MERGEKIT = ("mixtral-", "qwen3-moe-", "gemma3-layouts-")


def read_tensors(folder):
    """name -> tensor of every *.safetensors file in folder."""
    out = {}
    for f in sorted(Path(folder).glob("*.safetensors")):
        with safe_open(str(f), "pt") as st:
            for k in st.keys():
                out[k] = st.get_tensor(k)
    return out


def make_pool(root, arch, dtype, finetunes, seed=21):
    base = root / "base"
    model = make_model(arch, base, dtype, seed=seed, max_shard_size="300KB")
    g = torch.Generator().manual_seed(seed + 100)
    for i, (name, layers) in enumerate(sorted(finetunes.items())):
        ft = load_hf(base, dtype)
        with torch.no_grad():
            for pname, p in ft.named_parameters():
                if any(f"layers.{L}." in pname for L in layers):
                    p.add_((0.05 * torch.randn(p.shape, generator=g)).to(p.dtype))
        ft.save_pretrained(root / name)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            (root / name / f).write_bytes((base / f).read_bytes())
    return ["base", *sorted(finetunes)]


def write_config(root, names, search, dtype, extra=""):
    data = root / "chat.json"
    data.write_text(json.dumps([{"messages": [{"role": r, "content": c} for r, c in conv]} for conv in DATASET]))
    cfg = root / f"{search}.yaml"
    cfg.write_text(
        f"models: [{', '.join(str(root / n) for n in names)}]\n"
        f"base_model_name: base\noutput_dir: {root / ('out-' + search)}\n"
        f"dataset_dir: {root}\ndataset:\n  chat.json: {{mode: exact}}\n"
        f"samples: 0\nsearch: {search}\nreferences: false\nsafeguard: off\n"
        f"dtype: {'bfloat16' if dtype == 'bfloat16' else 'float32'}\n{extra}")
    return cfg


def pool_from(table, label, tmp_path_factory):
    """(label, root, model names, dtype) of the pool table[label], made once."""
    arch, dtype, fts = table[label]
    root = tmp_path_factory.mktemp(label)
    names = make_pool(root, arch, dtype, fts)
    for n in STATE_DICT_LAYOUT.get(label, ()):
        to_state_dict_layout(root / n)
    return label, root, names, dtype


@pytest.fixture(scope="module", params=sorted(POOLS))
def pool(request, tmp_path_factory):
    return pool_from(POOLS, request.param, tmp_path_factory)


# Gemma3ForConditionalGeneration's parts outside the language model (in
# either layout): the export carries the base's unchanged.
CARRIED = ("vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector.")


def own_name(tensors, name):
    """name as the folder whose tensors are `tensors` spells it: itself, or
    the same tensor under Gemma 3's other layout."""
    if name in tensors:
        return name
    for a, b in GEMMA3_LAYOUTS:
        for x, y in ((a, b), (b, a)):
            if name.startswith(x) and y + name[len(x):] in tensors:
                return y + name[len(x):]
    return name


def expected_tensors(root, recipe, names_in_folder, arch_layers):
    """Every tensor the recipe asks for: sum(coeff * tensor) in float32 in
    model-name order, cast to the storage dtype (docs/report-format.md)."""
    pool = {}
    out = {}
    for name in names_in_folder:
        if name.startswith(CARRIED):
            base = recipe.get("base", "base")
            if base not in pool:
                pool[base] = read_tensors(root / base)
            out[name] = (pool[base][own_name(pool[base], name)], {base: 1.0})
            continue
        layer = None
        if ".layers." in name:
            layer = name.split(".layers.")[1].split(".")[0]
        r = recipe["boundary"]
        if layer is not None:
            r = recipe["layers"][layer]
            # units are transformers' module paths (Mixtral's checkpoint
            # says block_sparse_moe. where its modules say mlp.)
            module = name.replace(".block_sparse_moe.", ".mlp.")
            for key, ur in recipe.get("tensors", {}).items():
                L, unit = key.split(".", 1)
                if L == layer and f".{unit}." in module:
                    r = ur
        acc = None
        for m in sorted(r):
            if m not in pool:
                pool[m] = read_tensors(root / m)
            t = pool[m][own_name(pool[m], name)].float() * r[m]
            acc = t if acc is None else acc + t
        out[name] = (acc, r)
    return out


def check_merged_folder(root, merged, dtype, label):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    logger = logging.getLogger("transformers")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        model, info = AutoModelForCausalLM.from_pretrained(merged, output_loading_info=True, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(merged)
    finally:
        logger.removeHandler(handler)
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        assert not info.get(k), f"{label}: {k} = {info[k]}"
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert not [w for w in warnings if "key" in w.lower() or "weight" in w.lower()], warnings
    assert tok("Hello world")["input_ids"] == AutoTokenizer.from_pretrained(root / "base")("Hello world")["input_ids"]
    model.eval()
    worst = 0.0
    for ids in id_sequences(31, [6, 30]):
        ref = hf_logits(model, ids)
        got = olm_logits(merged, ids, "fp32")
        worst = max(worst, (got - ref).abs().max().item())
    REPORT[(label, "merged folder max |dlogit| (fp32 compute)", "")] = worst
    assert worst <= 1e-4, f"{label}: olm logits vs transformers on the merged folder: {worst}"


def check_against_recipe(root, merged, report, label):
    got = read_tensors(merged)
    exp = expected_tensors(root, report["recipe"], list(got), None)
    for name, t in got.items():
        e, r = exp[name]
        assert torch.equal(t, e.to(t.dtype)), f"{label}: {name} (recipe {r}) differs from the recipe's blend"


def run_mergekit(yaml_path, out):
    exe = Path(sys.executable).parent / "mergekit-yaml"
    p = subprocess.run([str(exe), str(yaml_path), str(out), "--no-lazy-unpickle", "--allow-crimes"],
                       capture_output=True, text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    return p


def check_mergekit(root, merged, report, dtype, label):
    yml = merged / "mergekit_config.yml"
    text = yml.read_text()
    assert text.strip(), "no mergekit_config.yml"
    if "cannot be expressed" in text:
        return "not expressible"
    out = root / f"mergekit-{label}"
    p = run_mergekit(yml, out)
    assert p.returncode == 0, f"mergekit-yaml failed on\n{text}\n{p.stderr[-3000:]}"
    mine = read_tensors(merged)
    theirs = read_tensors(out)
    # mergekit writes tied models without lm_head; both must hold the same names otherwise.
    assert set(theirs) == set(mine), (sorted(set(mine) ^ set(theirs)), text)
    rec = expected_tensors(root, report["recipe"], list(mine), None)
    exact = blended = 0
    worst_ulps = 0.0
    for name, t in mine.items():
        m = theirs[name]
        assert m.dtype == t.dtype, f"{name}: mergekit {m.dtype}, olm {t.dtype}"
        r = rec[name][1]
        if len(r) == 1 and list(r.values())[0] == 1.0:
            assert torch.equal(m, t), f"{label}: {name} taken whole from {r} but mergekit differs\n{text}"
            exact += 1
        else:
            # Both compute sum(w_i * t_i): olm in float32, mergekit in the
            # storage dtype; allow a few units of the storage dtype's rounding.
            eps = torch.finfo(t.dtype).eps
            ulps = ((m.float() - t.float()).abs() / (t.float().abs() * eps + 1e-30)).max().item()
            scale = t.float().abs().max().item()
            err = (m.float() - t.float()).abs().max().item()
            assert err <= 4 * eps * max(scale, 1e-6), f"{label}: {name} recipe {r}: max |Δ| {err} (scale {scale})\n{text}"
            worst_ulps = max(worst_ulps, err / (eps * max(scale, 1e-6)))
            blended += 1
    REPORT[(label, "mergekit tensors bit-exact / blended", f"max err {worst_ulps:.2f} eps*max|t|")] = f"{exact}/{blended}"
    return "reproduced"


@pytest.mark.parametrize("search", ["original", "better"])
def test_olm_merge_exports(pool, search):
    label, root, names, dtype = pool
    cfg = write_config(root, names, search, dtype)
    olm("merge", cfg)
    out = root / f"out-{search}"
    merged = out / "merged"
    report = json.loads((out / "merge_report.json").read_text())
    check_against_recipe(root, merged, report, f"{label}/{search}")
    check_merged_folder(root, merged, dtype, f"{label}/{search}")
    assert check_mergekit(root, merged, report, dtype, f"{label}-{search}") == "reproduced"
    if search == "original":
        for r in report["recipe"]["layers"].values():
            assert len(r) == 1 and list(r.values()) == [1.0]


# Recipes `olm export` must write correctly, whatever a search would pick:
# layer picks, blends, task arithmetic (negative coefficients), a blended
# boundary and tensor-unit overrides.
HAND_RECIPES = {
    "picks": {"boundary": {"ft_b": 1.0},
              "layers": {"0": {"ft_a": 1.0}, "1": {"ft_a": 1.0}, "2": {"ft_b": 1.0}}},
    "blends": {"boundary": {"base": 1.0},
               "layers": {"0": {"base": 0.5, "ft_a": 0.5}, "1": {"ft_b": 1.0},
                          "2": {"ft_a": 0.25, "ft_b": 0.75}}},
    "task-arithmetic": {"boundary": {"base": 1.0},
                        "layers": {"0": {"ft_a": 1.0, "ft_b": 1.0, "base": -1.0}, "1": {"base": 1.0},
                                   "2": {"ft_a": 1.0}}},
    "boundary-blend": {"boundary": {"base": 0.5, "ft_b": 0.5},
                       "layers": {"0": {"base": 1.0}, "1": {"ft_b": 1.0}, "2": {"base": 0.5, "ft_a": 0.5}}},
    "tensor-units": {"boundary": {"base": 1.0},
                     "layers": {"0": {"ft_a": 1.0}, "1": {"ft_b": 1.0}, "2": {"base": 1.0}},
                     "tensors": {"1.self_attn.q_proj": {"ft_a": 1.0}, "2.mlp.down_proj": {"base": 0.5, "ft_b": 0.5}}},
}


@pytest.mark.parametrize("recipe", sorted(HAND_RECIPES))
def test_export_recipe(pool, recipe):
    label, root, names, dtype = pool
    src = root / "out-original" / "merge_report.json"
    if not src.exists():
        olm("merge", write_config(root, names, "original", dtype))
    report = json.loads(src.read_text())
    report["recipe"] = {"base": "base", **HAND_RECIPES[recipe]}
    report["recipe"].setdefault("tensors", {})
    report.pop("final", None)
    work = root / f"hand-{recipe}"
    work.mkdir(exist_ok=True)
    (work / "merge_report.json").write_text(json.dumps(report))
    merged = work / "merged"
    olm("export", "--report", work / "merge_report.json", "--out", merged, "--no-verify")
    check_against_recipe(root, merged, report, f"{label}/{recipe}")
    check_merged_folder(root, merged, dtype, f"{label}/{recipe}")
    result = check_mergekit(root, merged, report, dtype, f"{label}-{recipe}")
    REPORT[(label, f"mergekit {recipe}", "")] = result


@pytest.fixture(scope="module", params=sorted(FAMILY_POOLS))
def family_pool(request, tmp_path_factory):
    return pool_from(FAMILY_POOLS, request.param, tmp_path_factory)


def test_family_layer_and_tensor_merge(family_pool):
    """A layer-wise then tensor-wise search (every unit of every layer tried
    from every model): the export matches its recipe, loads in transformers
    with equal logits and mergekit rebuilds it; so does the tensor-unit recipe."""
    label, root, names, dtype = family_pool
    cfg = write_config(root, names, "original", dtype, "tensor_swap: true\n")
    olm("merge", cfg)
    out = root / "out-original"
    merged = out / "merged"
    report = json.loads((out / "merge_report.json").read_text())
    units = report.get("tensors", {})
    assert units, f"{label}: the tensor-wise pass recorded no unit"
    assert any(k.startswith("0.") for k in units) and any(".mlp." in k for k in units), sorted(units)[:8]
    REPORT[(label, "tensor-wise units searched", "")] = len(units)
    base_tensors = read_tensors(root / "base")
    base_carried = {k: v for k, v in base_tensors.items() if k.startswith(CARRIED)}
    # the export is written in the base's layout
    assert set(read_tensors(merged)) == set(base_tensors), sorted(set(read_tensors(merged)) ^ set(base_tensors))[:6]
    if base_carried:
        got = read_tensors(merged)
        assert set(k for k in got if k.startswith(CARRIED)) == set(base_carried)
        for k, v in base_carried.items():
            assert got[k].dtype == v.dtype and torch.equal(got[k], v), f"{label}: {k} is not the base's"
        REPORT[(label, "carried tensors equal to the base's", "")] = len(base_carried)
    check_against_recipe(root, merged, report, f"{label}/layers+tensors")
    check_merged_folder(root, merged, dtype, f"{label}/layers+tensors")
    moe = label.startswith(("mixtral-", "qwen3-moe-"))
    no_mergekit = label.startswith(NO_MERGEKIT)
    if moe:
        experts = sorted(k for k in units if ".mlp.experts." in k)
        assert "0.mlp.experts.3" in experts and "0.mlp.gate" in units, sorted(units)
        REPORT[(label, "expert units searched", "")] = len(experts)
    if no_mergekit:
        assert not (merged / "mergekit_config.yml").exists()
        assert "mergekit" not in (merged / "README.md").read_text()
    else:
        assert check_mergekit(root, merged, report, dtype, f"{label}-layers-tensors") == "reproduced"

    hand = dict(report)
    # The hand recipe's attention override names this family's own projection
    # (Phi-3 has one fused self_attn.qkv_proj).
    attn = sorted(k.split(".", 1)[1] for k in units if k.startswith("1.self_attn.") and "norm" not in k)[0]
    recipe = json.loads(json.dumps(HAND_RECIPES["tensor-units"]))
    recipe["tensors"] = {f"1.{attn}": {"ft_a": 1.0}, "2.mlp.down_proj": {"base": 0.5, "ft_b": 0.5}}
    if moe:  # one expert taken whole, a blended router (layer 2 has experts in both pools)
        recipe["tensors"] = {f"1.{attn}": {"ft_a": 1.0}, "0.mlp.experts.1": {"ft_b": 1.0},
                             "2.mlp.gate": {"base": 0.5, "ft_a": 0.5}}
    hand["recipe"] = {"base": "base", **recipe}
    hand.pop("final", None)
    work = root / "hand-tensor-units"
    work.mkdir(exist_ok=True)
    (work / "merge_report.json").write_text(json.dumps(hand))
    olm("export", "--report", work / "merge_report.json", "--out", work / "merged", "--no-verify")
    check_against_recipe(root, work / "merged", hand, f"{label}/tensor-units")
    check_merged_folder(root, work / "merged", dtype, f"{label}/tensor-units")
    if not no_mergekit:
        assert check_mergekit(root, work / "merged", hand, dtype, f"{label}-tensor-units") == "reproduced"
