//! The policy at the request boundary of `@openclaw/ai`, OpenClaw's provider adapters: a fetch
//! for `configureAiTransportHost({ buildModelFetch })`. OpenClaw 2026.9.6 gives plugins no hook
//! on its bundled image-generation path, which builds its request URL from the configured base
//! verbatim (seed 004); a host that runs `@openclaw/ai` itself can put the policy there.
//!
//! Before a request leaves, its credential is described (never passed) and `resolve-endpoint` is
//! asked where a request for this model and capability goes, with the model's configured base
//! URL. The answer is held to the Node host's guard. A request aimed elsewhere (the retired
//! `…/backend-api/responses`) is sent to the policy's request URL instead; a request the policy
//! or the guard refuses is not sent at all: it is answered locally with a 421 that carries the
//! policy's reason.

import { describeSecret } from './credentials.mjs';

/**
 * Builds the `buildModelFetch` hook.
 * @param {object} options
 * @param {() => Promise<any>} options.policy the policy to ask (the Node host's `Policy`)
 * @param {[string, string][]} [options.routes] `[official origin, loopback origin]`, as the plugin's `routes`
 * @param {typeof fetch} [options.fetch] the fetch that sends
 * @param {(url: string, via: string) => void} [options.onRoute] told of every rewrite, for logs
 * @returns {(model: {provider: string, baseUrl?: string}) => typeof fetch}
 */
export function policyFetch({ policy, routes = [], fetch: send = globalThis.fetch, onRoute = () => {} }) {
  return (model) => async (input, init = {}) => {
    const url = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
    const headers = new Headers(init.headers ?? (typeof input === 'object' && 'headers' in input ? input.headers : undefined));
    const secret = (headers.get('authorization') ?? '').replace(/^Bearer\s+/i, '') || headers.get('api-key') || '';
    const credential = describeSecret('request', secret, model.provider === 'openai' ? 'openai' : 'openai-codex').description;
    const { ref, capability } = requestOf(init.body, model);
    let endpoint;
    try {
      endpoint = await (await policy()).resolveEndpoint({
        model: ref,
        capability,
        providers: [{ id: model.provider, 'base-url': model.baseUrl ?? null, api: null, deployment: null }],
        credentials: [credential],
      });
    } catch (e) {
      // Answered here, as the provider's SDK reports an answer (a thrown fetch becomes a bare
      // "Connection error."), and marked as the plugin's own: nothing was sent.
      const message = `route-policy refused ${url}: ${e.code ? `${e.code}: ` : ''}${e.message}`;
      return new Response(JSON.stringify({ error: { message, type: 'route_policy_refused', code: e.code ?? null } }), {
        status: 421,
        headers: { 'content-type': 'application/json', 'x-route-policy': 'refused' },
      });
    }
    const target = endpoint['request-url'];
    const wire = routes.reduce((to, [from, origin]) => (to === from || to.startsWith(`${from}/`) ? `${origin}${to.slice(from.length)}` : to), target);
    if (target !== url) onRoute(url, target);
    return send(wire, { ...init, headers });
  };
}

/** The model ref and capability a request body asks for: an image when it offers the image tool. */
function requestOf(body, model) {
  let json = {};
  try {
    json = typeof body === 'string' ? JSON.parse(body) : {};
  } catch {
    // A body that is not JSON names no image tool.
  }
  const tool = (json.tools ?? []).find((t) => t?.type === 'image_generation');
  if (tool?.model) return { ref: `${model.provider}/${tool.model}`, capability: 'image-generate' };
  return { ref: `${model.provider}/${json.model ?? model.id}`, capability: 'chat' };
}
