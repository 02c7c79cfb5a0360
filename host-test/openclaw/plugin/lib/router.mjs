//! The plugin's decisions, turn by turn, and how they are put into OpenClaw's hooks.
//!
//! OpenClaw 2026.9.6 gives a plugin no hook for the fallback chain, so a turn goes like this:
//!
//! 1. At a turn's first `before_model_resolve`, the policy file is re-checked (a hot swap takes
//!    effect here) and the chain OpenClaw will walk is planned once with `filter-fallbacks`,
//!    with the credentials OpenClaw holds and the rejections learned so far.
//! 2. OpenClaw calls `before_model_resolve` once per candidate it tries. A hook cannot remove a
//!    candidate, only substitute it, so each call is answered with the plan's next candidate not
//!    yet served this turn. A ref the plan dropped (a `-pro` model on a ChatGPT plan, a learned
//!    rejection) is thus never sent; when the plan has nothing left, the candidate is answered
//!    with a refusal that fails before any byte leaves (see `wrapStream`).
//! 3. An OpenAI candidate goes to the provider this plugin owns, `route-policy`, under a model
//!    id naming the candidate (`openai~gpt-5.5`). Its route is `resolve-endpoint`'s answer, held
//!    to the Node host's egress guard: `resolveDynamicModel` gives OpenClaw the adapter and the
//!    upstream model, `prepareRuntimeAuth` the secret of the credential the policy chose and the
//!    base URL (with the `routes` setting applied, after the guard). A candidate of another
//!    provider is handed back to OpenClaw's own client.
//! 4. The stream wrapper sees each attempt's end. An error is classified by `classify-error`
//!    before OpenClaw sees it (OpenClaw's `classifyFailoverReason` is synchronous and the policy
//!    runs in a worker), so that the hook can answer from the verdict; a rejection to remember is
//!    persisted at once. A success that is not the chain's primary gets the notice that says
//!    which model answered and why, as the last text of the answer: that is what reaches
//!    `openclaw agent --json`.

import { failoverReason, providerFailure } from './failover.mjs';
import { openAiCredentials, otherProviderCredentials } from './credentials.mjs';

/** The provider id the plugin owns. */
export const PROVIDER_ID = 'route-policy';

/** Providers whose refs the policy routes. */
const OPENAI_PROVIDERS = new Set(['openai', 'openai-codex']);

/** Provider configs the policy reads (`provider-config`). */
const POLICY_CONFIGS = ['openai', 'openai-codex', 'azure-openai'];

/**
 * OpenClaw's adapter for each transport the plugin serves, and the URL that adapter builds from a
 * base URL: the plugin sends only when that URL is the one the guard approved.
 */
const ADAPTERS = {
  'platform-responses': { api: 'openai-responses', url: (base) => `${base}/responses` },
  'codex-responses': {
    api: 'openai-chatgpt-responses',
    // `resolveCodexUrl` of @openclaw/ai 2026.9.6.
    url: (base) => (base.endsWith('/codex/responses') ? base : base.endsWith('/codex') ? `${base}/responses` : `${base}/codex/responses`),
  },
};

/** How long a turn's state is kept, at most, and how many turns. */
const TURN_TTL_MS = 30 * 60_000;
const MAX_TURNS = 256;

/** How a notice begins, so that the transcript copy of an answer can be told from the notice. */
const NOTICE = '[route-policy] ';

/** The prefix of every error the plugin raises itself, so that its own refusals are recognised. */
const OWN_ERROR = 'route-policy: ';

/**
 * The decisions of one OpenClaw process.
 */
export class Router {
  #slot;
  #rejections;
  #log;
  #settings;
  #env;
  #readStore;
  /** @type {Map<string, Turn>} by run id */
  #turns = new Map();
  /** @type {Map<string, string>} session id → run id, for the stream wrapper */
  #runBySession = new Map();
  /** @type {Map<string, Route>} by the model id given to OpenClaw */
  #routes = new Map();
  /** @type {Map<string, object>} verdicts by the error message OpenClaw will classify */
  #verdicts = new Map();

