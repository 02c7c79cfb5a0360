//! A rejection the rules did not know, learned in one turn and kept for the next: the Codex
//! backend starts refusing gpt-5.5 for every ChatGPT account (the fake's
//! `reject-for-account`). Turn 1 sends it once, the policy classifies the 400 as a model the plan
//! cannot use, the plugin persists the rejection and OpenClaw moves on to the fallback, and the
//! user is told which model answered and why. Turn 2, a new OpenClaw process on the same state
//! directory, never sends gpt-5.5.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { assertNoSecrets, assertStayedLocal, assertWholeAnswer, describe } from './support/assert.mjs';
import { requestsSince, startFake } from './support/fake.mjs';
import { SIGN_IN, config, models, runTurn, tempDir } from './support/openclaw.mjs';

let fake;
let dir;
before(async () => {
  fake = await startFake();
  dir = tempDir('learned');
});
after(async () => {
  await fake?.stop();
  dir?.dispose();
});

test('a backend rejection is learned in one turn and not tried in the next', async () => {
  await fake.rejectForAccount('gpt-5.5');
  const cfg = config({
    providers: {
      'openai-codex': { baseUrl: 'https://chatgpt.com/backend-api/codex', api: 'openai-chatgpt-responses', apiKey: SIGN_IN, models: models('gpt-5.5', 'gpt-5.4-mini') },
    },
    primary: 'openai-codex/gpt-5.5',
    fallbacks: ['openai-codex/gpt-5.4-mini'],
    plugin: { routes: { 'https://chatgpt.com': fake.origin } },
  });
  const stateDir = `${dir.path}/state`;

  const before1 = await fake.log();
  const first = await runTurn({ config: cfg, stateDir });
  const turn1 = await requestsSince(fake, before1);
  assert.deepEqual(
    turn1.map((r) => [r.model, r.credential, r.answer]),
    [
      ['gpt-5.5', 'sign-in', '400 not for account'],
      ['gpt-5.4-mini', 'sign-in', '200'],
    ],
    describe(turn1),
  );
  assertWholeAnswer(first);
  assert.match(first.text, /\[route-policy\] openai\/gpt-5\.4-mini answered instead of openai-codex\/gpt-5\.5: .*cannot use gpt-5\.5/);
  const [verdict] = first.decisions('classify');
  assert.equal(verdict.verdict.reason, 'model-unsupported-for-account');
  assert.deepEqual(verdict.learned, { model: 'gpt-5.5', plan: 'plus', reason: 'model-unsupported-for-account' });
  const state = JSON.parse(readFileSync(`${stateDir}/plugins/route-policy/state.json`, 'utf8'));
  assert.deepEqual(state.rejections, [{ model: 'gpt-5.5', plan: 'plus', reason: 'model-unsupported-for-account' }]);
  // OpenClaw was told a model-scoped reason: the sign-in itself was not locked out.
  assert.doesNotMatch(first.stderr, /temporarily disabled|auth_permanent/);

  const before2 = await fake.log();
  const second = await runTurn({ config: cfg, stateDir });
  const turn2 = await requestsSince(fake, before2);
  assert.deepEqual(turn2.map((r) => [r.model, r.credential, r.answer]), [['gpt-5.4-mini', 'sign-in', '200']], describe(turn2));
  assertWholeAnswer(second);
  assert.match(second.text, /\[route-policy\] openai\/gpt-5\.4-mini answered instead of openai-codex\/gpt-5\.5: .*rejected gpt-5\.5 for the Plus plan earlier/);
  const [plan] = second.decisions('plan').slice(-1);
  assert.deepEqual(plan.dropped.map((d) => [d.model, d.reason]), [['openai-codex/gpt-5.5', 'learned-rejection']]);
  for (const result of [first, second]) {
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN]);
  }
});
