//! Replays: everything that changed a room, tick by tick, so the room can be re-simulated bit
//! for bit and checked against the state hashes it recorded.
//!
//! A replay is a [`Header`] (format, protocol, game, settings, tick rate, seed) and then
//! [`Record`]s: for every tick, the commands applied before it was stepped (joins with the id
//! the game gave, leaves, each player's applied input with the rewind it was judged with, an
//! injected fault), and every [`HASH_EVERY`] ticks the state hash after it with a digest of
//! every replicated entity, so a re-simulation that drifts names the entities that differ. Each
//! is one bincode frame with a length prefix, so a file cut short by a crash still reads up to
//! its last whole record.

use std::hash::Hasher;
use std::marker::PhantomData;

use fnv::FnvHasher;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::game::{EntityId, Game, Replicate, Rewind};
use crate::protocol::{EncodeError, PROTOCOL_VERSION, encode_into};

/// The replay format this build writes and reads.
pub const FORMAT_VERSION: u16 = 3;
/// Ticks between recorded state hashes.
pub const HASH_EVERY: u64 = 30;
/// Ticks between keyframes (the whole state, for seeking): 30 s at 30 Hz. A shooter room of
/// 16 saves about 8 KB, 3% on top of its commands.
pub const KEYFRAME_EVERY: u64 = 900;
/// Largest record a reader accepts: a tick of 1,024 players' inputs is far below it.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// What a replay is of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header<S> {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u16,
    /// The wire protocol of the writer.
    pub protocol: u16,
    /// The game's name.
    pub game: String,
    /// The room's name.
    pub room: String,
    /// The game's settings.
    pub settings: S,
    /// The map's name.
    pub map: String,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Snapshots per second.
    pub snapshot_rate: u16,
    /// The game's seed.
    pub seed: u64,
}

/// One change to a room between two ticks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command<I> {
    /// A player joined with this name and the game gave it this id.
    Join {
        /// The name.
        name: String,
        /// The id the game returned (a replay checks it gets the same).
        player: EntityId,
    },
    /// A player left.
    Leave {
        /// Who.
        player: EntityId,
    },
    /// A player's input was applied.
    Input {
        /// Whose.
        player: EntityId,
        /// The input.
        input: I,
        /// How far back the player was looking, as the engine bounded it.
        seen: Rewind,
    },
    /// The room's fault injection (tests only) made this tick panic: replaying it panics at
    /// the same tick, as the room did.
    Fault,
}

/// One frame of a replay after the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Record<I> {
    /// The commands applied before stepping to `tick`, in order.
    Tick {
        /// The tick stepped to.
        tick: u64,
        /// What changed before it.
        commands: Vec<Command<I>>,
    },
    /// Commands applied after the last tick and not followed by one (the room stopped): the
    /// final hash is of the state after them.
    Pending {
        /// What changed.
        commands: Vec<Command<I>>,
    },
    /// The state hash after `tick`.
    Hash {
        /// The tick.
        tick: u64,
        /// [`Game::state_hash`].
        hash: u64,
        /// Each replicated entity's id and digest ([`entity_digests`]), by id.
        entities: Vec<(EntityId, u32)>,
    },
    /// The whole state after `tick` ([`Game::save`]) and who was in the room: a seek starts
    /// from the newest keyframe before its tick instead of from the start.
    Keyframe {
        /// The tick.
        tick: u64,
        /// The players present and their names.
        roster: Vec<(EntityId, String)>,
        /// [`Game::save`]'s bytes.
        state: Vec<u8>,
    },
}

/// How one entity of a re-simulation differs from the recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drift {
    /// Present in both, with different replicated state.
    Differs(EntityId),
    /// Recorded, but the re-simulation does not have it.
    Missing(EntityId),
    /// The re-simulation has it, the recording did not.
    Extra(EntityId),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Differs(id) => write!(f, "{id} differs"),
            Self::Missing(id) => write!(f, "{id} missing"),
            Self::Extra(id) => write!(f, "{id} extra"),
        }
    }
}

/// Entities a mismatch names at most; more are counted.
pub const MAX_DRIFTS: usize = 16;

/// `drifts` as `#3 differs, #9 missing` (at most [`MAX_DRIFTS`], then how many more), or a
/// note that no replicated entity differs (the difference is in hidden state).
fn describe_drifts(drifts: &[Drift]) -> String {
    if drifts.is_empty() {
        return "every replicated entity matches: hidden state differs".into();
    }
    let mut out: Vec<String> = drifts
        .iter()
        .take(MAX_DRIFTS)
        .map(Drift::to_string)
        .collect();
    if drifts.len() > MAX_DRIFTS {
        out.push(format!("and {} more", drifts.len() - MAX_DRIFTS));
    }
    out.join(", ")
}

