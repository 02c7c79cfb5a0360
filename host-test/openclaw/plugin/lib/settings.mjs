//! The plugin's settings (`plugins.entries.route-policy.config`), with their defaults, checked
//! once at registration. `openclaw.plugin.json` states the same shape as a JSON schema, so that
//! OpenClaw refuses a bad config before the plugin runs; this module is the plugin's own check
//! and the single place the defaults live.

import { join, resolve } from 'node:path';

/** Where `cargo build -p route-policy` puts the components, relative to this package's directory. */
const BUILT = ['..', '..', '..', 'target', 'guest-wasm', 'wasm32-wasip2', 'guest'];

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * The plugin's settings, resolved.
 * @typedef {object} Settings
 * @property {string} nodeHost the Node host's entry module (`host-test/node/route-policy.mjs`)
 * @property {string} toolkit the toolkit component the Node host checks every answer with
 * @property {string} component the policy component's path
 * @property {string[]} sha256 the digests the component may have; empty means unpinned
 * @property {string | null} canary the canary vector file, or null for none (a hostile-policy test)
 * @property {string} decisionLog the JSON Lines file every decision is appended to
 * @property {string} stateFile the JSON file learned rejections are kept in
 * @property {string} lastGood the copy of the last component that passed every check
 * @property {[string, string][]} allowHosts `[provider, host]` pairs the guard also allows
 * @property {[string, string][]} routes `[official origin, loopback origin]`: where the bytes for
 *   an origin the guard approved actually go (a test's fake upstream, a local forwarder)
 * @property {number} deadlineMs the per-call deadline of the sandboxed policy
 */

/**
 * Reads and checks the plugin's config. Defaults are found from the plugin's own directory as
 * OpenClaw reports it (`api.rootDir`): OpenClaw runs a copy of the plugin's files from its state
 * directory, so `import.meta.url` does not say where the repository is.
 * @param {Record<string, unknown> | undefined} config `api.pluginConfig`
 * @param {string} stateDir OpenClaw's state directory
 * @param {string} rootDir the plugin's directory (`host-test/openclaw/plugin`)
 * @returns {Settings}
 */
export function readSettings(config = {}, stateDir, rootDir) {
  const own = join(stateDir, 'plugins', 'route-policy');
  const path = (value, fallback) => (typeof value === 'string' && value.trim() ? resolve(value.trim()) : fallback);
  const pins = [config.sha256 ?? []].flat().map((pin) => String(pin).trim().toLowerCase());
  const bad = pins.find((pin) => !SHA256.test(pin));
  if (bad !== undefined) throw new Error(`route-policy: sha256 pin ${JSON.stringify(bad)} is not 64 hex digits`);
  const routes = Object.entries(config.routes ?? {}).map(([from, to]) => [origin(from, 'routes key'), loopbackOrigin(to)]);
  const allowHosts = (config.allowHosts ?? []).map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((part) => typeof part === 'string')) {
      throw new Error(`route-policy: allowHosts holds [provider, host] pairs, not ${JSON.stringify(pair)}`);
    }
    return [pair[0], pair[1]];
  });
  const deadlineMs = config.deadlineMs ?? 250;
  if (!Number.isInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > 10_000) {
    throw new Error(`route-policy: deadlineMs must be an integer from 1 to 10000, not ${JSON.stringify(deadlineMs)}`);
  }
  return {
    nodeHost: join(rootDir, '..', '..', 'node', 'route-policy.mjs'),
    toolkit: join(rootDir, ...BUILT, 'route_policy_toolkit.wasm'),
    component: path(config.component, join(rootDir, ...BUILT, 'route_policy_guest.wasm')),
    sha256: pins,
    canary: config.canary === false ? null : path(config.canary, join(rootDir, '..', '..', 'host', 'canary', 'default.json')),
    decisionLog: path(config.decisionLog, join(own, 'decisions.jsonl')),
    stateFile: join(own, 'state.json'),
    lastGood: join(own, 'last-good.wasm'),
    allowHosts,
    routes,
    deadlineMs,
  };
}

function origin(text, what) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`route-policy: ${what} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new Error(`route-policy: ${what} ${JSON.stringify(text)} must be an origin, with no path`);
  }
  return url.origin;
}

/** A route's target: only a loopback origin, so that a route never widens where bytes may go. */
function loopbackOrigin(text) {
  const target = origin(text, 'route target');
  const host = new URL(target).hostname;
  if (!(host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`route-policy: a route goes only to a loopback origin, not ${JSON.stringify(text)}`);
  }
  return target;
}
