//! The gateway's configuration file (TOML): where it listens, which policy it serves, the
//! providers and credentials it may use, and the models clients may ask for with their
//! fallback chains.
//!
//! Secrets are never written in the file: each credential names an environment variable
//! (`secret-env`) or a file (`secret-file`) that the gateway reads at start. The policy sees
//! only the credentials' descriptions.
//!
//! ```toml
//! listen = "127.0.0.1:8080"          # the default; plain http, so keep it on loopback
//! decision-log = "decisions.jsonl"   # optional: one receipt per call
//! hold-streams = false               # hold a streamed answer until it is complete
//!
//! [policy]                           # optional: the built-in policy by default
//! component = "policy.wasm"
//! watch = true                       # hot-swap it when the file changes (verified)
//! pin-sha256 = "…"                   # or trusted-keys = ["ops.pub"]
//! # or, from a registry (trusted-keys required): a digest to pin, or a tag to watch
//! # registry = "oci://registry.example.com/policies/route:stable"
//! # data-dir = "/var/lib/route-policy"  # the last good policy (default: ~/.local/state/route-policy)
//! # poll-seconds = 30                   # how often a watched tag is polled
//!
//! [[providers]]                      # OpenAI-compatible servers, and base URLs of OpenAI's own
//! id = "acme"
//! base-url = "https://llm.acme.example/v1"
//!
//! [[credentials]]
//! profile-id = "openai-key"
//! provider = "openai"
//! kind = "api-key"
//! plan = "api"
//! secret-env = "OPENAI_API_KEY"
//!
//! [[models]]                         # what clients ask for, and the chain that serves it
//! name = "smart"
//! primary = "openai/gpt-5.5"
//! fallbacks = ["openai/gpt-4.1", "acme/llama-3.3-70b"]
//! ```

use route_policy_contract::types::{Credential, CredentialKind, Plan, ProviderConfig};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Where to listen; `127.0.0.1:8080` by default.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Append one receipt per call (and one line per policy decision) to this file.
    #[serde(default)]
    pub decision_log: Option<PathBuf>,
    /// Hold every streamed answer until it is complete (a request may also ask, with the
    /// header `x-route-policy-hold: true`). Off by default: events pass on as they arrive.
    #[serde(default)]
    pub hold_streams: bool,
    /// The policy to serve.
    #[serde(default)]
    pub policy: PolicySource,
    /// Provider configs: the contract's `provider-config`, as the policy sees them.
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    /// Credentials: their description, and where their secret is.
    #[serde(default)]
    pub credentials: Vec<CredentialEntry>,
    /// The models clients may ask for.
    #[serde(default)]
    pub models: Vec<ModelEntry>,
    /// The environment variable holding the key clients must present
    /// (`Authorization: Bearer …`). Required when `listen` is not a loopback address.
    #[serde(default)]
    pub client_key_env: Option<String>,
    /// Send a provider's origin to a loopback server instead: for tests and local mirrors.
    #[serde(default)]
    pub routes: Vec<RouteEntry>,
    /// Names clients may reach the gateway by (the `Host` header), besides `localhost`,
    /// `127.0.0.1` and `[::1]` with the listening port on loopback: `gateway.example.com` or
    /// `gateway.example.com:8080`. Off loopback, an empty list accepts any name (the client
    /// key guards the door); a list accepts only its names.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Web origins whose pages may call the gateway (`https://app.example.com`); every other
    /// request that carries an `Origin` is refused, so that no web page drives it.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Limits on what clients may hold of the gateway (connections, header time, memory).
    #[serde(default)]
    pub limits: ServerLimits,
}

/// What clients may hold of the gateway at once. Defaults are documented on each field.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServerLimits {
    /// Connections held open at once (1024). At the cap, a new connection takes the place of
    /// the oldest one that is not in a request (a client idling, or still sending headers);
    /// when every connection is in a request, the new one is closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (10); an idle kept-alive connection
    /// is closed after as long.
    #[serde(default = "default_header_seconds")]
    pub header_seconds: f64,
    /// MiB the requests in flight may cost, bodies and their parsed form (256). Past it, a
    /// request is answered 503 with `Retry-After`.
    #[serde(default = "default_in_flight_mib")]
    pub in_flight_mib: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: default_max_connections(),
            header_seconds: default_header_seconds(),
            in_flight_mib: default_in_flight_mib(),
        }
    }
}

