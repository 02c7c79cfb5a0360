//! The credentials OpenClaw holds for OpenAI, as the policy sees them (a description: profile
//! id, provider, kind, plan; never the secret) and as the plugin keeps them (the secret, handed
//! to OpenClaw only for the URL the guard approved).
//!
//! Where they come from, in OpenClaw 2026.9.6:
//! - `models.providers.openai.apiKey` and `models.providers.openai-codex.apiKey` (literal strings),
//!   and `OPENAI_API_KEY`;
//! - the agent's auth store (`openclaw models auth …`): `api_key`, `token` and `oauth` profiles of
//!   provider `openai` (and the legacy `openai-codex`).
//!
//! A literal string says nothing about its kind, and that is seed 000: OpenClaw sent a ChatGPT
//! sign-in where an API key belongs. So a secret is described by what it is: `sk-…` is an API key;
//! a JWT carrying the ChatGPT auth claim is a sign-in, with the plan its claim names; anything
//! else is taken as its slot says (an API key under `openai`, a token under `openai-codex`).

/** The JWT claim ChatGPT sign-ins carry their account and plan in. */
const CHATGPT_CLAIM = 'https://api.openai.com/auth';

/** The policy's plans (CONTRACT.md, `plan`). */
const PLANS = new Set(['api', 'free', 'go', 'plus', 'pro', 'team', 'business', 'enterprise', 'edu']);

/**
 * A credential: its description for the policy, and its secret for the wire.
 * @typedef {{description: {'profile-id': string, provider: string, kind: 'api-key' | 'oauth' | 'token', plan: string}, secret: string}} Credential
 */

/**
 * Every OpenAI credential OpenClaw holds, described, without duplicates (the same secret in two
 * places is one credential, named by its first place).
 * @param {object} sources
 * @param {any} sources.config the OpenClaw config
 * @param {NodeJS.ProcessEnv} sources.env
 * @param {{profiles?: Record<string, any>} | null} sources.store the agent's auth store, if readable
 * @returns {Credential[]}
 */
export function openAiCredentials({ config, env, store }) {
  const found = [];
  const add = (profileId, secret, slot) => {
    if (typeof secret !== 'string' || !secret.trim() || found.some((c) => c.secret === secret.trim())) return;
    found.push(describeSecret(profileId, secret.trim(), slot));
  };
  const providers = config?.models?.providers ?? {};
  add('config:openai', providers.openai?.apiKey, 'openai');
  add('config:openai-codex', providers['openai-codex']?.apiKey, 'openai-codex');
  add('env:OPENAI_API_KEY', env.OPENAI_API_KEY, 'openai');
  for (const [id, profile] of Object.entries(store?.profiles ?? {})) {
    if (profile?.provider !== 'openai' && profile?.provider !== 'openai-codex') continue;
    if (profile.type === 'api_key') add(id, profile.key, 'openai');
    else if (profile.type === 'token') add(id, profile.token, 'openai-codex');
    else if (profile.type === 'oauth') add(id, profile.access, 'openai-codex');
  }
  return found;
}

/**
 * Credentials of the other providers a chain names (an OpenAI-compatible `backup/…`), described
 * so that `filter-fallbacks` keeps their refs; OpenClaw's own client serves them, with its own
 * credential, so their secrets are never read.
 * @param {any} config the OpenClaw config
 * @param {string[]} providerIds the providers the chain names
 */
export function otherProviderCredentials(config, providerIds) {
  const providers = config?.models?.providers ?? {};
  return providerIds
    .filter((id) => id !== 'openai' && id !== 'openai-codex' && providers[id])
    .map((id) => ({ 'profile-id': `config:${id}`, provider: id, kind: 'api-key', plan: 'api' }));
}

/**
 * Describes one secret found in `slot` (`openai` or `openai-codex`): by what it is, when that
 * shows, else by its slot.
 * @param {string} profileId the name the policy will know it by
 * @param {string} secret
 * @param {'openai' | 'openai-codex'} slot
 * @returns {Credential}
 */
export function describeSecret(profileId, secret, slot) {
  const claim = jwtClaim(secret);
  if (secret.startsWith('sk-')) return { description: { 'profile-id': profileId, provider: 'openai', kind: 'api-key', plan: 'api' }, secret };
  if (claim) {
    const plan = normalizePlan(claim.chatgpt_plan_type);
    return { description: { 'profile-id': profileId, provider: 'openai-codex', kind: 'oauth', plan }, secret };
  }
  if (slot === 'openai') return { description: { 'profile-id': profileId, provider: 'openai', kind: 'api-key', plan: 'api' }, secret };
  return { description: { 'profile-id': profileId, provider: 'openai-codex', kind: 'token', plan: 'unknown' }, secret };
}

/** The ChatGPT auth claim of a JWT, or null. The signature is not checked: this only describes. */
function jwtClaim(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const claim = payload?.[CHATGPT_CLAIM];
    return claim && typeof claim === 'object' ? claim : null;
  } catch {
    return null;
  }
}

function normalizePlan(plan) {
  const value = typeof plan === 'string' ? plan.trim().toLowerCase() : '';
  return PLANS.has(value) ? value : 'unknown';
}
