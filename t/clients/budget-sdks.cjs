// The official SDKs against a spent budget: each call through the gateway
// until one fails; prints what each SDK raised, as JSON.
//   NODE_PATH=build/npm-test/node_modules node t/clients/budget-sdks.cjs BASE
const openaiModule = require('openai');
const anthropicModule = require('@anthropic-ai/sdk');

const OpenAI = openaiModule.OpenAI || openaiModule.default || openaiModule;
const Anthropic = anthropicModule.Anthropic || anthropicModule.default || anthropicModule;
const base = process.argv[2];

async function until429(call, RateLimitError) {
  const seen = [];
  for (let i = 0; i < 5; i++) {
    try {
      await call();
      seen.push('ok');
    } catch (e) {
      seen.push({
        rate_limit_error: e instanceof RateLimitError,
        name: e.constructor.name,
        status: e.status,
        retry_after: e.headers && (typeof e.headers.get === 'function' ? e.headers.get('retry-after') : e.headers['retry-after']),
      });
      break;
    }
  }
  return seen;
}

(async () => {
  const openai = new OpenAI({
    apiKey: 'sk-test', baseURL: base + '/v1', maxRetries: 0,
    defaultHeaders: { 'X-Team': 'sdk-openai' },
  });
  const anthropic = new Anthropic({
    apiKey: 'sk-ant-test', baseURL: base, maxRetries: 0,
    defaultHeaders: { 'X-Team': 'sdk-anthropic' },
  });
  const out = {
    openai: await until429(() => openai.chat.completions.create({
      model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }],
    }), OpenAI.RateLimitError || openaiModule.RateLimitError),
    anthropic: await until429(() => anthropic.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }],
    }), Anthropic.RateLimitError || anthropicModule.RateLimitError),
  };
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.log(JSON.stringify({ error: String(e && e.stack || e) }));
  process.exit(1);
});
