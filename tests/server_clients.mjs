// server_clients.mjs - the official npm clients against a running `pippa serve`, used as
// their READMEs show. Run by tests/test_server.py from a temp dir where ollama@0.6.4 and
// openai@6.49.0 were installed: node clients.mjs http://127.0.0.1:PORT
// Prints "ok NAME" / "FAIL NAME: why" lines; exits 1 on any failure.
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const base = process.argv[2];
let failed = 0;
function check(name, cond, why) {
  if (cond) console.log(`ok ${name}`);
  else { failed++; console.log(`FAIL ${name}: ${JSON.stringify(why)}`); }
}
const model = 'rnd';
const options = { num_predict: 6, seed: 42, temperature: 1.5 };

const ollama = new Ollama({ host: base });
const list = await ollama.list();
check('ollama list', list.models.some((m) => m.name === 'rnd:latest'), list);
const show = await ollama.show({ model });
check('ollama show', show.model_info['general.architecture'] === 'gemma3', show.details);
const gen = await ollama.generate({ model, prompt: 'Why is the sky blue?', options });
check('ollama generate', gen.done && gen.eval_count === 6 && gen.response.length > 0, gen);
const chat = await ollama.chat({ model, messages: [{ role: 'user', content: 'Why is the sky blue?' }], options });
check('ollama chat', chat.message.role === 'assistant' && chat.eval_count === 6, chat);
let streamed = '';
let last = null;
const parts = await ollama.chat({ model, messages: [{ role: 'user', content: 'Why is the sky blue?' }], stream: true, options });
for await (const part of parts) { streamed += part.message.content; last = part; }
check('ollama chat stream', last.done && streamed === chat.message.content, { streamed, want: chat.message.content });
const ps = await ollama.ps();
check('ollama ps', ps.models.some((m) => m.name === 'rnd:latest'), ps);
try {
  await ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] });
  check('ollama error', false, 'no error');
} catch (e) {
  check('ollama error', e.status_code === 404 && e.error === "model 'nope' not found", { status: e.status_code, error: e.error });
}

const client = new OpenAI({ apiKey: 'ollama', baseURL: `${base}/v1` });
const models = await client.models.list();
check('openai models', models.data.some((m) => m.id === 'rnd:latest'), models.data);
const completion = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'Say this is a test' }], max_tokens: 6, seed: 42,
});
check('openai chat', completion.choices[0].message.content.length > 0 && completion.usage.completion_tokens === 6, completion);
const stream = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'Say this is a test' }], max_tokens: 6, seed: 42, stream: true,
  stream_options: { include_usage: true },
});
let text = '';
let usage = null;
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content || '';
  if (chunk.usage) usage = chunk.usage;
}
check('openai chat stream', text === completion.choices[0].message.content && usage && usage.completion_tokens === 6,
  { text, want: completion.choices[0].message.content, usage });
try {
  await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] });
  check('openai error', false, 'no error');
} catch (e) {
  check('openai error', e.status === 404 && e.message.includes("model 'nope' not found"), { status: e.status, m: e.message });
}
process.exit(failed ? 1 : 0);
