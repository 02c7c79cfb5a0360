//! The gateway with its policy from a real `docker-registry` on loopback.

use route_policy_testkit::{ENGINE, FIXTURES, TestRegistry, key, needs_docker_registry, publish, runtime, temp_dir};
use std::time::{Duration, Instant};

needs_docker_registry! {
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
        assert_eq!(status["active"]["revision"], route_policy_testkit::builtin_revision().as_str());
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
        assert_eq!(gateway.policy().id().revision, route_policy_testkit::builtin_revision());
    });
}
}
