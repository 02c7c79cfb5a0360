//! route-policy as an OpenClaw plugin: OpenAI and Codex model refs are routed by the sandboxed
//! route-policy component (loaded through the Node host, `../node/route-policy.mjs`), through a
//! provider this plugin owns. See README.md for what it changes and what OpenClaw 2026.9.6 does
//! not let it reach; `lib/router.mjs` for how a turn goes.
//!
//! OpenClaw calls `register` more than once (a full load and discovery passes), so registering
//! is cheap and synchronous: the policy, the state and the logs are opened at the first hook
//! that needs them, once per process.

import { DecisionLog, RejectionStore } from './lib/journal.mjs';
import { PolicySlot } from './lib/policy-slot.mjs';
import { PROVIDER_ID, Router, withoutNotice } from './lib/router.mjs';
import { readSettings } from './lib/settings.mjs';

/** One router per process, shared by every registration pass. */
let shared = null;

/** Opens the plugin's state on first use. */
function routerFor(api) {
  if (shared) return shared;
  const settings = readSettings(api.pluginConfig, api.runtime.state.resolveStateDir(), api.rootDir);
  const log = new DecisionLog(settings.decisionLog, (message) => api.logger.warn(message));
  const slot = new PolicySlot(settings, log);
  const readStore = () => {
    try {
      return api.runtime.modelAuth.ensureAuthProfileStore();
    } catch {
      return null;
    }
  };
  shared = new Router({ slot, rejections: new RejectionStore(settings.stateFile), log, settings, env: process.env, readStore });
  return shared;
}

/** The plugin entry OpenClaw loads (`package.json` `openclaw.extensions`). */
export default {
  id: 'route-policy',
  name: 'route-policy',
  description: 'Routes OpenAI and Codex model refs with the sandboxed route-policy component: endpoints, fallback chains and failure verdicts.',
  /**
   * Registers the hooks and the provider.
   * @param {any} api OpenClaw's plugin API
   */
  register(api) {
    // Settings are checked here, so that a bad config fails the load, not a turn.
    readSettings(api.pluginConfig, api.runtime.state.resolveStateDir(), api.rootDir);
    api.on('before_model_resolve', (event, ctx) => routerFor(api).resolveCandidate(ctx, api.runtime.config.current()));
    api.on('llm_output', (event) => routerFor(api).served(event));
    api.on('before_message_write', (event) => {
      const message = withoutNotice(event.message);
      return message ? { message } : undefined;
    });
    api.registerProvider({
      id: PROVIDER_ID,
      label: 'route-policy (OpenAI and Codex, routed by the policy)',
      auth: [],
      resolveDynamicModel: (ctx) => routerFor(api).modelFor(ctx.modelId),
      prepareRuntimeAuth: async (ctx) => routerFor(api).runtimeAuth(ctx.modelId),
      // The guard approved an HTTPS request URL; OpenClaw's default transport may open a
      // WebSocket to another URL first, which no policy answer covered.
      prepareExtraParams: (ctx) => ({ ...(ctx.extraParams ?? {}), transport: 'sse' }),
      wrapStreamFn: (ctx) => (ctx.streamFn ? routerFor(api).wrapStream(ctx.modelId, ctx.streamFn) : undefined),
      classifyFailoverReason: (ctx) => routerFor(api).failover(ctx),
    });
  },
};
