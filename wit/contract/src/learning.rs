//! What a host may learn from a policy: the floor under `next-step`'s `learned`.
//!
//! A learned rejection outlives its call: the host passes it to every later chain, and
//! `filter-fallbacks` drops the model before it is tried again. So it must come only from an
//! answer that could really mean it, whatever the policy says. A hostile client showed why: the
//! platform API echoes an unknown body field in its 400 ("Unrecognized request argument
//! supplied: NAME"), and a field named like the Codex plan sentence made a policy read the echo
//! as a plan rejection, which then took the model away from every client of the gateway.
//!
//! A rejection is kept ([`learnable`]) only when all of these hold:
//! - **its reason is one a host keeps**: `model-unsupported-for-account` (a plan gate) or
//!   `model-not-found`;
//! - **the provider said it, in its own shape and status**: the newest attempt ended in an
//!   HTTP error whose JSON body carries the provider's message (`detail`, `error.message` or
//!   `message`): a plan gate with 400, an unknown model with 404;
//! - **on the route the rule belongs to**: a plan gate only from the Codex backend
//!   (`https://chatgpt.com/backend-api/codex/…`) for a ChatGPT sign-in, with the sign-in's own
//!   plan;
//! - **about the model that was sent**: the rejection's model is the attempt's (compared by
//!   [`rule_key`]);
//! - **not in the client's words**: no stretch of [`ECHO_WINDOW`] bytes of the provider's
//!   message appears in the request body that was sent, so a provider echoing the request
//!   cannot be made to say it.
//!
//! The host keeps what passes for the credential it was learned with, for a while
//! ([`LEARNED_TTL_MS`]), and at most [`MAX_LEARNED`] of them.

use crate::guard::ACCOUNT_HOST;
use crate::model_key::rule_key;
use crate::types::{Attempt, Credential, FailureReason, Outcome, Rejection};
use serde_json::Value;

/// How long a host keeps a learned rejection: an hour, after which one attempt learns it again
/// (a plan that changed, a model that became available).
pub const LEARNED_TTL_MS: u64 = 60 * 60 * 1000;

/// The most learned rejections a host keeps; the oldest go first.
pub const MAX_LEARNED: usize = 128;

/// The shortest stretch of a provider's message that, found in the request that was sent,
/// marks the message as an echo of the client's words.
pub const ECHO_WINDOW: usize = 24;

/// How much of a provider's message is compared with the request (its first bytes).
const MESSAGE_PREFIX: usize = 512;

/// Why a rejection was not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unlearnable(pub &'static str);

impl std::fmt::Display for Unlearnable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Whether a host may keep `rejection`, taught by `attempt` (the call's newest), which was sent
/// with `credential` and the request body `sent`.
pub fn learnable(
    rejection: &Rejection,
    attempt: &Attempt,
    credential: &Credential,
    sent: &[u8],
) -> Result<(), Unlearnable> {
    let refuse = |why| Err(Unlearnable(why));
    let Outcome::HttpError(response) = &attempt.outcome else {
        return refuse("the attempt did not end in the provider's error");
    };
    let expected_status = match rejection.reason {
        FailureReason::ModelUnsupportedForAccount => 400,
        FailureReason::ModelNotFound => 404,
        _ => return refuse("a host keeps only plan gates and unknown models"),
    };
    if response.status != expected_status {
        return refuse("the provider's status does not say it");
    }
    if rule_key(&rejection.model) != rule_key(&attempt.model) || rejection.model.is_empty() {
        return refuse("it names another model than the one sent");
    }
    if rejection.plan != credential.plan || credential.profile_id != attempt.credential {
        return refuse("it names another plan than the credential's");
    }
    if rejection.reason == FailureReason::ModelUnsupportedForAccount {
        let codex = url::Url::parse(&attempt.request_url).is_ok_and(|url| {
            url.scheme() == "https"
                && url.host_str() == Some(ACCOUNT_HOST)
                && url.port().is_none()
                && url.path().starts_with("/backend-api/codex/")
        });
        if !credential.kind.is_account() || !codex {
            return refuse("a plan gate is kept only from the Codex backend, for a ChatGPT sign-in");
        }
    }
    let Some(message) = provider_message(&response.body) else {
        return refuse("the body is not the provider's error shape");
    };
    if echoes(&message, sent) {
        return refuse("the provider's message repeats the request's own words");
    }
    Ok(())
}

/// The provider's message in a JSON error body: `detail` (the Codex backend), `error.message`
/// (OpenAI and most others), or `message`.
fn provider_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let text = value
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| value.get("error").and_then(|e| e.get("message")).and_then(Value::as_str))
        .or_else(|| value.get("message").and_then(Value::as_str))?;
    Some(text.to_owned())
}

