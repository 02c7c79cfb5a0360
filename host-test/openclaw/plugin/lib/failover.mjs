//! OpenClaw's failover reasons, answered from the policy's `classify-error` verdicts.
//!
//! OpenClaw 2026.9.6 has sixteen frozen reason codes, and what it does next depends on the code:
//! `rate_limit`, `timeout` and `model_not_found` cool down only the failing model; every other
//! code counts against the credential, and `auth_permanent` disables it for about ten minutes.
//! The policy's verdict says what went wrong and what to do; the mapping keeps its action:
//! a wrong route (`re-resolve-endpoint`) or a model the plan cannot use (`drop-candidate`) must
//! never lock out a credential that is fine, so both answer `model_not_found`, the one code that
//! moves on without touching the credential. (The plugin owns one provider, so a credential
//! lockout there would stop every ref the policy routes.)

/** The verdict's reason, as OpenClaw's code, when its action does not decide. */
const BY_REASON = {
  'auth-scope-missing': 'auth',
  'auth-invalid': 'auth_permanent',
  'auth-expired': 'session_expired',
  'permission-denied': 'auth',
  'endpoint-mismatch': 'model_not_found',
  blocked: 'unknown',
  'model-unsupported-for-account': 'model_not_found',
  'model-not-found': 'model_not_found',
  'tool-unavailable': 'format',
  'quota-exhausted': 'billing',
  'rate-limited': 'rate_limit',
  'context-overflow': 'context_overflow',
  'content-policy': 'format',
  'invalid-request': 'format',
  timeout: 'timeout',
  overloaded: 'overloaded',
  'server-error': 'server_error',
  network: 'timeout',
  unknown: 'unknown',
};

/**
 * OpenClaw's failover reason for a verdict.
 * @param {{reason: string, action: string}} verdict
 * @returns {string} one of OpenClaw's `FailoverReason` codes
 */
export function failoverReason(verdict) {
  if (verdict.action === 're-resolve-endpoint' || verdict.action === 'drop-candidate') return 'model_not_found';
  return BY_REASON[verdict.reason] ?? 'unknown';
}

/**
 * The `provider-failure` for `classify-error`, from what OpenClaw passes `classifyFailoverReason`:
 * the error's message (which begins with the status and carries the body) and status, but no
 * headers. An HTML body is reported as `text/html`, the one header the classifier's first layer
 * reads, since that is what the response said of itself.
 * @param {{errorMessage: string, status?: number}} ctx OpenClaw's context
 * @param {{requestUrl: string, model: string, kind: string, plan: string, capability: string}} route the route the request took
 */
export function providerFailure(ctx, route) {
  const body = String(ctx.errorMessage ?? '');
  const status = Number.isInteger(ctx.status) ? ctx.status : statusOf(body);
  const html = /^\s*(?:\d{3}\s+)?<(?:!doctype\s+html|html)[\s>]/i.test(body);
  return {
    status,
    headers: html ? [['content-type', 'text/html']] : [],
    body,
    'network-error': null,
    'request-url': route.requestUrl,
    model: route.model,
    'credential-kind': route.kind,
    plan: route.plan,
    capability: route.capability,
    attempt: 1,
    'now-ms': Date.now(),
  };
}

/** The status an error message begins with (`403 <html>…`), or null. */
function statusOf(message) {
  const match = /^\s*(\d{3})\b/.exec(message);
  return match ? Number(match[1]) : null;
}
