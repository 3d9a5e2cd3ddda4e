//! The lobby actor: owns the rooms of every game. It places players (a named room, or
//! quick-play into the fullest room of their game with space), creates rooms on demand up to
//! `max_rooms` with the options a `Hello` asks for (within the server's limits), enforces each
//! room's `max_players`, and disposes of a room when its last player leaves.
//!
//! The lobby's count for a room includes seats reserved for joins still in flight, and a room is
//! disposed only when that count reaches zero, so a join can never land in a room being torn
//! down. Matchmade seats ([`ReserveSeat`]) count the same way until their join arrives (it then
//! takes its seat whatever else happened meanwhile: the room filled, the server started to
//! drain) or their hold ends.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix::prelude::*;
use arena_shared::{Game, RoomOptions};
use tracing::info;

use crate::close::Farewell;
use crate::operations::config::Config;
use crate::operations::metrics::Metrics;
use crate::operations::replays::ReplayStore;
use crate::rooms::catalog::Catalog;
use crate::rooms::messages::{
    Admission, CloseRoom, Drain, FindRoom, FoundRoom, JoinRequest, ListRooms, LobbyLink,
    PlayerJoining, PlayerLeft, PlayerResuming, ReserveSeat, ResumeRequest, RoomHandle, RoomId,
    RoomInfo, RoomStats, RoomStopped, Shutdown, SpectateRequest, SpectatorAdmission,
    SpectatorJoining, WatchReplay,
};
use crate::rooms::playback::{Playback, PlaybackStopped};
use crate::rooms::room::{Room, RoomSettings, parse_resume_token};

/// How one room is set up: the server's defaults and the `Hello`'s options, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Setup {
    map: String,
    max_players: usize,
    tick_rate: u16,
    snapshot_rate: u16,
}

struct RoomEntry {
    name: String,
    /// The game it plays ([`Game::NAME`]).
    game: &'static str,
    setup: Setup,
    /// Quick-play rooms are public; a room created by name is private: quick-play never
    /// places anyone in it.
    public: bool,
    /// Who created a named room (address key), for `max_named_rooms_per_ip`.
    creator: Option<IpAddr>,
    /// The room's `Addr<Room<G>>` for its game `G`: each handler takes it back with its own
    /// game's type, so a connection of one game can never be seated in another's room.
    addr: Box<dyn Any + Send>,
    /// Where the room is told to close, whatever its game.
    close: Recipient<CloseRoom>,
    /// Seated players plus reservations for joins in flight, matchmade ones included.
    occupancy: usize,
    /// Matchmade seats not yet claimed: ticket nonce → when the hold ends, and the address
    /// of the client it was held for.
    reserved: HashMap<u64, (Instant, Option<IpAddr>)>,
    stats: Arc<RoomStats>,
    opened: Instant,
}

impl RoomEntry {
    /// The room's address, if it plays `G`.
    fn addr<G: Game>(&self) -> Result<Addr<Room<G>>, Farewell> {
        self.addr
            .downcast_ref::<Addr<Room<G>>>()
            .cloned()
            .ok_or_else(|| Farewell::WrongGame(format!("room {} plays {}", self.name, self.game)))
    }
}

/// The lobby actor.
pub struct Lobby {
    config: Arc<Config>,
    catalog: Arc<Catalog>,
    metrics: Arc<Metrics>,
    /// Where rooms record their replays, if anywhere.
    replays: Option<ReplayStore>,
    rooms: BTreeMap<RoomId, RoomEntry>,
    by_name: HashMap<String, RoomId>,
    next_room: u64,
    shutting_down: bool,
    /// Draining: no new rooms or seats; resumes and spectators still come in.
    draining: bool,
    /// Replays being watched, each closed on shutdown.
    playbacks: HashMap<u64, Recipient<CloseRoom>>,
    next_playback: u64,
}

/// Replays watched at once, server-wide: each holds its replay's commands in memory (up to
/// `max_replay_bytes_per_room` of file) and re-simulates its game.
pub const MAX_PLAYBACKS: usize = 16;

