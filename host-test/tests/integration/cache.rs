//! The compiled-code cache: a restart loads from it, and it never deserializes bytes it did not
//! write (a tampered or planted entry is recompiled instead).

use crate::common::{FIXTURES, temp_dir};
use route_policy::{Engine, Policy, Router};

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
    assert_eq!(policy.policy_info().unwrap().contract, "0.1.0");
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
    assert_eq!(policy.policy_info().unwrap().contract, "0.1.0");
}

#[test]
fn a_cache_directory_others_can_write_is_refused() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("cache-open");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = Engine::builder().cache_dir(&dir).build().unwrap_err();
        assert!(error.contains("open to other users"), "{error}");
    }
}
