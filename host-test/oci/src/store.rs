//! The last good policy, on disk, under the host's own data directory: what a restart serves
//! when the registry cannot be reached.
//!
//! The directory belongs to this uid alone (see `route_policy_host::PrivateDir`). Each verified
//! artifact is kept by its digest (`<hex>.manifest`, `<hex>.wasm`, and
//! `<hex>.<repository hash>.signature`, since a signature names its repository), and each
//! watched reference has a small record (`ref-<hash>.json`) naming its last good digest and the
//! registry's ETag, so that a restart polls with `If-None-Match` instead of downloading again.
//! Nothing read back is trusted: it is checked as a fresh pull is (digests, shape, signature by
//! a key trusted now). When a record changes, the files no record names are removed, under a
//! lock on the directory that processes sharing it take in turn.

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
    /// Opens `DATA_DIR/oci`, creating it; refuses a directory another user could write, the
    /// data directory itself included (whoever may write it could swap `oci/`, or plant a link
    /// where the status file goes).
    pub fn open(data_dir: &Path) -> Result<Store, Error> {
        PrivateDir::open(data_dir)
            .map_err(|e| Error::Store { path: data_dir.display().to_string(), reason: e.to_string() })?;
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
        let read = |name: String| self.dir.read(&name).map_err(|e| self.error(e));
        let (hex, signature) = files_of(reference, digest);
        let files = (read(format!("{hex}.manifest"))?, read(format!("{hex}.wasm"))?, read(signature)?);
        let (Some(manifest), Some(wasm), Some(signature)) = files else {
            return Ok(None);
        };
        Pulled::check(&reference.at(digest), manifest, wasm, &[Ok(signature)], trust)
            .map(Some)
            .map_err(|refusal: Refusal| Error::Refused(refusal))
    }

    /// Keeps `pulled` and records it as `reference`'s last good artifact; then removes the
    /// artifacts no record names. Processes sharing the directory take turns (a lock on it),
    /// so none removes what another has written but not yet recorded.
    pub fn keep(&self, reference: &OciRef, pulled: &Pulled, etag: Option<&str>) -> Result<(), Error> {
        let _turn = self.dir.lock().map_err(|e| self.error(e))?;
        let (hex, signature) = files_of(reference, &pulled.digest);
        let files = [
            (format!("{hex}.manifest"), &pulled.manifest),
            (format!("{hex}.wasm"), &pulled.wasm),
            (signature, &pulled.signature),
        ];
        for (name, bytes) in files {
            self.dir.write(&name, bytes).map_err(|e| self.error(e))?;
        }
        let record =
            Record { reference: reference.to_string(), digest: pulled.digest.clone(), etag: etag.map(str::to_owned) };
        let bytes = serde_json::to_vec_pretty(&record).expect("a record serializes");
        self.dir.write(&record_name(reference), &bytes).map_err(|e| self.error(e))?;
        self.prune();
        Ok(())
    }

    /// Removes the files of artifacts no record names, and signatures of repositories no
    /// record names (best effort; called with the lock held). A record that cannot be read
    /// keeps everything: nothing is removed on a guess.
    fn prune(&self) {
        let Ok(names) = self.dir.names() else { return };
        let mut kept = Vec::new();
        for name in names.iter().filter(|name| name.starts_with("ref-")) {
            let record = self.dir.read(name).ok().flatten().and_then(|b| serde_json::from_slice::<Record>(&b).ok());
            let Some(record) = record else { return };
            let Ok(reference) = OciRef::parse(&record.reference) else { return };
            let (hex, signature) = files_of(&reference, &record.digest);
            kept.extend([format!("{hex}.manifest"), format!("{hex}.wasm"), signature]);
        }
        for name in names.iter().filter(|name| !name.starts_with("ref-")) {
            if !kept.contains(name) {
                let _ = self.dir.remove(name);
            }
        }
    }

    fn error(&self, error: std::io::Error) -> Error {
        Error::Store { path: self.dir.path().display().to_string(), reason: error.to_string() }
    }
}

/// The files of a kept artifact: `<hex>` (its manifest and component are named by digest
/// alone) and its signature's name, `<hex>.<repository hash>.signature` (a signature is valid
/// for one repository: two references sharing a manifest keep one signature each).
fn files_of(reference: &OciRef, digest: &str) -> (String, String) {
    let hex = digest.trim_start_matches("sha256:").to_owned();
    let repository = route_policy_host::sha256_hex(reference.repository.as_bytes());
    let signature = format!("{hex}.{}.signature", &repository[..16]);
    (hex, signature)
}

/// `ref-<first 16 hex of the reference's sha256>.json`.
fn record_name(reference: &OciRef) -> String {
    let hash = route_policy_host::sha256_hex(reference.to_string().as_bytes());
    format!("ref-{}.json", &hash[..16])
}
