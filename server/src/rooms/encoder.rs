//! One client's snapshot encoder: cuts the client's view out of the room's shared
//! [`TickView`], diffs it against the newest view the client acknowledged, and encodes it.
//!
//! Pure and synchronous: the session calls it when it runs, so the cost of a client (its view
//! query, its diff, its bytes) is paid on that client's turn, and a client that is not reading
//! costs nothing here. The room builds one [`TickView`] per snapshot for all of them.

use arena_shared::encoding::Encoding;
use arena_shared::game::{EntityId, Game, Replicate};
use arena_shared::interest::TickView;
use arena_shared::protocol::{EncodeError, RoomEvent, RoomEventOf, SnapshotParts};
use arena_shared::sync::{self, History};
use glam::Vec2;

/// Where one player's inputs stand when a snapshot is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputStatus {
    /// The newest input applied.
    pub last_seq: u32,
    /// Inputs waiting for later ticks (saturating at 255).
    pub queued: u8,
}

/// What an encoded snapshot was, for metrics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The tick it was a delta against; 0 = complete.
    pub baseline: u64,
    /// Entities in the client's view.
    pub visible: usize,
}

/// Whether a client whose player is `me` and who sees `visible` (sorted by id) should hear of
/// `event`. Joins, leaves and chat concern the whole room (roster, chat log); the game decides
/// for its own events ([`Game::event_relevant`]).
fn wants<G: Game>(me: EntityId, visible: &[G::Entity], event: &RoomEventOf<G>) -> bool {
    match event {
        RoomEvent::Joined { .. } | RoomEvent::Left { .. } | RoomEvent::Chat { .. } => true,
        RoomEvent::Game(e) => G::event_relevant(e, me, &|id| {
            visible.binary_search_by_key(&id, |e| e.id()).is_ok()
        }),
    }
}

/// Encodes one client's snapshots.
pub struct SnapshotEncoder<G: Game> {
    player: EntityId,
    /// bincode or JSON.
    encoding: Encoding,
    /// Half the view box; `None` = full snapshots (every entity, no deltas).
    half_view: Option<Vec2>,
    /// Views sent and not yet superseded by an acknowledgement: the possible baselines.
    history: History<G::Entity>,
    /// The newest tick the client said it holds; 0 = none.
    acked: u64,
    /// Reused between snapshots, so a steady state allocates only the view it keeps.
    scratch: Vec<usize>,
    created: Vec<G::Entity>,
    changed: Vec<<G::Entity as Replicate>::Delta>,
    removed: Vec<EntityId>,
}

