//! Policies from a real OCI registry (Debian's `docker-registry`, one process per test on
//! 127.0.0.1 with its own storage): pushed and signed artifacts, pulled by digest, watched by
//! tag, refused when tampered, unsigned, signed by a stranger, failing the canary or rolling
//! back, and served from the last-good store when the registry is down. Conduct is judged from
//! the registry's own access log and storage, and from what the host serves.

use route_policy_host::{PolicyHost, Step};
use route_policy_oci::{Error, Event, Origin, Reason, Registry, RegistrySource};
use route_policy_testkit::{
    ENGINE, FIXTURES, TestRegistry, key, needs_docker_registry, one_attempt_variant, publish, runtime, temp_dir,
    trusting,
};
use std::time::{Duration, Instant};

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

needs_docker_registry! {
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
        assert_eq!((active.digest.as_str(), active.revision.as_str()), (at.digest.as_deref().unwrap(), route_policy_testkit::builtin_revision().as_str()));
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
}

needs_docker_registry! {
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
            // The revision annotation, one digit changed: the same length, another manifest.
            let revision = route_policy_testkit::builtin_revision();
            let mut changed = revision.clone().into_bytes();
            let last = changed.last_mut().unwrap();
            *last = if *last == b'9' { b'8' } else { *last + 1 };
            let changed = String::from_utf8(changed).unwrap();
            let text = String::from_utf8(bytes.clone()).unwrap().replace(&format!("\"{revision}\""), &format!("\"{changed}\""));
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
}

needs_docker_registry! {
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
        assert_eq!(host.current().id().revision, route_policy_testkit::builtin_revision().as_str());
    });
}
}

needs_docker_registry! {
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
        assert_eq!(host.current().id().revision, route_policy_testkit::builtin_revision().as_str());
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
        let next = publish(&registry.reference(&format!("policies/route:{}", route_policy_testkit::newer_revision())), &newer, Some(&ops)).await;
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
        assert_eq!(host.current().id().revision, route_policy_testkit::newer_revision().as_str());
        drop(_watching);
        // The activation kept the new tag's ETag: the next poll is a 304 again.
        assert!(matches!(source.poll(&host).await, Event::Unchanged));
        assert!(manifests(&registry).ends_with(&[304]), "{:?}", manifests(&registry));

        // Back to the older revision: a rollback, refused.
        publish(&tag, route_policy_host::BUILTIN, Some(&ops)).await;
        let refused = refused_at(&source.poll(&host).await).clone();
        assert_eq!(refused.reason, Reason::Load(Step::Rollback), "{refused}");
        assert_eq!(host.current().id().revision, route_policy_testkit::newer_revision().as_str());
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
        assert_eq!(allowing.current().id().revision, route_policy_testkit::builtin_revision().as_str());
        publish(&tag, &newer, Some(&ops)).await;
        activated(&permissive.poll(&allowing).await);
        publish(&tag, route_policy_host::BUILTIN, Some(&ops)).await;
        activated(&permissive.poll(&allowing).await);
        assert_eq!(allowing.current().id().revision, route_policy_testkit::builtin_revision().as_str());
    });
}
}

needs_docker_registry! {
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
        assert_eq!(host.current().id().revision, route_policy_testkit::builtin_revision().as_str());
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
}

needs_docker_registry! {
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
}
