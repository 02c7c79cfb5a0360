//! The last good policy, on disk, under the host's own data directory: what a restart serves
//! when the registry cannot be reached.
//!
//! The directory belongs to this uid alone (see `route_policy_host::PrivateDir`). Each verified
//! artifact is kept by its digest (`<hex>.manifest`, `<hex>.wasm`, `<hex>.signature`), and each
//! watched reference has a small record (`ref-<hash>.json`) naming its last good digest and the
//! registry's ETag, so that a restart polls with `If-None-Match` instead of downloading again.
//! Nothing read back is trusted: it is checked as a fresh pull is (digests, shape, signature by
//! a key trusted now). When a record moves on, the artifact it named is removed unless
//! another record names it.

use crate::artifact::Shape;
use crate::error::{Error, Refusal};
use crate::reference::OciRef;
use crate::registry::Pulled;
use route_policy_host::{PrivateDir, Trust};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The last-good store.
pub struct Store {
    dir: PrivateDir,
}

/// What a watched reference last activated.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// The reference watched, `oci://…:TAG` (or pinned).
    pub reference: String,
    /// The digest active.
    pub digest: String,
    /// The registry's ETag for it.
    pub etag: Option<String>,
}

impl Store {
    /// Opens `DATA_DIR/oci`, creating it; refuses a directory another user could write.
    pub fn open(data_dir: &Path) -> Result<Store, Error> {
        let path = data_dir.join("oci");
        let dir = PrivateDir::open(&path)
            .map_err(|e| Error::Store { path: path.display().to_string(), reason: e.to_string() })?;
        Ok(Store { dir })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The record of `reference`, if one was written.
    pub fn record(&self, reference: &OciRef) -> Result<Option<Record>, Error> {
        let Some(bytes) = self.dir.read(&record_name(reference)).map_err(|e| self.error(e))? else {
            return Ok(None);
        };
        let record: Record = serde_json::from_slice(&bytes)
            .map_err(|e| self.error(std::io::Error::other(format!("{}: {e}", record_name(reference)))))?;
        Ok((record.reference == reference.to_string()).then_some(record))
    }

    /// The artifact stored under `digest`, checked as a pull is; `None` if it is not stored.
    pub fn artifact(&self, reference: &OciRef, digest: &str, trust: &Trust) -> Result<Option<(Pulled, Shape)>, Error> {
        let hex = digest.trim_start_matches("sha256:");
        let read = |suffix: &str| self.dir.read(&format!("{hex}.{suffix}")).map_err(|e| self.error(e));
        let (Some(manifest), Some(wasm), Some(signature)) = (read("manifest")?, read("wasm")?, read("signature")?)
        else {
            return Ok(None);
        };
        Pulled::check(&reference.at(digest), manifest, wasm, &[Ok(signature)], trust)
            .map(Some)
            .map_err(|refusal: Refusal| Error::Refused(refusal))
    }

    /// Keeps `pulled` and records it as `reference`'s last good artifact; then removes the
    /// artifact the record named before, unless another reference's record names it.
    pub fn keep(&self, reference: &OciRef, pulled: &Pulled, etag: Option<&str>) -> Result<(), Error> {
        let before = self.record(reference).ok().flatten();
        let hex = pulled.digest.trim_start_matches("sha256:");
        for (suffix, bytes) in
            [("manifest", &pulled.manifest), ("wasm", &pulled.wasm), ("signature", &pulled.signature)]
        {
            self.dir.write(&format!("{hex}.{suffix}"), bytes).map_err(|e| self.error(e))?;
        }
        let record =
            Record { reference: reference.to_string(), digest: pulled.digest.clone(), etag: etag.map(str::to_owned) };
        let bytes = serde_json::to_vec_pretty(&record).expect("a record serializes");
        self.dir.write(&record_name(reference), &bytes).map_err(|e| self.error(e))?;
        if let Some(before) = before.filter(|before| before.digest != pulled.digest) {
            self.forget(&before.digest);
        }
        Ok(())
    }

    /// Removes an artifact no record names (best effort). Only the artifact this reference
    /// replaced is considered: another process sharing the directory may be between writing
    /// its artifact and its record, and its files are not ours to judge.
    fn forget(&self, digest: &str) {
        let Ok(names) = self.dir.names() else { return };
        let named = names
            .iter()
            .filter(|name| name.starts_with("ref-"))
            .filter_map(|name| self.dir.read(name).ok().flatten())
            .any(|bytes| serde_json::from_slice::<Record>(&bytes).is_ok_and(|record| record.digest == digest));
        if !named {
            let hex = digest.trim_start_matches("sha256:");
            for suffix in ["manifest", "wasm", "signature"] {
                let _ = self.dir.remove(&format!("{hex}.{suffix}"));
            }
        }
    }

    fn error(&self, error: std::io::Error) -> Error {
        Error::Store { path: self.dir.path().display().to_string(), reason: error.to_string() }
    }
}

/// `ref-<first 16 hex of the reference's sha256>.json`.
fn record_name(reference: &OciRef) -> String {
    let hash = route_policy_host::sha256_hex(reference.to_string().as_bytes());
    format!("ref-{}.json", &hash[..16])
}
