//! A policy that comes from a registry: pinned by digest, or watched by tag, with the last good
//! one kept on disk and a status that says what is serving and why.
//!
//! [`RegistrySource::start`] gives the first policy:
//! - the last good artifact of this reference, if the store has one (checked as a pull is), and
//!   then a first poll: a `304`, or the new digest verified and offered;
//! - otherwise a pull from the registry, which must succeed.
//!
//! [`RegistrySource::poll`] asks whether the tag moved (`If-None-Match`, `304`) and, when it
//! did, pulls the new digest, checks its digest and signature, loads it, checks that its
//! annotations agree with the component, and offers it to the [`PolicyHost`], which runs the
//! canary and refuses a rollback. Only then is it kept as last good. A refused candidate
//! leaves the serving policy in place; the status and the report say why.

use crate::artifact::{self, Shape};
use crate::error::{Error, Reason, Refusal};
use crate::reference::OciRef;
use crate::registry::{Pulled, Registry, TagState};
use crate::store::Store;
use route_policy_host::{Engine, Policy, PolicyHost, ReloadOptions, Step};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The default time between two polls of a watched tag.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// A poll interval from seconds: above 0, at most a day; the error says so.
pub fn poll_interval(seconds: f64) -> Result<Duration, String> {
    if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!("{seconds} seconds between polls: give a number of seconds above 0, at most a day"))
    }
}

/// How many refused candidates a source remembers, not to count them twice.
const REMEMBERED_REFUSALS: usize = 8;

/// The longest a pull (manifest, signatures, component) may take before the registry counts
/// as unreachable: a registry that trickles bytes cannot hold a watch forever.
pub const PULL_TIMEOUT: Duration = Duration::from_secs(120);

async fn timeout<T>(at: &OciRef, pull: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::time::timeout(PULL_TIMEOUT, pull).await.unwrap_or_else(|_| {
        Err(Error::Registry {
            registry: at.registry.clone(),
            message: format!("{at}: no complete pull within {PULL_TIMEOUT:?}"),
        })
    })
}

/// Where the serving policy came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Pulled from the registry and verified.
    Registry,
    /// Read back from the last-good store and verified again.
    LastGood,
}

impl Origin {
    /// The origin's word (a metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Registry => "registry",
            Origin::LastGood => "last-good",
        }
    }
}

/// What one poll did.
#[derive(Clone, Debug)]
pub enum Event {
    /// A new policy serves.
    Activated {
        /// It.
        policy: Arc<Policy>,
        /// Its artifact's digest.
        digest: String,
        /// Where it came from.
        origin: Origin,
    },
    /// The tag names what serves.
    Unchanged,
    /// The candidate was refused; the serving policy stays.
    Refused(Refusal),
    /// The tag still names a candidate refused before for the same reason: not counted again
    /// (and, when the reason cannot change, such as a rollback or a component that does not
    /// load, not even pulled again).
    StillRefused(Refusal),
    /// The registry could not be asked; the serving policy stays.
    Unreachable(String),
}

impl Event {
    /// The line a host logs for this event, if any (an unchanged tag says nothing).
    pub fn log_line(&self) -> Option<String> {
        match self {
            Event::Activated { policy, origin, .. } => {
                Some(format!("activated {} from the {}", policy.id(), origin.as_str()))
            }
            Event::Refused(refusal) => Some(format!("rejected: {refusal}; the serving policy stays")),
            Event::Unreachable(why) => Some(format!("registry unreachable: {why}; the serving policy stays")),
            Event::Unchanged | Event::StillRefused(_) => None,
        }
    }
}

/// What a host reports about its registry policy (`GET /status`, `serve --status FILE`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    /// The reference watched or pinned.
    pub source: String,
    /// What serves.
    pub active: Option<Active>,
    /// The last poll of the tag.
    pub last_poll: Option<Poll>,
    /// The last refused candidate.
    pub last_refusal: Option<RefusalRecord>,
    /// Activations so far, by origin.
    pub activations: BTreeMap<String, u64>,
    /// Refusals so far, by reason.
    pub refusals: BTreeMap<String, u64>,
    /// Set when the serving artifact could not be kept on disk (a restart with the registry
    /// down would serve an older one).
    pub last_good_error: Option<String>,
}

/// The serving artifact.
#[derive(Clone, Debug, Serialize)]
pub struct Active {
    /// `oci://…@sha256:…`.
    pub artifact: String,
    /// Its manifest digest.
    pub digest: String,
    /// `policy-info.revision`.
    pub revision: String,
    /// `policy-info.rules-digest`.
    pub rules_digest: String,
    /// Registry or last-good.
    pub origin: Origin,
    /// When it was activated (HTTP date).
    pub activated_at: String,
    /// The same, in milliseconds since the epoch.
    pub activated_unix_ms: u64,
}

