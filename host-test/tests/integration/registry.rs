//! Policies from a real OCI registry (Debian's `docker-registry`, one process per test on
//! 127.0.0.1 with its own storage): pushed and signed artifacts, pulled by digest, watched by
//! tag, refused when tampered, unsigned, signed by a stranger, failing the canary or rolling
//! back, and served from the last-good store when the registry is down. Conduct is judged from
//! the registry's own access log and storage, and from what the host serves.

use crate::common::{ENGINE, FIXTURES, binary, one_attempt_variant, temp_dir};
use ed25519_dalek::SigningKey;
use route_policy_host::{Canary, Policy, PolicyHost, ReloadOptions, Step, Trust};
use route_policy_oci::{Artifact, Error, Event, LocalRegistry, OciRef, Origin, Reason, Registry, RegistrySource};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A registry process owned by one test, with its files in the test's temporary directory.
struct TestRegistry {
    inner: LocalRegistry,
    _dir: crate::common::TempDir,
}

impl std::ops::Deref for TestRegistry {
    type Target = LocalRegistry;
    fn deref(&self) -> &LocalRegistry {
        &self.inner
    }
}

impl std::ops::DerefMut for TestRegistry {
    fn deref_mut(&mut self) -> &mut LocalRegistry {
        &mut self.inner
    }
}

impl TestRegistry {
    fn start(name: &str) -> TestRegistry {
        let dir = temp_dir(&format!("oci-registry-process-{name}"));
        TestRegistry { inner: LocalRegistry::start(&dir).unwrap_or_else(|e| panic!("{e}")), _dir: dir }
    }

    fn reference(&self, path: &str) -> OciRef {
        self.inner.reference(path).unwrap()
    }

