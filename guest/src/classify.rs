//! `classify-error`: what a failed provider call means and what the host should do next
//! (CONTRACT.md, "classify-error").
//!
//! The evidence is gathered once: a bounded prefix of the body, its structured fields if it is
//! JSON, whether it is an HTML page, the request URL checked against its route, the retry hints
//! in the headers. Then the rules of `rules/errors.toml` are tried in order; the first whose
//! conditions all hold decides. A `retry` past the attempt cap or the delay cap becomes
//! `next-candidate`.

use crate::model::{ModelRef, plan_name};
use crate::redact;
use crate::rules::{self, ERRORS, ErrorRule, POLICY};
use crate::types::{Action, ProviderFailure, Rejection, Verdict};
use crate::url::{self, RequestUrl};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// `classify-error`.
pub fn classify_error(failure: &ProviderFailure) -> Verdict {
    let evidence = Evidence::gather(failure);
    let (rule, capture) = ERRORS
        .rules
        .iter()
        .find_map(|rule| evidence.matches(rule).map(|capture| (rule, capture)))
        .unwrap_or((&ERRORS.fallback, None));
    evidence.verdict(rule, capture)
}

/// What the classifier knows about one failure.
struct Evidence<'a> {
    failure: &'a ProviderFailure,
    /// The HTTP status, 0 when no response arrived.
    status: u16,
    html: bool,
    /// Structured codes from a JSON body, lowercase.
    codes: Vec<String>,
    /// The provider's message (or the raw body prefix), and its lowercase twin for patterns.
    message: Cow<'a, str>,
    lower: String,
    url: RequestUrl,
    /// The model's bare id, when the request named one that parses.
    model: Option<String>,
    /// A delay the provider asked for, in ms: in its headers, its body's fields, or its words.
    asked_delay_ms: Option<u64>,
    /// When a usage window resets, in ms (the Codex backend says so, in its body or headers).
    resets_ms: Option<u64>,
    /// Usage headers say a window is used at 100%.
    window_spent: bool,
}

impl<'a> Evidence<'a> {
    fn gather(failure: &'a ProviderFailure) -> Self {
        let limits = &POLICY.limits;
        let body = prefix(&failure.body, limits.body_scan_bytes as usize);
        let headers = &failure.headers[..failure.headers.len().min(limits.max_headers as usize)];
        let header =
            |name: &str| headers.iter().find(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());

        let trimmed = body.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        let html = header("content-type").is_some_and(|ct| ct.to_ascii_lowercase().contains("text/html"))
            || looks_like_html(trimmed);

        let structured =
            if trimmed.starts_with(['{', '[']) { Structured::read(trimmed) } else { Structured::default() };
        let message: Cow<'a, str> = if structured.messages.is_empty() {
            Cow::Borrowed(body)
        } else {
            Cow::Owned(structured.messages.join("\n"))
        };
        let lower = message.to_ascii_lowercase();

        let asked_delay_ms = header("retry-after-ms")
            .and_then(parse_ms)
            .or_else(|| header("retry-after").and_then(|v| parse_retry_after(v, failure.now_ms)))
            .or(structured.retry_delay_ms)
            .or_else(|| wait_in_words_ms(&lower, failure.now_ms));
        let model = failure
            .model
            .as_deref()
            .and_then(|m| ModelRef::parse(m).ok())
            .map(|m| m.model.to_owned())
            .filter(|m| !redact::has_secret_token(m));

        // When a usage window resets, by the body's own field or the usage headers: the latest
        // reset of the spent windows, else the first window that states one.
        let now_s = failure.now_ms.map(|ms| ms / 1000);
        let windows: Vec<(bool, Option<u64>)> = ERRORS
            .retry
            .usage_windows
            .iter()
            .map(|w| {
                let spent = header(w.used_percent).and_then(|v| parse_decimal(v, 0)).is_some_and(|p| p >= 100);
                let reset_after = header(w.reset_after_seconds).and_then(|v| v.parse::<u64>().ok());
                let reset_at = header(w.reset_at).and_then(|v| v.parse::<u64>().ok());
                let reset = reset_after.or_else(|| reset_at.zip(now_s).map(|(at, now)| at.saturating_sub(now)));
                (spent, reset)
            })
            .collect();
        let window_spent = windows.iter().any(|(spent, _)| *spent);
        let window_reset_s = if window_spent {
            windows.iter().filter(|(spent, _)| *spent).filter_map(|(_, reset)| *reset).max()
        } else {
            windows.iter().find_map(|(_, reset)| *reset)
        };
        let resets_ms = structured
            .resets_in_s
            .or_else(|| structured.resets_at.zip(now_s).map(|(at, now)| at.saturating_sub(now)))
            .or(window_reset_s)
            .map(|s| s.saturating_mul(1000));

