//! Seed 004 on OpenClaw's own provider adapters (`@openclaw/ai` 2026.9.6), where the plugin API
//! does not reach: an image request over the Codex sign-in, with the legacy base
//! https://chatgpt.com/backend-api, through the Responses adapter that builds `${baseUrl}/responses`
//! as the image path did. Both runs install a `buildModelFetch` hook that carries the bytes for
//! chatgpt.com to the fake (a stand-in for DNS); only the second asks the policy first.

import assert from 'node:assert/strict';
import { configureAiTransportHost, createLlmRuntime } from '@openclaw/ai';
import { registerBuiltInApiProviders } from '@openclaw/ai/providers';
import { after, before, test } from 'node:test';
import { policyFetch } from '../plugin/lib/fetch.mjs';
import { describe } from './support/assert.mjs';
import { requestsSince, startFake } from './support/fake.mjs';
import { SIGN_IN } from './support/openclaw.mjs';
import { GUEST, REPO } from './support/paths.mjs';

let fake;
let policy;
before(async () => {
  fake = await startFake();
  const host = await import(`${REPO}host-test/node/route-policy.mjs`);
  policy = await host.loadPolicy(`${GUEST}/route_policy_guest.wasm`, { toolkit: await host.loadToolkit(`${GUEST}/route_policy_toolkit.wasm`) });
});
after(async () => {
  policy?.close();
  await fake?.stop();
});

/** The legacy Codex base of the seed, on the adapter that builds `${baseUrl}/responses`. */
const MODEL = {
  id: 'gpt-5.5',
  name: 'gpt-5.5',
  api: 'openai-responses',
  provider: 'openai-codex',
  baseUrl: 'https://chatgpt.com/backend-api',
  reasoning: false,
  input: ['text'],
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
  contextWindow: 272000,
  maxTokens: 8192,
};

/** One image request: a Responses call offering the image_generation tool, as the image path makes. */
async function imageRequest() {
  const runtime = createLlmRuntime();
  registerBuiltInApiProviders(runtime.registry);
  const context = { messages: [{ role: 'user', content: 'A red square on white background', timestamp: Date.now() }] };
  const onPayload = (body) => ({ ...body, tools: [{ type: 'image_generation', model: 'gpt-image-2' }], tool_choice: { type: 'image_generation' } });
  return runtime.complete(MODEL, context, { apiKey: SIGN_IN, onPayload, transport: 'sse', maxRetries: 0 });
}

const toFake = (url) => url.replace('https://chatgpt.com', fake.origin);

test('without the policy: the adapter posts to /backend-api/responses and gets the HTML 403', async () => {
  configureAiTransportHost({ buildModelFetch: () => (url, init) => fetch(toFake(String(url)), init) });
  const earlier = await fake.log();
  const message = await imageRequest();
  const requests = await requestsSince(fake, earlier);
  assert.deepEqual(requests.map((r) => [r.path, r.credential, r.answer]), [['/backend-api/responses', 'sign-in', '403 html']], describe(requests));
  assert.equal(message.stopReason, 'error');
  assert.match(message.errorMessage ?? '', /403/);
});

test('with the policy: the same request goes to /backend-api/codex/responses', async () => {
  const rewrites = [];
  configureAiTransportHost({
    buildModelFetch: policyFetch({
      policy: async () => policy,
      routes: [['https://chatgpt.com', fake.origin]],
      onRoute: (from, to) => rewrites.push([from, to]),
    }),
  });
  const earlier = await fake.log();
  const message = await imageRequest();
  const requests = await requestsSince(fake, earlier);
  assert.deepEqual(requests.map((r) => [r.path, r.credential, r.answer]), [['/backend-api/codex/responses', 'sign-in', '200']], describe(requests));
  assert.notEqual(message.stopReason, 'error', message.errorMessage);
  assert.deepEqual(rewrites, [['https://chatgpt.com/backend-api/responses', 'https://chatgpt.com/backend-api/codex/responses']]);
});

test('with the policy: a sign-in aimed at the platform API is refused before it is sent', async () => {
  configureAiTransportHost({ buildModelFetch: policyFetch({ policy: async () => policy, routes: [['https://api.openai.com', fake.origin]] }) });
  const earlier = await fake.log();
  const runtime = createLlmRuntime();
  registerBuiltInApiProviders(runtime.registry);
  const context = { messages: [{ role: 'user', content: 'hi', timestamp: Date.now() }] };
  const message = await runtime.complete({ ...MODEL, baseUrl: 'https://api.openai.com/v1' }, context, { apiKey: SIGN_IN, transport: 'sse', maxRetries: 0 });
  const requests = await requestsSince(fake, earlier);
  assert.deepEqual(requests, [], describe(requests));
  assert.equal(message.stopReason, 'error');
  assert.match(message.errorMessage ?? '', /route-policy refused/);
});
