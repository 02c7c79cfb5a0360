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
//! Requests and answers are the JSON vocabulary of CONTRACT.md, as `route-policy eval` speaks
//! it (`lib/codec.mjs` maps it to jco's types). The policy runs in a worker thread, in the
//! sandbox of `lib/sandbox.mjs`; a call that runs past its deadline has its worker terminated
//! and answers `deadline-exceeded`, and the next call gets a new worker. The host checks every
//! routing answer with the credential-egress guard (`lib/guard.mjs`) before returning it.
//!
//! Defaults, as the wasmtime host's `Limits`:
//! - `deadlineMs`: 50 per call (the first call of a new worker gets `warmupMs`, 1000, while V8
//!   compiles the code);
//! - `memoryMiB`: 16; each linear memory's maximum is set to it when the component is
//!   transpiled (Node has no store limiter), so a policy allocating past it traps and the call
//!   answers `memory-exceeded`;
//! - `maxInputBytes`: 1 MiB per request; a `classify-error` body is cut to fit, other fields
//!   over the limit are refused;
//! - `fresh`: false; each worker keeps one warm instance. `true` gives each call a new one.
//! - `allowHosts`: []; hosts a credential may reach beyond those each request names.

import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { InvalidInput, decodeCall, err, fromJco, camel } from './lib/codec.mjs';
import { checkEndpoint, checkPlan } from './lib/guard.mjs';
import { LoadError, prepare } from './lib/transpile.mjs';
import { WIT } from './lib/wit.mjs';

export { InvalidInput, LoadError };
export { parseLine, answerLine, stringify } from './lib/codec.mjs';

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
 * @param {Partial<typeof DEFAULTS>} options
 * @returns {Promise<Policy>}
 */
export async function loadPolicy(path, options = {}) {
  const source = String(path);
  let bytes;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new LoadError(source, null, 'read', e.message);
  }
  const settings = { ...DEFAULTS, ...options };
  const prepared = await prepare(bytes, source, settings.memoryMiB * 16);
  const policy = new Policy(source, prepared, settings);
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
  if (!compatible(info.ok.contract, WIT.version)) {
    policy.close();
    throw new LoadError(source, prepared.sha256, 'contract', `it implements contract ${info.ok.contract}, this host speaks ${WIT.version}`);
  }
  policy.id = { source, sha256: prepared.sha256, revision: info.ok.revision, contract: info.ok.contract, rulesDigest: info.ok['rules-digest'] };
  return policy;
}

/** Semver compatibility: the same major (or the same minor while 0.x), at least as new. */
function compatible(policy, host) {
  const [p, h] = [policy, host].map((v) => v.split('.').map(Number));
  if (p.length !== 3 || p.some(Number.isNaN)) return false;
  return h[0] === 0 ? p[0] === 0 && p[1] === h[1] && p[2] >= h[2] : p[0] === h[0] && (p[1] > h[1] || (p[1] === h[1] && p[2] >= h[2]));
}

/** A loaded policy. Its methods take and return the JSON vocabulary. */
export class Policy {
  /** @type {{source: string, sha256: string, revision: string, contract: string, rulesDigest: string} | undefined} */
  id;
  #source;
  #prepared;
  #options;
  #worker = null;
  #queue = Promise.resolve();
  #seq = 0;

  constructor(source, prepared, options) {
    this.#source = source;
    this.#prepared = prepared;
    this.#options = options;
  }

  /** `resolve-endpoint`: the endpoint, or throws a `RoutePolicyError`. */
  resolveEndpoint(request) {
    return this.#verb('resolve-endpoint', request);
  }

  /** `filter-fallbacks`: the plan, or throws a `RoutePolicyError`. */
  filterFallbacks(request) {
    return this.#verb('filter-fallbacks', request);
  }

  /** `classify-error`: the verdict. */
  classifyError(failure) {
    return this.#verb('classify-error', failure);
  }

  /** `policy-info`: which policy this is. */
  policyInfo() {
    return this.#verb('policy-info');
  }

