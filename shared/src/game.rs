//! The seam between Arena's engine and a game.
//!
//! The engine (sessions, lobby, rooms, the fixed tick, input queues, snapshots, deltas,
//! interest, backpressure, resume, tickets, spectators, metrics, the bot runtime) is generic over
//! one trait, [`Game`]: a state the room owns, advanced one fixed tick at a time by [`Game::step`]
//! and changed between ticks only by joins, leaves and inputs, like Nakama's match handler
//! (`matchJoin`, `matchLeave`, `matchLoop`). What the game replicates it declares once with
//! [`replicate!`](crate::replicate!); the engine diffs, encodes and applies it. What a client
//! needs beyond the simulation (its prediction, a bot's brain) sits beside it as
//! [`Predict`] and [`Brain`].
//!
//! A game must be deterministic: the same settings, seed, tick rate and sequence of calls
//! give the same [`Game::state_hash`] on every machine. That is what lets a client predict
//! with the server's code and a room be replayed from its inputs.

use std::fmt::{self, Debug};
use std::hash::Hash;

use glam::Vec2;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Identifies a player or another entity for its whole life, unique within a room. Zero means
/// "none" on the wire, so games allocate ids from 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct EntityId(pub u32);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A game's saved state as bytes ([`Game::save`]): bincode, as on the wire.
pub fn save_state<T: Serialize>(state: &T) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    crate::protocol::encode_into(state, &mut out).ok()?;
    Some(out)
}

/// A state [`save_state`] wrote, if `bytes` are exactly one ([`Game::restore`]).
pub fn load_state<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let (state, used) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard()).ok()?;
    (used == bytes.len()).then_some(state)
}

/// How far behind the present a player's picture of the world was when it chose an input, in
/// 1/64 ticks before the tick the input is applied in (the state after that tick's step, which
/// the snapshot of that tick shows).
///
/// A client draws the others where the snapshots it holds put them, interpolated some time
/// behind the newest, and sends with each input the newest snapshot it holds (`ack`) and how far
/// behind it it drew (`behind`). The engine turns that claim into a `Rewind` with
/// [`Rewind::claimed`], which bounds it, and hands it to [`Game::input`] and the replay; the
/// game decides what to rewind (the shooter: its hit tests).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Rewind(pub u32);

impl Rewind {
    /// Sub-tick steps per tick: a 30 Hz tick in steps of about half a millisecond.
    pub const STEPS_PER_TICK: u32 = 64;

    /// No rewind: the input is judged against the present.
    pub const NONE: Self = Self(0);

    /// The longest rewind the engine hands a game, ms: a game that rewinds keeps this much
    /// history. Source caps its rewind (`sv_maxunlag`) at one second too.
    pub const MAX_MS: u32 = 1000;

    /// The rewind of an input applied in tick `applied` from a client that held snapshot `ack`
    /// (0 = none yet) and drew the others `behind` 1/64 ticks behind it, at most `max_ticks`.
    ///
    /// `applied - ack` is the connection's round trip as this very input measured it, in the
    /// room's own clock: the snapshot of tick `ack` left at tick `ack`, and the input that had
    /// it is applied at tick `applied` (the wait in the input queue included). A client cannot
    /// claim to have seen the future (an `ack` past `applied` counts as `applied`); it can claim
    /// an older `ack` or a longer `behind` than the truth (fake lag), which no server can tell
    /// from a slow network, so `max_ticks` bounds what that buys.
    pub fn claimed(applied: u64, ack: u64, behind: u16, max_ticks: u32) -> Self {
        if ack == 0 || max_ticks == 0 {
            return Self::NONE;
        }
        let trip = applied.saturating_sub(ack).min(u64::from(max_ticks));
        let steps = trip * u64::from(Self::STEPS_PER_TICK) + u64::from(behind);
        let max = u64::from(max_ticks) * u64::from(Self::STEPS_PER_TICK);
        Self(u32::try_from(steps.min(max)).unwrap_or(u32::MAX))
    }