impl<G: Game> SnapshotEncoder<G> {
    /// An encoder for `player`, whose view is a `view` (width, height) box around it, or the
    /// whole world in full every time when `None` (also spectators: player 0).
    pub fn new(player: EntityId, view: Option<(f32, f32)>, encoding: Encoding) -> Self {
        Self {
            player,
            encoding,
            half_view: view.map(|(w, h)| Vec2::new(w, h) / 2.0),
            history: History::default(),
            acked: 0,
            scratch: Vec::new(),
            created: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// The client holds the view of `tick` (0: it holds nothing and needs a complete snapshot).
    /// Later snapshots are deltas against it while it is in the history.
    pub fn acknowledge(&mut self, tick: u64) {
        self.acked = tick;
        if tick != 0 {
            self.history.forget_before(tick);
        }
    }

    /// Appends to `out` the snapshot of `view` for this client, carrying those of `events`
    /// (the room's, since the previous snapshot) it should hear of: with a view box, the game's
    /// [`Game::event_relevant`] decides for its own events; with full snapshots, every event
    /// goes to everyone.
    pub fn encode<'e>(
        &mut self,
        view: &TickView<G::Entity>,
        inputs: InputStatus,
        events: impl IntoIterator<Item = &'e (u64, RoomEventOf<G>)>,
        out: &mut Vec<u8>,
    ) -> Result<Encoded, EncodeError> {
        let Some(half) = self.half_view else {
            let all = view.entities();
            let events: Vec<_> = events.into_iter().collect();
            let parts = SnapshotParts {
                tick: view.tick(),
                baseline: 0,
                last_input_seq: inputs.last_seq,
                queued_inputs: inputs.queued,
                created: all,
                changed: &[],
                removed: &[],
                events: &events,
            };
            self.encoding.encode_snapshot_into(parts, out)?;
            return Ok(Encoded {
                baseline: 0,
                visible: all.len(),
            });
        };
        // Dead players keep their entity, so the view follows them where they fell.
        let centre = view
            .entity(self.player)
            .map_or(Vec2::ZERO, |e| e.position());
        let mut visible = Vec::with_capacity(self.history.newest().map_or(16, |(_, v)| v.len()));
        view.in_view(centre, half, self.player, &mut self.scratch, &mut visible);
        let (baseline, base) = match self.history.get(self.acked) {
            Some(base) if self.acked != 0 => (self.acked, base),
            _ => (0, &[][..]),
        };
        self.created.clear();
        self.changed.clear();
        self.removed.clear();
        sync::diff(
            base,
            &visible,
            &mut self.created,
            &mut self.changed,
            &mut self.removed,
        );
        let events: Vec<_> = events
            .into_iter()
            .filter(|(_, e)| wants::<G>(self.player, &visible, e))
            .collect();
        let parts = SnapshotParts {
            tick: view.tick(),
            baseline,
            last_input_seq: inputs.last_seq,
            queued_inputs: inputs.queued,
            created: &self.created,
            changed: &self.changed,
            removed: &self.removed,
            events: &events,
        };
        self.encoding.encode_snapshot_into(parts, out)?;
        let encoded = Encoded {
            baseline,
            visible: visible.len(),
        };
        self.history.push(view.tick(), visible);
        Ok(encoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arena_shared::protocol::{SERVER_DECODE_LIMIT, decode_server};
    use arena_shared::shooter::{Entity, EntityKind, GameEvent, ServerMsg, World};
    use arena_shared::sync::Replica;

    fn status(last_seq: u32) -> InputStatus {
        InputStatus {
            last_seq,
            queued: 0,
        }
    }

    fn player(id: u32, x: f32) -> Entity {
        Entity {
            id: EntityId(id),
            pos: Vec2::new(x, 100.0),
            vel: Vec2::ZERO,
            kind: EntityKind::Player {
                aim: 0,
                health: 100,
                score: 0,
                deaths: 0,
                alive: true,
            },
        }
    }

    fn tick(t: u64, me_x: f32) -> TickView<Entity> {
        // Player 1 moves; 2 is near it, 3 far away.
        let entities = vec![player(1, me_x), player(2, 150.0), player(3, 3900.0)];
        TickView::new(t, entities, Vec2::new(4000.0, 1000.0))
    }

    fn receive(replica: &mut Replica<Entity>, bytes: &[u8]) -> (u64, Vec<EntityId>) {
        let decoded: Result<ServerMsg, _> = decode_server(bytes, SERVER_DECODE_LIMIT);
        let Ok(ServerMsg::Snapshot(s)) = decoded else {
            panic!("a snapshot");
        };
        let baseline = s.baseline;
        let view = replica.apply(&s).expect("applies");
        (baseline, view.iter().map(|e| e.id).collect())
    }

    #[test]
    fn deltas_follow_acknowledgements_and_the_view_box() {
        let mut enc =
            SnapshotEncoder::<World>::new(EntityId(1), Some((1000.0, 1000.0)), Encoding::Bincode);
        let mut client = Replica::new();
        let mut out = Vec::new();

        enc.encode(&tick(1, 100.0), status(0), &[], &mut out)
            .expect("encodes");
        let (baseline, ids) = receive(&mut client, &out);
        assert_eq!(baseline, 0, "nothing acknowledged yet: complete");
        assert_eq!(ids, [EntityId(1), EntityId(2)], "player 3 is out of view");

        // Unacknowledged: still complete.
        out.clear();
        enc.encode(&tick(2, 110.0), status(0), &[], &mut out)
            .expect("encodes");
        assert_eq!(receive(&mut client, &out).0, 0);

        enc.acknowledge(client.ack());
        out.clear();
        enc.encode(&tick(3, 3500.0), status(0), &[], &mut out)
            .expect("encodes");
        let (baseline, ids) = receive(&mut client, &out);
        assert_eq!(baseline, 2, "a delta against the acknowledged view");
        assert_eq!(
            ids,
            [EntityId(1), EntityId(3)],
            "2 left the view, 3 entered"
        );

        // The client lost track (acknowledges nothing): complete again.
        enc.acknowledge(0);
        out.clear();
        enc.encode(&tick(4, 3500.0), status(0), &[], &mut out)
            .expect("encodes");
        assert_eq!(receive(&mut Replica::new(), &out).0, 0);
    }

    #[test]
    fn hits_and_respawns_out_of_view_are_left_out() {
        let hit = |shooter, victim| {
            RoomEvent::Game(GameEvent::Hit {
                shooter: EntityId(shooter),
                victim: EntityId(victim),
                damage: 10,
                health: 90,
                at: glam::Vec2::ZERO,
            })
        };
        let respawn = |p| {
            RoomEvent::Game(GameEvent::Respawned {
                player: EntityId(p),
                pos: Vec2::ZERO,
            })
        };
        let killed = RoomEvent::Game(GameEvent::Killed {
            killer: EntityId(3),
            victim: EntityId(4),
        });
        // Player 1 sees 2, not 3.
        let events: Vec<(u64, RoomEventOf<World>)> = [
            hit(2, 1),  // on me
            hit(1, 3),  // my own shot, even out of view
            hit(3, 2),  // on someone I see
            hit(2, 3),  // far away: left out
            respawn(2), // in view
            respawn(3), // far away: left out
            killed,     // the kill feed is room-wide
        ]
        .into_iter()
        .map(|e| (1, e))
        .collect();
        let sent = |view| {
            let mut enc = SnapshotEncoder::<World>::new(EntityId(1), view, Encoding::Bincode);
            let mut out = Vec::new();
            enc.encode(&tick(1, 100.0), status(0), &events, &mut out)
                .expect("encodes");
            let decoded: Result<ServerMsg, _> = decode_server(&out, SERVER_DECODE_LIMIT);
            match decoded {
                Ok(ServerMsg::Snapshot(s)) => s.events,
                other => panic!("a snapshot: {other:?}"),
            }
        };
        let boxed = sent(Some((1000.0, 1000.0)));
        let mut expected = events.clone();
        expected.remove(5);
        expected.remove(3);
        assert_eq!(boxed, expected);
        assert_eq!(sent(None), events, "full snapshots: every event");
    }

    #[test]
    fn full_mode_sends_every_entity_complete() {
        let mut enc = SnapshotEncoder::<World>::new(EntityId(1), None, Encoding::Bincode);
        enc.acknowledge(1);
        let mut out = Vec::new();
        let sent = enc
            .encode(&tick(2, 100.0), status(7), &[], &mut out)
            .expect("encodes");
        assert_eq!(
            sent,
            Encoded {
                baseline: 0,
                visible: 3
            }
        );
        let (baseline, ids) = receive(&mut Replica::new(), &out);
        assert_eq!((baseline, ids.len()), (0, 3));
    }
}
