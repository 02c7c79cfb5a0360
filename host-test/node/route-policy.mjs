//! route-policy for Node agent hosts: load the policy component that wasmtime runs, and ask it
//! where to send a request, which fallbacks to try, and what a failure means.
//!
//! ```js
//! import { loadPolicy } from 'route-policy-node';
//! const policy = await loadPolicy('route_policy_guest.wasm');
//! const endpoint = await policy.resolveEndpoint({
//!   model: 'openai/gpt-5.5', capability: 'chat',
//!   credentials: [{ 'profile-id': 'codex', provider: 'openai-codex', kind: 'oauth', plan: 'plus' }],
//! });
//! // endpoint['request-url'] === 'https://chatgpt.com/backend-api/codex/responses'
//! ```
//!
//! `createFetch(policy, {chain, secrets})` (`lib/fetch.mjs`) is a `fetch` for OpenAI clients
//! whose every model call runs the policy's `next-step` loop: the thin executor of CONTRACT.md.
//!
//! Requests and answers are the JSON vocabulary of CONTRACT.md, as `route-policy eval` speaks
//! it. Everything the host checks or writes goes through the toolkit (`lib/toolkit.mjs`), the
//! contract's host half compiled from the wasmtime host's own Rust: each call is decoded, then
//! bounded, then put to the policy in a worker thread, in the sandbox of `lib/sandbox.mjs`, and
//! its answer is checked by the credential-egress guard (and a verdict held to the host's floor)
//! and written as JSON, in the wasmtime host's order. A call that runs past its deadline has its
//! worker terminated and answers `deadline-exceeded`, and the next call gets a new worker.
//!
//! Defaults, as the wasmtime host's `Limits`:
//! - `deadlineMs`: 50 per call (the first call of each verb in a new worker gets `warmupMs`, 1000, while V8
//!   compiles the code);
//! - `memoryMiB`: 16; each linear memory's maximum is set to it when the component is
//!   transpiled (Node has no store limiter), so a policy allocating past it traps and the call
//!   answers `memory-exceeded`;
//! - `maxInputBytes`: 1 MiB per request; a `classify-error` body is cut to fit, other fields
//!   over the limit are refused;
//! - `fresh`: false; each worker keeps one warm instance. `true` gives each call a new one.
//! - `allowHosts`: []; `[provider, host]` pairs: hosts a provider's credentials may also reach
//!   (`route-policy --allow-host PROVIDER=HOST`);
//! - `toolkit`: the toolkit `cargo build` made, loaded once per process (`loadToolkit`).

import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { VERBS, loadToolkit } from './lib/toolkit.mjs';
import { LoadError, prepare } from './lib/transpile.mjs';

export { LoadError, loadToolkit };
export { createFetch } from './lib/fetch.mjs';

const DEFAULTS = { deadlineMs: 50, warmupMs: 1000, memoryMiB: 16, maxInputBytes: 1 << 20, fresh: false, allowHosts: [] };

/** An answer the policy (or the host) gave as `{"err": …}`, thrown by the verb methods. */
export class RoutePolicyError extends Error {
  constructor({ code, message }) {
    super(message);
    this.name = 'RoutePolicyError';
    this.code = code;
  }
}

/**
 * Loads the policy component at `path`: transpiles it, checks its imports and contract, and
 * starts its worker.
 * @param {string | URL} path the `.wasm` component
 * @param {Partial<typeof DEFAULTS> & {toolkit?: import('./lib/toolkit.mjs').Toolkit}} options
 * @returns {Promise<Policy>}
 */
export async function loadPolicy(path, options = {}) {
  const source = String(path);
  const settings = { ...DEFAULTS, ...options };
  const toolkit = settings.toolkit ?? (await loadToolkit());
  // Bad settings are the host's mistake, refused before any policy is read.
  const hostSettings = toolkit.settings(settings);
  let bytes;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new LoadError(source, null, 'read', e.message);
  }
  const prepared = await prepare(bytes, source, { memoryPages: settings.memoryMiB * 16 });
  const policy = new Policy(source, prepared, settings, toolkit, hostSettings);
  let info;
  try {
    info = await policy.call('policy-info');
  } catch (e) {
    policy.close();
    throw e;
  }
  if (!info.ok) {
    policy.close();
    throw new LoadError(source, prepared.sha256, 'contract', `policy-info failed: ${info.err.message}`);
  }
  const host = toolkit.contract();
  if (!compatible(info.ok.contract, host)) {
    policy.close();
    throw new LoadError(source, prepared.sha256, 'contract', `it implements contract ${info.ok.contract}, this host speaks ${host}`);
  }
  policy.id = { source, sha256: prepared.sha256, revision: info.ok.revision, contract: info.ok.contract, rulesDigest: info.ok['rules-digest'] };
  return policy;
}

/**
 * Whether a policy's contract version serves the host, as the wasmtime host decides: the same
 * major version, and for 0.x the same minor (0.x minors may break).
 */
function compatible(policy, host) {
  const key = (version) => {
    const [major = '', minor = ''] = version.split('.');
    return major === '0' ? `0.${minor}` : major;
  };
  return policy !== '' && key(policy) === key(host);
}

/** A loaded policy. Its methods take and return the JSON vocabulary. */
export class Policy {
  /** @type {{source: string, sha256: string, revision: string, contract: string, rulesDigest: string} | undefined} */
  id;
  #source;
  #prepared;
  #options;
  #toolkit;
  #settings;
  #worker = null;
  /** The verbs called since the worker started. */
  #warmed = new Set();
  #queue = Promise.resolve();
  #seq = 0;

