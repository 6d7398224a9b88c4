"""The order of the tensor-wise search is transformers' parameter order.

The original OLM visits a model's parameter units (a module's weight and bias
together) in `named_parameters()` order, and `direction: backward` reverses
that whole list. For every supported architecture, `olm merge --dry-run`
prints the units of a layer in the order the search visits them; this checks
them against the order of a transformers model of that architecture (the
units under `layers.0.`, and under layer 1 too for Qwen3-MoE, whose layer 1 is
dense: each layer visits the units it has in its own order), and that backward
is the exact reverse.

Routed experts are compared as one block: transformers keeps Mixtral's and
Qwen3-MoE's experts fused or per expert depending on its version, while the
search takes one expert (all its matrices) per position, `mlp.experts.E`.
"""

import re
import shutil

import pytest

from conftest import ARCHS, make_model, olm

DATA = '[{"messages": [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}]}]'


def hf_units(model, layer):
    """Units of `layer` in named_parameters() order; every expert parameter is one 'experts' entry."""
    out = []
    for name, _ in model.named_parameters():
        m = re.search(rf"(?:^|\.)layers\.{layer}\.(.+)\.(?:weight|bias)$", name) or \
            re.search(rf"(?:^|\.)layers\.{layer}\.(.+\.experts)\.[A-Za-z_]+$", name)
        if not m:
            continue
        unit = m.group(1)
        if ".experts" in unit:
            unit = "experts"
        if unit not in out:
            out.append(unit)
    return out


def hf_boundary(model):
    """The units outside the layers in named_parameters() order, split at the layers:
    (before, after), e.g. (["embed_tokens"], ["norm", "lm_head"]); a tied lm_head is
    no parameter of its own."""
    before, after, seen_layer = [], [], False
    for name, _ in model.named_parameters():
        if re.search(r"(?:^|\.)layers\.\d+\.", name):
            seen_layer = True
            continue
        m = re.search(r"(?:^|\.)(embed_tokens|norm|lm_head)\.weight$", name)
        assert m, f"a parameter outside the layers that OLM Studio has no unit for: {name}"
        (after if seen_layer else before).append(m.group(1))
    return before, after


def olm_units(tmp_path, pool, direction, boundary=False):
    (tmp_path / "d.json").write_text(DATA)
    cfg = tmp_path / f"{direction}.yaml"
    cfg.write_text(f"models: [{', '.join(str(p) for p in pool)}]\nbase_model_name: base\n"
                   f"output_dir: {tmp_path / 'out'}\ndataset_dir: {tmp_path}\n"
                   "dataset:\n  d.json: {mode: exact}\nsamples: 0\nlayer_swap: true\n"
                   f"tensor_swap: true\ndirection: {direction}\n")
    text = olm("merge", cfg, "--dry-run")
    if boundary:
        m = re.search(r"tensor-wise boundary units: before the layers (.+); after them (.+)", text)
        assert m, text
        return tuple([] if g == "none" else g.split(", ") for g in m.groups())
    m = re.search(r"tensor-wise order within a layer(?: \(backward\))?: (.+)", text)
    assert m, text
    return m.group(1).split(", ")


def as_blocks(units):
    """mlp.experts.0, mlp.experts.1, ... -> one 'experts' entry at the first one's place."""
    out = []
    for u in units:
        u = "experts" if re.fullmatch(r"mlp\.experts\.\d+", u) else u
        if u not in out:
            out.append(u)
    return out


@pytest.mark.parametrize("arch", sorted(a for a in ARCHS if a != "gemma3-vision"))
def test_tensor_order_is_transformers_parameter_order(arch, tmp_path):
    model = make_model(arch, tmp_path / "base")
    shutil.copytree(tmp_path / "base", tmp_path / "other")
    pool = [tmp_path / "base", tmp_path / "other"]
    forward = olm_units(tmp_path, pool, "forward")
    backward = olm_units(tmp_path, pool, "backward")
    assert backward == forward[::-1]
    got = as_blocks(forward)
    # One unit list serves every layer; a layer visits the units it has in
    # that order (Qwen3-MoE's dense layer 1 has mlp.gate_proj..., its sparse
    # layers the router and the experts), and the list holds nothing else.
    layers = [0, 1] if arch == "qwen3-moe" else [0]
    union = set()
    for layer in layers:
        want = hf_units(model, layer)
        union.update(want)
        mine = [u for u in got if u in want]
        assert mine == want, f"{arch} layer {layer}: olm {mine}\n transformers {want}"
    assert set(got) == union, f"{arch}: olm {got}, transformers {sorted(union)}"


@pytest.mark.parametrize("arch", sorted(a for a in ARCHS if a != "gemma3-vision"))
def test_boundary_units_are_transformers_parameter_order(arch, tmp_path):
    """embed_tokens, the final norm and lm_head are units of the same list, where
    named_parameters() has them (before and after the layers; no tied lm_head),
    and backward visits them in the reverse order."""
    model = make_model(arch, tmp_path / "base")
    shutil.copytree(tmp_path / "base", tmp_path / "other")
    pool = [tmp_path / "base", tmp_path / "other"]
    before, after = hf_boundary(model)
    assert olm_units(tmp_path, pool, "forward", boundary=True) == (before, after)
    assert olm_units(tmp_path, pool, "backward", boundary=True) == (after[::-1], before[::-1])