fn default_max_connections() -> usize {
    1024
}

fn default_header_seconds() -> f64 {
    10.0
}

fn default_in_flight_mib() -> usize {
    256
}

/// A provider origin sent to a loopback server.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RouteEntry {
    /// The origin the policy names, `https://api.openai.com`.
    pub from: String,
    /// The loopback origin that serves it, `http://127.0.0.1:PORT`.
    pub to: String,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// Which policy to serve, and how to trust its updates.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PolicySource {
    /// The component; the built-in policy when absent.
    pub component: Option<PathBuf>,
    /// Reload it when the file changes, after every check.
    #[serde(default)]
    pub watch: bool,
    /// Load only a component with this sha256.
    pub pin_sha256: Option<String>,
    /// Require `FILE.sig` by one of these ed25519 public keys.
    #[serde(default)]
    pub trusted_keys: Vec<PathBuf>,
    /// Let a lower revision replace the serving one.
    #[serde(default)]
    pub allow_rollback: bool,
    /// The policy from a registry: `oci://…@sha256:…` (pinned) or `oci://…:TAG` (watched).
    pub registry: Option<String>,
    /// Where the last good registry policy is kept (default: `~/.local/state/route-policy`).
    pub data_dir: Option<PathBuf>,
    /// Seconds between two polls of a watched tag (default 30).
    pub poll_seconds: Option<f64>,
}

/// A credential: what the policy sees, and where the gateway finds the secret.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CredentialEntry {
    /// Its id, as the policy names it.
    pub profile_id: String,
    /// The provider it signs in to.
    pub provider: String,
    /// `api-key`, `oauth`, …
    pub kind: CredentialKind,
    /// The account's plan; `api` by default.
    #[serde(default = "api_plan")]
    pub plan: Plan,
    /// The environment variable that holds the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The file that holds the secret (its first line).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// A ChatGPT sign-in kept by the Codex CLI (`~/.codex/auth.json`): its access token is
    /// used, and refreshed through OpenAI's token endpoint (under a file lock, written back at
    /// once) when it is about to expire. For `kind = "oauth"` only.
    #[serde(default)]
    pub codex_auth_file: Option<PathBuf>,
}

fn api_plan() -> Plan {
    Plan::Api
}

