//! The JSON vocabulary of CONTRACT.md (the same as `route-policy eval`) and jco's JS values,
//! both ways, and the strict decoding rules of `guest/src/decode.rs`, in the same words.
//!
//! The mapping, derived from `wit/route-policy.wit`:
//!
//! | WIT                      | JSON (CONTRACT.md)                   | jco                          |
//! |--------------------------|--------------------------------------|------------------------------|
//! | `record` field `base-url`| key `"base-url"`                     | property `baseUrl`           |
//! | `enum` case `api-key`    | `"api-key"`                          | `'api-key'`                  |
//! | `option<T>`              | `null`, or absent in a request       | `undefined`                  |
//! | `list<T>`                | array; absent in a request is `[]`   | `Array`                      |
//! | `tuple<string, string>`  | `["name", "value"]`                  | `[name, value]`              |
//! | `u16`, `u32`             | integer                              | `number`                     |
//! | `u64`                    | integer up to 2^53 − 1               | `bigint`                     |
//! | `result<T, policy-error>`| `{"ok": T}` or `{"err": {code, message}}` | returns `T`, or throws a `ComponentError` whose `payload` is the `policy-error` |
//!
//! Answers are written with keys in code-point order and every `option` present (as `null`),
//! byte for byte as serde_json writes them in the Rust hosts.

import { WIT, generic, splitTop } from './wit.mjs';

/** The operations, by their WIT names. */
export const OPS = ['resolve-endpoint', 'filter-fallbacks', 'classify-error', 'policy-info'];

/** Fields JSON may omit although their WIT type is neither a `list` nor an `option`. */
export const JSON_DEFAULTS = [
  ['provider-failure', 'body', ''],
  ['provider-failure', 'attempt', 1],
];

/** The largest integer a `u64` field takes: what JSON carries exactly. */
export const MAX_JSON_INTEGER = Number.MAX_SAFE_INTEGER;

/** The deepest nesting a line may have, as serde_json allows. */
export const MAX_DEPTH = 127;

const REDACTED = '[redacted]';

/** A request that cannot be decoded: an `invalid-input` answer, with the line's `id` if known. */
export class InvalidInput extends Error {
  constructor(message, id = undefined) {
    super(message);
    this.name = 'InvalidInput';
    this.code = 'invalid-input';
    this.id = id;
  }
}

/** `profile-id` → `profileId`, as jco names record fields. */
export const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

/** The record a verb takes as input, from the WIT's function signatures. */
export function inputRecord(op) {
  return WIT.funcs.get(op)?.params[0]?.[1] ?? null;
}

// --- Quoting, kinds and expectations: the words of guest/src/decode.rs. ---

/** A value the input gave, quoted only when it is a plain name; else `[redacted]`. */
export function quoted(value) {
  return `\`${plainOrRedacted(value)}\``;
}

function plainOrRedacted(value) {
  const plain =
    /^[A-Za-z][A-Za-z0-9_.-]{0,39}$/.test(value) && (value.match(/[0-9]/g)?.length ?? 0) <= 4;
  return plain ? value : REDACTED;
}

function pathText(path) {
  return path
    .map((step, at) => (typeof step === 'number' ? `[${step}]` : at === 0 ? plainOrRedacted(step) : `.${plainOrRedacted(step)}`))
    .join('');
}

/** What a JSON value is, for messages (as `kind` in `guest/src/wire.rs`). */
export function kind(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'boolean':
      return 'a boolean';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    default:
      return 'an object';
  }
}

function shownKind(value) {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) <= MAX_JSON_INTEGER) return String(value);
    return Number.isInteger(value) ? 'a number beyond 2^53' : 'a fractional number';
  }
  return kind(value);
}

const MAX = { u16: 65535, u32: 4294967295, u64: MAX_JSON_INTEGER };

