//! What the Node host owns around the toolkit: the line loop (`eval.mjs`), and the settings it
//! hands the toolkit reaching the policy's calls (the input bound, the allowed hosts). The rules
//! themselves are the toolkit's, tested in Rust.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stream } from '../eval.mjs';
import { loadPolicy, loadToolkit } from '../route-policy.mjs';
import { build } from './support.mjs';

let paths;
let toolkit;
let policy;
const opened = [];

/** A policy loaded with this run's toolkit, closed after the tests. */
async function load(path, options = {}) {
  const loaded = await loadPolicy(path, { toolkit, ...options });
  opened.push(loaded);
  return loaded;
}

before(async () => {
  paths = build();
  toolkit = await loadToolkit(paths.toolkit);
  policy = await load(paths.component);
});

after(() => opened.forEach((p) => p.close()));

/** The answer lines of `stream` on `chunks`, with the longest line `maxLineBytes`. */
async function answers(chunks, maxLineBytes) {
  const out = [];
  const count = await stream(policy, chunks, async (text) => out.push(text), maxLineBytes);
  const lines = out.join('').split('\n');
  assert.equal(lines.pop(), '', 'every answer ends its line');
  assert.equal(lines.length, count);
  return lines;
}

test('the line loop answers each line once, in order, however the input is cut', async () => {
  const long = `{"id":"long","op":"policy-info","input":{"pad":"${'p'.repeat(64)}"}}`;
  const text = `{"id":1,"op":"policy-info"}\r\n\n${long}\n{"id":4,"op":"nope"}\r\n{"id":5,"op":"policy-info"}`;
  const whole = await answers([Buffer.from(text)], 64);
  assert.equal(whole.length, 5);
  assert.match(whole[0], /^\{"id":1,"ok":\{"contract":/);
  assert.equal(whole[1], '{"err":{"code":"invalid-input","message":"line 2: the line is empty; each line holds one JSON request"}}');
  assert.equal(whole[2], '{"err":{"code":"invalid-input","message":"line 3 is longer than 64 bytes; it was skipped"}}');
  assert.match(whole[3], /^\{"err":\{"code":"invalid-input","message":"line 4: unknown op `nope`;.*"id":4\}$/);
  assert.match(whole[4], /^\{"id":5,"ok":/, 'a last line without its newline counts');
  // Byte by byte: lines, `\r\n` and the over-long line all cross chunk boundaries.
  const bytes = Buffer.from(text);
  assert.deepEqual(await answers(Array.from(bytes, (b) => Buffer.of(b)), 64), whole);
});

test('a line is read as bytes: one that is not UTF-8 is refused at its first bad byte', async () => {
  const [refused] = await answers([Buffer.from([0x7b, 0x22, 0xff, 0x0a])]);
  assert.equal(refused, '{"err":{"code":"invalid-input","message":"line 1: the line is not UTF-8 (invalid byte at offset 2)"}}');
});

test('the input bound reaches the policy: heavy requests refused, a body cut to fit', async () => {
  const hostile = await load(paths.fixture('hostile'), { maxInputBytes: 64 });
  const heavy = await hostile.call('resolve-endpoint', { model: 'm'.repeat(100), capability: 'chat' });
  assert.deepEqual(heavy.err, { code: 'invalid-input', message: 'the request carries 100 bytes; at most 64 go into the policy sandbox' });
  // The hostile policy echoes the body it got: its first 64 bytes would end inside the 32nd
  // two-byte character, so the cut comes before it.
  const verdict = await hostile.classifyError({ status: 429, body: `x${'é'.repeat(50)}` });
  assert.equal(verdict['user-message'], `the provider said: x${'é'.repeat(31)}`);
  // It asked to retry at once; the host's floor waits.
  assert.equal(verdict['retry-after-ms'], 100);
});

test('allowed hosts reach the guard, and a bad one is refused at load', async () => {
  const send = (p) => p.call('resolve-endpoint', {
    model: 'send k https://proxy.internal/v1/responses',
    capability: 'chat',
    credentials: [{ 'profile-id': 'k', provider: 'openai', kind: 'api-key', plan: 'api' }],
  });
  const allowed = await load(paths.fixture('hostile'), { allowHosts: [['openai', 'proxy.internal']] });
  assert.equal((await send(allowed)).ok?.['request-url'], 'https://proxy.internal/v1/responses');
  const other = await load(paths.fixture('hostile'), { allowHosts: [['openrouter', 'proxy.internal']] });
  assert.equal((await send(other)).err?.code, 'guard-refused', 'a host is allowed for one provider only');
  await assert.rejects(
    load(paths.fixture('hostile'), { allowHosts: [['openai', 'http://evil.example']] }),
    /allowed host `http:\/\/evil\.example` for openai: .*plain http to a non-loopback host/,
  );
  await assert.rejects(load(paths.fixture('hostile'), { allowHosts: ['proxy.internal'] }), /\[provider, host\] pairs, not "proxy.internal"/);
});
