"""Tokenizers: the committed goldens are what the pinned `tokenizers` package
says (tests/tools/make_goldens.py --check), `olm tokenize --jsonl` equals the
package on the same texts, and `olm tokenize --chat` equals
transformers' apply_chat_template for every committed chat template."""

import functools
import json
import subprocess
import sys

import pytest

from conftest import REPORT, SOURCE_DIR, TOKENIZERS, olm

CHAT_FAMILIES = ["qwen3", "llama3", "gemma3", "tiny-bytelevel"]  # the committed tokenizer_config.json with a chat_template

CONVERSATIONS = {
    "single": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}],
    "system": [{"role": "system", "content": "You are terse."},
               {"role": "user", "content": "Name a colour."},
               {"role": "assistant", "content": "Blue."}],
    "multi": [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello! How can I help?"},
              {"role": "user", "content": "Tell me a joke.\nA short one."},
              {"role": "assistant", "content": "Why did the chicken cross the road? To get to the other side."}],
    "multi-system": [{"role": "system", "content": "Answer in French."},
                     {"role": "user", "content": "Good morning"}, {"role": "assistant", "content": "Bonjour"},
                     {"role": "user", "content": "Thank you"}, {"role": "assistant", "content": " Merci  "}],
    "unicode": [{"role": "user", "content": "Übersetze: 日本語 😀"}, {"role": "assistant", "content": "Japanisch 😀"}],
}


