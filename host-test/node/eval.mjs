#!/usr/bin/env node
//! `node host-test/node/eval.mjs [--component PATH] [--toolkit PATH] [--allow-host PROVIDER=HOST]…`:
//! JSON Lines in, one answer per line out, in order, with the contract of `route-policy eval`
//! (`wire::stream` in `guest/contract/src/wire.rs`): every line gets exactly one answer, a
//! malformed one an `invalid-input` error naming it, and the stream goes on. The loop is here,
//! as it is I/O; each line is parsed, and each answer written, by the toolkit. Without
//! `--component` and `--toolkit`, the components built by `cargo build`.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BUILT_DIR, BUILT_TOOLKIT } from './lib/toolkit.mjs';
import { loadPolicy, loadToolkit } from './route-policy.mjs';

/** The longest line read, as the Rust hosts; a longer one is answered with an error. */
export const MAX_LINE_BYTES = 32 << 20;

/** Where `cargo build` puts the component (see `host-test/host/build.rs`). */
export const BUILT_COMPONENT = join(BUILT_DIR, 'route_policy_guest.wasm');

/**
 * Answers every line of `input` (an async iterable of byte chunks) on `write`.
 * @param {import('./route-policy.mjs').Policy} policy
 * @param {AsyncIterable<Uint8Array>} input
 * @param {(text: string) => Promise<void>} write
 * @param {number} [maxLineBytes] the longest line read (`MAX_LINE_BYTES`)
 * @returns {Promise<number>} the number of lines answered
 */
export async function stream(policy, input, write, maxLineBytes = MAX_LINE_BYTES) {
  const { toolkit } = policy;
  let pending = [];
  let pendingBytes = 0;
  let tooLong = false;
  let number = 0;
  const answer = async (line) => {
    number += 1;
    if (tooLong) {
      const limit = maxLineBytes % (1 << 20) === 0 ? `${maxLineBytes >> 20} MiB` : `${maxLineBytes} bytes`;
      return toolkit.errorJson('invalid-input', `line ${number} is longer than ${limit}; it was skipped`);
    }
    const bytes = line.length && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
    const parsed = toolkit.parseLine(bytes);
    if (parsed.ok) return toolkit.withId(await policy.answerJson(parsed.ok.call), parsed.ok.id);
    const { error, id } = parsed.err;
    return toolkit.withId(toolkit.errorJson(error.code, `line ${number}: ${error.message}`), id);
  };
  const take = () => {
    const line = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return line;
  };
  for await (const chunk of input) {
    let from = 0;
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, from)) {
      keep(chunk.subarray(from, at));
      await write(`${await answer(take())}\n`);
      tooLong = false;
      from = at + 1;
    }
    keep(chunk.subarray(from));
  }
  if (pendingBytes > 0 || tooLong) await write(`${await answer(take())}\n`);
  return number;

  function keep(part) {
    if (tooLong || part.length === 0) return;
    if (pendingBytes + part.length > maxLineBytes) {
      tooLong = true;
      pending = [];
      pendingBytes = 0;
      return;
    }
    pending.push(part);
    pendingBytes += part.length;
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      component: { type: 'string' },
      toolkit: { type: 'string' },
      'allow-host': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node eval.mjs [--component PATH] [--toolkit PATH] [--allow-host PROVIDER=HOST]... < requests.jsonl > answers.jsonl\n');
    return;
  }
  for (const [flag, given, built] of [['--component', values.component, BUILT_COMPONENT], ['--toolkit', values.toolkit, BUILT_TOOLKIT]]) {
    if (!given && !existsSync(built)) throw new Error(`no component at ${built}; build it with \`cargo build\` or pass ${flag}`);
  }
  const allowHosts = values['allow-host'].map((entry) => {
    const at = entry.indexOf('=');
    if (at < 0) throw new Error(`--allow-host \`${entry}\`: write PROVIDER=HOST, e.g. openai=proxy.internal`);
    return [entry.slice(0, at), entry.slice(at + 1)];
  });
  const toolkit = await loadToolkit(values.toolkit ?? BUILT_TOOLKIT);
  const policy = await loadPolicy(values.component ?? BUILT_COMPONENT, { toolkit, allowHosts });
  const write = (text) => new Promise((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));
  try {
    await stream(policy, process.stdin, write);
  } finally {
    policy.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    process.stderr.write(`route-policy (node): ${e.message}\n`);
    process.exit(2);
  });
}