impl Lobby {
    /// A lobby with no rooms.
    pub fn new(
        config: Arc<Config>,
        catalog: Arc<Catalog>,
        metrics: Arc<Metrics>,
        replays: Option<ReplayStore>,
    ) -> Self {
        Self {
            config,
            catalog,
            metrics,
            replays,
            rooms: BTreeMap::new(),
            by_name: HashMap::new(),
            next_room: 1,
            shutting_down: false,
            draining: false,
            playbacks: HashMap::new(),
            next_playback: 1,
        }
    }

    /// The room a join should go to, reserving a seat in it; creating it when needed.
    fn place<G: Game>(
        &mut self,
        wanted: Option<&str>,
        options: Option<&RoomOptions>,
        // The seat held for this join, if any; whether quick-play may open a room for it.
        (reservation, may_open): (Option<u64>, bool),
        creator: Option<IpAddr>,
        arbiter: &ArbiterHandle,
        ctx: &mut Context<Self>,
    ) -> Result<(RoomId, Addr<Room<G>>), Farewell> {
        if self.shutting_down {
            return Err(Farewell::ShuttingDown);
        }
        self.release_expired();
        // A matchmade join takes the seat held for it, full room or drain notwithstanding:
        // the matchmaker promised it.
        if let (Some(name), Some(nonce)) = (wanted, reservation)
            && let Some(&id) = self.by_name.get(name)
            && let Some(entry) = self.rooms.get_mut(&id)
            && entry.reserved.contains_key(&nonce)
        {
            // The game first: a ticket presented on another game's endpoint keeps its seat
            // (until its hold ends), or the seat would never be given back.
            let addr = entry.addr::<G>()?;
            entry.reserved.remove(&nonce);
            self.metrics
                .seat_reservations
                .with_label_values(&["claimed"])
                .inc();
            return Ok((id, addr));
        }
        if self.draining {
            return Err(Farewell::Draining);
        }
        // Checked whether or not the room exists: a Hello out of bounds is refused the same
        // way every time, not only when it happens to create a room.
        let (setup, game_settings) = self.setup::<G>(options)?;
        let existing = match wanted {
            Some(name) => self.by_name.get(name).copied(),
            // Fullest public room of the game with space and exactly this setup (so players
            // asking for nothing never land in a room someone set to 60 Hz); the oldest among
            // equals, so rooms fill in a stable order.
            None => self
                .rooms
                .iter()
                .filter(|(_, r)| {
                    r.public
                        && r.game == G::NAME
                        && r.occupancy < r.setup.max_players
                        && r.setup == setup
                })
                .max_by(|a, b| a.1.occupancy.cmp(&b.1.occupancy).then(b.0.cmp(a.0)))
                .map(|(id, _)| *id),
        };
        let id = match existing {
            Some(id) => id,
            None if !may_open => {
                return Err(Farewell::RoomFull(
                    "no public room with a free seat here".into(),
                ));
            }
            None => {
                // A quick-play room with the server's setup is the server's choice, and each
                // needs a full room of players from one address before that address causes
                // another; one with options of the client's making is charged to it, like a
                // named room (else `max_players: 1` would open a room per connection).
                let charged = wanted.is_some() || options.is_some();
                let creator = creator.filter(|_| charged);
                self.open_room::<G>(wanted, setup, game_settings, creator, arbiter, ctx)?
            }
        };
        let entry = self.rooms.get_mut(&id).ok_or(Farewell::RoomClosed)?;
        let addr = entry.addr::<G>()?;
        let max = entry.setup.max_players;
        if entry.occupancy >= max {
            return Err(Farewell::RoomFull(format!(
                "{} ({}/{max})",
                entry.name, entry.occupancy
            )));
        }
        entry.occupancy += 1;
        Ok((id, addr))
    }

