// Reference-library throughput on the same text and paragraphs as
// `olm bench tokenizer` (Hugging Face tokenizers, native build via
// @anush008/tokenizers). Run with one worker thread for a one-core figure:
//   RAYON_NUM_THREADS=1 UV_THREADPOOL_SIZE=1 node bench_reference.mjs DIR/tokenizer.json [text]
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Tokenizer } = require('@anush008/tokenizers');
const tokPath = process.argv[2];
const licenses = ['GPL-1', 'GPL-2', 'GPL-3', 'LGPL-2', 'LGPL-2.1', 'LGPL-3', 'GFDL-1.2', 'GFDL-1.3', 'Apache-2.0',
  'Artistic', 'MPL-1.1', 'MPL-2.0', 'CC0-1.0', 'BSD'].map((n) => `/usr/share/common-licenses/${n}`);
const textPath = process.argv[3] ?? licenses.join(',');
const minSeconds = Number(process.env.MIN_SECONDS ?? 2);

const text = textPath.split(',').map((f) => fs.readFileSync(f, 'utf8') + '\n\n').join('');
const paras = text.split('\n\n').filter((p) => p.length > 0);
const bytes = paras.reduce((n, p) => n + Buffer.byteLength(p, 'utf8'), 0);
const mb = bytes / 1e6;

let t0 = performance.now();
const tok = Tokenizer.fromFile(tokPath);
const loadS = (performance.now() - t0) / 1000;

async function passSequential() {
  let tokens = 0;
  for (const p of paras) tokens += (await tok.encode(p, null, { addSpecialTokens: false })).getIds().length;
  return tokens;
}
async function passBatch() {
  const encs = await tok.encodeBatch(paras, { addSpecialTokens: false });
  return encs.reduce((n, e) => n + e.getIds().length, 0);
}
// Process CPU seconds (all threads: the binding encodes on a libuv worker).
const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
async function timed(fn) {
  let passes = 0;
  const start = performance.now();
  const c0 = cpuNow();
  do { await fn(); ++passes; } while ((performance.now() - start) / 1000 < minSeconds);
  return [(performance.now() - start) / 1000 / passes, (cpuNow() - c0) / passes];
}

t0 = performance.now();
const c0 = cpuNow();
const tokens = await passSequential();
const coldS = (performance.now() - t0) / 1000, coldCpu = cpuNow() - c0;
const [seqS, seqCpu] = await timed(passSequential);
const [batchS, batchCpu] = await timed(passBatch);
console.log(`text: ${textPath} (${paras.length} paragraphs, ${mb.toFixed(3)} MB, ${tokens} tokens)`);
console.log(`load tokenizer: ${loadS.toFixed(3)} s`);
const f = (s, c) => `${(mb / s).toFixed(2)} | ${(mb / c).toFixed(2)} MB/s`;
console.log('MB/s per wall second | per CPU second (node + binding, all threads)');
console.log(`reference encode, first pass (one call per paragraph): ${f(coldS, coldCpu)}`);
console.log(`reference encode, steady (one call per paragraph): ${f(seqS, seqCpu)}`);
console.log(`reference encodeBatch (all paragraphs in one call): ${f(batchS, batchCpu)}`);
