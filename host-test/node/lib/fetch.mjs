//! `createFetch`: a `fetch` for OpenAI clients whose every model call runs the policy's
//! `next-step` loop, as the Rust executor (`host-test/executor`) runs it, and nothing more.
//!
//! A call is a Chat Completions or Responses request. For each step the executor asks the
//! policy (with the attempts so far, the stored route health, the clock and a seed), stores the
//! health the step returns, and then either finishes or sends. The policy's answer has already
//! been held to the contract by the toolkit (`policy.call` ends in `check-answer`): a send goes
//! to a candidate of the plan, to an endpoint the credential-egress guard approved, within the
//! host's floor. Only then is the credential's secret looked up and attached, and the request
//! sent to that exact URL after the step's delay, with its timeouts. What happened is recorded
//! as a fact for the next step. A streamed answer is held until it is complete, so that a fault
//! mid-stream can still fail over and no partial answer is ever delivered.
//!
//! Every call leaves a receipt (requested and effective model, every attempt with its outcome
//! and timings, learned rejections, usage, the policy's revision), given to `onReceipt`.

import { randomBytes } from 'node:crypto';
import { apiOf, sendAttempt } from './transport.mjs';

/** The most fallbacks a request may name (the Rust gateway's limit). */
export const MAX_REQUEST_FALLBACKS = 16;

/**
 * The executor's clock: Unix milliseconds for the policy, and its waits and timeouts, on one
 * scale (the Rust `Clock::scaled`). With a `scale` below 1 the policy still reasons in its own
 * milliseconds (a `Retry-After: 2` is 2000) and the executor waits 2000 × scale real ones; its
 * milliseconds pass 1/scale times as fast, so circuit spacings, budgets and waits agree.
 */
class Clock {
  #origin = performance.now();
  #originMs = Date.now();

  constructor(scale) {
    if (typeof scale !== 'number' || !(scale > 0 && scale <= 1)) throw new RangeError(`scale is a number in (0, 1], not ${scale}`);
    this.scale = scale;
  }

  /** Now, in the policy's Unix milliseconds. */
  nowMs() {
    return this.#originMs + Math.floor((performance.now() - this.#origin) / this.scale);
  }

  /** A duration the policy gave in its milliseconds, in real ones. */
  real(policyMs) {
    return policyMs * this.scale;
  }