        Evidence {
            failure,
            status: failure.status.unwrap_or(0),
            html,
            codes: structured.codes,
            message,
            lower,
            url: url::check_request_url(failure.request_url.as_deref()),
            model,
            asked_delay_ms,
            resets_ms,
            window_spent,
        }
    }

    /// Whether every condition of `rule` holds; `Some(capture)` with the byte range of a
    /// `{model}` capture in the message, if the rule's pattern had one.
    fn matches(&self, rule: &ErrorRule) -> Option<Option<(usize, usize)>> {
        let status_listed = !rule.status.is_empty() || !rule.status_range.is_empty();
        let in_range = rule.status_range.len() == 2
            && self.status != 0
            && (rule.status_range[0]..=rule.status_range[1]).contains(&self.status);
        if status_listed && !(rule.status.contains(&self.status) || in_range) {
            return None;
        }
        if rule.html.is_some_and(|html| html != self.html) {
            return None;
        }
        if !rule.code.is_empty() && !self.codes.iter().any(|c| rule.code.contains(&c.as_str())) {
            return None;
        }
        if !rule.network.is_empty() {
            let network = self.failure.network_error.as_deref().map(|n| n.trim().to_ascii_lowercase())?;
            if network.is_empty() || !rule.network.iter().any(|n| rules::glob_matches(n, &network)) {
                return None;
            }
        }
        if !rule.url_class.is_empty() && !rule.url_class.contains(&self.url.class()) {
            return None;
        }
        if let Some(wanted) = rule.url_canonical {
            match self.url {
                RequestUrl::Official { is_canonical, .. } if is_canonical == wanted => {}
                _ => return None,
            }
        }
        if !rule.credential.is_empty() && !self.failure.credential_kind.is_some_and(|k| rule.credential.contains(&k)) {
            return None;
        }
        if rule.credential_unknown.is_some_and(|unknown| unknown != self.failure.credential_kind.is_none()) {
            return None;
        }
        if rule.window_spent.is_some_and(|spent| spent != self.window_spent) {
            return None;
        }
        let over_cap = self.stated_wait_ms().is_some_and(|ms| ms > ERRORS.retry.delay_cap.value);
        if rule.wait_over_cap.is_some_and(|over| over != over_cap) {
            return None;
        }
        if rule.text.is_empty() {
            return Some(None);
        }
        let capture = rule.text.iter().find_map(|pattern| rules::find_pattern(pattern, &self.lower))?.capture;
        // A message that names a model speaks of that model: when the request names another,
        // the message is an echo (of an earlier error, of a prompt), not this failure's cause.
        if let (Some(requested), Some((a, b))) = (&self.model, capture)
            && let Ok(named) = ModelRef::parse(&self.message[a..b])
            && named.rule_key() != crate::model::rule_key(requested)
        {
            return None;
        }
        Some(capture)
    }

    /// The wait the provider states, in ms: when its usage window resets, else the delay it asks
    /// for (headers, body fields, words).
    fn stated_wait_ms(&self) -> Option<u64> {
        self.resets_ms.or(self.asked_delay_ms)
    }

    fn verdict(&self, rule: &'static ErrorRule, capture: Option<(usize, usize)>) -> Verdict {
        let failure = self.failure;
        // The model: the request's, else the one the message names.
        let captured = capture
            .map(|(a, b)| self.message[a..b].to_owned())
            .filter(|m| !redact::has_secret_token(m) && ModelRef::parse(m).is_ok());
        let model = self.model.clone().or(captured);
        // A rejection names the bare model (`gpt-5.4-mini`, never `openai-codex/gpt-5.4-mini`):
        // filter-fallbacks then drops every ref form of it.
        let remember = rule.remember.then_some(()).and(model.clone()).map(|model| Rejection {
            model: ModelRef::parse(&model).map_or_else(|_| model.clone(), |r| r.leaf().to_owned()),
            plan: failure.plan.unwrap_or(crate::types::Plan::Unknown),
            reason: rule.reason,
        });

        // When a quota's usage window resets: the body's or the headers' word, else the wait the
        // provider states ("Next reset in 3 hours", "try again in 3 days 6 hours", "…|<epoch>").
        let resets_ms =
            (rule.reason == crate::types::FailureReason::QuotaExhausted).then(|| self.stated_wait_ms()).flatten();

        let retry = &ERRORS.retry;
        let attempt = failure.attempt.max(1);
        let mut action = rule.action;
        let mut rule_id = rule.id;
        let mut message = rule.message;
        let mut retry_after_ms = None;
        if action == Action::Retry {
            let delay = self.asked_delay_ms.unwrap_or_else(|| backoff_ms(attempt)).max(retry.min_delay_ms);
            retry_after_ms = Some(delay);
            if u64::from(attempt) >= retry.attempt_cap.value {
                (action, rule_id, message) = (Action::NextCandidate, retry.attempt_cap.id, retry.attempt_cap.message);
            } else if delay > retry.delay_cap.value {
                (action, rule_id, message) = (Action::NextCandidate, retry.delay_cap.id, retry.delay_cap.message);
            }
        } else if matches!(action, Action::RefreshCredential | Action::RotateCredential | Action::ReResolveEndpoint)
            && u64::from(attempt) >= retry.repeat_cap.value
        {
            (action, rule_id, message) = (Action::NextCandidate, retry.repeat_cap.id, retry.repeat_cap.message);
        } else if let Some(resets) = resets_ms {
            // A usage window that resets in hours is no retry: the wait is stated, and the
            // call moves on.
            retry_after_ms = Some(resets);
        }

        let user_message = self.render(message, model.as_deref(), retry_after_ms, resets_ms, attempt);
        Verdict { reason: rule.reason, action, retry_after_ms, user_message, remember, rule: rule_id.to_owned() }
    }

    /// Fills a message template. Every value from the input is redacted.
    fn render(
        &self,
        template: &str,
        model: Option<&str>,
        delay_ms: Option<u64>,
        resets_ms: Option<u64>,
        attempt: u32,
    ) -> String {
        let failure = self.failure;
        let mut out = String::with_capacity(template.len() + 64);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
            let name = &rest[open + 1..close];
            match name {
                "model" => out.push_str(&model.map_or_else(|| "this model".to_owned(), redact::short)),
                "plan" => out.push_str(failure.plan.map_or("current", |p| match p {
                    // A sign-in has no "API" plan; "Your ChatGPT API plan" would be nonsense.
                    crate::types::Plan::Unknown | crate::types::Plan::Api => "current",
                    p => plan_name(p),
                })),
                "status" => out.push_str(&failure.status.map_or_else(|| "no status".to_owned(), |s| s.to_string())),
                "status-note" => {
                    if let Some(status) = failure.status {
                        out.push_str(&format!(" (HTTP {status})"));
                    }
                }
                "request-url" => match (self.url.shown(), failure.request_url.as_deref()) {
                    (Some(shown), _) => out.push_str(&shown),
                    (None, Some(raw)) => out.push_str(&redact::url(raw)),
                    (None, None) => out.push_str("the provider"),
                },
                "canonical-url" => match &self.url {
                    RequestUrl::Official { canonical, .. } => out.push_str(canonical),
                    _ => out.push_str("the route's canonical URL"),
                },
                "excerpt" => {
                    let excerpt = if self.html {
                        String::new()
                    } else {
                        redact::excerpt(&self.message, POLICY.limits.excerpt_chars as usize)
                    };
                    if !excerpt.is_empty() {
                        out.push_str(&format!(": \"{excerpt}\""));
                    }
                }
                "network" => {
                    out.push_str(&failure.network_error.as_deref().map_or_else(|| "unknown".to_owned(), redact::short))
                }
                "delay" => out.push_str(&human_ms(delay_ms.unwrap_or(0))),
                "cap" => out.push_str(&human_ms(ERRORS.retry.delay_cap.value)),
                "attempt" => out.push_str(&attempt.to_string()),
                "resets" => {
                    if let Some(resets) = resets_ms {
                        out.push_str(&format!(" (it resets in {})", human_ms(resets)));
                    }
                }
                // build.rs refuses unknown placeholders; keep any text intact regardless.
                _ => out.push_str(&rest[open..=close.min(rest.len() - 1)]),
            }
            rest = &rest[(close + 1).min(rest.len())..];
        }
        out.push_str(rest);
        // Every value taken from the input was redacted as it was placed; the templates are
        // the policy's own text.
        out
    }
}

