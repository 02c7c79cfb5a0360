//! What a hostile registry cannot make a host do, against a [`crate::fake`] registry on
//! loopback: buffer an oversize manifest, referrers index, error body or token answer; follow a
//! redirect off the registry's host over plain http; or hand the registry's credentials to a
//! token realm on another host.

use crate::artifact::Shape;
use crate::artifact::{Artifact, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use crate::error::{Error, Reason};
use crate::fake::{Fake, Reply, Seen};
use crate::reference::OciRef;
use crate::registry::{Credentials, Pulled, Registry};
use crate::signature::{self, SignatureArtifact};
use ed25519_dalek::SigningKey;
use route_policy_host::{PolicyId, Trust};
use std::sync::Arc;

const REPOSITORY: &str = "policies/route";
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// Far more than any limit, and than the kernel's socket buffers on both sides together.
const HUGE: u64 = 64 << 20;
/// The token an honest realm hands out, and the registry then accepts.
const TOKEN: &str = "fleet-token";
/// `Basic` of `fleet:s3cret`.
const BASIC: &str = "Basic ZmxlZXQ6czNjcmV0";

/// A signed policy artifact, as an honest registry would serve it.
struct Fixture {
    artifact: Artifact,
    signature: SignatureArtifact,
    trust: Trust,
}

impl Fixture {
    fn new() -> Arc<Fixture> {
        let wasm = b"\0asm\x0d\0\x01\0 (a component, as far as a pull can tell before loading it)".to_vec();
        let id = PolicyId {
            source: "test".to_owned(),
            sha256: route_policy_host::sha256_hex(&wasm),
            revision: "2026.11.26".to_owned(),
            contract: "0.2.0".to_owned(),
            rules_digest: "0".repeat(64),
        };
        let artifact = Artifact::new(wasm, &id);
        let key = SigningKey::from_bytes(&[7; 32]);
        let signature = SignatureArtifact::new(&artifact.digest, artifact.manifest.len(), REPOSITORY, &key);
        let trust = Trust::none().trust_key(key.verifying_key()).unwrap();
        Arc::new(Fixture { artifact, signature, trust })
    }

    fn index(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": [{
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": self.signature.digest,
                "size": self.signature.manifest.len(),
                "artifactType": signature::ARTIFACT_TYPE,
            }],
        }))
        .unwrap()
    }

    fn path(&self, what: &str) -> String {
        let layer = crate::artifact::digest_of(&self.artifact.wasm);
        let payload = crate::artifact::digest_of(&self.signature.payload);
        match what {
            "manifest" => format!("/v2/{REPOSITORY}/manifests/{}", self.artifact.digest),
            "referrers" => format!("/v2/{REPOSITORY}/referrers/{}", self.artifact.digest),
            "referrers-tag" => format!("/v2/{REPOSITORY}/manifests/{}", self.artifact.digest.replace(':', "-")),
            "signature" => format!("/v2/{REPOSITORY}/manifests/{}", self.signature.digest),
            "payload" => format!("/v2/{REPOSITORY}/blobs/{payload}"),
            "component" => format!("/v2/{REPOSITORY}/blobs/{layer}"),
            _ => unreachable!("{what}"),
        }
    }

    /// What an honest registry answers.
    fn honest(&self, seen: &Seen) -> Reply {
        let path = seen.target.split('?').next().unwrap_or_default();
        let is = |what: &str| path == self.path(what);
        if is("manifest") {
            Reply::ok(MANIFEST_MEDIA_TYPE, self.artifact.manifest.clone())
        } else if is("referrers") {
            Reply::ok(INDEX_MEDIA_TYPE, self.index())
        } else if is("signature") {
            Reply::ok(MANIFEST_MEDIA_TYPE, self.signature.manifest.clone())
        } else if is("payload") {
            Reply::ok("application/octet-stream", self.signature.payload.clone())
        } else if is("component") {
            Reply::ok(LAYER_MEDIA_TYPE, self.artifact.wasm.clone())
        } else {
            Reply::status(404, &[])
        }
    }

    fn at(&self, registry: &Fake) -> OciRef {
        OciRef::parse(&format!("oci://{}/{REPOSITORY}@{}", registry.host(), self.artifact.digest)).unwrap()
    }

    /// Pulls the artifact from `registry`, with `credentials`.
    async fn pull(&self, registry: &Fake, credentials: Option<Credentials>) -> Result<(Pulled, Shape), Error> {
        let at = self.at(registry);
        Registry::with_credentials(&at, credentials).pull(&at, &self.trust).await
    }
}

