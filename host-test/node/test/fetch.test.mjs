//! `createFetch` under the official `openai` SDK, against the fake upstream that fails on
//! purpose (`route-policy fake-upstream`, at SCALE). The judge is the fake's own request log:
//! which models were asked, in which order, how far apart, with what in the body.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { createFetch, loadPolicy, loadToolkit } from '../route-policy.mjs';
import { build } from './support.mjs';

/** Every wait and timeout runs at this fraction of its length, in the fake and the executor. */
const SCALE = 0.02;
/** The fake's key: it logs a bearer starting `sk-` as `api-key`. */
const KEY = 'sk-fake-test-key-0000';
/** How long the fake may take to start, or to stop once its stdin closes. */
const PROCESS_MS = 10_000;

let fake;
let origin;
let policy;
/** The fake's healthy answer, as it sends it. */
let ANSWER;

before(async () => {
  const paths = build();
  fake = spawn(paths.cli, ['fake-upstream', '--scale', String(SCALE)], { stdio: ['pipe', 'pipe', 'inherit'] });
  origin = await within(PROCESS_MS, 'the fake to print its origin', new Promise((resolve, reject) => {
    fake.once('error', reject);
    fake.once('exit', (code) => reject(new Error(`the fake exited with ${code} before printing its origin`)));
    createInterface({ input: fake.stdout }).once('line', resolve);
  }));
  assert.match(origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  // This file judges the loop's conduct, not the sandbox's deadline (sandbox.test.mjs does):
  // a step that a busy machine delays past the default 50 ms is no failure of the loop.
  policy = await loadPolicy(paths.component, { toolkit: await loadToolkit(paths.toolkit), deadlineMs: 1000 });
  const healthy = await fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'reference/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
  });
  ANSWER = (await healthy.json()).choices[0].message.content;
});

after(async () => {
  policy?.close();
  if (!fake || fake.exitCode !== null) return;
  // The fake serves until its stdin closes.
  const exited = new Promise((resolve) => fake.once('exit', resolve));
  fake.stdin.end();
  await within(PROCESS_MS, 'the fake to stop', exited).catch((error) => {
    fake.kill();
    throw error;
  });
});