/// The fields of a JSON error body the classifier reads.
#[derive(Default)]
struct Structured {
    codes: Vec<String>,
    messages: Vec<String>,
    retry_delay_ms: Option<u64>,
    resets_in_s: Option<u64>,
    /// When the window resets, in seconds since the epoch.
    resets_at: Option<u64>,
}

impl Structured {
    /// Reads the fields the rules use from a JSON body (an object, or Google's one-element
    /// array). A field of an unexpected type is skipped, never fatal.
    fn read(text: &str) -> Structured {
        let mut out = Structured::default();
        let root = if text.starts_with('[') {
            match serde_json::from_str::<Vec<&RawValue>>(text) {
                Ok(items) => match items.first() {
                    Some(first) => first.get(),
                    None => return out,
                },
                Err(_) => return out,
            }
        } else {
            text
        };
        let Ok(body) = serde_json::from_str::<Body<'_>>(root) else { return out };
        if let Some(error) = body.error {
            match serde_json::from_str::<ErrorObject<'_>>(error.get()) {
                Ok(error) => out.error(error),
                Err(_) => out.message(parse::<Text<'_>>(error.get())),
            }
        }
        out.code(body.code);
        out.code(body.status);
        // Anthropic's top-level `"type": "error"` says nothing; any other type is a code.
        if body.kind.as_ref().is_some_and(|k| k.0 != "error") {
            out.code(body.kind);
        }
        out.message(body.message);
        if let Some(detail) = body.detail {
            match serde_json::from_str::<Detail<'_>>(detail.get()) {
                Ok(detail) => {
                    out.message(detail.message);
                    out.code(detail.code);
                }
                Err(_) => out.message(parse::<Text<'_>>(detail.get())),
            }
        }
        out
    }