    /// The server's defaults with `options` applied, refused when outside the server's limits
    /// or naming a map `G` does not have.
    /// With the setup, the map's settings, for a room this creates.
    fn setup<G: Game>(
        &self,
        options: Option<&RoomOptions>,
    ) -> Result<(Setup, Arc<G::Settings>), Farewell> {
        let c = &self.config;
        let o = options.cloned().unwrap_or_default();
        let tick_rate = o.tick_rate.unwrap_or(c.tick_rate);
        if !(1..=c.effective_max_tick_rate()).contains(&tick_rate) {
            return Err(Farewell::BadOptions(format!(
                "tick_rate {tick_rate} is outside 1..={}",
                c.effective_max_tick_rate()
            )));
        }
        // `snapshot_rate = 0` in the config means one per tick, of this room's tick.
        let default_snapshot_rate = match c.snapshot_rate {
            0 => tick_rate,
            rate => rate.min(tick_rate),
        };
        let snapshot_rate = o.snapshot_rate.unwrap_or(default_snapshot_rate);
        if !(1..=tick_rate).contains(&snapshot_rate) {
            return Err(Farewell::BadOptions(format!(
                "snapshot_rate {snapshot_rate} is outside 1..={tick_rate} (the tick rate)"
            )));
        }
        let max_players = o.max_players.map_or(c.max_players, usize::from);
        if !(1..=c.max_players).contains(&max_players) {
            return Err(Farewell::BadOptions(format!(
                "max_players {max_players} is outside 1..={}",
                c.max_players
            )));
        }
        // Resolved to the map's name, so "the default map" and the default's name match.
        let (map, settings) = self
            .catalog
            .settings::<G>(o.map.as_deref())
            .map_err(Farewell::BadOptions)?;
        let setup = Setup {
            map,
            max_players,
            tick_rate,
            snapshot_rate,
        };
        Ok((setup, settings))
    }

    /// Opens a room of `G` set up as `setup`, with that map's `game_settings`; `creator` is
    /// the address charged for it (`max_named_rooms_per_ip`), if any.
    fn open_room<G: Game>(
        &mut self,
        wanted: Option<&str>,
        setup: Setup,
        game_settings: Arc<G::Settings>,
        creator: Option<IpAddr>,
        arbiter: &ArbiterHandle,
        ctx: &mut Context<Self>,
    ) -> Result<RoomId, Farewell> {
        if self.rooms.len() >= self.config.max_rooms {
            return Err(Farewell::ServerFull);
        }
        if let Some(ip) = creator {
            let max = self.config.max_named_rooms_per_ip;
            let held = self
                .rooms
                .values()
                .filter(|r| r.creator == Some(ip))
                .count();
            if held >= max {
                return Err(Farewell::RoomQuota(max));
            }
        }
        let id = RoomId(self.next_room);
        self.next_room += 1;
        let name = match wanted {
            Some(n) => n.to_owned(),
            None => {
                let mut n = id.0;
                while self.by_name.contains_key(&format!("room-{n}")) {
                    n += 1;
                }
                format!("room-{n}")
            }
        };
        let seed = match self.config.room_seed {
            0 => rand::random(),
            s => s,
        };
        let settings = RoomSettings::<G> {
            tick_rate: setup.tick_rate,
            snapshot_rate: setup.snapshot_rate,
            view: (!self.config.full_snapshots)
                .then_some((self.config.view_width, self.config.view_height)),
            settings: game_settings,
            map: setup.map.clone(),
            replays: self.replays.clone(),
            seed,
            slow_client_timeout: self.config.slow_client_timeout(),
            mailbox_capacity: setup.max_players * 4 + 16,
            fault_injection: self.config.fault_injection,
            max_spectators: self.config.max_spectators,
            spectator_delay: self.config.spectator_delay(),
            max_rewind: self.config.max_rewind(),
            resume_grace: self.config.resume_grace(),
            metrics: self.metrics.clone(),
        };
        let stats = Arc::new(RoomStats::default());
        let me = ctx.address();
        let lobby = LobbyLink {
            left: me.clone().recipient(),
            stopped: me.recipient(),
        };
        let (room_name, room_stats) = (name.clone(), stats.clone());
        // On the joining session's thread: its sessions and room then share a core, which
        // measured ~25% less CPU and half the p99 RTT (shared/ACTIX-FACTS.md).
        let addr = Room::start_in_arbiter(arbiter, move |_| {
            Room::new(id, room_name, settings, lobby, room_stats)
        });
        info!(room = %name, game = G::NAME, map = %setup.map, tick_rate = setup.tick_rate, snapshot_rate = setup.snapshot_rate, max_players = setup.max_players, "room created");
        self.by_name.insert(name.clone(), id);
        self.rooms.insert(
            id,
            RoomEntry {
                name,
                game: G::NAME,
                setup,
                public: wanted.is_none(),
                creator,
                close: addr.clone().recipient(),
                addr: Box::new(addr),
                occupancy: 0,
                reserved: HashMap::new(),
                stats,
                opened: Instant::now(),
            },
        );
        Ok(id)
    }

