//! Running the real OpenClaw: `openclaw agent --local --json` on Node 24, one turn per call, with
//! a config the test writes, a state directory the test owns, no network beyond loopback
//! (`netguard.mjs`), and fake secrets only.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE24, OPENCLAW, PLUGIN_DIR } from './paths.mjs';

/** The longest one turn may take (they take 8 to 15 s). */
const TURN_TIMEOUT_MS = 120_000;

/** The prompt of every turn; the fake's answer does not depend on it. */
const PROMPT = 'Count to sixty.';

/** A fake platform API key, as the fake recognises one (`sk-`). */
export const API_KEY = 'sk-test-openclaw-0000';

/**
 * A fake ChatGPT sign-in: an unsigned JWT carrying the ChatGPT auth claim of a Plus account
 * (OpenClaw's Codex adapter reads the account id from it; the fake reads `plus` from the token).
 */
export const SIGN_IN = (() => {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claim = { 'https://api.openai.com/auth': { chatgpt_account_id: 'acct_fake', chatgpt_plan_type: 'plus' }, exp: 4102444800 };
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claim)}.fake-plus-signature`;
})();

/** A fresh directory, removed by `dispose()`. */
export function tempDir(name) {
  const path = mkdtempSync(join(tmpdir(), `route-policy-openclaw-${name}-`));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * An OpenClaw config: the user's providers and chain, with OpenClaw's update checks, telemetry and
 * memory indexing off (memory would call an embeddings API), and, when `plugin` is given, the
 * route-policy plugin loaded from this package with those settings.
 * @param {object} options
 * @param {Record<string, object>} options.providers `models.providers`
 * @param {string} options.primary
 * @param {string[]} [options.fallbacks]
 * @param {Record<string, unknown>} [options.plugin] the plugin's settings; absent: no plugin
 */
export function config({ providers, primary, fallbacks = [], plugin }) {
  const result = {
    update: { checkOnStart: false, auto: { enabled: false } },
    telemetry: { enabled: false },
    memory: { search: { enabled: false } },
    models: { providers: { ...providers } },
    agents: { defaults: { model: { primary, fallbacks } } },
  };
  if (plugin) {
    result.plugins = {
      load: { paths: [PLUGIN_DIR] },
      entries: { 'route-policy': { enabled: true, hooks: { allowConversationAccess: true }, config: plugin } },
    };
    // OpenClaw resolves a credential for a provider before the plugin's `prepareRuntimeAuth`
    // replaces it; this placeholder is that credential. It is never sent anywhere.
    result.models.providers['route-policy'] = { baseUrl: 'https://route-policy.invalid', apiKey: 'route-policy-managed', models: [] };
  }
  return result;
}

/** Model entries for a provider config. */
export function models(...ids) {
  return ids.map((id) => ({ id, name: id }));
}

/**
 * The outcome of one turn.
 * @typedef {object} Turn
 * @property {number | null} code the exit code
 * @property {any} json what `--json` printed
 * @property {string} text the answer's text, every payload joined (empty when the turn failed)
 * @property {string | null} error the error message when the turn failed
 * @property {string} stderr OpenClaw's log lines
 * @property {{kind: string, target: string}[]} outbound connections refused by the network guard
 * @property {(name: string) => any[]} decisions the plugin's decision log, by `op`
 * @property {string} decisionLog the decision log's text
 */

/**
 * Runs one turn: `openclaw agent --local --agent main --json -m PROMPT`.
 * @param {object} options
 * @param {object} options.config the config to write
 * @param {string} options.stateDir OpenClaw's state directory (fresh per scenario; reused for a second turn)
 * @returns {Promise<Turn>}
 */
export async function runTurn({ config: cfg, stateDir }) {
  mkdirSync(stateDir, { recursive: true });
  const configPath = join(stateDir, '..', `${stateDir.split('/').at(-1)}.config.json`);
  writeFileSync(configPath, JSON.stringify(cfg, null, 1));
  const netguardLog = join(stateDir, '..', `${stateDir.split('/').at(-1)}.netguard.jsonl`);
  writeFileSync(netguardLog, '');
  const env = {
    PATH: `${NODE24.replace(/\/node$/, '')}:${process.env.PATH}`,
    HOME: join(stateDir, '..'),
    LANG: 'C.UTF-8',
    OPENCLAW_CONFIG_PATH: configPath,
    OPENCLAW_STATE_DIR: stateDir,
    ROUTE_POLICY_NETGUARD_LOG: netguardLog,
    NODE_OPTIONS: `--import=${new URL('./netguard.mjs', import.meta.url).href}`,
  };
  const child = spawn(NODE24, [OPENCLAW, 'agent', '--local', '--agent', 'main', '--json', '-m', PROMPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  const code = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openclaw agent ran past ${TURN_TIMEOUT_MS} ms`));
    }, TURN_TIMEOUT_MS);
    child.once('exit', (exit) => {
      clearTimeout(timer);
      resolve(exit);
    });
  });
  const stdout = Buffer.concat(out).toString('utf8');
  let json;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new Error(`openclaw agent printed no JSON (exit ${code}):\n${stdout}\n${Buffer.concat(err).toString('utf8').slice(-4000)}`);
  }
  const lines = (path) => {
    try {
      return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
    } catch {
      return [];
    }
  };
  const decisionLog = join(stateDir, 'plugins', 'route-policy', 'decisions.jsonl');
  return {
    code,
    json,
    text: (json.payloads ?? []).filter((p) => !p.isError).map((p) => p.text ?? '').join('\n'),
    error: json.ok === false ? json.error?.message ?? 'failed' : (json.payloads ?? []).find((p) => p.isError)?.text ?? null,
    stderr: Buffer.concat(err).toString('utf8'),
    outbound: lines(netguardLog),
    decisions: (op) => lines(decisionLog).filter((entry) => entry.op === op),
    decisionLog: (() => {
      try {
        return readFileSync(decisionLog, 'utf8');
      } catch {
        return '';
      }
    })(),
  };
}
