//! Replays (issue 13, work in progress: not yet recorded by rooms): everything that changed a
//! room, tick by tick, so the room can be re-simulated bit for bit and checked against the
//! state hashes it recorded.
//!
//! A replay is a [`Header`] (format, protocol, game, settings, tick rate, seed) and then
//! [`Record`]s: for every tick, the commands applied before it was stepped (joins with the id
//! the game gave, leaves, each player's applied input, an injected fault), and every
//! [`HASH_EVERY`] ticks the state hash after it. Each is one bincode frame with a length
//! prefix, so a file cut short by a crash still reads up to its last whole record.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::game::{EntityId, Game, Rewind};
use crate::protocol::{EncodeError, PROTOCOL_VERSION, encode_into};

/// The replay format this build writes and reads.
pub const FORMAT_VERSION: u16 = 2;
/// Ticks between recorded state hashes.
pub const HASH_EVERY: u64 = 30;
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
    },
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
    #[error("tick {tick}: state hash {got:#018x}, recorded {want:#018x}")]
    Mismatch {
        /// The first tick whose hash differs.
        tick: u64,
        /// The recorded hash.
        want: u64,
        /// The re-simulated hash.
        got: u64,
    },
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

/// Re-simulates a replay of game `G` from its header and checks every recorded hash.
pub fn verify<G: Game>(bytes: &[u8]) -> Result<Verified, ReplayError> {
    let mut rest = bytes;
    let header = read_header::<G>(&mut rest)?;
    let mut game = G::new(&header.settings, header.tick_rate, header.seed);
    let mut verified = Verified {
        ticks: 0,
        hashes: 0,
        unread: 0,
    };
    while let Some(record) = read_frame::<Record<G::Input>>(&mut rest) {
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
            Record::Hash { tick, hash } => {
                let got = game.state_hash();
                if got != hash || game.tick() != tick {
                    return Err(ReplayError::Mismatch {
                        tick,
                        want: hash,
                        got,
                    });
                }
                verified.hashes += 1;
            }
        }
    }
    verified.unread = rest.len();
    Ok(verified)
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

    /// The game stepped to `tick`, reaching `hash` (checked every [`HASH_EVERY`] ticks).
    pub fn stepped(&mut self, tick: u64, hash: impl FnOnce() -> u64) -> Result<(), EncodeError> {
        let commands = std::mem::take(&mut self.pending);
        write_frame(&Record::Tick { tick, commands }, &mut self.out)?;
        if tick % HASH_EVERY == 0 {
            write_frame(&Record::<I>::Hash { tick, hash: hash() }, &mut self.out)?;
        }
        Ok(())
    }

    /// The bytes written so far and not yet taken.
    pub fn bytes(&self) -> &[u8] {
        &self.out
    }

    /// Closes the replay of a room that stops: the commands since its last tick, then the hash
    /// of the state they left at `tick`, so its last ticks are checked too.
    pub fn finish(&mut self, tick: u64, hash: u64) -> Result<(), EncodeError> {
        let commands = std::mem::take(&mut self.pending);
        if !commands.is_empty() {
            write_frame(&Record::Pending { commands }, &mut self.out)?;
        }
        write_frame(&Record::<I>::Hash { tick, hash }, &mut self.out)
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
