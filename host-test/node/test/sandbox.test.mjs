//! A hostile policy in Node: cut off at its deadline, capped in memory, its exits and panics
//! contained, its unsafe answers refused by the guard, its imports refused at load; and the
//! host goes on serving after each.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LoadError, loadPolicy } from '../route-policy.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { build } from './support.mjs';

let paths;
let hostile;
const ask = (model) => hostile.call('resolve-endpoint', { model, capability: 'chat', credentials: [{ 'profile-id': 'c', provider: 'openai-codex', kind: 'oauth', plan: 'plus' }] });

/** The hostile policy still answers after a misbehaviour (its naive route, refused). */
async function stillServing() {
  const answer = await ask('gpt-5.5');
  assert.equal(answer.err?.code, 'guard-refused', JSON.stringify(answer));
}

before(async () => {
  paths = build();
  hostile = await loadPolicy(paths.fixture('hostile'));
});

after(() => hostile?.close());

test('an infinite loop is cut off at its deadline, and the next call gets a new worker', async () => {
  const started = performance.now();
  const answer = await ask('loop');
  const elapsed = performance.now() - started;
  assert.equal(answer.err.code, 'deadline-exceeded');
  assert.match(answer.err.message, /ran past its 50 ms deadline/);
  assert.ok(elapsed < 50 + 150, `cut off after ${elapsed.toFixed(0)} ms`);
  await stillServing();
});

test('a memory bomb hits the cap and is named as such', async () => {
  const answer = await ask('bomb');
  assert.equal(answer.err.code, 'memory-exceeded', JSON.stringify(answer));
  assert.match(answer.err.message, /more than its 16 MiB/);
  await stillServing();
});

test('a panic is a trap with its message, an exit stops the call and not the process', async () => {
  const panic = await ask('panic');
  assert.equal(panic.err.code, 'policy-trap');
  assert.match(panic.err.message, /unreachable.*hostile fixture panicked on purpose|panicked at/s);
  const exit = await ask('exit');
  assert.equal(exit.err.code, 'policy-trap');
  assert.match(exit.err.message, /called exit/);
  const stack = await ask('stack');
  assert.equal(stack.err.code, 'policy-trap');
  await stillServing();
});

test('the guard refuses an OAuth token sent to evil.example', async () => {
  const answer = await ask('evil');
  assert.equal(answer.err.code, 'guard-refused');
  assert.match(answer.err.message, /oauth credential `c` to evil\.example/);
});

test('imports beyond the sandbox are refused at load, by name; so is an older contract', async () => {
  await assert.rejects(loadPolicy(paths.fixture('imports')), (e) => e instanceof LoadError && e.step === 'imports' && /wasi:filesystem\/preopens/.test(e.reason) && /wasi:sockets\/tcp/.test(e.reason));
  await assert.rejects(loadPolicy(paths.fixture('old-contract')), (e) => e instanceof LoadError && e.step === 'contract' && /0\.0\.9/.test(e.reason));
  await assert.rejects(loadPolicy('/nonexistent/policy.wasm'), (e) => e instanceof LoadError && e.step === 'read');
});

test('the sandbox shows no environment, arguments, working directory or stdin', () => {
  process.env.ROUTE_POLICY_SECRET_PROBE = 'sk-proj-must-not-be-seen';
  const { imports, printed } = sandbox();
  assert.deepEqual(imports['wasi:cli/environment'].getEnvironment(), []);
  assert.deepEqual(imports['wasi:cli/environment'].getArguments(), []);
  assert.equal(imports['wasi:cli/environment'].initialCwd(), undefined);
  assert.throws(() => imports['wasi:cli/stdin'].getStdin().blockingRead(10n), (e) => e.tag === 'closed');
  assert.throws(() => imports['wasi:cli/exit'].exit({ tag: 'err' }), /called exit/);
  imports['wasi:cli/stdout'].getStdout().blockingWriteAndFlush(new TextEncoder().encode('hello'));
  assert.equal(printed.take(), 'hello');
  assert.equal(imports['wasi:filesystem/preopens@0.2.6'].getDirectories().length, 0);
  delete process.env.ROUTE_POLICY_SECRET_PROBE;
});