/// Whether a stretch of [`ECHO_WINDOW`] bytes of `message` (or all of a shorter one) appears
/// in `sent`, verbatim or as JSON writes it. One pass over `sent` with a rolling hash, so a
/// large request costs time linear in its size.
fn echoes(message: &str, sent: &[u8]) -> bool {
    let message = cut(message, MESSAGE_PREFIX);
    let escaped = escaped(message);
    let width = ECHO_WINDOW.min(message.len()).max(1);
    let mut needles: Vec<&[u8]> = Vec::new();
    for text in [message.as_bytes(), escaped.as_bytes()] {
        if text.len() >= width {
            needles.extend(text.windows(width));
        }
    }
    if needles.is_empty() || sent.len() < width {
        return false;
    }
    // A bitmap of the needles' hashes; a hit is confirmed byte for byte.
    let mut seen = vec![0u64; BITMAP_WORDS];
    let slot = |hash: u64| ((hash >> 40) as usize) % (BITMAP_WORDS * 64);
    for needle in &needles {
        let s = slot(hash_of(needle));
        seen[s / 64] |= 1 << (s % 64);
    }
    let top = (0..width - 1).fold(1u64, |p, _| p.wrapping_mul(BASE));
    let mut hash = hash_of(&sent[..width]);
    for start in 0..=sent.len() - width {
        if start > 0 {
            let gone = u64::from(sent[start - 1]).wrapping_mul(top);
            hash = hash.wrapping_sub(gone).wrapping_mul(BASE).wrapping_add(u64::from(sent[start + width - 1]));
        }
        let s = slot(hash);
        if seen[s / 64] & (1 << (s % 64)) != 0 && needles.contains(&&sent[start..start + width]) {
            return true;
        }
    }
    false
}

const BASE: u64 = 0x100_0000_01b3;
const BITMAP_WORDS: usize = 1024;

fn hash_of(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |h, b| h.wrapping_mul(BASE).wrapping_add(u64::from(*b)))
}