/// One poll.
#[derive(Clone, Debug, Serialize)]
pub struct Poll {
    /// When (HTTP date).
    pub at: String,
    /// `activated`, `unchanged`, `refused` or `unreachable`.
    pub outcome: &'static str,
    /// What happened, in a sentence.
    pub detail: String,
}

/// A refusal, as status shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RefusalRecord {
    /// When (HTTP date).
    pub at: String,
    /// The artifact refused.
    pub artifact: String,
    /// The reason's word.
    pub reason: &'static str,
    /// What was wrong.
    pub message: String,
}

/// A policy from a registry.
pub struct RegistrySource {
    reference: OciRef,
    registry: Registry,
    store: Store,
    status: Mutex<Status>,
    /// The ETag of the serving artifact's tag.
    etag: Mutex<Option<String>>,
    /// The last refused candidates (at most [`REMEMBERED_REFUSALS`], one per artifact).
    refused: Mutex<std::collections::VecDeque<Refusal>>,
}

impl RegistrySource {
    /// A source for `reference` (`oci://…:TAG` to watch, `oci://…@sha256:…` to pin), keeping
    /// the last good artifact under `data_dir`.
    pub fn new(reference: OciRef, data_dir: &Path) -> Result<RegistrySource, Error> {
        let store = Store::open(data_dir)?;
        let status = Status { source: reference.to_string(), ..Status::default() };
        Ok(RegistrySource {
            registry: Registry::new(&reference),
            reference,
            store,
            status: Mutex::new(status),
            etag: Mutex::new(None),
            refused: Mutex::new(std::collections::VecDeque::new()),
        })
    }

    /// The reference.
    pub fn reference(&self) -> &OciRef {
        &self.reference
    }

    /// Whether the reference names a tag to watch.
    pub fn watches(&self) -> bool {
        self.reference.digest.is_none()
    }

    /// The status now.
    pub fn status(&self) -> Status {
        self.status.lock().expect("not poisoned").clone()
    }

    /// The first policy, and the host that serves it. `options.trust` must trust a key.
    pub async fn start(&self, engine: Engine, options: ReloadOptions) -> Result<(PolicyHost, Vec<Event>), Error> {
        if !options.trust.has_keys() {
            return Err(Error::Reference {
                reference: self.reference.to_string(),
                reason: "a registry policy needs a trusted key (--trusted-key): its signature is checked".to_owned(),
            });
        }
        let mut events = Vec::new();
        // The last good artifact, for a tag; the pinned one itself, for a digest. Anything
        // wrong with it (unreadable, changed on disk, refused by a check) is reported, and the
        // registry is asked instead.
        let stored = match (&self.reference.digest, self.store.record(&self.reference)) {
            (Some(digest), _) => Some((digest.clone(), None)),
            (None, Ok(Some(record))) => Some((record.digest, record.etag)),
            (None, Ok(None)) => None,
            (None, Err(e)) => {
                events.push(self.refused(self.store_refusal(&e)));
                None
            }
        };
        if let Some((digest, etag)) = stored {
            match self.last_good(&engine, &options, &digest) {
                Ok(Some((host, pulled))) => {
                    *self.etag.lock().expect("not poisoned") = etag;
                    events.push(self.activated(&host.current(), &pulled, Origin::LastGood));
                    if self.watches() {
                        events.push(self.poll(&host).await);
                    }
                    return Ok((host, events));
                }
                Ok(None) => {}
                Err(refusal) => events.push(self.refused(refusal)),
            }
        }
        // Nothing usable on disk: the registry must answer. If it cannot, the error says why
        // the last good copy could not serve either.
        let from_registry = async {
            let digest = match &self.reference.digest {
                Some(digest) => digest.clone(),
                None => match self.registry.tag(&self.reference, None).await? {
                    TagState::Names { digest, etag } => {
                        *self.etag.lock().expect("not poisoned") = Some(etag);
                        digest
                    }
                    TagState::NotModified => unreachable!("a 304 answers only an If-None-Match"),
                },
            };
            let at = self.reference.at(&digest);
            let (pulled, shape) = timeout(&at, self.registry.pull(&at, &options.trust)).await?;
            Ok::<_, Error>((load(&engine, &pulled, &shape)?, pulled))
        };
        let (policy, pulled) = match from_registry.await {
            Ok(found) => found,
            Err(Error::Registry { registry, message }) if !events.is_empty() => {
                let last = self.status().last_refusal.map(|r| r.message).unwrap_or_default();
                return Err(Error::Registry {
                    registry,
                    message: format!("{message}; and the last good copy could not serve: {last}"),
                });
            }
            Err(e) => return Err(e),
        };
        let host = PolicyHost::new(engine, policy, options).map_err(|e| Refusal::load(&pulled.artifact, e))?;
        self.keep(&pulled, self.etag.lock().expect("not poisoned").clone().as_deref());
        events.push(self.activated(&host.current(), &pulled, Origin::Registry));
        Ok((host, events))
    }

