//! Signatures as OCI artifacts that refer to what they sign.
//!
//! A signature is an image manifest with `artifactType`
//! `application/vnd.route-policy.signature.v1+json`, the empty config, one small layer (the
//! [`Payload`]: the signed digest, the public key, the ed25519 signature) and a `subject`: the
//! policy's manifest. The signature covers the manifest's sha256, which names the component's
//! digest, the media types and the revision annotations, so nothing in the artifact can change
//! without breaking it; and the repository it was signed for, so that a manifest signed for
//! one repository (staging, say) and copied into another is refused there.
//!
//! A registry with the OCI 1.1 referrers API lists it under the subject; one without (Debian's
//! `docker-registry` 2.8) finds it through the referrers tag schema: an image index tagged
//! `sha256-<hex>` of the subject, which [`crate::Registry::sign`] keeps up to date.

use crate::artifact::{self, MANIFEST_MEDIA_TYPE, digest_of};
use crate::error::{Reason, Refusal};
use ed25519_dalek::{Signature, SigningKey};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use route_policy_host::{Trust, from_hex as decode, hex};
use serde::{Deserialize, Serialize};

/// The signature artifact's type.
pub const ARTIFACT_TYPE: &str = "application/vnd.route-policy.signature.v1+json";
/// The OCI empty config's media type, and its content.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The empty config.
pub const EMPTY: &[u8] = b"{}";
/// The scheme a payload names.
pub const SCHEME: &str = "route-policy-ed25519-manifest-v2";
/// The largest payload a host reads.
pub const MAX_PAYLOAD_BYTES: i64 = 4096;
/// How many signature artifacts of one subject a host examines.
pub const MAX_SIGNATURES: usize = 16;

/// What a signature artifact's layer holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// [`SCHEME`].
    pub scheme: String,
    /// The signed manifest's digest, `sha256:HEX`.
    pub signed: String,
    /// The repository it was signed for (without the registry's host).
    pub repository: String,
    /// The signer's ed25519 public key, hex.
    pub key: String,
    /// The signature, hex (64 bytes).
    pub signature: String,
}

/// A signature artifact ready to push.
pub struct SignatureArtifact {
    /// Its manifest's bytes.
    pub manifest: Vec<u8>,
    /// `sha256:HEX` of the manifest.
    pub digest: String,
    /// The payload layer.
    pub payload: Vec<u8>,
}

impl SignatureArtifact {
    /// Signs the manifest `subject` (its digest and size) in `repository` with `key`.
    pub fn new(subject_digest: &str, subject_size: usize, repository: &str, key: &SigningKey) -> SignatureArtifact {
        let digest = artifact::digest_bytes(subject_digest).expect("a checked sha256 digest");
        let signature = route_policy_host::sign_manifest(key, &digest, repository);
        let payload = serde_json::to_vec(&Payload {
            scheme: SCHEME.to_owned(),
            signed: subject_digest.to_owned(),
            repository: repository.to_owned(),
            key: hex(key.verifying_key().as_bytes()),
            signature: hex(&signature.to_bytes()),
        })
        .expect("a payload serializes");
        let descriptor = |media_type: &str, bytes: &[u8]| OciDescriptor {
            media_type: media_type.to_owned(),
            digest: digest_of(bytes),
            size: bytes.len() as i64,
            urls: None,
            annotations: None,
            artifact_type: None,
        };
        let manifest = OciImageManifest {
            schema_version: 2,
            media_type: Some(MANIFEST_MEDIA_TYPE.to_owned()),
            config: descriptor(EMPTY_MEDIA_TYPE, EMPTY),
            layers: vec![descriptor(ARTIFACT_TYPE, &payload)],
            subject: Some(OciDescriptor {
                media_type: MANIFEST_MEDIA_TYPE.to_owned(),
                digest: subject_digest.to_owned(),
                size: subject_size as i64,
                urls: None,
                annotations: None,
                artifact_type: None,
            }),
            artifact_type: Some(ARTIFACT_TYPE.to_owned()),
            annotations: None,
        };
        let manifest = serde_json::to_vec(&manifest).expect("a manifest serializes");
        SignatureArtifact { digest: digest_of(&manifest), manifest, payload }
    }
}

/// The payload layer of a signature manifest that refers to `subject`, or why it is not one.
pub fn payload_layer(manifest: &[u8], subject: &str) -> Result<OciDescriptor, String> {
    let parsed: OciImageManifest = serde_json::from_slice(manifest).map_err(|e| format!("not a manifest: {e}"))?;
    if parsed.artifact_type.as_deref() != Some(ARTIFACT_TYPE) {
        return Err("not a route-policy signature".to_owned());
    }
    if parsed.subject.as_ref().map(|s| s.digest.as_str()) != Some(subject) {
        return Err(format!("it refers to another manifest, not {subject}"));
    }
    match <[OciDescriptor; 1]>::try_from(parsed.layers) {
        Ok([layer]) if layer.media_type == ARTIFACT_TYPE && (1..=MAX_PAYLOAD_BYTES).contains(&layer.size) => Ok(layer),
        _ => Err("its layer is not one small signature payload".to_owned()),
    }
}

