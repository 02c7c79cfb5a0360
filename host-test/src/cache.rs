//! The compiled-code cache: `.cwasm` files keyed by the component's sha256 and the engine's
//! compatibility hash, so that a restart loads a policy in a millisecond instead of compiling.
//!
//! Deserializing compiled code is `unsafe`: wasmtime trusts it to be its own output. So the
//! cache never deserializes bytes it did not write. Each entry ends with an HMAC-SHA256 tag over
//! its name and contents, keyed by a secret the cache keeps in its directory (mode 0600, in a
//! directory no one else may write). A file that was truncated, swapped for another entry, or
//! planted by anyone without the key fails the tag and is recompiled instead. Writes go to a
//! temporary file renamed into place, so a crash never leaves half an entry under a real name.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::component::Component;

type Tag = Hmac<Sha256>;

/// Bytes of the HMAC tag at the end of each entry.
const TAG_BYTES: usize = 32;

pub(crate) struct Cache {
    dir: PathBuf,
    key: [u8; 32],
    engine_hash: String,
}

impl Cache {
    /// Opens (creating if needed) a cache directory for this engine.
    pub(crate) fn open(dir: PathBuf, engine: &wasmtime::Engine) -> Result<Cache, String> {
        let fail =
            |what: &str, e: &dyn std::fmt::Display| format!("compiled-code cache {}: {what}: {e}", dir.display());
        create_private_dir(&dir).map_err(|e| fail("cannot create it", &e))?;
        check_private(&dir).map_err(|e| fail("refusing it", &e))?;
        let key = load_or_create_key(&dir.join("key")).map_err(|e| fail("cannot use its key", &e))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Cache { dir, key, engine_hash: format!("{:016x}", hasher.finish()) })
    }

    fn entry(&self, sha256: &[u8; 32]) -> (String, PathBuf) {
        let name = format!("{}-{}.cwasm", crate::policy::hex(sha256), self.engine_hash);
        let path = self.dir.join(&name);
        (name, path)
    }

    fn tag(&self, name: &str, contents: &[u8]) -> Tag {
        let mut mac = Tag::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(contents);
        mac
    }

    /// The cached component for these bytes, if the cache wrote one and it is intact.
    pub(crate) fn load(&self, engine: &wasmtime::Engine, sha256: &[u8; 32]) -> Option<Component> {
        let (name, path) = self.entry(sha256);
        let bytes = std::fs::read(path).ok()?;
        let (contents, tag) = bytes.split_at_checked(bytes.len().checked_sub(TAG_BYTES)?)?;
        self.tag(&name, contents).verify_slice(tag).ok()?;
        // SAFETY: the contents carry this cache's tag, so this cache wrote them, from
        // `Component::serialize` of an engine with this compatibility hash.
        unsafe { Component::deserialize(engine, contents) }.ok()
    }

    /// Stores a compiled component. A cache is best-effort: failing to write one is not an
    /// error, the next start compiles again.
    pub(crate) fn store(&self, component: &Component, sha256: &[u8; 32]) {
        let (name, path) = self.entry(sha256);
        let Ok(mut contents) = component.serialize() else { return };
        let tag = self.tag(&name, &contents).finalize().into_bytes();
        contents.extend_from_slice(&tag);
        let temporary = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = write_private(&temporary, &contents).and_then(|()| std::fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    if let Ok(bytes) = std::fs::read(path) {
        check_private(path)?;
        return bytes.try_into().map_err(|_| std::io::Error::other("the key file is not 32 bytes"));
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    let temporary = path.with_extension(format!("{}.tmp", std::process::id()));
    write_private(&temporary, &key)?;
    std::fs::rename(&temporary, path)?;
    Ok(key)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Refuses a path that others may write (or, for files, read).
#[cfg(unix)]
fn check_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    let forbidden = if meta.is_dir() { 0o022 } else { 0o077 };
    if meta.file_type().is_symlink() || meta.mode() & forbidden != 0 {
        return Err(std::io::Error::other(format!(
            "{} is a link or is open to other users (mode {:o})",
            path.display(),
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> std::io::Result<()> {
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