  async #verb(op, input) {
    const answer = await this.call(op, input);
    if (answer.err) throw new RoutePolicyError(answer.err);
    return answer.ok;
  }

  /**
   * One call, as `route-policy eval` answers it: `{"ok": …}` or `{"err": {code, message}}`.
   * Bad input is answered, not thrown.
   */
  call(op, input) {
    let decoded;
    try {
      decoded = decodeCall(op, input);
    } catch (e) {
      if (e instanceof InvalidInput) return Promise.resolve(err(e.code, e.message));
      throw e;
    }
    return this.answer(decoded);
  }

  /** Answers a decoded call (from `parseLine`): calls are served one at a time, in order. */
  answer(decoded) {
    const run = this.#queue.then(() => this.#answer(decoded));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #answer({ op, record, input, args }) {
    const bounded = bound(op, input, args, this.#options.maxInputBytes);
    if (bounded.err) return bounded;
    const reply = await this.#run(camel(op), bounded.args);
    if (reply.host) return err(reply.host.code, reply.host.message);
    if (reply.memory) {
      return err('memory-exceeded', `policy ${this.#name()} tried to use more than its ${this.#options.memoryMiB} MiB of memory and was stopped`);
    }
    if (reply.trap) return err('policy-trap', `policy ${this.#name()} trapped: ${reply.trap}`);
    if (reply.err) return err(reply.err.code, reply.err.message);
    const result = WIT.funcs.get(op).result;
    const okType = result.startsWith('result<') ? result.slice(7, -1).split(',')[0].trim() : result;
    const ok = fromJco(reply.ok, okType);
    const violation =
      op === 'resolve-endpoint' ? checkEndpoint(input, ok, this.#options.allowHosts) : op === 'filter-fallbacks' ? checkPlan(input, ok) : null;
    if (violation) return err('guard-refused', `policy ${this.#name()} answered unsafely and was refused: ${violation}`);
    void record;
    return { ok };
  }

  #name() {
    const sha = this.#prepared.sha256.slice(0, 12);
    return this.id ? `${this.id.revision} (sha256 ${sha}, ${this.#source})` : `${this.#source} (sha256 ${sha})`;
  }

  /** Posts one call to the worker, and stops the worker if it runs past its deadline. */
  async #run(fn, args) {
    const fresh = this.#worker === null;
    if (fresh) this.#worker = await this.#start();
    const worker = this.#worker;
    const seq = ++this.#seq;
    const limit = fresh ? this.#options.warmupMs : this.#options.deadlineMs;
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

/** The host's input limits (as `sandbox::check_input` and `bounded_failure` in Rust). */
function bound(op, input, args, limit) {
  const len = (s) => (typeof s === 'string' ? Buffer.byteLength(s) : 0);
  const refuse = (what, bytes) => err('invalid-input', `${what} ${bytes} bytes; at most ${limit} go into the policy sandbox`);
  const credentials = (list = []) => list.reduce((n, c) => n + len(c['profile-id']) + len(c.provider) + 8, 0);
  const providers = (list = []) => list.reduce((n, p) => n + len(p.id) + len(p['base-url']) + len(p.api) + len(p.deployment) + 8, 0);
  if (op === 'resolve-endpoint') {
    const bytes = len(input.model) + providers(input.providers) + credentials(input.credentials) + len(input['env-base-url']);
    return bytes > limit ? refuse('the request carries', bytes) : { args };
  }
  if (op === 'filter-fallbacks') {
    const bytes =
      len(input.primary) +
      (input.fallbacks ?? []).reduce((n, f) => n + len(f) + 8, 0) +
      len(input['explicit-override']) +
      credentials(input.credentials) +
      (input.rejections ?? []).reduce((n, r) => n + len(r.model) + 8, 0) +
      providers(input.providers) +
      len(input['env-base-url']);
    return bytes > limit ? refuse('the request carries', bytes) : { args };
  }
  if (op === 'classify-error') {
    const rest =
      (input.headers ?? []).reduce((n, [name, value]) => n + len(name) + len(value), 0) +
      len(input['network-error']) +
      len(input['request-url']) +
      len(input.model);
    if (rest > limit) return refuse("the failure's headers and fields carry", rest);
    const body = Buffer.from(args[0].body, 'utf8');
    if (body.length <= limit - rest) return { args };
    let end = limit - rest;
    while (end > 0 && (body[end] & 0xc0) === 0x80) end--;
    return { args: [{ ...args[0], body: body.subarray(0, end).toString('utf8') }] };
  }
  return { args };
}