    /// A host serving the kept artifact `digest`, checked again, loaded, and its canary
    /// passed; `None` if none is kept.
    fn last_good(
        &self,
        engine: &Engine,
        options: &ReloadOptions,
        digest: &str,
    ) -> Result<Option<(PolicyHost, Pulled)>, Refusal> {
        let (pulled, shape) = match self.store.artifact(&self.reference, digest, &options.trust) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(Error::Refused(refusal)) => return Err(refusal),
            Err(e) => return Err(self.store_refusal(&e)),
        };
        let policy = load(engine, &pulled, &shape)?;
        let host =
            PolicyHost::new(engine.clone(), policy, options.clone()).map_err(|e| Refusal::load(&pulled.artifact, e))?;
        Ok(Some((host, pulled)))
    }

    fn store_refusal(&self, error: &Error) -> Refusal {
        Refusal {
            reason: Reason::Store,
            artifact: format!("the last good copy of {}", self.reference),
            message: error.to_string(),
        }
    }

    /// Keeps an activated artifact as last good; a failure is shown in the status (a restart
    /// with the registry down would serve the older copy).
    fn keep(&self, pulled: &Pulled, etag: Option<&str>) {
        if let Err(e) = self.store.keep(&self.reference, pulled, etag) {
            self.status.lock().expect("not poisoned").last_good_error =
                Some(format!("{} serves but could not be kept as the last good policy: {e}", pulled.artifact));
        } else {
            self.status.lock().expect("not poisoned").last_good_error = None;
        }
    }

    /// Polls the tag once and activates what it names now, if that passes every check.
    pub async fn poll(&self, host: &PolicyHost) -> Event {
        let etag = self.etag.lock().expect("not poisoned").clone();
        let event = match timeout(&self.reference, self.registry.tag(&self.reference, etag.as_deref())).await {
            Ok(TagState::NotModified) => Event::Unchanged,
            Ok(TagState::Names { digest, etag }) if self.serving(&digest) => {
                *self.etag.lock().expect("not poisoned") = Some(etag);
                Event::Unchanged
            }
            Ok(TagState::Names { digest, .. }) if self.refused_for_good(&digest).is_some() => {
                let refusal = self.refused_for_good(&digest).expect("just seen");
                let detail = format!("the tag still names {}, refused: {}", digest, refusal.message);
                self.status.lock().expect("not poisoned").last_poll =
                    Some(Poll { at: now().0, outcome: "refused", detail });
                return Event::StillRefused(refusal);
            }
            Ok(TagState::Names { digest, etag }) => match self.candidate(host, &digest).await {
                Ok((policy, pulled)) => {
                    *self.etag.lock().expect("not poisoned") = Some(etag.clone());
                    self.keep(&pulled, Some(&etag));
                    return self.activated(&policy, &pulled, Origin::Registry);
                }
                Err(Error::Refused(refusal)) => return self.refused_candidate(refusal),
                Err(e) => Event::Unreachable(e.to_string()),
            },
            Err(Error::Refused(refusal)) => return self.refused_candidate(refusal),
            Err(e) => Event::Unreachable(e.to_string()),
        };
        let (outcome, detail) = match &event {
            Event::Unchanged => ("unchanged", "the tag names the serving artifact".to_owned()),
            Event::Unreachable(why) => ("unreachable", format!("{why}; the serving policy stays")),
            _ => unreachable!("returned above"),
        };
        self.status.lock().expect("not poisoned").last_poll = Some(Poll { at: now().0, outcome, detail });
        event
    }

    /// Keeps polling every `interval` until the returned guard is dropped; each event goes to
    /// `report` (after the status is updated).
    pub fn watch(
        self: &Arc<Self>,
        host: Arc<PolicyHost>,
        interval: Duration,
        report: impl Fn(&Event) + Send + Sync + 'static,
    ) -> Watching {
        let source = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                report(&source.poll(&host).await);
            }
        });
        Watching(task)
    }

    async fn candidate(&self, host: &PolicyHost, digest: &str) -> Result<(Arc<Policy>, Pulled), Error> {
        let at = self.reference.at(digest);
        let (pulled, shape) = timeout(&at, self.registry.pull(&at, &host.options().trust)).await?;
        // Compiling takes a while (about half a second): off the runtime's workers where it can
        // be, so that a gateway keeps answering meanwhile.
        let activate = || {
            let policy = load(host.engine(), &pulled, &shape)?;
            host.offer(policy).map_err(|e| Refusal::load(&pulled.artifact, e))
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let policy = if multi_thread { tokio::task::block_in_place(activate) } else { activate() }?;
        Ok((policy, pulled))
    }

    /// The refusal of `digest`, if it was refused for a reason that cannot change while the
    /// host serves what it serves: the artifact's shape or annotations, a component that does
    /// not compile or type-check, a rollback. (Digest mismatches describe one response,
    /// signatures may be added, and the canary and `policy-info` run under a deadline: those
    /// are checked again at the next poll.)
    fn refused_for_good(&self, digest: &str) -> Option<Refusal> {
        let refused = self.refused.lock().expect("not poisoned");
        let artifact = self.reference.at(digest).to_string();
        let refusal = refused.iter().find(|r| r.artifact == artifact)?;
        let lasting = matches!(
            refusal.reason,
            Reason::Artifact
                | Reason::Annotation
                | Reason::Load(Step::Compile | Step::Imports | Step::World | Step::Rollback)
        );
        lasting.then(|| refusal.clone())
    }

    /// Records a candidate's refusal; the same artifact refused for the same reason again is
    /// reported as still refused, not counted twice.
    fn refused_candidate(&self, refusal: Refusal) -> Event {
        let mut refused = self.refused.lock().expect("not poisoned");
        let again = refused.iter().any(|r| r.artifact == refusal.artifact && r.reason == refusal.reason);
        refused.retain(|r| r.artifact != refusal.artifact);
        refused.push_back(refusal.clone());
        if refused.len() > REMEMBERED_REFUSALS {
            refused.pop_front();
        }
        drop(refused);
        if again {
            let detail = format!("still refused: {refusal}");
            self.status.lock().expect("not poisoned").last_poll =
                Some(Poll { at: now().0, outcome: "refused", detail });
            return Event::StillRefused(refusal);
        }
        self.refused(refusal)
    }

    fn serving(&self, digest: &str) -> bool {
        self.status.lock().expect("not poisoned").active.as_ref().is_some_and(|active| active.digest == digest)
    }

    fn activated(&self, policy: &Arc<Policy>, pulled: &Pulled, origin: Origin) -> Event {
        let (at, unix_ms) = now();
        let mut status = self.status.lock().expect("not poisoned");
        *status.activations.entry(origin.as_str().to_owned()).or_default() += 1;
        status.active = Some(Active {
            artifact: pulled.artifact.clone(),
            digest: pulled.digest.clone(),
            revision: policy.id().revision.clone(),
            rules_digest: policy.id().rules_digest.clone(),
            origin,
            activated_at: at.clone(),
            activated_unix_ms: unix_ms,
        });
        let detail = match origin {
            Origin::Registry => format!("activated {}", pulled.artifact),
            Origin::LastGood => {
                format!("serving the last good {} from {}", pulled.artifact, self.store.path().display())
            }
        };
        status.last_poll = Some(Poll { at, outcome: "activated", detail });
        Event::Activated { policy: Arc::clone(policy), digest: pulled.digest.clone(), origin }
    }

    fn refused(&self, refusal: Refusal) -> Event {
        let (at, _) = now();
        let mut status = self.status.lock().expect("not poisoned");
        *status.refusals.entry(refusal.reason.as_str().to_owned()).or_default() += 1;
        status.last_poll = Some(Poll { at: at.clone(), outcome: "refused", detail: refusal.to_string() });
        status.last_refusal = Some(RefusalRecord {
            at,
            artifact: refusal.artifact.clone(),
            reason: refusal.reason.as_str(),
            message: refusal.message.clone(),
        });
        Event::Refused(refusal)
    }
}

/// Where a host keeps what it must remember across restarts: `$XDG_STATE_HOME/route-policy`,
/// else `~/.local/state/route-policy`.
pub fn default_data_dir() -> Result<std::path::PathBuf, String> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| std::path::PathBuf::from(h).join(".local/state"))
        })
        .ok_or("neither XDG_STATE_HOME nor HOME is set: name a data directory")?;
    Ok(state.join("route-policy"))
}

/// Stops a [`RegistrySource::watch`] when dropped.
pub struct Watching(tokio::task::JoinHandle<()>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Loads a checked artifact's component and checks that its annotations agree with it.
fn load(engine: &Engine, pulled: &Pulled, shape: &Shape) -> Result<Policy, Refusal> {
    let policy = Policy::from_bytes(engine, &pulled.wasm, pulled.artifact.clone())
        .map_err(|e| Refusal::load(&pulled.artifact, e))?;
    artifact::agree(&pulled.artifact, shape, policy.id())?;
    Ok(policy)
}

fn now() -> (String, u64) {
    let now = SystemTime::now();
    let ms = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    (httpdate::fmt_http_date(now), ms)
}