/// Why a replay did not verify.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReplayError {
    /// The bytes are not a replay of this format and game.
    #[error("not a replay this build reads: {0}")]
    Format(String),
    /// A join got another id than when recorded.
    #[error("tick {tick}: {name} joined as {got}, recorded as {want}")]
    JoinId {
        /// The tick.
        tick: u64,
        /// The player's name.
        name: String,
        /// The id recorded.
        want: EntityId,
        /// The id the re-simulation gave.
        got: EntityId,
    },
    /// The re-simulated state differs from the recorded one.
    #[error(
        "tick {tick}: state hash {got:#018x}, recorded {want:#018x}; {}",
        describe_drifts(drifts)
    )]
    Mismatch {
        /// The first tick whose hash differs.
        tick: u64,
        /// The recorded hash.
        want: u64,
        /// The re-simulated hash.
        got: u64,
        /// The entities whose digests differ, by id.
        drifts: Vec<Drift>,
    },
    /// The re-simulated state differs from a keyframe's, though its hash matched.
    #[error("tick {tick}: the state differs from the recorded keyframe")]
    KeyframeMismatch {
        /// The keyframe's tick.
        tick: u64,
    },
    /// `--at` asked for a tick the replay does not reach.
    #[error("the replay ends at tick {last}, before tick {wanted}")]
    NoSuchTick {
        /// The tick asked for.
        wanted: u64,
        /// The last tick the replay has.
        last: u64,
    },
}

/// Each replicated entity's id and a 32-bit FNV digest of its bincode encoding, by id: what a
/// hash record keeps so a mismatch can say which entities drifted.
pub fn entity_digests<G: Game>(game: &G) -> Vec<(EntityId, u32)> {
    let mut entities = Vec::new();
    game.entities(&mut entities);
    let mut bytes = Vec::new();
    let mut digests: Vec<(EntityId, u32)> = entities
        .iter()
        .map(|e| {
            bytes.clear();
            // An entity that cannot encode cannot be sent either; its digest is of nothing.
            let _ = encode_into(e, &mut bytes);
            let mut h = FnvHasher::default();
            h.write(&bytes);
            (e.id(), h.finish() as u32)
        })
        .collect();
    digests.sort_unstable_by_key(|d| d.0);
    digests
}

/// How `got` differs from `want` (both by id).
fn drifts(want: &[(EntityId, u32)], got: &[(EntityId, u32)]) -> Vec<Drift> {
    let (mut w, mut g) = (want.iter().peekable(), got.iter().peekable());
    let mut out = Vec::new();
    loop {
        match (w.peek(), g.peek()) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                if a.1 != b.1 {
                    out.push(Drift::Differs(a.0));
                }
                w.next();
                g.next();
            }
            (Some(a), Some(b)) if a.0 < b.0 => {
                out.push(Drift::Missing(a.0));
                w.next();
            }
            (Some(a), None) => {
                out.push(Drift::Missing(a.0));
                w.next();
            }
            (_, Some(b)) => {
                out.push(Drift::Extra(b.0));
                g.next();
            }
            (None, None) => return out,
        }
    }
}

/// Appends one length-prefixed record (or header) to `out`.
pub fn write_frame<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut body = Vec::new();
    encode_into(value, &mut body)?;
    encode_into(&(body.len() as u64), out)?;
    out.extend_from_slice(&body);
    Ok(())
}

/// Reads one frame from the front of `bytes`; `None` at the end or at a cut-off last frame.
fn read_frame<T: DeserializeOwned>(bytes: &mut &[u8]) -> Option<Result<T, ReplayError>> {
    let config = bincode::config::standard();
    let (len, used): (u64, usize) = bincode::serde::decode_from_slice(bytes, config).ok()?;
    let len = usize::try_from(len).ok()?;
    if len > MAX_RECORD_BYTES {
        return Some(Err(ReplayError::Format(format!("a {len}-byte record"))));
    }
    let body = bytes.get(used..used + len)?;
    *bytes = &bytes[used + len..];
    Some(
        bincode::serde::decode_from_slice(body, config)
            .map(|(v, _)| v)
            .map_err(|e| ReplayError::Format(e.to_string())),
    )
}