    /// Whole ticks and the fraction of one.
    pub fn ticks(self) -> f32 {
        self.0 as f32 / Self::STEPS_PER_TICK as f32
    }
}

/// Everything a type must be to cross the wire in both directions and the actor boundaries.
pub trait Wire:
    Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static
{
}
impl<T: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static>
    Wire for T
{
}

/// A game the engine can host. The room owns one value of it per room.
pub trait Game: Sized + Send + Unpin + 'static {
    /// The name clients, URLs (`/ws/NAME`), `GET /api/games` and `arena-bot --game` use:
    /// lowercase ASCII letters, digits and `-`.
    const NAME: &'static str;
    /// One line for `GET /api/games`.
    const DESCRIPTION: &'static str;

    /// What a room of this game is created with and every client is told in `Welcome` (map,
    /// tuning), so clients draw and predict with the server's numbers.
    type Settings: Wire;
    /// One player's controls for one tick. Arrives from the network: [`Game::input`] must
    /// accept any value (sanitise, never panic).
    type Input: Wire + Copy + Default;
    /// One replicated entity as clients see it (declare it with
    /// [`replicate!`](crate::replicate!)).
    type Entity: Replicate;
    /// A moment a client wants to show and could not infer from two states (a hit, a crash).
    type Event: Wire;
    /// The client's prediction of its own player.
    type Predictor: Predict<Self>;
    /// How a bot plays.
    type Brain: Brain<Self>;

    /// A new room's state at tick 0, reproducible from `seed`.
    fn new(settings: &Self::Settings, tick_rate: u16, seed: u64) -> Self;
    /// A player enters with `name` (already validated); returns its entity id.
    fn join(&mut self, name: &str) -> EntityId;
    /// A player leaves (idempotent).
    fn leave(&mut self, player: EntityId);
    /// `player`'s input for the next tick and after, until the next one arrives. `seen` is how
    /// far in the past the player's picture of the others was when it chose this input (already
    /// clamped by the engine): a game that judges aim rewinds its hit tests by it, others ignore it.
    fn input(&mut self, player: EntityId, input: Self::Input, seen: Rewind);
    /// Advances one tick.
    fn step(&mut self);
    /// Ticks stepped so far.
    fn tick(&self) -> u64;
    /// Moves the events of the ticks since the last call to `out`.
    fn drain_events(&mut self, out: &mut Vec<Self::Event>);
    /// Appends every replicated entity to `out` (any order).
    fn entities(&self, out: &mut Vec<Self::Entity>);
    /// The playing area's size, from `(0, 0)`: the engine's interest grid covers it.
    fn area(&self) -> Vec2;
    /// A digest of the whole state: equal hashes mean equal games.
    fn state_hash(&self) -> u64;

    /// The whole state as bytes: a replay's keyframe, from which a viewer seeks without
    /// re-simulating from the start. Default: none (seeking re-simulates from tick 0).
    fn save(&self) -> Option<Vec<u8>> {
        None
    }
    /// The game [`Game::save`] wrote, given the settings and tick rate it was created with;
    /// `None` when the bytes are not one. Stepping it must go on exactly as the original did.
    fn restore(settings: &Self::Settings, tick_rate: u16, bytes: &[u8]) -> Option<Self> {
        let _ = (settings, tick_rate, bytes);
        None
    }

    /// Whether a client whose player is `viewer`, and who sees the entities `sees` accepts,
    /// should hear of `event`. The engine's interest management decides which entities a client
    /// sees (a box around its player); this is the game's hook to narrow or widen which events
    /// go with them. Default: every event to everyone.
    fn event_relevant(
        event: &Self::Event,
        viewer: EntityId,
        sees: &dyn Fn(EntityId) -> bool,
    ) -> bool {
        let _ = (event, viewer, sees);
        true
    }
}