/// Whether `payload` is a trusted key's signature over `subject` in `repository`; the error
/// says why not.
pub fn verify(payload: &[u8], subject: &str, repository: &str, trust: &Trust) -> Result<(), String> {
    let payload: Payload = serde_json::from_slice(payload).map_err(|e| format!("not a signature payload: {e}"))?;
    if payload.scheme != SCHEME {
        return Err(format!("unknown scheme `{}`", payload.scheme.escape_default()));
    }
    if payload.signed != subject {
        return Err(format!("it signs {}, not {subject}", payload.signed.escape_default()));
    }
    if payload.repository != repository {
        return Err(format!("it was signed for {}, not {repository}", payload.repository.escape_default()));
    }
    let digest = artifact::digest_bytes(subject).ok_or("the subject is not a sha256 digest")?;
    let signature = decode::<64>(&payload.signature).map(|b| Signature::from_bytes(&b)).ok_or("not 64 hex bytes")?;
    if trust.manifest_signed_by_trusted_key(&digest, repository, &signature) {
        Ok(())
    } else {
        Err(format!("signed by key {}, which is not trusted", payload.key.escape_default()))
    }
}

/// Whether `payload` claims to sign `subject` for `repository` in this scheme (which key, a
/// host checks): what `tag` asks before moving a tag to an artifact.
pub fn claims(payload: &[u8], subject: &str, repository: &str) -> bool {
    serde_json::from_slice::<Payload>(payload)
        .is_ok_and(|p| p.scheme == SCHEME && p.signed == subject && p.repository == repository)
}

/// Checks the payloads found for `subject` in `repository`: passes if one verifies; else says
/// why none did.
pub fn require(
    artifact: &str,
    subject: &str,
    repository: &str,
    payloads: &[Result<Vec<u8>, String>],
    trust: &Trust,
) -> Result<Vec<u8>, Refusal> {
    if payloads.is_empty() {
        return Err(Refusal {
            reason: Reason::Unsigned,
            artifact: artifact.to_owned(),
            message: "no signature artifact refers to it; sign it with `route-policy sign`".to_owned(),
        });
    }
    let mut why = Vec::new();
    for payload in payloads {
        match payload {
            Ok(bytes) => match verify(bytes, subject, repository, trust) {
                Ok(()) => return Ok(bytes.clone()),
                Err(e) => why.push(e),
            },
            Err(e) => why.push(e.clone()),
        }
    }
    Err(Refusal {
        reason: Reason::UntrustedSignature,
        artifact: artifact.to_owned(),
        message: format!("no signature by a trusted key: {}", why.join("; ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBJECT: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signature_verifies_only_for_its_subject_its_repository_and_a_trusted_key() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let trust = Trust::none().trust_key(key.verifying_key()).unwrap();
        let signed = SignatureArtifact::new(SUBJECT, 512, "policies/route", &key);
        assert_eq!(payload_layer(&signed.manifest, SUBJECT).unwrap().digest, digest_of(&signed.payload));
        assert!(verify(&signed.payload, SUBJECT, "policies/route", &trust).is_ok());
        let elsewhere = SUBJECT.replace("0123", "3210");
        let error = verify(&signed.payload, &elsewhere, "policies/route", &trust).unwrap_err();
        assert!(error.contains("not sha256:3210"), "{error}");
        assert!(payload_layer(&signed.manifest, &elsewhere).unwrap_err().contains("another manifest"));
        // Copied into another repository, the same manifest is not vouched for.
        let error = verify(&signed.payload, SUBJECT, "prod/route", &trust).unwrap_err();
        assert!(error.contains("signed for policies/route, not prod/route"), "{error}");
        let mut forged: Payload = serde_json::from_slice(&signed.payload).unwrap();
        forged.repository = "prod/route".to_owned();
        let forged = serde_json::to_vec(&forged).unwrap();
        assert!(verify(&forged, SUBJECT, "prod/route", &trust).unwrap_err().contains("not trusted"));
        let stranger = SignatureArtifact::new(SUBJECT, 512, "policies/route", &other);
        assert!(verify(&stranger.payload, SUBJECT, "policies/route", &trust).unwrap_err().contains("not trusted"));
        let require = |payloads: &[Result<Vec<u8>, String>]| require("a", SUBJECT, "policies/route", payloads, &trust);
        assert_eq!(require(&[Ok(stranger.payload.clone())]).unwrap_err().reason, Reason::UntrustedSignature);
        assert_eq!(require(&[]).unwrap_err().reason, Reason::Unsigned);
        assert!(require(&[Ok(stranger.payload), Ok(signed.payload)]).is_ok());
    }

    /// A component's file signature (`FILE.sig`) signs another message: it is no manifest
    /// signature, even over the same 32 bytes.
    #[test]
    fn a_file_signature_does_not_pass_for_a_manifest_signature() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let trust = Trust::none().trust_key(key.verifying_key()).unwrap();
        let digest = artifact::digest_bytes(SUBJECT).unwrap();
        use ed25519_dalek::Signer;
        let file_signature = key.sign(&[b"route-policy component v1\0".as_slice(), &digest].concat());
        assert!(trust.signed_by_trusted_key(&digest, &file_signature));
        assert!(!trust.manifest_signed_by_trusted_key(&digest, "", &file_signature));
    }
}