/// What a verified replay held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Ticks re-simulated.
    pub ticks: u64,
    /// State hashes checked.
    pub hashes: u64,
    /// Keyframes checked against the re-simulated state.
    pub keyframes: u64,
    /// Bytes after the last whole record: a replay cut short (its process died, or the bytes
    /// were damaged) leaves some; a finished one none.
    pub unread: usize,
}

/// The header of a replay of game `G`.
pub fn header<G: Game>(bytes: &[u8]) -> Result<Header<G::Settings>, ReplayError> {
    read_header::<G>(&mut &bytes[..])
}

/// Reads the header off the front of `rest` and checks it is this format and game.
fn read_header<G: Game>(rest: &mut &[u8]) -> Result<Header<G::Settings>, ReplayError> {
    let header: Header<G::Settings> =
        read_frame(rest).ok_or_else(|| ReplayError::Format("no header".into()))??;
    if header.format != FORMAT_VERSION || header.game != G::NAME {
        return Err(ReplayError::Format(format!(
            "format {} of {}, this build reads format {FORMAT_VERSION} of {}",
            header.format,
            header.game,
            G::NAME
        )));
    }
    Ok(header)
}

/// The records of a replay after its header, in order. Ends at the end of the bytes or at a
/// record cut short ([`Records::unread`] says how much was left).
pub struct Records<'a, I> {
    rest: &'a [u8],
    input: PhantomData<fn() -> I>,
}

impl<I> Records<'_, I> {
    /// Bytes not read (yet): after the last record, the remains of one cut short.
    pub fn unread(&self) -> usize {
        self.rest.len()
    }
}

impl<I: DeserializeOwned> Iterator for Records<'_, I> {
    type Item = Result<Record<I>, ReplayError>;

    fn next(&mut self) -> Option<Self::Item> {
        read_frame(&mut self.rest)
    }
}

/// A replay opened by [`open`]: its header and its records.
pub type Opened<'a, G> = (
    Header<<G as Game>::Settings>,
    Records<'a, <G as Game>::Input>,
);

/// A replay of game `G`: its header and its records.
pub fn open<G: Game>(bytes: &[u8]) -> Result<Opened<'_, G>, ReplayError> {
    let mut rest = bytes;
    let header = read_header::<G>(&mut rest)?;
    Ok((
        header,
        Records {
            rest,
            input: PhantomData,
        },
    ))
}

/// Re-simulates a replay of game `G` from its header and checks every recorded hash.
pub fn verify<G: Game>(bytes: &[u8]) -> Result<Verified, ReplayError> {
    let (header, mut records) = open::<G>(bytes)?;
    let mut game = G::new(&header.settings, header.tick_rate, header.seed);
    let mut verified = Verified {
        ticks: 0,
        hashes: 0,
        keyframes: 0,
        unread: 0,
    };
    for record in records.by_ref() {
        match record? {
            Record::Tick { tick, commands } => {
                apply(&mut game, tick, commands)?;
                game.step();
                verified.ticks += 1;
            }
            Record::Pending { commands } => {
                let tick = game.tick();
                apply(&mut game, tick, commands)?;
            }
            Record::Hash {
                tick,
                hash,
                entities,
            } => {
                let got = game.state_hash();
                if got != hash || game.tick() != tick {
                    return Err(ReplayError::Mismatch {
                        tick,
                        want: hash,
                        got,
                        drifts: drifts(&entities, &entity_digests(&game)),
                    });
                }
                verified.hashes += 1;
            }
            Record::Keyframe { tick, state, .. } => {
                if game.tick() != tick || game.save().is_some_and(|s| s != state) {
                    return Err(ReplayError::KeyframeMismatch { tick });
                }
                verified.keyframes += 1;
            }
        }
    }
    verified.unread = records.unread();
    Ok(verified)
}

/// A replay read for playing back: its header and, for each tick from 1, the commands applied
/// before it. A recorded panic (`Command::Fault`) is where the ticks end.
pub struct Loaded<G: Game> {
    /// The header.
    pub header: Header<G::Settings>,
    /// `ticks[t - 1]`: the commands before tick `t`.
    pub ticks: Vec<Vec<Command<G::Input>>>,
    /// The keyframes, by tick.
    pub keyframes: Vec<Keyframe>,
}

/// A keyframe as [`load`] keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyframe {
    /// The tick it is the state after.
    pub tick: u64,
    /// Who was in the room, with names.
    pub roster: Vec<(EntityId, String)>,
    /// [`Game::save`]'s bytes.
    pub state: Vec<u8>,
}

