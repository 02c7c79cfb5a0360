//! Rejections learned between calls: a model an account may not use, or a provider does not
//! know, dropped from later chains before it is tried again.
//!
//! The policy says what an attempt taught (`next-step`'s `learned`); the executor keeps it only
//! past the host's floor ([`route_policy_contract::learning::learnable`]: the provider's own
//! words, on the route the rule belongs to, about the model that was sent, not an echo of the
//! request), and only for the credential it was learned with, for
//! [`LEARNED_TTL_MS`](route_policy_contract::learning::LEARNED_TTL_MS), at most
//! [`MAX_LEARNED`] at once (the oldest go first). A call's chain gets the rejections of its
//! own credentials, each with the plan that credential has now.

use route_policy_contract::learning::{LEARNED_TTL_MS, MAX_LEARNED};
use route_policy_contract::model_key::rule_key;
use route_policy_contract::types::{Credential, Rejection};
use std::sync::Mutex;

/// One kept rejection.
#[derive(Clone, Debug, PartialEq)]
pub struct Learned {
    /// What the policy said.
    pub rejection: Rejection,
    /// The profile id of the credential it was learned with.
    pub credential: String,
    /// When it is forgotten, on the executor's clock (Unix ms).
    pub expires_ms: u64,
}

/// The rejections an executor keeps.
#[derive(Debug, Default)]
pub struct LearnedStore {
    kept: Mutex<Vec<Learned>>,
}

impl LearnedStore {
    /// The rejections that apply to a chain with these credentials, now.
    pub fn for_credentials(&self, credentials: &[Credential], now_ms: u64) -> Vec<Rejection> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter()
            .filter(|l| l.expires_ms > now_ms)
            .filter(|l| credentials.iter().any(|c| c.profile_id == l.credential && c.plan == l.rejection.plan))
            .map(|l| l.rejection.clone())
            .collect()
    }

    /// Keeps a rejection that passed the floor, for `credential`, from `now_ms`; one
    /// already kept for the same model, plan and credential is replaced (its expiry renewed).
    pub fn keep(&self, rejection: Rejection, credential: &str, now_ms: u64) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|l| l.expires_ms > now_ms);
        let key = rule_key(&rejection.model);
        kept.retain(|l| {
            !(l.credential == credential && l.rejection.plan == rejection.plan && rule_key(&l.rejection.model) == key)
        });
        kept.push(Learned { rejection, credential: credential.to_owned(), expires_ms: now_ms + LEARNED_TTL_MS });
        let excess = kept.len().saturating_sub(MAX_LEARNED);
        kept.drain(..excess);
    }

    /// Everything kept, for status pages and tests.
    pub fn snapshot(&self) -> Vec<Learned> {
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use route_policy_contract::types::{CredentialKind, FailureReason, Plan};

    fn credential(id: &str, plan: Plan) -> Credential {
        Credential { profile_id: id.into(), provider: "openai-codex".into(), kind: CredentialKind::Oauth, plan }
    }

    fn gate(model: &str) -> Rejection {
        Rejection { model: model.into(), plan: Plan::Plus, reason: FailureReason::ModelUnsupportedForAccount }
    }

    #[test]
    fn a_rejection_is_scoped_to_its_credential_and_plan_and_expires() {
        let store = LearnedStore::default();
        store.keep(gate("gpt-5.5-pro"), "alice", 1_000);
        assert_eq!(store.for_credentials(&[credential("alice", Plan::Plus)], 2_000), vec![gate("gpt-5.5-pro")]);
        assert!(store.for_credentials(&[credential("bob", Plan::Plus)], 2_000).is_empty(), "another account");
        assert!(store.for_credentials(&[credential("alice", Plan::Pro)], 2_000).is_empty(), "a changed plan");
        assert!(store.for_credentials(&[credential("alice", Plan::Plus)], 1_000 + LEARNED_TTL_MS).is_empty());
    }

    #[test]
    fn the_store_is_bounded_and_renews_a_repeat() {
        let store = LearnedStore::default();
        for i in 0..MAX_LEARNED + 10 {
            store.keep(gate(&format!("model-{i}")), "alice", 0);
        }
        let kept = store.snapshot();
        assert_eq!(kept.len(), MAX_LEARNED);
        assert_eq!(kept[0].rejection.model, "model-10", "the oldest went first");
        store.keep(gate("MODEL-10:latest"), "alice", 5);
        assert_eq!(store.snapshot().len(), MAX_LEARNED, "one model, one entry");
        assert_eq!(store.snapshot().last().unwrap().expires_ms, 5 + LEARNED_TTL_MS);
    }
}
