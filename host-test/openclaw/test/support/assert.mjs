//! What the scenarios check again and again: the fake's healthy answer reached the user whole, no
//! connection left the machine, and which requests the fake saw.

import assert from 'node:assert/strict';

/**
 * The fake's healthy answer is 60 words, one to sixty, so that a cut answer never passes: the
 * answer's first line must be all of them.
 * @param {import('./openclaw.mjs').Turn} turn
 */
export function assertWholeAnswer(turn) {
  assert.equal(turn.error, null, `the turn failed: ${turn.error}`);
  const words = turn.text.split('\n')[0].trim().split(/\s+/);
  assert.equal(words.length, 60, `the answer is not the fake's 60 words: ${JSON.stringify(turn.text.slice(0, 200))}`);
  assert.equal(words[0], 'one');
  assert.equal(words[59], 'sixty');
}

/**
 * OpenClaw opened no connection beyond loopback (update checks, telemetry, a credential sent to
 * a real host).
 * @param {import('./openclaw.mjs').Turn} turn
 */
export function assertStayedLocal(turn) {
  assert.deepEqual(turn.outbound, [], `OpenClaw tried to reach beyond loopback: ${JSON.stringify(turn.outbound)}`);
}

/**
 * No secret in what the plugin wrote or OpenClaw printed: the fake sign-in's payload and the fake
 * API key appear in neither the decision log nor the output.
 * @param {import('./openclaw.mjs').Turn} turn
 * @param {string[]} secrets
 */
export function assertNoSecrets(turn, secrets) {
  for (const secret of secrets) {
    const part = secret.includes('.') ? secret.split('.')[1] : secret;
    assert.ok(!turn.decisionLog.includes(part), 'a secret reached the decision log');
    assert.ok(!JSON.stringify(turn.json).includes(part), 'a secret reached the output');
  }
}

/**
 * The requests of a log as `path credential model -> answer` lines, for readable failures.
 * @param {import('./fake.mjs').LogEntry[]} log
 */
export function describe(log) {
  return log.map((r) => `${r.path} ${r.credential} ${r.model} -> ${r.answer}`).join('\n') || '(no requests)';
}
