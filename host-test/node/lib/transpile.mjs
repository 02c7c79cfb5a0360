//! Turns a component into what Node runs: jco transpiles it (in memory, at load time, from the
//! very `.wasm` wasmtime runs), its imports are checked against the sandbox, the JS glue goes
//! into a private directory to be imported, and the core modules are compiled once, to be shared
//! with every worker. The policy and the toolkit (`lib/toolkit.mjs`) both load this way.

import { componentWit, transpile } from '@bytecodealliance/jco';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ALLOWED_IMPORTS } from './sandbox.mjs';

/** The most 64 KiB pages a wasm32 memory can have: 4 GiB, no cap beyond the architecture's. */
export const WASM32_PAGES = 65536;

/**
 * A component refused at load: which step, and why (as `LoadError` in the wasmtime host).
 * `role` says which component it was: the `policy`, or the host's `toolkit`.
 */
export class LoadError extends Error {
  constructor(source, sha256, step, reason, role = 'policy') {
    super(`${role} ${source}${sha256 ? ` (sha256 ${sha256.slice(0, 12)})` : ''} refused at ${step}: ${reason}`);
    this.name = 'LoadError';
    this.source = source;
    this.sha256 = sha256;
    this.step = step;
    this.reason = reason;
    this.role = role;
  }
}

/**
 * Transpiles a component and checks its imports against the sandbox.
 * @param {Uint8Array} bytes the component
 * @param {string} source where it came from, for errors
 * @param {object} [options]
 * @param {number} [options.memoryPages] the most 64 KiB pages a memory may grow to (16 MiB by default)
 * @param {string[]} [options.typeImports] interfaces it may import beyond the sandbox's, for their
 *   types only: the glue must ask nothing of them
 * @param {'policy' | 'toolkit'} [options.role] which component this is, for errors
 * @returns {Promise<{sha256: string, glue: string, modules: Record<string, WebAssembly.Module>, dispose: () => void}>}
 */
export async function prepare(bytes, source, { memoryPages = 256, typeImports = [], role = 'policy' } = {}) {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const refuse = (step, reason) => new LoadError(source, sha256, step, reason, role);
  let out;
  let declared;
  try {
    out = await transpile(bytes, { name: role, instantiation: { tag: 'async' }, noTypescript: true, quiet: true });
    declared = worldImports(await componentWit(bytes));
  } catch (e) {
    throw refuse('compile', `not a loadable WebAssembly component: ${String(e?.message ?? e).split('\n')[0]}`);
  }
  // Every import of the component's world, by interface name without version, as wasmtime
  // lists them: jco's own list leaves out an interface imported for its types alone, which the
  // wasmtime host's check counts.
  const names = declared.map((name) => name.replace(/@[^@]*$/, ''));
  const refused = names.filter((name) => !ALLOWED_IMPORTS.includes(name) && !typeImports.includes(name));
  if (refused.length) throw refuse('imports', `it imports ${refused.join(', ')}, which the sandbox does not provide`);
  // A type-only import must stay one: the glue asks the sandbox for nothing else.
  const called = out.imports.map((name) => name.replace(/@[^@]*$/, '')).filter((name) => !ALLOWED_IMPORTS.includes(name));
  if (called.length) throw refuse('imports', `it calls functions of ${called.join(', ')}, which it may import for types only`);
  const modules = {};
  for (const [name, file] of Object.entries(out.files)) {
    if (!name.endsWith('.wasm')) continue;
    let capped;
    try {
      capped = capMemory(file, memoryPages);
    } catch (e) {
      throw refuse('world', e.message);
    }
    modules[name] = await WebAssembly.compile(capped);
  }
  // The glue is imported from a directory only this process created (mode 0700), never from a
  // shared cache another user could write to.
  const dir = mkdtempSync(join(tmpdir(), 'route-policy-'));
  const glue = join(dir, `${role}.mjs`);
  writeFileSync(glue, out.files[`${role}.js`], { mode: 0o600 });
  return { sha256, glue: pathToFileURL(glue).href, modules, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The imports of a component's own world, from its WIT as wasm-tools prints it (`world root`,
 * one `import NAME;` or `import NAME: …` per line).
 * @param {string} wit
 * @returns {string[]}
 */
function worldImports(wit) {
  const world = /^world root \{$([\s\S]*?)^\}$/m.exec(wit);
  if (!world) throw new Error('its WIT has no root world');
  return [...world[1].matchAll(/^\s*import\s+(.+?)(?:;|: )/gm)].map((m) => m[1]);
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