/// An entity the engine replicates with delta snapshots: implemented by
/// [`replicate!`](crate::replicate!), which declares the fields once.
pub trait Replicate: Wire {
    /// The changed fields of one entity, with a bitmask on the wire.
    type Delta: Wire + Default;
    /// The entity's id, stable for its life.
    fn id(&self) -> EntityId;
    /// Where the entity is, for interest management.
    fn position(&self) -> Vec2;
    /// The entity moved to `pos`: how a client draws it between two snapshots.
    fn with_position(&self, pos: Vec2) -> Self;
    /// The changes that turn `self` into `next` (same id); `None` when `next` must replace
    /// `self` whole (a different kind, a changed identity field).
    fn diff(&self, next: &Self) -> Option<Self::Delta>;
    /// `self` with `delta` applied; `None` when the delta does not fit (fields of another kind).
    fn patch(&self, delta: &Self::Delta) -> Option<Self>;
    /// The id a delta is for.
    fn delta_id(delta: &Self::Delta) -> EntityId;
    /// Whether a delta changes nothing (it is then not sent).
    fn delta_is_empty(delta: &Self::Delta) -> bool;
}

/// How one replicated field travels in a delta: compared with the baseline's value and, when
/// different, sent as `Wire` (the new value, or a difference in wire steps).
pub trait FieldCodec {
    /// The field's type in the entity.
    type Value;
    /// What a delta carries for it.
    type Wire: Wire;
    /// `None` when `new` reads the same as `old` on the wire.
    fn delta(old: &Self::Value, new: &Self::Value) -> Option<Self::Wire>;
    /// The value a delta stands for against `old`.
    fn apply(old: &Self::Value, wire: &Self::Wire) -> Self::Value;
}

macro_rules! exact_fields {
    ($($t:ty),*) => {$(
        /// Sent whole when it changed.
        impl FieldCodec for $t {
            type Value = $t;
            type Wire = $t;
            fn delta(old: &$t, new: &$t) -> Option<$t> {
                (old != new).then_some(*new)
            }
            fn apply(_: &$t, wire: &$t) -> $t {
                *wire
            }
        }
    )*};
}
exact_fields!(bool, u8, u16, u32, u64, i8, i16, i32, i64, EntityId);

/// A position at the wire's precision (1/8 unit, [`crate::quant`]): a delta is the move in
/// wire steps, one or two bytes per axis while moving.
pub struct Position;
/// A velocity at the wire's precision (1/8 unit/s toward zero, [`crate::quant`]).
pub struct Velocity;

fn step_delta(a: (i32, i32), b: (i32, i32)) -> Option<(i32, i32)> {
    (a != b).then(|| (b.0.wrapping_sub(a.0), b.1.wrapping_sub(a.1)))
}

fn step_add(a: (i32, i32), d: (i32, i32)) -> (i32, i32) {
    (a.0.wrapping_add(d.0), a.1.wrapping_add(d.1))
}

impl FieldCodec for Position {
    type Value = Vec2;
    type Wire = (i32, i32);
    fn delta(old: &Vec2, new: &Vec2) -> Option<(i32, i32)> {
        // Most entities keep most fields from one tick to the next: equal floats have equal
        // wire forms, so compare first and convert only what moved.
        if old == new {
            return None;
        }
        step_delta(
            crate::quant::pos_to_wire(*old),
            crate::quant::pos_to_wire(*new),
        )
    }
    fn apply(old: &Vec2, d: &(i32, i32)) -> Vec2 {
        crate::quant::pos_from_wire(step_add(crate::quant::pos_to_wire(*old), *d))
    }
}

impl FieldCodec for Velocity {
    type Value = Vec2;
    type Wire = (i32, i32);
    fn delta(old: &Vec2, new: &Vec2) -> Option<(i32, i32)> {
        if old == new {
            return None;
        }
        step_delta(
            crate::quant::vel_to_wire(*old),
            crate::quant::vel_to_wire(*new),
        )
    }
    fn apply(old: &Vec2, d: &(i32, i32)) -> Vec2 {
        crate::quant::vel_from_wire(step_add(crate::quant::vel_to_wire(*old), *d))
    }
}