def test_goldens_are_what_tokenizers_says():
    p = subprocess.run([sys.executable, str(SOURCE_DIR / "tests" / "tools" / "make_goldens.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    n = sum(1 for f in TOKENIZERS.rglob("*golden*.jsonl") for line in f.open(encoding="utf-8") if line.strip())
    REPORT[("tokenizers", "golden rows equal to the tokenizers package", "")] = n


@pytest.mark.parametrize("name", ["qwen3", "llama3", "llama2", "gemma3", "tiny-bytelevel"])
def test_olm_tokenize_jsonl(real_tokenizer_dirs, name):
    """`olm tokenize --jsonl` row for row against the package, on the golden texts."""
    from tokenizers import Tokenizer
    d = real_tokenizer_dirs[name]
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    texts = [json.loads(line)["text"] for line in (TOKENIZERS / name / "golden.jsonl").open(encoding="utf-8")]
    out = olm("tokenize", d, "--jsonl", input="".join(json.dumps(t) + "\n" for t in texts))
    rows = [json.loads(line) for line in out.split("\n") if line.strip()]
    assert len(rows) == len(texts)
    bad = []
    for t, r in zip(texts, rows):
        ids = tok.encode(t, add_special_tokens=False).ids
        exp = {"ids": ids, "ids_with_special": tok.encode(t, add_special_tokens=True).ids,
               "decoded": tok.decode(ids, skip_special_tokens=False),
               "decoded_skip": tok.decode(ids, skip_special_tokens=True)}
        if any(r[k] != v for k, v in exp.items()):
            bad.append((t, {k: (r[k], v) for k, v in exp.items() if r[k] != v}))
    REPORT[(name, "olm tokenize --jsonl rows", "")] = f"{len(rows)} rows, {len(bad)} mismatches"
    assert not bad, bad[:3]


# The published chat templates of Phi-3-mini-4k-instruct, Phi-4-mini-instruct
# and Phi-4 (their tokenizer_config.json), on the tiny tokenizer with the role
# tokens added (rstrip on the role tags and <|end|>, so the newlines the Phi-3
# template writes after them are absorbed as in a real Phi-3 tokenizer).
PHI_TEMPLATES = {
    "phi3": ("{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + "
             "message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + "
             "message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + "
             "message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}"
             "{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"),
    "phi4-mini": ("{% for message in messages %}{% if message['role'] == 'system' and 'tools' in message and "
                  "message['tools'] is not none %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|tool|>' "
                  "+ message['tools'] + '<|/tool|>' + '<|end|>' }}{% else %}{{ '<|' + message['role'] + '|>' + "
                  "message['content'] + '<|end|>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}"
                  "{{ '<|assistant|>' }}{% else %}{{ eos_token }}{% endif %}"),
    "phi4": ("{% for message in messages %}{% if (message['role'] == 'system') %}{{'<|im_start|>system<|im_sep|>' + "
             "message['content'] + '<|im_end|>'}}{% elif (message['role'] == 'user') %}{{'<|im_start|>user<|im_sep|>' "
             "+ message['content'] + '<|im_end|><|im_start|>assistant<|im_sep|>'}}{% elif (message['role'] == "
             "'assistant') %}{{message['content'] + '<|im_end|>'}}{% endif %}{% endfor %}"),
}
# OLMo 2 Instruct's (allenai/OLMo-2-1124-7B-Instruct: BOS first) and Tülu 3's
# (allenai/Llama-3.1-Tulu-3-8B: no BOS); their role tags are plain text here.
TULU = ("{% for message in messages %}{% if message['role'] == 'system' %}{{ '<|system|>\\n' + message['content'] "
        "+ '\\n' }}{% elif message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + '\\n' }}{% elif "
        "message['role'] == 'assistant' %}{% if not loop.last %}{{ '<|assistant|>\\n'  + message['content'] + "
        "eos_token + '\\n' }}{% else %}{{ '<|assistant|>\\n'  + message['content'] + eos_token }}{% endif %}"
        "{% endif %}{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}{% endfor %}")
PHI_TEMPLATES["olmo2"] = "{{ bos_token }}" + TULU
PHI_TEMPLATES["tulu3"] = TULU
# ibm-granite/granite-3.0-8b-instruct's (its tokenizer_config.json; the copy in
# llama.cpp's tests/test-chat-template.cpp), with its role and end tokens added.
PHI_TEMPLATES["granite3"] = (
    "{%- if tools %}\n    {{- '<|start_of_role|>available_tools<|end_of_role|>\n' }}\n    {%- for tool in tools %}"
    "\n    {{- tool | tojson(indent=4) }}\n    {%- if not loop.last %}\n        {{- '\n\n' }}\n    {%- endif %}"
    "\n    {%- endfor %}\n    {{- '<|end_of_text|>\n' }}\n{%- endif %}\n{%- for message in messages %}\n    "
    "{%- if message['role'] == 'system' %}\n    {{- '<|start_of_role|>system<|end_of_role|>' + message['content'] "
    "+ '<|end_of_text|>\n' }}\n    {%- elif message['role'] == 'user' %}\n    {{- '<|start_of_role|>user"
    "<|end_of_role|>' + message['content'] + '<|end_of_text|>\n' }}\n    {%- elif message['role'] == 'assistant' "
    "%}\n    {{- '<|start_of_role|>assistant<|end_of_role|>'  + message['content'] + '<|end_of_text|>\n' }}\n    "
    "{%- elif message['role'] == 'assistant_tool_call' %}\n    {{- '<|start_of_role|>assistant<|end_of_role|>"
    "<|tool_call|>' + message['content'] + '<|end_of_text|>\n' }}\n    {%- elif message['role'] == 'tool_response' "
    "%}\n    {{- '<|start_of_role|>tool_response<|end_of_role|>' + message['content'] + '<|end_of_text|>\n' }}\n"
    "    {%- endif %}\n    {%- if loop.last and add_generation_prompt %}\n    {{- '<|start_of_role|>assistant"
    "<|end_of_role|>' }}\n    {%- endif %}\n{%- endfor %}")
PHI_TOKENS = {"phi3": ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
              "phi4-mini": ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
              "phi4": ["<|im_sep|>"], "olmo2": [], "tulu3": [],
              "granite3": ["<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>", "<|tool_call|>"]}
EXPECTED_FAMILY = {"phi3": "phi3", "phi4-mini": "phi3", "phi4": "chatml", "olmo2": "tulu", "tulu3": "tulu",
                   "granite3": "granite"}


@pytest.fixture(scope="session")
def phi_tokenizer_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("phi-tokenizers")
    src = TOKENIZERS / "tiny-bytelevel"
    out = {}
    for name, template in PHI_TEMPLATES.items():
        d = root / name
        d.mkdir()
        tj = json.loads((src / "tokenizer.json").read_text())
        cfg = json.loads((src / "tokenizer_config.json").read_text())
        next_id = max(t["id"] for t in tj["added_tokens"]) + 1
        for tok in PHI_TOKENS[name]:
            entry = {"id": next_id, "content": tok, "single_word": False, "lstrip": False,
                     "rstrip": name == "phi3", "normalized": False, "special": True}
            tj["added_tokens"].append(entry)
            cfg["added_tokens_decoder"][str(next_id)] = {k: v for k, v in entry.items() if k != "id"}
            next_id += 1
        cfg["chat_template"] = template
        cfg["eos_token"] = {"phi4": "<|im_end|>", "granite3": "<|end_of_text|>"}.get(name, "<|endoftext|>")
        if name == "olmo2":
            cfg["bos_token"] = "<|endoftext|>"  # OLMo 2's BOS and EOS are one token
        (d / "tokenizer.json").write_text(json.dumps(tj))
        (d / "tokenizer_config.json").write_text(json.dumps(cfg))
        out[name] = d
    return out


@functools.lru_cache(maxsize=None)
def auto_tokenizer(path):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(path)


@pytest.mark.parametrize("conv", sorted(CONVERSATIONS))
@pytest.mark.parametrize("name", CHAT_FAMILIES + sorted(PHI_TEMPLATES))
def test_chat_template(real_tokenizer_dirs, phi_tokenizer_dirs, tmp_path, name, conv):
    """context_ids = apply_chat_template(turns[:-1], add_generation_prompt=True);
    context_ids + response_ids = the start of apply_chat_template(turns), which
    goes on only with whitespace or a new generation prompt. Qwen 3 is rendered
    with enable_thinking=False (the empty think block its template gives every
    final assistant turn)."""
    d = phi_tokenizer_dirs[name] if name in PHI_TEMPLATES else real_tokenizer_dirs[name]
    tok = auto_tokenizer(str(d))
    turns = CONVERSATIONS[conv]
    kw = {"enable_thinking": False} if name == "qwen3" else {}
    context = tok.apply_chat_template(turns[:-1], add_generation_prompt=True, tokenize=True, return_dict=False, **kw)
    full = tok.apply_chat_template(turns, tokenize=True, return_dict=False, **kw)
    f = tmp_path / "chat.json"
    f.write_text(json.dumps(turns))
    got = json.loads(olm("tokenize", d, "--chat", f))
    if name in PHI_TEMPLATES:  # the family auto picks
        assert got.get("family", got.get("family_reason", "")).split(":")[0] == EXPECTED_FAMILY[name], got
    key = (name, "chat-template rows", "")
    REPORT[key] = REPORT.get(key, 0) + 1
    assert got["context_ids"] == context, (
        f"{name}/{conv} context:\n olm {tok.decode(got['context_ids'])!r}\n  hf {tok.decode(context)!r}")
    n = len(got["context_ids"]) + len(got["response_ids"])
    assert full[:n] == got["context_ids"] + got["response_ids"], (
        f"{name}/{conv} response:\n olm {tok.decode(got['response_ids'])!r}\n  hf {tok.decode(full[len(context):])!r}")
    # After the final turn a template may add whitespace, or (Llama 3's) the
    # next assistant header, the same ids the context ends with.
    rest = full[n:]
    if name.startswith("phi") and rest and rest[-1] == tok.eos_token_id:
        rest = rest[:-1]  # Phi's templates end a conversation with eos_token
    assert tok.decode(rest).strip() == "" or rest == context[len(context) - len(rest):], (
        f"{name}/{conv}: template goes on with {tok.decode(rest)!r}")
