"""Shared pieces of the conformance suite: the `olm` binary, the committed
tokenizers, and tiny random models made by transformers itself.

Environment (set by tests/conformance/CMakeLists.txt):
  OLM_CLI         path of the `olm` binary under test (default build/app/olm)
  OLM_SOURCE_DIR  repository root (default: two levels up from here)
"""

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import torch

SOURCE_DIR = Path(os.environ.get("OLM_SOURCE_DIR", Path(__file__).resolve().parents[2]))
OLM = os.environ.get("OLM_CLI", str(SOURCE_DIR / "build" / "app" / "olm"))
TOKENIZERS = SOURCE_DIR / "tests" / "data" / "tokenizers"
TINY_TOKENIZER = TOKENIZERS / "tiny-bytelevel"  # 509 BPE tokens + 3 added = 512
REAL_TOKENIZERS = ["qwen3", "llama3", "llama2", "gemma3"]

torch.set_num_threads(1)


def olm(*args, input=None, check=True):
    """Runs `olm ARGS...` and returns its stdout (text)."""
    if not Path(OLM).exists():
        pytest.fail(f"olm binary not found at {OLM} (build the `olm` target or set OLM_CLI)")
    p = subprocess.run([OLM, *map(str, args)], input=input, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    if check and p.returncode != 0:
        raise AssertionError(f"olm {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def olm_json(*args, **kw):
    return json.loads(olm(*args, **kw))


@pytest.fixture(scope="session")
def real_tokenizer_dirs(tmp_path_factory):
    """name -> folder holding the extracted tokenizer.json + tokenizer_config.json."""
    root = tmp_path_factory.mktemp("tokenizers")
    out = {}
    for name in REAL_TOKENIZERS:
        dst = root / name
        dst.mkdir()
        with tarfile.open(TOKENIZERS / name / "tokenizer.tar.xz") as tar:
            tar.extractall(dst, filter="data")
        out[name] = dst
    out["tiny-bytelevel"] = TINY_TOKENIZER
    return out


# ---- tiny models made by transformers --------------------------------------

# Shared shape: small enough for a 2-core CI machine, big enough to exercise
# grouped-query attention (4 query heads over 2 KV heads) and several layers.
BASE = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            rms_norm_eps=1e-5, bos_token_id=509, eos_token_id=509, initializer_range=0.08)

# name -> (model_type, extra config keys). Every architecture OLM Studio supports,
# with the features that change the forward pass.
ARCHS = {
    "llama": ("llama", dict(tie_word_embeddings=False,
                            rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    # Llama 3: rope_type llama3 (the smoothing band falls inside the short test
    # sequences: original_max_position_embeddings 64) and tied embeddings.
    "llama3": ("llama", dict(tie_word_embeddings=True,
                             rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0,
                                              "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                              "original_max_position_embeddings": 64})),
    # Mistral-Nemo style: an explicit head_dim (32) that is not hidden / heads (16).
    "mistral": ("mistral", dict(tie_word_embeddings=False, sliding_window=None, head_dim=32,
                                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    # Mistral with a sliding window shorter than some test sequences.
    "mistral-window": ("mistral", dict(tie_word_embeddings=False, sliding_window=8, head_dim=16,
                                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    "qwen2": ("qwen2", dict(tie_word_embeddings=False,
                            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    # Qwen 3: q/k norms, a head_dim that is not hidden/heads, tied embeddings.
    "qwen3": ("qwen3", dict(tie_word_embeddings=True, head_dim=32,
                            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    # Gemma 2: sandwich norms with (1 + w), embeddings x sqrt(hidden), GELU-tanh,
    # query_pre_attn_scalar != head_dim, a window (8) on alternate layers, and
    # soft-capping small enough to bite on these tiny models.
    "gemma2": ("gemma2", dict(tie_word_embeddings=True, head_dim=16, query_pre_attn_scalar=24,
                              sliding_window=8, attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
                              hidden_activation="gelu_pytorch_tanh",
                              rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    # Gemma 3 (text): Gemma 2's layer plus per-head q/k norms, no capping, and
    # per layer type rotary parameters: the sliding layers (0 and 2, window 8)
    # on base 100, the global one on base 1e6 with linear scaling.
    "gemma3": ("gemma3_text", dict(tie_word_embeddings=True, head_dim=16, query_pre_attn_scalar=24,
                                   sliding_window=8, hidden_activation="gelu_pytorch_tanh",
                                   layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                                   rope_parameters={
                                       "sliding_attention": {"rope_type": "default", "rope_theta": 100.0},
                                       "full_attention": {"rope_type": "linear", "factor": 4.0,
                                                          "rope_theta": 1000000.0}})),
    # Gemma 3 as most fine-tunes ship it (Gemma3ForConditionalGeneration): the
    # text model above under language_model., its config under text_config, and
    # a SigLIP vision tower and projector that a merge carries through unchanged.
    # The base is written in the Hub's layout (see to_hub_layout).
    "gemma3-vision": ("gemma3", {}),
    # Phi-3 / Phi-4-mini: fused qkv_proj and gate_up_proj, longrope whose
    # original length (16) the longer test sequences pass, partial rotary 0.75.
    "phi3": ("phi3", dict(tie_word_embeddings=False, original_max_position_embeddings=16, pad_token_id=0,
                          rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                                           "partial_rotary_factor": 0.75,
                                           "original_max_position_embeddings": 16,
                                           "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5],
                                           "long_factor": [1.5, 2.0, 3.0, 5.0, 8.0, 13.0]})),
    # Granite: all four multipliers away from 1 (attention_multiplier is the
    # scores' scale in place of head_dim^-1/2).
    "granite": ("granite", dict(tie_word_embeddings=True, embedding_multiplier=4.0, attention_multiplier=0.4,
                                residual_multiplier=0.3, logits_scaling=2.5,
                                rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    # OLMo 2: norms after attention and MLP, q/k norms over the whole projection.
    "olmo2": ("olmo2", dict(tie_word_embeddings=False,
                            rope_parameters={"rope_type": "default", "rope_theta": 500000.0})),
    # Mixtral: the Mistral attention and 4 routed experts (top 2, weights
    # renormalised, kept in float32), stored as block_sparse_moe.experts.{e}.w1/w2/w3.
    "mixtral": ("mixtral", dict(tie_word_embeddings=False, num_local_experts=4, num_experts_per_tok=2,
                                sliding_window=None, router_jitter_noise=0.0,
                                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    # Qwen3-MoE: q/k norms, 4 experts of width 48 (top 2, renormalised as
    # Qwen3-30B-A3B sets norm_topk_prob), and layer 1 dense (mlp_only_layers).
    "qwen3-moe": ("qwen3_moe", dict(tie_word_embeddings=False, head_dim=16, num_experts=4,
                                    num_experts_per_tok=2, moe_intermediate_size=48, norm_topk_prob=True,
                                    decoder_sparse_step=1, mlp_only_layers=[1],
                                    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
}


# The smallest SigLIP tower Gemma3ForConditionalGeneration accepts: 28x28
# images in 14x14 patches (4 patches, pooled to mm_tokens_per_image = 4).
TINY_VISION = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
                   image_size=28, patch_size=14, vision_use_head=False)


def make_config(arch, **overrides):
    from transformers import AutoConfig
    model_type, extra = ARCHS[arch]
    if model_type == "gemma3":
        # the language model is the "gemma3" case's; overrides apply to it
        text = {**BASE, **ARCHS["gemma3"][1], **overrides}
        return AutoConfig.for_model("gemma3", text_config={"model_type": "gemma3_text", **text},
                                    vision_config=TINY_VISION, mm_tokens_per_image=4,
                                    eos_token_id=BASE["eos_token_id"], bos_token_id=BASE["bos_token_id"],
                                    tie_word_embeddings=text["tie_word_embeddings"])
    return AutoConfig.for_model(model_type, **{**BASE, **extra, **overrides})


def to_hub_layout(path):
    """Renames a saved Gemma3ForConditionalGeneration's vision tower from
    transformers 5's `vision_tower.*` to the `vision_tower.vision_model.*` of
    the Hub's google/gemma-3 checkpoints (which mergekit's template names);
    transformers loads both."""
    from safetensors.torch import load_file, save_file
    path = Path(path)
    rename = {}
    for f in sorted(path.glob("*.safetensors")):
        tensors = load_file(str(f))
        out = {}
        for k, v in tensors.items():
            n = k
            if k.startswith("vision_tower.") and not k.startswith("vision_tower.vision_model."):
                n = "vision_tower.vision_model." + k[len("vision_tower."):]
            rename[k] = n
            out[n] = v
        save_file(out, str(f), metadata={"format": "pt"})
    index = path / "model.safetensors.index.json"
    if index.exists():
        j = json.loads(index.read_text())
        j["weight_map"] = {rename.get(k, k): v for k, v in j["weight_map"].items()}
        index.write_text(json.dumps(j, indent=2))


# Gemma3ForConditionalGeneration's two checkpoint layouts: (Hub / what
# transformers 5 writes, transformers' state-dict names since 4.52).
GEMMA3_LAYOUTS = (("language_model.model.", "model.language_model."), ("language_model.lm_head.", "lm_head."),
                  ("vision_tower.", "model.vision_tower."), ("multi_modal_projector.", "model.multi_modal_projector."))


def to_state_dict_layout(path):
    """Renames a saved Gemma3ForConditionalGeneration's tensors to the names of
    its state_dict (model.language_model.*, model.vision_tower.*,
    model.multi_modal_projector.*, lm_head), as fine-tunes saved from a state
    dict ship them; transformers loads both."""
    from safetensors.torch import load_file, save_file
    path = Path(path)

    def renamed(k):
        for a, b in GEMMA3_LAYOUTS:
            if k.startswith(a):
                return b + k[len(a):]
        return k
    rename = {}
    for f in sorted(path.glob("*.safetensors")):
        tensors = load_file(str(f))
        out = {}
        for k, v in tensors.items():
            rename[k] = renamed(k)
            out[rename[k]] = v
        save_file(out, str(f), metadata={"format": "pt"})
    index = path / "model.safetensors.index.json"
    if index.exists():
        j = json.loads(index.read_text())
        j["weight_map"] = {rename.get(k, renamed(k)): v for k, v in j["weight_map"].items()}
        index.write_text(json.dumps(j, indent=2))


def perturb_(model, seed):
    """Random norm weights and biases (transformers initialises them to 1 and
    0, which would hide a wrong norm or bias). In place, seeded."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def make_model(arch, path, dtype="float32", seed=0, max_shard_size=None, **overrides):
    """Builds a seeded random `arch` model with AutoModelForCausalLM.from_config,
    saves it with save_pretrained into `path` (dtype float32 or bfloat16,
    sharded when max_shard_size is given) next to the tiny tokenizer, and
    returns the transformers model (float32 master copy, eval mode)."""
    from transformers import AutoModelForCausalLM
    torch.manual_seed(seed)
    cfg = make_config(arch, **overrides)
    model = AutoModelForCausalLM.from_config(cfg)
    perturb_(model, seed + 1)
    model.eval()
    out = model.to(getattr(torch, dtype)) if dtype != "float32" else model
    kw = {"max_shard_size": max_shard_size} if max_shard_size else {}
    out.save_pretrained(path, **kw)
    if ARCHS[arch][0] == "gemma3":
        to_hub_layout(path)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TINY_TOKENIZER / f, Path(path) / f)
    return out


def load_hf(path, dtype=None):
    from transformers import AutoModelForCausalLM
    kw = {"dtype": getattr(torch, dtype)} if dtype else {}
    m = AutoModelForCausalLM.from_pretrained(path, **kw)
    m.eval()
    return m


def hf_logits(model, ids):
    """[T, V] float32 logits of one sequence."""
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float()


def olm_logits(path, ids, dtype=None):
    args = ["logits", path, "--ids", ",".join(map(str, ids)), "--json", "--threads", "1"]
    if dtype:
        args += ["--dtype", dtype]
    return torch.tensor(olm_json(*args)["logits"], dtype=torch.float32)


def id_sequences(seed, lengths, vocab=512):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, vocab, (n,), generator=g).tolist() for n in lengths]


# ---- measured figures, printed in pytest's summary ---------------------------

REPORT = {}  # (subject, what, detail) -> number


def pytest_terminal_summary(terminalreporter):
    if not REPORT:
        return
    terminalreporter.section("conformance figures")
    for k in sorted(REPORT, key=str):
        v = REPORT[k]
        terminalreporter.write_line(" ".join(map(str, k)) + ": " + (f"{v:.3g}" if isinstance(v, float) else str(v)))