/// A client's prediction of its own player: moves it the moment an input is sent, and measures
/// against each snapshot how far the guess was off.
pub trait Predict<G: Game>: Send + Unpin {
    /// A predictor for the player `me` of a room with these settings.
    fn new(settings: &G::Settings, tick_rate: u16, me: EntityId) -> Self;
    /// Records an input just sent (sequence number `seq`) and moves the prediction by it.
    fn input(&mut self, seq: u32, input: &G::Input);
    /// Takes a snapshot's word for the player (`own`, after the inputs up to
    /// `last_input_seq`) and returns how far the prediction for that input was off, in world
    /// units; `None` when there was nothing to compare.
    fn reconcile(&mut self, last_input_seq: u32, own: &G::Entity) -> Option<f32>;
    /// Where the player will be once the server applies every input sent, if known: where the
    /// client draws itself, and aims from. Default: unknown (drawn where the snapshot put it).
    fn position(&self) -> Option<Vec2> {
        None
    }
}

/// No prediction: for games whose clients simply draw the newest snapshot.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPrediction;

impl<G: Game> Predict<G> for NoPrediction {
    fn new(_: &G::Settings, _: u16, _: EntityId) -> Self {
        Self
    }
    fn input(&mut self, _: u32, _: &G::Input) {}
    fn reconcile(&mut self, _: u32, _: &G::Entity) -> Option<f32> {
        None
    }
}

/// How a bot plays a game: from what it sees to its next input.
pub trait Brain<G: Game>: Send + Unpin {
    /// A brain for bot number `index` of a room with these settings (from its `Welcome`), with
    /// play style `style` (a game names its styles; unknown ones fall back to its default).
    fn new(settings: &G::Settings, style: &str, index: usize, rng: &mut dyn RngCore) -> Self;
    /// The input for the next tick, given the bot's own entity id, the entities it sees
    /// (sorted by id) and the time in seconds since the bot started.
    fn decide(
        &mut self,
        me: EntityId,
        view: &[G::Entity],
        seconds: f64,
        rng: &mut dyn RngCore,
    ) -> G::Input;
    /// What a newly received snapshot (its entities `view`, sorted by id, and the game's
    /// `events`) says about the bot's aim: shots it fired that appear for the first time and
    /// hits it scored. For the bot report's hit ratio; games without shooting keep the default.
    fn tally(&mut self, me: EntityId, view: &[G::Entity], events: &[&G::Event]) -> Tally {
        let _ = (me, view, events);
        Tally::default()
    }
}

/// A bot's shots and hits in one snapshot ([`Brain::tally`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Shots fired.
    pub shots: u32,
    /// Shots that damaged another player.
    pub hits: u32,
}

