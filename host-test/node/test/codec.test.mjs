//! The JSON ↔ jco mapping and the strict decoder, on their own.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerLine, byCodePoint, decodeCall, fromJco, invalidUtf8At, parseLine, quoted, scan, stringify, toJco } from '../lib/codec.mjs';

test('records, options, tuples, enums and u64 map to jco and back', () => {
  const failure = { status: 429, headers: [['retry-after', '2']], 'credential-kind': 'oauth', 'now-ms': 1700000000000 };
  const jco = toJco(failure, 'provider-failure');
  assert.deepEqual(jco, {
    status: 429, headers: [['retry-after', '2']], body: '', networkError: undefined, requestUrl: undefined, model: undefined,
    credentialKind: 'oauth', plan: undefined, capability: undefined, attempt: 1, nowMs: 1700000000000n,
  });
  const verdict = { reason: 'rate-limited', action: 'retry', retryAfterMs: 2000n, userMessage: 'm', remember: undefined, rule: 'r' };
  assert.equal(stringify(fromJco(verdict, 'verdict')), '{"action":"retry","reason":"rate-limited","remember":null,"retry-after-ms":2000,"rule":"r","user-message":"m"}');
});

test('answers print with keys in code-point order, the id among them', () => {
  assert.equal(answerLine({ ok: { b: 1, a: [{ d: 1, c: 2 }] } }, 7), '{"id":7,"ok":{"a":[{"c":2,"d":1}],"b":1}}');
  assert.equal(answerLine({ err: { code: 'x', message: 'y' } }, 'k'), '{"err":{"code":"x","message":"y"},"id":"k"}');
  assert.ok(['\u{1F600}', '\uFFFD'].sort(byCodePoint)[0] === '\uFFFD', 'code points, not UTF-16 units');
});

test('refusals name their place and quote only plain names', () => {
  const refused = (op, input) => {
    try {
      decodeCall(op, input);
    } catch (e) {
      return e.message;
    }
    return null;
  };
  assert.equal(
    refused('resolve-endpoint', { model: 'm', capability: 'chat', credentials: [{ 'profile-id': 'k', provider: 'p', kind: 'pw', plan: 'api' }] }),
    'input of resolve-endpoint at `credentials[0].kind`: unknown value `pw`; expected one of `api-key`, `oauth`, `token`',
  );
  assert.equal(quoted('sk-proj-abc123def456'), '`[redacted]`');
  assert.equal(quoted('teleport'), '`teleport`');
  assert.equal(refused('classify-error', { status: '429' }), 'input of classify-error at `status`: expected an integer from 0 to 65535, not a string');
  assert.equal(refused('policy-info', { verbose: true }), 'policy-info takes no input');
});

test('the scanner finds keys given twice, with their path, and nesting past the limit', () => {
  assert.deepEqual(scan('{"a":[1,{"b":1,"b":2}]}').duplicate, { path: ['a', 1], what: 'duplicate field `b`' });
  assert.equal(scan('{"a":"{\\"b\\":1,\\"b\\":2}"}').duplicate, null, 'keys inside strings are text');
  assert.equal(scan(`${'['.repeat(127)}${']'.repeat(127)}`).tooDeep, false);
  assert.equal(scan(`${'['.repeat(128)}${']'.repeat(128)}`).tooDeep, true);
  assert.equal(scan('"\\ud83d\\ude00"').loneSurrogate, false);
  assert.equal(scan('"\\ud83d x"').loneSurrogate, true);
});

test('lines that are not UTF-8 are refused at the first bad byte, as Rust counts it', () => {
  assert.equal(invalidUtf8At(Buffer.from('ok')), -1);
  assert.equal(invalidUtf8At(Buffer.from([0x61, 0xff])), 1);
  assert.equal(invalidUtf8At(Buffer.from([0x61, 0xe2, 0x82])), 1);
  assert.equal(invalidUtf8At(Buffer.from([0xed, 0xa0, 0x80])), 0, 'an encoded surrogate');
  assert.equal(invalidUtf8At(Buffer.from([0xc0, 0x80])), 0, 'an overlong NUL');
  assert.throws(() => parseLine(Buffer.from([0x7b, 0xff])), /not UTF-8 \(invalid byte at offset 1\)/);
});
