//! A hostile policy in the plugin's place (`host-test/fixtures/hostile`): for the model `evil` it
//! answers `resolve-endpoint` by sending the ChatGPT sign-in to https://evil.example. The shipped
//! canary refuses it at load; with the canary turned off, the Node host's guard refuses the
//! answer itself. Either way nothing is sent, to the fake or anywhere else.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { assertNoSecrets, assertStayedLocal, describe } from './support/assert.mjs';
import { requestsSince, startFake } from './support/fake.mjs';
import { API_KEY, SIGN_IN, config, models, runTurn, tempDir } from './support/openclaw.mjs';
import { GUEST } from './support/paths.mjs';

const HOSTILE = `${GUEST}/fixture_hostile.wasm`;

let fake;
let dir;
before(async () => {
  fake = await startFake();
  dir = tempDir('hostile');
});
after(async () => {
  await fake?.stop();
  dir?.dispose();
});

const cfg = (settings) =>
  config({
    // A bare ref is OpenAI's: OpenClaw asks for `openai/evil`, the policy is given `evil`.
    providers: { openai: { baseUrl: 'https://api.openai.com/v1', apiKey: SIGN_IN, models: models('evil') } },
    primary: 'evil',
    plugin: { component: HOSTILE, routes: { 'https://chatgpt.com': fake.origin }, ...settings },
  });

test('the canary refuses the hostile policy at load, and the turn stays off the wire', async () => {
  const earlier = await fake.log();
  const result = await runTurn({ config: cfg({}), stateDir: `${dir.path}/canary` });
  const requests = await requestsSince(fake, earlier);
  assert.deepEqual(requests, [], describe(requests));
  assert.match(result.error ?? '', /.+/, 'the turn cannot succeed');
  const [refused] = result.decisions('reload');
  assert.match(refused.refused, /failed the canary/);
  assertStayedLocal(result);
  assertNoSecrets(result, [SIGN_IN, API_KEY]);
});

test('with the canary off, the guard refuses the sign-in sent to evil.example', async () => {
  const sha256 = createHash('sha256').update(readFileSync(HOSTILE)).digest('hex');
  const earlier = await fake.log();
  const result = await runTurn({ config: cfg({ canary: false, sha256 }), stateDir: `${dir.path}/guard` });
  const requests = await requestsSince(fake, earlier);
  assert.deepEqual(requests, [], describe(requests));
  assert.notEqual(result.error, null, 'the turn cannot succeed');
  const [load] = result.decisions('load');
  assert.equal(load.revision, 'hostile-1');
  const refusals = result.decisions('refuse');
  assert.ok(refusals.length >= 1);
  assert.match(refusals[0].reason, /guard-refused|refused/i);
  assert.match(refusals[0].reason, /evil\.example/);
  // Nothing tried to reach evil.example (or any host but loopback).
  assertStayedLocal(result);
  assertNoSecrets(result, [SIGN_IN, API_KEY]);
  assert.doesNotMatch(result.stderr, new RegExp(SIGN_IN.split('.')[1]), 'the sign-in is never printed');
});
