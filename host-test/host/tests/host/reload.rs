//! Verified hot swap: every bad update is refused at its step with the old policy serving; a
//! good one is swapped in; and a reload under load loses no call.

use route_policy_contract::types::{Capability, EndpointRequest};
use route_policy_contract::wire::Call;
use route_policy_host::{Canary, PolicyHost, ReloadOptions};
use route_policy_host::{Engine, Router, Step, Trust, keygen, read_public_key, sha256_hex, sign, signature_path};
use route_policy_testkit::{FIXTURES, codex_oauth, temp_dir, variant_of_builtin};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A host serving the built-in policy from `dir/current.wasm`, with the shipped canary.
fn host(dir: &Path, engine: Engine) -> PolicyHost {
    let path = dir.join("current.wasm");
    std::fs::write(&path, route_policy_host::BUILTIN).unwrap();
    PolicyHost::open(engine, &path, ReloadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn refused_at(host: &PolicyHost, path: &Path, step: Step, needle: &str) {
    let before = host.current().id().sha256.clone();
    let error = host.reload(path).expect_err("a bad update must be refused");
    assert_eq!(error.step, step, "{error}");
    assert!(error.to_string().contains(needle), "`{needle}` not in: {error}");
    assert!(error.to_string().contains(&path.display().to_string()), "the error names the file: {error}");
    assert_eq!(host.current().id().sha256, before, "the old policy keeps serving");
    assert_eq!(host.policy_info().unwrap().contract, "0.2.0");
}

#[test]
fn each_bad_update_is_refused_at_its_step_and_the_old_policy_serves() {
    let dir = temp_dir("bad-updates");
    let host = host(&dir, Engine::builder().build().unwrap());
    refused_at(&host, &dir.join("missing.wasm"), Step::Read, "No such file");
    refused_at(
        &host,
        &write(&dir, "corrupt.wasm", &route_policy_host::BUILTIN[..route_policy_host::BUILTIN.len() / 2]),
        Step::Compile,
        "component",
    );
    refused_at(&host, &write(&dir, "empty.wasm", b"\0asm\x0d\0\x01\0"), Step::World, "agent:route-policy/router");
    refused_at(&host, &write(&dir, "greedy.wasm", &FIXTURES.imports), Step::Imports, "wasi:filesystem");
    refused_at(&host, &write(&dir, "old.wasm", &FIXTURES.old_contract), Step::Contract, "0.0.9");
    refused_at(&host, &write(&dir, "naive.wasm", &FIXTURES.hostile), Step::Canary, "canary");
}

#[test]
fn a_pin_admits_only_its_bytes() {
    let dir = temp_dir("pin");
    let next = variant_of_builtin("pinned");
    let pinned = PolicyHost::open(
        Engine::builder().build().unwrap(),
        &write(&dir, "next.wasm", &next),
        ReloadOptions {
            trust: Trust::none().pin_sha256(&sha256_hex(&next)).unwrap(),
            canary: Canary::builtin(),
            allow_rollback: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    refused_at(&pinned, &write(&dir, "other.wasm", &variant_of_builtin("other")), Step::Verify, "not the pinned");
    assert!(pinned.reload(&dir.join("next.wasm")).is_ok());
}

#[test]
fn signatures_by_a_trusted_key_are_required_when_configured() {
    let dir = temp_dir("signatures");
    let (secret, public) = keygen(&dir.join("ops")).unwrap();
    let (other_secret, _) = keygen(&dir.join("stranger")).unwrap();
    let key = read_public_key(&public).unwrap();
    let signed = write(&dir, "current.wasm", route_policy_host::BUILTIN);
    sign(&secret, &signed).unwrap();
    let host = PolicyHost::open(
        Engine::builder().build().unwrap(),
        &signed,
        ReloadOptions {
            trust: Trust::none().trust_key(key).unwrap(),
            canary: Canary::builtin(),
            allow_rollback: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let unsigned = write(&dir, "unsigned.wasm", &variant_of_builtin("unsigned"));
    refused_at(&host, &unsigned, Step::Verify, "a signature is required");

    let by_stranger = write(&dir, "stranger.wasm", &variant_of_builtin("stranger"));
    sign(&other_secret, &by_stranger).unwrap();
    refused_at(&host, &by_stranger, Step::Verify, "not a valid signature");

    // A valid signature of other bytes: the file was swapped after signing.
    let swapped = write(&dir, "swapped.wasm", &variant_of_builtin("before"));
    sign(&secret, &swapped).unwrap();
    std::fs::write(&swapped, variant_of_builtin("after")).unwrap();
    refused_at(&host, &swapped, Step::Verify, "not a valid signature");

    std::fs::write(signature_path(&unsigned), "zz\n").unwrap();
    refused_at(&host, &unsigned, Step::Verify, "not a signature");

    let good = write(&dir, "good.wasm", &variant_of_builtin("good"));
    sign(&secret, &good).unwrap();
    let swapped_in = host.reload(&good).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(host.current().id().sha256, swapped_in.id().sha256);
}

#[test]
fn a_reload_under_load_loses_no_call_and_tags_every_answer() {
    let dir = temp_dir("under-load");
    let cache = dir.join("cache");
    let engine = Engine::builder().cache_dir(&cache).build().unwrap();
    let host = Arc::new(host(&dir, engine));
    let a = write(&dir, "a.wasm", &variant_of_builtin("a"));
    let b = write(&dir, "b.wasm", &variant_of_builtin("b"));
    let known = [
        sha256_hex(route_policy_host::BUILTIN),
        sha256_hex(&std::fs::read(&a).unwrap()),
        sha256_hex(&std::fs::read(&b).unwrap()),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let request = Call::ResolveEndpoint(EndpointRequest {
        model: "openai/gpt-5.5".into(),
        capability: Capability::Chat,
        providers: vec![],
        credentials: vec![codex_oauth()],
        env_base_url: None,
    });
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (host, stop, calls, failures, seen, request) = (host.clone(), stop.clone(), calls.clone(), failures.clone(), seen.clone(), request.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let tagged = host.answer(&request);
                    let ok = matches!(&tagged.answer, Ok(route_policy_contract::wire::Answer::Endpoint(Ok(e))) if e.request_url == "https://chatgpt.com/backend-api/codex/responses");
                    if !ok {
                        eprintln!("a failed call: {:?}", tagged.answer);
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    seen.lock().unwrap().insert(tagged.policy.id().sha256.clone());
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut swaps = 0;
    for round in 0..8 {
        let next = if round % 2 == 0 { &a } else { &b };
        let policy = host.reload(next).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(host.current().id().sha256, policy.id().sha256);
        swaps += 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    eprintln!("{} calls from 2 threads across {swaps} swaps", calls.load(Ordering::Relaxed));
    assert_eq!(failures.load(Ordering::Relaxed), 0, "of {} calls", calls.load(Ordering::Relaxed));
    assert!(calls.load(Ordering::Relaxed) > 100, "only {} calls", calls.load(Ordering::Relaxed));
    assert!(seen.iter().all(|sha| known.contains(sha)), "an answer was tagged with an unknown policy: {seen:?}");
    assert!(seen.len() >= 2, "the swaps were not observed: {seen:?}");
    assert_eq!(swaps, 8);
}

/// A Kubernetes ConfigMap or Secret volume never touches the file's own name: the file is a
/// link through `..data`, and an update swaps `..data` to a new timestamped directory in one
/// rename. The watcher must see that, and activate the new bytes.
#[cfg(unix)]
#[test]
fn a_configmap_style_data_link_swap_is_seen() {
    use std::os::unix::fs::symlink;
    use std::time::{Duration, Instant};
    let dir = temp_dir("configmap");
    let first = variant_of_builtin("configmap-first");
    let second = variant_of_builtin("configmap-second");
    std::fs::create_dir(dir.join("..2026_11_26_a")).unwrap();
    std::fs::write(dir.join("..2026_11_26_a/policy.wasm"), &first).unwrap();
    symlink("..2026_11_26_a", dir.join("..data")).unwrap();
    symlink("..data/policy.wasm", dir.join("policy.wasm")).unwrap();
    let path = dir.join("policy.wasm");
    let host = Arc::new(PolicyHost::open(Engine::builder().build().unwrap(), &path, ReloadOptions::default()).unwrap());
    assert_eq!(host.current().id().sha256, sha256_hex(&first));
    let (reports, outcomes) = std::sync::mpsc::channel();
    let _watcher = host
        .watch(path.clone(), Duration::from_millis(50), move |outcome| {
            let _ = reports.send(outcome.map(|p| p.id().sha256.clone()).map_err(|e| e.to_string()));
        })
        .unwrap();

    // The kubelet's update: a new directory, a new link, renamed over `..data`.
    std::fs::create_dir(dir.join("..2026_11_26_b")).unwrap();
    std::fs::write(dir.join("..2026_11_26_b/policy.wasm"), &second).unwrap();
    symlink("..2026_11_26_b", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    std::fs::remove_dir_all(dir.join("..2026_11_26_a")).unwrap();

    let started = Instant::now();
    let activated = outcomes.recv_timeout(Duration::from_secs(30)).expect("the swap is seen within 30 s");
    assert_eq!(activated, Ok(sha256_hex(&second)), "the new bytes serve");
    assert_eq!(host.current().id().sha256, sha256_hex(&second));
    eprintln!("the ..data swap was activated {:?} after it", started.elapsed());
}

/// A signed policy that is not newer than the serving one is a rollback: refused unless the
/// operator allows it, whatever else it passes. (The hostile fixture's revision, `hostile-1`,
/// cannot be ordered after the built-in's date; the canary is off so that only this step
/// decides.)
#[test]
fn a_rollback_is_refused_unless_allowed() {
    let dir = temp_dir("rollback");
    let older = write(&dir, "older.wasm", &FIXTURES.hostile);
    let options = |allow_rollback| ReloadOptions { trust: Trust::none(), canary: Canary::none(), allow_rollback };
    let serving = write(&dir, "current.wasm", route_policy_host::BUILTIN);
    let host = PolicyHost::open(Engine::builder().build().unwrap(), &serving, options(false)).unwrap();
    let error = host.reload(&older).expect_err("a rollback is refused");
    assert_eq!(error.step, Step::Rollback, "{error}");
    assert!(error.to_string().contains("not newer than the serving"), "{error}");
    assert_eq!(host.current().id().sha256, sha256_hex(route_policy_host::BUILTIN));
    // The same revision again (a rebuild) is no rollback.
    host.reload(&write(&dir, "rebuilt.wasm", &variant_of_builtin("rebuilt"))).unwrap();

    let permissive = PolicyHost::open(Engine::builder().build().unwrap(), &serving, options(true)).unwrap();
    let activated = permissive.reload(&older).expect("an allowed rollback activates");
    assert_eq!(activated.id().revision, "hostile-1");
}