    fn error(&mut self, error: ErrorObject<'_>) {
        self.code(error.code);
        self.code(error.kind);
        self.code(error.status);
        self.message(error.message);
        if let Some(details) = error.details {
            let raw = details.get();
            if raw.starts_with('{') {
                // Anthropic: {"details": {"error_code": "enforced_spend_limit_reached"}}.
                if let Ok(details) = serde_json::from_str::<AnthropicDetails<'_>>(raw) {
                    self.code(details.error_code);
                }
            } else if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw) {
                // Google: [{"@type": "…ErrorInfo", "reason": "API_KEY_INVALID"}, {"retryDelay": "32s"}].
                for item in items.iter().take(16) {
                    if let Ok(item) = serde_json::from_str::<GoogleDetail<'_>>(item.get()) {
                        self.code(item.reason);
                        if self.retry_delay_ms.is_none() {
                            self.retry_delay_ms =
                                item.retry_delay.and_then(|d| d.0).and_then(|d| parse_duration_ms(&d));
                        }
                    }
                }
            }
        }
        // OpenRouter wraps the upstream error: {"metadata": {"raw": "…"}}.
        if let Some(metadata) = error.metadata {
            self.message(parse::<Metadata<'_>>(metadata.get()).and_then(|m| m.raw));
        }
        // Codex: {"type": "usage_limit_reached", "resets_in_seconds": 3600}.
        self.resets_in_s = error.resets_in_seconds.and_then(|n| n.0);
        // Codex today: {"type": "usage_limit_reached", "resets_at": <epoch seconds>}.
        self.resets_at = error.resets_at.and_then(|n| n.0);
    }

    fn code(&mut self, code: Option<Code<'_>>) {
        let Some(Code(code)) = code else { return };
        if code.is_empty() || code.len() > 128 {
            return;
        }
        let code = code.to_ascii_lowercase();
        if !self.codes.contains(&code) {
            self.codes.push(code);
        }
    }

    fn message(&mut self, message: Option<Text<'_>>) {
        if let Some(Text(Some(text))) = message
            && !text.trim().is_empty()
        {
            self.messages.push(text.into_owned());
        }
    }
}

fn parse<'a, T: Deserialize<'a>>(raw: &'a str) -> Option<T> {
    serde_json::from_str(raw).ok()
}

