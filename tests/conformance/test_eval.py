"""`olm eval --json`: every per-sample score of the three modes (exact, bigram,
quality; formulas in docs/evaluation.md) re-computed in Python from
transformers' logits and transformers' greedy generate on the ids `olm` used."""

import json
import math

import pytest
import torch

from conftest import REPORT, hf_logits, make_model, olm_json

CONVERSATIONS = [
    [("user", "What is two plus two?"), ("assistant", "Four.")],
    [("system", "You answer briefly."), ("user", "Name a colour."), ("assistant", "Blue, like the sky.")],
    [("user", "Spell cat backwards."), ("assistant", "tac")],
    [("user", "Tell me a short story about a fox and a crow."),
     ("assistant", "A crow held some cheese. A fox praised her voice; she sang and the cheese fell.")],
    [("user", "Hi"), ("assistant", "Hello!"), ("user", "How are you?"), ("assistant", "Fine, thanks.")],
    [("user", "Count to five."), ("assistant", "1 2 3 4 5")],
]
ARCHS_FOR_EVAL = ["llama", "qwen3"]
# Seeds whose greedy texts give both scored and penalised samples (checked below).
SEEDS = {"llama": 11, "qwen3": 16}
MIN_WORDS, MAX_LENGTH, MAX_NEW = 2, 16, 20
STOP_IDS = [509, 511]  # <|endoftext|> (config eos, tokenizer eos) and <|im_end|> (ChatML end of turn)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "chat.json"
    path.write_text(json.dumps([{"messages": [{"role": r, "content": c} for r, c in conv]}
                                for conv in CONVERSATIONS]))
    return path


@pytest.fixture(scope="module", params=ARCHS_FOR_EVAL)
def model(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(f"eval-{request.param}")
    return request.param, path, make_model(request.param, path, seed=SEEDS[request.param])


def run_eval(path, dataset, mode, *extra):
    return olm_json("eval", path, "--dataset", dataset, "--mode", mode, "--json", "--threads", "1", *extra)


def token_rows(model, context, response):
    """float64 log-probabilities of the T rows that predict the response."""
    ids = context + response[:-1]
    logits = hf_logits(model, ids).double()
    rows = logits[len(context) - 1:]
    assert rows.shape[0] == len(response)
    return rows, torch.log_softmax(rows, -1)


def exact_score(model, context, response):
    rows, logp = token_rows(model, context, response)
    costs = []
    for t, e in enumerate(response):
        p = logp[t].exp()
        is_max = rows[t, e] >= rows[t].max()
        costs.append(1 - p.max().item() if is_max else 1 + p.max().item())
    return sum(costs) / len(costs)


def bigram_score(model, context, response):
    _, logp = token_rows(model, context, response)
    ce = [-logp[t, e].item() for t, e in enumerate(response)]
    if len(ce) == 1:
        return math.exp(ce[0])
    pairs = [ce[t] + ce[t + 1] for t in range(len(ce) - 1)]
    return math.exp(sum(pairs) / len(pairs))


def quality_score(text):
    words = text.split()
    if any(0x4E00 <= ord(c) <= 0x9FFF for c in text):
        return MAX_LENGTH, "forbidden script"
    if len(words) < MIN_WORDS:
        return MAX_LENGTH, "too few words"
    if any(len(w) > 20 for w in words):
        return MAX_LENGTH, "word too long"
    return 1.0 / ((min(len(words), MAX_LENGTH) / MAX_LENGTH) * (len(set(words)) / len(words)) ** 2), None


@pytest.mark.parametrize("mode", ["exact", "bigram"])
def test_teacher_forced_scores(model, dataset, mode):
    arch, path, hf = model
    out = run_eval(path, dataset, mode)
    assert len(out["samples"]) == len(CONVERSATIONS) and out["skipped"] == 0
    formula = exact_score if mode == "exact" else bigram_score
    worst = 0.0
    for s in out["samples"]:
        ref = formula(hf, s["context_ids"], s["response_ids"])
        rel = abs(s["score"] - ref) / abs(ref)
        worst = max(worst, rel)
        assert rel <= 1e-4, f"{arch} {mode} sample {s['index']}: olm {s['score']} vs transformers {ref}"
    mean = sum(s["score"] for s in out["samples"]) / len(out["samples"])
    assert out["score"] == pytest.approx(mean, rel=1e-12)
    REPORT[(arch, f"eval {mode} max rel diff", f"{len(out['samples'])} rows")] = worst


def test_quality_scores(model, dataset, tmp_path):
    from transformers import AutoTokenizer
    arch, path, hf = model
    tok = AutoTokenizer.from_pretrained(path)
    out = run_eval(path, dataset, "quality", "--min-words", MIN_WORDS, "--max-length", MAX_LENGTH,
                   "--max-new-tokens", MAX_NEW)
    penalties = set()
    for s in out["samples"]:
        ctx = s["context_ids"]
        with torch.no_grad():
            gen = hf.generate(torch.tensor([ctx]), do_sample=False, max_new_tokens=MAX_NEW,
                              eos_token_id=STOP_IDS, pad_token_id=0)[0, len(ctx):].tolist()
        got = s["generated_ids"]
        # transformers keeps the stop token it generated; olm's generated_ids may not.
        ref_ids = gen[:-1] if gen and gen[-1] in STOP_IDS and len(got) == len(gen) - 1 else gen
        assert got == ref_ids, f"{arch} sample {s['index']}: olm {got} vs transformers {gen}"
        text = tok.decode(gen, skip_special_tokens=True)
        assert s["generated_text"] == text
        ref, why = quality_score(text)
        penalties.add(why)
        assert s["score"] == pytest.approx(ref, rel=1e-12), f"{arch} sample {s['index']}: {text!r}"
        assert (s["penalty"] is None) == (why is None), (s["penalty"], why)
    REPORT[(arch, "eval quality rows", "")] = f"{len(out['samples'])}, outcomes {sorted(map(str, penalties))}"
    # Both branches of the formula were exercised: a scored text and a penalty.
    assert None in penalties and len(penalties) > 1, penalties