impl<G: Game> Loaded<G> {
    /// The game after tick `at` (at most the last), from the newest keyframe at or before it
    /// that restores (else from the start), with who was in the room then; an error if a
    /// recorded command does not apply.
    pub fn game_at(&self, at: u64) -> Result<(G, Vec<(EntityId, String)>), ReplayError> {
        let h = &self.header;
        let start = self
            .keyframes
            .iter()
            .rev()
            .filter(|k| k.tick <= at)
            .find_map(|k| {
                G::restore(&h.settings, h.tick_rate, &k.state).map(|g| (g, k.roster.clone()))
            });
        let (mut game, mut roster) =
            start.unwrap_or_else(|| (G::new(&h.settings, h.tick_rate, h.seed), Vec::new()));
        while game.tick() < at.min(self.ticks.len() as u64) {
            let next = game.tick() + 1;
            let commands = self.ticks[(next - 1) as usize].clone();
            for c in &commands {
                match c {
                    Command::Join { name, player } => roster.push((*player, name.clone())),
                    Command::Leave { player } => roster.retain(|(p, _)| p != player),
                    Command::Input { .. } | Command::Fault => {}
                }
            }
            apply(&mut game, next, commands)?;
            game.step();
        }
        Ok((game, roster))
    }
}

/// Reads a replay of game `G` whole, for playing back (hashes are [`verify`]'s business).
pub fn load<G: Game>(bytes: &[u8]) -> Result<Loaded<G>, ReplayError> {
    let (header, records) = open::<G>(bytes)?;
    let mut ticks = Vec::new();
    let mut keyframes = Vec::new();
    for record in records {
        match record? {
            Record::Tick { tick, commands } => {
                if tick != ticks.len() as u64 + 1 {
                    return Err(ReplayError::Format(format!(
                        "tick {tick} after tick {}",
                        ticks.len()
                    )));
                }
                if commands.iter().any(|c| matches!(c, Command::Fault)) {
                    break;
                }
                ticks.push(commands);
            }
            Record::Keyframe {
                tick,
                roster,
                state,
            } => keyframes.push(Keyframe {
                tick,
                roster,
                state,
            }),
            Record::Pending { .. } | Record::Hash { .. } => {}
        }
    }
    Ok(Loaded {
        header,
        ticks,
        keyframes,
    })
}

/// Applies the commands recorded before tick `tick` to `game`, as the room did.
pub fn apply_commands<G: Game>(
    game: &mut G,
    tick: u64,
    commands: Vec<Command<G::Input>>,
) -> Result<(), ReplayError> {
    apply(game, tick, commands)
}

/// The replicated entities of a replay of game `G` after tick `at` (0 = before the first
/// step), by id, re-simulated from the newest keyframe before it. Hashes are not checked:
/// [`verify`] does that.
pub fn state_at<G: Game>(bytes: &[u8], at: u64) -> Result<Vec<G::Entity>, ReplayError> {
    let loaded = load::<G>(bytes)?;
    let last = loaded.ticks.len() as u64;
    if at > last {
        return Err(ReplayError::NoSuchTick { wanted: at, last });
    }
    let (game, _) = loaded.game_at(at)?;
    let mut entities = Vec::new();
    game.entities(&mut entities);
    entities.sort_by_key(|e| e.id());
    Ok(entities)
}

/// Applies one tick's (or the tail's) commands to `game`.
fn apply<G: Game>(
    game: &mut G,
    tick: u64,
    commands: Vec<Command<G::Input>>,
) -> Result<(), ReplayError> {
    for command in commands {
        match command {
            Command::Join { name, player } => {
                let got = game.join(&name);
                if got != player {
                    return Err(ReplayError::JoinId {
                        tick,
                        name,
                        want: player,
                        got,
                    });
                }
            }
            Command::Leave { player } => game.leave(player),
            Command::Input {
                player,
                input,
                seen,
            } => game.input(player, input, seen),
            Command::Fault => panic!("fault injection: the room was asked to panic at tick {tick}"),
        }
    }
    Ok(())
}

/// Records a room as it runs: the caller reports each command before the step, then
/// [`Recorder::stepped`] after it.
#[derive(Debug)]
pub struct Recorder<I> {
    pending: Vec<Command<I>>,
    out: Vec<u8>,
}

impl<I: Serialize> Recorder<I> {
    /// A recorder whose first frame is `header`.
    pub fn new<S: Serialize>(header: &Header<S>) -> Result<Self, EncodeError> {
        let mut out = Vec::new();
        write_frame(header, &mut out)?;
        Ok(Self {
            pending: Vec::new(),
            out,
        })
    }

