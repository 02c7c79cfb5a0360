//! The compiled-code cache: a restart loads from it, and it never deserializes bytes it did not
//! write (a tampered or planted entry is recompiled instead).

use route_policy_host::{Engine, Policy, Router};
use route_policy_testkit::{FIXTURES, temp_dir};

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_restart_loads_compiled_code_from_the_cache() {
    // A directory the cache creates itself (it is made 0700; an existing one is only checked).
    let root = temp_dir("cache-restart");
    let dir = root.join("cache");
    let first = Policy::builtin(&Engine::builder().cache_dir(&dir).build().unwrap()).unwrap();
    assert!(!first.from_cache());
    let second = Policy::builtin(&Engine::builder().cache_dir(&dir).build().unwrap()).unwrap();
    assert!(second.from_cache());
    assert_eq!(second.policy_info().unwrap(), first.policy_info().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(dir.join("key")).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn a_tampered_entry_is_recompiled_not_deserialized() {
    let dir = temp_dir("cache-tamper");
    Policy::builtin(&Engine::builder().cache_dir(&dir).build().unwrap()).unwrap();
    let entry = entries(&dir).pop().expect("one entry");
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&entry, &bytes).unwrap();
    let policy = Policy::builtin(&Engine::builder().cache_dir(&dir).build().unwrap()).unwrap();
    assert!(!policy.from_cache(), "a tampered entry must not be deserialized");
    assert_eq!(policy.policy_info().unwrap().contract, "0.2.0");
}

#[test]
fn an_entry_planted_under_another_name_is_refused() {
    let dir = temp_dir("cache-plant");
    let engine = Engine::builder().cache_dir(&dir).build().unwrap();
    Policy::from_bytes(&engine, &FIXTURES.old_contract, "old.wasm".into()).unwrap_err();
    let planted = entries(&dir).pop().expect("the old-contract entry");
    // Put the other component's compiled code where the built-in one's would go.
    Policy::builtin(&engine).unwrap();
    let target = entries(&dir).into_iter().find(|p| p != &planted).expect("the built-in entry");
    std::fs::copy(&planted, &target).unwrap();
    let policy = Policy::builtin(&Engine::builder().cache_dir(&dir).build().unwrap()).unwrap();
    assert!(!policy.from_cache(), "an entry written for other bytes must not be used");
    assert_eq!(policy.policy_info().unwrap().contract, "0.2.0");
}

#[test]
fn a_cache_directory_others_can_write_is_refused() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("cache-open");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let engine = Engine::builder().cache_dir(&dir).build().expect("a refused cache is not an error");
        let warning = engine.cache_warning().expect("the refusal is reported");
        assert!(warning.contains("open to other users"), "{warning}");
        assert_eq!(engine.cache_warning(), None, "said once");
        let policy = Policy::builtin(&engine).unwrap();
        assert!(!policy.from_cache());
        assert!(entries(&dir).is_empty(), "nothing is written into a refused directory");
    }
}

/// The attack of a local user: prepare the cache directory a root host will use (under /tmp,
/// say), with a key they can read and an entry they forged with it. The cache must refuse the
/// directory, and the entry must never be deserialized.
#[cfg(unix)]
#[test]
fn a_cache_prepared_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    if rustix_euid() != 0 {
        eprintln!("skipped: only root can give a directory to `nobody` (CI runs as root)");
        return;
    }
    const NOBODY: u32 = 65534;
    let root = temp_dir("cache-nobody");
    let dir = root.join("cache");
    // Fill the cache as a real host would, then forge: the old-contract component's compiled
    // code under the built-in policy's name, tagged with the (readable) key.
    let engine = Engine::builder().cache_dir(&dir).build().unwrap();
    Policy::from_bytes(&engine, &FIXTURES.old_contract, "old.wasm".into()).unwrap_err();
    Policy::builtin(&engine).unwrap();
    let forged = forge_entry(&dir);
    for path in std::iter::once(dir.clone()).chain(std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path())) {
        std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    assert_eq!(std::fs::metadata(&forged).unwrap().uid(), NOBODY);

    let engine = Engine::builder().cache_dir(&dir).build().unwrap();
    let warning = engine.cache_warning().expect("the refusal is reported");
    assert!(warning.contains("belongs to uid 65534"), "{warning}");
    let policy = Policy::builtin(&engine).unwrap();
    assert!(!policy.from_cache(), "nothing another user wrote may run as native code");
    assert_eq!(policy.policy_info().unwrap().contract, "0.2.0", "the built-in policy answers, not the forgery");
}

