//! The connections a gateway holds, and the cap on them.
//!
//! A client can hold a connection without ever finishing a request (slowloris: headers sent a
//! byte at a time) or idle on a kept-alive one. Two limits keep such clients from starving the
//! others, `/healthz` included:
//!
//! - hyper's header-read timeout closes a connection whose request headers have not all
//!   arrived in time, and an idle kept-alive connection after as long;
//! - at most `max-connections` are held. At the cap, a new connection takes the place of the
//!   oldest one that is not in a request (still sending headers, or idle); when every held
//!   connection is in a request, the new one is closed at once. So a flood of half-open
//!   connections cannot lock out a client that sends a whole request.
//!
//! The process's limit on open files is raised to its hard limit at start, and the cap is
//! lowered (with a warning) if it would not leave room for the upstream connections.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The connections held, by age.
pub(crate) struct Connections {
    cap: usize,
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    next: u64,
    open: BTreeMap<u64, Slot>,
}

struct Slot {
    /// Requests of this connection under way (0 or 1 for HTTP/1.1).
    busy: Arc<AtomicUsize>,
    /// Closes the connection when sent (or dropped).
    evict: oneshot::Sender<()>,
}

/// A held connection: its place in the table, freed when dropped.
pub(crate) struct Held {
    id: u64,
    connections: Arc<Connections>,
    /// Requests under way on this connection.
    pub(crate) busy: Arc<AtomicUsize>,
    /// Resolves when the connection is evicted to make room.
    pub(crate) evicted: oneshot::Receiver<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.connections.slots.lock() {
            slots.open.remove(&self.id);
        }
    }
}

/// Marks a connection in a request from its headers until its response is sent (or dropped).
pub(crate) struct InRequest(Arc<AtomicUsize>);

impl InRequest {
    pub(crate) fn enter(busy: &Arc<AtomicUsize>) -> InRequest {
        busy.fetch_add(1, Ordering::SeqCst);
        InRequest(Arc::clone(busy))
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What became of a new connection.
pub(crate) enum Admitted {
    /// Held; another connection may have been evicted for it.
    Held { held: Held, evicted_other: bool },
    /// Every held connection is in a request: closed.
    Full,
}

impl Connections {
    /// A table of at most `cap` connections, the open-file limit raised to fit it.
    pub(crate) fn new(cap: usize) -> Arc<Connections> {
        Arc::new(Connections { cap: fit_open_files(cap), slots: Mutex::default() })
    }

    /// Admits a new connection, evicting the oldest idle one at the cap.
    pub(crate) fn admit(self: &Arc<Self>) -> Admitted {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let mut evicted_other = false;
        if slots.open.len() >= self.cap {
            let idle = slots.open.iter().find(|(_, s)| s.busy.load(Ordering::SeqCst) == 0).map(|(id, _)| *id);
            match idle.and_then(|id| slots.open.remove(&id)) {
                Some(slot) => {
                    let _ = slot.evict.send(());
                    evicted_other = true;
                }
                None => return Admitted::Full,
            }
        }
        let id = slots.next;
        slots.next += 1;
        let busy = Arc::new(AtomicUsize::new(0));
        let (evict, evicted) = oneshot::channel();
        slots.open.insert(id, Slot { busy: Arc::clone(&busy), evict });
        Admitted::Held { held: Held { id, connections: Arc::clone(self), busy, evicted }, evicted_other }
    }

    /// Connections held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.slots.lock().map(|s| s.open.len()).unwrap_or(0)
    }
}

/// Raises the soft limit on open files to the hard one, and returns a cap on connections that
/// leaves room for as many upstream connections and 64 files more.
#[cfg(unix)]
fn fit_open_files(cap: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum
        && limit.current.is_some_and(|soft| soft < hard)
    {
        limit.current = Some(hard);
        let _ = setrlimit(Resource::Nofile, limit);
        limit = getrlimit(Resource::Nofile);
    }
    let files = limit.current.map_or(usize::MAX, |soft| usize::try_from(soft).unwrap_or(usize::MAX));
    let fits = files.saturating_sub(64) / 2;
    if cap > fits {
        eprintln!(
            "route-policy gateway: {files} open files allow {fits} client connections (and as many upstream); \
             limits.max-connections = {cap} is lowered to that"
        );
        return fits.max(1);
    }
    cap
}

#[cfg(not(unix))]
fn fit_open_files(cap: usize) -> usize {
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let connections = Connections::new(2);
        let Admitted::Held { held: first, .. } = connections.admit() else { panic!("room") };
        let Admitted::Held { held: second, .. } = connections.admit() else { panic!("room") };
        let _in_request = InRequest::enter(&first.busy);
        // The first is in a request; the second is idle and goes.
        let Admitted::Held { held: third, evicted_other } = connections.admit() else { panic!("room") };
        assert!(evicted_other);
        let mut second = second;
        assert!(second.evicted.try_recv().is_ok(), "the idle one was told to close");
        drop(second);
        assert_eq!(connections.held(), 2);
        // Both held ones in a request: a newcomer is closed.
        let _busy = InRequest::enter(&third.busy);
        assert!(matches!(connections.admit(), Admitted::Full));
        drop(_busy);
        drop(third);
        assert!(matches!(connections.admit(), Admitted::Held { evicted_other: false, .. }));
    }
}
