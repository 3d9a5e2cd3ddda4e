//! Delta snapshots: what changed between two views of the world, and how a client rebuilds the
//! new view from the old one.
//!
//! A view is the list of entities one client can see at a tick, sorted by id. The server keeps
//! the last few views it sent each client ([`History`]); the client acknowledges the newest view
//! it holds, and the next snapshot is [`diff`]ed against that one: entities new to the view in
//! full, changed fields only for the rest, and the ids that left. The client ([`Replica`])
//! [`apply`]s it to the same baseline and gets the server's view back exactly (a property test
//! holds `apply(diff(a, b), a) == b` for arbitrary views). A snapshot with `baseline == 0` is
//! complete and needs nothing.

use std::collections::VecDeque;

use crate::game::{EntityId, Replicate};
use crate::protocol::Snapshot;

/// Views a server keeps per client, and a client keeps, for delta baselines: about one second at
/// 30 snapshots/s. A client whose acknowledgements lag further than this gets full snapshots
/// until it catches up.
pub const HISTORY_LEN: usize = 32;

/// Why a snapshot could not be applied. Each means the client must stop trusting its view; it
/// should acknowledge nothing new, so the server falls back to a complete snapshot.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The snapshot is a delta against a view this client does not hold (a gap).
    #[error("snapshot {tick} is a delta against tick {baseline}, which this client does not hold")]
    MissingBaseline {
        /// The snapshot's tick.
        tick: u64,
        /// The view it needs.
        baseline: u64,
    },
    /// The snapshot is not newer than one already applied.
    #[error("snapshot {tick} is not newer than {newest}")]
    Stale {
        /// The snapshot's tick.
        tick: u64,
        /// The newest tick held.
        newest: u64,
    },
    /// A change or removal names an entity the baseline lacks, or a creation one it has.
    #[error("entity {0} does not fit the baseline")]
    Mismatch(EntityId),
    /// The lists are not in ascending id order.
    #[error("entity lists are not sorted by id")]
    Unsorted,
}