    /// Gives back the matchmade seats whose hold ended, disposing of rooms left empty.
    fn release_expired(&mut self) {
        let now = Instant::now();
        let mut emptied = Vec::new();
        for (id, entry) in &mut self.rooms {
            let before = entry.reserved.len();
            entry.reserved.retain(|_, (until, _)| *until > now);
            let released = before - entry.reserved.len();
            if released > 0 {
                self.metrics
                    .seat_reservations
                    .with_label_values(&["expired"])
                    .inc_by(released as u64);
                entry.occupancy = entry.occupancy.saturating_sub(released);
                if entry.occupancy == 0 {
                    emptied.push(*id);
                }
            }
        }
        for id in emptied {
            if let Some(entry) = self.rooms.get(&id) {
                info!(room = %entry.name, "matchmade seats unused; disposing room");
            }
            self.dispose(id, Farewell::RoomClosed);
        }
    }

    fn dispose(&mut self, id: RoomId, farewell: Farewell) {
        if let Some(entry) = self.rooms.remove(&id) {
            self.by_name.remove(&entry.name);
            entry.close.do_send(CloseRoom { farewell });
        }
    }
}

/// The recipients a session uses to talk to `room`.
fn handle_of<G: Game>(room: &Addr<Room<G>>) -> RoomHandle {
    RoomHandle {
        detached: room.clone().recipient(),
        leaving: room.clone().recipient(),
        chat: room.clone().recipient(),
        spectator_leaving: room.clone().recipient(),
        playback: None,
    }
}

impl Actor for Lobby {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Unused matchmade seats go back within a second of their hold ending, even in a
        // room nobody else asks for.
        ctx.run_interval(RESERVATION_SWEEP, |lobby, _| lobby.release_expired());
    }
}

/// How often held seats are checked for an ended hold.
const RESERVATION_SWEEP: Duration = Duration::from_secs(1);

impl<G: Game> Handler<JoinRequest<G>> for Lobby {
    type Result = ResponseFuture<Result<Admission<G>, Farewell>>;

    fn handle(&mut self, msg: JoinRequest<G>, ctx: &mut Self::Context) -> Self::Result {
        let placed = self.place::<G>(
            msg.room.as_deref(),
            msg.options.as_ref(),
            (msg.reservation, true),
            msg.creator,
            &msg.arbiter,
            ctx,
        );
        Box::pin(async move {
            let (_, room) = placed?;
            // A room that died between the reservation and here has already told the lobby
            // (RoomStopped), which forgot it: nothing to undo.
            let seated = room
                .send(PlayerJoining {
                    name: msg.name,
                    link: msg.link,
                })
                .await
                .map_err(|_| Farewell::RoomClosed)?;
            Ok(Admission {
                room: handle_of(&room),
                seated,
            })
        })
    }
}

impl<G: Game> Handler<ReserveSeat<G>> for Lobby {
    type Result = Result<String, Farewell>;

