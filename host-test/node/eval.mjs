#!/usr/bin/env node
//! `node host-test/node/eval.mjs [--component PATH]`: JSON Lines in, one answer per line out, in
//! order, with the contract of `route-policy eval` (`guest/src/wire.rs`, `stream`): every line
//! gets exactly one answer, a malformed one an `invalid-input` error naming it, and the stream
//! goes on. Without `--component`, the component built from `guest/` by `cargo build`.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InvalidInput, answerLine, loadPolicy, parseLine } from './route-policy.mjs';

/** The longest line read, as the Rust hosts; a longer one is answered with an error. */
export const MAX_LINE_BYTES = 32 << 20;

/** Where `cargo build` puts the component (see `host-test/build.rs`). */
export const BUILT_COMPONENT = fileURLToPath(new URL('../../target/guest-wasm/wasm32-wasip2/guest/route_policy_guest.wasm', import.meta.url));

/**
 * Answers every line of `input` (an async iterable of byte chunks) on `write`.
 * @param {import('./route-policy.mjs').Policy} policy
 * @returns {Promise<number>} the number of lines answered
 */
export async function stream(policy, input, write) {
  let pending = [];
  let pendingBytes = 0;
  let tooLong = false;
  let number = 0;
  const answer = async (line) => {
    number += 1;
    if (tooLong) {
      const limit = MAX_LINE_BYTES % (1 << 20) === 0 ? `${MAX_LINE_BYTES >> 20} MiB` : `${MAX_LINE_BYTES} bytes`;
      return `{"err":{"code":"invalid-input","message":"line ${number} is longer than ${limit}; it was skipped"}}`;
    }
    const bytes = line.length && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
    try {
      const { call, id } = parseLine(bytes);
      return answerLine(await policy.answer(call), id);
    } catch (e) {
      if (!(e instanceof InvalidInput)) throw e;
      return answerLine({ err: { code: e.code, message: `line ${number}: ${e.message}` } }, e.id);
    }
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
    if (pendingBytes + part.length > MAX_LINE_BYTES) {
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
  const { values } = parseArgs({ options: { component: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('usage: node eval.mjs [--component PATH] < requests.jsonl > answers.jsonl\n');
    return;
  }
  const path = values.component ?? BUILT_COMPONENT;
  if (!values.component && !existsSync(path)) {
    throw new Error(`no component at ${path}; build it with \`cargo build\` or pass --component`);
  }
  const policy = await loadPolicy(path);
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
