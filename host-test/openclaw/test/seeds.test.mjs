//! The seeds' stories in the real OpenClaw 2026.9.6, each told twice against the fake upstream:
//! without the plugin, where the bug shows on the wire (the HTML 403 of a legacy base URL, the
//! 401 of a sign-in at the platform API, the 400 of a `-pro` model on a Plus plan), and with it,
//! where the same user config no longer produces it.
//!
//! Without the plugin, OpenClaw's config points at the fake itself (a loopback stand-in for
//! chatgpt.com or api.openai.com, same paths). With it, the config names the real hosts, as the
//! user wrote them; the policy and the guard decide on those URLs, and the plugin's `routes`
//! setting only carries the bytes to the fake (as `route-policy demo` does).

import assert from 'node:assert/strict';
import { after, before, describe as suite, test } from 'node:test';
import { assertNoSecrets, assertStayedLocal, assertWholeAnswer, describe } from './support/assert.mjs';
import { requestsSince, startFake } from './support/fake.mjs';
import { API_KEY, SIGN_IN, config, models, runTurn, tempDir } from './support/openclaw.mjs';

let fake;
let dir;
before(async () => {
  fake = await startFake();
  dir = tempDir('seeds');
});
after(async () => {
  await fake?.stop();
  dir?.dispose();
});

/** The plugin's settings: the official origins are served by the fake. */
const plugin = () => ({ routes: { 'https://chatgpt.com': fake.origin, 'https://api.openai.com': fake.origin } });

/** One turn with a fresh state directory; the fake's requests during it. */
async function turn(name, cfg) {
  const earlier = await fake.log();
  const result = await runTurn({ config: cfg, stateDir: `${dir.path}/${name}` });
  return { result, requests: await requestsSince(fake, earlier) };
}

suite('seed 004 (openclaw#71460): a legacy base URL https://chatgpt.com/backend-api', () => {
  // The user's config: the Codex route at the legacy base, and another provider's model as the
  // fallback (fal-ai/flux/dev served the image in the seed).
  const cfg = (codexBase, withPlugin) =>
    config({
      providers: {
        'openai-codex': { baseUrl: codexBase, api: 'openai-chatgpt-responses', apiKey: SIGN_IN, models: models('gpt-5.5') },
        backup: { baseUrl: `${fake.origin}/v1`, api: 'openai-completions', apiKey: API_KEY, models: models('gpt-4.1-mini') },
      },
      primary: 'openai-codex/gpt-5.5',
      fallbacks: ['backup/gpt-4.1-mini'],
      plugin: withPlugin ? plugin() : undefined,
    });

  test('without the plugin: an HTML 403 at /backend-api/responses, then a silent fallback', async () => {
    const { result, requests } = await turn('seed004-without', cfg(`${fake.origin}/backend-api`, false));
    const log = describe(requests);
    const retired = requests.filter((r) => r.path === '/backend-api/responses');
    assert.ok(retired.length >= 1, log);
    assert.ok(retired.every((r) => r.answer === '403 html' && r.credential === 'sign-in' && r.model === 'gpt-5.5'), log);
    const backup = requests.filter((r) => r.path === '/v1/chat/completions');
    assert.equal(backup.length, 1, log);
    assert.equal(backup[0].answer, '200', log);
    // The user gets the fallback's answer and nothing that says gpt-5.5 did not serve it.
    assertWholeAnswer(result);
    assert.doesNotMatch(result.text, /gpt-5\.5|instead of|fallback/i);
    assert.equal(result.json.meta.agentMeta.provider, 'backup');
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN, API_KEY]);
  });

  test('with the plugin: the base is canonicalized to /backend-api/codex and the primary serves', async () => {
    const { result, requests } = await turn('seed004-with', cfg('https://chatgpt.com/backend-api', true));
    const log = describe(requests);
    assert.deepEqual(
      requests.map((r) => [r.path, r.credential, r.model, r.answer]),
      [['/backend-api/codex/responses', 'sign-in', 'gpt-5.5', '200']],
      log,
    );
    assertWholeAnswer(result);
    assert.doesNotMatch(result.text, /\[route-policy\]/, 'the primary served: there is nothing to tell');
    const [route] = result.decisions('route');
    assert.equal(route['request-url'], 'https://chatgpt.com/backend-api/codex/responses');
    assert.ok(route.notes.some((note) => note.includes('canonicalized legacy base URL')), JSON.stringify(route.notes));
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN, API_KEY]);
  });
});

