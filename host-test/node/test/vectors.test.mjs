//! Every conformance vector through the component in Node, and the same lines through the
//! wasmtime CLI: the answers must be equal byte for byte, with the decoder's edge cases and the
//! line loop's.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPolicy, loadToolkit } from '../route-policy.mjs';
import { build, checkCase, runLines, vectorFiles } from './support.mjs';

const EVAL = fileURLToPath(new URL('../eval.mjs', import.meta.url));
let paths;
let toolkit;
let policy;

before(async () => {
  paths = build();
  toolkit = await loadToolkit(paths.toolkit);
  policy = await loadPolicy(paths.component, { toolkit });
});

after(() => policy?.close());

test('every vector holds in Node', async () => {
  let cases = 0;
  const failures = [];
  for (const [file, vectors] of vectorFiles()) {
    for (const testCase of vectors.cases) {
      const answer = await policy.callJson(testCase.op ?? vectors.op, testCase.input ?? undefined);
      const why = checkCase(toolkit, testCase, answer);
      if (why) failures.push(`${file}: ${testCase.name}: ${why}`);
      cases += 1;
    }
  }
  assert.ok(cases > 300, `only ${cases} cases`);
  assert.deepEqual(failures, [], `${failures.length} of ${cases} cases failed`);
});

/** An `id` past 2^53: JavaScript's numbers would round it; both hosts echo it as written. */
const BIG_ID = '9007199254740993';

/**
 * The same input for both hosts: every vector, lines that test the decoder, and the line
 * loop's cases (a `\r\n` ending, a line past 32 MiB, a last line without its `\n`).
 */
function lines() {
  const out = [];
  for (const [file, vectors] of vectorFiles()) {
    vectors.cases.forEach((testCase, at) => {
      const line = { id: `${file}#${at}`, op: testCase.op ?? vectors.op };
      if (testCase.input !== undefined) line.input = testCase.input;
      out.push(JSON.stringify(line));
    });
  }
  // The decoder's own cases: keys given twice, nesting at the limit, odd numbers and keys.
  const deep = (depth) => `{"op":"policy-info","id":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  out.push(
    '{"op":"classify-error","input":{"status":429,"status":200}}',
    '{"op":"policy-info","op":"classify-error"}',
    '{"id":{"a":1,"a":2},"op":"policy-info"}',
    '{"op":"classify-error","input":{"headers":[["a","b"],["c","d"]],"status":429.0,"now-ms":1700000000000}}',
    '{"op":"classify-error","input":{"status":5.5}}',
    '{"op":"classify-error","input":{"status":-1}}',
    '{"op":"classify-error","input":{"now-ms":9007199254740992}}',
    '{"op":"resolve-endpoint","input":{"model":"m","capability":"chat","credentials":[["k","openai","api-key","api"]]}}',
    '{"op":"resolve-endpoint","input":{"model":"m","capability":{"chat":null}}}',
    '{"op":"resolve-endpoint","input":{"zebra":1,"apple":2,"model":"m","capability":"chat"}}',
    '{"op":"resolve-endpoint","input":{"model":"m","capability":"chat","é":1,"Z":2}}',
    '{"op":"policy-info","input":[]}',
    '{"op":"policy-info","extra":true,"another":1}',
    '{"op":"sk-proj-abc123def456ghi789"}',
    '{"op":"resolve-endpoint"}',
    '{"op":"resolve-endpoint","input":null}',
    '{"op":"resolve-endpoint","input":"x"}',
    '{"id":null,"op":"policy-info"}',
    // Numeric ids read back as the numbers they are (both parsers round correctly).
    '{"id":9.88888888888889e39,"op":"policy-info"}',
    '{"id":0.1,"op":"policy-info"}',
    '{"id":1.5e-7,"op":"policy-info"}',
    '{"id":1e300,"op":"policy-info"}',
    '{"id":-0.0,"op":"policy-info"}',
    // Numbers past what a JavaScript number holds: integers beyond 2^53 (and past u64 and i64)
    // and past f64, in an id and in a request.
    `{"id":${BIG_ID},"op":"policy-info"}`,
    '{"id":12345678901234567890,"op":"policy-info"}',
    '{"id":18446744073709551616,"op":"policy-info"}',
    '{"id":-9223372036854775809,"op":"policy-info"}',
    '{"id":1e16,"op":"policy-info"}',
    '{"id":1e400,"op":"policy-info"}',
    '{"id":-1e400,"op":"policy-info"}',
    `{"id":[${BIG_ID},{"n":1e400}],"op":"policy-info"}`,
    `{"id":${BIG_ID},"op":"nope"}`,
    `{"id":{"n":${BIG_ID}},"op":"classify-error","input":{"now-ms":${BIG_ID}}}`,
    '{"op":"classify-error","input":{"now-ms":1e400}}',
    // A `\r` before the `\n` is dropped: the second line's string is then unterminated, where
    // a `\r` kept would be a control character inside it (another message, another column).
    '{"id":"crlf","op":"policy-info"}\r',
    '{"op":"policy-info","id":"cr\r',
    '{"id":"r1","op":"classify-error","input":{"status":"x"}}',
    '{"id":1,"id":2,"op":"policy-info"}',
    '{"id":5,"op":"nope"}',
    '{"id":{"nested":[1]},"op":"policy-info","x":{"a":1,"a":2}}',
    '{"id":[1,"two",{"b":null,"a":false}],"op":"policy-info"}',
    '  {"op":"policy-info"}  ',
    '',
    ' \t ',
    '[1,2]',
    '"text"',
    deep(126),
    deep(127),
    `{"op":"classify-error","input":{"status":429,"body":"${'x'.repeat(2 << 20)}"}}`,
    `{"op":"resolve-endpoint","input":{"model":"${'m'.repeat(2 << 20)}","capability":"chat"}}`,
    `{"id":"skipped","op":"policy-info","input":{"pad":"${'p'.repeat(32 << 20)}"}}`,
    '{"id":"last","op":"policy-info"}',
  );
  return out.join('\n');
}

test('the Node host and the wasmtime CLI answer every line alike, byte for byte', async () => {
  const input = lines();
  const [wasmtime, node] = await Promise.all([
    runLines(paths.cli, ['eval', '--component', paths.component], input),
    runLines(process.execPath, [EVAL, '--component', paths.component, '--toolkit', paths.toolkit], input),
  ]);
  assert.equal(node.length, wasmtime.length, 'one answer per line in both');
  const differences = [];
  wasmtime.forEach((expected, at) => {
    if (node[at] !== expected) differences.push(`line ${at + 1}:\n  wasmtime ${expected.slice(0, 400)}\n  node     ${node[at]?.slice(0, 400)}`);
  });
  assert.equal(differences.length, 0, `${differences.length} of ${wasmtime.length} answers differ:\n${differences.slice(0, 10).join('\n')}`);
  assert.ok(node.some((line) => line.startsWith(`{"id":${BIG_ID},"ok":`)), `the id ${BIG_ID} is echoed as written`);
  assert.match(node.at(-2), /"message":"line \d+ is longer than 32 MiB; it was skipped"/);
  assert.match(node.at(-1), /^\{"id":"last","ok":/, 'a last line without its newline is answered');
});