/// `text` as it appears inside a JSON string.
fn escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or("").to_owned()
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CredentialKind, HttpResponse, Plan};

    const PLAN_SENTENCE: &str = "The 'gpt-5.5' model is not supported when using Codex with a ChatGPT account.";

    fn signin() -> Credential {
        Credential {
            profile_id: "codex".into(),
            provider: "openai-codex".into(),
            kind: CredentialKind::Oauth,
            plan: Plan::Plus,
        }
    }

    fn key() -> Credential {
        Credential {
            profile_id: "key".into(),
            provider: "openai".into(),
            kind: CredentialKind::ApiKey,
            plan: Plan::Api,
        }
    }

    fn attempt(url: &str, credential: &str, status: u16, body: &str) -> Attempt {
        Attempt {
            model: "openai/gpt-5.5".into(),
            credential: credential.into(),
            request_url: url.into(),
            started_ms: 0,
            ended_ms: 1,
            outcome: Outcome::HttpError(HttpResponse { status, headers: vec![], body: body.into() }),
        }
    }

    fn gate(plan: Plan) -> Rejection {
        Rejection { model: "gpt-5.5".into(), plan, reason: FailureReason::ModelUnsupportedForAccount }
    }

    const CODEX: &str = "https://chatgpt.com/backend-api/codex/responses";
    const SENT: &[u8] = br#"{"model":"gpt-5.5","input":"Count to sixty.","stream":true}"#;

    #[test]
    fn the_codex_backends_own_plan_gate_is_kept() {
        let body = serde_json::json!({ "detail": PLAN_SENTENCE }).to_string();
        assert_eq!(learnable(&gate(Plan::Plus), &attempt(CODEX, "codex", 400, &body), &signin(), SENT), Ok(()));
    }

    #[test]
    fn an_echo_of_the_clients_field_is_not_kept_anywhere() {
        // The platform API's echo, for an API key: wrong route, wrong credential, and an echo.
        let echo = serde_json::json!({"error": {"message": format!("Unrecognized request argument supplied: {PLAN_SENTENCE}"), "type": "invalid_request_error"}}).to_string();
        let sent = serde_json::json!({"model": "gpt-5.5", "input": "hi", PLAN_SENTENCE: 1}).to_string();
        let platform = attempt("https://api.openai.com/v1/responses", "key", 400, &echo);
        assert!(learnable(&gate(Plan::Api), &platform, &key(), sent.as_bytes()).is_err());
        // Even were the Codex backend to echo it, for a sign-in: the words are the client's.
        let codex = attempt(
            CODEX,
            "codex",
            400,
            &serde_json::json!({"detail": format!("Unsupported parameter: {PLAN_SENTENCE}")}).to_string(),
        );
        assert_eq!(
            learnable(&gate(Plan::Plus), &codex, &signin(), sent.as_bytes()),
            Err(Unlearnable("the provider's message repeats the request's own words"))
        );
    }

    #[test]
    fn a_gate_needs_its_status_shape_model_and_plan() {
        let body = serde_json::json!({ "detail": PLAN_SENTENCE }).to_string();
        assert!(learnable(&gate(Plan::Plus), &attempt(CODEX, "codex", 403, &body), &signin(), SENT).is_err());
        assert!(learnable(&gate(Plan::Plus), &attempt(CODEX, "codex", 400, PLAN_SENTENCE), &signin(), SENT).is_err());
        assert!(learnable(&gate(Plan::Pro), &attempt(CODEX, "codex", 400, &body), &signin(), SENT).is_err());
        let other = Rejection { model: "gpt-4.1".into(), ..gate(Plan::Plus) };
        assert!(learnable(&other, &attempt(CODEX, "codex", 400, &body), &signin(), SENT).is_err());
        let rate = Rejection { reason: FailureReason::RateLimited, ..gate(Plan::Plus) };
        assert!(learnable(&rate, &attempt(CODEX, "codex", 400, &body), &signin(), SENT).is_err());
        let legacy = "https://chatgpt.com/backend-api/responses";
        assert!(learnable(&gate(Plan::Plus), &attempt(legacy, "codex", 400, &body), &signin(), SENT).is_err());
    }

    #[test]
    fn an_echo_is_found_anywhere_in_a_large_request_and_only_there() {
        let mut sent = vec![b'a'; 4 << 20];
        assert!(!echoes(PLAN_SENTENCE, &sent));
        sent.extend_from_slice(b"...when using Codex with a ChatGPT...");
        assert!(echoes(PLAN_SENTENCE, &sent));
        assert!(echoes("short", b"a short text"), "a message shorter than the window is compared whole");
        assert!(echoes("say \"hi\" now, or else later", br#"{"x":"say \"hi\" now, or else later"}"#));
        assert!(!echoes("The model is not supported here at all", SENT));
    }

    #[test]
    fn an_unknown_model_is_kept_from_a_404_in_the_providers_shape() {
        let body = r#"{"error":{"message":"The model `gpt-5.5` does not exist or you do not have access to it.","code":"model_not_found"}}"#;
        let unknown = Rejection { model: "gpt-5.5".into(), plan: Plan::Api, reason: FailureReason::ModelNotFound };
        let platform = "https://api.openai.com/v1/responses";
        assert_eq!(learnable(&unknown, &attempt(platform, "key", 404, body), &key(), SENT), Ok(()));
        assert!(learnable(&unknown, &attempt(platform, "key", 400, body), &key(), SENT).is_err());
    }
}
