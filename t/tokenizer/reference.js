// Writes tokenizer test cases with reference counts from OpenAI's tiktoken
// (the npm package `tiktoken`: its Rust core compiled to WebAssembly).
//   node t/tokenizer/reference.js OUT [LOGHUB_DIR]
// OUT: for each case, u32 length, the bytes, u32 o200k_base count, u32
// cl100k_base count (little-endian). Bytes that are not UTF-8 are read as
// TextDecoder reads them (U+FFFD), which is what headroom promises.
'use strict';
const fs = require('fs');
const path = require('path');
const { get_encoding } = require('tiktoken');

const [out, loghub] = process.argv.slice(2);
const encodings = ['o200k_base', 'cl100k_base'].map((e) => get_encoding(e));
// ignoreBOM keeps a leading U+FEFF as text, as tiktoken sees it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const cases = [];
const add = (x) => cases.push(Buffer.isBuffer(x) ? x : Buffer.from(x, 'utf8'));

// Deterministic pseudo-random numbers (mulberry32).
let seed = 0x5eed1e55;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (n) => Math.floor(rand() * n);

// Real logs: whole files and every line.
let logFiles = 0;
if (loghub && fs.existsSync(loghub)) {
  for (const f of fs.readdirSync(loghub).sort()) {
    if (!/\.(log|csv)$/.test(f)) continue;
    const data = fs.readFileSync(path.join(loghub, f));
    add(data);
    logFiles++;
    if (f.endsWith('.log')) for (const line of data.toString('latin1').split('\n')) add(Buffer.from(line, 'latin1'));
  }
}

// JSON: API-like records, compact and pretty, escaped as in a request.
for (let i = 0; i < 200; i++) {
  const recs = [];
  for (let j = 0; j < 1 + int(30); j++) {
    recs.push({ id: int(1e9), uuid: [8, 4, 4, 4, 12].map((n) => [...Array(n)].map(() => pick('0123456789abcdef')).join('')).join('-'),
      name: pick(['alpha', 'Beta', 'GAMMA', 'δέλτα', '名前', 'naïve café']), price: +(rand() * 1000).toFixed(int(6)),
      ok: rand() < 0.5, tags: [...Array(int(4))].map(() => pick(['x', 'y', 'zz', '🙂', ''])), nested: { a: null, b: [1, 2, { c: 'd' }] } });
  }
  add(JSON.stringify(recs));
  add(JSON.stringify(recs, null, 1 + int(4)));
  add(JSON.stringify(JSON.stringify(recs, null, 2)));
}

// Code: this project's sources and the package's JavaScript.
const root = path.resolve(__dirname, '../..');
const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
  d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]);
for (const f of walk(path.join(root, 'src')).concat(walk(path.join(root, 't', 'lib')))) add(fs.readFileSync(f));
const pkg = path.dirname(require.resolve('tiktoken'));
for (const f of ['tiktoken_bg.cjs', 'tiktoken.d.ts', 'README.md']) add(fs.readFileSync(path.join(pkg, f)));

// Adversarial text.
const pieces = [
  '', ' ', '  ', '\n', '\r\n', '\t', '\n\n\n', ' \n ', '\u00a0', '\u3000', '\u2028', '\u2029', '\u0085', '\ufeff', '\u200b', '\u200d',
  "don't", "DON'T", "we'LL", "I'M", "they'Re", "'s", "ſ'S", 'O\'Neil\'s', 'ǅungla', 'ǈ', 'Σίσυφος', 'İstanbul', 'ß', 'ﬁ',
  '🙂', '👩‍👩‍👧‍👦', '👍🏽', '🇫🇷🇯🇵', '🏳️‍🌈', '❤️', '#️⃣', '中文字符', '日本語のテキスト', '한국어', 'ไทย', 'עברית', 'العربية', 'हिन्दी', 'ᚠᛇᚻ',
  'Z̴̢̛a̷l̶g̸o̵', 'e\u0301', 'a\u0308\u0301', '\u0301', '123', '1234567', '3.14159', '1e-10', '0x7fffffff', '١٢٣', '१२३', 'Ⅻ', '½',
  '<|endoftext|>', '<|endofprompt|>', '<|fim_prefix|>', '\\u0000', '\u0000', '\u0001', '\u007f', '\ud83d\ude00',
  // Unicode 15, 15.1 and 16 additions: CJK Ext. H and I, Kawi, Nag Mundari, Garay.
  // U+180E left White_Space in Unicode 6.3; older tables still have it.
  'a\u180Eb', '  \u180E  x', '\u180E\n',
  '\u{31350}\u{31351}', '\u{2EBF0}', '\u{11F04}\u{11F05}', '\u{1E4D0}\u{1E4D1}', '\u{10D50}\u{10D51}',
  'https://example.com/a/b?c=d&e=f#g', 'C:\\Windows\\System32', '/usr/lib/x86_64-linux-gnu', '...', '?!?!', '—–-', '""\'\'``',
];
for (const p of pieces) add(p);
for (let i = 0; i < 3000; i++) {
  let s = '';
  for (let j = 0, n = 1 + int(12); j < n; j++) s += pick(pieces) + (rand() < 0.3 ? pick([' ', '\n', '', '  ', '\t']) : '');
  add(s);
}
for (const n of [1, 2, 3, 4, 5, 50, 999, 5000]) {
  add('7'.repeat(n)); add(' '.repeat(n)); add('\n'.repeat(n)); add(' \n'.repeat(n)); add('a'.repeat(n)); add('aB'.repeat(n));
  add('\t '.repeat(n) + 'x'); add('🙂'.repeat(n)); add('中'.repeat(n)); add(' ' .repeat(n) + '!'); add('.'.repeat(n));
}
// Random code points from the whole range (surrogates excluded).
for (let i = 0; i < 2000; i++) {
  let s = '';
  for (let j = 0, n = 1 + int(40); j < n; j++) {
    let cp = rand() < 0.6 ? int(0x3000) : int(0x110000);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x20;
    s += String.fromCodePoint(cp);
  }
  add(s);
}
// Long runs without separators, base64 blobs.
add(Buffer.from([...Array(30000)].map(() => int(256))).toString('base64'));
add('x'.repeat(100000));
add(Array.from({ length: 20000 }, () => pick('abcdefghijklmnopqrstuvwxyz')).join(''));
// Invalid UTF-8: stray continuations, overlongs, surrogates, truncations.
const bad = [[0x80], [0xbf], [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x80, 0x80, 0xaf],
  [0xf4, 0x90, 0x80, 0x80], [0xf5], [0xff], [0xfe], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3]];
for (const b of bad) {
  add(Buffer.from(b));
  add(Buffer.concat([Buffer.from('abc '), Buffer.from(b), Buffer.from(' déf')]));
}
for (let i = 0; i < 1000; i++) add(Buffer.from([...Array(1 + int(64))].map(() => int(256))));

const chunks = [];
for (const c of cases) {
  const text = decoder.decode(c);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(c.length);
  const counts = Buffer.alloc(8);
  encodings.forEach((e, i) => counts.writeUInt32LE(e.encode_ordinary(text).length, 4 * i));
  chunks.push(head, c, counts);
}
fs.writeFileSync(out, Buffer.concat(chunks));
const bytes = cases.reduce((a, c) => a + c.length, 0);
console.log(`${cases.length} cases, ${bytes} bytes, ${logFiles} loghub files`);
encodings.forEach((e) => e.free());
