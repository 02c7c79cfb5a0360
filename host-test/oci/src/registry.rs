//! The registry's side: push and sign artifacts, watch a tag cheaply, and pull an artifact by
//! digest with every check.
//!
//! oci-client does the protocol: uploads, token auth, the referrers API with its tag-schema
//! fallback, and the digest checks of manifests (against the digest asked for) and blobs
//! (against the manifest's descriptors). It has no conditional request, so watching a tag is
//! one plain `GET` with `If-None-Match`, answered `304 Not Modified` while the tag stays put.
//!
//! Credentials, when a registry needs them, come from `ROUTE_POLICY_REGISTRY_USERNAME` and
//! `ROUTE_POLICY_REGISTRY_PASSWORD`; without them the registry is used anonymously.

use crate::artifact::{self, Artifact, MANIFEST_MEDIA_TYPE, Shape};
use crate::error::{Error, Reason, Refusal};
use crate::reference::OciRef;
use crate::signature::{self, SignatureArtifact};
use ed25519_dalek::SigningKey;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{ImageIndexEntry, OciDescriptor};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use route_policy_host::Trust;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

/// The largest manifest a watch reads.
const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Defaults of every registry connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Defaults of every registry read.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A registry, reached over https (plain http for a loopback one).
pub struct Registry {
    name: String,
    client: Client,
    auth: RegistryAuth,
    http: reqwest::Client,
    /// The bearer token of the last `401`, reused by later polls.
    bearer: Mutex<Option<String>>,
}

/// What a tag names now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagState {
    /// `304`: the tag still names what the `If-None-Match` named.
    NotModified,
    /// The tag names this manifest.
    Names {
        /// `sha256:HEX` of the manifest's bytes (computed here, and equal to what the registry says).
        digest: String,
        /// The registry's `ETag` (or the quoted digest), for the next poll.
        etag: String,
    },
}

/// An artifact pulled and checked: its digest matched, its shape is a policy's, a trusted key
/// signed it. The component is not loaded yet.
#[derive(Clone, Debug)]
pub struct Pulled {
    /// `oci://REGISTRY/REPO@sha256:…`.
    pub artifact: String,
    /// `sha256:HEX` of the manifest.
    pub digest: String,
    /// The manifest's bytes.
    pub manifest: Vec<u8>,
    /// The component.
    pub wasm: Vec<u8>,
    /// The signature payload that verified.
    pub signature: Vec<u8>,
}

impl Pulled {
    /// Checks bytes (fresh from the registry, or read back from the last-good store) as
    /// [`Registry::pull`] does: digests, shape, signature.
    pub fn check(
        at: &OciRef,
        manifest: Vec<u8>,
        wasm: Vec<u8>,
        signatures: &[Result<Vec<u8>, String>],
        trust: &Trust,
    ) -> Result<(Pulled, Shape), Refusal> {
        let (shape, signature) = Pulled::check_manifest(at, &manifest, signatures, trust)?;
        Pulled::with_component(at, manifest, shape, signature, wasm)
    }

    /// What is checked before the component is fetched: the manifest's digest, its shape, a
    /// trusted signature (the payload that verified is returned).
    fn check_manifest(
        at: &OciRef,
        manifest: &[u8],
        signatures: &[Result<Vec<u8>, String>],
        trust: &Trust,
    ) -> Result<(Shape, Vec<u8>), Refusal> {
        let artifact = at.to_string();
        let digest = at.digest.as_deref().expect("a pulled artifact is named by digest");
        if !artifact::matches(manifest, digest) {
            return Err(Refusal {
                reason: Reason::ManifestDigest,
                artifact,
                message: format!("the manifest's bytes hash to {}, not {digest}", artifact::digest_of(manifest)),
            });
        }
        let shape = artifact::check(&artifact, manifest)?;
        let signature = signature::require(&artifact, digest, &at.repository, signatures, trust)?;
        Ok((shape, signature))
    }

    /// The checked manifest with its component, once the component matches the layer's digest.
    fn with_component(
        at: &OciRef,
        manifest: Vec<u8>,
        shape: Shape,
        signature: Vec<u8>,
        wasm: Vec<u8>,
    ) -> Result<(Pulled, Shape), Refusal> {
        let artifact = at.to_string();
        if !artifact::matches(&wasm, &shape.layer.digest) {
            return Err(Refusal {
                reason: Reason::BlobDigest,
                artifact,
                message: format!("the component hashes to {}, not {}", artifact::digest_of(&wasm), shape.layer.digest),
            });
        }
        let digest = at.digest.clone().expect("a pulled artifact is named by digest");
        Ok((Pulled { artifact, digest, manifest, wasm, signature }, shape))
    }
}

