//! The registry path against a real `docker-registry` on loopback: a watch's poll (`304`), a
//! pull with every check, and a pull with every check plus activation (compile, canary, swap),
//! against reloading the same component from a local file; then, on a watching host, the time
//! from a tag move to activation.
//!
//! `cargo bench -p route-policy --bench registry` (needs `docker-registry`; see the README).

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use route_policy_host::{Canary, Engine, Policy, PolicyHost, ReloadOptions, Trust};
use route_policy_oci::{Artifact, Event, LocalRegistry, OciRef, Registry, RegistrySource};
use std::sync::Arc;
use std::time::{Duration, Instant};

use route_policy_testkit as common;

fn options(key: &SigningKey) -> ReloadOptions {
    let trust = Trust::none().trust_key(key.verifying_key()).expect("a strong key");
    // Two components of one revision alternate: not a rollback, but allowed anyway.
    ReloadOptions { trust, canary: Canary::builtin(), allow_rollback: true }
}

async fn publish(registry: &Registry, tag: &OciRef, wasm: &[u8], key: &SigningKey, engine: &Engine) -> OciRef {
    let policy = Policy::from_bytes(engine, wasm, "bench".to_owned()).expect("loads");
    let digest = registry.push(tag, &Artifact::new(wasm.to_vec(), policy.id())).await.expect("pushed");
    let at = tag.at(&digest);
    registry.sign(&at, key).await.expect("signed");
    at
}

fn registry(c: &mut Criterion) {
    let dir = common::temp_dir("bench-registry");
    let local = match LocalRegistry::start(&dir.join("registry")) {
        Ok(local) => local,
        Err(why) => {
            eprintln!("skipping the registry benchmark: {why}");
            return;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    // No compiled-code cache: a fleet host compiles every new policy once.
    let engine = Engine::builder().build().expect("engine");
    let key = SigningKey::from_bytes(&[1; 32]);
    let tag = local.reference("policies/route:stable").expect("a reference");
    let client = Registry::new(&tag);
    let (a, b) = (route_policy_host::BUILTIN.to_vec(), common::variant_of_builtin("bench"));
    let (at_a, at_b) = runtime.block_on(async {
        let at_b = publish(&client, &local.reference("policies/route:b").unwrap(), &b, &key, &engine).await;
        (publish(&client, &tag, &a, &key, &engine).await, at_b)
    });
    let source = Arc::new(RegistrySource::new(tag.clone(), &dir.join("data")).expect("source"));
    let (host, _) = runtime.block_on(source.start(engine.clone(), options(&key))).expect("starts");
    let host = Arc::new(host);

    let mut group = c.benchmark_group("registry");
    group.bench_function("poll, tag unchanged (304)", |bench| {
        bench.iter(|| assert!(matches!(runtime.block_on(source.poll(&host)), Event::Unchanged)))
    });
    let trust = &host.options().trust;
    group.bench_function("pull + verify", |bench| {
        bench.iter(|| std::hint::black_box(runtime.block_on(client.pull(&at_b, trust)).expect("pulled")))
    });
    let files = [dir.join("a.wasm"), dir.join("b.wasm")];
    std::fs::write(&files[0], &a).unwrap();
    std::fs::write(&files[1], &b).unwrap();
    let file_host =
        PolicyHost::open(engine.clone(), &files[0], ReloadOptions { trust: Trust::none(), ..options(&key) })
            .expect("opens");
    let mut turn = 0;
    group.bench_function("file reload + activate (baseline)", |bench| {
        bench.iter(|| {
            turn += 1;
            file_host.reload(&files[turn % 2]).expect("activates")
        })
    });
    group.bench_function("pull + verify + activate", |bench| {
        bench.iter(|| {
            turn += 1;
            let at = if turn % 2 == 0 { &at_a } else { &at_b };
            let (pulled, _) = runtime.block_on(client.pull(at, trust)).expect("pulled");
            let policy = Policy::from_bytes(&engine, &pulled.wasm, pulled.artifact).expect("loads");
            host.offer(policy).expect("activates")
        })
    });
    group.finish();

    // A watching host (polling every 100 ms) and a tag moved back and forth: time from the move
    // to the activation, as the host reports it.
    let interval = Duration::from_millis(100);
    let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let _entered = runtime.enter();
    let _watching = source.watch(Arc::clone(&host), interval, move |event| drop(events.send(event.clone())));
    let mut delays = Vec::new();
    for round in 0..12 {
        let at = if round % 2 == 0 { &at_b } else { &at_a };
        runtime.block_on(async {
            while seen.try_recv().is_ok() {}
            let moved = Instant::now();
            client.retag(at, "stable").await.expect("moved");
            loop {
                match tokio::time::timeout(Duration::from_secs(10), seen.recv()).await {
                    Ok(Some(Event::Activated { digest, .. })) if Some(&digest) == at.digest.as_ref() => break,
                    Ok(Some(Event::Refused(refusal))) => panic!("{refusal}"),
                    Ok(Some(_)) => {}
                    other => panic!("no activation: {other:?}"),
                }
            }
            delays.push(moved.elapsed());
        });
    }
    delays.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "registry/tag move to activation (poll every {} ms, {} moves): p50 {:.0} ms, max {:.0} ms",
        interval.as_millis(),
        delays.len(),
        ms(delays[delays.len() / 2]),
        ms(delays[delays.len() - 1])
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = registry
}
criterion_main!(benches);
