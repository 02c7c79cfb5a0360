//! What one client's call leaves for the others: learned rejections, kept only from an answer
//! that could really mean them, and never from a client's own words echoed back.

use crate::rig::*;
use serde_json::json;

/// The sentence the Codex backend uses to refuse a model to a ChatGPT plan.
fn plan_sentence(model: &str) -> String {
    format!("The '{model}' model is not supported when using Codex with a ChatGPT account.")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_take_a_model_away_from_the_others_through_the_platform_echo() {
    let rig = rig("").await;
    // The platform API echoes an unknown field's name in its 400; this one is named like the
    // Codex plan sentence, sent with an API key.
    let mut hostile = json!({"model": "openai/gpt-5.5", "input": "Count to sixty."});
    hostile[plan_sentence("gpt-5.5")] = json!(1);
    let response = rig.post("/v1/responses", hostile).await;
    assert!(!response.status().is_success(), "{}", response.status());
    assert_eq!(rig.fake.log()[0].answer, "400 unrecognized", "{:?}", rig.fake.log());
    // Every later client still reaches gpt-5.5.
    for _ in 0..2 {
        let response = rig.post("/v1/responses", json!({"model": "openai/gpt-5.5", "input": "Count to sixty."})).await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(rig.models_sent(), vec!["gpt-5.5"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_on_the_codex_route_is_not_learned_either() {
    let rig = codex_rig().await;
    let mut hostile = json!({"model": "mini", "input": "Count to sixty."});
    hostile[plan_sentence("gpt-5.4-mini")] = json!(1);
    let response = rig.post("/v1/responses", hostile).await;
    assert!(!response.status().is_success(), "{}", response.status());
    let clean = rig.post("/v1/responses", json!({"model": "mini", "input": "Count to sixty."})).await;
    assert_eq!(clean.status(), 200);
    assert_eq!(header(&clean, "x-route-policy-model"), "openai/gpt-5.4-mini", "the primary was not taken away");
    assert_eq!(rig.models_sent().last().map(String::as_str), Some("gpt-5.4-mini"));
}