/** `promise`, or an error naming `what` after `ms`. */
function within(ms, what, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The chain over the fake's OpenAI-compatible server (`fake/FAULT/MODEL` refs). */
function chain(primary, fallbacks = [], api = null) {
  return {
    primary,
    fallbacks,
    credentials: [{ 'profile-id': 'fake-key', provider: 'fake', kind: 'api-key', plan: 'api' }],
    providers: [{ id: 'fake', 'base-url': `${origin}/v1`, api }],
  };
}

/**
 * An SDK client whose fetch is a new `createFetch` (fresh route health) over `chain`, and the
 * receipts its calls leave.
 */
function client(routing, options = {}) {
  const receipts = [];
  const routed = createFetch(policy, { chain: routing, secrets: { 'fake-key': KEY }, scale: SCALE, onReceipt: (r) => receipts.push(r), ...options });
  const sdk = new OpenAI({ apiKey: 'unused', baseURL: 'http://route-policy.invalid/v1', fetch: routed, maxRetries: 0, timeout: 20_000 });
  return { sdk, routed, receipts };
}

/** What the fake saw for `model` (as sent: `FAULT/MODEL`), in order. */
async function seen(model) {
  const log = await (await fetch(`${origin}/__fake/log`)).json();
  return model === undefined ? log : log.filter((l) => l.model === model);
}

const ask = { messages: [{ role: 'user', content: 'Count to sixty.' }] };

test('a 503 primary fails over to the fallback, and the answer says whose it is', { timeout: 20_000 }, async () => {
  const { sdk, receipts } = client(chain('fake/unavailable/gpt-4o', ['fake/ok/gpt-4.1']));
  const { data, response } = await sdk.chat.completions.create({ model: 'gpt-4o', ...ask }).withResponse();
  assert.equal(data.choices[0].message.content, ANSWER);
  assert.equal(response.headers.get('x-route-policy-model'), 'fake/ok/gpt-4.1');
  assert.equal(response.headers.get('x-route-policy-fallback'), 'true');
  // The primary was tried (a bounded number of times), then the fallback, which answered.
  const primary = await seen('unavailable/gpt-4o');
  const [fallback] = await seen('ok/gpt-4.1');
  assert.equal(primary.length, 3);
  assert.ok(primary.every((l) => l.answer === '503' && l.at < fallback.at), JSON.stringify(primary));
  assert.equal(fallback.answer, '200');
  const [receipt] = receipts;
  assert.equal(receipt.requested, 'fake/unavailable/gpt-4o');
  assert.equal(receipt.effective, 'fake/ok/gpt-4.1');
  assert.deepEqual(receipt.attempts.map((a) => Object.keys(a.outcome)[0]), ['http-error', 'http-error', 'http-error', 'success']);
  assert.equal(receipt.attempts[0].outcome['http-error'].status, 503);
  assert.deepEqual(receipt.usage, { 'input-tokens': 17, 'output-tokens': 60 });
  assert.match(receipt.notice, /fake\/ok\/gpt-4\.1 answered instead of fake\/unavailable\/gpt-4o/);
});

test('a 429 with Retry-After waits that long, then retries the same model', { timeout: 20_000 }, async () => {
  const { sdk } = client(chain('fake/retry-after-once/gpt-4o', ['fake/ok/gpt-4.1-mini']));
  const { data, response } = await sdk.chat.completions.create({ model: 'gpt-4o', ...ask }).withResponse();
  assert.equal(data.choices[0].message.content, ANSWER);
  assert.equal(response.headers.get('x-route-policy-model'), 'fake/retry-after-once/gpt-4o');
  assert.equal(response.headers.get('x-route-policy-fallback'), 'false');
  const tries = await seen('retry-after-once/gpt-4o');
  assert.deepEqual(tries.map((l) => l.answer), ['429 retry-after', '200']);
  const gap = tries[1].at - tries[0].at;
  assert.ok(gap >= 2000 * SCALE, `retried after ${gap} ms, before Retry-After's 2 s × ${SCALE}`);
  assert.deepEqual(await seen('ok/gpt-4.1-mini'), [], 'no fallback needed');
});

test('a context overflow is not retried, skips a smaller window, and surfaces as a 400', { timeout: 20_000 }, async () => {
  const { sdk, receipts } = client(chain('fake/context/gpt-4o', ['fake/ok/gpt-3.5-turbo']));
  const error = await sdk.chat.completions.create({ model: 'gpt-4o', ...ask }).then(
    () => assert.fail('a context overflow was served'),
    (e) => e,
  );
  assert.ok(error instanceof OpenAI.BadRequestError, `${error}`);
  assert.equal(error.status, 400);
  assert.equal(error.type, 'route_policy_error');
  assert.equal(error.code, 'context-overflow');
  assert.match(error.message, /context/i);
  assert.equal((await seen('context/gpt-4o')).length, 1, 'never resent');
  assert.deepEqual(await seen('ok/gpt-3.5-turbo'), [], 'a smaller window is not tried');
  assert.equal(receipts[0].effective, null);
  assert.equal(receipts[0].failure, error.error.message);
});

test('a streamed call whose primary is cut is delivered whole by the fallback, with its usage', { timeout: 20_000 }, async () => {
  const { sdk, receipts } = client(chain('fake/cut/gpt-4o', ['fake/ok/gpt-4.1-nano']));
  const { data: stream, response } = await sdk.chat.completions.create({ model: 'gpt-4o', ...ask, stream: true }).withResponse();
  assert.equal(response.headers.get('x-route-policy-model'), 'fake/ok/gpt-4.1-nano');
  let text = '';
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    usage = chunk.usage ?? usage;
  }
  assert.equal(text, ANSWER, 'the whole answer, from the fallback, and nothing of the cut one');
  assert.deepEqual(usage, { prompt_tokens: 17, completion_tokens: 60 });
  const [cut] = await seen('cut/gpt-4o');
  const [fallback] = await seen('ok/gpt-4.1-nano');
  assert.equal(cut.answer, 'cut');
  assert.ok(cut.stream && fallback.stream);
  assert.ok(cut['include-usage'] && fallback['include-usage'], 'usage is asked for in every streamed attempt');
  assert.ok(!fallback.prefill, 'the fallback gets the request whole, not the cut answer as a prefill');
  assert.deepEqual(receipts[0].attempts[0].outcome, { 'stream-fault': { kind: 'truncated', events: 40, detail: 'the stream ended after 40 events without finishing' } });
});