/// An honest registry's answers, except at `what`'s path (see [`Fixture::path`]).
fn honest_but(
    fixture: &Arc<Fixture>,
    what: &'static str,
    reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    let f = Arc::clone(fixture);
    move |seen| if seen.target == f.path(what) { reply() } else { f.honest(seen) }
}

/// A `307` to `location`.
fn redirect(location: String) -> impl Fn() -> Reply + Send + Sync + 'static {
    move || Reply::status(307, &[("Location", &location)])
}

fn streamed(status: u16, declared: Option<u64>) -> Reply {
    Reply::Stream { status, headers: vec![("Content-Type".into(), INDEX_MEDIA_TYPE.into())], length: HUGE, declared }
}

/// The registry's client stopped reading each streamed answer early: the server could not
/// write the whole body.
async fn assert_cut_short(server: &Fake) {
    let streamed = server.streamed().await;
    assert!(!streamed.is_empty(), "nothing was streamed");
    for stream in streamed {
        assert!(!stream.complete && stream.written < HUGE, "the whole body was read: {stream:?}");
    }
}

fn registry_error(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Registry { message, .. }) => message,
        other => panic!("expected a registry error, got {other:?}"),
    }
}

/// A 64 MiB manifest, chunked (no length to check first): refused at the 4 MiB limit, read no
/// further, and nothing else is asked for.
#[tokio::test]
async fn an_oversize_manifest_is_refused_without_buffering_it() {
    let fixture = Fixture::new();
    let registry = Fake::start("127.0.0.1", honest_but(&fixture, "manifest", || streamed(200, None)));
    let refusal = match fixture.pull(&registry, None).await {
        Err(Error::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refusal.reason, Reason::Artifact);
    assert!(refusal.message.contains("limit of 4 MiB"), "{}", refusal.message);
    assert_cut_short(&registry).await;
    assert_eq!(registry.seen().len(), 1, "nothing after the manifest: {:?}", registry.seen());
}

/// A referrers index that declares 1 GiB (from the referrers API), or streams 64 MiB (under
/// the referrers tag): the pull fails naming the limit, and the index is not read to its end.
#[tokio::test]
async fn an_oversize_referrers_index_is_refused_without_buffering_it() {
    let fixture = Fixture::new();
    for tag_schema in [false, true] {
        let f = Arc::clone(&fixture);
        let registry = Fake::start("127.0.0.1", move |seen| {
            let path = seen.target.split('?').next().unwrap_or_default();
            match (tag_schema, path) {
                (false, p) if p == f.path("referrers") => streamed(200, Some(1 << 30)),
                (true, p) if p == f.path("referrers") => Reply::status(404, &[]),
                (true, p) if p == f.path("referrers-tag") => streamed(200, None),
                _ => f.honest(seen),
            }
        });
        let message = registry_error(fixture.pull(&registry, None).await);
        assert!(message.contains("referrers") && message.contains("limit of 4 MiB"), "{message}");
        assert_cut_short(&registry).await;
    }
}

/// An error's body and a token realm's answer are read only as far as their own small limits.
#[tokio::test]
async fn error_bodies_and_token_answers_are_bounded() {
    let fixture = Fixture::new();
    let registry = Fake::start("127.0.0.1", honest_but(&fixture, "manifest", || streamed(500, None)));
    let message = registry_error(fixture.pull(&registry, None).await);
    assert!(message.contains("500") && message.len() < 1000, "{message}");
    assert_cut_short(&registry).await;

    let realm = Fake::start("127.0.0.1", |_| streamed(200, None));
    let challenge = format!("Bearer realm=\"{}/token\",service=\"fake\"", realm.origin());
    let registry = Fake::start("127.0.0.1", move |_| Reply::status(401, &[("WWW-Authenticate", &challenge)]));
    let message = registry_error(fixture.pull(&registry, None).await);
    assert!(message.contains("token") && message.contains("limit of 64 KiB"), "{message}");
    assert_cut_short(&realm).await;
}

/// A registry that requires a bearer token from `realm` (any other request gets the challenge),
/// and otherwise answers with `answer`.
fn guarded(realm: String, answer: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Fake {
    let challenge = format!("Bearer realm=\"{realm}\",service=\"fake\"");
    Fake::start("127.0.0.1", move |seen| {
        if seen.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")) {
            answer(seen)
        } else {
            Reply::status(401, &[("WWW-Authenticate", &challenge)])
        }
    })
}

fn realm() -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    |_| Reply::ok("application/json", format!("{{\"token\":\"{TOKEN}\"}}").into_bytes())
}

