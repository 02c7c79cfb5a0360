//! One attempt over `fetch`, as the Rust executor's `http.rs` sends it: every timeout of the
//! attempt kept here (so that which one fired is known), and every failure reported as the fact
//! it is, in the contract's `outcome` shapes.
//!
//! - Redirects are not followed: a 3xx is an `http-error`, as a provider's other statuses are.
//! - A failure's body is read up to `ERROR_BODY_BYTES`; a success's whole, up to `MAX_BODY_BYTES`.
//! - `fetch` does not say when its connection opened, so the connect timeout cannot be told
//!   apart from the first-byte one here: a connection that never opens is cut at the first-byte
//!   timeout (or reported as `connect` when the fetch implementation's own connect timeout,
//!   undici's 10 s, fires first).

import { EVENT, SseReader, usageOf } from './sse.mjs';

/** The most of a failure's body read and reported, in bytes: a provider's error fits. */
export const ERROR_BODY_BYTES = 16 << 10;

/** The longest answer read, whole or streamed, in bytes. */
export const MAX_BODY_BYTES = 64 << 20;

/** How long a finished stream may take to send its trailing usage chunk, in real ms. */
const TRAILER_WAIT_MS = 500;

/** The most response headers reported with a failure. */
const MAX_HEADERS = 64;

const TIMEOUT = Symbol('timeout');

/**
 * The API a request URL speaks, by its path; it decides how a stream ends.
 * @returns {'chat-completions' | 'responses' | 'other'}
 */