/// Declares a replicated entity's fields once: implements [`Replicate`] for it, with a delta
/// type whose present fields are listed by a bitmask (one byte for up to eight fields).
///
/// Two forms. A flat struct:
///
/// ```
/// use arena_shared::game::{EntityId, Position};
/// use glam::Vec2;
///
/// #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// pub struct Ball { pub id: EntityId, pub pos: Vec2, pub bounces: u16 }
///
/// arena_shared::replicate! {
///     /// What changed about a ball.
///     Ball => BallDelta, position: pos,
///     fields { pos: Position, bounces: u16 }
/// }
/// ```
///
/// and a struct with common fields plus a `kind` enum whose variants hold fields of their own
/// (replicated) and identity fields (a change replaces the entity), written
/// `kind: FIELD ENUM { Variant { field: Codec, .. } identity { field, .. } .. }` and listing every
/// variant; field names must be unique across variants, and all kinds together have at most 32
/// replicated fields (one byte of mask for up to eight). Each field names its [`FieldCodec`]: the
/// field's own type for exact values, [`Position`] or [`Velocity`] for quantised vectors.
#[macro_export]
macro_rules! replicate {
    (
        $(#[$meta:meta])*
        $entity:ident => $delta:ident, position: $pos:ident,
        fields { $($f:ident : $codec:ty),* $(,)? }
    ) => {
        $crate::replicate! {
            @all
            $(#[$meta])*
            $entity => $delta, position: $pos,
            fields { $($f : $codec),* }
            kind: __none {}
        }
    };
    (
        $(#[$meta:meta])*
        $entity:ident => $delta:ident, position: $pos:ident,
        fields { $($f:ident : $codec:ty),* $(,)? }
        kind: $kind_field:ident $kind:ident {
            $($variant:ident { $($vf:ident : $vcodec:ty),* $(,)? } identity { $($idf:ident),* $(,)? })*
        }
    ) => {
        $crate::replicate! {
            @all
            $(#[$meta])*
            $entity => $delta, position: $pos,
            fields { $($f : $codec),* }
            kind: $kind_field $kind {
                $($variant { $($vf : $vcodec),* } identity { $($idf),* })*
            }
        }
    };
    // The two forms above in one; the flat one has no kind enum (`__none`).
    (
        @all
        $(#[$meta:meta])*
        $entity:ident => $delta:ident, position: $pos:ident,
        fields { $($f:ident : $codec:ty),* $(,)? }
        kind: $kind_field:ident $($kind:ident)? {
            $($variant:ident { $($vf:ident : $vcodec:ty),* $(,)? } identity { $($idf:ident),* $(,)? })*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $delta {
            /// The entity; it must be in the baseline.
            pub id: $crate::game::EntityId,
            $(
                #[doc = concat!("New `", stringify!($f), "`, when changed.")]
                pub $f: Option<<$codec as $crate::game::FieldCodec>::Wire>,
            )*
            $($(
                #[doc = concat!("New `", stringify!($vf), "` (", stringify!($variant), "), when changed.")]
                pub $vf: Option<<$vcodec as $crate::game::FieldCodec>::Wire>,
            )*)*
        }

        impl $delta {
            /// Which fields are present, one bit each in declaration order.
            fn mask(&self) -> u32 {
                let mut mask = 0u32;
                let mut bit = 1u32;
                $( if self.$f.is_some() { mask |= bit; } bit <<= 1; )*
                $($( if self.$vf.is_some() { mask |= bit; } bit <<= 1; )*)*
                let _ = bit;
                mask
            }

            /// How many fields the declaration has.
            const FIELDS: u32 = $crate::__count!($($f)* $($($vf)*)*);
        }

        // The mask is a u32: a 33rd field would shift out of it and desynchronise the wire.
        const _: () = assert!(
            $delta::FIELDS <= 32,
            "replicate!: at most 32 fields per entity (all kinds together)"
        );

        /// On the wire: `(id, mask, present fields in order)`. A bitmask costs one byte where
        /// an `Option` tag per field would cost one each; an unchanged entity is not listed.
        impl $crate::__serde::Serialize for $delta {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use $crate::__serde::ser::SerializeTuple;
                let mask = self.mask();
                let mut t = s.serialize_tuple(2 + mask.count_ones() as usize)?;
                t.serialize_element(&self.id)?;
                // Up to eight fields the mask is one plain byte (no varint to encode); past
                // that a u32. The choice is a constant of the declaration, so both ends agree.
                if $delta::FIELDS <= 8 {
                    t.serialize_element(&(mask as u8))?;
                } else {
                    t.serialize_element(&mask)?;
                }
                $( if let Some(v) = &self.$f { t.serialize_element(v)?; } )*
                $($( if let Some(v) = &self.$vf { t.serialize_element(v)?; } )*)*
                t.end()
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $delta {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use $crate::__serde::de::{self, SeqAccess, Visitor};
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $delta;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($entity), " delta (id, field mask, fields)"))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<$delta, A::Error> {
                        let missing = || de::Error::custom("entity delta is missing a field");
                        let id = seq.next_element()?.ok_or_else(missing)?;
                        let mask: u32 = if $delta::FIELDS <= 8 {
                            u32::from(seq.next_element::<u8>()?.ok_or_else(missing)?)
                        } else {
                            seq.next_element()?.ok_or_else(missing)?
                        };
                        if $delta::FIELDS < 32 && mask >> $delta::FIELDS != 0 {
                            return Err(de::Error::custom("entity delta has an unknown field bit"));
                        }
                        let mut delta = $delta { id, ..$delta::default() };
                        let mut bit = 1u32;
                        $(
                            if mask & bit != 0 {
                                delta.$f = Some(seq.next_element()?.ok_or_else(missing)?);
                            }
                            bit <<= 1;
                        )*
                        $($(
                            if mask & bit != 0 {
                                delta.$vf = Some(seq.next_element()?.ok_or_else(missing)?);
                            }
                            bit <<= 1;
                        )*)*
                        let _ = bit;
                        Ok(delta)
                    }
                }
                // The longest form: id, mask and every field. Binary formats read only what
                // the mask lists; self-describing ones carry exactly that many elements.
                d.deserialize_tuple(2 + $delta::FIELDS as usize, V)
            }
        }

        impl $crate::game::Replicate for $entity {
            type Delta = $delta;

            #[inline]
            fn id(&self) -> $crate::game::EntityId {
                self.id
            }

            #[inline]
            fn position(&self) -> $crate::__glam::Vec2 {
                self.$pos
            }

            fn with_position(&self, pos: $crate::__glam::Vec2) -> Self {
                Self { $pos: pos, ..self.clone() }
            }

            // Inlined into the engine's diff loop, where it runs once per visible entity per
            // client per snapshot: as a call it cost the room-snapshot bench 6%.
            #[inline]
            #[allow(unused_variables, unreachable_patterns)]
            fn diff(&self, next: &Self) -> Option<$delta> {
                let mut d = $delta { id: next.id, ..$delta::default() };
                $( d.$f = <$codec as $crate::game::FieldCodec>::delta(&self.$f, &next.$f); )*
                $crate::__replicate_kind_diff!(self, next, d, $kind_field $($kind)? {
                    $($variant { $($vf : $vcodec),* } identity { $($idf),* })*
                });
                Some(d)
            }

            #[inline]
            #[allow(unused_variables, unused_mut, unreachable_patterns)]
            fn patch(&self, d: &$delta) -> Option<Self> {
                let mut e = self.clone();
                $( if let Some(w) = &d.$f {
                    e.$f = <$codec as $crate::game::FieldCodec>::apply(&self.$f, w);
                } )*
                $crate::__replicate_kind_patch!(e, d, $kind_field $($kind)? {
                    $($variant { $($vf : $vcodec),* } identity { $($idf),* })*
                });
                Some(e)
            }

            #[inline]
            fn delta_id(d: &$delta) -> $crate::game::EntityId {
                d.id
            }

            #[inline]
            fn delta_is_empty(d: &$delta) -> bool {
                d.mask() == 0
            }
        }
    };
}

/// Part of [`replicate!`]: the kind-specific half of `diff`.
#[doc(hidden)]
#[macro_export]
macro_rules! __replicate_kind_diff {
    ($a:ident, $b:ident, $d:ident, __none {}) => {};
    ($a:ident, $b:ident, $d:ident, $kf:ident $kind:ident {
        $($variant:ident { $($vf:ident : $vcodec:ty),* } identity { $($idf:ident),* })*
    }) => {
        match &$a.$kf {
            $(
                $kind::$variant { $($vf,)* $($idf,)* .. } => {
                    // The old side's fields under their own names, so the new side's can be
                    // bound in one match too: one test of the kind, not one per field.
                    #[allow(non_camel_case_types)]
                    struct Old<'a, $($idf),*> {
                        $($vf: &'a <$vcodec as $crate::game::FieldCodec>::Value,)*
                        $($idf: &'a $idf,)*
                    }
                    let old = Old { $($vf,)* $($idf,)* };
                    match &$b.$kf {
                        $kind::$variant { $($vf,)* $($idf,)* .. } => {
                            $( if old.$idf != $idf { return None; } )*
                            $( $d.$vf = <$vcodec as $crate::game::FieldCodec>::delta(old.$vf, $vf); )*
                        }
                        _ => return None,
                    }
                }
            )*
            _ => return None,
        }
    };
}

/// Part of [`replicate!`]: the kind-specific half of `patch`.
#[doc(hidden)]
#[macro_export]
macro_rules! __replicate_kind_patch {
    ($e:ident, $d:ident, __none {}) => {};
    ($e:ident, $d:ident, $kf:ident $kind:ident {
        $($variant:ident { $($vf:ident : $vcodec:ty),* } identity { $($idf:ident),* })*
    }) => {
        // A delta may carry the fields of the entity's own kind only.
        $(
            if !matches!(&$e.$kf, $kind::$variant { .. }) && (false $(|| $d.$vf.is_some())*) {
                return None;
            }
        )*
        match &mut $e.$kf {
            $(
                $kind::$variant { $($vf,)* .. } => {
                    $( if let Some(w) = &$d.$vf {
                        *$vf = <$vcodec as $crate::game::FieldCodec>::apply(&*$vf, w);
                    } )*
                }
            )*
            _ => {}
        }
    };
}

/// Part of [`replicate!`]: counts identifiers.
#[doc(hidden)]
#[macro_export]
macro_rules! __count {
    () => { 0u32 };
    ($x:ident $($rest:ident)*) => { 1u32 + $crate::__count!($($rest)*) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nine fields: past eight the mask is a varint u32 instead of one byte.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Wide {
        id: EntityId,
        pos: Vec2,
        a: u8,
        b: u8,
        c: u8,
        d: u8,
        e: u8,
        f: u8,
        g: u8,
        h: u32,
    }

    crate::replicate! {
        /// What changed about a wide entity.
        Wide => WideDelta, position: pos,
        fields { pos: Position, a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u32 }
    }

    fn wide(h: u32, x: f32) -> Wide {
        Wide {
            id: EntityId(7),
            pos: Vec2::new(x, 2.0),
            a: 1,
            b: 2,
            c: 3,
            d: 4,
            e: 5,
            f: 6,
            g: 7,
            h,
        }
    }

    #[test]
    fn a_ninth_field_travels_behind_a_wider_mask() {
        let (old, new) = (wide(1, 0.0), wide(300, 4.0));
        let delta = old.diff(&new).expect("same entity");
        assert_eq!(delta.pos, Some((32, 0)));
        assert_eq!(delta.h, Some(300));
        assert!(delta.a.is_none());
        let bytes = crate::protocol::encode(&delta).expect("encodes");
        // id 7, then the mask (bits 0 and 8: 257, as a varint: 251, then u16 LE).
        assert_eq!(bytes[..4], [7, 251, 1, 1]);
        let (back, _): (WideDelta, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard())
                .expect("decodes");
        assert_eq!(old.patch(&back), Some(new.clone()));
        let json = serde_json::to_string(&delta).expect("JSON");
        let from_json: WideDelta = serde_json::from_str(&json).expect("from JSON");
        assert_eq!(old.patch(&from_json), Some(new));
        assert!(Wide::delta_is_empty(&old.diff(&old).expect("same")));
    }

    #[test]
    fn unknown_mask_bits_are_refused() {
        // Nine fields: bit 9 and above name no field.
        let hostile = serde_json::json!([7, 1024]);
        assert!(serde_json::from_value::<WideDelta>(hostile).is_err());
    }
}
