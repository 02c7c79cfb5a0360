//! A hostile policy in Node: cut off at its deadline, capped in memory, its exits and panics
//! contained, its unsafe answers refused by the guard exactly as the wasmtime host refuses them,
//! its imports refused at load; and the host goes on serving after each.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LoadError, loadPolicy, loadToolkit } from '../route-policy.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { build, runLines } from './support.mjs';

const EVAL = fileURLToPath(new URL('../eval.mjs', import.meta.url));
let paths;
let toolkit;
let hostile;
const ask = (model) => hostile.call('resolve-endpoint', { model, capability: 'chat', credentials: [{ 'profile-id': 'c', provider: 'openai-codex', kind: 'oauth', plan: 'plus' }] });

/** The hostile policy still answers after a misbehaviour (its naive route, refused). */
async function stillServing() {
  const answer = await ask('gpt-5.5');
  assert.equal(answer.err?.code, 'guard-refused', JSON.stringify(answer));
}

before(async () => {
  paths = build();
  toolkit = await loadToolkit(paths.toolkit);
  hostile = await loadPolicy(paths.fixture('hostile'), { toolkit });
});

after(() => hostile?.close());

test('an infinite loop is cut off at its deadline, and the next call gets a new worker', async () => {
  // A verb's first call in a worker gets the warm-up allowance; this one is warm.
  await stillServing();
  const started = performance.now();
  const answer = await ask('loop');
  const elapsed = performance.now() - started;
  assert.equal(answer.err.code, 'deadline-exceeded');
  assert.match(answer.err.message, /ran past its 50 ms deadline/);
  // Bounded, not timed: a call that was never cut off would run forever.
  assert.ok(elapsed < 50 + 2000, `cut off after ${elapsed.toFixed(0)} ms`);
  await stillServing();
});

test('a memory bomb hits the cap and is named as such', async () => {
  // The cap is what this tests, not the deadline: a busy machine may take more than 50 ms to
  // fill 16 MiB, so this policy gets a second.
  const roomy = await loadPolicy(paths.fixture('hostile'), { toolkit, deadlineMs: 1000 });
  try {
    const answer = await roomy.call('resolve-endpoint', { model: 'bomb', capability: 'chat', credentials: [{ 'profile-id': 'c', provider: 'openai-codex', kind: 'oauth', plan: 'plus' }] });
    assert.equal(answer.err.code, 'memory-exceeded', JSON.stringify(answer));
    assert.match(answer.err.message, /more than its 16 MiB/);
  } finally {
    roomy.close();
  }
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

/** `send PROFILE URL`: the hostile policy sends that credential (of `provider`) to that URL. */
function send(profile, provider, kind, url) {
  const credentials = [{ 'profile-id': profile, provider, kind, plan: kind === 'api-key' ? 'api' : 'plus' }];
  return JSON.stringify({ op: 'resolve-endpoint', input: { model: `send ${profile} ${url}`, capability: 'chat', credentials } });
}

test('the guard refuses what the wasmtime host refuses, in the same words', async () => {
  // The hand-ported guard this host had let four of these through (a trailing-dot host, a
  // spelled-out default port, an OpenRouter key to OpenAI, a sign-in to a host allowed for
  // OpenAI keys) and refused the others in words of its own.
  const refused = [
    send('k', 'openai', 'api-key', 'https://chatgpt.com../backend-api/codex/responses'),
    send('k', 'openai', 'api-key', 'https://api.openai.com./v1/responses'),
    send('k', 'openai', 'api-key', 'https://api.openai.com:443/v1/responses'),
    send('k', 'openai', 'api-key', 'https://chatgpt.com\\@evil.example/v1/responses'),
    send('k', 'openrouter', 'api-key', 'https://api.openai.com/v1/responses'),
    send('k', 'openai', 'api-key', 'https://chatgpt.com/backend-api/codex/responses'),
    send('c', 'openai-codex', 'oauth', 'https://api.openai.com/v1/responses'),
    send('c', 'openai-codex', 'oauth', 'https://proxy.internal/v1/responses'),
  ];
  const served = [
    send('k', 'openai', 'api-key', 'https://api.openai.com/v1/responses'),
    send('k', 'openai', 'api-key', 'https://proxy.internal/v1/responses'),
    send('c', 'openai-codex', 'oauth', 'https://chatgpt.com/backend-api/codex/responses'),
  ];
  const input = `${[...refused, ...served].join('\n')}\n`;
  const flags = ['--component', paths.fixture('hostile'), '--allow-host', 'openai=proxy.internal'];
  const [wasmtime, node] = await Promise.all([
    runLines(paths.cli, ['eval', ...flags], input),
    runLines(process.execPath, [EVAL, ...flags, '--toolkit', paths.toolkit], input),
  ]);
  assert.deepEqual(node, wasmtime);
  const codes = node.map((line) => JSON.parse(line).err?.code ?? 'ok');
  assert.deepEqual(codes, [...refused.map(() => 'guard-refused'), ...served.map(() => 'ok')]);
});

test('imports beyond the sandbox are refused at load, by name; so is an older contract', async () => {
  await assert.rejects(loadPolicy(paths.fixture('imports'), { toolkit }), (e) => e instanceof LoadError && e.step === 'imports' && /wasi:filesystem\/preopens/.test(e.reason) && /wasi:sockets\/tcp/.test(e.reason));
  await assert.rejects(loadPolicy(paths.fixture('old-contract'), { toolkit }), (e) => e instanceof LoadError && e.step === 'contract' && /0\.0\.9/.test(e.reason));
  await assert.rejects(loadPolicy('/nonexistent/policy.wasm', { toolkit }), (e) => e instanceof LoadError && e.step === 'read');
  // The router's types are the toolkit's import alone: a policy importing them is refused.
  await assert.rejects(loadPolicy(paths.toolkit, { toolkit }), (e) => e instanceof LoadError && e.step === 'imports' && e.reason === 'it imports agent:route-policy/router, which the sandbox does not provide');
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
