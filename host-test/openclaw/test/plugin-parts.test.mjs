//! The plugin's parts without OpenClaw, against the real component: how verdicts become
//! OpenClaw's failover reasons, how credentials are described, and the hot swap inside one
//! process (the gateway case, where the plugin lives across many turns), with its per-turn cost.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { describeSecret } from '../plugin/lib/credentials.mjs';
import { failoverReason, providerFailure } from '../plugin/lib/failover.mjs';
import { DecisionLog } from '../plugin/lib/journal.mjs';
import { PolicySlot } from '../plugin/lib/policy-slot.mjs';
import { readSettings } from '../plugin/lib/settings.mjs';
import { API_KEY, SIGN_IN, tempDir } from './support/openclaw.mjs';
import { GUEST, PLUGIN_DIR } from './support/paths.mjs';
import { VARIANT_REVISION, suppressingVariant } from './support/variant.mjs';

const BUILT = `${GUEST}/route_policy_guest.wasm`;
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

let dir;
let variant;
let slot;
let settings;
before(() => {
  variant = suppressingVariant();
  dir = tempDir('parts');
  copyFileSync(BUILT, `${dir.path}/policy.wasm`);
  settings = readSettings({ component: `${dir.path}/policy.wasm`, sha256: [sha256(BUILT), sha256(variant)] }, `${dir.path}/state`, PLUGIN_DIR);
  slot = new PolicySlot(settings, new DecisionLog(settings.decisionLog, (message) => assert.fail(message)));
});
after(() => {
  slot?.close();
  dir?.dispose();
});

const decisions = () => readFileSync(settings.decisionLog, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));

test('a sign-in refused at the platform URL is a wrong route, never a credential lockout', async () => {
  const policy = await slot.current();
  const route = { requestUrl: 'https://api.openai.com/v1/responses', model: 'openai/gpt-5.5', kind: 'oauth', plan: 'plus', capability: 'chat' };
  const verdict = await policy.classifyError(providerFailure({ errorMessage: '401 You have insufficient permissions for this operation. Missing scopes: api.responses.write.', status: 401 }, route));
  assert.deepEqual([verdict.reason, verdict.action], ['auth-scope-missing', 're-resolve-endpoint']);
  assert.equal(failoverReason(verdict), 'model_not_found');
});

test('an HTML 403 from the retired path is a wrong route; the 400 for the plan drops the model', async () => {
  const policy = await slot.current();
  const legacy = { requestUrl: 'https://chatgpt.com/backend-api/responses', model: 'openai/gpt-5.5', kind: 'oauth', plan: 'plus', capability: 'chat' };
  const html = await policy.classifyError(providerFailure({ errorMessage: '403 <html><head><title>Just a moment...</title></head><body>403 Forbidden</body></html>' }, legacy));
  assert.deepEqual([html.reason, html.action], ['endpoint-mismatch', 're-resolve-endpoint']);
  assert.equal(failoverReason(html), 'model_not_found');
  const codex = { ...legacy, requestUrl: 'https://chatgpt.com/backend-api/codex/responses', model: 'openai/gpt-5.5-pro' };
  const plan = await policy.classifyError(providerFailure({ errorMessage: `400 {"detail":"The 'gpt-5.5-pro' model is not supported when using Codex with a ChatGPT account."}` }, codex));
  assert.equal(plan.reason, 'model-unsupported-for-account');
  assert.deepEqual(plan.remember, { model: 'gpt-5.5-pro', plan: 'plus', reason: 'model-unsupported-for-account' });
  assert.equal(failoverReason(plan), 'model_not_found');
  assert.equal(failoverReason({ reason: 'rate-limited', action: 'retry' }), 'rate_limit');
});

test('credentials are described by what they are, never carried', () => {
  assert.deepEqual(describeSecret('a', SIGN_IN, 'openai').description, { 'profile-id': 'a', provider: 'openai-codex', kind: 'oauth', plan: 'plus' });
  assert.deepEqual(describeSecret('b', API_KEY, 'openai-codex').description, { 'profile-id': 'b', provider: 'openai', kind: 'api-key', plan: 'api' });
  assert.deepEqual(describeSecret('c', 'opaque-token', 'openai-codex').description, { 'profile-id': 'c', provider: 'openai-codex', kind: 'token', plan: 'unknown' });
  assert.ok(!JSON.stringify(describeSecret('a', SIGN_IN, 'openai').description).includes(SIGN_IN.split('.')[1]));
});

test('in one process, a swapped file serves from the next check on, and an unchanged file costs little', async () => {
  const first = await slot.current();
  assert.notEqual(first.id.revision, VARIANT_REVISION);
  // The per-turn check of an unchanged file: read and hash it, nothing else.
  const started = performance.now();
  for (let i = 0; i < 20; i += 1) assert.equal(await slot.current(), first);
  const perCheck = (performance.now() - started) / 20;
  assert.ok(perCheck < 25, `a per-turn check took ${perCheck.toFixed(1)} ms`);

  copyFileSync(variant, `${dir.path}/next.wasm`);
  renameSync(`${dir.path}/next.wasm`, `${dir.path}/policy.wasm`);
  const second = await slot.current();
  assert.equal(second.id.revision, VARIANT_REVISION);
  const plan = await second.filterFallbacks({
    capability: 'chat',
    primary: 'openai-codex/gpt-5.4-mini',
    fallbacks: ['openai-codex/gpt-5.5'],
    credentials: [describeSecret('s', SIGN_IN, 'openai-codex').description],
    rejections: [],
    providers: [],
  });
  assert.deepEqual(plan.dropped.map((d) => d.reason), ['suppressed']);

  copyFileSync(`${GUEST}/fixture_hostile.wasm`, `${dir.path}/next.wasm`);
  renameSync(`${dir.path}/next.wasm`, `${dir.path}/policy.wasm`);
  assert.equal(await slot.current(), second, 'an unpinned file is refused; the last policy keeps serving');
  assert.equal(await slot.current(), second);
  const refusals = decisions().filter((d) => d.op === 'reload' && d.refused);
  assert.equal(refusals.length, 1, 'a refused file is reported once, not at every turn');
  assert.match(refusals[0].refused, /is not pinned/);
});