    /// Changes stored bytes in place, keeping their length, as a disk fault or an attacker
    /// with access to the storage would.
    fn tamper(&self, digest: &str, edit: impl Fn(&mut Vec<u8>)) {
        let path = self.blob_path(digest);
        let mut bytes = std::fs::read(&path).unwrap();
        let length = bytes.len();
        edit(&mut bytes);
        assert_eq!(bytes.len(), length);
        std::fs::write(&path, bytes).unwrap();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn trusting(keys: &[&SigningKey], allow_rollback: bool) -> ReloadOptions {
    let mut trust = Trust::none();
    for key in keys {
        trust = trust.trust_key(key.verifying_key()).unwrap();
    }
    ReloadOptions { trust, canary: Canary::builtin(), allow_rollback }
}

/// Pushes `wasm` under `tag` and signs it with `signer` (if any); the artifact's digest ref.
async fn publish(tag: &OciRef, wasm: &[u8], signer: Option<&SigningKey>) -> OciRef {
    let policy = Policy::from_bytes(&ENGINE, wasm, "test".to_owned()).unwrap();
    let artifact = Artifact::new(wasm.to_vec(), policy.id());
    let registry = Registry::new(tag);
    let digest = registry.push(tag, &artifact).await.unwrap();
    assert_eq!(digest, artifact.digest);
    let at = tag.at(&digest);
    if let Some(signer) = signer {
        registry.sign(&at, signer).await.unwrap();
    }
    at
}

fn refusal(result: Result<(PolicyHost, Vec<Event>), Error>) -> route_policy_oci::Refusal {
    match result {
        Err(Error::Refused(refusal)) => refusal,
        Err(other) => panic!("expected a refusal, got {other}"),
        Ok((host, _)) => panic!("expected a refusal, {} serves", host.current().id()),
    }
}

fn refused_at(event: &Event) -> &route_policy_oci::Refusal {
    match event {
        Event::Refused(refusal) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn activated(event: &Event) -> (&str, Origin) {
    match event {
        Event::Activated { digest, origin, .. } => (digest, *origin),
        other => panic!("expected an activation, got {other:?}"),
    }
}

/// A signed artifact, pulled by digest, serves; its layout is the CNCF wasm artifact's, with
/// the policy's revision and rules digest as annotations; the signature is found through the
/// referrers tag schema (the registry has no referrers API); the last good copy is kept.
#[test]
fn a_signed_artifact_pulled_by_digest_serves_and_is_kept() {
    let registry = TestRegistry::start("good");
    let data = temp_dir("registry-good-data");
    let ops = key(1);
    runtime().block_on(async {
        let at = publish(&registry.reference("policies/route:stable"), route_policy_host::BUILTIN, Some(&ops)).await;
        let source = RegistrySource::new(at.clone(), &data).unwrap();
        let (host, events) = source.start(ENGINE.clone(), trusting(&[&ops], false)).await.unwrap();
        assert_eq!(activated(&events[0]), (at.digest.as_deref().unwrap(), Origin::Registry));
        assert_eq!(host.current().id().sha256, route_policy_host::sha256_hex(route_policy_host::BUILTIN));
        assert_eq!(host.current().id().source, at.to_string(), "the policy is named by its artifact");

        // What the registry holds, as any OCI client sees it.
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(registry.blob_path(at.digest.as_deref().unwrap())).unwrap()).unwrap();
        assert_eq!(manifest["config"]["mediaType"], "application/vnd.wasm.config.v0+json");
        assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
        assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
        let id = host.current().id().clone();
        assert_eq!(manifest["annotations"]["dev.route-policy.revision"], id.revision.as_str());
        assert_eq!(manifest["annotations"]["dev.route-policy.rules-digest"], id.rules_digest.as_str());
        let requests = registry.requests();
        let hex = at.digest.as_deref().unwrap().trim_start_matches("sha256:");
        assert!(
            requests.iter().any(|(m, p, s)| m == "GET" && p.contains("/referrers/") && *s == 404),
            "the referrers API was asked first: {requests:?}"
        );
        assert!(
            requests
                .iter()
                .any(|(m, p, s)| m == "GET" && p.ends_with(&format!("/manifests/sha256-{hex}")) && *s == 200),
            "then the tag schema answered: {requests:?}"
        );

        let status = source.status();
        let active = status.active.unwrap();
        assert_eq!((active.digest.as_str(), active.revision.as_str()), (at.digest.as_deref().unwrap(), "2026.11.26"));
        let kept = std::fs::read_dir(data.join("oci")).unwrap().count();
        assert_eq!(kept, 4, "manifest, component, signature and the reference's record");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join("oci")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the last-good store is private: {mode:o}");
        }
    });
}

/// A blob whose bytes changed in the registry, and a manifest whose bytes no longer hash to
/// the digest asked for, are refused before anything loads; the watched tag reports the
/// manifest's mismatch too.
#[test]
fn tampered_blobs_and_manifests_are_refused() {
    let registry = TestRegistry::start("tamper");
    let ops = key(1);
    runtime().block_on(async {
        let tag = registry.reference("policies/route:stable");
        let at = publish(&tag, route_policy_host::BUILTIN, Some(&ops)).await;
        let digest = at.digest.clone().unwrap();
        let manifest = std::fs::read(registry.blob_path(&digest)).unwrap();
        let layer: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        let layer = layer["layers"][0]["digest"].as_str().unwrap().to_owned();

        registry.tamper(&layer, |bytes| {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x20;
        });
        let data = temp_dir("registry-tamper-blob");
        let source = RegistrySource::new(at.clone(), &data).unwrap();
        let refused = refusal(source.start(ENGINE.clone(), trusting(&[&ops], false)).await);
        assert_eq!(refused.reason, Reason::BlobDigest, "{refused}");
        assert!(refused.message.contains(&layer), "{refused}");
        assert_eq!(std::fs::read_dir(data.join("oci")).unwrap().count(), 0, "nothing refused is kept");

        registry.tamper(&digest, |bytes| {
            let text = String::from_utf8(bytes.clone()).unwrap().replace("\"2026.11.26\"", "\"2026.11.27\"");
            *bytes = text.into_bytes();
        });
        let manifest_data = temp_dir("registry-tamper-manifest");
        let source = RegistrySource::new(at.clone(), &manifest_data).unwrap();
        let refused = refusal(source.start(ENGINE.clone(), trusting(&[&ops], false)).await);
        assert_eq!(refused.reason, Reason::ManifestDigest, "{refused}");
        let tag_data = temp_dir("registry-tamper-tag");
        let source = RegistrySource::new(tag, &tag_data).unwrap();
        let refused = refusal(source.start(ENGINE.clone(), trusting(&[&ops], false)).await);
        assert_eq!(refused.reason, Reason::ManifestDigest, "{refused}");
        assert!(refused.message.contains("the registry says"), "{refused}");
    });
}

/// An unsigned artifact, and one signed only by a key the host does not trust, are refused;
/// the component of an unsigned artifact is never downloaded.
#[test]
fn unsigned_and_strangers_artifacts_are_refused() {
    let registry = TestRegistry::start("signatures");
    let (ops, stranger) = (key(1), key(2));
    runtime().block_on(async {
        let at = publish(&registry.reference("policies/route:unsigned"), route_policy_host::BUILTIN, None).await;
        let data = temp_dir("registry-unsigned");
        let source = RegistrySource::new(at.clone(), &data).unwrap();
        let refused = refusal(source.start(ENGINE.clone(), trusting(&[&ops], false)).await);
        assert_eq!(refused.reason, Reason::Unsigned, "{refused}");
        let blobs_pulled =
            |r: &TestRegistry| r.requests().iter().filter(|(m, p, _)| m == "GET" && p.contains("/blobs/")).count();
        assert_eq!(blobs_pulled(&registry), 0, "an unsigned component is not downloaded");

        // Moving a tag to an unsigned artifact is refused at the source.
        match Registry::new(&at).retag(&at, "stable").await {
            Err(Error::Refused(refusal)) => assert_eq!(refusal.reason, Reason::Unsigned, "{refusal}"),
            other => panic!("an unsigned artifact was tagged: {:?}", other.map(|r| r.to_string())),
        }
        Registry::new(&at).sign(&at, &stranger).await.unwrap();
        let refused = refusal(source.start(ENGINE.clone(), trusting(&[&ops], false)).await);
        assert_eq!(refused.reason, Reason::UntrustedSignature, "{refused}");
        assert!(refused.message.contains("not trusted"), "{refused}");

        // Signed by the trusted key as well: it serves.
        Registry::new(&at).sign(&at, &ops).await.unwrap();
        let (host, _) = source.start(ENGINE.clone(), trusting(&[&ops], false)).await.unwrap();
        assert_eq!(host.current().id().revision, "2026.11.26");
    });
}

/// A watched tag: polls get `304` while it stays; when it moves to a newer signed revision,
/// the next poll gets `200` and activates it; a candidate that fails the canary is refused and
/// the serving policy stays; a move back to an older revision is a rollback, refused unless
/// the operator allows it. Everything is in the status.
#[test]
fn a_watched_tag_moves_and_only_good_newer_policies_activate() {
    let registry = TestRegistry::start("watch");
    let ops = key(1);
    let newer = one_attempt_variant();
    runtime().block_on(async {
        let tag = registry.reference("policies/route:stable");
        let first = publish(&tag, route_policy_host::BUILTIN, Some(&ops)).await;
        let data = temp_dir("registry-watch");
        let source = RegistrySource::new(tag.clone(), &data).unwrap();
        let (host, _) = source
            .start(ENGINE.clone(), trusting(&[&ops], false))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", registry.log_text()));
        assert!(matches!(source.poll(&host).await, Event::Unchanged));
        let manifests = |r: &TestRegistry| {
            r.requests()
                .into_iter()
                .filter(|(m, p, _)| m == "GET" && p.ends_with("/manifests/stable"))
                .map(|(_, _, s)| s)
                .collect::<Vec<_>>()
        };
        assert_eq!(manifests(&registry), [200, 304], "the first poll asked If-None-Match and got 304");

        // The canary refuses the naive policy: the built-in one keeps serving.
        let naive = publish(&tag, &FIXTURES.hostile, Some(&ops)).await;
        let refused = refused_at(&source.poll(&host).await).clone();
        assert_eq!(refused.reason, Reason::Load(Step::Canary), "{refused}");
        assert_eq!(refused.artifact, naive.to_string());
        assert_eq!(host.current().id().revision, "2026.11.26");
        let status = source.status();
        assert_eq!(status.active.as_ref().unwrap().digest, first.digest.clone().unwrap());
        assert_eq!(status.last_refusal.as_ref().unwrap().reason, "canary");
        assert_eq!(status.refusals.get("canary"), Some(&1));
        // Polled again, the same refused candidate is checked again (the canary runs under a
        // deadline) but not counted again.
        assert!(matches!(source.poll(&host).await, Event::StillRefused(_)));
        assert_eq!(source.status().refusals.get("canary"), Some(&1));

        // The tag moves to a newer signed revision: activated by the watch loop.
        let host = std::sync::Arc::new(host);
        let source = std::sync::Arc::new(source);
        let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let _watching =
            source.watch(host.clone(), Duration::from_millis(50), move |event| drop(events.send(event.clone())));
        // As a rollout does it: push and sign under the version's own tag, then move `stable`.
        let next = publish(&registry.reference("policies/route:2026.11.26.1"), &newer, Some(&ops)).await;
        let moved = Instant::now();
        Registry::new(&tag).retag(&next, "stable").await.unwrap();
        let activation = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Event::Activated { digest, .. } = seen.recv().await.expect("the watch runs") {
                    return digest;
                }
            }
        })
        .await
        .expect("activated within 20 s");
        eprintln!("tag move to activation: {:?} (polling every 50 ms)", moved.elapsed());
        assert_eq!(Some(activation), next.digest.clone());
        assert_eq!(host.current().id().revision, "2026.11.26.1");
        drop(_watching);
        // The activation kept the new tag's ETag: the next poll is a 304 again.
        assert!(matches!(source.poll(&host).await, Event::Unchanged));
        assert!(manifests(&registry).ends_with(&[304]), "{:?}", manifests(&registry));

        // Back to the older revision: a rollback, refused.
        publish(&tag, route_policy_host::BUILTIN, Some(&ops)).await;
        let refused = refused_at(&source.poll(&host).await).clone();
        assert_eq!(refused.reason, Reason::Load(Step::Rollback), "{refused}");
        assert_eq!(host.current().id().revision, "2026.11.26.1");
        // A rollback stays a rollback while the host serves what it serves: the next poll
        // does not even pull it again.
        let requests = registry.requests().len();
        assert!(matches!(source.poll(&host).await, Event::StillRefused(_)));
        let since: Vec<_> = registry.requests().into_iter().skip(requests).collect();
        assert!(since.iter().all(|(_, p, _)| p.ends_with("/manifests/stable") || p == "/v2/"), "{since:?}");
        assert_eq!(source.status().refusals.get("rollback"), Some(&1));

        // A host whose operator allows rollbacks follows the tag back.
        let permissive_data = temp_dir("registry-watch-rollback");
        let permissive = RegistrySource::new(tag.clone(), &permissive_data).unwrap();
        let (allowing, _) = permissive
            .start(ENGINE.clone(), trusting(&[&ops], true))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{:?}", registry.requests()));
        assert_eq!(allowing.current().id().revision, "2026.11.26");
        publish(&tag, &newer, Some(&ops)).await;
        activated(&permissive.poll(&allowing).await);
        publish(&tag, route_policy_host::BUILTIN, Some(&ops)).await;
        activated(&permissive.poll(&allowing).await);
        assert_eq!(allowing.current().id().revision, "2026.11.26");
    });
}