    /// A command applied before the next step.
    pub fn command(&mut self, command: Command<I>) {
        self.pending.push(command);
    }

    /// `game` stepped (to `game.tick()`); every [`HASH_EVERY`] ticks its hash and entity
    /// digests are recorded, every [`KEYFRAME_EVERY`] its whole state with `roster()`, who is
    /// in the room.
    pub fn stepped<G: Game<Input = I>>(
        &mut self,
        game: &G,
        roster: impl FnOnce() -> Vec<(EntityId, String)>,
    ) -> Result<(), EncodeError> {
        let tick = game.tick();
        let commands = std::mem::take(&mut self.pending);
        write_frame(&Record::Tick { tick, commands }, &mut self.out)?;
        if tick % HASH_EVERY == 0 {
            self.hash(game)?;
        }
        // A keyframe too big for a reader to accept is left out: seeking past it re-simulates.
        if tick % KEYFRAME_EVERY == 0
            && let Some(state) = game.save().filter(|s| s.len() < MAX_RECORD_BYTES / 2)
        {
            let record = Record::<I>::Keyframe {
                tick,
                roster: roster(),
                state,
            };
            write_frame(&record, &mut self.out)?;
        }
        Ok(())
    }

    fn hash<G: Game<Input = I>>(&mut self, game: &G) -> Result<(), EncodeError> {
        let record = Record::<I>::Hash {
            tick: game.tick(),
            hash: game.state_hash(),
            entities: entity_digests(game),
        };
        write_frame(&record, &mut self.out)
    }

    /// The bytes written so far and not yet taken.
    pub fn bytes(&self) -> &[u8] {
        &self.out
    }

    /// Closes the replay of a room that stops: the commands since its last tick, then the hash
    /// of the state they left `game` in, so its last ticks are checked too.
    pub fn finish<G: Game<Input = I>>(&mut self, game: &G) -> Result<(), EncodeError> {
        let commands = std::mem::take(&mut self.pending);
        if !commands.is_empty() {
            write_frame(&Record::Pending { commands }, &mut self.out)?;
        }
        self.hash(game)
    }

    /// Closes the replay of a room whose game panicked going to `tick`: that tick's commands,
    /// so that replaying it reaches the same panic.
    pub fn failed(&mut self, tick: u64) -> Result<(), EncodeError> {
        let commands = std::mem::take(&mut self.pending);
        write_frame(&Record::Tick { tick, commands }, &mut self.out)
    }

    /// Takes the bytes written so far (to append them to the replay's file).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// A header for a room of game `G`.
pub fn header_for<G: Game>(
    room: &str,
    map: &str,
    settings: G::Settings,
    tick_rate: u16,
    snapshot_rate: u16,
    seed: u64,
) -> Header<G::Settings> {
    Header {
        format: FORMAT_VERSION,
        protocol: PROTOCOL_VERSION,
        game: G::NAME.into(),
        room: room.into(),
        settings,
        map: map.into(),
        tick_rate,
        snapshot_rate,
        seed,
    }
}

/// The name of the game a replay is of, read from its header without knowing the game.
pub fn game_of(bytes: &[u8]) -> Result<String, ReplayError> {
    let (format, _protocol, game): (u16, u16, String) =
        read_frame(&mut &bytes[..]).ok_or_else(|| ReplayError::Format("no header".into()))??;
    if format != FORMAT_VERSION {
        return Err(ReplayError::Format(format!(
            "format {format}, this build reads format {FORMAT_VERSION}"
        )));
    }
    Ok(game)
}

#[cfg(test)]
mod drift_tests {
    use super::*;

    #[test]
    fn drifts_name_changed_missing_and_extra_entities_by_id() {
        let e = EntityId;
        let want = [(e(1), 10), (e(2), 20), (e(4), 40), (e(6), 60)];
        let got = [(e(1), 10), (e(2), 21), (e(3), 30), (e(6), 60), (e(7), 70)];
        assert_eq!(
            drifts(&want, &got),
            [
                Drift::Differs(e(2)),
                Drift::Extra(e(3)),
                Drift::Missing(e(4)),
                Drift::Extra(e(7))
            ]
        );
        assert_eq!(
            describe_drifts(&drifts(&want, &got)),
            "#2 differs, #3 extra, #4 missing, #7 extra"
        );
        assert!(describe_drifts(&[]).contains("hidden state"));
        let many: Vec<_> = (0..20).map(|i| Drift::Differs(e(i))).collect();
        assert!(describe_drifts(&many).ends_with("and 4 more"));
    }
}