test('a Responses stream with a malformed event is served whole, the event skipped, through the SDK', { timeout: 20_000 }, async () => {
  const { sdk, receipts } = client(chain('fake/malformed/gpt-5', ['fake/ok/gpt-5-mini'], 'openai-responses'));
  const stream = await sdk.responses.create({ model: 'gpt-5', input: 'Count to sixty.', stream: true });
  let text = '';
  let completed = null;
  for await (const event of stream) {
    if (event.type === 'response.output_text.delta') text += event.delta;
    if (event.type === 'response.completed') completed = event.response;
  }
  assert.equal(text, ANSWER);
  assert.deepEqual(completed.usage, { input_tokens: 17, output_tokens: 60 });
  // One attempt, no fallback: the broken event was skipped, as clients skip it, and counted.
  const log = await seen();
  assert.deepEqual(
    log.filter((l) => l.model.endsWith('/gpt-5') || l.model.endsWith('/gpt-5-mini')).map((l) => [l.path, l.model, l.answer]),
    [['/v1/responses', 'malformed/gpt-5', 'malformed']],
  );
  assert.equal(receipts[0].attempts[0]['skipped-events'], 1);
});

test('a silent route is left at its first-byte timeout, not retried', { timeout: 20_000 }, async () => {
  const { sdk, receipts } = client(chain('fake/silent/gpt-4o', ['fake/ok/o3']));
  const completion = await sdk.chat.completions.create({ model: 'gpt-4o', ...ask });
  assert.equal(completion.choices[0].message.content, ANSWER);
  const silent = await seen('silent/gpt-4o');
  const [fallback] = await seen('ok/o3');
  assert.equal(silent.length, 1, 'a silent route is not retried');
  const waited = fallback.at - silent[0].at;
  assert.ok(waited >= 30_000 * SCALE && waited < 60_000 * SCALE, `failed over after ${waited} ms`);
  assert.deepEqual(receipts[0].attempts[0].outcome, { timeout: 'first-byte' });
});

test("a request's own fallbacks replace the configured ones and are never forwarded", { timeout: 20_000 }, async () => {
  const { sdk } = client(chain('fake/unavailable/gpt-4.5', ['fake/ok/never-configured']));
  // The SDK passes a field it does not know straight into the body.
  const { data, response } = await sdk.chat.completions.create({ model: 'gpt-4.5', ...ask, fallbacks: ['fake/ok/gpt-4o-mini'] }).withResponse();
  assert.equal(data.choices[0].message.content, ANSWER);
  assert.equal(response.headers.get('x-route-policy-model'), 'fake/ok/gpt-4o-mini');
  assert.deepEqual(await seen('ok/never-configured'), [], 'the configured fallbacks were replaced');
  // An empty list is a chain of the primary alone: it fails, as the primary does.
  const alone = client(chain('fake/unavailable/gpt-4.5-preview', ['fake/ok/never-configured']));
  const error = await alone.sdk.chat.completions.create({ model: 'gpt-4.5', ...ask, fallbacks: [] }).catch((e) => e);
  assert.ok(error instanceof OpenAI.APIError && error.status === 502, `${error}`);
  assert.equal(error.code, 'overloaded');
  assert.equal((await seen('unavailable/gpt-4.5-preview')).length, 3);
  assert.deepEqual(await seen('ok/never-configured'), []);
  const log = await seen();
  assert.ok(!log.some((l) => l.answer === '400 unrecognized'), 'no `fallbacks` field reached the upstream');
});