/// A model clients may ask for.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ModelEntry {
    /// The name in a request's `model`.
    pub name: String,
    /// The ref that serves it first.
    pub primary: String,
    /// The refs that may serve it next, in order.
    #[serde(default)]
    pub fallbacks: Vec<String>,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid configuration.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, where.
        message: String,
    },
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let mut config =
            Config::parse(&text).map_err(|message| ConfigError::Invalid { path: path.to_owned(), message })?;
        // Relative paths are the file's, not the working directory's; `~/` is the home
        // directory.
        let base = path.parent().unwrap_or(Path::new("."));
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let anchor = |p: &mut PathBuf| {
            if let (Ok(rest), Some(home)) = (p.strip_prefix("~"), home.as_ref()) {
                *p = home.join(rest);
            } else if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(p) = config.decision_log.as_mut() {
            anchor(p);
        }
        if let Some(p) = config.policy.component.as_mut() {
            anchor(p);
        }
        config.policy.trusted_keys.iter_mut().for_each(anchor);
        if let Some(p) = config.policy.data_dir.as_mut() {
            anchor(p);
        }
        config.credentials.iter_mut().filter_map(|c| c.secret_file.as_mut()).for_each(anchor);
        config.credentials.iter_mut().filter_map(|c| c.codex_auth_file.as_mut()).for_each(anchor);
        Ok(config)
    }

    /// Reads and checks a configuration's text; its relative paths stay as written.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// What serde cannot check.
    fn check(&self) -> Result<(), String> {
        self.check_listen(self.listen)?;
        let limits = &self.limits;
        if limits.max_connections == 0 || limits.max_connections > 1 << 20 {
            return Err("limits.max-connections must be between 1 and 1048576".to_owned());
        }
        if !(limits.header_seconds.is_finite() && (0.01..=600.0).contains(&limits.header_seconds)) {
            return Err("limits.header-seconds must be between 0.01 and 600".to_owned());
        }
        if limits.in_flight_mib == 0 || limits.in_flight_mib > 1 << 20 {
            return Err("limits.in-flight-mib must be between 1 and 1048576".to_owned());
        }
        for origin in &self.allowed_origins {
            crate::doors::check_origin_entry(origin).map_err(|e| format!("allowed-origins: {e}"))?;
        }
        for host in &self.allowed_hosts {
            crate::doors::check_host_entry(host).map_err(|e| format!("allowed-hosts: {e}"))?;
        }
        for credential in &self.credentials {
            let sources = [
                credential.secret_env.is_some(),
                credential.secret_file.is_some(),
                credential.codex_auth_file.is_some(),
            ];
            if sources.iter().filter(|named| **named).count() != 1 {
                return Err(format!(
                    "credential `{}` names its secret with exactly one of secret-env, secret-file and codex-auth-file",
                    credential.profile_id
                ));
            }
            if credential.codex_auth_file.is_some() && credential.kind != CredentialKind::Oauth {
                return Err(format!(
                    "credential `{}`: codex-auth-file holds a ChatGPT sign-in, so its kind is oauth",
                    credential.profile_id
                ));
            }
        }
        let policy = &self.policy;
        if policy.registry.is_some() {
            if policy.component.is_some() || policy.watch || policy.pin_sha256.is_some() {
                return Err("policy.registry stands alone: no component, watch or pin-sha256 beside it (a tag is \
                            watched, a digest is pinned)"
                    .to_owned());
            }
            if policy.trusted_keys.is_empty() {
                return Err("policy.registry needs policy.trusted-keys: a registry policy must be signed".to_owned());
            }
        }
        if let Some(seconds) = policy.poll_seconds {
            route_policy_oci::poll_interval(seconds).map_err(|e| format!("policy.poll-seconds: {e}"))?;
        }
        let mut names: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("model `{}` is configured twice", twice[0]));
        }
        Ok(())
    }

    /// Whether the gateway may listen on `addr`: off loopback, clients must present a key. An
    /// IPv4-mapped loopback address (`::ffff:127.0.0.1`) counts as loopback; the unspecified
    /// addresses (`0.0.0.0`, `::`) do not, since they listen on every interface.
    pub fn check_listen(&self, addr: SocketAddr) -> Result<(), String> {
        if !crate::doors::is_loopback(addr.ip()) && self.client_key_env.is_none() {
            return Err(format!(
                "listening on {addr} is reachable from other machines: set client-key-env so that clients must present a key"
            ));
        }
        Ok(())
    }

    /// The credentials as the policy sees them.
    pub fn described(&self) -> Vec<Credential> {
        self.credentials
            .iter()
            .map(|c| Credential {
                profile_id: c.profile_id.clone(),
                provider: c.provider.clone(),
                kind: c.kind,
                plan: c.plan,
            })
            .collect()
    }

    /// The configured model named `name`.
    pub fn model(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Every ref the configured models name (the metrics' model labels).
    pub fn refs(&self) -> impl Iterator<Item = String> + '_ {
        self.models.iter().flat_map(|m| std::iter::once(&m.primary).chain(&m.fallbacks)).cloned()
    }

    /// The key clients must present, read from `client-key-env`.
    pub fn client_key(&self) -> Result<Option<String>, String> {
        match &self.client_key_env {
            None => Ok(None),
            Some(var) => std::env::var(var)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .map(Some)
                .ok_or_else(|| format!("client-key-env names {var}, which is not set")),
        }
    }
}

impl CredentialEntry {
    /// The secret, read from where the entry says; `None`, with why, when it is not there.
    pub fn read_secret(&self) -> Result<String, String> {
        if let Some(var) = &self.secret_env {
            return std::env::var(var)
                .ok()
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| format!("the environment variable {var} is not set"));
        }
        if let Some(file) = &self.secret_file {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            return text
                .lines()
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("{} is empty", file.display()));
        }
        Err("no secret-env or secret-file".to_owned())
    }
}
