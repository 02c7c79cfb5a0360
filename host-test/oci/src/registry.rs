//! The registry's side: push and sign artifacts, watch a tag cheaply, and pull an artifact by
//! digest with every check.
//!
//! The protocol is the distribution API's, spoken by `wire` with every read bounded and
//! redirects and token realms held to the registry's own host: monolithic uploads, the
//! referrers API with its tag-schema fallback, and a tag watched by one `GET` with
//! `If-None-Match`, answered `304 Not Modified` while the tag stays put. Digests are checked
//! here: a manifest against the digest asked for, a blob against its descriptor.
//!
//! Credentials, when a registry needs them, come from `ROUTE_POLICY_REGISTRY_USERNAME` and
//! `ROUTE_POLICY_REGISTRY_PASSWORD` (or [`Registry::with_credentials`]); without them the
//! registry is used anonymously.

use crate::artifact::{self, Artifact, MANIFEST_MEDIA_TYPE, Shape};
use crate::error::{Error, Reason, Refusal};
use crate::reference::OciRef;
use crate::signature::{self, SignatureArtifact};
use crate::wire::{self, Access, Ask, Failure, MAX_MANIFEST_BYTES, Wire};
use ed25519_dalek::SigningKey;
use oci_client::manifest::{ImageIndexEntry, OciDescriptor, OciImageIndex};
use reqwest::{Method, Response, StatusCode, Url};
use route_policy_host::Trust;

/// An image index's media type: the referrers index, under the referrers tag.
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// A registry, reached over https (plain http for a loopback one).
pub struct Registry {
    name: String,
    wire: Wire,
}

/// A registry account: what `ROUTE_POLICY_REGISTRY_USERNAME` and
/// `ROUTE_POLICY_REGISTRY_PASSWORD` hold.
#[derive(Clone)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password (or an access token used as one).
    pub password: String,
}