export function apiOf(url) {
  const path = String(url).split(/[?#]/)[0];
  if (path.endsWith('/chat/completions')) return 'chat-completions';
  if (path.endsWith('/responses')) return 'responses';
  return 'other';
}

/**
 * Sends one attempt and reports what happened; it never throws. The result is
 * `{outcome, answer?}` (an answer for a success: `{status, contentType, body, usage, events}`),
 * or `{abandoned: true}` when the caller's `signal` aborted it.
 * @param {typeof fetch} fetchImpl
 * @param {{url: string, headers: Record<string, string>, body: string, streaming: boolean,
 *   api: string, deadlines: {firstByte: number, firstToken: number, idle: number, total: number}}} request
 *   the request, its credential attached; deadlines in real ms
 * @param {AbortSignal} [signal] the caller's
 */
export async function sendAttempt(fetchImpl, request, signal) {
  // One controller per attempt: a timeout (or the caller going away) drops the request.
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const sent = await send(fetchImpl, request, controller.signal);
    return signal?.aborted ? { abandoned: true } : sent;
  } catch (error) {
    if (signal?.aborted) return { abandoned: true };
    // Only a broken fetch implementation gets here; it is still a fact about the attempt.
    return { outcome: { network: { kind: 'other', detail: describe(error) } } };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Releases whatever is still open: a timed-out read, an error body left unread.
    controller.abort();
  }
}

async function send(fetchImpl, request, abort) {
  const d = request.deadlines;
  const started = performance.now();
  const totalAt = started + d.total;
  const headersAt = Math.min(started + d.firstByte, totalAt);
  let response;
  try {
    response = await until(fetchImpl(request.url, { method: 'POST', headers: request.headers, body: request.body, redirect: 'manual', signal: abort }), headersAt);
  } catch (error) {
    return { outcome: networkOutcome(error) };
  }
  if (response === TIMEOUT) return { outcome: { timeout: headersAt === totalAt ? 'total' : 'first-byte' } };
  if (response.status < 200 || response.status > 299) return { outcome: await errorOutcome(response, d, totalAt) };
  const contentType = response.headers.get('content-type') ?? '';
  if (request.streaming || contentType.startsWith('text/event-stream')) {
    return readStream(response, request.api, contentType, started, d);
  }
  return readWhole(response, contentType, d, totalAt);
}

/**
 * Waits for `promise` until `deadline` (on `performance.now()`'s clock): its value, or
 * `TIMEOUT`. A promise left behind may reject later (its request aborted); that is expected.
 */
function until(promise, deadline) {
  promise.catch(() => {});
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - performance.now()), TIMEOUT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A failure's status, headers (cookies left out) and a bounded prefix of its body. */
async function errorOutcome(response, d, totalAt) {
  const headers = [];
  for (const [name, value] of response.headers) {
    if (headers.length === MAX_HEADERS) break;
    if (name !== 'set-cookie') headers.push([name, value]);
  }
  const chunks = [];
  let size = 0;
  const reader = response.body?.getReader();
  while (reader && size < ERROR_BODY_BYTES) {
    // The status is the fact that matters; a body cut short is reported as it came.
    const read = await until(reader.read(), Math.min(performance.now() + d.idle, totalAt)).catch(() => TIMEOUT);
    if (read === TIMEOUT || read.done) break;
    chunks.push(read.value);
    size += read.value.byteLength;
  }
  const body = new TextDecoder().decode(concat(chunks).subarray(0, ERROR_BODY_BYTES));
  return { 'http-error': { status: response.status, headers, body } };
}

/** A whole JSON answer, read with the idle and total timeouts. */
async function readWhole(response, contentType, d, totalAt) {
  const fault = (kind, detail) => ({ outcome: { 'stream-fault': { kind, events: 0, detail } } });
  const chunks = [];
  let size = 0;
  const reader = response.body?.getReader();
  while (reader) {
    const idleAt = Math.min(performance.now() + d.idle, totalAt);
    let read;
    try {
      read = await until(reader.read(), idleAt);
    } catch (error) {
      return fault('truncated', describe(error));
    }
    if (read === TIMEOUT) return { outcome: { timeout: idleAt === totalAt ? 'total' : 'idle' } };
    if (read.done) break;
    size += read.value.byteLength;
    if (size > MAX_BODY_BYTES) return fault('truncated', `the answer is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(read.value);
  }
  const body = concat(chunks);
  const text = new TextDecoder().decode(body);
  let json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fault('malformed-event', error.message);
  }
  if (json?.error !== undefined && json?.error !== null) {
    return fault('error-event', new TextDecoder().decode(body.subarray(0, ERROR_BODY_BYTES)));
  }
  // Chat Completions and Responses both put it at `usage`, in their own words.
  const usage = usageOf(json?.usage);
  return { outcome: { success: usage }, answer: { status: response.status, contentType, body, usage, events: 0 } };
}

/** A streamed answer, read event by event with the first-token, idle and total timeouts. */
async function readStream(response, api, contentType, started, d) {
  const totalAt = started + d.total;
  const firstTokenAt = Math.min(started + d.firstToken, totalAt);
  const sse = new SseReader(api);
  const fault = (kind, detail) => ({ outcome: { 'stream-fault': { kind, events: sse.events, detail } } });
  let size = 0;
  const reader = response.body?.getReader();
  if (!reader) return fault('truncated', 'the stream had no body');
  for (let done = false; !done; ) {
    // After the answer finished, only a short wait for its trailing usage chunk; before its
    // first content, the first-token timeout when it comes sooner than the idle one.
    const now = performance.now();
    const idleAt = now + (sse.finished ? Math.min(TRAILER_WAIT_MS, d.idle) : d.idle);
    let [wait, kind] = !sse.content && !sse.finished && firstTokenAt < idleAt ? [firstTokenAt, 'first-token'] : [idleAt, 'idle'];
    if (totalAt <= wait) [wait, kind] = [totalAt, 'total'];
    let read;
    try {
      read = await until(reader.read(), wait);
    } catch (error) {
      if (sse.finished) break;
      return fault('truncated', describe(error));
    }
    if (read === TIMEOUT) {
      if (sse.finished) break;
      return { outcome: { timeout: kind } };
    }
    if (read.done) {
      if (sse.finished && !sse.pending()) break;
      return fault('truncated', `the stream ended after ${sse.events} events without finishing`);
    }
    size += read.value.byteLength;
    if (size > MAX_BODY_BYTES) return fault('truncated', `the stream is larger than ${MAX_BODY_BYTES} bytes`);
    for (const event of sse.push(read.value)) {
      // An event that is not JSON is skipped (the reader counts it), as clients skip it.
      if (event.kind === EVENT.ERROR) return fault('error-event', event.data);
      if (event.kind === EVENT.DONE) done = true;
    }
  }
  const answer = { status: response.status, contentType, body: new TextEncoder().encode(sse.kept()), usage: sse.usage, events: sse.events, skipped: sse.skipped };
  return { outcome: { success: sse.usage }, answer };
}

/**
 * A failed `fetch`, named by its kind. undici (Node's fetch) throws `TypeError: fetch failed`
 * with the socket's error as its `cause`, whose `code` says what happened.
 */
export function networkOutcome(error) {
  const codes = [];
  for (let e = error, depth = 0; e && depth < 8; e = e.cause, depth++) {
    if (e.code) codes.push(String(e.code));
    // A connection tried on several addresses fails with all of their errors.
    if (Array.isArray(e.errors)) codes.push(...e.errors.map((inner) => String(inner?.code ?? '')));
  }
  if (codes.includes('UND_ERR_CONNECT_TIMEOUT')) return { timeout: 'connect' };
  const detail = describe(error);
  const has = (...names) => codes.some((code) => names.some((name) => code === name || code.startsWith(name)));
  const lower = detail.toLowerCase();
  let kind;
  if (has('ECONNREFUSED') || lower.includes('refused')) kind = 'refused';
  else if (has('ENOTFOUND', 'EAI_') || /\b(dns|lookup|resolve)\b/.test(lower)) kind = 'dns';
  else if (has('ERR_TLS', 'ERR_SSL', 'CERT_', 'UNABLE_TO_', 'DEPTH_ZERO', 'SELF_SIGNED') || /certificate|tls|handshake/.test(lower)) kind = 'tls';
  else if (has('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED') || /reset|closed|broken pipe|incomplete/.test(lower)) kind = 'reset';
  else kind = 'other';
  return { network: { kind, detail } };
}

/** An error and its causes, in one line. */
function describe(error) {
  const parts = [];
  for (let e = error, depth = 0; e && depth < 8; e = e.cause, depth++) parts.push(e.message || String(e));
  return parts.join(': ');
}

function concat(chunks) {
  if (chunks.length === 1) return chunks[0];
  const whole = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.byteLength;
  }
  return whole;
}