  constructor(source, prepared, options, toolkit, settings) {
    this.#source = source;
    this.#prepared = prepared;
    this.#options = options;
    this.#toolkit = toolkit;
    this.#settings = settings;
  }

  /** The toolkit this policy's calls are decoded, bounded and checked with. */
  get toolkit() {
    return this.#toolkit;
  }

  // One method per verb of the contract, named as jco names its export (`resolveEndpoint`,
  // `filterFallbacks`, `classifyError`, `policyInfo`, `nextStep`; the toolkit's `VERBS`): each
  // takes the verb's input in the JSON vocabulary and returns its answer, or throws a
  // `RoutePolicyError` for the policy's own error. A new verb needs no code here.
  static {
    for (const [op, { fn }] of Object.entries(VERBS)) {
      Object.defineProperty(this.prototype, fn, {
        value(input) {
          return this.#verb(op, input);
        },
        writable: true,
        configurable: true,
      });
    }
  }

  async #verb(op, input) {
    const answer = await this.call(op, input);
    if (answer.err) throw new RoutePolicyError(answer.err);
    return answer.ok;
  }

  /**
   * One call, as `route-policy eval` answers it: `{"ok": …}` or `{"err": {code, message}}`.
   * Input the contract refuses is answered, not thrown; it must be serializable as JSON.
   * @param {string} op
   * @param {unknown} [input]
   */
  async call(op, input) {
    return JSON.parse(await this.callJson(op, input));
  }

  /** As `call`, the answer as the JSON text the wasmtime CLI writes. */
  callJson(op, input) {
    const decoded = this.#toolkit.decodeCall(op, input === undefined ? '' : JSON.stringify(input));
    if (decoded.err) return Promise.resolve(this.#toolkit.errorJson(decoded.err.code, decoded.err.message));
    return this.answerJson(decoded.ok);
  }

  /** Answers a decoded call (the toolkit's `call`, from `parseLine` or `decodeCall`). */
  async answer(call) {
    return JSON.parse(await this.answerJson(call));
  }

  /** As `answer`, as JSON text. Calls are served one at a time, in order. */
  answerJson(call) {
    const run = this.#queue.then(() => this.#answer(call));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The wasmtime host's steps, in its order: bound, call in the sandbox, guard and write. */
  async #answer(call) {
    const toolkit = this.#toolkit;
    const bounded = toolkit.bound(call, this.#settings);
    if (bounded.err !== undefined) return toolkit.errorJson('invalid-input', bounded.err);
    const verb = VERBS[call.tag];
    const reply = await this.#run(verb.fn, bounded.ok.val === undefined ? [] : [bounded.ok.val]);
    if (reply.host) return toolkit.errorJson(reply.host.code, reply.host.message);
    if (reply.memory) {
      return toolkit.errorJson('memory-exceeded', `policy ${this.#name()} tried to use more than its ${this.#options.memoryMiB} MiB of memory and was stopped`);
    }
    if (reply.trap) return toolkit.errorJson('policy-trap', `policy ${this.#name()} trapped: ${reply.trap}`);
    // The policy's own error (a ComponentError's payload) is the `err` arm of its `result`.
    const value = verb.result ? ('err' in reply ? { tag: 'err', val: reply.err } : { tag: 'ok', val: reply.ok }) : reply.ok;
    // The guard checks the request as the caller sent it, as the wasmtime host does.
    return toolkit.checkAnswer(call, { tag: verb.answer, val: value }, this.#settings, this.#name());
  }

  /** The policy as every host names it (the toolkit's `policy-name`: its words escaped). */
  #name() {
    return this.#toolkit.policyName(this.id?.revision ?? '', this.#prepared.sha256, this.#source);
  }

  /** Posts one call to the worker, and stops the worker if it runs past its deadline. */
  async #run(fn, args) {
    if (this.#worker === null) {
      this.#worker = await this.#start();
      this.#warmed = new Set();
    }
    const worker = this.#worker;
    const seq = ++this.#seq;
    // V8 compiles each export's glue on its first call: a verb's first call in a worker gets
    // the warm-up allowance, not only the worker's first call.
    const cold = !this.#warmed.has(fn);
    this.#warmed.add(fn);
    const limit = cold ? this.#options.warmupMs : this.#options.deadlineMs;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        worker.off('message', onMessage);
        worker.terminate();
        if (this.#worker === worker) this.#worker = null;
        resolve({ host: { code: 'deadline-exceeded', message: `policy ${this.#name()} ran past its ${limit} ms deadline and was stopped` } });
      }, limit);
      const onMessage = (reply) => {
        if (reply.seq !== seq) return;
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(reply);
      };
      worker.on('message', onMessage);
      worker.postMessage({ seq, fn, args, renew: this.#options.fresh && !fresh });
    });
  }

  async #start() {
    const { glue, modules } = this.#prepared;
    const memoryBytes = this.#options.memoryMiB << 20;
    const worker = new Worker(new URL('./lib/worker.mjs', import.meta.url), { workerData: { glue, modules, memoryBytes }, stdout: true, stderr: true });
    worker.unref();
    await new Promise((resolve, reject) => {
      worker.once('message', (m) => (m.ready ? resolve() : reject(new Error('the worker did not start'))));
      worker.once('error', (e) => reject(new LoadError(this.#source, this.#prepared.sha256, 'world', e.message)));
    });
    worker.on('error', () => {
      if (this.#worker === worker) this.#worker = null;
    });
    return worker;
  }

  /** Stops the worker and removes the transpiled glue. */
  close() {
    this.#worker?.terminate();
    this.#worker = null;
    this.#prepared.dispose();
  }
}
