//! The policy as an OCI artifact, in the CNCF wasm layout: an image manifest whose config is
//! `application/vnd.wasm.config.v0+json` and whose one layer is the component,
//! `application/wasm`. The manifest's annotations state the policy's revision, rules digest and
//! contract, so a registry listing tells which rules a digest holds; a pull checks that they
//! agree with what the component says of itself.
//!
//! The manifest holds nothing that changes between pushes of the same component (no time), so
//! pushing the same bytes twice yields the same digest.

use crate::error::{Reason, Refusal};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use route_policy_host::PolicyId;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The config's media type (CNCF wasm artifact).
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The one layer's media type: the component itself.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
/// The manifest's media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The annotation stating `policy-info.revision`.
pub const REVISION: &str = "dev.route-policy.revision";
/// The annotation stating `policy-info.rules-digest`.
pub const RULES_DIGEST: &str = "dev.route-policy.rules-digest";
/// The annotation stating `policy-info.contract`.
pub const CONTRACT: &str = "dev.route-policy.contract";
/// The largest component a host pulls (a policy is about 0.5 MB).
pub const MAX_COMPONENT_BYTES: i64 = 32 << 20;

/// An artifact ready to push: its manifest's bytes and digest, its config and its component.
pub struct Artifact {
    /// The manifest, exactly as pushed.
    pub manifest: Vec<u8>,
    /// `sha256:HEX` of [`Artifact::manifest`].
    pub digest: String,
    /// The config blob.
    pub config: Vec<u8>,
    /// The component.
    pub wasm: Vec<u8>,
}

/// `sha256:HEX` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", route_policy_host::sha256_hex(bytes))
}

/// The 32 bytes of a `sha256:HEX` digest.
pub fn digest_bytes(digest: &str) -> Option<[u8; 32]> {
    route_policy_host::from_hex(digest.strip_prefix("sha256:")?)
}

impl Artifact {
    /// The artifact of a component that loaded as `id`.
    pub fn new(wasm: Vec<u8>, id: &PolicyId) -> Artifact {
        let layer_digest = digest_of(&wasm);
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [layer_digest],
            "component": { "target": format!("agent:route-policy/route-policy@{}", id.contract) },
        }))
        .expect("a JSON value serializes");
        let descriptor = |media_type: &str, bytes: &[u8], annotations| OciDescriptor {
            media_type: media_type.to_owned(),
            digest: digest_of(bytes),
            size: bytes.len() as i64,
            urls: None,
            annotations,
            artifact_type: None,
        };
        let title = BTreeMap::from([("org.opencontainers.image.title".to_owned(), "route-policy.wasm".to_owned())]);
        let manifest = OciImageManifest {
            schema_version: 2,
            media_type: Some(MANIFEST_MEDIA_TYPE.to_owned()),
            config: descriptor(CONFIG_MEDIA_TYPE, &config, None),
            layers: vec![descriptor(LAYER_MEDIA_TYPE, &wasm, Some(title))],
            subject: None,
            artifact_type: None,
            annotations: Some(BTreeMap::from([
                (REVISION.to_owned(), id.revision.clone()),
                (RULES_DIGEST.to_owned(), id.rules_digest.clone()),
                (CONTRACT.to_owned(), id.contract.clone()),
            ])),
        };
        let manifest = serde_json::to_vec(&manifest).expect("a manifest serializes");
        Artifact { digest: digest_of(&manifest), manifest, config, wasm }
    }
}

/// A pulled manifest that has the shape of a policy artifact.
#[derive(Debug)]
pub struct Shape {
    /// The component's layer.
    pub layer: OciDescriptor,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Checks that `manifest` (whose digest is `digest`, already verified) is a policy artifact.
pub fn check(artifact: &str, manifest: &[u8]) -> Result<Shape, Refusal> {
    let refuse = |message: String| Refusal { reason: Reason::Artifact, artifact: artifact.to_owned(), message };
    let parsed: OciImageManifest =
        serde_json::from_slice(manifest).map_err(|e| refuse(format!("not an OCI image manifest: {e}")))?;
    if parsed.schema_version != 2 {
        return Err(refuse(format!("schemaVersion {} (not 2)", parsed.schema_version)));
    }
    if parsed.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(refuse(format!(
            "its config is `{}`, not `{CONFIG_MEDIA_TYPE}`: not a wasm artifact",
            parsed.config.media_type
        )));
    }
    let [layer] = <[OciDescriptor; 1]>::try_from(parsed.layers)
        .map_err(|layers| refuse(format!("{} layers; a policy artifact has exactly one", layers.len())))?;
    if layer.media_type != LAYER_MEDIA_TYPE {
        return Err(refuse(format!("its layer is `{}`, not `{LAYER_MEDIA_TYPE}`", layer.media_type)));
    }
    if !(1..=MAX_COMPONENT_BYTES).contains(&layer.size) {
        return Err(refuse(format!("its layer declares {} bytes (at most {MAX_COMPONENT_BYTES})", layer.size)));
    }
    if digest_bytes(&layer.digest).is_none() {
        return Err(refuse(format!("its layer's digest `{}` is not a sha256", layer.digest)));
    }
    Ok(Shape { layer, annotations: parsed.annotations.unwrap_or_default() })
}

/// Checks that the annotations state what the component says of itself.
pub fn agree(artifact: &str, shape: &Shape, id: &PolicyId) -> Result<(), Refusal> {
    for (key, actual) in [(REVISION, &id.revision), (RULES_DIGEST, &id.rules_digest), (CONTRACT, &id.contract)] {
        match shape.annotations.get(key) {
            Some(stated) if stated == actual => {}
            stated => {
                return Err(Refusal {
                    reason: Reason::Annotation,
                    artifact: artifact.to_owned(),
                    message: format!(
                        "the manifest states {key} {}, the component says {}",
                        stated.map_or("nothing".to_owned(), |s| format!("`{}`", printable(s))),
                        printable(actual)
                    ),
                });
            }
        }
    }
    Ok(())
}

fn printable(text: &str) -> String {
    text.chars().flat_map(char::escape_default).take(200).collect()
}

/// The sha256 of `bytes`, compared with a `sha256:HEX` digest.
pub fn matches(bytes: &[u8], digest: &str) -> bool {
    digest_bytes(digest).is_some_and(|d| d == <[u8; 32]>::from(Sha256::digest(bytes)))
}
