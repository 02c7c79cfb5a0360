//! Route health between calls. The policy decides every value (when a circuit opens, for how
//! long, when to probe); the executor only stores what a step says and passes it back.
//!
//! What it stores is bounded whatever the policy says: the guard keeps only updates for the
//! routes of the step's plan (each key at most
//! [`MAX_ROUTE_KEY`](route_policy_contract::guard::MAX_ROUTE_KEY) bytes), the store holds at
//! most [`MAX_ROUTES`] routes (the least recently updated go first), and a call is passed only
//! the health of its own credentials' routes. So no policy can grow the state every later call
//! carries until calls no longer fit the sandbox's input limit.

use route_policy_contract::guard::MAX_ROUTE_KEY;
use route_policy_contract::types::{Credential, RouteHealth};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The most routes whose health is stored.
pub const MAX_ROUTES: usize = 256;

/// The health of the routes this executor has seen, by `MODEL@CREDENTIAL`.
#[derive(Debug, Default)]
pub struct HealthStore {
    routes: Mutex<Routes>,
}

#[derive(Debug, Default)]
struct Routes {
    /// Each route's health, and when it was last updated (a sequence number).
    by_key: BTreeMap<String, (RouteHealth, u64)>,
    updates: u64,
}

impl HealthStore {
    /// Everything stored.
    pub fn snapshot(&self) -> Vec<RouteHealth> {
        self.routes.lock().map(|r| r.by_key.values().map(|(h, _)| h.clone()).collect()).unwrap_or_default()
    }

    /// What a call with these credentials is passed: its own routes' health.
    pub fn snapshot_for(&self, credentials: &[Credential]) -> Vec<RouteHealth> {
        let Ok(routes) = self.routes.lock() else { return Vec::new() };
        routes
            .by_key
            .iter()
            .filter(|(key, _)| {
                key.rsplit_once('@')
                    .is_some_and(|(_, credential)| credentials.iter().any(|c| c.profile_id == credential))
            })
            .map(|(_, (health, _))| health.clone())
            .collect()
    }

    /// Stores a step's updates, each replacing what was held for its route. A route back to
    /// full health is forgotten; past [`MAX_ROUTES`], the least recently updated goes.
    pub fn store(&self, updates: &[RouteHealth]) {
        let Ok(mut routes) = self.routes.lock() else { return };
        for update in updates.iter().filter(|u| u.route.len() <= MAX_ROUTE_KEY) {
            if update.failures == 0 && update.open_until_ms.is_none() && update.opened == 0 {
                routes.by_key.remove(&update.route);
                continue;
            }
            routes.updates += 1;
            let stamp = routes.updates;
            routes.by_key.insert(update.route.clone(), (update.clone(), stamp));
            if routes.by_key.len() > MAX_ROUTES
                && let Some(oldest) = routes.by_key.iter().min_by_key(|(_, (_, s))| *s).map(|(k, _)| k.clone())
            {
                routes.by_key.remove(&oldest);
            }
        }
    }

    /// What is stored for one route.
    pub fn get(&self, route: &str) -> Option<RouteHealth> {
        self.routes.lock().ok()?.by_key.get(route).map(|(h, _)| h.clone())
    }

    /// How many routes are stored.
    pub fn len(&self) -> usize {
        self.routes.lock().map(|r| r.by_key.len()).unwrap_or(0)
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use route_policy_contract::types::{CredentialKind, Plan};

    fn sick(route: &str) -> RouteHealth {
        RouteHealth { route: route.into(), failures: 1, open_until_ms: None, opened: 0 }
    }

    #[test]
    fn the_store_is_bounded_and_forgets_the_least_recently_updated() {
        let store = HealthStore::default();
        for i in 0..MAX_ROUTES + 5 {
            store.store(&[sick(&format!("m{i}@key"))]);
        }
        assert_eq!(store.len(), MAX_ROUTES);
        assert!(store.get("m0@key").is_none() && store.get("m5@key").is_some());
        store.store(&[sick(&"x".repeat(MAX_ROUTE_KEY + 1))]);
        assert_eq!(store.len(), MAX_ROUTES, "an oversized key is not stored");
    }

    #[test]
    fn a_call_sees_only_its_own_credentials_routes() {
        let store = HealthStore::default();
        store.store(&[sick("openai/gpt-5.5@alice"), sick("openai/gpt-5.5@bob")]);
        let alice = Credential {
            profile_id: "alice".into(),
            provider: "openai".into(),
            kind: CredentialKind::ApiKey,
            plan: Plan::Api,
        };
        let seen = store.snapshot_for(&[alice]);
        assert_eq!(seen.iter().map(|h| h.route.as_str()).collect::<Vec<_>>(), vec!["openai/gpt-5.5@alice"]);
    }
}