/// Appends to `created`, `changed` and `removed` what turns view `base` into view `next`. Both
/// views must be sorted by id (as [`crate::interest::TickView`] produces them).
pub fn diff<E: Replicate>(
    base: &[E],
    next: &[E],
    created: &mut Vec<E>,
    changed: &mut Vec<E::Delta>,
    removed: &mut Vec<EntityId>,
) {
    let (mut i, mut j) = (0, 0);
    while i < base.len() || j < next.len() {
        match (base.get(i), next.get(j)) {
            (Some(a), Some(b)) if a.id() == b.id() => {
                match a.diff(b) {
                    Some(d) if E::delta_is_empty(&d) => {}
                    Some(d) => changed.push(d),
                    // A different kind under the same id: replacing the entity is correct
                    // whatever the game does with its ids.
                    None => {
                        removed.push(a.id());
                        created.push(b.clone());
                    }
                }
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.id() < b.id() => {
                removed.push(a.id());
                i += 1;
            }
            (Some(a), None) => {
                removed.push(a.id());
                i += 1;
            }
            (_, Some(b)) => {
                created.push(b.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
}

fn ascending<T>(items: &[T], id: impl Fn(&T) -> EntityId) -> bool {
    items.windows(2).all(|w| id(&w[0]) < id(&w[1]))
}

/// The view `diff(base, next)` was made from: `base` with the snapshot's changes applied. Any
/// inconsistency (an unknown id, a duplicate, unsorted lists) is an error, never a panic: the
/// bytes came from the network.
pub fn apply<E: Replicate>(
    base: &[E],
    created: &[E],
    changed: &[E::Delta],
    removed: &[EntityId],
) -> Result<Vec<E>, SyncError> {
    if !ascending(created, |e| e.id())
        || !ascending(changed, |d| E::delta_id(d))
        || !ascending(removed, |r| *r)
    {
        return Err(SyncError::Unsorted);
    }
    let mut kept = Vec::with_capacity(base.len() + created.len());
    let (mut c, mut r) = (0, 0);
    for e in base {
        if removed.get(r) == Some(&e.id()) {
            r += 1;
            continue;
        }
        match changed.get(c) {
            Some(d) if E::delta_id(d) == e.id() => {
                kept.push(e.patch(d).ok_or(SyncError::Mismatch(e.id()))?);
                c += 1;
            }
            Some(d) if E::delta_id(d) < e.id() => return Err(SyncError::Mismatch(E::delta_id(d))),
            _ => kept.push(e.clone()),
        }
    }
    if let Some(d) = changed.get(c) {
        return Err(SyncError::Mismatch(E::delta_id(d)));
    }
    if let Some(id) = removed.get(r) {
        return Err(SyncError::Mismatch(*id));
    }
    // Merge the created entities into the id order.
    let mut out = Vec::with_capacity(kept.len() + created.len());
    let mut kept = kept.into_iter().peekable();
    for e in created {
        while let Some(k) = kept.next_if(|k| k.id() < e.id()) {
            out.push(k);
        }
        if kept.peek().is_some_and(|k| k.id() == e.id()) {
            return Err(SyncError::Mismatch(e.id()));
        }
        out.push(e.clone());
    }
    out.extend(kept);
    Ok(out)
}

/// The last few views sent to (server) or received by (client) one client, oldest first.
#[derive(Clone, Debug)]
pub struct History<E> {
    views: VecDeque<(u64, Vec<E>)>,
}

impl<E> Default for History<E> {
    fn default() -> Self {
        Self {
            views: VecDeque::new(),
        }
    }
}

impl<E> History<E> {
    /// Records the view of `tick`, forgetting the oldest beyond [`HISTORY_LEN`].
    pub fn push(&mut self, tick: u64, view: Vec<E>) {
        if self.views.len() == HISTORY_LEN {
            self.views.pop_front();
        }
        self.views.push_back((tick, view));
    }

    /// The view of `tick`, if still held.
    pub fn get(&self, tick: u64) -> Option<&[E]> {
        // Few entries, newest most wanted.
        self.views
            .iter()
            .rev()
            .find(|(t, _)| *t == tick)
            .map(|(_, v)| v.as_slice())
    }

    /// The newest view held.
    pub fn newest(&self) -> Option<(u64, &[E])> {
        self.views.back().map(|(t, v)| (*t, v.as_slice()))
    }

    /// Forgets views older than `tick`: once a client has acknowledged `tick`, nothing older is
    /// ever a baseline again.
    pub fn forget_before(&mut self, tick: u64) {
        while self.views.front().is_some_and(|(t, _)| *t < tick) {
            self.views.pop_front();
        }
    }

    /// Forgets everything (the next snapshot must be complete).
    pub fn clear(&mut self) {
        self.views.clear();
    }

    /// Views held.
    pub fn len(&self) -> usize {
        self.views.len()
    }

    /// True when no view is held.
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }
}

/// A client's copy of the world as the server sends it: applies each snapshot to its baseline
/// and says which tick to acknowledge.
#[derive(Clone, Debug)]
pub struct Replica<E> {
    history: History<E>,
}

impl<E> Default for Replica<E> {
    fn default() -> Self {
        Self {
            history: History::default(),
        }
    }
}

impl<E: Replicate> Replica<E> {
    /// An empty replica; the first snapshot it can use is a complete one.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a snapshot and returns the view it describes. On error the replica forgets
    /// everything, so it acknowledges nothing until a complete snapshot arrives.
    pub fn apply<V>(&mut self, snapshot: &Snapshot<E, V>) -> Result<&[E], SyncError> {
        let result = self.rebuild(snapshot);
        match result {
            Ok(view) => {
                self.history.push(snapshot.tick, view);
                self.history.forget_before(snapshot.baseline);
                Ok(self.history.newest().map_or(&[], |(_, v)| v))
            }
            Err(e) => {
                self.history.clear();
                Err(e)
            }
        }
    }

    fn rebuild<V>(&self, s: &Snapshot<E, V>) -> Result<Vec<E>, SyncError> {
        if let Some((newest, _)) = self.history.newest()
            && s.tick <= newest
        {
            return Err(SyncError::Stale {
                tick: s.tick,
                newest,
            });
        }
        let base: &[E] = if s.baseline == 0 {
            &[]
        } else {
            self.history
                .get(s.baseline)
                .ok_or(SyncError::MissingBaseline {
                    tick: s.tick,
                    baseline: s.baseline,
                })?
        };
        apply(base, &s.created, &s.changed, &s.removed)
    }

    /// The tick to acknowledge: the newest view held, 0 for none.
    pub fn ack(&self) -> u64 {
        self.history.newest().map_or(0, |(t, _)| t)
    }

    /// The newest view, sorted by id.
    pub fn view(&self) -> &[E] {
        self.history.newest().map_or(&[], |(_, v)| v)
    }

    /// One entity of the newest view.
    pub fn entity(&self, id: EntityId) -> Option<&E> {
        let view = self.view();
        view.binary_search_by_key(&id, |e| e.id())
            .ok()
            .map(|i| &view[i])
    }
}
