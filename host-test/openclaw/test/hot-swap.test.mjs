//! A hot swap between two turns, with no OpenClaw restart and no config change: the operator
//! replaces the `.wasm` with a variant whose rules say the Codex route no longer serves
//! gpt-5.4-mini (both digests are pinned beforehand). The next turn's plugin sees the new sha256,
//! verifies the file (pin, canary) and plans with it: gpt-5.4-mini is no longer sent, gpt-5.5
//! serves, and the user is told why. Then an unpinned file (the hostile fixture) is swapped in:
//! it is refused, and the last policy that passed keeps deciding.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { assertNoSecrets, assertStayedLocal, assertWholeAnswer, describe } from './support/assert.mjs';
import { requestsSince, startFake } from './support/fake.mjs';
import { SIGN_IN, config, models, runTurn, tempDir } from './support/openclaw.mjs';
import { GUEST } from './support/paths.mjs';
import { VARIANT_REVISION, suppressingVariant } from './support/variant.mjs';

let fake;
let dir;
let variant;
before(async () => {
  variant = suppressingVariant();
  fake = await startFake();
  dir = tempDir('swap');
});
after(async () => {
  await fake?.stop();
  dir?.dispose();
});

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Replaces the served file in one step, as an operator's deploy would. */
function swapIn(source, target) {
  copyFileSync(source, `${target}.next`);
  renameSync(`${target}.next`, target);
}

test('a verified swap changes the next turn; an unpinned one is refused', async () => {
  const built = `${GUEST}/route_policy_guest.wasm`;
  const served = `${dir.path}/policy.wasm`;
  swapIn(built, served);
  const cfg = config({
    providers: {
      'openai-codex': { baseUrl: 'https://chatgpt.com/backend-api/codex', api: 'openai-chatgpt-responses', apiKey: SIGN_IN, models: models('gpt-5.4-mini', 'gpt-5.5') },
    },
    primary: 'openai-codex/gpt-5.4-mini',
    fallbacks: ['openai-codex/gpt-5.5'],
    plugin: { component: served, sha256: [sha256(built), sha256(variant)], routes: { 'https://chatgpt.com': fake.origin } },
  });
  const stateDir = `${dir.path}/state`;
  const turn = async () => {
    const earlier = await fake.log();
    const result = await runTurn({ config: cfg, stateDir });
    return { result, requests: await requestsSince(fake, earlier) };
  };

  const one = await turn();
  assert.deepEqual(one.requests.map((r) => [r.model, r.answer]), [['gpt-5.4-mini', '200']], describe(one.requests));
  assertWholeAnswer(one.result);
  assert.doesNotMatch(one.result.text, /\[route-policy\]/);
  const [first] = one.result.decisions('load');
  assert.notEqual(first.revision, VARIANT_REVISION);
  assert.equal(first.sha256, sha256(built));

  swapIn(variant, served);
  const two = await turn();
  assert.deepEqual(two.requests.map((r) => [r.model, r.answer]), [['gpt-5.5', '200']], describe(two.requests));
  assertWholeAnswer(two.result);
  assert.match(two.result.text, /\[route-policy\] openai\/gpt-5\.5 answered instead of openai-codex\/gpt-5\.4-mini: /);
  const loads = two.result.decisions('load');
  assert.equal(loads.at(-1).revision, VARIANT_REVISION);
  assert.equal(loads.at(-1).sha256, sha256(variant));
  const [plan] = two.result.decisions('plan').slice(-1);
  assert.deepEqual(plan.dropped.map((d) => [d.model, d.reason]), [['openai-codex/gpt-5.4-mini', 'suppressed']]);

  swapIn(`${GUEST}/fixture_hostile.wasm`, served);
  const three = await turn();
  assert.deepEqual(three.requests.map((r) => [r.model, r.answer]), [['gpt-5.5', '200']], describe(three.requests));
  assertWholeAnswer(three.result);
  const refused = three.result.decisions('reload').at(-1);
  assert.match(refused.refused, /is not pinned/);
  assert.equal(three.result.decisions('load').at(-1).revision, VARIANT_REVISION, 'the last verified policy decides');
  for (const { result } of [one, two, three]) {
    assertStayedLocal(result);
    assertNoSecrets(result, [SIGN_IN]);
  }
});