    fn handle(&mut self, msg: ReserveSeat<G>, ctx: &mut Self::Context) -> Self::Result {
        // Seats held and never used would keep rooms full for everyone else: an address holds
        // a bounded number at once (the holds of one address are rare and short when its
        // players join).
        if let Some(ip) = msg.creator {
            self.release_expired();
            let max = self.config.max_held_seats_per_ip;
            let held = self
                .rooms
                .values()
                .flat_map(|r| r.reserved.values())
                .filter(|(_, by)| *by == Some(ip))
                .count();
            if held >= max {
                return Err(Farewell::HeldSeats(max));
            }
        }
        let (id, _) = self.place::<G>(
            msg.room.as_deref(),
            None,
            (None, msg.may_open || msg.room.is_some()),
            msg.creator,
            &msg.arbiter,
            ctx,
        )?;
        let entry = self.rooms.get_mut(&id).ok_or(Farewell::RoomClosed)?;
        entry
            .reserved
            .insert(msg.nonce, (Instant::now() + msg.hold, msg.creator));
        self.metrics
            .seat_reservations
            .with_label_values(&["reserved"])
            .inc();
        Ok(entry.name.clone())
    }
}

impl<G: Game> Handler<ResumeRequest<G>> for Lobby {
    type Result = ResponseFuture<Result<Admission<G>, Farewell>>;

    fn handle(&mut self, msg: ResumeRequest<G>, _: &mut Self::Context) -> Self::Result {
        let target = parse_resume_token(&msg.token)
            .ok_or_else(|| Farewell::ResumeFailed("malformed resume token".into()))
            .and_then(|(room, player, secret)| match self.rooms.get(&room) {
                Some(entry) if !self.shutting_down => {
                    Ok((entry.addr::<G>()?, player, secret.to_owned()))
                }
                _ => Err(Farewell::ResumeFailed("that room is gone".into())),
            });
        Box::pin(async move {
            let (room, player, secret) = target?;
            let seated = room
                .send(PlayerResuming {
                    player,
                    secret,
                    link: msg.link,
                })
                .await
                .map_err(|_| Farewell::ResumeFailed("that room is gone".into()))??;
            Ok(Admission {
                room: handle_of(&room),
                seated,
            })
        })
    }
}

impl<G: Game> Handler<SpectateRequest<G>> for Lobby {
    type Result = ResponseFuture<Result<SpectatorAdmission<G>, Farewell>>;

    fn handle(&mut self, msg: SpectateRequest<G>, _: &mut Self::Context) -> Self::Result {
        let room = match self
            .by_name
            .get(&msg.room)
            .and_then(|id| self.rooms.get(id))
        {
            Some(entry) if !self.shutting_down => entry.addr::<G>(),
            Some(_) => Err(Farewell::ShuttingDown),
            None => Err(Farewell::NoSuchRoom(msg.room)),
        };
        Box::pin(async move {
            let room = room?;
            let watching = room
                .send(SpectatorJoining { link: msg.link })
                .await
                .map_err(|_| Farewell::RoomClosed)??;
            Ok(SpectatorAdmission {
                room: handle_of(&room),
                watching,
            })
        })
    }
}

impl<G: Game> Handler<WatchReplay<G>> for Lobby {
    type Result = ResponseFuture<Result<SpectatorAdmission<G>, Farewell>>;

    fn handle(&mut self, msg: WatchReplay<G>, ctx: &mut Self::Context) -> Self::Result {
        if self.shutting_down {
            return Box::pin(async { Err(Farewell::ShuttingDown) });
        }
        if self.playbacks.len() >= MAX_PLAYBACKS {
            return Box::pin(async { Err(Farewell::ServerFull) });
        }
        let id = self.next_playback;
        self.next_playback += 1;
        let stopped = ctx.address().recipient();
        let WatchReplay {
            id: replay_id,
            bytes,
            link,
            arbiter,
        } = msg;
        // Read on the viewer's thread, not here: a large replay takes milliseconds to decode.
        let addr = Playback::<G>::start_in_arbiter(&arbiter, move |_| {
            Playback::new(id, &replay_id, &bytes, stopped)
        });
        self.playbacks.insert(id, addr.clone().recipient());
        Box::pin(async move {
            let watching = addr
                .send(SpectatorJoining { link })
                .await
                .map_err(|_| Farewell::RoomClosed)??;
            Ok(SpectatorAdmission {
                room: RoomHandle {
                    detached: addr.clone().recipient(),
                    leaving: addr.clone().recipient(),
                    chat: addr.clone().recipient(),
                    spectator_leaving: addr.clone().recipient(),
                    playback: Some(addr.recipient()),
                },
                watching,
            })
        })
    }
}