/// A restart while the registry is down serves the last good policy and says so; once the
/// registry is back, the first poll carries the kept ETag and gets `304` (no download again).
/// Without a last good copy, a start names the registry it could not reach.
#[test]
fn a_restart_with_the_registry_down_serves_the_last_good_policy() {
    let mut registry = TestRegistry::start("down");
    let ops = key(1);
    let data = temp_dir("registry-down-data");
    let rt = runtime();
    let tag = registry.reference("policies/route:stable");
    rt.block_on(async {
        let at = publish(&tag, route_policy_host::BUILTIN, Some(&ops)).await;
        let source = RegistrySource::new(tag.clone(), &data).unwrap();
        let (_host, _) = source.start(ENGINE.clone(), trusting(&[&ops], false)).await.unwrap();
        registry.stop();

        let restarted = RegistrySource::new(tag.clone(), &data).unwrap();
        let (host, events) = restarted.start(ENGINE.clone(), trusting(&[&ops], false)).await.unwrap();
        assert_eq!(activated(&events[0]), (at.digest.as_deref().unwrap(), Origin::LastGood));
        assert!(matches!(&events[1], Event::Unreachable(why) if why.contains(&tag.registry)), "{events:?}");
        assert_eq!(host.current().id().revision, "2026.11.26");
        let status = restarted.status();
        assert_eq!(status.active.unwrap().origin, Origin::LastGood);
        assert_eq!(status.last_poll.unwrap().outcome, "unreachable");

        let empty = temp_dir("registry-down-empty");
        let elsewhere = RegistrySource::new(tag.clone(), &empty).unwrap();
        match elsewhere.start(ENGINE.clone(), trusting(&[&ops], false)).await {
            Err(Error::Registry { registry: name, .. }) => assert_eq!(name, tag.registry),
            Err(other) => panic!("expected the registry's error, got {other}"),
            Ok(_) => panic!("nothing can serve"),
        }

        // A last good copy that was changed on disk is refused like a tampered pull.
        let wasm = std::fs::read_dir(data.join("oci"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "wasm"))
            .unwrap();
        let mut bytes = std::fs::read(&wasm).unwrap();
        bytes[1000] ^= 1;
        let original = std::fs::read(&wasm).unwrap();
        std::fs::write(&wasm, &bytes).unwrap();
        let corrupted = RegistrySource::new(tag.clone(), &data).unwrap();
        assert!(corrupted.start(ENGINE.clone(), trusting(&[&ops], false)).await.is_err());
        assert_eq!(corrupted.status().last_refusal.unwrap().reason, "blob-digest");
        std::fs::write(&wasm, &original).unwrap();
    });
    registry.run().unwrap();
    rt.block_on(async {
        let before = registry.requests().len();
        let restarted = RegistrySource::new(tag.clone(), &data).unwrap();
        let (_host, events) = restarted.start(ENGINE.clone(), trusting(&[&ops], false)).await.unwrap();
        assert!(matches!(events[1], Event::Unchanged), "{events:?}");
        let after: Vec<_> = registry.requests().into_iter().skip(before).collect();
        assert_eq!(
            after.iter().filter(|(_, p, _)| p.ends_with("/manifests/stable")).map(|r| r.2).collect::<Vec<_>>(),
            [304]
        );
        assert!(!after.iter().any(|(_, p, _)| p.contains("/blobs/")), "nothing downloaded again: {after:?}");
    });
}