function oneOf(names) {
  return `one of ${names.map((n) => `\`${n}\``).join(', ')}`;
}

function expected(ty) {
  const inner = generic(ty, 'option');
  if (inner) return `${expected(inner)} or null`;
  if (generic(ty, 'list')) return 'an array';
  const members = generic(ty, 'tuple');
  if (members) return `an array of ${splitTop(members).length} items`;
  if (ty === 'string') return 'a string';
  if (ty in MAX) return `an integer from 0 to ${MAX[ty]}`;
  const cases = WIT.enums.get(ty);
  return cases ? oneOf(cases) : 'an object';
}

function mayOmit(record, field, ty) {
  return Boolean(generic(ty, 'option') || generic(ty, 'list')) || JSON_DEFAULTS.some(([r, f]) => r === record && f === field);
}

/** Code-point order, as Rust orders strings (JS's default sort compares UTF-16 units). */
export function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let at = 0; at < Math.min(x.length, y.length); at++) {
    const d = x[at].codePointAt(0) - y[at].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * Checks a JSON value against a WIT type; the first problem, as `{path, what}`, or null.
 * The same walk, in the same order, as `decode::check`.
 */
export function check(value, ty, path = []) {
  const wrong = () => ({ path: [...path], what: `expected ${expected(ty)}, not ${shownKind(value)}` });
  const inner = generic(ty, 'option');
  if (inner) return value === null ? null : check(value, inner, path);
  const item = generic(ty, 'list');
  if (item) {
    if (!Array.isArray(value)) return wrong();
    for (let at = 0; at < value.length; at++) {
      const problem = check(value[at], item, [...path, at]);
      if (problem) return problem;
    }
    return null;
  }
  const members = generic(ty, 'tuple');
  if (members) {
    const types = splitTop(members);
    if (!Array.isArray(value)) return wrong();
    if (value.length !== types.length) {
      return { path: [...path], what: `expected ${expected(ty)}, not an array of ${value.length}` };
    }
    for (let at = 0; at < types.length; at++) {
      const problem = check(value[at], types[at], [...path, at]);
      if (problem) return problem;
    }
    return null;
  }
  if (ty === 'string') return typeof value === 'string' ? null : wrong();
  if (ty in MAX) {
    const ok = typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX[ty];
    return ok ? null : wrong();
  }
  const cases = WIT.enums.get(ty);
  if (cases) {
    if (typeof value !== 'string') return wrong();
    if (cases.includes(value)) return null;
    return { path: [...path], what: `unknown value ${quoted(value)}; expected ${oneOf(cases)}` };
  }
  const fields = WIT.records.get(ty);
  if (!fields) throw new Error(`the WIT type \`${ty}\` is neither built in nor declared`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrong();
  for (const key of Object.keys(value).sort(byCodePoint)) {
    const field = fields.find(([name]) => name === key);
    if (!field) {
      return { path: [...path], what: `unknown field ${quoted(key)}; expected ${oneOf(fields.map(([n]) => n))}` };
    }
    const problem = check(value[key], field[1], [...path, key]);
    if (problem) return problem;
  }
  const missing = fields.find(([name, fieldTy]) => !Object.hasOwn(value, name) && !mayOmit(ty, name, fieldTy));
  return missing ? { path: [...path], what: `missing field \`${missing[0]}\`` } : null;
}

// --- JSON → jco, for a value `check` accepted. ---

/** A checked JSON value as jco takes it. */
export function toJco(value, ty, record = null, field = null) {
  const inner = generic(ty, 'option');
  if (inner) return value === null || value === undefined ? undefined : toJco(value, inner);
  const item = generic(ty, 'list');
  if (item) return (value ?? []).map((v) => toJco(v, item));
  const members = generic(ty, 'tuple');
  if (members) return splitTop(members).map((m, at) => toJco(value[at], m));
  if (value === undefined) return JSON_DEFAULTS.find(([r, f]) => r === record && f === field)?.[2];
  if (ty === 'u64') return BigInt(value);
  if (ty === 'string' || ty in MAX || WIT.enums.has(ty)) return value;
  const out = {};
  for (const [name, fieldTy] of WIT.records.get(ty)) out[camel(name)] = toJco(value[name], fieldTy, ty, name);
  return out;
}

// --- jco → JSON, for answers. ---

/** A jco value as the JSON vocabulary writes it. */
export function fromJco(value, ty) {
  const inner = generic(ty, 'option');
  if (inner) return value === undefined || value === null ? null : fromJco(value, inner);
  const item = generic(ty, 'list');
  if (item) return value.map((v) => fromJco(v, item));
  const members = generic(ty, 'tuple');
  if (members) return splitTop(members).map((m, at) => fromJco(value[at], m));
  if (ty === 'u64') return Number(value);
  if (ty === 'string' || ty in MAX || WIT.enums.has(ty)) return value;
  const out = {};
  for (const [name, fieldTy] of WIT.records.get(ty)) out[name] = fromJco(value[camel(name)], fieldTy);
  return out;
}

