//! Route health between calls. The policy decides every value (when a circuit opens, for how
//! long, when to probe); the executor only stores what a step says and passes it back.

use route_policy_contract::types::RouteHealth;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The health of the routes this executor has seen, by `MODEL@CREDENTIAL`.
#[derive(Debug, Default)]
pub struct HealthStore {
    routes: Mutex<BTreeMap<String, RouteHealth>>,
}

impl HealthStore {
    /// Everything stored, for the policy.
    pub fn snapshot(&self) -> Vec<RouteHealth> {
        self.routes.lock().map(|r| r.values().cloned().collect()).unwrap_or_default()
    }

    /// Stores a step's updates, each replacing what was held for its route. A route back to
    /// full health is forgotten.
    pub fn store(&self, updates: &[RouteHealth]) {
        let Ok(mut routes) = self.routes.lock() else { return };
        for update in updates {
            if update.failures == 0 && update.open_until_ms.is_none() && update.opened == 0 {
                routes.remove(&update.route);
            } else {
                routes.insert(update.route.clone(), update.clone());
            }
        }
    }

    /// What is stored for one route.
    pub fn get(&self, route: &str) -> Option<RouteHealth> {
        self.routes.lock().ok()?.get(route).cloned()
    }
}
