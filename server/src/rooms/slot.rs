//! The one-snapshot slot between a room and a session: the room's backpressure.
//!
//! The room writes each new snapshot into the player's slot and wakes the session only when
//! the slot was empty; the session takes what is there when it runs. A session that is not
//! running (its client stopped reading, so actix stopped polling it: see ACTIX-FACTS) leaves the
//! slot full, and the room *replaces* the snapshot instead of queueing another, counting the
//! skip. So one slow client costs the server one snapshot and one wake message, however long it
//! stalls, and the room, which owns the slot too, can see how long it has been stalled and drop
//! the player without the frozen session's help.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use arena_shared::game::Game;
use arena_shared::interest::TickView;
use arena_shared::protocol::RoomEventOf;

use crate::rooms::encoder::InputStatus;

/// The events of the ticks since the previous snapshot, with their ticks, shared by every
/// session that gets them.
pub type Events<G> = Arc<[(u64, RoomEventOf<G>)]>;

/// What a session sends at its next turn.
pub struct Outgoing<G: Game> {
    /// The newest tick's entities (shared by the room's sessions).
    pub view: Arc<TickView<G::Entity>>,
    /// Where the player's inputs stood at that tick.
    pub inputs: InputStatus,
    /// Events since the session's last turn, oldest first; kept across replacements because
    /// events are not state: a skipped one would be lost.
    pub events: Vec<Events<G>>,
    /// For spectators: this snapshot as every spectator of the room receives it, encoded once.
    pub shared: Option<Arc<SharedFrame>>,
}

/// One snapshot as every spectator of a room receives it (the whole room, complete, every
/// event): the first spectator session to send it encodes it, the others send the same bytes.
/// The room only creates the empty cell; it still touches no bytes.
#[derive(Debug, Default)]
pub struct SharedFrame {
    bincode: OnceLock<bytes::Bytes>,
    json: OnceLock<bytestring::ByteString>,
}

impl SharedFrame {
    /// An empty frame for one snapshot.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The binary frame, encoded by `encode` if no session has yet.
    pub fn bincode(&self, encode: impl FnOnce() -> Option<bytes::Bytes>) -> Option<bytes::Bytes> {
        if let Some(frame) = self.bincode.get() {
            return Some(frame.clone());
        }
        let frame = encode()?;
        Some(self.bincode.get_or_init(|| frame).clone())
    }

    /// The text frame, encoded by `encode` if no session has yet.
    pub fn json(
        &self,
        encode: impl FnOnce() -> Option<bytestring::ByteString>,
    ) -> Option<bytestring::ByteString> {
        if let Some(frame) = self.json.get() {
            return Some(frame.clone());
        }
        let frame = encode()?;
        Some(self.json.get_or_init(|| frame).clone())
    }
}

/// What happened to an offered snapshot.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// The slot was empty: wake the session.
    Placed,
    /// The session has not taken the previous one, which this replaced; the oldest unsent
    /// snapshot has waited this long.
    Replaced {
        /// Time since the slot was last empty.
        behind: Duration,
    },
}

struct State<G: Game> {
    pending: Option<Outgoing<G>>,
    /// When `pending` was filled after being empty.
    since: Option<Instant>,
}

/// A single-snapshot mailbox shared by a room and one session.
pub struct SnapshotSlot<G: Game> {
    state: Mutex<State<G>>,
}

impl<G: Game> SnapshotSlot<G> {
    /// An empty slot.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                pending: None,
                since: None,
            }),
        })
    }

    /// Puts a snapshot in the slot (room side).
    pub fn offer(
        &self,
        view: Arc<TickView<G::Entity>>,
        inputs: InputStatus,
        events: Option<Events<G>>,
        shared: Option<Arc<SharedFrame>>,
        now: Instant,
    ) -> Offer {
        // A panic while holding this lock cannot leave `State` half-written (every update is
        // a plain assignment), so a poisoned lock is still consistent.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut state.pending {
            Some(pending) => {
                pending.view = view;
                pending.inputs = inputs;
                pending.events.extend(events);
                // The shared frame carries only this snapshot's events, not the skipped ones:
                // a session that fell behind encodes its own.
                drop(shared);
                pending.shared = None;
                Offer::Replaced {
                    behind: state.since.map_or(Duration::ZERO, |t| now - t),
                }
            }
            None => {
                state.pending = Some(Outgoing {
                    view,
                    inputs,
                    events: events.into_iter().collect(),
                    shared,
                });
                state.since = Some(now);
                Offer::Placed
            }
        }
    }

    /// Takes the snapshot, if any (session side).
    pub fn take(&self) -> Option<Outgoing<G>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.since = None;
        state.pending.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arena_shared::EntityId;
    use arena_shared::protocol::RoomEvent;
    use arena_shared::shooter::World;
    use glam::Vec2;

    fn status(last_seq: u32) -> InputStatus {
        InputStatus {
            last_seq,
            queued: 0,
        }
    }

    fn view(tick: u64) -> Arc<TickView<arena_shared::shooter::Entity>> {
        Arc::new(TickView::new(tick, Vec::new(), Vec2::splat(100.0)))
    }

    fn events(tick: u64) -> Option<Events<World>> {
        Some(Arc::from(vec![(
            tick,
            RoomEvent::Left {
                player: EntityId(1),
            },
        )]))
    }

    #[test]
    fn a_newer_snapshot_replaces_an_unsent_one_and_keeps_its_events() {
        let slot = SnapshotSlot::<World>::new();
        let t0 = Instant::now();
        assert_eq!(
            slot.offer(view(1), status(1), events(1), None, t0),
            Offer::Placed
        );
        let later = t0 + Duration::from_millis(500);
        assert_eq!(
            slot.offer(view(2), status(2), events(2), None, later),
            Offer::Replaced {
                behind: Duration::from_millis(500)
            }
        );
        let out = slot.take().expect("one snapshot waits");
        assert_eq!(out.view.tick(), 2);
        assert_eq!(out.inputs, status(2));
        assert_eq!(out.events.len(), 2, "events of the skipped tick survive");
        assert!(slot.take().is_none());
        assert_eq!(
            slot.offer(view(3), status(3), None, None, later),
            Offer::Placed
        );
    }
}
