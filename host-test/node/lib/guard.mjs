//! The credential-egress guard, as the wasmtime host's (`host-test/src/guard.rs`): the host's
//! own check of every routing answer, so that even a hostile policy cannot send a credential
//! where it does not belong.
//!
//! For `resolve-endpoint`: the credential is one the request described, the URL parses and
//! starts with its base, and the host suits the credential's kind (an OAuth or token credential
//! goes only to chatgpt.com or an operator-named host that is not another official API; an API
//! key only to api.openai.com or an operator-named host other than chatgpt.com); plain http only
//! to a named loopback host. For `filter-fallbacks`: every ref is accounted for once, every
//! candidate names a described credential on a transport that suits it.
//!
//! Node's `URL` is a WHATWG parser, like the `url` crate, so both guards see the same hosts.

const ACCOUNT_HOST = 'chatgpt.com';
const PLATFORM_HOST = 'api.openai.com';
const ACCOUNT_KINDS = ['oauth', 'token'];

/** The host of a URL, lowercase, without a trailing dot; IPv6 in brackets. */
function hostName(url) {
  return url.hostname.replace(/\.$/, '').toLowerCase();
}

const isAzure = (host) => host.endsWith('.openai.azure.com') || host.endsWith('.cognitiveservices.azure.com');

function isLoopback(host) {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (/^127\.\d+\.\d+\.\d+$/.test(host)) return true;
  return host === '[::1]';
}

function parse(raw) {
  try {
    return new URL(raw.trim());
  } catch {
    return null;
  }
}

/** Whether the operator named `host`: in the request's configs, its env URL, or the allowlist. */
function isNamed(host, request, allowedHosts) {
  if (allowedHosts.includes(host)) return true;
  const configured = [...(request.providers ?? []).map((p) => p['base-url']), request['env-base-url']].filter((u) => typeof u === 'string');
  return configured.some((raw) => {
    const url = parse(raw);
    return url && hostName(url) === host;
  });
}

/**
 * Checks a `resolve-endpoint` answer (JSON vocabulary) against its request; the violation, or null.
 * @param {object} request
 * @param {object} endpoint
 * @param {string[]} allowedHosts
 */
export function checkEndpoint(request, endpoint, allowedHosts = []) {
  const credential = (request.credentials ?? []).find((c) => c['profile-id'] === endpoint.credential);
  if (!credential) return `it names a credential the request did not describe`;
  const url = endpoint['request-url'].startsWith(endpoint['base-url']) ? parse(endpoint['request-url']) : null;
  if (!url || !url.hostname) return `its URL does not parse or does not start with its base URL`;
  const host = hostName(url);
  const named = () => isNamed(host, request, allowedHosts);
  const account = ACCOUNT_KINDS.includes(credential.kind);
  const allowed = account
    ? host === ACCOUNT_HOST || (host !== PLATFORM_HOST && !isAzure(host) && named())
    : host === PLATFORM_HOST || (host !== ACCOUNT_HOST && named());
  if (!allowed) return `it would send the ${credential.kind} credential \`${credential['profile-id']}\` to ${host}, which that kind may not reach`;
  if (url.protocol !== 'https:' && (url.protocol !== 'http:' || !isLoopback(host) || !named())) {
    return `it would send credential \`${credential['profile-id']}\` over plain http to ${host}`;
  }
  return null;
}

/**
 * Checks a `filter-fallbacks` answer against its request; the violation, or null. A plan may
 * redact a ref shaped like a secret: an answered ref holding `[redacted]` stands for one ref.
 */
export function checkPlan(request, plan) {
  const refs = [request.primary, ...(request.fallbacks ?? []), ...(request['explicit-override'] != null ? [request['explicit-override']] : [])];
  const answered = [...plan.candidates.map((c) => c.requested), ...plan.dropped.map((d) => d.model)];
  const redacted = [];
  for (const ref of answered) {
    const at = refs.indexOf(ref);
    if (at >= 0) refs.splice(at, 1);
    else if (ref.includes('[redacted]')) redacted.push(ref);
    else return `ref ${JSON.stringify(ref)} is not a ref of the request, or appears twice`;
  }
  if (refs.length !== redacted.length) return `${refs.length - redacted.length} ref(s) of the request are neither candidates nor dropped`;
  for (const candidate of plan.candidates) {
    const credential = (request.credentials ?? []).find((c) => c['profile-id'] === candidate.credential);
    if (!credential) return `candidate ${candidate.model} names a credential the request did not describe`;
    const provider = candidate.requested.trim().split('/')[0];
    const suits =
      candidate.transport === 'codex-responses'
        ? ACCOUNT_KINDS.includes(credential.kind)
        : candidate.transport === 'custom'
          ? candidate.requested.includes('/') && credential.provider.toLowerCase() === provider.toLowerCase()
          : credential.kind === 'api-key';
    if (!suits) return `candidate ${candidate.model} pairs credential \`${credential['profile-id']}\` with transport ${candidate.transport}, which does not suit it`;
  }
  return null;
}
