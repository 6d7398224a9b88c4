// Trains the tiny byte-level BPE tokenizer used by the project's tests
// (tests/data/tokenizers/tiny-bytelevel): GPT-2 byte alphabet (256 tokens),
// 253 merges learned from English text, and the ChatML special tokens
// <|endoftext|>, <|im_start|>, <|im_end|> — 512 ids in all.
//
// Deterministic: the most frequent pair wins, ties broken by the pair's text.
// The corpus is the GPL-3 text Debian ships in every install (base-files).
//
// Usage: node train_tiny_bytelevel.mjs [corpus.txt] [out_dir]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const corpusPath = process.argv[2] ?? '/usr/share/common-licenses/GPL-3';
const outDir = process.argv[3] ?? path.join(here, '..', 'data', 'tokenizers', 'tiny-bytelevel');
const NUM_MERGES = 253;

// GPT-2 byte -> printable code point table.
const byteToChar = [];
{
  let n = 0;
  for (let b = 0; b < 256; ++b) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    byteToChar[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
}
const GPT2 = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const text = fs.readFileSync(corpusPath, 'utf8').normalize('NFC');
const wordCounts = new Map();
for (const m of text.matchAll(GPT2)) {
  const w = Array.from(Buffer.from(m[0], 'utf8'), (b) => byteToChar[b]).join('');
  wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
}
// words as arrays of symbols
let words = [...wordCounts.entries()].map(([w, c]) => ({ syms: Array.from(w), count: c }));

const vocab = new Map();
for (let b = 0; b < 256; ++b) vocab.set(byteToChar[b], vocab.size);
const merges = [];
for (let k = 0; k < NUM_MERGES; ++k) {
  const pairs = new Map();
  for (const { syms, count } of words) {
    for (let i = 0; i + 1 < syms.length; ++i) {
      const key = syms[i] + '\u0000' + syms[i + 1];
      pairs.set(key, (pairs.get(key) ?? 0) + count);
    }
  }
  let best = null, bestCount = 0;
  for (const [key, c] of pairs) {
    if (c > bestCount || (c === bestCount && best !== null && key < best)) { best = key; bestCount = c; }
  }
  if (best === null) break;
  const [a, b] = best.split('\u0000');
  merges.push(`${a} ${b}`);
  vocab.set(a + b, vocab.size);
  for (const w of words) {
    const out = [];
    for (let i = 0; i < w.syms.length; ++i) {
      if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) { out.push(a + b); ++i; }
      else out.push(w.syms[i]);
    }
    w.syms = out;
  }
}

const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
const added = specials.map((content, i) => ({
  id: vocab.size + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
}));
const tokenizer = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: added,
  normalizer: { type: 'NFC' },
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: false,
    vocab: Object.fromEntries(vocab), merges,
  },
};
const chatml =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const config = {
  add_bos_token: false,
  add_prefix_space: false,
  added_tokens_decoder: Object.fromEntries(added.map((t) => [String(t.id), {
    content: t.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }])),
  bos_token: null,
  chat_template: chatml,
  clean_up_tokenization_spaces: false,
  eos_token: '<|im_end|>',
  model_max_length: 2048,
  pad_token: '<|endoftext|>',
  tokenizer_class: 'PreTrainedTokenizerFast',
  unk_token: null,
};
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify(tokenizer, null, 1) + '\n');
fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
console.log(`tiny-bytelevel: ${vocab.size} model tokens + ${added.length} added = ${vocab.size + added.length} ids -> ${outDir}`);