impl Registry {
    /// A client for `reference`'s registry.
    pub fn new(reference: &OciRef) -> Registry {
        // reqwest 0.13 (oci-client's) uses the process's rustls provider: ring, as the executor.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if reference.is_loopback() {
            ClientProtocol::HttpsExcept(vec![reference.registry.clone()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: concat!("route-policy/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        });
        let auth =
            match (std::env::var("ROUTE_POLICY_REGISTRY_USERNAME"), std::env::var("ROUTE_POLICY_REGISTRY_PASSWORD")) {
                (Ok(user), Ok(password)) => RegistryAuth::Basic(user, password),
                _ => RegistryAuth::Anonymous,
            };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(READ_TIMEOUT)
            .https_only(!reference.is_loopback())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain client builds");
        Registry { name: reference.registry.clone(), client, auth, http, bearer: Mutex::new(None) }
    }

    /// Pushes `artifact` under `target`'s tag and returns its digest.
    pub async fn push(&self, target: &OciRef, artifact: &Artifact) -> Result<String, Error> {
        let image = target.to_client();
        self.client.store_auth_if_needed(&target.registry, &self.auth).await;
        self.client.auth(&image, &self.auth, RegistryOperation::Push).await.map_err(|e| self.fail(e))?;
        for (bytes, digest) in [
            (&artifact.config, artifact::digest_of(&artifact.config)),
            (&artifact.wasm, artifact::digest_of(&artifact.wasm)),
        ] {
            self.client.push_blob(&image, bytes.clone(), &digest).await.map_err(|e| self.fail(e))?;
        }
        self.push_manifest(&image, artifact.manifest.clone()).await?;
        Ok(artifact.digest.clone())
    }

    /// Signs the manifest `subject` names (by digest) with `key`, attaching the signature as an
    /// artifact that refers to it; returns the signature's digest.
    pub async fn sign(&self, subject: &OciRef, key: &SigningKey) -> Result<String, Error> {
        let digest = subject.digest.as_deref().ok_or_else(|| Error::Reference {
            reference: subject.to_string(),
            reason: "sign a digest (@sha256:…), not a tag that may move".to_owned(),
        })?;
        let image = subject.to_client();
        self.client.store_auth_if_needed(&subject.registry, &self.auth).await;
        self.client.auth(&image, &self.auth, RegistryOperation::Push).await.map_err(|e| self.fail(e))?;
        let (manifest, _) = self
            .client
            .pull_manifest_raw(&image, &self.auth, &[MANIFEST_MEDIA_TYPE])
            .await
            .map_err(|e| self.fail(e))?;
        artifact::check(&subject.to_string(), &manifest).map_err(Error::Refused)?;
        let signed = SignatureArtifact::new(digest, manifest.len(), &subject.repository, key);
        let empty = artifact::digest_of(signature::EMPTY);
        self.client.push_blob(&image, signature::EMPTY.to_vec(), &empty).await.map_err(|e| self.fail(e))?;
        let payload = artifact::digest_of(&signed.payload);
        self.client.push_blob(&image, signed.payload.clone(), &payload).await.map_err(|e| self.fail(e))?;
        self.push_manifest(&subject.at(&signed.digest).to_client(), signed.manifest.clone()).await?;
        // A registry with the referrers API lists the signature by now. One without it needs
        // the tag schema: an index tagged `sha256-<hex>` listing every referrer.
        let mut index = self.client.pull_referrers(&image, None).await.map_err(|e| self.fail(e))?;
        if !index.manifests.iter().any(|entry| entry.digest == signed.digest) {
            index.manifests.push(ImageIndexEntry {
                media_type: MANIFEST_MEDIA_TYPE.to_owned(),
                digest: signed.digest.clone(),
                size: signed.manifest.len() as i64,
                platform: None,
                annotations: None,
                artifact_type: Some(signature::ARTIFACT_TYPE.to_owned()),
            });
            let tag = subject.tagged(&digest.replace(':', "-"));
            self.client.push_manifest_list(&tag.to_client(), &self.auth, index).await.map_err(|e| self.fail(e))?;
        }
        Ok(signed.digest)
    }

    /// Points `tag` at the artifact `at` names (by digest): how a rollout moves a fleet's tag
    /// once the artifact is pushed and signed, so that no host ever sees it unsigned. An
    /// artifact with no signature for this repository is refused (which key signed it, each
    /// host checks).
    pub async fn retag(&self, at: &OciRef, tag: &str) -> Result<OciRef, Error> {
        let target = at.tagged(tag);
        OciRef::parse(&target.to_string())?;
        let digest = at.digest.as_deref().unwrap_or_default();
        self.client.store_auth_if_needed(&at.registry, &self.auth).await;
        self.client.auth(&target.to_client(), &self.auth, RegistryOperation::Push).await.map_err(|e| self.fail(e))?;
        let manifest = self.manifest(&at.to_client(), &at.to_string()).await?;
        artifact::check(&at.to_string(), &manifest)?;
        let signatures = self.signatures(at, digest).await?;
        if !signatures.iter().flatten().any(|payload| signature::claims(payload, digest, &at.repository)) {
            return Err(Refusal {
                reason: Reason::Unsigned,
                artifact: at.to_string(),
                message: format!(
                    "no signature for {} refers to it: sign it (`route-policy sign`) before moving a tag to it",
                    at.repository
                ),
            }
            .into());
        }
        self.push_manifest(&target.to_client(), manifest).await?;
        Ok(target)
    }

    /// What `tag` names now: `304` while it still names what `etag` stood for.
    pub async fn tag(&self, tag: &OciRef, etag: Option<&str>) -> Result<TagState, Error> {
        let url = format!(
            "{}://{}/v2/{}/manifests/{}",
            tag.scheme(),
            tag.registry,
            tag.repository,
            tag.tag.as_deref().unwrap_or_default()
        );
        for attempt in 0..2 {
            let mut request = self.http.get(&url).header(
                reqwest::header::ACCEPT,
                format!("{MANIFEST_MEDIA_TYPE}, application/vnd.docker.distribution.manifest.v2+json"),
            );
            if let Some(etag) = etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            let bearer = self.bearer.lock().expect("not poisoned").clone();
            request = match (&bearer, &self.auth) {
                (Some(token), _) => request.bearer_auth(token),
                (None, RegistryAuth::Basic(user, password)) => request.basic_auth(user, Some(password)),
                _ => request,
            };
            let mut response = request.send().await.map_err(|e| self.unreachable(e))?;
            match response.status() {
                reqwest::StatusCode::NOT_MODIFIED if etag.is_some() => return Ok(TagState::NotModified),
                reqwest::StatusCode::UNAUTHORIZED if attempt == 0 => {
                    let token = self
                        .client
                        .auth(&tag.to_client(), &self.auth, RegistryOperation::Pull)
                        .await
                        .map_err(|e| self.fail(e))?;
                    *self.bearer.lock().expect("not poisoned") = token;
                    continue;
                }
                reqwest::StatusCode::OK => {}
                status => {
                    return Err(Error::Registry {
                        registry: self.name.clone(),
                        message: format!("{tag}: the registry answered {status}"),
                    });
                }
            }
            let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let (said, etag) = (header("docker-content-digest"), header("etag"));
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(e))? {
                if body.len() + chunk.len() > MAX_MANIFEST_BYTES {
                    return Err(Refusal {
                        reason: Reason::Artifact,
                        artifact: tag.to_string(),
                        message: format!("its manifest is larger than {MAX_MANIFEST_BYTES} bytes"),
                    }
                    .into());
                }
                body.extend_from_slice(&chunk);
            }
            let digest = artifact::digest_of(&body);
            if let Some(said) = said
                && said != digest
            {
                return Err(Refusal {
                    reason: Reason::ManifestDigest,
                    artifact: tag.to_string(),
                    message: format!("the registry says {said}, but the manifest's bytes hash to {digest}"),
                }
                .into());
            }
            return Ok(TagState::Names { etag: etag.unwrap_or_else(|| format!("\"{digest}\"")), digest });
        }
        Err(Error::Registry { registry: self.name.clone(), message: format!("{tag}: unauthorized") })
    }

    /// Pulls the artifact at `at` (a digest) and checks it: the manifest's digest, its shape,
    /// a trusted key's signature (before the component is fetched), the component's digest.
    pub async fn pull(&self, at: &OciRef, trust: &Trust) -> Result<(Pulled, Shape), Error> {
        let digest = at.digest.clone().expect("pull takes a digest");
        let name = at.to_string();
        let image = at.to_client();
        let manifest = self.manifest(&image, &name).await?;
        let signatures = self.signatures(at, &digest).await?;
        // Checked before the component is fetched: an unsigned artifact costs no download.
        let (shape, signature) = Pulled::check_manifest(at, &manifest, &signatures, trust)?;
        let wasm = self.blob(&image, &shape.layer, &name).await?;
        Ok(Pulled::with_component(at, manifest, shape, signature, wasm)?)
    }

    /// The manifest at a digest reference, checked against it.
    async fn manifest(&self, image: &oci_client::Reference, name: &str) -> Result<Vec<u8>, Error> {
        match self.client.pull_manifest_raw(image, &self.auth, &[MANIFEST_MEDIA_TYPE]).await {
            Ok((bytes, _)) => Ok(bytes.to_vec()),
            Err(OciDistributionError::DigestError(e)) => Err(Refusal {
                reason: Reason::ManifestDigest,
                artifact: name.to_owned(),
                message: format!("the registry served a manifest that is not this digest ({e})"),
            }
            .into()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The signature payloads that refer to `digest` (at most [`signature::MAX_SIGNATURES`]),
    /// each read or with why it could not be.
    async fn signatures(&self, at: &OciRef, digest: &str) -> Result<Vec<Result<Vec<u8>, String>>, Error> {
        let index = self
            .client
            .pull_referrers(&at.to_client(), Some(signature::ARTIFACT_TYPE))
            .await
            .map_err(|e| self.fail(e))?;
        let mut payloads = Vec::new();
        // Registries that ignore the filter list other referrers too (SBOMs, other signers).
        let ours =
            index.manifests.iter().filter(|entry| entry.artifact_type.as_deref() == Some(signature::ARTIFACT_TYPE));
        for entry in ours.take(signature::MAX_SIGNATURES) {
            let found = at.at(&entry.digest);
            let image = found.to_client();
            let payload = match self.manifest(&image, &found.to_string()).await {
                Ok(manifest) => match signature::payload_layer(&manifest, digest) {
                    Ok(layer) => match self.blob(&image, &layer, &found.to_string()).await {
                        Ok(bytes) => Ok(bytes),
                        Err(e) => Err(format!("{found}: {e}")),
                    },
                    Err(why) => Err(format!("{found}: {why}")),
                },
                Err(e) => Err(format!("{found}: {e}")),
            };
            payloads.push(payload);
        }
        Ok(payloads)
    }

    /// A blob, no longer than its descriptor says, checked against its digest.
    async fn blob(&self, image: &oci_client::Reference, layer: &OciDescriptor, name: &str) -> Result<Vec<u8>, Error> {
        let mut out = Bounded { bytes: Vec::new(), limit: layer.size.max(0) as usize };
        let refused = |message: String| Refusal { reason: Reason::BlobDigest, artifact: name.to_owned(), message };
        match self.client.pull_blob(image, layer, &mut out).await {
            Ok(()) if out.bytes.len() == out.limit => Ok(out.bytes),
            Ok(()) => {
                Err(refused(format!("{} is {} bytes, not the {} declared", layer.digest, out.bytes.len(), out.limit))
                    .into())
            }
            Err(OciDistributionError::DigestError(e)) => {
                Err(refused(format!("{} does not hash to its digest ({e})", layer.digest)).into())
            }
            Err(OciDistributionError::IoError(e)) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                Err(refused(format!("{} is longer than the {} bytes declared", layer.digest, out.limit)).into())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn push_manifest(&self, image: &oci_client::Reference, manifest: Vec<u8>) -> Result<(), Error> {
        let content_type = reqwest_header(MANIFEST_MEDIA_TYPE);
        self.client.push_manifest_raw(image, manifest, content_type).await.map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn fail(&self, error: OciDistributionError) -> Error {
        Error::Registry { registry: self.name.clone(), message: printable(&error.to_string()) }
    }

    fn unreachable(&self, error: reqwest::Error) -> Error {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        Error::Registry { registry: self.name.clone(), message: printable(&message) }
    }
}

/// A registry's words as a log line or the status may show them: escaped (no forged lines, no
/// terminal escapes) and cut to 300 characters (an error body can be a whole HTML page).
fn printable(text: &str) -> String {
    let escaped: String =
        text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] }).collect();
    match escaped.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped,
    }
}

/// oci-client and reqwest 0.12 share the `http` crate, hence its header type.
fn reqwest_header(value: &'static str) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_static(value)
}

/// A writer that refuses more bytes than a descriptor declares.
struct Bounded {
    bytes: Vec<u8>,
    limit: usize,
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.bytes.len() + data.len() > self.limit {
            return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, "longer than declared")));
        }
        self.bytes.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
