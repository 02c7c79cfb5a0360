//! Directories that belong to this uid alone: the compiled-code cache and the last-good store
//! of policies pulled from a registry.
//!
//! The directory is created 0700 if missing, opened once without following a link, and checked
//! on the open handle: it must belong to the effective uid and be writable by no one else.
//! Every file inside is opened relative to that handle, again without following links, and
//! checked on the open file (`fstat`): owned by this uid and open to no one else. Writes go to a
//! temporary file renamed into place, so a crash never leaves half a file under a real name.

#![cfg(unix)]

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Mode bits a file may not have: group or others may neither write nor read it.
pub(crate) const ENTRY_FORBIDDEN: u32 = 0o077;
/// Mode bits the directory may not have: group or others may not write it.
const DIR_FORBIDDEN: u32 = 0o022;

/// A directory only this uid may write, and the files in it only this uid may read.
pub struct PrivateDir {
    path: PathBuf,
    handle: OwnedFd,
}

impl PrivateDir {
    /// Opens `path` (creating it 0700 if missing) and checks its owner and mode; the error says
    /// why it may not be used.
    pub fn open(path: &Path) -> std::io::Result<PrivateDir> {
        Ok(PrivateDir { path: path.to_owned(), handle: open_dir(path)? })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file `name`, if it exists; a link, another owner or a mode open to others is an error.
    pub fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        read(&self.handle, name, ENTRY_FORBIDDEN)
    }

    /// Writes `name` (mode 0600) through a temporary file renamed into place.
    pub fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        write_into_place(&self.handle, name, bytes)
    }

    /// Removes `name`; a missing file is not an error.
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        match rustix::fs::unlinkat(&self.handle, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Holds an exclusive lock on the directory (`flock`) until the guard is dropped: processes
    /// sharing it take turns at changes that span several files.
    pub fn lock(&self) -> std::io::Result<DirLock<'_>> {
        rustix::fs::flock(&self.handle, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(DirLock { dir: self })
    }

    /// The names of the files in it (not `.`, `..` or temporary files), sorted.
    pub fn names(&self) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// A [`PrivateDir::lock`]; unlocks when dropped.
pub struct DirLock<'a> {
    dir: &'a PrivateDir,
}

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        let _ = rustix::fs::flock(&self.dir.handle, rustix::fs::FlockOperation::Unlock);
    }
}

/// Opens a directory (creating it 0700 if missing) without following a link at its last
/// component, and checks the open directory.
pub(crate) fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => {}
        // An existing link to a directory: `create` succeeds on it; the open below refuses it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let handle =
        rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| refusal(format!("cannot open it as a directory without following a link ({e})")))?;
    check(&handle, FileType::Directory, DIR_FORBIDDEN)?;
    Ok(handle)
}

/// Reads `name` in `dir` if it exists; refuses a link, another owner, or a forbidden mode.
pub(crate) fn read(dir: &OwnedFd, name: &str, forbidden: u32) -> std::io::Result<Option<Vec<u8>>> {
    let file = match rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => return Err(refusal(format!("{name} is a symbolic link"))),
        Err(e) => return Err(e.into()),
    };
    check(&file, FileType::RegularFile, forbidden)?;
    let mut bytes = Vec::new();
    std::fs::File::from(file).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// A 32-byte secret: read if present (and private), else made and stored.
pub(crate) fn load_or_create_key(dir: &OwnedFd, name: &str) -> std::io::Result<[u8; 32]> {
    if let Some(bytes) = read(dir, name, ENTRY_FORBIDDEN)? {
        return bytes.try_into().map_err(|_| refusal(format!("{name} is not 32 bytes")));
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    write_into_place(dir, name, &key)?;
    // Two processes may have raced to create it: use whichever key won the rename.
    let stored = read(dir, name, ENTRY_FORBIDDEN)?.ok_or_else(|| refusal(format!("{name} vanished")))?;
    stored.try_into().map_err(|_| refusal(format!("{name} is not 32 bytes")))
}

/// Writes a private file beside its final name, then renames it into place.
pub(crate) fn write_into_place(dir: &OwnedFd, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = format!(".{name}.{}.tmp", std::process::id());
    let _ = rustix::fs::unlinkat(dir, temporary.as_str(), AtFlags::empty());
    let written = (|| {
        let fd = rustix::fs::openat(
            dir,
            temporary.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        file.sync_all()?;
        rustix::fs::renameat(dir, temporary.as_str(), dir, name)?;
        Ok(())
    })();
    if written.is_err() {
        let _ = rustix::fs::unlinkat(dir, temporary.as_str(), AtFlags::empty());
    }
    written
}

/// Checks an open file's type, owner and mode.
fn check(fd: impl AsFd, kind: FileType, forbidden: u32) -> std::io::Result<()> {
    let stat = rustix::fs::fstat(fd)?;
    let mode = stat.st_mode as u32;
    if FileType::from_raw_mode(stat.st_mode) != kind {
        return Err(refusal(format!("it is not a {kind:?}")));
    }
    let euid = rustix::process::geteuid().as_raw();
    if stat.st_uid != euid {
        return Err(refusal(format!("it belongs to uid {}, not to this process's uid {euid}", stat.st_uid)));
    }
    if mode & forbidden != 0 {
        return Err(refusal(format!("it is open to other users (mode {:o})", mode & 0o777)));
    }
    Ok(())
}

fn refusal(reason: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, reason)
}