suite('seed 000: a ChatGPT sign-in where the platform API key belongs', () => {
  // The user's config: the only credential, the Codex sign-in, is in the OpenAI provider's slot.
  const cfg = (openai, withPlugin) =>
    config({
      providers: { openai: { ...openai, apiKey: SIGN_IN, models: models('gpt-5.5') } },
      primary: 'openai/gpt-5.5',
      plugin: withPlugin ? plugin() : undefined,
    });

  test('without the plugin: the sign-in goes to /v1/responses and gets 401 Missing scopes', async () => {
    const { result, requests } = await turn('seed000-401-without', cfg({ baseUrl: `${fake.origin}/v1` }, false));
    const log = describe(requests);
    assert.ok(requests.length >= 1, log);
    assert.ok(requests.every((r) => r.path === '/v1/responses' && r.credential === 'sign-in' && r.answer === '401 missing scopes'), log);
    assert.notEqual(result.error, null, 'the turn cannot succeed');
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN, API_KEY]);
  });

  test('with the plugin: the sign-in goes to the Codex route only, never to /v1', async () => {
    const { result, requests } = await turn('seed000-401-with', cfg({ baseUrl: 'https://api.openai.com/v1' }, true));
    const log = describe(requests);
    assert.deepEqual(
      requests.map((r) => [r.path, r.credential, r.model, r.answer]),
      [['/backend-api/codex/responses', 'sign-in', 'gpt-5.5', '200']],
      log,
    );
    assertWholeAnswer(result);
    const [plan] = result.decisions('plan');
    assert.deepEqual(plan.credentials, [{ 'profile-id': 'config:openai', provider: 'openai-codex', kind: 'oauth', plan: 'plus' }]);
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN, API_KEY]);
  });
});

suite('seed 000: gpt-5.5-pro kept in a ChatGPT Plus account\'s chain', () => {
  const cfg = (codexBase, withPlugin, extra = {}) =>
    config({
      providers: {
        'openai-codex': { baseUrl: codexBase, api: 'openai-chatgpt-responses', apiKey: SIGN_IN, models: models('gpt-5.5-pro', 'gpt-5.5') },
        ...extra,
      },
      primary: 'openai-codex/gpt-5.5-pro',
      fallbacks: ['openai-codex/gpt-5.5'],
      plugin: withPlugin ? plugin() : undefined,
    });

  test('without the plugin: gpt-5.5-pro is sent and refused with the 400', async () => {
    const { result, requests } = await turn('seed000-pro-without', cfg(`${fake.origin}/backend-api/codex`, false));
    const log = describe(requests);
    const pro = requests.filter((r) => r.model === 'gpt-5.5-pro');
    assert.ok(pro.length >= 1, log);
    assert.ok(pro.every((r) => r.path === '/backend-api/codex/responses' && r.credential === 'sign-in' && r.answer === '400 not for account'), log);
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN, API_KEY]);
  });

  test('with the plugin: gpt-5.5-pro never leaves; gpt-5.5 serves and the user is told why', async () => {
    const { result, requests } = await turn('seed000-pro-with', cfg('https://chatgpt.com/backend-api/codex', true));
    const log = describe(requests);
    assert.deepEqual(
      requests.map((r) => [r.path, r.credential, r.model, r.answer]),
      [['/backend-api/codex/responses', 'sign-in', 'gpt-5.5', '200']],
      log,
    );
    assertWholeAnswer(result);
    const notice = result.text.split('\n').find((line) => line.startsWith('[route-policy]'));
    assert.match(notice ?? '', /openai\/gpt-5\.5 answered instead of openai-codex\/gpt-5\.5-pro: .*Plus plan cannot use gpt-5\.5-pro/);
    const [plan] = result.decisions('plan');
    assert.deepEqual(plan.dropped.map((d) => [d.model, d.reason]), [['openai-codex/gpt-5.5-pro', 'unsupported-for-plan']]);
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN, API_KEY]);
  });

  test('with the plugin and an API key: gpt-5.5-pro goes to the API key, on /v1', async () => {
    const key = { openai: { baseUrl: 'https://api.openai.com/v1', apiKey: API_KEY, models: models('gpt-5.5-pro', 'gpt-5.5') } };
    const { result, requests } = await turn('seed000-pro-key', cfg('https://chatgpt.com/backend-api/codex', true, key));
    const log = describe(requests);
    assert.deepEqual(
      requests.map((r) => [r.path, r.credential, r.model, r.answer]),
      [['/v1/responses', 'api-key', 'gpt-5.5-pro', '200']],
      log,
    );
    assertWholeAnswer(result);
    assert.doesNotMatch(result.text, /\[route-policy\]/);
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN, API_KEY]);
  });
});
