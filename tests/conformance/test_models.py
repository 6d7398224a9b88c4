"""Models made by transformers: `olm logits` and `olm generate` against
transformers' own forward and greedy generate, per architecture and dtype."""

import json
import zlib

import pytest
import torch

from conftest import (ARCHS, hf_logits, id_sequences, load_hf, make_model, olm, olm_json, olm_logits,
                      to_state_dict_layout)

LENGTHS = [1, 5, 17, 40]  # 17 and 40 are longer than mistral-window's sliding window (8)
FP32_TOL = 1e-4
MOE_ARCHS = {"mixtral", "qwen3-moe"}
from conftest import REPORT  # (arch, what, compute) -> measured figure, printed in the summary


def _record(key, value):
    REPORT[key] = max(REPORT.get(key, 0.0), value)


@pytest.fixture(scope="module", params=sorted(ARCHS))
def fp32_model(request, tmp_path_factory):
    arch = request.param
    path = tmp_path_factory.mktemp(f"{arch}-fp32")
    # One fp32 model per architecture is sharded (small max_shard_size), so
    # reading a safetensors index is checked for every family.
    model = make_model(arch, path, "float32", seed=zlib.crc32(arch.encode()) % 1000, max_shard_size="200KB")
    return arch, path, model


@pytest.fixture(scope="module", params=sorted(ARCHS))
def bf16_model(request, tmp_path_factory):
    arch = request.param
    path = tmp_path_factory.mktemp(f"{arch}-bf16")
    make_model(arch, path, "bfloat16", seed=7 + zlib.crc32(arch.encode()) % 1000)
    return arch, path


def test_saved_folder_is_what_transformers_wrote(fp32_model):
    arch, path, _ = fp32_model
    cfg = json.loads((path / "config.json").read_text())
    expected = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
                "qwen3": "Qwen3ForCausalLM", "gemma2": "Gemma2ForCausalLM", "gemma3_text": "Gemma3ForCausalLM", "granite": "GraniteForCausalLM",
                "olmo2": "Olmo2ForCausalLM", "phi3": "Phi3ForCausalLM",
                "gemma3": "Gemma3ForConditionalGeneration", "mixtral": "MixtralForCausalLM",
                "qwen3_moe": "Qwen3MoeForCausalLM"}[ARCHS[arch][0]]
    assert cfg["architectures"] == [expected]
    assert (path / "model.safetensors.index.json").exists(), "expected a sharded fp32 model"
    if expected == "Gemma3ForConditionalGeneration":
        # olm inspect counts the parts a merge carries through from the base
        names = json.loads((path / "model.safetensors.index.json").read_text())["weight_map"]
        text = olm("inspect", path)
        for prefix in ("vision_tower.", "multi_modal_projector."):
            n = sum(k.startswith(prefix) for k in names)
            assert n and f"carried        {prefix}* {n} tensors" in text, text


@pytest.mark.parametrize("seq", range(len(LENGTHS)))
def test_logits_fp32(fp32_model, seq):
    arch, path, model = fp32_model
    ids = id_sequences(100 + seq, LENGTHS)[seq]
    ref = hf_logits(model, ids)
    got = olm_logits(path, ids)
    assert got.shape == ref.shape
    d = (got - ref).abs().max().item()
    _record((arch, "fp32", "fp32"), d)
    assert d <= FP32_TOL, f"{arch}: max |olm - transformers| = {d:.3g} over {len(ids)} tokens"


