//! The HTTP transport: reqwest on hyper with rustls, streaming, every timeout of the attempt
//! enforced, every failure reported as the fact it is.
//!
//! - Plain http is sent only to a loopback host (the guard refuses anything else first).
//! - The connect timeout is the client's (one client per connect timeout, pooled); the first
//!   byte, first token, idle and total timeouts are kept here, so that which one fired is
//!   known.
//! - A failure's body is read up to [`ERROR_BODY_BYTES`]; a success's whole.
//! - An optional map sends an origin's requests to a loopback server instead ([`Self::route`]):
//!   tests and the demo stand a fake in for chatgpt.com, after the guard has checked the real
//!   URL, without certificates.

use crate::sse::{self, Event, Reader};
use crate::transport::{Answer, Api, Deadlines, Outgoing, Sent, Translation, Transport};
use bytes::BytesMut;
use futures_util::StreamExt;
use route_policy_contract::redact;
use route_policy_contract::types::{
    HttpResponse, NetworkFailure, NetworkKind, Outcome, StreamFault, StreamFaultKind, TimeoutKind,
};
use route_policy_translate::stream::Translate;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The most of a failure's body read and reported, in bytes: a provider's error fits.
pub const ERROR_BODY_BYTES: usize = 16 << 10;

/// The longest whole (not streamed) answer read, in bytes.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// How long a finished stream may take to send its trailing usage chunk.
const TRAILER_WAIT: Duration = Duration::from_millis(500);

/// Sends attempts over HTTP.
pub struct HttpTransport {
    clients: Mutex<HashMap<Duration, reqwest::Client>>,
    routes: Vec<(String, String)>,
}

impl Default for HttpTransport {
    fn default() -> Self {
        HttpTransport::new()
    }
}

/// Why a route could not be set.
#[derive(Debug, thiserror::Error)]
#[error("routing {from} to {to}: {reason}")]
pub struct RouteError {
    from: String,
    to: String,
    reason: &'static str,
}

impl HttpTransport {
    /// A transport with no routes.
    pub fn new() -> HttpTransport {
        HttpTransport { clients: Mutex::new(HashMap::new()), routes: Vec::new() }
    }

    /// Sends requests for the origin `from` (`https://chatgpt.com`) to `to`, an `http` origin
    /// on a loopback address (`http://127.0.0.1:4000`): a stand-in server for tests and demos.
    /// The guard has already checked the real URL; only where the bytes go changes.
    pub fn route(mut self, from: &str, to: &str) -> Result<HttpTransport, RouteError> {
        let refuse = |reason| RouteError { from: from.to_owned(), to: to.to_owned(), reason };
        let target = url::Url::parse(to).map_err(|_| refuse("not a URL"))?;
        let loopback = match target.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if !loopback || target.path() != "/" {
            return Err(refuse("a route goes only to a loopback origin, with no path"));
        }
        let from = from.trim_end_matches('/').to_owned();
        self.routes.push((from, to.trim_end_matches('/').to_owned()));
        Ok(self)
    }

    fn client(&self, connect: Duration) -> reqwest::Client {
        let mut clients = self.clients.lock().expect("not poisoned");
        clients
            .entry(connect)
            .or_insert_with(|| {
                reqwest::Client::builder()
                    .connect_timeout(connect)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("a client with rustls and no other options builds")
            })
            .clone()
    }

    /// The URL the bytes go to.
    fn destination(&self, url: &str) -> String {
        for (from, to) in &self.routes {
            if let Some(rest) = url.strip_prefix(from.as_str())
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return format!("{to}{rest}");
            }
        }
        url.to_owned()
    }
}

impl Transport for HttpTransport {
    async fn send(&self, request: Outgoing) -> Sent {
        let started = Instant::now();
        let d = request.deadlines;
        let total_at = started + d.total;
        let mut builder = self.client(d.connect).post(self.destination(&request.url)).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let headers_at = (started + d.first_byte).min(total_at);
        let response = match tokio::time::timeout_at(headers_at, builder.send()).await {
            Err(_) => {
                let kind = if headers_at == total_at { TimeoutKind::Total } else { TimeoutKind::FirstByte };
                return Sent::failed(Outcome::Timeout(kind));
            }
            Ok(Err(error)) => return Sent::failed(network_outcome(&error)),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Sent::failed(error_response(response, d, total_at).await);
        }
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let streaming = request.streaming || content_type.starts_with("text/event-stream");
        if streaming {
            let stream = Streamed { api: request.api, status, content_type, translation: request.translation };
            read_stream(response, stream, started, d, request.sink).await
        } else {
            read_whole(response, status, content_type, d, total_at, request.translation).await
        }
    }
}