  /** Waits `policyMs` of the policy's milliseconds; false when `signal` aborted the wait. */
  sleep(policyMs, signal) {
    if (signal?.aborted) return Promise.resolve(false);
    if (policyMs <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (waited) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        resolve(waited);
      };
      const aborted = () => done(false);
      const timer = setTimeout(() => done(true), this.real(policyMs));
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}

/**
 * A `fetch` that serves `POST …/chat/completions` and `POST …/responses` through `policy`'s
 * failover loop; give it to an OpenAI client as its `fetch`. The client's base URL and key are
 * not used: where each attempt goes, and with which credential, is the policy's answer.
 *
 * @param {import('../route-policy.mjs').Policy} policy a loaded policy (contract 0.2 or later)
 * @param {object} options
 * @param {object} options.chain the chain in the contract's vocabulary (`fallback-request`):
 *   `primary`, `fallbacks`, `credentials`, `providers`, and optionally `capability` (`chat`),
 *   `explicit-override`, `rejections`, `max-candidates`, `env-base-url`. Without a `primary`,
 *   the request's `model` is the primary. A request's own `"fallbacks": […]` replaces
 *   `fallbacks` (an empty list is valid) and is removed before the request is forwarded.
 * @param {Record<string, string> | Map<string, string>
 *   | ((profileId: string, how: {refresh: boolean}) => string | undefined | Promise<string | undefined>)} options.secrets
 *   each credential's secret by `profile-id`. Secrets never go into the policy, a receipt or
 *   an error; a function is asked again with `refresh: true` when the policy says a sign-in
 *   expired.
 * @param {number} [options.scale] waits and timeouts take `scale` × the policy's milliseconds
 *   (in (0, 1]; tests run a fake upstream at the same scale)
 * @param {typeof fetch} [options.fetch] the fetch that sends each attempt
 * @param {(receipt: object) => void} [options.onReceipt] gets each call's receipt
 * @returns {(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>}
 */
export function createFetch(policy, { chain, secrets, scale = 1, fetch: baseFetch = globalThis.fetch, onReceipt } = {}) {
  if (typeof policy?.call !== 'function') throw new TypeError('createFetch needs a policy from loadPolicy');
  if (chain === null || typeof chain !== 'object' || Array.isArray(chain)) throw new TypeError('chain is a fallback-request object: {primary, fallbacks, credentials, providers}');
  if (typeof baseFetch !== 'function') throw new TypeError('fetch is a function');
  const secretOf = secretLookup(secrets);
  const clock = new Clock(scale);
  // What the host keeps between calls: the route health the policy decides, and the
  // rejections it learned (past the host's floor), passed back in every later chain.
  const health = new Map();
  const learned = new LearnedStore();
  const executor = { policy, clock, health, learned, baseFetch, secretOf, onReceipt };

  return async function routePolicyFetch(input, init) {
    // As fetch reads its arguments (a URL, a string or a Request, and the init), and throws
    // the same TypeError for ones it could not send.
    const request = new Request(input, init);
    const asked = await readCall(request, chain, learned, clock.nowMs());
    if (asked.refused) return asked.refused;
    const { result, receipt } = await run(executor, asked.call, request.signal);
    deliver(onReceipt, receipt, secretOf.known);
    if (result.abandoned) throw request.signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
    return result.served ? servedResponse(result.served) : failedResponse(result, secretOf.known);
  };
}

/** The secret lookup `secrets` describes, remembering every secret it gave out. */
function secretLookup(secrets) {
  let lookup;
  if (typeof secrets === 'function') lookup = secrets;
  else if (secrets instanceof Map) lookup = (id) => secrets.get(id);
  else if (secrets !== null && typeof secrets === 'object') lookup = (id) => (Object.hasOwn(secrets, id) ? secrets[id] : undefined);
  else throw new TypeError('secrets maps each credential profile-id to its secret');
  const known = new Set();
  const secretOf = async (id, refresh) => {
    const secret = await lookup(id, { refresh });
    if (typeof secret !== 'string' || secret === '') return null;
    known.add(secret);
    return secret;
  };
  secretOf.known = known;
  return secretOf;
}

/**
 * The model call a request asks for, or the answer that says what is wrong with it: a body
 * that is not a JSON object, a path this fetch does not serve, a malformed field.
 */
async function readCall(request, configured, learned, nowMs) {
  const url = new URL(request.url);
  const api = apiOf(url.pathname);
  if (api === 'other') {
    return refuse(404, 'not_found', `route-policy serves model calls only: POST …/chat/completions or …/responses, not ${request.method} ${url.pathname}`);
  }
  if (request.method !== 'POST') return refuse(405, 'method_not_allowed', `${request.method} is not served on ${url.pathname}; a model call is a POST`);
  const text = await request.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return refuse(400, 'invalid_json', `the request body is not JSON (${error.message}); send the model call as a JSON object`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return refuse(400, 'invalid_request', 'the request body must be a JSON object');
  if ('model' in body && (typeof body.model !== 'string' || body.model === '')) return refuse(400, 'invalid_model', '`model` must be a non-empty string');
  if ('stream' in body && typeof body.stream !== 'boolean') return refuse(400, 'invalid_stream', '`stream` must be true or false');
  if (api === 'chat-completions' && !Array.isArray(body.messages)) return refuse(400, 'missing_messages', 'a chat completion needs `messages`, an array');
  if (api === 'responses' && (!('input' in body) || 'messages' in body)) return refuse(400, 'missing_input', 'a response needs `input` (and no `messages`)');
  let fallbacks = configured.fallbacks ?? [];
  if ('fallbacks' in body) {
    // The request's own chain: it replaces the configured fallbacks, and never goes upstream
    // (OpenAI refuses a body with a field it does not know).
    const asked = body.fallbacks;
    if (!Array.isArray(asked) || !asked.every((ref) => typeof ref === 'string')) return refuse(400, 'invalid_fallbacks', '`fallbacks` must be an array of model refs');
    if (asked.length > MAX_REQUEST_FALLBACKS) return refuse(400, 'invalid_fallbacks', `\`fallbacks\` may name at most ${MAX_REQUEST_FALLBACKS} models`);
    fallbacks = asked;
    delete body.fallbacks;
  }
  const primary = configured.primary ?? body.model;
  if (primary === undefined) return refuse(400, 'missing_model', 'neither the chain nor the request names a model');
  const chain = {
    capability: 'chat',
    ...configured,
    primary,
    fallbacks,
  };
  chain.rejections = [...(configured.rejections ?? []), ...learned.forCredentials(chain.credentials ?? [], nowMs)];
  return { call: { chain, body, api, streaming: body.stream === true } };
}

function refuse(status, code, message) {
  return { refused: errorResponse(status, { message, type: 'invalid_request_error', code }) };
}

/**
 * Runs one call to its end, the way the policy's steps say: `{result, receipt}`, the result
 * `{served}`, `{failed}` (the policy's failure), `{host}` (the host stopped the call) or
 * `{abandoned}` (the caller's signal aborted it).
 */
async function run({ policy, clock, health, learned, baseFetch, secretOf }, call, signal) {
  const startedMs = clock.nowMs();
  const jitterSeed = seed();
  const requested = call.chain['explicit-override'] ?? call.chain.primary;
  const receipt = {
    requested,
    effective: null,
    fallback: false,
    notice: null,
    failure: null,
    attempts: [],
    learned: [],
    usage: null,
    policy: policy.id?.revision ?? 'unknown',
    rules: [],
    'step-micros': [],
  };
  const end = (result) => {
    if (result.served) {
      Object.assign(receipt, { effective: result.served.candidate.model, fallback: result.served.fallback, notice: result.served.notice, usage: result.served.answer.usage });
    } else {
      receipt.failure = result.failed?.message ?? result.host?.message ?? 'the caller went away; the upstream request was dropped';
    }
    return { result, receipt };
  };
  const host = (code, message) => end({ host: { code, message } });
  const attempts = [];
  let answer = null;
  let lastSent = '';
  for (;;) {
    if (signal.aborted) return end({ abandoned: true });
    const state = {
      chain: call.chain,
      streaming: call.streaming,
      'started-ms': startedMs,
      'now-ms': clock.nowMs(),
      attempts,
      health: healthFor(health, call.chain.credentials ?? []),
      'jitter-seed': jitterSeed,
    };
    const asked = performance.now();
    let answered;
    try {
      answered = await policy.call('next-step', state);
    } catch (error) {
      return host('host-error', `the policy could not be asked: ${error.message}`);
    }
    receipt['step-micros'].push(Math.round((performance.now() - asked) * 1000));
    // The policy's own error, or the host's (a guard refusal, a trap, a deadline).
    if (answered.err) return host(answered.err.code, answered.err.message);
    const next = answered.ok;
    storeHealth(health, next.health);
    for (const rejection of next.learned) {
      // The host's floor (the toolkit's, the Rust executor's): only the provider's own answer
      // on the rule's route, about the model sent, not an echo of the request.
      const attempt = attempts.at(-1);
      const credential = (call.chain.credentials ?? []).find((c) => c['profile-id'] === attempt?.credential);
      const verdict = attempt && credential ? policy.toolkit.learnable(rejection, attempt, credential, lastSent) : { err: 'no attempt taught it' };
      if (verdict.err === undefined) {
        learned.keep(rejection, credential['profile-id'], clock.nowMs());
        receipt.learned.push(rejection);
      } else {
        receipt.rules.push('host.floor.unlearnable');
      }
    }
    receipt.rules.push(...next.rules);
    const { send, finish } = next.step;
    if (finish?.served) {
      if (!answer) return host('host-error', 'the policy finished the call as served, but no attempt had succeeded');
      return end({ served: { ...finish.served, answer } });
    }
    if (finish?.failed) return end({ failed: finish.failed });

    // A send: the toolkit has checked its endpoint for its candidate; the secret comes now.
    const endpoint = send.endpoint;
    const url = endpoint['request-url'];
    const api = apiOf(url);
    if (api !== 'other' && api !== call.api) {
      return host('host-error', `the policy routed ${send.candidate.model} to ${redactUrl(url)}, which speaks another API than this request; give the chain models of one API`);
    }
    let secret;
    try {
      secret = await secretOf(endpoint.credential, send['refresh-credential']);
    } catch (error) {
      return host('host-error', `the secret of credential \`${endpoint.credential}\` could not be read: ${error?.message ?? error}`);
    }
    if (secret === null) return host('missing-credential', `the host holds no secret for credential \`${endpoint.credential}\``);
    const headers = endpoint['auth-header'] === 'api-key' ? { 'api-key': secret } : { authorization: `Bearer ${secret}` };
    headers['content-type'] = 'application/json';
    if (call.streaming) headers.accept = 'text/event-stream';
    const t = send.timeouts;
    const outgoing = {
      url,
      headers,
      body: JSON.stringify(requestBody(call, endpoint)),
      streaming: call.streaming,
      api,
      deadlines: { firstByte: clock.real(t['first-byte-ms']), firstToken: clock.real(t['first-token-ms']), idle: clock.real(t['idle-ms']), total: clock.real(t['total-ms']) },
    };
    lastSent = outgoing.body;
    if (!(await clock.sleep(send['delay-ms'], signal))) return end({ abandoned: true });
    const attemptStarted = clock.nowMs();
    const sent = await sendAttempt(baseFetch, outgoing, signal);
    if (sent.abandoned) return end({ abandoned: true });
    const attempt = {
      model: send.candidate.model,
      credential: send.candidate.credential,
      'request-url': url,
      'started-ms': attemptStarted,
      'ended-ms': clock.nowMs(),
      outcome: sent.outcome,
    };
    attempts.push(attempt);
    receipt.attempts.push({
      model: attempt.model,
      credential: attempt.credential,
      'request-url': redactUrl(url),
      'delay-ms': send['delay-ms'],
      'started-ms': attempt['started-ms'],
      'ended-ms': attempt['ended-ms'],
      probe: send.probe,
      outcome: attempt.outcome,
      'skipped-events': sent.answer?.skipped ?? 0,
    });
    answer = sent.answer ?? null;
  }
}

/** The most routes whose health is kept (the Rust executor's `MAX_ROUTES`). */
export const MAX_ROUTES = 256;
/** The most learned rejections kept, and for how long (the contract's `MAX_LEARNED`, `LEARNED_TTL_MS`). */
export const MAX_LEARNED = 128;
export const LEARNED_TTL_MS = 60 * 60 * 1000;

/**
 * Stores a step's health updates, each replacing its route's; a route back to health is
 * forgotten, and past `MAX_ROUTES` the least recently updated goes. (The toolkit already kept
 * only the routes of the step's plan.)
 */
function storeHealth(health, updates) {
  for (const update of updates) {
    health.delete(update.route);
    if (update.failures === 0 && update['open-until-ms'] === null && update.opened === 0) continue;
    health.set(update.route, update);
    if (health.size > MAX_ROUTES) health.delete(health.keys().next().value);
  }
}

/** The health a call with these credentials is passed: its own routes'. */
function healthFor(health, credentials) {
  const ids = new Set(credentials.map((c) => c['profile-id']));
  return [...health.values()].filter((h) => ids.has(h.route.slice(h.route.lastIndexOf('@') + 1)));
}

/** Rejections kept past the host's floor: per credential, for an hour, at most `MAX_LEARNED`. */
class LearnedStore {
  #kept = [];

  /** The rejections that apply to a chain with these credentials, now (each with its plan). */
  forCredentials(credentials, nowMs) {
    return this.#kept
      .filter((k) => k.expiresMs > nowMs && credentials.some((c) => c['profile-id'] === k.credential && c.plan === k.rejection.plan))
      .map((k) => k.rejection);
  }

  /** Keeps one, replacing an earlier one for the same model, plan and credential. */
  keep(rejection, credential, nowMs) {
    const same = (k) => k.credential === credential && k.rejection.plan === rejection.plan && k.rejection.model.toLowerCase() === rejection.model.toLowerCase();
    this.#kept = this.#kept.filter((k) => k.expiresMs > nowMs && !same(k));
    this.#kept.push({ rejection, credential, expiresMs: nowMs + LEARNED_TTL_MS });
    if (this.#kept.length > MAX_LEARNED) this.#kept.splice(0, this.#kept.length - MAX_LEARNED);
  }
}

/**
 * The caller's body for one attempt: the upstream model named as the endpoint says; the tool
 * it names offered and chosen; and a streamed Chat Completions request asking for its usage.
 */
function requestBody(call, endpoint) {
  const body = structuredClone(call.body);
  body.model = endpoint['upstream-model'];
  const tool = endpoint.tool;
  if (tool !== null) {
    const spec = endpoint['tool-model'] === null ? { type: tool } : { type: tool, model: endpoint['tool-model'] };
    body.tools ??= [];
    if (Array.isArray(body.tools) && !body.tools.some((t) => t?.type === tool)) body.tools.push(spec);
    body.tool_choice = { type: tool };
  }
  if (call.streaming && call.api === 'chat-completions') {
    if (body.stream_options === null || typeof body.stream_options !== 'object') body.stream_options = {};
    body.stream_options.include_usage = true;
  }
  return body;
}

/** The served answer, whole, and whose it is. */
function servedResponse(served) {
  const { answer } = served;
  const headers = {
    'content-type': answer.contentType || 'application/json',
    'x-route-policy-model': printable(served.candidate.model),
    'x-route-policy-fallback': served.fallback ? 'true' : 'false',
  };
  // 204 and 205 carry no body.
  const body = answer.status === 204 || answer.status === 205 ? null : answer.body;
  return new Response(body, { status: answer.status, headers });
}

/** A call that was not served, in OpenAI's error shape, with a status that says whose problem it is. */
function failedResponse(result, secrets) {
  if (result.host) {
    return errorResponse(500, { message: scrub(result.host.message, secrets), type: 'route_policy_error', code: result.host.code });
  }
  const { verdict, message } = result.failed;
  const status = {
    'context-overflow': 400,
    'content-policy': 400,
    'invalid-request': 400,
    'rate-limited': 429,
    'quota-exhausted': 429,
    timeout: 504,
  }[verdict.reason] ?? 502;
  const headers = verdict['retry-after-ms'] === null ? {} : { 'retry-after': String(Math.ceil(verdict['retry-after-ms'] / 1000)) };
  return errorResponse(status, { message: scrub(message, secrets), type: 'route_policy_error', code: verdict.reason }, headers);
}

function errorResponse(status, error, headers = {}) {
  return new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** Gives the receipt to `onReceipt`, every secret this fetch holds taken out of it first. */
function deliver(onReceipt, receipt, secrets) {
  if (!onReceipt) return;
  try {
    onReceipt(scrub(receipt, secrets));
  } catch (error) {
    // A logging hook that fails does not fail the call it logs.
    process.emitWarning(`route-policy: onReceipt threw: ${error?.message ?? error}`);
  }
}

/**
 * `value` with every occurrence of a held secret replaced, in every string it holds. The
 * policy redacts what it echoes, but an upstream may echo a secret in an error body that the
 * receipt keeps as a fact, and a secret need not look like one.
 */
function scrub(value, secrets) {
  if (typeof value === 'string') {
    let text = value;
    for (const secret of secrets) text = text.replaceAll(secret, '[redacted]');
    return text;
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, secrets));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, secrets)]));
  return value;
}

/** A URL as a receipt shows it: scheme, host, port and path; no user info, query or fragment. */
export function redactUrl(raw) {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

/** Visible ASCII only, for a header. */
function printable(text) {
  return String(text).replace(/[^\x20-\x7e]/g, '?');
}

/** Random bits for the policy's jitter: 53 of them, the most a JSON integer carries. */
function seed() {
  return Number(randomBytes(8).readBigUInt64LE() & ((1n << 53n) - 1n));
}