/** JSON text with object keys in code-point order, as serde_json writes a `Value`. */
export function stringify(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stringify).join(',')}]`;
  const keys = Object.keys(value).sort(byCodePoint);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stringify(value[k])}`).join(',')}}`;
}

/** `{"err": {"code", "message"}}`. */
export const err = (code, message) => ({ err: { code, message } });

/** An answer with the caller's `id`, as `wire::with_id` writes it (keys in code-point order). */
export function answerLine(answer, id) {
  return stringify(id === undefined ? answer : { ...answer, id });
}

// --- Requests. ---

/**
 * Decodes the input of `op` into the jco argument, or throws `InvalidInput` in the words of
 * `wire::build`. `duplicate` is a key the input gave twice, found while parsing.
 * @returns {{op: string, record: string | null, input: unknown, args: unknown[]}}
 */
export function decodeCall(op, input, duplicate = null) {
  if (op === 'policy-info') {
    const none = input === undefined || input === null || (kind(input) === 'an object' && Object.keys(input).length === 0);
    if (!none) throw new InvalidInput('policy-info takes no input');
    return { op, record: null, input: null, args: [] };
  }
  const record = inputRecord(op);
  if (!record || !OPS.includes(op)) throw new InvalidInput(`unknown op ${quoted(op)}; expected one of ${OPS.join(', ')}`);
  const refuse = ({ path, what }) => {
    const at = path.length ? ` at \`${pathText(path)}\`` : '';
    return new InvalidInput(`input of ${op}${at}: ${what}`);
  };
  if (input === undefined) throw new InvalidInput(`${op} needs an \`input\` object`);
  if (kind(input) !== 'an object') throw new InvalidInput(`input of ${op} must be an object, not ${kind(input)}`);
  if (duplicate) throw refuse(duplicate);
  const problem = check(input, record);
  if (problem) throw refuse(problem);
  return { op, record, input, args: [toJco(input, record)] };
}

/**
 * Scans JSON text for what `JSON.parse` does not report: nesting past `MAX_DEPTH`, escapes of
 * lone surrogates (serde_json refuses them), and the first key given twice in document order,
 * with its path.
 * @returns {{tooDeep: boolean, loneSurrogate: boolean, duplicate: {path: (string|number)[], what: string} | null}}
 */
export function scan(text) {
  // One frame per open container: an object's keys so far and current key, or an array's
  // current index.
  const frames = [];
  const pathHere = () => frames.slice(0, -1).map((f) => (f.keys ? f.key : f.index));
  const valueStarts = () => {
    const top = frames[frames.length - 1];
    if (top && !top.keys) top.index++;
  };
  let duplicate = null;
  let expectKey = false;
  const done = (extra) => ({ tooDeep: false, loneSurrogate: false, duplicate, ...extra });
  for (let at = 0; at < text.length; at++) {
    const c = text[at];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ':') continue;
    if (c === '"') {
      let end = at + 1;
      while (end < text.length && text[end] !== '"') {
        if (text[end] !== '\\') {
          end++;
          continue;
        }
        const escape = text.slice(end + 1, end + 6);
        if (/^u[dD][89abAB][0-9a-fA-F]{2}$/.test(escape)) {
          if (!/^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(text.slice(end + 6, end + 12))) return done({ loneSurrogate: true });
          end += 12;
        } else if (/^u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(escape)) {
          return done({ loneSurrogate: true });
        } else {
          end += 2;
        }
      }
      const top = frames[frames.length - 1];
      if (expectKey && top?.keys) {
        let key;
        try {
          key = JSON.parse(text.slice(at, end + 1));
        } catch {
          key = text.slice(at + 1, end);
        }
        if (top.keys.has(key) && !duplicate) duplicate = { path: pathHere(), what: `duplicate field ${quoted(key)}` };
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      } else {
        valueStarts();
      }
      at = end;
    } else if (c === '{' || c === '[') {
      valueStarts();
      frames.push({ keys: c === '{' ? new Set() : null, index: -1, key: null });
      if (frames.length > MAX_DEPTH) return done({ tooDeep: true });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      frames.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = Boolean(frames[frames.length - 1]?.keys);
    } else {
      // A number, `true`, `false` or `null`: one value, however many characters.
      valueStarts();
      while (at + 1 < text.length && !/[\s,\]}:"[{]/.test(text[at + 1])) at++;
    }
  }
  return done({});
}

