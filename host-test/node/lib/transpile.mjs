//! Turns a component into what Node runs: jco transpiles it (in memory, at load time, from the
//! very `.wasm` wasmtime runs), the JS glue goes into a private directory to be imported, and
//! the core modules are compiled once, to be shared with every worker.

import { transpile } from '@bytecodealliance/jco';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ALLOWED_IMPORTS } from './sandbox.mjs';

/** A policy refused at load: which step, and why (as `LoadError` in the wasmtime host). */
export class LoadError extends Error {
  constructor(source, sha256, step, reason) {
    super(`policy ${source}${sha256 ? ` (sha256 ${sha256.slice(0, 12)})` : ''} refused at ${step}: ${reason}`);
    this.name = 'LoadError';
    this.source = source;
    this.sha256 = sha256;
    this.step = step;
    this.reason = reason;
  }
}

/**
 * Transpiles a component and checks its imports against the sandbox.
 * @param {Uint8Array} bytes the component
 * @param {string} source where it came from, for errors
 * @param {number} memoryPages the most 64 KiB pages a memory may grow to
 * @returns {Promise<{sha256: string, glue: string, modules: Record<string, WebAssembly.Module>, dispose: () => void}>}
 */
export async function prepare(bytes, source, memoryPages = 256) {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let out;
  try {
    out = await transpile(bytes, { name: 'policy', instantiation: { tag: 'async' }, noTypescript: true, quiet: true });
  } catch (e) {
    throw new LoadError(source, sha256, 'compile', `not a loadable WebAssembly component: ${String(e?.message ?? e).split('\n')[0]}`);
  }
  // The imports, by interface name without version: nothing beyond the sandbox.
  const names = out.imports.map((name) => name.replace(/@[^@]*$/, ''));
  const refused = names.filter((name) => !ALLOWED_IMPORTS.includes(name));
  if (refused.length) {
    throw new LoadError(source, sha256, 'imports', `it imports ${refused.join(', ')}, which the sandbox does not provide`);
  }
  const modules = {};
  for (const [name, file] of Object.entries(out.files)) {
    if (!name.endsWith('.wasm')) continue;
    let capped;
    try {
      capped = capMemory(file, memoryPages);
    } catch (e) {
      throw new LoadError(source, sha256, 'world', e.message);
    }
    modules[name] = await WebAssembly.compile(capped);
  }
  // The glue is imported from a directory only this process created (mode 0700), never from a
  // shared cache another user could write to.
  const dir = mkdtempSync(join(tmpdir(), 'route-policy-'));
  const glue = join(dir, 'policy.mjs');
  writeFileSync(glue, out.files['policy.js'], { mode: 0o600 });
  return { sha256, glue: pathToFileURL(glue).href, modules, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads an unsigned LEB128 at `at`: `[value, next offset]`. */
function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7;
  }
}

function writeLeb(value) {
  const out = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

/**
 * A core module whose memories may grow to at most `maxPages`: Node has no store limiter, so
 * the cap wasmtime's `ResourceLimiter` enforces becomes the memory's declared maximum, and a
 * policy that allocates past it traps as it would under wasmtime. Only the memory section
 * (id 5) changes.
 * @param {Uint8Array} bytes
 * @param {number} maxPages
 */
export function capMemory(bytes, maxPages) {
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, body] = leb(bytes, at + 1);
    const end = body + size;
    if (id !== 5) {
      parts.push(bytes.subarray(at, end));
      at = end;
      continue;
    }
    const [count, first] = leb(bytes, body);
    const section = [...writeLeb(count)];
    let p = first;
    for (let n = 0; n < count; n++) {
      const flags = bytes[p];
      if (flags !== 0 && flags !== 1) throw new Error(`memory ${n} is shared or 64-bit (flags ${flags}); the sandbox caps only plain memories`);
      const [min, next] = leb(bytes, p + 1);
      let max = maxPages;
      p = next;
      if (flags === 1) {
        const [declared, after] = leb(bytes, p);
        max = Math.min(declared, maxPages);
        p = after;
      }
      if (min > max) throw new Error(`memory ${n} starts at ${min} pages, past the cap of ${maxPages}`);
      section.push(1, ...writeLeb(min), ...writeLeb(max));
    }
    parts.push(Uint8Array.of(5, ...writeLeb(section.length), ...section));
    at = end;
  }
  return Buffer.concat(parts);
}
