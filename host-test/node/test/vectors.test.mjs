//! Every conformance vector through the component in Node, and the same lines through the
//! wasmtime CLI: the answers must be equal byte for byte.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '../route-policy.mjs';
import { build, checkCase, runLines, vectorFiles } from './support.mjs';

const EVAL = fileURLToPath(new URL('../eval.mjs', import.meta.url));
let paths;
let policy;

before(async () => {
  paths = build();
  policy = await loadPolicy(paths.component);
});

after(() => policy?.close());

test('every vector holds in Node', async () => {
  let cases = 0;
  const failures = [];
  for (const [file, vectors] of vectorFiles()) {
    for (const testCase of vectors.cases) {
      const answer = await policy.call(testCase.op ?? vectors.op, testCase.input ?? undefined);
      const why = checkCase(testCase, answer);
      if (why) failures.push(`${file}: ${testCase.name}: ${why}`);
      cases += 1;
    }
  }
  assert.ok(cases > 300, `only ${cases} cases`);
  assert.deepEqual(failures, [], `${failures.length} of ${cases} cases failed`);
});

/** The same request lines for both hosts: every vector, and lines that test the decoder. */
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
  );
  return `${out.join('\n')}\n`;
}

test('the Node host and the wasmtime CLI answer every line alike, byte for byte', async () => {
  const input = lines();
  const [wasmtime, node] = await Promise.all([
    runLines(paths.cli, ['--component', paths.component, 'eval'], input),
    runLines(process.execPath, [EVAL, '--component', paths.component], input),
  ]);
  assert.equal(node.length, wasmtime.length, 'one answer per line in both');
  const differences = [];
  wasmtime.forEach((expected, at) => {
    if (node[at] !== expected) differences.push(`line ${at + 1}:\n  wasmtime ${expected.slice(0, 400)}\n  node     ${node[at]?.slice(0, 400)}`);
  });
  assert.equal(differences.length, 0, `${differences.length} of ${wasmtime.length} answers differ:\n${differences.slice(0, 10).join('\n')}`);
});
