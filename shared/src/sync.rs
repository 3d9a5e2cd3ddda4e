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
use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::protocol::Snapshot;
use crate::quant::{pos_from_wire, pos_to_wire};
use crate::quant::{vel_from_wire, vel_to_wire};
use crate::snapshot::{Entity, EntityKind};
use crate::world::EntityId;

/// Views a server keeps per client, and a client keeps, for delta baselines: about one second at
/// 30 snapshots/s. A client whose acknowledgements lag further than this gets full snapshots
/// until it catches up.
pub const HISTORY_LEN: usize = 32;

/// The fields of one entity that changed since the baseline; `None` = unchanged. Positions and
/// velocities are differences in wire steps (small numbers, so one or two bytes each).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntityDelta {
    /// Which entity; it must be in the baseline.
    pub id: EntityId,
    /// Position change, in 1/8 units.
    pub pos: Option<(i32, i32)>,
    /// Velocity change, in 1/8 units/s.
    pub vel: Option<(i32, i32)>,
    /// New aim angle (players).
    pub aim: Option<u16>,
    /// New health (players).
    pub health: Option<u8>,
    /// New score (players).
    pub score: Option<u32>,
    /// New death count (players).
    pub deaths: Option<u32>,
    /// New alive flag (players).
    pub alive: Option<bool>,
}

const F_POS: u8 = 1;
const F_VEL: u8 = 2;
const F_AIM: u8 = 4;
const F_HEALTH: u8 = 8;
const F_SCORE: u8 = 16;
const F_DEATHS: u8 = 32;
const F_ALIVE: u8 = 64;

impl EntityDelta {
    fn mask(&self) -> u8 {
        let bit = |present: bool, f: u8| if present { f } else { 0 };
        bit(self.pos.is_some(), F_POS)
            | bit(self.vel.is_some(), F_VEL)
            | bit(self.aim.is_some(), F_AIM)
            | bit(self.health.is_some(), F_HEALTH)
            | bit(self.score.is_some(), F_SCORE)
            | bit(self.deaths.is_some(), F_DEATHS)
            | bit(self.alive.is_some(), F_ALIVE)
    }

    fn is_empty(&self) -> bool {
        self.mask() == 0
    }
}