  /**
   * @param {object} deps
   * @param {import('./policy-slot.mjs').PolicySlot} deps.slot
   * @param {import('./journal.mjs').RejectionStore} deps.rejections
   * @param {import('./journal.mjs').DecisionLog} deps.log
   * @param {import('./settings.mjs').Settings} deps.settings
   * @param {NodeJS.ProcessEnv} deps.env
   * @param {() => any} deps.readStore reads the agent's auth store (null when unreadable)
   */
  constructor({ slot, rejections, log, settings, env, readStore }) {
    this.#slot = slot;
    this.#rejections = rejections;
    this.#log = log;
    this.#settings = settings;
    this.#env = env;
    this.#readStore = readStore;
  }

  /**
   * `before_model_resolve`: the candidate OpenClaw should try instead of the one it asks for.
   * @param {{runId?: string, sessionId?: string, agentId?: string, modelProviderId?: string, modelId?: string}} ctx
   * @param {any} config the OpenClaw config
   * @returns {Promise<{providerOverride: string, modelOverride: string} | undefined>}
   */
  async resolveCandidate(ctx, config) {
    const asked = `${ctx.modelProviderId}/${ctx.modelId}`;
    const chain = chainOf(config, ctx.agentId);
    const known = chain.refs.some((ref) => sameRef(ref, asked));
    if (!OPENAI_PROVIDERS.has(ctx.modelProviderId) && !known) return undefined;
    const turn = await this.#turn(ctx, config, known ? chain.refs : [asked]);
    const next = turn.plan?.candidates.find((c) => !turn.served.has(c.model));
    if (!next) return this.#refuse(turn, asked, turn.refusal ?? this.#exhausted(turn));
    turn.served.add(next.model);
    // A bare ref is OpenAI's (CONTRACT.md); a policy's plan may keep it bare.
    const [provider, ...rest] = next.model.includes('/') ? next.model.split('/') : ['openai', next.model];
    if (!OPENAI_PROVIDERS.has(provider)) {
      this.#log.write('route', { run: turn.runId, asked, served: next.model, by: 'openclaw' });
      return { providerOverride: provider, modelOverride: rest.join('/') };
    }
    let endpoint;
    try {
      endpoint = await turn.policy.resolveEndpoint({
        model: next.requested,
        capability: 'chat',
        providers: turn.providers,
        credentials: turn.credentials.map((c) => c.description),
        'env-base-url': this.#env.OPENAI_BASE_URL ?? null,
      });
    } catch (e) {
      return this.#refuse(turn, asked, `${next.requested}: ${e.code ? `${e.code}: ` : ''}${e.message}`);
    }
    const route = this.#route(turn, next, endpoint);
    if (typeof route === 'string') return this.#refuse(turn, asked, route);
    this.#routes.set(route.modelId, route);
    this.#log.write('route', {
      run: turn.runId,
      asked,
      served: next.model,
      credential: endpoint.credential,
      transport: endpoint.transport,
      'request-url': endpoint['request-url'],
      'upstream-model': endpoint['upstream-model'],
      rules: endpoint.rules,
      notes: endpoint.notes,
    });
    return { providerOverride: PROVIDER_ID, modelOverride: route.modelId };
  }

  /** The turn's state, planned at its first candidate (once, however many calls wait for it). */
  async #turn(ctx, config, refs) {
    const runId = ctx.runId ?? `session:${ctx.sessionId}`;
    let turn = this.#turns.get(runId);
    if (!turn) {
      this.#expire();
      turn = { runId, startedAt: Date.now(), served: new Set(), failures: [], primary: refs[0], plan: null, refusal: null };
      this.#turns.set(runId, turn);
      if (ctx.sessionId) this.#runBySession.set(ctx.sessionId, runId);
      turn.ready = this.#plan(turn, config, refs);
    }
    await turn.ready;
    return turn;
  }

  /** Checks the policy file (a hot swap takes effect here) and plans the turn's chain. */
  async #plan(turn, config, refs) {
    const policy = await this.#slot.current();
    if (!policy) {
      turn.refusal = `no routing policy may serve: ${this.#slot.reason}`;
      return;
    }
    turn.policy = policy;
    turn.credentials = openAiCredentials({ config, env: this.#env, store: this.#readStore() });
    turn.providers = POLICY_CONFIGS.filter((id) => config?.models?.providers?.[id]).map((id) => providerConfig(id, config.models.providers[id]));
    const others = otherProviderCredentials(config, refs.map((ref) => ref.split('/')[0]));
    const request = {
      capability: 'chat',
      primary: refs[0],
      fallbacks: refs.slice(1),
      'explicit-override': null,
      credentials: [...turn.credentials.map((c) => c.description), ...others],
      rejections: this.#rejections.list(),
      providers: turn.providers,
      'env-base-url': this.#env.OPENAI_BASE_URL ?? null,
    };
    try {
      turn.plan = await policy.filterFallbacks(request);
    } catch (e) {
      turn.refusal = `the policy could not plan the chain ${refs.join(', ')}: ${e.message}`;
    }
    this.#log.write('plan', {
      run: turn.runId,
      policy: policy.id.revision,
      sha256: policy.id.sha256,
      chain: refs,
      credentials: request.credentials,
      rejections: request.rejections,
      candidates: turn.plan?.candidates.map((c) => c.model) ?? [],
      dropped: turn.plan?.dropped ?? [],
      refused: turn.refusal,
    });
  }

  /** A route for a planned candidate, or why it cannot go. */
  #route(turn, candidate, endpoint) {
    const adapter = ADAPTERS[endpoint.transport];
    if (!adapter) return `${candidate.requested}: the ${endpoint.transport} transport is not one this plugin sends through OpenClaw`;
    const credential = turn.credentials.find((c) => c.description['profile-id'] === endpoint.credential);
    if (!credential) return `${candidate.requested}: the policy chose credential ${endpoint.credential}, which this host did not describe`;
    const base = endpoint['base-url'];
    if (adapter.url(base) !== endpoint['request-url']) {
      return `${candidate.requested}: OpenClaw's ${adapter.api} adapter would send to ${adapter.url(base)}, not to ${endpoint['request-url']}`;
    }
    return {
      modelId: candidate.model.replace('/', '~'),
      served: candidate.model,
      requested: candidate.requested,
      endpoint,
      api: adapter.api,
      wireBase: this.#wire(base),
      secret: credential.secret,
      kind: credential.description.kind,
      plan: credential.description.plan,
      turn: turn.runId,
      policy: turn.policy,
    };
  }

  /** Where the bytes for `url` go: the `routes` setting applied, after the guard approved `url`. */
  #wire(url) {
    for (const [from, to] of this.#settings.routes) {
      if (url === from || url.startsWith(`${from}/`)) return `${to}${url.slice(from.length)}`;
    }
    return url;
  }

  /** Answers a candidate with a refusal that fails before any request (see `wrapStream`). */
  #refuse(turn, asked, reason) {
    const modelId = `refused~${turn.runId}~${turn.served.size + turn.failures.length}`;
    this.#routes.set(modelId, { modelId, refused: reason, turn: turn.runId });
    this.#log.write('refuse', { run: turn.runId, asked, reason });
    turn.served.add(modelId);
    return { providerOverride: PROVIDER_ID, modelOverride: modelId };
  }

  /** Why nothing is left to try: what the plan dropped and what failed. */
  #exhausted(turn) {
    const dropped = (turn.plan?.dropped ?? []).map((d) => `${d.model}: ${d.detail}`);
    return `no candidate of the plan is left to try (${[...dropped, ...turn.failures].join('; ') || 'the chain is empty'})`;
  }

  /**
   * `resolveDynamicModel`: the model OpenClaw builds for one of the plugin's model ids.
   * @param {string} modelId
   */
  modelFor(modelId) {
    const route = this.#routes.get(modelId);
    if (!route) return undefined;
    const common = { name: modelId, provider: PROVIDER_ID, reasoning: false, input: ['text'], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 272_000, maxTokens: 128_000 };
    if (route.refused) return { ...common, id: 'refused', api: 'openai-responses', baseUrl: 'https://route-policy.invalid' };
    return { ...common, id: route.endpoint['upstream-model'], api: route.api, baseUrl: route.wireBase };
  }

  /**
   * `prepareRuntimeAuth`: the secret and base URL for the request. A refused candidate gets
   * neither; its stream fails before sending.
   * @param {string} modelId
   */
  runtimeAuth(modelId) {
    const route = this.#routes.get(modelId);
    if (!route || route.refused) return { apiKey: 'route-policy-refused', baseUrl: 'https://route-policy.invalid' };
    return { apiKey: route.secret, baseUrl: route.wireBase };
  }

  /**
   * `wrapStreamFn`: the stream of one of the plugin's models, held to the plan.
   * @param {string} modelId
   * @param {Function} inner OpenClaw's stream function
   */
  wrapStream(modelId, inner) {
    return (model, context, options) => {
      const route = this.#routes.get(modelId);
      if (!route) return Promise.reject(new Error(`${OWN_ERROR}no route was planned for ${modelId}`));
      if (route.refused) return Promise.reject(new Error(`${OWN_ERROR}${route.refused}`));
      const turn = this.#turns.get(this.#runBySession.get(options?.sessionId) ?? route.turn);
      const out = inner(model, context, options);
      const watch = (stream) => this.#watch(stream, route, turn);
      return typeof out?.then === 'function' ? out.then(watch) : watch(out);
    };
  }

  /**
   * Watches an attempt's events: an error is held until the policy classified it; a success
   * gets the turn's notice when a fallback served.
   */
  #watch(stream, route, turn) {
    const push = stream.push.bind(stream);
    const end = stream.end.bind(stream);
    // While an error is being classified, everything after it waits behind it, in order.
    let held = null;
    stream.push = (event) => {
      if (held) {
        held = held.then(() => push(event));
      } else if (event?.type === 'error') {
        held = this.#classify(event.error, route, turn).then(() => push(event));
      } else {
        if (event?.type === 'done' && turn) this.#annotate(event.message, route, turn);
        push(event);
      }
    };
    stream.end = (...args) => {
      if (held) held = held.then(() => end(...args));
      else end(...args);
    };
    return stream;
  }

  /** Classifies a failed attempt and keeps the verdict for `classifyFailoverReason`. */
  async #classify(message, route, turn) {
    const text = String(message?.errorMessage ?? '');
    let verdict;
    try {
      verdict = await route.policy.classifyError(providerFailure({ errorMessage: text }, {
        requestUrl: route.endpoint['request-url'],
        model: route.served,
        kind: route.kind,
        plan: route.plan,
        capability: 'chat',
      }));
    } catch (e) {
      this.#log.write('classify', { run: route.turn, served: route.served, refused: e.message });
      return;
    }
    this.#verdicts.set(text, verdict);
    turn?.failures.push(`${route.served} failed: ${verdict['user-message']}`);
    const learned = verdict.remember && this.#rejections.add(verdict.remember);
    this.#log.write('classify', { run: route.turn, served: route.served, verdict, learned: learned ? verdict.remember : null });
  }

  /** Appends the fallback notice to an answer that is not the chain's primary. */
  #annotate(message, route, turn) {
    if (route.requested === turn.primary || !Array.isArray(message?.content)) return;
    const dropped = (turn.plan?.dropped ?? []).map((d) => d.detail);
    const why = [...dropped, ...turn.failures].join(' ') || 'the primary could not serve this turn.';
    const notice = `${NOTICE}${route.served} answered instead of ${turn.primary}: ${why}`;
    message.content = [...message.content, { type: 'text', text: notice }];
    this.#log.write('notice', { run: turn.runId, served: route.served, primary: turn.primary, notice });
  }

  /**
   * `classifyFailoverReason`: OpenClaw's reason for a failure of one of the plugin's models, from
   * the verdict the stream wrapper got for it; the plugin's own refusals move on without
   * touching the credential.
   * @param {{errorMessage: string}} ctx
   */
  failover(ctx) {
    const text = String(ctx.errorMessage ?? '');
    if (text.includes(OWN_ERROR)) return 'model_not_found';
    let verdict = this.#verdicts.get(text);
    if (!verdict) {
      for (const [message, known] of this.#verdicts) if (message && (text.includes(message) || message.includes(text))) verdict = known;
    }
    return verdict ? failoverReason(verdict) : undefined;
  }

  /**
   * `llm_output`: the route a call actually took, logged beside the decision.
   * @param {{runId: string, provider: string, model: string, resolvedRef?: string}} event
   */
  served(event) {
    const route = this.#routes.get(event.model);
    this.#log.write('llm-output', {
      run: event.runId,
      ref: event.resolvedRef ?? `${event.provider}/${event.model}`,
      served: route?.served ?? `${event.provider}/${event.model}`,
      'request-url': route?.endpoint?.['request-url'] ?? null,
    });
  }

  /**
   * Forgets old turns, so that a gateway does not grow. A turn has no reliable end to hook:
   * OpenClaw's `agent_end` also fires when one candidate's attempt failed and the next is about
   * to be tried under the same run id.
   */
  #expire() {
    const now = Date.now();
    for (const [runId, turn] of this.#turns) {
      if (now - turn.startedAt <= TURN_TTL_MS && this.#turns.size <= MAX_TURNS) break;
      this.#turns.delete(runId);
      for (const [session, run] of this.#runBySession) if (run === runId) this.#runBySession.delete(session);
      for (const [id, route] of this.#routes) if (route.refused && route.turn === runId) this.#routes.delete(id);
    }
    if (this.#verdicts.size > MAX_TURNS) this.#verdicts.clear();
  }
}

/**
 * `before_message_write`: the answer as the session keeps it, without the notice, which is for
 * the user and not for the model's next turns; undefined when there is nothing to take out.
 * @param {any} message
 */
export function withoutNotice(message) {
  if (message?.role !== 'assistant' || !Array.isArray(message.content)) return undefined;
  const content = message.content.filter((block) => !(block?.type === 'text' && String(block.text).startsWith(NOTICE)));
  return content.length === message.content.length ? undefined : { ...message, content };
}

/**
 * The chain an agent's turns walk: its primary and fallbacks, as the config writes them.
 * @returns {{refs: string[]}}
 */
function chainOf(config, agentId) {
  const own = (config?.agents?.list ?? []).find((agent) => agent?.id === agentId)?.model;
  const model = own ?? config?.agents?.defaults?.model;
  if (typeof model === 'string') return { refs: [model] };
  return { refs: [model?.primary, ...(model?.fallbacks ?? [])].filter((ref) => typeof ref === 'string' && ref) };
}

/** Whether a chain's ref (as written: `gpt-5.5` is `openai/gpt-5.5`) is the ref OpenClaw asks for. */
function sameRef(ref, asked) {
  return ref === asked || (!ref.includes('/') && `openai/${ref}` === asked);
}

/** A provider's config as the policy reads it. */
function providerConfig(id, config) {
  return {
    id,
    'base-url': typeof config.baseUrl === 'string' ? config.baseUrl : null,
    api: typeof config.api === 'string' && id === 'openai' ? config.api : null,
    deployment: null,
  };
}
