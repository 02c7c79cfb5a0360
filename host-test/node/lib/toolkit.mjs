//! The toolkit: the host's half of the contract (`wit/v0.2/toolkit.wit`), compiled from the very Rust
//! the wasmtime host links (`route-policy-contract`, through `host-test/toolkit/`). It parses
//! request lines, decodes and bounds calls, checks the policy's answers with the
//! credential-egress guard and the verdict floor, writes the contract's JSON, and matches
//! conformance vectors, so that this host re-implements none of it and cannot drift from the
//! wasmtime host.
//!
//! It is trusted and fast, so it runs in the main thread, in one instance for the process, in
//! the same no-capability sandbox as a policy (it imports the same 13 interfaces, plus
//! `agent:route-policy/router` for its types alone). Its memory is not capped beyond wasm32's:
//! it reads request lines of up to 32 MiB.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandbox } from './sandbox.mjs';
import { LoadError, WASM32_PAGES, prepare } from './transpile.mjs';

/**
 * Where `cargo build` puts the components (see `host-test/host/build.rs`): under the
 * workspace's target directory, or `CARGO_TARGET_DIR` when the build used another one.
 */
export const BUILT_DIR = join(process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : fileURLToPath(new URL('../../../target', import.meta.url)), 'guest-wasm', 'wasm32-wasip2', 'guest');

/**
 * The toolkit this host loads by default: `ROUTE_POLICY_TOOLKIT` when set (a toolkit shipped
 * beside an application), else the one `cargo build` made.
 */
export const BUILT_TOOLKIT = process.env.ROUTE_POLICY_TOOLKIT ? resolve(process.env.ROUTE_POLICY_TOOLKIT) : join(BUILT_DIR, 'route_policy_toolkit.wasm');

/** The interface the toolkit imports for the router's record types; it calls none of it. */
const TYPE_IMPORTS = ['agent:route-policy/router'];

/**
 * The ops, by the tags of the toolkit's `call` variant: the router function that answers each
 * (as jco names it), the tag of the toolkit's `answer` variant that wraps its return value, and
 * whether that value is a `result` (jco returns its `ok` and throws its `err`).
 */
export const VERBS = {
  'resolve-endpoint': { fn: 'resolveEndpoint', answer: 'endpoint', result: true },
  'filter-fallbacks': { fn: 'filterFallbacks', answer: 'plan', result: true },
  'classify-error': { fn: 'classifyError', answer: 'verdict', result: false },
  'policy-info': { fn: 'policyInfo', answer: 'info', result: false },
  'next-step': { fn: 'nextStep', answer: 'next', result: true },
};

/** Loaded toolkits by path: one instance per file for the process. */
const loaded = new Map();

/**
 * Loads the toolkit at `path` (the one `cargo build` made, by default), once per path.
 * @param {string | URL} [path]
 * @returns {Promise<Toolkit>}
 */
export function loadToolkit(path = BUILT_TOOLKIT) {
  const source = path instanceof URL ? fileURLToPath(path) : String(path);
  let toolkit = loaded.get(source);
  if (!toolkit) {
    toolkit = instantiate(source);
    loaded.set(source, toolkit);
    // A failed load is not kept: the file may be built by the next attempt.
    toolkit.catch(() => loaded.delete(source));
  }
  return toolkit;
}

async function instantiate(source) {
  let bytes;
  try {
    bytes = await readFile(source);
  } catch (e) {
    throw new LoadError(source, null, 'read', e.message, 'toolkit');
  }
  const prepared = await prepare(bytes, source, { memoryPages: WASM32_PAGES, typeImports: TYPE_IMPORTS, role: 'toolkit' });
  let root;
  try {
    const { instantiate: glue } = await import(prepared.glue);
    const box = sandbox();
    root = await glue((name) => prepared.modules[name], box.imports);
    return new Toolkit(root.toolkit, box.printed, source);
  } catch (e) {
    throw new LoadError(source, prepared.sha256, 'world', e.message, 'toolkit');
  } finally {
    // The glue is imported once, here; nothing reads the file again.
    prepared.dispose();
  }
}

/**
 * The toolkit's functions. Values are jco's (records with camelCase fields, variants as
 * `{tag, val}`, `u64` as `bigint`); ids and answers are JSON text, as the Rust hosts write them.
 * A `result` is returned as `{ok}` or `{err}`; a trap (a bug in the toolkit) is thrown.
 */
export class Toolkit {
  #api;
  #printed;
  #source;