test('the secret reaches the upstream and never a receipt or an error', { timeout: 20_000 }, async () => {
  const { sdk, receipts } = client(chain('fake/unavailable/gpt-4-turbo', ['fake/unavailable/gpt-4-0613']));
  const error = await sdk.chat.completions.create({ model: 'gpt-4-turbo', ...ask }).catch((e) => e);
  assert.ok(error instanceof OpenAI.APIError && error.status === 502, `${error}`);
  assert.equal(error.error.type, 'route_policy_error');
  assert.match(error.message, /No candidate could answer/);
  const sent = [...(await seen('unavailable/gpt-4-turbo')), ...(await seen('unavailable/gpt-4-0613'))];
  assert.equal(sent.length, 6);
  assert.ok(sent.every((l) => l.credential === 'api-key'), 'each attempt carried the key');
  assert.equal(receipts[0].attempts.length, 6);
  assert.ok(receipts[0].attempts.every((a) => a.credential === 'fake-key'), 'receipts name the profile');
  // A credential with no secret is the host's error; it names the profile, never a secret.
  const bare = client(chain('fake/ok/gpt-4o'), { secrets: { other: KEY } });
  const missing = await bare.sdk.chat.completions.create({ model: 'gpt-4o', ...ask }).catch((e) => e);
  assert.ok(missing instanceof OpenAI.InternalServerError, `${missing}`);
  assert.equal(missing.code, 'missing-credential');
  assert.match(missing.message, /no secret for credential `fake-key`/);
  for (const text of [error.message, JSON.stringify(error.error), missing.message, JSON.stringify(receipts), JSON.stringify(bare.receipts)]) {
    assert.ok(!text.includes(KEY), `the secret leaked: ${text}`);
  }
});

