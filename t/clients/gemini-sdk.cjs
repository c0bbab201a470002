// Google's own Gemini SDK (@google/genai), pointed at BASE_URL: a function-
// calling turn sent with generateContent, then with generateContentStream.
// Prints what came back as one JSON line. The log and the item list are
// the tool outputs the gateway should crush.
'use strict';
const { GoogleGenAI } = require('@google/genai');

const log = [];
for (let i = 0; i < 400; i++) {
  const t = `2026-11-30T10:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`;
  log.push(i === 217 ? `${t} ERROR worker-3 job 42 failed: exit code 137 (out of memory)`
                     : `${t} INFO  worker-${i % 4} step ${i} done in ${20 + (i * 7) % 50} ms`);
}
const items = [];
for (let i = 0; i < 120; i++) items.push({ id: 1000 + i, name: `item-${i}`, ok: i !== 64, score: i % 9 });

const contents = [
  { role: 'user', parts: [{ text: 'Why did job 42 fail? List the items too.' }] },
  { role: 'model', parts: [{ functionCall: { name: 'read_logs', args: { job: '42' } } },
                           { functionCall: { name: 'list_items', args: {} } }] },
  { role: 'user', parts: [{ functionResponse: { name: 'read_logs', response: { result: log.join('\n') } } },
                          { functionResponse: { name: 'list_items', response: { output: items } } }] },
];
const config = {
  systemInstruction: 'You are a CI assistant.',
  tools: [{ functionDeclarations: [
    { name: 'read_logs', description: 'Read a job log',
      parameters: { type: 'OBJECT', properties: { job: { type: 'STRING' } }, required: ['job'] } },
    { name: 'list_items', description: 'List the items', parameters: { type: 'OBJECT', properties: {} } },
  ] }],
};

(async () => {
  const ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: process.env.BASE_URL } });
  const one = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents, config });
  let streamed = '';
  for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents, config })) {
    streamed += chunk.text;
  }
  process.stdout.write(JSON.stringify({ text: one.text, streamed }) + '\n');
})().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
