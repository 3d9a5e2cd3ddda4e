//! The lobby actor: owns the rooms. It places players (a named room, or quick-play into the
//! fullest room with space), creates rooms on demand up to `max_rooms`, enforces `max_players`,
//! and disposes of a room when its last player leaves.
//!
//! The lobby's count for a room includes seats reserved for joins still in flight, and a room is
//! disposed only when that count reaches zero, so a join can never land in a room being torn
//! down.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use actix::prelude::*;
use arena_shared::Map;
use tracing::info;

use crate::close::Farewell;
use crate::operations::config::Config;
use crate::operations::metrics::Metrics;
use crate::rooms::messages::{
    Admission, CloseRoom, FindRoom, JoinRequest, ListRooms, LobbyLink, PlayerJoining, PlayerLeft,
    PlayerResuming, ResumeRequest, RoomHandle, RoomId, RoomInfo, RoomStats, RoomStopped, Shutdown,
    SpectateRequest, SpectatorAdmission, SpectatorJoining,
};
use crate::rooms::room::{Room, RoomSettings, parse_resume_token};

struct RoomEntry {
    name: String,
    /// Quick-play rooms are public; a room created by name is private: quick-play never
    /// places anyone in it.
    public: bool,
    /// Who created a named room (address key), for `max_named_rooms_per_ip`.
    creator: Option<IpAddr>,
    addr: Addr<Room>,
    /// Seated players plus reservations for joins in flight.
    occupancy: usize,
    stats: Arc<RoomStats>,
    opened: Instant,
}

/// The lobby actor.
pub struct Lobby {
    config: Arc<Config>,
    map: Arc<Map>,
    metrics: Arc<Metrics>,
    rooms: BTreeMap<RoomId, RoomEntry>,
    by_name: HashMap<String, RoomId>,
    next_room: u64,
    shutting_down: bool,
}

impl Lobby {
    /// A lobby with no rooms.
    pub fn new(config: Arc<Config>, map: Arc<Map>, metrics: Arc<Metrics>) -> Self {
        Self {
            config,
            map,
            metrics,
            rooms: BTreeMap::new(),
            by_name: HashMap::new(),
            next_room: 1,
            shutting_down: false,
        }
    }

    /// The room a join should go to, reserving a seat in it; creating it when needed.
    fn place(
        &mut self,
        wanted: Option<&str>,
        creator: Option<IpAddr>,
        arbiter: &ArbiterHandle,
        ctx: &mut Context<Self>,
    ) -> Result<RoomId, Farewell> {
        if self.shutting_down {
            return Err(Farewell::ShuttingDown);
        }
        let max = self.config.max_players;
        let existing = match wanted {
            Some(name) => self.by_name.get(name).copied(),
            // Fullest public room with space; the oldest among equals, so rooms fill in a
            // stable order.
            None => self
                .rooms
                .iter()
                .filter(|(_, r)| r.public && r.occupancy < max)
                .max_by(|a, b| a.1.occupancy.cmp(&b.1.occupancy).then(b.0.cmp(a.0)))
                .map(|(id, _)| *id),
        };
        let id = match existing {
            Some(id) => id,
            None => self.open_room(wanted, creator, arbiter, ctx)?,
        };
        let entry = self.rooms.get_mut(&id).ok_or(Farewell::RoomClosed)?;
        if entry.occupancy >= max {
            return Err(Farewell::RoomFull(format!(
                "{} ({}/{max})",
                entry.name, entry.occupancy
            )));
        }
        entry.occupancy += 1;
        Ok(id)
    }