/// On the wire: `(id, mask, present fields in order)`. A bitmask costs one byte where seven
/// `Option` tags would cost seven; an idle player costs nothing (it is not listed).
impl Serialize for EntityDelta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mask = self.mask();
        let mut t = s.serialize_tuple(2 + mask.count_ones() as usize)?;
        t.serialize_element(&self.id)?;
        t.serialize_element(&mask)?;
        if let Some(v) = &self.pos {
            t.serialize_element(v)?;
        }
        if let Some(v) = &self.vel {
            t.serialize_element(v)?;
        }
        if let Some(v) = &self.aim {
            t.serialize_element(v)?;
        }
        if let Some(v) = &self.health {
            t.serialize_element(v)?;
        }
        if let Some(v) = &self.score {
            t.serialize_element(v)?;
        }
        if let Some(v) = &self.deaths {
            t.serialize_element(v)?;
        }
        if let Some(v) = &self.alive {
            t.serialize_element(v)?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for EntityDelta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EntityDelta;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an entity delta (id, field mask, fields)")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntityDelta, A::Error> {
                let missing = || de::Error::custom("entity delta is missing a field");
                let id: EntityId = seq.next_element()?.ok_or_else(missing)?;
                let mask: u8 = seq.next_element()?.ok_or_else(missing)?;
                if mask & 0x80 != 0 {
                    return Err(de::Error::custom("entity delta has an unknown field bit"));
                }
                let mut delta = EntityDelta {
                    id,
                    ..EntityDelta::default()
                };
                if mask & F_POS != 0 {
                    delta.pos = Some(seq.next_element()?.ok_or_else(missing)?);
                }
                if mask & F_VEL != 0 {
                    delta.vel = Some(seq.next_element()?.ok_or_else(missing)?);
                }
                if mask & F_AIM != 0 {
                    delta.aim = Some(seq.next_element()?.ok_or_else(missing)?);
                }
                if mask & F_HEALTH != 0 {
                    delta.health = Some(seq.next_element()?.ok_or_else(missing)?);
                }
                if mask & F_SCORE != 0 {
                    delta.score = Some(seq.next_element()?.ok_or_else(missing)?);
                }
                if mask & F_DEATHS != 0 {
                    delta.deaths = Some(seq.next_element()?.ok_or_else(missing)?);
                }
                if mask & F_ALIVE != 0 {
                    delta.alive = Some(seq.next_element()?.ok_or_else(missing)?);
                }
                Ok(delta)
            }
        }
        // The longest form: id, mask and all seven fields. Binary formats read only what the
        // mask lists; self-describing ones carry exactly that many elements.
        d.deserialize_tuple(9, V)
    }
}

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
pub fn diff(
    base: &[Entity],
    next: &[Entity],
    created: &mut Vec<Entity>,
    changed: &mut Vec<EntityDelta>,
    removed: &mut Vec<EntityId>,
) {
    let (mut i, mut j) = (0, 0);
    while i < base.len() || j < next.len() {
        match (base.get(i), next.get(j)) {
            (Some(a), Some(b)) if a.id == b.id => {
                match field_delta(a, b) {
                    Some(d) if d.is_empty() => {}
                    Some(d) => changed.push(d),
                    // A different kind under the same id cannot happen (ids are never reused
                    // while alive), but if it did, replacing the entity is still correct.
                    None => {
                        removed.push(a.id);
                        created.push(b.clone());
                    }
                }
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.id < b.id => {
                removed.push(a.id);
                i += 1;
            }
            (Some(a), None) => {
                removed.push(a.id);
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

fn sub((ax, ay): (i32, i32), (bx, by): (i32, i32)) -> (i32, i32) {
    (bx.wrapping_sub(ax), by.wrapping_sub(ay))
}

fn add((ax, ay): (i32, i32), (dx, dy): (i32, i32)) -> (i32, i32) {
    (ax.wrapping_add(dx), ay.wrapping_add(dy))
}

/// The changed fields of `b` against `a` (same id); `None` when the kinds differ.
fn field_delta(a: &Entity, b: &Entity) -> Option<EntityDelta> {
    fn changed<T: PartialEq>(x: T, y: T) -> Option<T> {
        (x != y).then_some(y)
    }
    let mut d = EntityDelta {
        id: b.id,
        ..EntityDelta::default()
    };
    // Equal floats have equal wire forms, and most entities keep most fields from one tick to
    // the next: compare first, convert (round, atan2) only what moved.
    if a.pos != b.pos {
        let (pa, pb) = (pos_to_wire(a.pos), pos_to_wire(b.pos));
        d.pos = (pa != pb).then(|| sub(pa, pb));
    }
    if a.vel != b.vel {
        let (va, vb) = (vel_to_wire(a.vel), vel_to_wire(b.vel));
        d.vel = (va != vb).then(|| sub(va, vb));
    }
    match (&a.kind, &b.kind) {
        (
            EntityKind::Player {
                aim: a_aim,
                health: a_health,
                score: a_score,
                deaths: a_deaths,
                alive: a_alive,
            },
            EntityKind::Player {
                aim,
                health,
                score,
                deaths,
                alive,
            },
        ) => {
            d.aim = changed(*a_aim, *aim);
            d.health = changed(*a_health, *health);
            d.score = changed(*a_score, *score);
            d.deaths = changed(*a_deaths, *deaths);
            d.alive = changed(*a_alive, *alive);
        }
        (EntityKind::Projectile { owner: a_owner }, EntityKind::Projectile { owner })
            if a_owner == owner => {}
        _ => return None,
    }
    Some(d)
}

/// `base` with `d` applied; `None` when `d` sets a player field on a projectile.
fn patch(base: &Entity, d: &EntityDelta) -> Option<Entity> {
    let mut e = base.clone();
    if let Some(dp) = d.pos {
        e.pos = pos_from_wire(add(pos_to_wire(base.pos), dp));
    }
    if let Some(dv) = d.vel {
        e.vel = vel_from_wire(add(vel_to_wire(base.vel), dv));
    }
    let player_fields = d.aim.is_some()
        || d.health.is_some()
        || d.score.is_some()
        || d.deaths.is_some()
        || d.alive.is_some();
    match &mut e.kind {
        EntityKind::Player {
            aim,
            health,
            score,
            deaths,
            alive,
        } => {
            *aim = d.aim.unwrap_or(*aim);
            *health = d.health.unwrap_or(*health);
            *score = d.score.unwrap_or(*score);
            *deaths = d.deaths.unwrap_or(*deaths);
            *alive = d.alive.unwrap_or(*alive);
        }
        EntityKind::Projectile { .. } if player_fields => return None,
        EntityKind::Projectile { .. } => {}
    }
    Some(e)
}

fn ascending<T>(items: &[T], id: impl Fn(&T) -> EntityId) -> bool {
    items.windows(2).all(|w| id(&w[0]) < id(&w[1]))
}

/// The view `diff(base, next)` was made from: `base` with the snapshot's changes applied. Any
/// inconsistency (an unknown id, a duplicate, unsorted lists) is an error, never a panic: the
/// bytes came from the network.
pub fn apply(
    base: &[Entity],
    created: &[Entity],
    changed: &[EntityDelta],
    removed: &[EntityId],
) -> Result<Vec<Entity>, SyncError> {
    if !ascending(created, |e| e.id) || !ascending(changed, |d| d.id) || !ascending(removed, |r| *r)
    {
        return Err(SyncError::Unsorted);
    }
    let mut kept = Vec::with_capacity(base.len() + created.len());
    let (mut c, mut r) = (0, 0);
    for e in base {
        if removed.get(r) == Some(&e.id) {
            r += 1;
            continue;
        }
        match changed.get(c) {
            Some(d) if d.id == e.id => {
                kept.push(patch(e, d).ok_or(SyncError::Mismatch(e.id))?);
                c += 1;
            }
            Some(d) if d.id < e.id => return Err(SyncError::Mismatch(d.id)),
            _ => kept.push(e.clone()),
        }
    }
    if let Some(d) = changed.get(c) {
        return Err(SyncError::Mismatch(d.id));
    }
    if let Some(id) = removed.get(r) {
        return Err(SyncError::Mismatch(*id));
    }
    // Merge the created entities into the id order.
    let mut out = Vec::with_capacity(kept.len() + created.len());
    let mut kept = kept.into_iter().peekable();
    for e in created {
        while let Some(k) = kept.next_if(|k| k.id < e.id) {
            out.push(k);
        }
        if kept.peek().is_some_and(|k| k.id == e.id) {
            return Err(SyncError::Mismatch(e.id));
        }
        out.push(e.clone());
    }
    out.extend(kept);
    Ok(out)
}

/// The last few views sent to (server) or received by (client) one client, oldest first.
#[derive(Clone, Debug, Default)]
pub struct History {
    views: VecDeque<(u64, Vec<Entity>)>,
}

impl History {
    /// Records the view of `tick`, forgetting the oldest beyond [`HISTORY_LEN`].
    pub fn push(&mut self, tick: u64, view: Vec<Entity>) {
        if self.views.len() == HISTORY_LEN {
            self.views.pop_front();
        }
        self.views.push_back((tick, view));
    }

    /// The view of `tick`, if still held.
    pub fn get(&self, tick: u64) -> Option<&[Entity]> {
        // Few entries, newest most wanted.
        self.views
            .iter()
            .rev()
            .find(|(t, _)| *t == tick)
            .map(|(_, v)| v.as_slice())
    }

    /// The newest view held.
    pub fn newest(&self) -> Option<(u64, &[Entity])> {
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
#[derive(Clone, Debug, Default)]
pub struct Replica {
    history: History,
}

impl Replica {
    /// An empty replica; the first snapshot it can use is a complete one.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a snapshot and returns the view it describes. On error the replica forgets
    /// everything, so it acknowledges nothing until a complete snapshot arrives.
    pub fn apply(&mut self, snapshot: &Snapshot) -> Result<&[Entity], SyncError> {
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

    fn rebuild(&self, s: &Snapshot) -> Result<Vec<Entity>, SyncError> {
        if let Some((newest, _)) = self.history.newest()
            && s.tick <= newest
        {
            return Err(SyncError::Stale {
                tick: s.tick,
                newest,
            });
        }
        let base: &[Entity] = if s.baseline == 0 {
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
    pub fn view(&self) -> &[Entity] {
        self.history.newest().map_or(&[], |(_, v)| v)
    }

    /// One entity of the newest view.
    pub fn entity(&self, id: EntityId) -> Option<&Entity> {
        let view = self.view();
        view.binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| &view[i])
    }
}
