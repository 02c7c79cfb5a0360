//! Reading a streamed answer, as the Rust executor's `sse.rs` reads it: Server-Sent Events of
//! Chat Completions or Responses, and their faults (an error inside the stream, a stream that
//! ends before its terminating event). An event that is not JSON is skipped, as clients skip
//! it: counted (`skipped`), left out of the kept answer, and the rest goes on unchanged.
//!
//! A stream is complete when it says so: `[DONE]`, a chunk with a `finish_reason` (Chat
//! Completions), or `response.completed` / `response.incomplete` (Responses). The reader never
//! waits for a `[DONE]` that a finished stream does not send; the transport only waits briefly
//! for the usage chunk that may follow the finishing one.

/** What one event meant. `malformed` and `error` carry the event's data, cut short. */
export const EVENT = Object.freeze({ EMPTY: 'empty', CONTENT: 'content', FINISHED: 'finished', DONE: 'done', MALFORMED: 'malformed', ERROR: 'error' });

/** The longest stretch of an event's data kept for the policy, in UTF-16 units. */
const DETAIL_CHARS = 4096;

/** Splits a byte stream into events and reads each, keeping the usage it reports. */
export class SseReader {
  /** Events read so far. */
  events = 0;
  /** Whether content the user would see arrived. */
  content = false;
  /** Whether the answer finished. */
  finished = false;
  /** The usage, when the provider reported it: `{'input-tokens', 'output-tokens'}`. */
  usage = null;
  /** Events that were not JSON, skipped. */
  skipped = 0;
  #kept = '';
  #api;
  #decoder = new TextDecoder();
  #buffer = '';

  /** @param {'chat-completions' | 'responses' | 'other'} api the API, by the request's path */
  constructor(api) {
    this.#api = api;
  }

  /**
   * Takes a chunk of the stream; returns the events it completed, in order, as
   * `{kind, data?}`. A multi-byte character split across chunks is decoded whole.
   * @param {Uint8Array} chunk
   */
  push(chunk) {
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    const events = [];
    for (let end = eventEnd(this.#buffer); end; end = eventEnd(this.#buffer)) {
      const block = this.#buffer.slice(0, end.at);
      const whole = this.#buffer.slice(0, end.at + end.gap);
      this.#buffer = this.#buffer.slice(end.at + end.gap);
      const event = this.#read(block);
      if (event?.kind === EVENT.MALFORMED) this.skipped += 1;
      else this.#kept += whole;
      if (event) events.push(event);
    }
    return events;
  }

  /** The text of every well-formed event completed so far: the held answer. */
  kept() {
    return this.#kept;
  }

  /** Whether part of an unfinished event is waiting (a stream cut inside an event). */
  pending() {
    return this.#buffer.trim() !== '';
  }

  /** Reads one event block (its lines, without the blank line that ended it). */
  #read(block) {
    const data = [];
    for (const line of block.split(/\r?\n|\r/)) {
      if (line.startsWith('data:')) data.push(line.startsWith('data: ') ? line.slice(6) : line.slice(5));
    }
    // A comment (`: connected`) or an `event:` line alone is no event.
    if (data.length === 0) return null;
    const text = data.join('\n');
    this.events += 1;
    if (text.trim() === '[DONE]') return { kind: EVENT.DONE };
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      return { kind: EVENT.MALFORMED, data: cut(text) };
    }
    return this.#meaning(json, text);
  }

  /** What a JSON event means for this API. */
  #meaning(json, text) {
    const kind = typeof json?.type === 'string' ? json.type : '';
    if ((json?.error !== undefined && json.error !== null) || kind === 'error' || kind === 'response.failed') {
      return { kind: EVENT.ERROR, data: cut(text) };
    }
    if (this.#api === 'responses') {
      if (kind === 'response.completed' || kind === 'response.incomplete') {
        this.usage = usageOf(json.response?.usage) ?? this.usage;
        this.finished = true;
        return { kind: EVENT.DONE };
      }
      if (kind.endsWith('.delta')) {
        this.content = true;
        return { kind: EVENT.CONTENT };
      }
      return { kind: EVENT.EMPTY };
    }
    // Chat Completions (and anything else that streams chunks with `choices`).
    this.usage = usageOf(json?.usage) ?? this.usage;
    const choices = Array.isArray(json?.choices) ? json.choices : [];
    const content = choices.some((c) => {
      const delta = c?.delta;
      return (typeof delta?.content === 'string' && delta.content !== '') || (delta?.tool_calls !== undefined && delta.tool_calls !== null);
    });
    const finished = choices.some((c) => typeof c?.finish_reason === 'string');
    this.content ||= content;
    if (finished) {
      this.finished = true;
      return { kind: EVENT.FINISHED };
    }
    return { kind: content ? EVENT.CONTENT : EVENT.EMPTY };
  }
}

/** Where the first event of `text` ends: its length, and that of the blank line after it. */
function eventEnd(text) {
  const lf = text.indexOf('\n\n');
  const crlf = text.indexOf('\r\n\r\n');
  if (lf < 0 && crlf < 0) return null;
  if (crlf < 0 || (lf >= 0 && lf <= crlf)) return { at: lf, gap: 2 };
  return { at: crlf, gap: 4 };
}

/**
 * Token counts from a `usage` object of either API, as the contract's `usage`, or null. Input
 * tokens are required; output tokens default to 0.
 */
export function usageOf(value) {
  if (value === null || typeof value !== 'object') return null;
  const count = (...names) => names.map((n) => value[n]).find((v) => Number.isSafeInteger(v) && v >= 0);
  const input = count('prompt_tokens', 'input_tokens');
  if (input === undefined) return null;
  return { 'input-tokens': input, 'output-tokens': count('completion_tokens', 'output_tokens') ?? 0 };
}

/** At most `DETAIL_CHARS` of `text`, never ending inside a surrogate pair. */
export function cut(text) {
  if (text.length <= DETAIL_CHARS) return text;
  const end = /[\uD800-\uDBFF]/.test(text[DETAIL_CHARS - 1]) ? DETAIL_CHARS - 1 : DETAIL_CHARS;
  return text.slice(0, end);
}