/// A failure's status, headers and a bounded prefix of its body.
async fn error_response(response: reqwest::Response, d: Deadlines, total_at: Instant) -> Outcome {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .take(64)
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let mut body = BytesMut::new();
    let mut stream = response.bytes_stream();
    while body.len() < ERROR_BODY_BYTES {
        let wait = (Instant::now() + d.idle).min(total_at);
        match tokio::time::timeout_at(wait, stream.next()).await {
            Ok(Some(Ok(chunk))) => body.extend_from_slice(&chunk),
            // The status is the fact that matters; a body cut short is reported as it came.
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_BYTES);
    Outcome::HttpError(HttpResponse { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

/// A whole JSON answer.
async fn read_whole(
    response: reqwest::Response,
    status: u16,
    content_type: String,
    d: Deadlines,
    total_at: Instant,
    translation: Option<Translation>,
) -> Sent {
    let mut body = BytesMut::new();
    let mut stream = response.bytes_stream();
    loop {
        let idle_at = (Instant::now() + d.idle).min(total_at);
        match tokio::time::timeout_at(idle_at, stream.next()).await {
            Err(_) => {
                let kind = if idle_at == total_at { TimeoutKind::Total } else { TimeoutKind::Idle };
                return Sent::failed(Outcome::Timeout(kind));
            }
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                let fault = StreamFault { kind: StreamFaultKind::Truncated, events: 0, detail: error.to_string() };
                return Sent::failed(Outcome::StreamFault(fault));
            }
            Ok(Some(Ok(chunk))) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    let detail = format!("the answer is larger than {MAX_BODY_BYTES} bytes");
                    let fault = StreamFault { kind: StreamFaultKind::Truncated, events: 0, detail };
                    return Sent::failed(Outcome::StreamFault(fault));
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(error) => {
            let fault = StreamFault { kind: StreamFaultKind::MalformedEvent, events: 0, detail: error.to_string() };
            return Sent::failed(Outcome::StreamFault(fault));
        }
    };
    if json.get("error").is_some_and(|e| !e.is_null()) {
        let detail = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_BYTES)]).into_owned();
        return Sent::failed(Outcome::StreamFault(StreamFault {
            kind: StreamFaultKind::ErrorEvent,
            events: 0,
            detail,
        }));
    }
    // Chat Completions and Responses both put it at `usage`, in their own words.
    let usage = json.get("usage").and_then(sse::usage);
    // In the caller's API, when the route speaks the other one.
    let mut notes = Vec::new();
    let body = match translation {
        None => body.freeze(),
        Some(translation) => {
            use route_policy_translate::response;
            let translated = match translation {
                Translation::ResponsesToChat { .. } => response::responses_to_chat(&json),
                Translation::ChatToResponses => response::chat_to_responses(&json),
            };
            match translated {
                Ok(translated) => {
                    notes = translated.notes.iter().map(ToString::to_string).collect();
                    bytes::Bytes::from(serde_json::to_vec(&translated.body).unwrap_or_default())
                }
                Err(error) => {
                    let detail = redact::excerpt(&error.to_string(), 512);
                    let fault = StreamFault { kind: StreamFaultKind::MalformedEvent, events: 0, detail };
                    return Sent::failed(Outcome::StreamFault(fault));
                }
            }
        }
    };
    let answer = Answer { status, content_type, body, usage, events: 0, notes };
    Sent { outcome: Outcome::Success(usage), answer: Some(answer), forwarded: false, abandoned: false, skipped: 0 }
}

/// What a streamed answer is: the route's API (which its events are read by), its status and
/// content type, and its translation into the caller's API.
struct Streamed {
    api: Api,
    status: u16,
    content_type: String,
    translation: Option<Translation>,
}

/// A streamed answer, read event by event with the first-token, idle and total timeouts; with
/// a sink, each chunk whose events all read well is passed on as it arrives (in the caller's
/// API: translated event by event when the route speaks the other one).
async fn read_stream(
    response: reqwest::Response,
    streamed: Streamed,
    started: Instant,
    d: Deadlines,
    sink: Option<tokio::sync::mpsc::Sender<bytes::Bytes>>,
) -> Sent {
    let Streamed { api, status, content_type, translation } = streamed;
    let mut translator = translation.map(translator);
    let total_at = started + d.total;
    let first_token_at = (started + d.first_token).min(total_at);
    let mut reader = Reader::new(api);
    if translator.is_some() {
        reader.keep_json();
    }
    let mut body = BytesMut::new();
    let mut stream = response.bytes_stream();
    let mut forwarded = false;
    let mut received = 0usize;
    // Translated events not passed on yet (before the first content).
    let mut pending = BytesMut::new();
    let fault = |kind, reader: &Reader, detail: String, forwarded: bool| Sent {
        outcome: Outcome::StreamFault(StreamFault { kind, events: reader.events, detail }),
        answer: None,
        forwarded,
        abandoned: false,
        skipped: reader.skipped,
    };
    loop {
        // After the answer finished, only a short wait for its trailing usage chunk.
        let idle_at = if reader.finished { Instant::now() + TRAILER_WAIT.min(d.idle) } else { Instant::now() + d.idle };
        let (wait, kind) = if !reader.content && !reader.finished && first_token_at < idle_at {
            (first_token_at, TimeoutKind::FirstToken)
        } else {
            (idle_at, TimeoutKind::Idle)
        };
        let (wait, kind) = if total_at <= wait { (total_at, TimeoutKind::Total) } else { (wait, kind) };
        let next = tokio::time::timeout_at(wait, stream.next()).await;
        let chunk = match next {
            Err(_) if reader.finished => break,
            Err(_) => {
                let mut sent = Sent::failed(Outcome::Timeout(kind));
                sent.forwarded = forwarded;
                sent.skipped = reader.skipped;
                return sent;
            }
            Ok(None) if reader.finished && !reader.pending() => break,
            Ok(None) => {
                let detail = format!("the stream ended after {} events without finishing", reader.events);
                return fault(StreamFaultKind::Truncated, &reader, detail, forwarded);
            }
            Ok(Some(Err(_))) if reader.finished => break,
            Ok(Some(Err(error))) => return fault(StreamFaultKind::Truncated, &reader, error.to_string(), forwarded),
            Ok(Some(Ok(chunk))) => chunk,
        };
        received += chunk.len();
        if received > MAX_BODY_BYTES {
            let detail = format!("the stream is larger than {MAX_BODY_BYTES} bytes");
            return fault(StreamFaultKind::Truncated, &reader, detail, forwarded);
        }
        let mut done = false;
        for event in reader.push(&chunk) {
            match event {
                // Skipped by the reader, as clients skip it: neither passed on nor kept.
                Event::Malformed(_) => {}
                Event::Error(data) => return fault(StreamFaultKind::ErrorEvent, &reader, data, forwarded),
                Event::Done => done = true,
                Event::Empty | Event::Content | Event::Finished => {}
            }
        }
        let kept = reader.take_kept();
        match translator.as_mut() {
            None => body.extend_from_slice(&kept),
            Some(translator) => {
                // The caller's events: translated, kept, and passed on in place of these.
                reader.take_complete();
                let ours = translate_events(translator.as_mut(), &reader.take_json());
                body.extend_from_slice(&ours);
                pending.extend_from_slice(&ours);
            }
        }
        // Every event of the chunk read well: pass on the complete ones, from the first
        // content on. Comments and keep-alives before it commit nothing, so a stream that
        // never starts can still fail over unseen.
        let complete = match (translator.is_some(), reader.content || done) {
            (_, false) => bytes::Bytes::new(),
            (false, true) => reader.take_complete(),
            (true, true) => std::mem::take(&mut pending).freeze(),
        };
        if let Some(sink) = sink.as_ref().filter(|_| !complete.is_empty()) {
            if sink.send(complete).await.is_err() {
                // The caller went away: the upstream request is dropped with this future.
                let mut sent =
                    fault(StreamFaultKind::Truncated, &reader, "the caller disconnected".to_owned(), forwarded);
                sent.abandoned = true;
                return sent;
            }
            forwarded = true;
        }
        if done {
            break;
        }
    }
    if let Some(translator) = translator.as_mut() {
        // The caller's API closes its stream its own way (`[DONE]` for Chat Completions).
        let closing = translator.finish().iter().map(|e| e.to_sse()).collect::<String>();
        body.extend_from_slice(closing.as_bytes());
        if let Some(sink) = sink.as_ref().filter(|_| !closing.is_empty())
            && sink.send(bytes::Bytes::from(closing)).await.is_ok()
        {
            forwarded = true;
        }
    }
    let answer = Answer {
        status,
        content_type,
        body: body.freeze(),
        usage: reader.usage,
        events: reader.events,
        notes: Vec::new(),
    };
    Sent {
        outcome: Outcome::Success(reader.usage),
        answer: Some(answer),
        forwarded,
        abandoned: false,
        skipped: reader.skipped,
    }
}

/// The stream translator for a translation.
fn translator(translation: Translation) -> Box<dyn Translate + Send> {
    use route_policy_translate::stream::{ChatToResponses, ResponsesToChat};
    match translation {
        Translation::ResponsesToChat { include_usage } => Box::new(ResponsesToChat::new(include_usage)),
        Translation::ChatToResponses => Box::new(ChatToResponses::new()),
    }
}

/// The upstream's events, as the caller's API's events (SSE text). A Chat stream's `[DONE]`
/// is the translator's to answer at the end ([`Translate::finish`]), not here.
fn translate_events(translator: &mut (dyn Translate + Send), events: &[serde_json::Value]) -> Vec<u8> {
    let mut out = String::new();
    for event in events {
        for translated in translator.push_json(event) {
            out.push_str(&translated.to_sse());
        }
    }
    out.into_bytes()
}

/// A connection failure, named by its kind.
fn network_outcome(error: &reqwest::Error) -> Outcome {
    if error.is_timeout() && error.is_connect() {
        return Outcome::Timeout(TimeoutKind::Connect);
    }
    let chain = error_chain(error);
    let lower = chain.to_ascii_lowercase();
    let kind = if lower.contains("refused") {
        NetworkKind::Refused
    } else if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") {
        NetworkKind::Dns
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        NetworkKind::Tls
    } else if lower.contains("reset")
        || lower.contains("closed before")
        || lower.contains("connection closed")
        || lower.contains("broken pipe")
        || lower.contains("incomplete")
    {
        NetworkKind::Reset
    } else {
        NetworkKind::Other
    };
    Outcome::Network(NetworkFailure { kind, detail: chain })
}

/// An error and its sources, in one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
