//! A worker thread that holds one policy instance and answers calls in order. The main thread
//! times each call and terminates this worker when one runs past its deadline: a thread is the
//! only thing Node can stop in the middle of a WebAssembly loop.

import { parentPort, workerData } from 'node:worker_threads';
import { sandbox } from './sandbox.mjs';

const { glue, modules, memoryBytes } = workerData;
const { instantiate } = await import(glue);

/** A fresh instance, with its own sandbox, and the memories it defines. */
async function fresh() {
  const box = sandbox();
  const memories = [];
  const root = await instantiate((name) => modules[name], box.imports, async (module, imports) => {
    const instance = await WebAssembly.instantiate(module, imports);
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
    return instance;
  });
  return { router: root.router, printed: box.printed, memories };
}

/**
 * Whether a trap was the memory cap: a memory of this instance cannot grow by what the policy
 * last asked for (Rust's allocator says how much: `memory allocation of N bytes failed`).
 */
function atCap({ memories }, printed) {
  const asked = Number(/memory allocation of (\d+) bytes failed/.exec(printed)?.[1] ?? 1 << 16);
  return memories.some((m) => m.buffer.byteLength + asked > memoryBytes);
}

let instance = await fresh();
parentPort.postMessage({ ready: true });

/**
 * What a policy printed, for a trap message: its first line, at most 300 characters, every
 * long token that mixes in digits shown as `[redacted]` (the host has no redactor of its own;
 * this errs on the side of hiding).
 */
function scrub(text) {
  const first = text.split('\n')[0].slice(0, 300);
  return first.replace(/[A-Za-z0-9_+=-]{16,}/g, (token) => (/[0-9]/.test(token) ? '[redacted]' : token));
}

parentPort.on('message', async ({ seq, fn, args, renew }) => {
  if (renew) instance = await fresh();
  const { router, printed } = instance;
  let reply;
  try {
    reply = { seq, ok: router[fn](...args) };
  } catch (e) {
    if (e?.name === 'ComponentError' || (e && typeof e === 'object' && 'payload' in e)) {
      reply = { seq, err: e.payload };
    } else {
      // A trap (a panic, `unreachable`, a stack overflow) or an exit: this instance may be
      // broken halfway through a call, so the next call gets a fresh one.
      const output = printed.take();
      if (atCap(instance, output)) {
        reply = { seq, memory: true };
      } else {
        const said = scrub(output);
        const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        reply = { seq, trap: said ? `${what}; it printed: ${said}` : what };
      }
      instance = await fresh();
    }
  }
  printed.take();
  parentPort.postMessage(reply);
});