/// The top level of an error body.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
    #[serde(borrow, default)]
    code: Option<Code<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Code<'a>>,
    #[serde(borrow, default)]
    status: Option<Code<'a>>,
}

/// `error` as an object (OpenAI, Anthropic, Google, Codex, OpenRouter, Azure).
#[derive(Deserialize)]
struct ErrorObject<'a> {
    #[serde(borrow, default)]
    code: Option<Code<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Code<'a>>,
    #[serde(borrow, default)]
    status: Option<Code<'a>>,
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
    #[serde(borrow, default)]
    details: Option<&'a RawValue>,
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
    #[serde(default)]
    resets_in_seconds: Option<Count>,
    #[serde(default)]
    resets_at: Option<Count>,
}

/// FastAPI-style `detail` as an object.
#[derive(Deserialize)]
struct Detail<'a> {
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
    #[serde(borrow, default)]
    code: Option<Code<'a>>,
}

#[derive(Deserialize)]
struct AnthropicDetails<'a> {
    #[serde(borrow, default)]
    error_code: Option<Code<'a>>,
}

#[derive(Deserialize)]
struct GoogleDetail<'a> {
    #[serde(borrow, default)]
    reason: Option<Code<'a>>,
    #[serde(borrow, default, rename = "retryDelay")]
    retry_delay: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow, default)]
    raw: Option<Text<'a>>,
}

/// A JSON string, borrowed when it has no escapes; any other value reads as nothing.
struct Text<'a>(Option<Cow<'a, str>>);

/// A code: a string, or a number (Google's `"code": 429`); anything else reads as nothing.
struct Code<'a>(Cow<'a, str>);

/// A non-negative integer; anything else reads as nothing.
struct Count(Option<u64>);

/// The visitor shared by the three tolerant readers: it keeps strings (and, when asked,
/// integers) and skips every other value.
struct Tolerant {
    numbers: bool,
}

impl<'de> serde::de::Visitor<'de> for Tolerant {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.numbers.then(|| Cow::Owned(v.to_string())))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.numbers.then(|| Cow::Owned(v.to_string())))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Tolerant { numbers: false }).map(Text)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Code<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Tolerant { numbers: true }).map(|c| Code(c.unwrap_or_default()))
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let number = d.deserialize_any(Tolerant { numbers: true })?;
        Ok(Count(number.and_then(|n| n.parse().ok())))
    }
}

/// The first `limit` bytes of `body`, cut at a character boundary.
fn prefix(body: &str, limit: usize) -> &str {
    if body.len() <= limit {
        return body;
    }
    let mut end = limit;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    &body[..end]
}

fn looks_like_html(trimmed: &str) -> bool {
    if !trimmed.starts_with('<') {
        return false;
    }
    let head = prefix(trimmed, 512).to_ascii_lowercase();
    ["<!doctype html", "<html", "<head", "<body", "<title"].iter().any(|tag| head.contains(tag))
}