fn fleet() -> Option<Credentials> {
    Some(Credentials { username: "fleet".to_owned(), password: "s3cret".to_owned() })
}

/// The component's blob redirects to plain http on another host: not followed, and the server
/// there never hears of it. A redirect to another origin on the registry's own (loopback) host
/// is followed, without the registry's credentials.
#[tokio::test]
async fn a_redirect_is_followed_only_without_credentials_and_never_to_plain_http_elsewhere() {
    let fixture = Fixture::new();
    let elsewhere = Fake::start("127.0.0.2", |_| Reply::status(500, &[]));
    let target = format!("{}/storage/component", elsewhere.origin());
    let registry = Fake::start("127.0.0.1", honest_but(&fixture, "component", redirect(target)));
    let message = registry_error(fixture.pull(&registry, None).await);
    assert!(message.contains("redirect") && message.contains("plain http"), "{message}");
    assert!(elsewhere.seen().is_empty(), "the redirect was followed: {:?}", elsewhere.seen());

    let f = Arc::clone(&fixture);
    let storage = Fake::start("127.0.0.1", move |seen| {
        if seen.target == "/storage/component" {
            f.honest(&Seen { target: f.path("component"), ..seen.clone() })
        } else {
            Reply::status(404, &[])
        }
    });
    let token = Fake::start("127.0.0.1", realm());
    let target = format!("{}/storage/component", storage.origin());
    let registry = guarded(format!("{}/token", token.origin()), honest_but(&fixture, "component", redirect(target)));
    let (pulled, _) = fixture.pull(&registry, fleet()).await.unwrap();
    assert_eq!(pulled.wasm, fixture.artifact.wasm);
    let fetched = storage.seen();
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    assert_eq!(fetched[0].authorization, None, "the registry's token went to the storage origin");
}

/// A token realm on another host never receives the registry's credentials; one on the
/// registry's own host does, and the token it gives is used.
#[tokio::test]
async fn credentials_go_to_a_token_realm_only_on_the_registry_host() {
    let fixture = Fixture::new();
    let foreign = Fake::start("127.0.0.2", realm());
    let f = Arc::clone(&fixture);
    let registry = guarded(format!("{}/token", foreign.origin()), move |seen| f.honest(seen));
    let message = registry_error(fixture.pull(&registry, fleet()).await);
    assert!(message.contains(&foreign.host()), "the error names the realm: {message}");
    let leaked: Vec<_> = foreign.seen().into_iter().filter(|seen| seen.authorization.is_some()).collect();
    assert!(leaked.is_empty(), "the credentials went to another host: {leaked:?}");

    let own = Fake::start("127.0.0.1", realm());
    let f = Arc::clone(&fixture);
    let registry = guarded(format!("{}/token", own.origin()), move |seen| f.honest(seen));
    let (pulled, _) = fixture.pull(&registry, fleet()).await.unwrap();
    assert_eq!(pulled.digest, fixture.artifact.digest);
    let asked = own.seen();
    assert!(!asked.is_empty() && asked.iter().all(|seen| seen.authorization.as_deref() == Some(BASIC)), "{asked:?}");
    assert!(registry.seen().iter().all(|seen| seen.authorization.as_deref() != Some(BASIC)));
}