    fn open_room(
        &mut self,
        wanted: Option<&str>,
        creator: Option<IpAddr>,
        arbiter: &ArbiterHandle,
        ctx: &mut Context<Self>,
    ) -> Result<RoomId, Farewell> {
        if self.rooms.len() >= self.config.max_rooms {
            return Err(Farewell::ServerFull);
        }
        // Only named rooms count against their creator: quick-play rooms are the server's
        // choice, and each needs a full room of players from that address first.
        let creator = wanted.and(creator);
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
        let settings = RoomSettings {
            tick_rate: self.config.tick_rate,
            snapshot_rate: self.config.effective_snapshot_rate(),
            view: (!self.config.full_snapshots)
                .then_some((self.config.view_width, self.config.view_height)),
            map: self.map.clone(),
            rules: self.config.rules.clone(),
            seed,
            slow_client_timeout: self.config.slow_client_timeout(),
            mailbox_capacity: self.config.max_players * 4 + 16,
            fault_injection: self.config.fault_injection,
            max_spectators: self.config.max_spectators,
            spectator_delay: self.config.spectator_delay(),
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
        self.by_name.insert(name.clone(), id);
        self.rooms.insert(
            id,
            RoomEntry {
                name,
                public: wanted.is_none(),
                creator,
                addr,
                occupancy: 0,
                stats,
                opened: Instant::now(),
            },
        );
        Ok(id)
    }

    fn dispose(&mut self, id: RoomId, farewell: Farewell) {
        if let Some(entry) = self.rooms.remove(&id) {
            self.by_name.remove(&entry.name);
            entry.addr.do_send(CloseRoom { farewell });
        }
    }
}

/// The recipients a session uses to talk to `room`.
fn handle_of(room: &Addr<Room>) -> RoomHandle {
    RoomHandle {
        detached: room.clone().recipient(),
        leaving: room.clone().recipient(),
        chat: room.clone().recipient(),
        spectator_leaving: room.clone().recipient(),
    }
}

impl Actor for Lobby {
    type Context = Context<Self>;
}

impl Handler<JoinRequest> for Lobby {
    type Result = ResponseFuture<Result<Admission, Farewell>>;

    fn handle(&mut self, msg: JoinRequest, ctx: &mut Self::Context) -> Self::Result {
        let placed = self
            .place(msg.room.as_deref(), msg.creator, &msg.arbiter, ctx)
            .and_then(|id| {
                self.rooms
                    .get(&id)
                    .map(|r| r.addr.clone())
                    .ok_or(Farewell::RoomClosed)
            });
        Box::pin(async move {
            let room = placed?;
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

impl Handler<ResumeRequest> for Lobby {
    type Result = ResponseFuture<Result<Admission, Farewell>>;

    fn handle(&mut self, msg: ResumeRequest, _: &mut Self::Context) -> Self::Result {
        let target = parse_resume_token(&msg.token)
            .ok_or_else(|| Farewell::ResumeFailed("malformed resume token".into()))
            .and_then(|(room, player, secret)| match self.rooms.get(&room) {
                Some(entry) if !self.shutting_down => {
                    Ok((entry.addr.clone(), player, secret.to_owned()))
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

impl Handler<SpectateRequest> for Lobby {
    type Result = ResponseFuture<Result<SpectatorAdmission, Farewell>>;

    fn handle(&mut self, msg: SpectateRequest, _: &mut Self::Context) -> Self::Result {
        let room = match self
            .by_name
            .get(&msg.room)
            .and_then(|id| self.rooms.get(id))
        {
            Some(entry) if !self.shutting_down => Ok(entry.addr.clone()),
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

impl Handler<FindRoom> for Lobby {
    type Result = Option<(String, Arc<RoomStats>)>;

    fn handle(&mut self, msg: FindRoom, _: &mut Self::Context) -> Self::Result {
        let entry = self.rooms.get(self.by_name.get(&msg.name)?)?;
        Some((entry.name.clone(), entry.stats.clone()))
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
                .values()
                .map(|r| RoomInfo {
                    name: r.name.clone(),
                    public: r.public,
                    players: r.stats.players.load(Ordering::Relaxed),
                    detached_players: r.stats.detached.load(Ordering::Relaxed),
                    max_players: self.config.max_players,
                    tick_rate: self.config.tick_rate,
                    uptime_s: (now - r.opened).as_secs_f64(),
                    ticks: r.stats.ticks.load(Ordering::Relaxed),
                    tick_overruns: r.stats.overruns.load(Ordering::Relaxed),
                    skipped_snapshots: r.stats.skipped_snapshots.load(Ordering::Relaxed),
                    dropped_inputs: r.stats.dropped_inputs.load(Ordering::Relaxed),
                    spectators: r.stats.spectators.load(Ordering::Relaxed),
                })
                .collect(),
        )
    }
}

impl Handler<Shutdown> for Lobby {
    type Result = ();

    fn handle(&mut self, _: Shutdown, _: &mut Self::Context) {
        self.shutting_down = true;
        let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
        for id in ids {
            self.dispose(id, Farewell::ShuttingDown);
        }
    }
}
