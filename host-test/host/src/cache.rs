//! The compiled-code cache: `.cwasm` files keyed by the component's sha256 and the engine's
//! compatibility hash, so that a restart loads a policy in a millisecond instead of compiling.
//!
//! Deserializing compiled code is `unsafe`: wasmtime trusts it to be its own output, and runs
//! it as native code in the host, outside the sandbox, the sha256 pin and the signature. So the
//! cache never deserializes bytes it did not write, and it trusts nothing another user could
//! have touched:
//!
//! - the directory, its key and every entry must belong to the host's effective uid, and be
//!   writable by no one else (the key and the entries readable by no one else either);
//! - the directory is opened once, without following a link, and everything inside it is
//!   opened relative to that handle, again without following links, and checked on the open
//!   file (`fstat`), so a path swapped after the check cannot be read instead;
//! - each entry ends with an HMAC-SHA256 tag over its name and contents, keyed by the secret in
//!   `key`: a truncated entry, an entry copied under another component's name, or one planted
//!   by anyone without the key fails the tag and is recompiled.
//!
//! A directory that fails these checks is not used at all: the engine compiles without a cache
//! and says so once ([`crate::Engine::cache_warning`]). An entry that fails them is recompiled
//! and replaced. Writes go to a temporary file renamed into place, so a crash never leaves half
//! an entry under a real name.
//!
//! The cache exists on Unix only; elsewhere a cache directory is refused with that reason.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::OnceLock;
use wasmtime::component::Component;

type Tag = Hmac<Sha256>;

/// Bytes of the HMAC tag at the end of each entry.
const TAG_BYTES: usize = 32;

/// The name of the MAC key inside the cache directory.
const KEY_NAME: &str = "key";

pub(crate) struct Cache {
    dir: PathBuf,
    #[cfg(unix)]
    handle: std::os::fd::OwnedFd,
    key: [u8; 32],
    engine_hash: String,
    /// The first entry refused for its owner or mode, kept for [`Cache::refusal`].
    refused: OnceLock<String>,
}

impl Cache {
    /// Opens (creating if needed) a cache directory for this engine, or says why it may not be
    /// used.
    #[cfg(unix)]
    pub(crate) fn open(dir: PathBuf, engine: &wasmtime::Engine) -> Result<Cache, String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            format!("compiled-code cache {}: {what}: {e}; compiling without it", dir.display())
        };
        let handle = crate::private_dir::open_dir(&dir).map_err(|e| fail("refusing it", &e))?;
        let key =
            crate::private_dir::load_or_create_key(&handle, KEY_NAME).map_err(|e| fail("refusing its key", &e))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Cache { dir, handle, key, engine_hash: format!("{:016x}", hasher.finish()), refused: OnceLock::new() })
    }

    #[cfg(not(unix))]
    pub(crate) fn open(dir: PathBuf, _: &wasmtime::Engine) -> Result<Cache, String> {
        Err(format!(
            "compiled-code cache {}: ownership cannot be checked on this platform; compiling without it",
            dir.display()
        ))
    }

    /// Why an entry of this cache was refused, if one was.
    pub(crate) fn refusal(&self) -> Option<&str> {
        self.refused.get().map(String::as_str)
    }

    fn entry_name(&self, sha256: &[u8; 32]) -> String {
        format!("{}-{}.cwasm", crate::identity::hex(sha256), self.engine_hash)
    }

    fn tag(&self, name: &str, contents: &[u8]) -> Tag {
        let mut mac = Tag::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(contents);
        mac
    }

    /// The cached component for these bytes, if the cache wrote one and it is intact.
    #[cfg(unix)]
    pub(crate) fn load(&self, engine: &wasmtime::Engine, sha256: &[u8; 32]) -> Option<Component> {
        let name = self.entry_name(sha256);
        let bytes = match crate::private_dir::read(&self.handle, &name, crate::private_dir::ENTRY_FORBIDDEN) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(e) => {
                let _ = self.refused.set(format!(
                    "compiled-code cache {}: refusing entry {name}: {e}; compiling it again",
                    self.dir.display()
                ));
                return None;
            }
        };
        let (contents, tag) = bytes.split_at_checked(bytes.len().checked_sub(TAG_BYTES)?)?;
        self.tag(&name, contents).verify_slice(tag).ok()?;
        // SAFETY: the contents carry this cache's tag, under a key only this uid can read, in a
        // directory only this uid can write: this cache wrote them, from `Component::serialize`
        // of an engine with this compatibility hash.
        unsafe { Component::deserialize(engine, contents) }.ok()
    }

    #[cfg(not(unix))]
    pub(crate) fn load(&self, _: &wasmtime::Engine, _: &[u8; 32]) -> Option<Component> {
        None
    }

    /// Stores a compiled component. A cache is best-effort: failing to write one is not an
    /// error, the next start compiles again.
    pub(crate) fn store(&self, component: &Component, sha256: &[u8; 32]) {
        let name = self.entry_name(sha256);
        let Ok(mut contents) = component.serialize() else { return };
        let tag = self.tag(&name, &contents).finalize().into_bytes();
        contents.extend_from_slice(&tag);
        #[cfg(unix)]
        let _ = crate::private_dir::write_into_place(&self.handle, &name, &contents);
    }
}
