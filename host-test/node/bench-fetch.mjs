#!/usr/bin/env node
//! `node host-test/node/bench-fetch.mjs [--calls N] [--cli PATH] [--component PATH] [--json]`:
//! what `createFetch` adds to a model call. The same non-streamed Chat Completions call, N
//! times in sequence (200 by default) against the fake upstream (`route-policy fake-upstream`):
//! - `plain fetch`: straight to the fake, the key attached by hand;
//! - `createFetch`: through the policy's loop (two `next-step` calls per call: the send, then
//!   the finish; each a toolkit decode, a worker round trip and the toolkit's guard).
//! The two alternate, call by call, so that both see the same machine. Each is warmed first.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BUILT_COMPONENT } from './eval.mjs';
import { createFetch, loadPolicy } from './route-policy.mjs';

const BUILT_CLI = fileURLToPath(new URL('../../target/debug/route-policy', import.meta.url));
const KEY = 'sk-fake-bench-key-0000';
const WARMUP = 20;

/** The `q`-quantile of sorted `values` (nearest rank). */
function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean: times.reduce((a, b) => a + b, 0) / times.length };
}

/** Starts the fake (waits at real length: the healthy answer has none) and reads its origin. */
async function startFake(cli) {
  const fake = spawn(cli, ['fake-upstream', '--scale', '1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const origin = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fake printed no origin within 10 s')), 10_000);
    fake.once('error', reject);
    createInterface({ input: fake.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
  return { origin, stop: () => fake.stdin.end() };
}

async function main() {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '200' }, cli: { type: 'string' }, component: { type: 'string' }, json: { type: 'boolean' } } });
  const calls = Number(values.calls);
  if (!Number.isInteger(calls) || calls < 1) throw new Error(`--calls takes a positive integer, not ${values.calls}`);
  const cli = values.cli ?? BUILT_CLI;
  const component = values.component ?? BUILT_COMPONENT;
  for (const path of [cli, component]) if (!existsSync(path)) throw new Error(`nothing at ${path}; build it first (cargo build)`);

  const fake = await startFake(cli);
  const policy = await loadPolicy(component);
  try {
    const steps = [];
    const routed = createFetch(policy, {
      chain: {
        primary: 'fake/ok/gpt-4o',
        credentials: [{ 'profile-id': 'fake-key', provider: 'fake', kind: 'api-key', plan: 'api' }],
        providers: [{ id: 'fake', 'base-url': `${fake.origin}/v1` }],
      },
      secrets: { 'fake-key': KEY },
      onReceipt: (receipt) => steps.push(...receipt['step-micros']),
    });
    const messages = [{ role: 'user', content: 'Count to sixty.' }];
    const viaPolicy = () => routed('http://route-policy.invalid/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'gpt-4o', messages }) });
    const plain = () =>
      fetch(`${fake.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'ok/gpt-4o', messages }),
      });
    /** One call, read to its end: its time in ms. */
    const timed = async (call) => {
      const t = performance.now();
      const response = await call();
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`a call answered ${response.status}`);
      return performance.now() - t;
    };
    for (let i = 0; i < WARMUP; i++) {
      await timed(plain);
      await timed(viaPolicy);
    }
    steps.length = 0;
    const times = { plain: [], routed: [] };
    for (let i = 0; i < calls; i++) {
      times.plain.push(await timed(plain));
      times.routed.push(await timed(viaPolicy));
    }
    const figures = { calls, plain_ms: summary(times.plain), routed_ms: summary(times.routed), next_step_us: summary(steps) };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(figures)}\n`);
      return;
    }
    const row = (name, f, unit = 'ms', digits = 2) =>
      `${name.padEnd(28)} ${f.p50.toFixed(digits).padStart(9)} ${f.p99.toFixed(digits).padStart(9)} ${f.mean.toFixed(digits).padStart(9)}  ${unit}`;
    console.log(`${calls} sequential non-streamed Chat Completions calls to the fake upstream, Node ${process.version}`);
    console.log(`${''.padEnd(28)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'mean'.padStart(9)}`);
    console.log(row('plain fetch', figures.plain_ms));
    console.log(row('createFetch', figures.routed_ms));
    console.log(row('  of which each next-step', figures.next_step_us, 'µs', 0));
    console.log(`createFetch adds ${(figures.routed_ms.p50 - figures.plain_ms.p50).toFixed(2)} ms per call at p50`);
  } finally {
    policy.close();
    fake.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    process.stderr.write(`bench-fetch: ${e.message}\n`);
    process.exit(2);
  });
}