impl Handler<PlaybackStopped> for Lobby {
    type Result = ();

    fn handle(&mut self, msg: PlaybackStopped, _: &mut Self::Context) {
        self.playbacks.remove(&msg.id);
    }
}

impl Handler<FindRoom> for Lobby {
    type Result = Option<FoundRoom>;

    fn handle(&mut self, msg: FindRoom, _: &mut Self::Context) -> Self::Result {
        let entry = self.rooms.get(self.by_name.get(&msg.name)?)?;
        Some(FoundRoom {
            name: entry.name.clone(),
            game: entry.game,
            tick_rate: entry.setup.tick_rate,
            stats: entry.stats.clone(),
        })
    }
}

impl Handler<PlayerLeft> for Lobby {
    type Result = ();

    fn handle(&mut self, msg: PlayerLeft, _: &mut Self::Context) {
        let Some(entry) = self.rooms.get_mut(&msg.room) else {
            return;
        };
        entry.occupancy = entry.occupancy.saturating_sub(1);
        if entry.occupancy == 0 {
            info!(room = %entry.name, "last player left; disposing room");
            self.dispose(msg.room, Farewell::RoomClosed);
        }
    }
}

impl Handler<RoomStopped> for Lobby {
    type Result = ();

    fn handle(&mut self, msg: RoomStopped, _: &mut Self::Context) {
        if let Some(entry) = self.rooms.remove(&msg.room) {
            self.by_name.remove(&entry.name);
        }
    }
}

impl Handler<ListRooms> for Lobby {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, _: ListRooms, _: &mut Self::Context) -> Self::Result {
        let now = Instant::now();
        MessageResult(
            self.rooms
                .iter()
                .map(|(id, r)| RoomInfo {
                    id: id.0,
                    name: r.name.clone(),
                    game: r.game,
                    map: r.setup.map.clone(),
                    public: r.public,
                    players: r.stats.players.load(Ordering::Relaxed),
                    detached_players: r.stats.detached.load(Ordering::Relaxed),
                    max_players: r.setup.max_players,
                    tick_rate: r.setup.tick_rate,
                    snapshot_rate: r.setup.snapshot_rate,
                    uptime_s: (now - r.opened).as_secs_f64(),
                    ticks: r.stats.ticks.load(Ordering::Relaxed),
                    tick_overruns: r.stats.overruns.load(Ordering::Relaxed),
                    skipped_snapshots: r.stats.skipped_snapshots.load(Ordering::Relaxed),
                    dropped_inputs: r.stats.dropped_inputs.load(Ordering::Relaxed),
                    spectators: r.stats.spectators.load(Ordering::Relaxed),
                    reserved: r.reserved.len(),
                })
                .collect(),
        )
    }
}

impl Handler<Drain> for Lobby {
    type Result = ();

    fn handle(&mut self, _: Drain, _: &mut Self::Context) {
        self.draining = true;
    }
}

impl Handler<Shutdown> for Lobby {
    type Result = ();

    fn handle(&mut self, _: Shutdown, _: &mut Self::Context) {
        self.shutting_down = true;
        for playback in self.playbacks.values() {
            playback.do_send(CloseRoom {
                farewell: Farewell::ShuttingDown,
            });
        }
        let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
        for id in ids {
            self.dispose(id, Farewell::ShuttingDown);
        }
    }
}
