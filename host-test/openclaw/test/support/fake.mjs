//! The fake OpenAI/ChatGPT upstream (`route-policy fake-upstream`) as the tests run it: one
//! process per test file, on 127.0.0.1 with an ephemeral port, its request log read over HTTP.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { REPO } from './paths.mjs';

/** How long the fake may take to print its origin. */
const START_TIMEOUT_MS = 15_000;

/**
 * One running fake upstream.
 * @typedef {{origin: string, log: () => Promise<LogEntry[]>, rejectForAccount: (model: string) => Promise<void>, stop: () => Promise<void>}} Fake
 * @typedef {{path: string, model: string, credential: 'api-key' | 'sign-in' | 'none', stream: boolean, answer: string, at: number}} LogEntry
 */

/**
 * Starts the fake: `target/debug/route-policy fake-upstream` (built by `cargo build -p
 * route-policy`), or the command in `ROUTE_POLICY_FAKE_UPSTREAM`, which takes the same arguments.
 * @returns {Promise<Fake>}
 */
export async function startFake() {
  const command = process.env.ROUTE_POLICY_FAKE_UPSTREAM ?? `${REPO}target/debug/route-policy`;
  if (!existsSync(command)) throw new Error(`${command} is missing: run \`cargo build -p route-policy\` first`);
  // Waits run at a tenth of their length; these scenarios use none of the slow faults.
  const child = spawn(command, ['fake-upstream', '--scale', '0.1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const origin = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fake upstream did not print its origin')), START_TIMEOUT_MS);
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`the fake upstream exited with ${code}`)));
  });
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) throw new Error(`the fake upstream printed ${JSON.stringify(origin)}, not its origin`);
  const control = async (path, init) => {
    const response = await fetch(`${origin}/__fake/${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`the fake answered ${response.status} to ${path}`);
    return response.json();
  };
  return {
    origin,
    log: () => control('log'),
    rejectForAccount: async (model) => {
      await control('reject-for-account', { method: 'POST', body: JSON.stringify({ model }) });
    },
    // It serves until its stdin closes.
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/**
 * The requests the fake saw after `before` (a log read earlier), so that each scenario judges
 * only its own.
 * @param {Fake} fake
 * @param {LogEntry[]} before
 */
export async function requestsSince(fake, before) {
  return (await fake.log()).slice(before.length);
}