/// Our own directory and key, but one entry that belongs to someone else: that entry is
/// refused (and recompiled), the rest of the cache keeps working.
#[cfg(unix)]
#[test]
fn an_entry_owned_by_another_user_is_refused() {
    if rustix_euid() != 0 {
        eprintln!("skipped: only root can give a file to `nobody` (CI runs as root)");
        return;
    }
    let dir = temp_dir("cache-entry-owner");
    let engine = Engine::builder().cache_dir(&dir).build().unwrap();
    Policy::from_bytes(&engine, &FIXTURES.old_contract, "old.wasm".into()).unwrap_err();
    Policy::builtin(&engine).unwrap();
    let forged = forge_entry(&dir);
    std::os::unix::fs::chown(&forged, Some(65534), Some(65534)).unwrap();
    let engine = Engine::builder().cache_dir(&dir).build().unwrap();
    let policy = Policy::builtin(&engine).unwrap();
    assert!(!policy.from_cache());
    assert_eq!(policy.policy_info().unwrap().contract, "0.2.0");
    let warning = engine.cache_warning().expect("the refused entry is reported");
    assert!(warning.contains("refusing entry") && warning.contains("65534"), "{warning}");
}

#[cfg(unix)]
#[test]
fn a_linked_key_or_directory_is_refused() {
    let root = temp_dir("cache-links");
    let real = root.join("real");
    Policy::builtin(&Engine::builder().cache_dir(&real).build().unwrap()).unwrap();
    // The directory itself as a link.
    let linked = root.join("linked");
    std::os::unix::fs::symlink(&real, &linked).unwrap();
    let engine = Engine::builder().cache_dir(&linked).build().unwrap();
    assert!(engine.cache_warning().is_some_and(|w| w.contains("without following a link")));
    assert!(!Policy::builtin(&engine).unwrap().from_cache());
    // The key as a link to a key elsewhere.
    let other = root.join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::rename(real.join("key"), other.join("key")).unwrap();
    std::os::unix::fs::symlink(other.join("key"), real.join("key")).unwrap();
    let engine = Engine::builder().cache_dir(&real).build().unwrap();
    assert!(engine.cache_warning().is_some_and(|w| w.contains("symbolic link")), "a linked key is refused");
}

/// Copies the old-contract entry over the built-in policy's entry and re-tags it with the
/// cache's own key: what an attacker who can read the key can do. Returns the forged path.
#[cfg(unix)]
fn forge_entry(dir: &std::path::Path) -> std::path::PathBuf {
    use hmac::{Hmac, Mac};
    let key = std::fs::read(dir.join("key")).unwrap();
    let all = entries(dir);
    let builtin_name = format!("{}-", route_policy_host::sha256_hex(route_policy_host::BUILTIN));
    let (target, donor): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|p| p.file_name().unwrap().to_str().unwrap().starts_with(&builtin_name));
    let (target, donor) = (&target[0], &donor[0]);
    let bytes = std::fs::read(donor).unwrap();
    let contents = &bytes[..bytes.len() - 32];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(target.file_name().unwrap().to_str().unwrap().as_bytes());
    mac.update(&[0]);
    mac.update(contents);
    let mut forged = contents.to_vec();
    forged.extend_from_slice(&mac.finalize().into_bytes());
    std::fs::write(target, forged).unwrap();
    target.clone()
}

#[cfg(unix)]
fn rustix_euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process just made is its effective uid.
    let probe = temp_dir("cache-euid");
    std::fs::metadata(&*probe).unwrap().uid()
}