/** Whether every number in a parsed value is finite (serde_json refuses `1e400`). */
function finite(value) {
  if (typeof value === 'number') return Number.isFinite(value);
  if (value && typeof value === 'object') return Object.values(value).every(finite);
  return true;
}

/** Rust's `str::trim` whitespace (JS's `trim` also removes U+FEFF, which Rust keeps). */
const BLANK = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/** The offset of the first byte that is not valid UTF-8, or -1. */
export function invalidUtf8At(bytes) {
  for (let at = 0; at < bytes.length; ) {
    const b = bytes[at];
    const [len, min] = b < 0x80 ? [1, 0] : b >= 0xc2 && b <= 0xdf ? [2, 0x80] : b >= 0xe0 && b <= 0xef ? [3, 0x800] : b >= 0xf0 && b <= 0xf4 ? [4, 0x10000] : [0, 0];
    if (len === 0 || at + len > bytes.length) return at;
    let cp = len === 1 ? b : b & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      if ((bytes[at + k] & 0xc0) !== 0x80) return at;
      cp = (cp << 6) | (bytes[at + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return at;
    at += len;
  }
  return -1;
}

/**
 * Parses one JSON Lines request, in the words of `wire::Line::parse`.
 * @param {Uint8Array} bytes the line, without its `\n` (and `\r`)
 * @returns {{call: ReturnType<typeof decodeCall>, id: unknown}}
 */
export function parseLine(bytes) {
  const bad = invalidUtf8At(bytes);
  if (bad >= 0) throw new InvalidInput(`the line is not UTF-8 (invalid byte at offset ${bad})`);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  if (BLANK.test(text)) throw new InvalidInput('the line is empty; each line holds one JSON request');
  const scanned = scan(text);
  if (scanned.tooDeep) throw new InvalidInput(`the line nests deeper than ${MAX_DEPTH} levels`);
  if (scanned.loneSurrogate) throw new InvalidInput('the line is not JSON: lone surrogate in a \\u escape');
  let line;
  try {
    line = JSON.parse(text);
  } catch (e) {
    throw new InvalidInput(`the line is not JSON: ${e.message}`);
  }
  if (!finite(line)) throw new InvalidInput('the line is not JSON: number out of range');
  if (kind(line) !== 'an object') throw new InvalidInput(`the line must be a JSON object, not ${kind(line)}`);
  // From here on a refusal carries the line's `id`, unless the `id` itself is given twice.
  const idTwice = scanned.duplicate?.path.length === 0 && scanned.duplicate.what === 'duplicate field `id`';
  const id = !idTwice && Object.hasOwn(line, 'id') ? line.id : undefined;
  const refuse = (message) => new InvalidInput(message, id);
  let inInput = null;
  const duplicate = scanned.duplicate;
  if (duplicate && duplicate.path[0] === 'input') {
    inInput = { path: duplicate.path.slice(1), what: duplicate.what };
  } else if (duplicate) {
    const at = duplicate.path.length ? ` at \`${pathText(duplicate.path)}\`` : '';
    throw refuse(`the line${at} has a ${duplicate.what}`);
  }
  const extra = Object.keys(line)
    .filter((k) => !['op', 'input', 'id'].includes(k))
    .sort(byCodePoint)[0];
  if (extra !== undefined) {
    throw refuse(`the line has an unknown field ${quoted(extra)}; a line holds \`op\`, \`input\` and an optional \`id\``);
  }
  if (!Object.hasOwn(line, 'op')) throw refuse(`the line has no \`op\`; expected one of ${OPS.join(', ')}`);
  if (typeof line.op !== 'string') throw refuse(`\`op\` must be a string, not ${kind(line.op)}`);
  let call;
  try {
    call = decodeCall(line.op, Object.hasOwn(line, 'input') ? line.input : undefined, inInput);
  } catch (e) {
    throw e instanceof InvalidInput ? refuse(e.message) : e;
  }
  return { call, id };
}
