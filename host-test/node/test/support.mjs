//! What the Node tests share: the cargo build they compare against, the fixtures, and the
//! conformance vectors with their matcher (a port of `guest/src/vectors.rs`).

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from '../lib/codec.mjs';

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
 * Builds the wasmtime CLI (which builds the component) and the hostile fixtures, once.
 * @returns {{cli: string, component: string, fixture: (name: string) => string}}
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

/** Checks an answer against a case's `expect` and `never`; the mismatch, or null. */
export function checkCase(testCase, answer) {
  const mismatch = matches(testCase.expect, answer, 'answer');
  if (mismatch) return mismatch;
  const text = stringify(answer);
  const leaked = (testCase.never ?? []).find((secret) => text.includes(secret));
  return leaked ? `the answer contains \`${leaked}\`, which must never appear` : null;
}

function matches(expect, actual, path) {
  if (expect && typeof expect === 'object' && !Array.isArray(expect)) {
    const keys = Object.keys(expect);
    if (keys.length === 1 && keys[0].startsWith('$')) {
      const why = matcher(keys[0], expect[keys[0]], actual);
      return why ? `${path}: ${why}` : null;
    }
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return `${path}: expected an object, got ${stringify(actual)}`;
    for (const key of keys) {
      const want = expect[key];
      const child = `${path}.${key}`;
      const got = actual[key];
      if ((got === undefined || got === null) && want === null) continue;
      if (got === undefined && want && typeof want === 'object' && '$absent' in want) continue;
      if (got === undefined) return `${child}: missing, expected ${stringify(want)}`;
      const why = matches(want, got, child);
      if (why) return why;
    }
    return null;
  }
  if (Array.isArray(expect)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${stringify(actual)}`;
    if (expect.length !== actual.length) return `${path}: expected ${expect.length} items, got ${actual.length}: ${stringify(actual)}`;
    for (let at = 0; at < expect.length; at++) {
      const why = matches(expect[at], actual[at], `${path}[${at}]`);
      if (why) return why;
    }
    return null;
  }
  return expect === actual ? null : `${path}: expected ${stringify(expect)}, got ${stringify(actual)}`;
}

function matcher(name, arg, actual) {
  const strings = typeof arg === 'string' ? [arg] : arg;
  switch (name) {
    case '$contains':
      for (const needle of strings) {
        const found = typeof actual === 'string' ? actual.includes(needle) : Array.isArray(actual) && actual.some((i) => typeof i === 'string' && i.includes(needle));
        if (!found) return `expected something containing \`${needle}\`, got ${stringify(actual)}`;
      }
      return null;
    case '$excludes':
      for (const needle of strings) if (stringify(actual).includes(needle)) return `expected no \`${needle}\`, got ${stringify(actual)}`;
      return null;
    case '$prefix':
      return typeof actual === 'string' && actual.startsWith(arg) ? null : `expected a string starting \`${arg}\`, got ${stringify(actual)}`;
    case '$len':
      return Array.isArray(actual) && actual.length === arg ? null : `expected ${arg} items, got ${stringify(actual)}`;
    case '$absent':
      return actual === null || actual === undefined ? null : `expected nothing, got ${stringify(actual)}`;
    default:
      return `unknown matcher \`${name}\``;
  }
}