/// `Retry-After`: delay-seconds, or an HTTP-date measured against `now-ms`.
fn parse_retry_after(value: &str, now_ms: Option<u64>) -> Option<u64> {
    if let Some(ms) = parse_seconds_ms(value) {
        return Some(ms);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    let now_ms = u128::from(now_ms?);
    Some(u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(u64::MAX))
}

/// A number of seconds (`"2"`, `"1.5"`) as ms, rounded up.
fn parse_seconds_ms(value: &str) -> Option<u64> {
    parse_decimal(value, 3)
}

/// `retry-after-ms`: a number of milliseconds, rounded up.
fn parse_ms(value: &str) -> Option<u64> {
    parse_decimal(value, 0)
}

/// A wait stated in the provider's words, in ms from now: after one of `errors.toml`'s
/// `wait-phrases`, as a Go duration ("1h2m3s", "114h18m0s", "6m4.32s", "644ms") or numbers with
/// units ("20 minutes", "2.5s", "3 days 6 hours 57 minutes", "~91 min"); or Claude's
/// "usage limit reached|1767225600" (epoch seconds, with `now_ms`).
fn wait_in_words_ms(lower: &str, now_ms: Option<u64>) -> Option<u64> {
    if let Some((_, epoch)) = lower.split_once("limit reached|") {
        let digits: String = epoch.chars().take_while(char::is_ascii_digit).collect();
        if let (Ok(at), Some(now)) = (digits.parse::<u64>(), now_ms) {
            return Some(at.saturating_sub(now / 1000).saturating_mul(1000));
        }
    }
    ERRORS.retry.wait_phrases.iter().find_map(|phrase| {
        lower.match_indices(phrase).take(8).find_map(|(at, _)| words_duration_ms(&lower[at + phrase.len()..]))
    })
}

/// The duration at the start of `text`, in ms, if it starts with one.
fn words_duration_ms(text: &str) -> Option<u64> {
    let words = text.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty() && *w != "and");
    let mut total: u64 = 0;
    let mut number: Option<&str> = None;
    let mut read_any = false;
    for word in words.take(12) {
        let word = word.trim_start_matches(['~', '(']).trim_end_matches(['.', ')', ';', '!', '"', '\'']);
        if matches!(word, "about" | "approximately" | "~") {
            continue;
        }
        // A word of numbers and units: "3h", "91min", "1h2m3s", "6m4.32s", "2.5s", or a
        // number alone whose unit is the next word.
        let mut rest = word;
        let mut read_in_word = false;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            if digits > 0 {
                number = Some(&rest[..digits]);
                rest = &rest[digits..];
            }
            let letters = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
            if letters == 0 {
                break;
            }
            let unit_ms: u64 = match &rest[..letters] {
                "w" | "wk" | "week" | "weeks" => 604_800_000,
                "d" | "day" | "days" => 86_400_000,
                "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
                "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
                "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
                "ms" | "millisecond" | "milliseconds" => 1,
                _ => return read_any.then_some(total),
            };
            let amount = parse_decimal(number.take()?, 3)?;
            total = total.saturating_add(amount.saturating_mul(unit_ms).div_ceil(1000));
            read_any = true;
            read_in_word = true;
            rest = &rest[letters..];
        }
        if !rest.is_empty() || (!read_in_word && number.is_none()) {
            break;
        }
    }
    read_any.then_some(total)
}

/// A protobuf duration (`"32s"`, `"1.5s"`) as ms.
fn parse_duration_ms(value: &str) -> Option<u64> {
    parse_seconds_ms(value.trim().strip_suffix('s')?)
}

/// A non-negative decimal `digits[.digits]` times 10^`scale`, rounded up, in integers: the
/// component links no floating-point code.
fn parse_decimal(value: &str, scale: u32) -> Option<u64> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
        return None;
    }
    let unit = 10u64.pow(scale);
    let mut total = whole.parse::<u64>().unwrap_or(u64::MAX).saturating_mul(unit);
    let (kept, rest) = fraction.split_at(fraction.len().min(scale as usize));
    if !kept.is_empty() {
        let padded = kept.parse::<u64>().ok()? * 10u64.pow(scale - kept.len() as u32);
        total = total.saturating_add(padded);
    }
    if rest.bytes().any(|b| b != b'0') {
        total = total.saturating_add(1);
    }
    Some(total)
}

/// base × 2^(attempt − 1), at most the backoff cap.
fn backoff_ms(attempt: u32) -> u64 {
    let retry = &ERRORS.retry;
    let factor = 1u64.checked_shl(attempt.saturating_sub(1).min(62)).unwrap_or(u64::MAX);
    retry.backoff_base_ms.saturating_mul(factor).min(retry.backoff_max_ms)
}