def test_llama3_rope_matters(tmp_path):
    """The llama3 rope case is only a check if rope scaling changes the logits."""
    a = make_model("llama3", tmp_path / "a", seed=3)
    b = make_model("llama3", tmp_path / "b", seed=3,
                   rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    ids = id_sequences(5, [40])[0]
    assert (hf_logits(a, ids) - hf_logits(b, ids)).abs().max().item() > 100 * FP32_TOL


def test_sliding_window_matters(tmp_path):
    """The window case is only a check if the window changes the logits."""
    a = make_model("mistral-window", tmp_path / "a", seed=3)
    b = make_model("mistral-window", tmp_path / "b", seed=3, sliding_window=None)
    ids = id_sequences(5, [40])[0]
    assert (hf_logits(a, ids) - hf_logits(b, ids)).abs().max().item() > 100 * FP32_TOL


@pytest.mark.parametrize("feature", [dict(attn_logit_softcapping=None), dict(final_logit_softcapping=None),
                                     dict(sliding_window=4096),  # wider than the sequence: no window
                                     dict(query_pre_attn_scalar=16)])
def test_gemma2_features_matter(tmp_path, feature):
    """Each Gemma 2 feature the fp32 check covers changes the logits of the test
    model, so the logits check would see it done wrong or not at all."""
    a = make_model("gemma2", tmp_path / "a", seed=3)
    b = make_model("gemma2", tmp_path / "b", seed=3, **feature)
    ids = id_sequences(5, [40])[0]
    assert (hf_logits(a, ids) - hf_logits(b, ids)).abs().max().item() > 100 * FP32_TOL, feature


@pytest.mark.parametrize("feature", [
    dict(rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                          "full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 1000000.0}}),
    dict(rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 100.0},
                          "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}}),
    dict(sliding_window=4096)])
def test_gemma3_features_matter(tmp_path, feature):
    """The local layers' own rotary base, the global layers' scaling and the
    window each change transformers' logits of the Gemma 3 test model."""
    a = make_model("gemma3", tmp_path / "a", seed=3)
    b = make_model("gemma3", tmp_path / "b", seed=3, **feature)
    ids = id_sequences(5, [40])[0]
    assert (hf_logits(a, ids) - hf_logits(b, ids)).abs().max().item() > 100 * FP32_TOL, feature


def test_gemma3_vision_logits_are_not_capped(tmp_path):
    """Gemma3ForConditionalGeneration.forward does not apply the text config's
    final_logit_softcapping (only Gemma3ForCausalLM does): with a cap small
    enough to bite on the text model, transformers' wrapped logits are
    unchanged, and olm's equal them."""
    ids = id_sequences(5, [17])[0]
    plain = make_model("gemma3-vision", tmp_path / "plain", seed=3)
    capped = make_model("gemma3-vision", tmp_path / "capped", seed=3, final_logit_softcapping=0.5)
    ref = hf_logits(capped, ids)
    assert (ref - hf_logits(plain, ids)).abs().max().item() <= FP32_TOL
    assert (olm_logits(tmp_path / "capped", ids) - ref).abs().max().item() <= FP32_TOL
    text = make_model("gemma3", tmp_path / "text", seed=3)
    text_capped = make_model("gemma3", tmp_path / "text-capped", seed=3, final_logit_softcapping=0.5)
    assert (hf_logits(text, ids) - hf_logits(text_capped, ids)).abs().max().item() > 100 * FP32_TOL


def test_gemma3_state_dict_layout(tmp_path):
    """A Gemma3ForConditionalGeneration saved under its state-dict names
    (model.language_model.*, model.vision_tower.*, lm_head), as fine-tunes
    saved from a state dict ship it: transformers loads it with no key left
    over, and olm's logits equal transformers' on it; olm inspect names the
    layout and counts the carried parts under their prefixes."""
    from transformers import AutoModelForCausalLM
    model = make_model("gemma3-vision", tmp_path / "m", seed=3, max_shard_size="300KB")
    to_state_dict_layout(tmp_path / "m")
    names = json.loads((tmp_path / "m" / "model.safetensors.index.json").read_text())["weight_map"]
    assert "model.language_model.embed_tokens.weight" in names and not any(k.startswith("language_model.")
                                                                            for k in names)
    loaded, info = AutoModelForCausalLM.from_pretrained(tmp_path / "m", output_loading_info=True)
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        assert not info.get(k), f"{k} = {info[k]}"
    loaded.eval()
    worst = 0.0
    for ids in id_sequences(9, [5, 33]):
        ref = hf_logits(model, ids)
        assert (hf_logits(loaded, ids) - ref).abs().max().item() == 0.0
        worst = max(worst, (olm_logits(tmp_path / "m", ids) - ref).abs().max().item())
    _record(("gemma3-vision", "state-dict layout", "fp32"), worst)
    assert worst <= FP32_TOL, worst
    text = olm("inspect", tmp_path / "m")
    assert "layout         transformers' in-memory names" in text, text
    for prefix in ("model.vision_tower.", "model.multi_modal_projector."):
        n = sum(k.startswith(prefix) for k in names)
        assert n and f"carried        {prefix}* {n} tensors" in text, text


PHI3_ROPE = ARCHS["phi3"][1]["rope_parameters"]


@pytest.mark.parametrize("feature", [
    dict(rope_parameters={**PHI3_ROPE, "long_factor": PHI3_ROPE["short_factor"]}),  # long factors matter
    dict(rope_parameters={**PHI3_ROPE, "short_factor": PHI3_ROPE["long_factor"]}),  # short factors matter
    dict(rope_parameters={**PHI3_ROPE, "partial_rotary_factor": 1.0,
                          "short_factor": PHI3_ROPE["short_factor"] + [1.0, 1.0],
                          "long_factor": PHI3_ROPE["long_factor"] + [1.0, 1.0]})])
def test_phi3_features_matter(tmp_path, feature):
    """Both longrope factor lists (the 40-token sequence uses the long ones, the
    5-token one the short ones) and the partial rotary change the logits."""
    a = make_model("phi3", tmp_path / "a", seed=3)
    b = make_model("phi3", tmp_path / "b", seed=3, **feature)
    worst = 0.0
    for ids in id_sequences(5, [5, 40]):
        worst = max(worst, (hf_logits(a, ids) - hf_logits(b, ids)).abs().max().item())
    assert worst > 100 * FP32_TOL, feature
    short = id_sequences(5, [5])[0]
    if feature["rope_parameters"]["short_factor"] == PHI3_ROPE["short_factor"] and \
            feature["rope_parameters"].get("partial_rotary_factor") == 0.75:
        # only the long factors differ: a sequence within the original length is unchanged
        assert (hf_logits(a, short) - hf_logits(b, short)).abs().max().item() <= FP32_TOL


@pytest.mark.parametrize("feature", [dict(embedding_multiplier=1.0), dict(attention_multiplier=0.25),
                                     dict(residual_multiplier=1.0), dict(logits_scaling=1.0)])
def test_granite_features_matter(tmp_path, feature):
    """Each Granite multiplier changes transformers' logits of the test model."""
    a = make_model("granite", tmp_path / "a", seed=3)
    b = make_model("granite", tmp_path / "b", seed=3, **feature)
    ids = id_sequences(5, [40])[0]
    assert (hf_logits(a, ids) - hf_logits(b, ids)).abs().max().item() > 100 * FP32_TOL, feature


@pytest.mark.parametrize("seq", range(len(LENGTHS)))
def test_logits_bf16(bf16_model, seq):
    """bf16 weights. (1) computed in fp32 by both (olm's CPU default, transformers
    upcast): same tolerance as fp32. (2) computed in bf16 by both: the two
    programs round in different places, so they may differ by bf16 rounding
    noise; the bound is twice transformers' own bf16-vs-fp32 deviation on the
    same input (plus 1e-2 absolute), i.e. olm in bf16 is no further from
    transformers than transformers' bf16 run is from exact."""
    arch, path = bf16_model
    ids = id_sequences(200 + seq, LENGTHS)[seq]
    up = load_hf(path, "float32")
    ref32 = hf_logits(up, ids)
    got32 = olm_logits(path, ids, "fp32")
    d32 = (got32 - ref32).abs().max().item()
    _record((arch, "bf16", "fp32"), d32)
    assert d32 <= FP32_TOL, f"{arch} bf16 weights, fp32 compute: max |Δ| = {d32:.3g}"

    ref16 = hf_logits(load_hf(path, "bfloat16"), ids)
    got16 = olm_logits(path, ids, "bf16")
    if arch in MOE_ARCHS:
        return  # bf16 compute: test_moe_bf16_compute
    noise = (ref16 - ref32).abs().max().item()
    d16 = (got16 - ref16).abs().max().item()
    _record((arch, "bf16", "bf16"), d16)
    _record((arch, "bf16", "bf16 hf-vs-fp32"), noise)
    assert d16 <= 2 * noise + 1e-2, f"{arch} bf16 compute: max |Δ| = {d16:.3g}, transformers' own bf16 noise {noise:.3g}"


def test_moe_bf16_compute(bf16_model):
    """Routing is discrete: bf16 rounding moves a near-tie token to another
    expert (transformers' own bf16 run does it too), which changes that
    position's logits, and through attention the later ones', by far more than
    rounding, so a per-sequence max bound cannot hold. Over 8 sequences of 40
    tokens, olm's bf16 logits must on average be no further from exact (fp32)
    than 2x transformers' bf16 logits are (dense families: about 1.25x)."""
    arch, path = bf16_model
    if arch not in MOE_ARCHS:
        pytest.skip("dense family: test_logits_bf16 bounds the max")
    h32, h16 = load_hf(path, "float32"), load_hf(path, "bfloat16")
    dev_hf = dev_olm = worst = 0.0
    for s in range(8):
        ids = id_sequences(300 + s, [40])[0]
        ref32, ref16 = hf_logits(h32, ids), hf_logits(h16, ids)
        got16 = olm_logits(path, ids, "bf16")
        dev_hf += (ref16 - ref32).abs().mean().item() / 8
        dev_olm += (got16 - ref32).abs().mean().item() / 8
        worst = max(worst, (got16 - ref16).abs().max().item())
    _record((arch, "bf16", "bf16 mean |olm - fp32| over 8x40 tokens"), dev_olm)
    _record((arch, "bf16", "bf16 mean |hf - fp32| over 8x40 tokens"), dev_hf)
    _record((arch, "bf16", "bf16"), worst)
    assert dev_olm <= 2 * dev_hf, f"{arch} bf16: mean |olm - fp32| {dev_olm:.3g}, transformers' {dev_hf:.3g}"


GEN_PROMPTS = [[509, 10, 20, 30], [7], list(range(100, 125))]


@pytest.mark.parametrize("prompt", range(len(GEN_PROMPTS)))
def test_generate_greedy(fp32_model, prompt):
    arch, path, model = fp32_model
    ids = GEN_PROMPTS[prompt]
    n = 24
    with torch.no_grad():
        ref = model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=n,
                             eos_token_id=model.config.eos_token_id, pad_token_id=0)[0, len(ids):].tolist()
    got = olm_json("generate", path, "--ids", ",".join(map(str, ids)), "--max-new-tokens", n, "--json",
                   "--threads", "1")
    REPORT[(arch, "generate rows", "fp32")] = REPORT.get((arch, "generate rows", "fp32"), 0) + 1
    # transformers keeps the EOS it generated; olm reports it as the stop reason.
    stopped = bool(ref) and ref[-1] == model.config.eos_token_id
    assert got["ids"] == (ref[:-1] if stopped else ref), f"{arch}: olm {got['ids']} vs transformers {ref}"
    assert got["stop"] == ("eos" if stopped else "length")