impl Credentials {
    /// The credentials of the environment, when both variables are set.
    pub fn from_env() -> Option<Credentials> {
        match (std::env::var("ROUTE_POLICY_REGISTRY_USERNAME"), std::env::var("ROUTE_POLICY_REGISTRY_PASSWORD")) {
            (Ok(username), Ok(password)) => Some(Credentials { username, password }),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials {{ username: {:?}, password: … }}", self.username)
    }
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
    /// A client for `reference`'s registry, with the credentials of the environment
    /// (`ROUTE_POLICY_REGISTRY_USERNAME`, `ROUTE_POLICY_REGISTRY_PASSWORD`), if both are set.
    pub fn new(reference: &OciRef) -> Registry {
        Registry::with_credentials(reference, Credentials::from_env())
    }

    /// A client for `reference`'s registry with these credentials (`None`: anonymous).
    pub fn with_credentials(reference: &OciRef, credentials: Option<Credentials>) -> Registry {
        Registry { name: reference.registry.clone(), wire: Wire::new(reference, credentials) }
    }

    /// Pushes `artifact` under `target`'s tag and returns its digest.
    pub async fn push(&self, target: &OciRef, artifact: &Artifact) -> Result<String, Error> {
        self.push_blobs(target, &[&artifact.config, &artifact.wasm]).await?;
        let tag = target.tag.as_deref().unwrap_or(&artifact.digest);
        self.put_manifest(target, tag, &artifact.manifest, MANIFEST_MEDIA_TYPE).await?;
        Ok(artifact.digest.clone())
    }

    /// Signs the manifest `subject` names (by digest) with `key`, attaching the signature as an
    /// artifact that refers to it; returns the signature's digest.
    pub async fn sign(&self, subject: &OciRef, key: &SigningKey) -> Result<String, Error> {
        let digest = subject.digest.as_deref().ok_or_else(|| Error::Reference {
            reference: subject.to_string(),
            reason: "sign a digest (@sha256:…), not a tag that may move".to_owned(),
        })?;
        let manifest = self.manifest(subject, Access::Push).await?;
        artifact::check(&subject.to_string(), &manifest).map_err(Error::Refused)?;
        let signed = SignatureArtifact::new(digest, manifest.len(), &subject.repository, key);
        self.push_blobs(subject, &[signature::EMPTY, &signed.payload]).await?;
        self.put_manifest(subject, &signed.digest, &signed.manifest, MANIFEST_MEDIA_TYPE).await?;
        // A registry with the referrers API lists the signature by now. One without it needs
        // the tag schema: an index tagged `sha256-<hex>` listing every referrer.
        let mut index = self.referrers(subject, None, Access::Push).await?;
        if !index.manifests.iter().any(|entry| entry.digest == signed.digest) {
            index.manifests.push(ImageIndexEntry {
                media_type: MANIFEST_MEDIA_TYPE.to_owned(),
                digest: signed.digest.clone(),
                size: signed.manifest.len() as i64,
                platform: None,
                annotations: None,
                artifact_type: Some(signature::ARTIFACT_TYPE.to_owned()),
            });
            let bytes = serde_json::to_vec(&index).expect("an index serializes");
            self.put_manifest(subject, &digest.replace(':', "-"), &bytes, INDEX_MEDIA_TYPE).await?;
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
        let manifest = self.manifest(at, Access::Push).await?;
        artifact::check(&at.to_string(), &manifest)?;
        let signatures = self.signatures(at, digest, Access::Push).await?;
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
        self.put_manifest(at, tag, &manifest, MANIFEST_MEDIA_TYPE).await?;
        Ok(target)
    }

    /// What `tag` names now: `304` while it still names what `etag` stood for.
    pub async fn tag(&self, tag: &OciRef, etag: Option<&str>) -> Result<TagState, Error> {
        let name = tag.tag.as_deref().unwrap_or_default();
        let url = self.url(&format!("/v2/{}/manifests/{name}", tag.repository))?;
        let accept = format!("{MANIFEST_MEDIA_TYPE}, application/vnd.docker.distribution.manifest.v2+json");
        let ask = Ask { accept: Some(&accept), if_none_match: etag, ..Ask::default() };
        let response = self.get(url, Access::Pull, tag, &ask).await?;
        if response.status() == StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(TagState::NotModified);
        }
        let response = self.ok(response, &tag.to_string()).await?;
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (said, etag) = (header("docker-content-digest"), header("etag"));
        let body = self.manifest_body(tag, response).await?;
        let digest = artifact::digest_of(&body);
        if let Some(said) = said
            && said != digest
        {
            return Err(Refusal {
                reason: Reason::ManifestDigest,
                artifact: tag.to_string(),
                message: format!("the registry says {}, but the manifest's bytes hash to {digest}", printable(&said)),
            }
            .into());
        }
        Ok(TagState::Names { etag: etag.unwrap_or_else(|| format!("\"{digest}\"")), digest })
    }

    /// Pulls the artifact at `at` (a digest) and checks it: the manifest's digest, its shape,
    /// a trusted key's signature (before the component is fetched), the component's digest.
    pub async fn pull(&self, at: &OciRef, trust: &Trust) -> Result<(Pulled, Shape), Error> {
        let digest = at.digest.clone().expect("pull takes a digest");
        let manifest = self.fetch_manifest(at, Access::Pull).await?;
        let signatures = self.signatures(at, &digest, Access::Pull).await?;
        // Checked before the component is fetched: an unsigned artifact costs no download.
        let (shape, signature) = Pulled::check_manifest(at, &manifest, &signatures, trust)?;
        let wasm = self.blob(at, &shape.layer, Access::Pull).await?;
        Ok(Pulled::with_component(at, manifest, shape, signature, wasm)?)
    }

    /// The manifest `at` names (by digest or tag), at most [`MAX_MANIFEST_BYTES`], unchecked.
    async fn fetch_manifest(&self, at: &OciRef, access: Access) -> Result<Vec<u8>, Error> {
        let reference = at.digest.as_deref().or(at.tag.as_deref()).unwrap_or_default();
        let url = self.url(&format!("/v2/{}/manifests/{reference}", at.repository))?;
        let ask = Ask { accept: Some(MANIFEST_MEDIA_TYPE), ..Ask::default() };
        let response = self.get(url, access, at, &ask).await?;
        let response = self.ok(response, &at.to_string()).await?;
        self.manifest_body(at, response).await
    }

    /// A manifest's body: a manifest larger than [`MAX_MANIFEST_BYTES`] is no policy's, and is
    /// refused as soon as it says so or passes the limit.
    async fn manifest_body(&self, at: &OciRef, response: Response) -> Result<Vec<u8>, Error> {
        match wire::read(response, MAX_MANIFEST_BYTES, "its manifest").await {
            Ok(body) => Ok(body),
            Err(Failure::TooLarge(message)) => {
                Err(Refusal { reason: Reason::Artifact, artifact: at.to_string(), message }.into())
            }
            Err(failure) => Err(self.fail(failure)),
        }
    }

    /// The manifest at a digest reference, checked against it.
    async fn manifest(&self, at: &OciRef, access: Access) -> Result<Vec<u8>, Error> {
        let manifest = self.fetch_manifest(at, access).await?;
        let digest = at.digest.as_deref().unwrap_or_default();
        if !artifact::matches(&manifest, digest) {
            return Err(Refusal {
                reason: Reason::ManifestDigest,
                artifact: at.to_string(),
                message: format!("the registry served a manifest that hashes to {}", artifact::digest_of(&manifest)),
            }
            .into());
        }
        Ok(manifest)
    }

    /// The referrers index of the manifest `at` names (by digest): from the referrers API, or
    /// (a `404` there) under the referrers tag, or empty (a `404` there too). At most
    /// [`MAX_MANIFEST_BYTES`] of it are read.
    async fn referrers(
        &self,
        at: &OciRef,
        artifact_type: Option<&str>,
        access: Access,
    ) -> Result<OciImageIndex, Error> {
        let digest = at.digest.as_deref().unwrap_or_default();
        let ask = Ask { accept: Some(INDEX_MEDIA_TYPE), ..Ask::default() };
        let mut url = self.url(&format!("/v2/{}/referrers/{digest}", at.repository))?;
        if let Some(artifact_type) = artifact_type {
            url.query_pairs_mut().append_pair("artifactType", artifact_type);
        }
        let mut response = self.get(url, access, at, &ask).await?;
        if response.status() == StatusCode::NOT_FOUND {
            let url = self.url(&format!("/v2/{}/manifests/{}", at.repository, digest.replace(':', "-")))?;
            response = self.get(url, access, at, &ask).await?;
            if response.status() == StatusCode::NOT_FOUND {
                let manifests = Vec::new();
                let media_type = Some(INDEX_MEDIA_TYPE.to_owned());
                return Ok(OciImageIndex {
                    schema_version: 2,
                    media_type,
                    manifests,
                    artifact_type: None,
                    annotations: None,
                });
            }
        }
        let what = format!("the referrers index of {at}");
        let response = self.ok(response, &what).await?;
        let body = wire::read(response, MAX_MANIFEST_BYTES, &what).await.map_err(|f| self.fail(f))?;
        serde_json::from_slice(&body)
            .map_err(|e| self.fail(Failure::Failed(format!("{what} is not an image index: {e}"))))
    }

    /// The signature payloads that refer to `digest` (at most [`signature::MAX_SIGNATURES`]),
    /// each read or with why it could not be.
    async fn signatures(
        &self,
        at: &OciRef,
        digest: &str,
        access: Access,
    ) -> Result<Vec<Result<Vec<u8>, String>>, Error> {
        let index = self.referrers(at, Some(signature::ARTIFACT_TYPE), access).await?;
        let mut payloads = Vec::new();
        // Registries that ignore the filter list other referrers too (SBOMs, other signers).
        let ours =
            index.manifests.iter().filter(|entry| entry.artifact_type.as_deref() == Some(signature::ARTIFACT_TYPE));
        for entry in ours.take(signature::MAX_SIGNATURES) {
            // The digest goes into a URL: it must be one.
            let Ok(found) = OciRef::parse(&at.at(&entry.digest).to_string()) else {
                payloads.push(Err(format!("a referrer's digest `{}` is not a sha256", printable(&entry.digest))));
                continue;
            };
            let payload = match self.manifest(&found, access).await {
                Ok(manifest) => match signature::payload_layer(&manifest, digest) {
                    Ok(layer) => match self.blob(&found, &layer, access).await {
                        Ok(bytes) if artifact::matches(&bytes, &layer.digest) => Ok(bytes),
                        Ok(_) => Err(format!("{found}: its payload does not hash to {}", layer.digest)),
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

    /// A blob of `at`'s repository, exactly as long as its descriptor declares (its digest is
    /// the caller's to check): a longer one is refused as soon as it says so or passes the
    /// declared size.
    async fn blob(&self, at: &OciRef, layer: &OciDescriptor, access: Access) -> Result<Vec<u8>, Error> {
        let refused = |message: String| Refusal { reason: Reason::BlobDigest, artifact: at.to_string(), message };
        let declared = usize::try_from(layer.size).unwrap_or(0);
        let url = self.url(&format!("/v2/{}/blobs/{}", at.repository, layer.digest))?;
        let response = self.get(url, access, at, &Ask { transfer: true, ..Ask::default() }).await?;
        let response = self.ok(response, &format!("{at} ({})", layer.digest)).await?;
        match wire::read(response, declared, &layer.digest).await {
            Ok(bytes) if bytes.len() == declared => Ok(bytes),
            Ok(bytes) => {
                Err(refused(format!("{} is {} bytes, not the {declared} declared", layer.digest, bytes.len())).into())
            }
            Err(Failure::TooLarge(_)) => {
                Err(refused(format!("{} is longer than the {declared} bytes declared", layer.digest)).into())
            }
            Err(failure) => Err(self.fail(failure)),
        }
    }

    /// Uploads blobs to `at`'s repository.
    async fn push_blobs(&self, at: &OciRef, blobs: &[&[u8]]) -> Result<(), Error> {
        for bytes in blobs {
            let digest = artifact::digest_of(bytes);
            self.wire.push_blob(&at.repository, bytes, &digest).await.map_err(|f| self.fail(f))?;
        }
        Ok(())
    }

    /// Puts a manifest (or an index) in `at`'s repository under `reference`.
    async fn put_manifest(&self, at: &OciRef, reference: &str, bytes: &[u8], media_type: &str) -> Result<(), Error> {
        self.wire.put_manifest(&at.repository, reference, bytes, media_type).await.map_err(|f| self.fail(f))
    }

    /// The registry's URL for `path` (`/v2/…`).
    fn url(&self, path: &str) -> Result<Url, Error> {
        self.wire.url(path).map_err(|f| self.fail(f))
    }

    /// A read of `at`'s repository (authenticated, redirects followed as `wire` allows).
    async fn get(&self, url: Url, access: Access, at: &OciRef, ask: &Ask<'_>) -> Result<Response, Error> {
        self.wire.send(Method::GET, url, access, &at.repository, ask).await.map_err(|f| self.fail(f))
    }

    /// `response` if it is a `200 OK`; else the registry's error, about `what`.
    async fn ok(&self, response: Response, what: &str) -> Result<Response, Error> {
        if response.status() == StatusCode::OK {
            return Ok(response);
        }
        Err(self.fail(self.wire.failure(response, &format!("{what}: the registry")).await))
    }

    fn fail(&self, failure: Failure) -> Error {
        Error::Registry { registry: self.name.clone(), message: printable(&failure.message()) }
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