  constructor(api, printed, source) {
    if (!api) throw new Error('it does not export the `agent:route-policy/toolkit` interface');
    this.#api = api;
    this.#printed = printed;
    this.#source = source;
  }

  /** Calls a toolkit function; a thrown `result` error becomes `{err}`, a trap an Error. */
  #call(name, args, result = false) {
    let value;
    try {
      value = this.#api[name](...args);
    } catch (e) {
      // jco throws a `result`'s error as a ComponentError carrying it as `payload`.
      if (result && e && typeof e === 'object' && 'payload' in e) return { err: e.payload };
      const printed = this.#printed.take();
      throw new Error(`toolkit ${this.#source} failed in ${name}: ${e?.message ?? e}${printed ? `; it printed: ${printed}` : ''}`, { cause: e });
    }
    return result ? { ok: value } : value;
  }

  /**
   * Parses one request line (its bytes, without `\n` or `\r`).
   * @param {Uint8Array} bytes
   * @returns {{ok: {call: object, id?: string}} | {err: {error: {code: string, message: string}, id?: string}}}
   */
  parseLine(bytes) {
    return this.#call('parseLine', [bytes], true);
  }

  /**
   * Decodes a call from an op and the JSON text of its input (`''` for none).
   * @returns {{ok: object} | {err: {code: string, message: string}}}
   */
  decodeCall(op, input) {
    return this.#call('decodeCall', [op, input], true);
  }

  /**
   * The call as the policy may receive it: `{err}` (a sentence) when it is too heavy for
   * `settings`, a `classify-error` body cut to fit.
   * @returns {{ok: object} | {err: string}}
   */
  bound(call, settings) {
    return this.#call('bound', [call, settings], true);
  }

  /**
   * Checks the policy's `answer` to `call` (the call as decoded, before `bound`) with the guard
   * and the verdict floor, and writes it as the contract's JSON, or a `guard-refused` error
   * naming `policy`.
   * @returns {string}
   */
  checkAnswer(call, answer, settings, policy) {
    return this.#call('checkAnswer', [call, answer, settings, policy]);
  }

  /** How every host names a policy: `REVISION (sha256 FIRST12, SOURCE)`, its words escaped. */
  policyName(revision, sha256, source) {
    return this.#call('policyName', [revision, sha256, source]);
  }

  /** A host error as the contract's JSON: `{"err": {"code", "message"}}`. */
  errorJson(code, message) {
    return this.#call('errorJson', [code, message]);
  }

  /** An answer (JSON text) with the caller's `id` (JSON text, or undefined for none) added. */
  withId(answer, id) {
    return this.#call('withId', [answer, id]);
  }

  /**
   * Checks an answer (JSON text) against a vector case's `expect` (JSON text) and `never`.
   * @returns {{ok: undefined} | {err: string}}
   */
  checkCase(expect, never, answer) {
    return this.#call('checkCase', [expect, never, answer], true);
  }

  /** The contract version this toolkit speaks: the host's. */
  contract() {
    return this.#call('contract', []);
  }

  /**
   * Whether a host may keep the rejection `rejection` that `attempt` (the call's newest, sent
   * with `credential`, a description, and the body `sent`) taught: the host's floor, as the
   * Rust executor applies it. Values are the contract's JSON.
   * @returns {{ok: undefined} | {err: string}}
   */
  learnable(rejection, attempt, credential, sent) {
    const bytes = typeof sent === 'string' ? new TextEncoder().encode(sent) : sent;
    return this.#call('learnable', [JSON.stringify({ rejection, attempt, credential }), bytes], true);
  }

  /**
   * The host's settings as the toolkit takes them. An allowed host the guard cannot use is
   * refused here, at load, as the wasmtime host refuses it when its engine is built.
   * @param {{allowHosts?: [string, string][], maxInputBytes: number}} options
   * @returns {{allowedHosts: [string, string][], maxInputBytes: number}}
   */
  settings({ allowHosts = [], maxInputBytes }) {
    // A bare host (this option's shape before it was tied to a provider) would destructure
    // into two letters and allow nothing it meant to.
    const pair = (entry) => Array.isArray(entry) && entry.length === 2 && entry.every((part) => typeof part === 'string');
    const bad = allowHosts.find((entry) => !pair(entry));
    if (bad !== undefined) throw new TypeError(`allowHosts holds [provider, host] pairs, not ${JSON.stringify(bad)}`);
    const settings = { allowedHosts: allowHosts.map(([provider, host]) => [provider, host]), maxInputBytes };
    const checked = this.#call('checkSettings', [settings], true);
    if (checked.err) throw new Error(checked.err);
    return settings;
  }
}