/// `1500` → `1.5 s`; `7200000` → `2 h`.
fn human_ms(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..120_000 => {
            let tenths = (ms + 50) / 100;
            match tenths % 10 {
                0 => format!("{} s", tenths / 10),
                tenth => format!("{}.{tenth} s", tenths / 10),
            }
        }
        120_000..7_200_000 => format!("{} min", ms.div_ceil(60_000)),
        _ => format!("{} h", ms.div_ceil(3_600_000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CredentialKind, FailureReason, Plan};

    fn failure(status: u16, body: &str) -> ProviderFailure {
        ProviderFailure { status: Some(status), body: body.to_owned(), ..ProviderFailure::default() }
    }

    const SCOPES: &str = r#"{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.responses.write. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a ChatGPT subscription, verify that the model supports this action.","type":"invalid_request_error","param":null,"code":null}}"#;

    #[test]
    fn seed_000_scope_error_depends_on_the_url() {
        let mut f = failure(401, SCOPES);
        f.credential_kind = Some(CredentialKind::Oauth);
        f.request_url = Some("https://api.openai.com/v1/responses".into());
        let v = classify_error(&f);
        assert_eq!((v.reason, v.action), (FailureReason::AuthScopeMissing, Action::ReResolveEndpoint));
        f.request_url = Some("https://chatgpt.com/backend-api/codex/responses".into());
        let v = classify_error(&f);
        assert_eq!((v.reason, v.action), (FailureReason::AuthScopeMissing, Action::RefreshCredential));
    }

    #[test]
    fn seed_000_model_rejection_is_remembered() {
        let mut f = failure(
            400,
            r#"{"detail":"The 'gpt-5.5-pro' model is not supported when using Codex with a ChatGPT account."}"#,
        );
        f.plan = Some(Plan::Plus);
        let v = classify_error(&f);
        assert_eq!((v.reason, v.action), (FailureReason::ModelUnsupportedForAccount, Action::DropCandidate));
        let remember = v.remember.unwrap();
        assert_eq!((remember.model.as_str(), remember.plan), ("gpt-5.5-pro", Plan::Plus));
        assert!(v.user_message.contains("Plus") && v.user_message.contains("gpt-5.5-pro"), "{}", v.user_message);
    }

    #[test]
    fn seed_004_html_403_at_the_legacy_path_is_an_endpoint_mismatch() {
        let mut f = failure(403, "<html> <head><title>403 Forbidden</title></head> ... </html>");
        f.request_url = Some("https://chatgpt.com/backend-api/responses".into());
        f.credential_kind = Some(CredentialKind::Oauth);
        let v = classify_error(&f);
        assert_eq!((v.reason, v.action), (FailureReason::EndpointMismatch, Action::ReResolveEndpoint));
        assert!(v.user_message.contains("https://chatgpt.com/backend-api/codex/responses"), "{}", v.user_message);
        f.request_url = Some("https://chatgpt.com/backend-api/codex/responses".into());
        assert_eq!(classify_error(&f).reason, FailureReason::Blocked);
    }

    #[test]
    fn a_429_echoed_in_a_400_is_not_a_rate_limit() {
        let v = classify_error(&failure(
            400,
            r#"{"error":{"message":"Invalid value: '429'. Rate limit settings are not a parameter.","type":"invalid_request_error"}}"#,
        ));
        assert_eq!((v.reason, v.action), (FailureReason::InvalidRequest, Action::Surface));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let mut f = failure(429, "");
        f.headers = vec![("Retry-After".into(), "7".into())];
        let v = classify_error(&f);
        assert_eq!((v.action, v.retry_after_ms), (Action::Retry, Some(7000)));
        f.headers = vec![("retry-after".into(), "Sat, 21 Nov 2026 06:00:10 GMT".into())];
        f.now_ms = Some(1_795_240_800_000); // Sat, 21 Nov 2026 06:00:00 GMT
        assert_eq!(classify_error(&f).retry_after_ms, Some(10_000));
        f.headers = vec![("retry-after".into(), "3600".into())];
        let v = classify_error(&f);
        assert_eq!((v.action, v.rule.as_str()), (Action::NextCandidate, "retry.delay-cap"));
        f.headers.clear();
        f.attempt = 3;
        assert_eq!(classify_error(&f).rule, "retry.attempt-cap");
    }

    #[test]
    fn decimals_parse_without_floats() {
        assert_eq!(parse_seconds_ms("2"), Some(2000));
        assert_eq!(parse_seconds_ms("1.5"), Some(1500));
        assert_eq!(parse_seconds_ms("0.0001"), Some(1));
        assert_eq!(parse_ms("1500.5"), Some(1501));
        assert_eq!(parse_ms("1500.000"), Some(1500));
        for bad in ["", "-1", "1e3", "soon", ".5", "1.2.3", " 3"] {
            assert_eq!(parse_seconds_ms(bad), None, "{bad:?}");
        }
        assert_eq!(parse_seconds_ms("99999999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_ms(500), "500 ms");
        assert_eq!(human_ms(2000), "2 s");
        assert_eq!(human_ms(1500), "1.5 s");
        assert_eq!(human_ms(600_000), "10 min");
        assert_eq!(human_ms(10_800_000), "3 h");
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(40), 30_000);
    }
}
