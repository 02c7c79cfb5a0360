#!/usr/bin/env node
//! `node host-test/node/bench.mjs [--component PATH] [--json]`: the Node host's latency per
//! operation, on the requests of `route-policy bench` (read from `route-policy bench --inputs`
//! on stdin), to set beside wasmtime's figures:
//! - `direct`: the jco export called in this thread (the component call alone);
//! - `host`: `policy.call` (the toolkit's decoding and bound, a worker round trip, the
//!   toolkit's guard and encoding);
//! - load: transpile, compile and start a worker, and the first call.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sandbox } from './lib/sandbox.mjs';
import { VERBS, loadToolkit } from './lib/toolkit.mjs';
import { prepare } from './lib/transpile.mjs';
import { loadPolicy } from './route-policy.mjs';
import { BUILT_COMPONENT } from './eval.mjs';

/** Median ns per call of `f` over `samples` batches of about `batchMs`. */
async function median(f, samples = 15, batchMs = 100) {
  let n = 1;
  for (let spent = 0; spent < batchMs / 4; n *= 2) {
    const t = performance.now();
    for (let i = 0; i < n; i++) await f();
    spent = performance.now() - t;
  }
  const times = [];
  for (let s = 0; s < samples; s++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await f();
    times.push(Number(process.hrtime.bigint() - t) / n);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main() {
  const { values } = parseArgs({ options: { component: { type: 'string' }, json: { type: 'boolean' } } });
  const path = values.component ?? BUILT_COMPONENT;
  if (!existsSync(path)) throw new Error(`no component at ${path}`);
  const lines = readFileSync(0, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  if (lines.length === 0) throw new Error('pipe `route-policy bench --inputs` into this');

  // Load: transpile and compile, a worker, the first call. The toolkit is loaded first, once
  // per process, so that `load_ms` is the policy's alone.
  const toolkit = await loadToolkit();
  let t = performance.now();
  const prepared = await prepare(readFileSync(path), path);
  const transpileMs = performance.now() - t;
  prepared.dispose();
  t = performance.now();
  const policy = await loadPolicy(path);
  const loadMs = performance.now() - t;

  // The component called directly in this thread, as jco exposes it.
  const direct = await prepare(readFileSync(path), path);
  const { instantiate } = await import(direct.glue);
  const router = (await instantiate((name) => direct.modules[name], sandbox().imports)).router;

  const figures = { ops: {}, transpile_ms: transpileMs, load_ms: loadMs };
  for (const { op, input } of lines) {
    const call = toolkit.decodeCall(op, input === undefined ? '' : JSON.stringify(input)).ok;
    const fn = VERBS[call.tag].fn;
    const args = call.val === undefined ? [] : [call.val];
    const directNs = await median(() => {
      try {
        router[fn](...args);
      } catch {
        // An `err` result is an answer too.
      }
    });
    const hostNs = await median(() => policy.call(op, input));
    figures.ops[op] = { direct_ns: directNs, host_ns: hostNs };
  }
  policy.close();
  direct.dispose();

  if (values.json) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return;
  }
  console.log(`${'op'.padEnd(18)} ${'direct µs'.padStart(10)} ${'host µs'.padStart(10)}`);
  for (const [op, f] of Object.entries(figures.ops)) {
    console.log(`${op.padEnd(18)} ${(f.direct_ns / 1000).toFixed(2).padStart(10)} ${(f.host_ns / 1000).toFixed(2).padStart(10)}`);
  }
  console.log(`transpile + compile ${transpileMs.toFixed(0)} ms; load (with worker and first call) ${loadMs.toFixed(0)} ms`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(2);
  });
}
