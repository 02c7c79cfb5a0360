//! What the Node tests share: the cargo build they compare against, the fixtures, and the
//! conformance vectors, matched by the toolkit (`vectors::check`, as every Rust host matches).

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CARGO = process.env.CARGO ?? 'cargo';

/** Runs cargo in the repository with the environment a fresh shell has (as the Rust tests do). */
function cargo(args) {
  const env = { ...process.env };
  for (const scrub of ['RUSTFLAGS', 'CARGO_ENCODED_RUSTFLAGS', 'CARGO_BUILD_TARGET', 'LLVM_PROFILE_FILE']) delete env[scrub];
  return execFileSync(CARGO, args, { cwd: REPO, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
}

let built = null;

/**
 * Builds the wasmtime CLI (which builds the component and the toolkit) and the hostile
 * fixtures, once.
 * @returns {{cli: string, component: string, toolkit: string, fixture: (name: string) => string}}
 */
export function build() {
  if (built) return built;
  const target = JSON.parse(cargo(['metadata', '--format-version', '1', '--no-deps'])).target_directory;
  cargo(['build', '--locked', '-p', 'route-policy']);
  const guestTarget = join(target, 'guest-wasm');
  cargo([
    'build', '--locked', '--target', 'wasm32-wasip2', '--profile', 'guest', '--target-dir', guestTarget,
    '-p', 'fixture-hostile', '-p', 'fixture-imports', '-p', 'fixture-old-contract',
  ]);
  const exe = process.platform === 'win32' ? '.exe' : '';
  built = {
    cli: join(target, 'debug', `route-policy${exe}`),
    component: join(guestTarget, 'wasm32-wasip2', 'guest', 'route_policy_guest.wasm'),
    toolkit: join(guestTarget, 'wasm32-wasip2', 'guest', 'route_policy_toolkit.wasm'),
    fixture: (name) => join(guestTarget, 'wasm32-wasip2', 'guest', `fixture_${name.replace(/-/g, '_')}.wasm`),
  };
  return built;
}

/** Runs a JSON Lines host on `input` and returns its output lines. */
export function runLines(command, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${command} exited with ${code}`));
      else resolve(Buffer.concat(out).toString('utf8').split('\n').slice(0, -1));
    });
    child.stdin.end(input);
  });
}

/** Every vector file under `guest/vectors`, sorted, as `[relative path, parsed file]`. */
export function vectorFiles() {
  const root = join(REPO, 'guest', 'vectors');
  const found = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.json')) found.push(path);
    }
  };
  walk(root);
  return found.sort().map((path) => [path.slice(root.length + 1), JSON.parse(readFileSync(path, 'utf8'))]);
}

/**
 * Checks an answer (JSON text) against a case's `expect` and `never` with the toolkit; the
 * mismatch, or null.
 * @param {import('../lib/toolkit.mjs').Toolkit} toolkit
 */
export function checkCase(toolkit, testCase, answer) {
  const checked = toolkit.checkCase(JSON.stringify(testCase.expect), testCase.never ?? [], answer);
  return checked.err ?? null;
}