/// The command line: `push` prints the digest reference, `sign` attaches a signature, and
/// `serve --policy oci://…@sha256:…` answers with that policy and writes its status.
#[test]
fn push_sign_and_serve_from_the_command_line() {
    let registry = TestRegistry::start("cli");
    let dir = temp_dir("registry-cli");
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(binary())
            .args(args)
            .current_dir(&*dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    std::fs::write(dir.join("policy.wasm"), route_policy_host::BUILTIN).unwrap();
    assert_eq!(run(&["keygen", "ops"], "").0, Some(0));
    let tag = registry.reference("policies/route:stable").to_string();
    let (code, pushed, stderr) = run(&["push", "policy.wasm", &tag], "");
    assert_eq!(code, Some(0), "{stderr}");
    let pushed = pushed.trim().to_owned();
    let at = OciRef::parse(&pushed).expect("push prints a digest reference");
    assert!(at.digest.is_some() && at.tag.is_none(), "{pushed}");
    let (code, signature, stderr) = run(&["sign", "--key", "ops.key", &pushed], "");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(signature.trim().contains("@sha256:"), "{signature}");

    let data = dir.join("data");
    let status = dir.join("status.json");
    let serve = ["serve", "--policy", &pushed, "--trusted-key", "ops.pub", "--data-dir", data.to_str().unwrap()];
    let (code, out, stderr) =
        run(&[&serve[..], &["--status", status.to_str().unwrap()]].concat(), "{\"op\":\"policy-info\",\"input\":{}}\n");
    assert_eq!(code, Some(0), "{stderr}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer["ok"]["revision"], "2026.11.26");
    let status: serde_json::Value = serde_json::from_slice(&std::fs::read(&status).unwrap()).unwrap();
    assert_eq!(status["active"]["artifact"], pushed.as_str());
    assert_eq!(status["active"]["origin"], "registry");

    // Without a trusted key, and with a tag given to --policy, it says what to do.
    let (code, _, stderr) = run(&["serve", "--policy", &pushed, "--data-dir", data.to_str().unwrap()], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("trusted key"), "{stderr}");
    let (code, _, stderr) = run(&["serve", "--policy", &tag, "--trusted-key", "ops.pub"], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--watch"), "{stderr}");
    // Plain http is for loopback registries only: another host is reached over https.
    assert_eq!(OciRef::parse("oci://registry.example.com/p:v").unwrap().scheme(), "https");
}

/// The gateway serves a watched registry policy: `GET /status` names the artifact, and its
/// metrics count activations by origin and refusals by reason.
#[test]
fn the_gateway_serves_a_watched_policy_and_reports_it() {
    let registry = TestRegistry::start("gateway");
    let dir = temp_dir("registry-gateway");
    let ops = key(1);
    std::fs::write(dir.join("ops.pub"), route_policy_host::hex(ops.verifying_key().as_bytes())).unwrap();
    runtime().block_on(async {
        let tag = registry.reference("policies/route:stable");
        let at = publish(&tag, route_policy_host::BUILTIN, Some(&ops)).await;
        let config = format!(
            "[policy]\nregistry = {:?}\ntrusted-keys = [{:?}]\ndata-dir = {:?}\npoll-seconds = 0.05\n",
            tag.to_string(),
            dir.join("ops.pub").display().to_string(),
            dir.join("data").display().to_string()
        );
        let config = route_policy_gateway::Config::parse(&config).unwrap();
        let gateway = route_policy_gateway::Gateway::open(config, ENGINE.clone(), Default::default()).await.unwrap();
        let gateway = std::sync::Arc::new(gateway);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(gateway.clone().serve(listener));
        let get = |path: &'static str| {
            let url = format!("{origin}{path}");
            async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
        };
        let status: serde_json::Value = serde_json::from_str(&get("/status").await).unwrap();
        assert_eq!(status["source"], tag.to_string());
        assert_eq!(status["active"]["artifact"], at.to_string());
        assert_eq!(status["active"]["revision"], "2026.11.26");
        assert!(get("/metrics").await.contains(r#"route_policy_policy_activations_total{origin="registry"} 1"#));

        publish(&tag, &FIXTURES.hostile, Some(&ops)).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !get("/metrics").await.contains(r#"route_policy_policy_refusals_total{reason="canary"}"#) {
            assert!(Instant::now() < deadline, "the canary's refusal was never counted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let status: serde_json::Value = serde_json::from_str(&get("/status").await).unwrap();
        assert_eq!(status["active"]["artifact"], at.to_string(), "the serving policy stays");
        assert_eq!(status["last_refusal"]["reason"], "canary");
        assert_eq!(gateway.policy().id().revision, "2026.11.26");
    });
}

/// Two references to the same manifest in two repositories, kept in one data directory: each
/// keeps its own signature (a signature names its repository), and each restarts from its own
/// last good copy.
#[test]
fn two_repositories_sharing_a_data_directory_keep_their_own_signatures() {
    let registry = TestRegistry::start("shared");
    let data = temp_dir("registry-shared-data");
    let ops = key(1);
    runtime().block_on(async {
        let tags = [registry.reference("staging/route:v1"), registry.reference("prod/route:stable")];
        for tag in &tags {
            publish(tag, route_policy_host::BUILTIN, Some(&ops)).await;
            let source = RegistrySource::new(tag.clone(), &data).unwrap();
            source.start(ENGINE.clone(), trusting(&[&ops], false)).await.unwrap();
        }
        let signatures = std::fs::read_dir(data.join("oci"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".signature"))
            .count();
        assert_eq!(signatures, 2, "one signature per repository");
        for tag in &tags {
            let restarted = RegistrySource::new(tag.clone(), &data).unwrap();
            let (_, events) = restarted.start(ENGINE.clone(), trusting(&[&ops], false)).await.unwrap();
            assert_eq!(activated(&events[0]).1, Origin::LastGood, "{tag}: {events:?}");
        }
    });
}

/// `serve`'s status file is written only in a directory that belongs to this user alone, and
/// never through a link: not one planted at its name, nor one at the temporary name it was once
/// written through (`status.json.tmp`). A data directory, or a `--status` directory, that
/// anyone may write or that another user owns is refused before anything serves.
#[test]
fn the_status_file_is_never_written_through_a_link_nor_in_a_shared_directory() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let registry = TestRegistry::start("status");
    let dir = temp_dir("registry-status");
    let ops = key(1);
    std::fs::write(dir.join("ops.pub"), route_policy_host::hex(ops.verifying_key().as_bytes())).unwrap();
    let at = runtime().block_on(publish(
        &registry.reference("policies/route:stable"),
        route_policy_host::BUILTIN,
        Some(&ops),
    ));
    let serve = |data: &std::path::Path, status: Option<&std::path::Path>| {
        let mut command = Command::new(binary());
        command.current_dir(&*dir).args(["serve", "--policy", &at.to_string(), "--trusted-key", "ops.pub"]);
        command.arg("--data-dir").arg(data);
        if let Some(status) = status {
            command.arg("--status").arg(status);
        }
        let output = command.stdin(Stdio::null()).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let private = |name: &str, mode: u32| {
        let path = dir.join(name);
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    };

    let data = private("data", 0o700);
    let victim = dir.join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    for name in ["status.json", "status.json.tmp"] {
        std::os::unix::fs::symlink(&victim, data.join(name)).unwrap();
    }
    let (code, stderr) = serve(&data, None);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched", "the status was written through a link");
    let written = data.join("status.json");
    assert!(std::fs::symlink_metadata(&written).unwrap().is_file(), "the link is replaced by the status itself");
    let status: serde_json::Value = serde_json::from_slice(&std::fs::read(&written).unwrap()).unwrap();
    assert_eq!(status["active"]["artifact"], at.to_string().as_str());

    let shared = private("shared", 0o777);
    let (code, stderr) = serve(&shared, None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("open to other users (mode 777)"), "{stderr}");
    assert!(!shared.join("status.json").exists() && !shared.join("oci").exists());
    let (code, stderr) = serve(&data, Some(&shared.join("status.json")));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("status file") && stderr.contains("open to other users"), "{stderr}");

    // Only root can give a directory to another user (CI runs as root).
    if std::fs::metadata(&*dir).unwrap().uid() == 0 {
        let theirs = private("theirs", 0o700);
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let (code, stderr) = serve(&theirs, None);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("belongs to uid 65534"), "{stderr}");
        assert!(!theirs.join("status.json").exists());
    }
}
