#!/usr/bin/env python3
"""Writes the tokenizer goldens with the Hugging Face `tokenizers` package
(the version pinned in tests/conformance/requirements.txt) for every
tokenizer under tests/data/tokenizers/<name>/ and the variants of
tests/data/tokenizers/variants/variants.json.

    build/venv/bin/python tests/tools/make_goldens.py            # rewrite the goldens
    build/venv/bin/python tests/tools/make_goldens.py --check    # compare, write nothing

(packaging/setup-venv.sh makes build/venv.) tests/tokenizer/test_tokenizer_golden
compares the C++ tokenizer with the committed goldens; the conformance test
tests/conformance/test_tokenizers.py runs --check, so the goldens are always what
the pinned library says.

Per tokenizer:
  golden.jsonl        one row per text: {text, ids, ids_with_special, decoded, decoded_skip}
                      (the `olm tokenize --jsonl` format; decoded* decode `ids`)
  golden_decode.jsonl one row per random id sequence: {ids, decoded, decoded_skip}
"""

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "tokenizers"

# Deterministic pseudo-random texts from a pool that stresses every stage.
POOL = [
    ' ', ' ', ' ', '  ', '\t', '\n', '\n\n', '\r\n', '\u00a0', '\u3000', 'a', 'e', 'the', 'The', ' of', 'ing', 'ed',
    'tion', "'s", "'ll", "'RE", "n't", 'x', 'Z', 'q', '0', '7', '42', '1234', '3.14', '.', ',', '!', '?', '...', '-',
    '--', '_', '(', ')', '{', '}', '[', ']', '<', '>', '/', '\\', '"', "'", '#', '@', '$', '%', '^', '&', '*', '=',
    '+', '|', '~', '`', ';', ':', 'é', 'e\u0301', 'ñ', 'ü', 'ß', 'İ', 'Σ', 'ω', 'Привет', 'мир', '日本', '語', '中文',
    '한국어', '\u1100\u1161\u11a8', 'العربية', 'हिन्दी', 'ไทย', '😀', '👍🏽', '👨\u200d👩\u200d👧\u200d👦', '🇫🇷',
    '🏳️\u200d🌈', '\u200b', '\u200d', '\ufeff', '\u0000', '\u0007', '\u007f', '𝔘𝔫𝔦', '①', 'Ⅻ', 'ﬁ', '㎏',
    '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<|begin_of_text|>', '<|eot_id|>', '<s>', '</s>', '<unk>',
    '<bos>', '<start_of_turn>', '<end_of_turn>', '[INST]', '<0x41>', '▁', '▁▁', 'Ġ', 'def', 'return', '    ',
    '\t\t', 'http://x.org/a?b=1',
]


def lcg(seed):
    """The 32-bit LCG of the original generator: s = s * 1664525 + 1013904223."""
    s = seed & 0xFFFFFFFF

    def rnd():
        nonlocal s
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        return s / 4294967296

    return rnd


def random_texts(n, seed):
    rnd = lcg(seed)
    out = []
    for _ in range(n):
        length = 1 + int(rnd() * 24)
        out.append(''.join(POOL[int(rnd() * len(POOL))] for _ in range(length)))
    return out


def dumps(row):
    # The same text as JavaScript's JSON.stringify: no spaces, non-ASCII as is.
    return json.dumps(row, ensure_ascii=False, separators=(',', ':'))


def golden_rows(tok, seed, decode_seed, n_random=150, n_decode=200):
    texts = json.loads((HERE / 'golden_texts.json').read_text(encoding='utf-8'))
    rows = []
    for text in [*texts, *random_texts(n_random, seed)]:
        ids = tok.encode(text, add_special_tokens=False).ids
        rows.append({
            'text': text,
            'ids': ids,
            'ids_with_special': tok.encode(text, add_special_tokens=True).ids,
            'decoded': tok.decode(ids, skip_special_tokens=False),
            'decoded_skip': tok.decode(ids, skip_special_tokens=True),
        })
    # Random id sequences: partial UTF-8 byte tokens, specials, out-of-range ids.
    vocab = tok.get_vocab_size(with_added_tokens=True)
    rnd = lcg(decode_seed)
    drows = []
    for _ in range(n_decode):
        length = int(rnd() * 12)
        ids = []
        for _ in range(length):
            r = rnd()
            if r < 0.3:
                ids.append(int(rnd() * 300))  # bytes / low ids
            elif r < 0.35:
                ids.append(vocab + int(rnd() * 10))  # unknown ids
            else:
                ids.append(int(rnd() * vocab))
        drows.append({'ids': ids, 'decoded': tok.decode(ids, skip_special_tokens=False),
                      'decoded_skip': tok.decode(ids, skip_special_tokens=True)})
    return (''.join(dumps(r) + '\n' for r in rows), ''.join(dumps(r) + '\n' for r in drows))


def tokenizer_json(name, tmp):
    d = DATA / name
    archive = d / 'tokenizer.tar.xz'
    if not archive.exists():
        return (d / 'tokenizer.json').read_text(encoding='utf-8')
    with tarfile.open(archive) as tar:
        tar.extractall(tmp / name, filter='data')
    return (tmp / name / 'tokenizer.json').read_text(encoding='utf-8')


def all_goldens():
    """{path relative to tests/data/tokenizers: expected text}"""
    out = {}
    names = sorted(p.name for p in DATA.iterdir() if p.is_dir() and p.name != 'variants')
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sources = {}
        for name in names:
            sources[name] = tokenizer_json(name, tmp)
            # Decode rows of the real tokenizers are seeded 99 + len(name): the seed
            # the committed goldens were first written with.
            enc, dec = golden_rows(Tokenizer.from_str(sources[name]), 1234 + len(name), 99 + len(name))
            out[f'{name}/golden.jsonl'] = enc
            out[f'{name}/golden_decode.jsonl'] = dec
        # Variants: a base tokenizer.json with other pipeline stages, covering the
        # normalizers, pre-tokenizers, decoders and added-token flags the real
        # tokenizers do not use. The C++ test applies the same override.
        for v in json.loads((DATA / 'variants' / 'variants.json').read_text(encoding='utf-8')):
            base = json.loads(sources[v['base']])
            base.update(v.get('override', {}))
            if 'extra_added_tokens' in v:
                base['added_tokens'] = [*base['added_tokens'], *v['extra_added_tokens']]
            if 'model_override' in v:
                base['model'].update(v['model_override'])
            tok = Tokenizer.from_str(json.dumps(base))
            seed = 4321 + len(v['name'])
            enc, dec = golden_rows(tok, seed, seed + 7, 60, 60)
            out[f"variants/{v['name']}.golden.jsonl"] = enc
            out[f"variants/{v['name']}.golden_decode.jsonl"] = dec
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true', help='compare with the committed goldens, write nothing')
    args = ap.parse_args()
    goldens = all_goldens()
    differ = []
    for rel, text in goldens.items():
        path = DATA / rel
        old = path.read_text(encoding='utf-8') if path.exists() else None
        if old != text:
            differ.append(rel)
            if not args.check:
                path.write_text(text, encoding='utf-8')
    verb = 'differ' if args.check else 'rewritten'
    print(f'{len(goldens)} golden files, {len(differ)} {verb}' + (': ' + ', '.join(differ) if differ else ''))
    return 1 if args.check and differ else 0


if __name__ == '__main__':
    sys.exit(main())