test('requests it does not serve are refused in words, and nothing is sent', { timeout: 20_000 }, async () => {
  const { sdk, routed, receipts } = client(chain('fake/ok/never-sent'));
  const post = (path, body) => routed(`http://route-policy.invalid/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const notJson = await post('/chat/completions', 'Count to sixty.');
  assert.equal(notJson.status, 400);
  assert.match((await notJson.json()).error.message, /^the request body is not JSON/);
  const badFallbacks = await post('/chat/completions', JSON.stringify({ ...ask, fallbacks: 'fake/ok/gpt-4o' }));
  assert.equal((await badFallbacks.json()).error.code, 'invalid_fallbacks');
  const chatless = await post('/chat/completions', JSON.stringify({ input: 'hi' }));
  assert.equal((await chatless.json()).error.code, 'missing_messages');
  const unknown = await sdk.models.list().catch((e) => e);
  assert.ok(unknown instanceof OpenAI.NotFoundError, `${unknown}`);
  assert.match(unknown.message, /serves model calls only: POST …\/chat\/completions or …\/responses, not GET \/v1\/models/);
  const wrongMethod = await routed('http://route-policy.invalid/v1/chat/completions');
  assert.equal(wrongMethod.status, 405);
  assert.deepEqual(await seen('ok/never-sent'), []);
  assert.deepEqual(receipts, [], 'no call, no receipt');
});

test('a caller that gives up drops the attempt under way', { timeout: 20_000 }, async () => {
  const { sdk, receipts } = client(chain('fake/silent/gpt-4o-2024', ['fake/ok/gpt-4o-2024']));
  const error = await sdk.chat.completions.create({ model: 'gpt-4o', ...ask }, { signal: AbortSignal.timeout(300) }).catch((e) => e);
  assert.ok(error instanceof OpenAI.APIUserAbortError, `${error}`);
  // The silent attempt was dropped at once (its first-byte timeout is 600 ms here), and the
  // fallback never asked.
  assert.equal((await seen('silent/gpt-4o-2024')).length, 1);
  assert.deepEqual(await seen('ok/gpt-4o-2024'), []);
  assert.equal(receipts.length, 1);
  assert.match(receipts[0].failure, /caller went away/);
});

test('a reset before any byte is retried, and a stalled stream is left at its idle timeout', { timeout: 20_000 }, async () => {
  const reset = client(chain('fake/reset-once/gpt-4o', ['fake/ok/gpt-4o-mini-2024']));
  assert.equal((await reset.sdk.chat.completions.create({ model: 'gpt-4o', ...ask })).choices[0].message.content, ANSWER);
  assert.deepEqual((await seen('reset-once/gpt-4o')).map((l) => l.answer), ['reset', '200']);
  assert.equal(reset.receipts[0].attempts[0].outcome.network?.kind, 'reset', JSON.stringify(reset.receipts[0].attempts[0]));

  const stall = client(chain('fake/stall/gpt-4o', ['fake/ok/gpt-4-turbo-2024']));
  const stream = await stall.sdk.chat.completions.create({ model: 'gpt-4o', ...ask, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, ANSWER, 'the ten words before the stall are not delivered');
  const [stalled] = await seen('stall/gpt-4o');
  const [fallback] = await seen('ok/gpt-4-turbo-2024');
  assert.ok(fallback.at - stalled.at >= 30_000 * SCALE, 'the idle timeout (30 s) fired first');
  assert.deepEqual(stall.receipts[0].attempts[0].outcome, { timeout: 'idle' });
});

test('an upstream that echoes the secret: it stays out of the receipt and the error', { timeout: 20_000 }, async () => {
  // A secret that looks like nothing the redactor knows, echoed by an upstream stand-in.
  const opaque = 'opaque-credential-7f3a9c';
  const echo = async (url, init) => {
    const message = `Incorrect API key provided: ${init.headers.authorization}`;
    return new Response(JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } }), { status: 401, headers: { 'content-type': 'application/json' } });
  };
  const { sdk, receipts } = client(chain('fake/ok/gpt-4o'), { secrets: { 'fake-key': opaque }, fetch: echo });
  const error = await sdk.chat.completions.create({ model: 'gpt-4o', ...ask }).catch((e) => e);
  assert.ok(error instanceof OpenAI.APIError, `${error}`);
  assert.equal(receipts[0].attempts[0].outcome['http-error'].status, 401);
  assert.match(receipts[0].attempts[0].outcome['http-error'].body, /Incorrect API key provided: Bearer \[redacted\]/);
  for (const text of [error.message, JSON.stringify(error.error), JSON.stringify(receipts)]) {
    assert.ok(!text.includes(opaque), `the secret leaked: ${text}`);
  }
});

test("a provider echoing a client's field never teaches a rejection to later calls", { timeout: 20_000 }, async () => {
  // api.openai.com stands on the fake, which echoes an unknown field as OpenAI does.
  const onFake = (url, init) => fetch(String(url).replace('https://api.openai.com', origin), init);
  const platform = {
    primary: 'openai/gpt-5.5',
    fallbacks: [],
    credentials: [{ 'profile-id': 'key', provider: 'openai', kind: 'api-key', plan: 'api' }],
    providers: [],
  };
  const { sdk, receipts } = client(platform, { secrets: { key: KEY }, fetch: onFake });
  const sentence = "The 'gpt-5.5' model is not supported when using Codex with a ChatGPT account.";
  const hostile = await sdk.responses.create({ model: 'gpt-5.5', input: 'hi', [sentence]: 1 }).catch((e) => e);
  assert.ok(hostile instanceof OpenAI.APIError, `${hostile}`);
  assert.deepEqual(receipts[0].learned, []);
  assert.ok(receipts[0].rules.includes('host.floor.unlearnable'), JSON.stringify(receipts[0].rules));
  const clean = await sdk.responses.create({ model: 'gpt-5.5', input: 'Count to sixty.' });
  assert.equal(clean.output_text, ANSWER);
  assert.deepEqual((await seen('gpt-5.5')).map((l) => l.answer), ['400 unrecognized', '200']);
});
