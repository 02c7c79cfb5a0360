//! The gateway against the fake upstream on loopback, one module per concern: `calls` (model
//! calls, streams, errors, metrics), `doors` (who may reach the gateway, and what a client may
//! hold of it), `state` (what one call leaves for the others), `registry` (a policy from a registry). `rig` is what they stand on.

mod calls;
mod doors;
mod registry;
mod rig;
mod signin;
mod state;
