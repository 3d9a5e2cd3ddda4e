//! The room actor: owns one game's state and runs it at a fixed tick rate, whatever the game.
//!
//! Tick N is due at `origin + N * period`. Each tick applies at most one queued input per
//! player (in sequence order; a player with none keeps the last one), steps the world, and,
//! `snapshot_rate` times a second (see [`schedule::snapshot_due`]), publishes the tick as a
//! shared [`TickView`] into each player's [`SnapshotSlot`](crate::rooms::slot::SnapshotSlot).
//! A session that has not taken its previous snapshot has it replaced, never queued, so a
//! client that stopped reading costs the room a counter increment, never a block or a growing
//! buffer; one that stays behind past `slow_client_timeout` has its connection closed (its
//! seat waits for a resume). The room touches no bytes: each session cuts its own view out of
//! the shared one and encodes it.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use arena_shared::game::{EntityId, Game, Rewind};
use arena_shared::interest::TickView;
use arena_shared::protocol::{MAX_CHAT_CHARS, RoomEvent, RoomEventOf};
use arena_shared::replay::{self, Command, Recorder};
use arena_shared::schedule;
use tracing::{debug, error, info, warn};

use crate::close::Farewell;
use crate::operations::metrics::Metrics;
use crate::operations::replays::{Chunk, ReplayStore};
use crate::rooms::encoder::InputStatus;
use crate::rooms::messages::{
    ChatReceived, CloseRoom, LobbyLink, PlayerDetached, PlayerJoining, PlayerLeaving, PlayerLeft,
    PlayerResuming, RoomClosed, RoomId, RoomStats, RoomStopped, Seated, SessionLink, SnapshotReady,
    SpectatorJoining, SpectatorLeaving, Watching,
};
use crate::rooms::slot::{Events, Offer, SharedFrame};

/// If a room falls this far behind its schedule (the process was suspended, the machine is
/// overloaded), it stops trying to catch up: the missed ticks are counted as overruns, logged,
/// and the schedule restarts from now. Catching up seconds of ticks back to back would only
/// freeze the room's players for longer.
const MAX_CATCH_UP: Duration = Duration::from_secs(1);
/// Overrun warnings are logged at most this often per room; the counter is always exact.
const OVERRUN_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// One snapshot as the room publishes it: the tick's shared view, and the events since the
/// previous snapshot (none: `None`).
type Published<G> = (Arc<TickView<<G as Game>::Entity>>, Option<Events<G>>);

/// What happened to a snapshot offered to one session.
#[derive(Debug, PartialEq, Eq)]
enum Delivery {
    /// In the slot (or replacing an unsent one, within the slow-client timeout).
    Offered,
    /// The session is gone without saying so.
    SessionGone,
    /// The client left a snapshot unread too long and has been dropped.
    TooSlow,
}

/// What a room needs to know at creation.
pub struct RoomSettings<G: Game> {
    /// Ticks per second.
    pub tick_rate: u16,
    /// Snapshots per second, at most `tick_rate` ([`schedule::snapshot_due`]).
    pub snapshot_rate: u16,
    /// The view box players are told about (`None` = whole map, with full snapshots).
    pub view: Option<(f32, f32)>,
    /// The game's settings (map, tuning), also sent to every client.
    pub settings: Arc<G::Settings>,
    /// The map's name (for the replay's header).
    pub map: String,
    /// Where the room records its replay; `None`: it does not.
    pub replays: Option<ReplayStore>,
    /// RNG seed.
    pub seed: u64,
    /// How long a session may leave a snapshot untaken before its player is dropped.
    pub slow_client_timeout: Duration,
    /// Mailbox capacity: joins, leaves, detaches and chat (inputs have their own queues).
    pub mailbox_capacity: usize,
    /// Honour the `/panic` chat command (tests of fault containment only).
    pub fault_injection: bool,
    /// Spectators a room admits at once.
    pub max_spectators: usize,
    /// How far in the past spectators and the state endpoint see the room.
    pub spectator_delay: Duration,
    /// How long a disconnected player's seat is kept for resume; zero = leave at once.
    pub resume_grace: Duration,
    /// The most an input's shots are rewound (lag compensation); zero = never.
    pub max_rewind: Duration,
    /// Server metrics.
    pub metrics: Arc<Metrics>,
}

/// The chat line that makes a room panic when fault injection is on.
pub const PANIC_COMMAND: &str = "/panic";

/// The chat line that blocks a room's thread for good when fault injection is on: a wedged
/// process (still running, its rooms no longer ticking), for the Agones health test.
pub const WEDGE_COMMAND: &str = "/wedge";

struct Seat<G: Game> {
    /// The player's display name, for rosters.
    name: String,
    /// `None` while the player is detached (connection lost, waiting to be resumed).
    link: Option<SessionLink<G>>,
    /// When a detached player is given up on.
    detached_until: Option<Instant>,
    /// The secret half of the player's resume token; a new one at every resume.
    secret: String,
    /// The secret a resume replaced, still accepted until the resuming connection is heard
    /// from (its first input or chat): a resume whose `Welcome` was lost with its connection
    /// must not cost the client its seat.
    previous_secret: Option<String>,
    /// The newest input applied, echoed in snapshots and in a resume's `Welcome`.
    last_input_seq: u32,
}

impl<G: Game> Seat<G> {
    /// Whether connection `link` holds this seat now.
    fn held_by(&self, link: u64) -> bool {
        self.link.as_ref().is_some_and(|l| l.id == link)
    }
}

/// A resume token: `ROOM.PLAYER.SECRET`, where the secret is 128 random bits in hex.
fn resume_token(room: RoomId, player: EntityId, secret: &str) -> String {
    format!("{}.{}.{secret}", room.0, player.0)
}

/// Splits a resume token into room, player and secret; `None` if it is not one.
pub fn parse_resume_token(token: &str) -> Option<(RoomId, EntityId, &str)> {
    let mut parts = token.splitn(3, '.');
    let room = parts.next()?.parse().ok()?;
    let player = parts.next()?.parse().ok()?;
    let secret = parts.next()?;
    (secret.len() == 32).then_some((RoomId(room), EntityId(player), secret))
}

/// The secret half of a resume token: 128 random bits in hex.
fn new_secret() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Compares secrets in time independent of where they differ.
fn secrets_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The room actor.
pub struct Room<G: Game> {
    id: RoomId,
    name: String,
    settings: RoomSettings<G>,
    game: G,
    seats: BTreeMap<EntityId, Seat<G>>,
    /// Spectators' sessions, by a number of the room's; at most `max_spectators`.
    spectators: BTreeMap<u64, SessionLink<G>>,
    next_spectator: u64,
    /// Joins and leaves since the last tick, delivered with its events.
    arrivals: Vec<RoomEventOf<G>>,
    /// Chat lines accepted since the last tick, delivered with its events.
    chat: Vec<RoomEventOf<G>>,
    /// Scratch for the game's events of one tick.
    stepped: Vec<G::Event>,
    /// Events of the ticks since the last snapshot, with their ticks.
    events: Vec<(u64, RoomEventOf<G>)>,
    /// Snapshots held back from spectators until `spectator_delay` old, oldest first. Bounded
    /// by the delay: at most `spectator_delay * snapshot_rate` entries.
    delayed: VecDeque<(Instant, Published<G>)>,
    /// Where the room tells its lobby that a player left or that it stopped.
    lobby: LobbyLink,
    stats: Arc<RoomStats>,
    period: Duration,
    /// When tick number 0 of the schedule was due.
    origin: Instant,
    /// Schedule index of the next tick.
    next_tick: u64,
    last_overrun_log: Option<Instant>,
    /// Set by the fault-injection chat command; the next tick panics.
    panic_requested: bool,
    /// Every log line of this room belongs to this span (name, id).
    span: tracing::Span,
    /// This room's series of the per-room tick histogram, looked up once.
    room_tick: prometheus::Histogram,
    /// This room's series of the per-room overrun counter, looked up once.
    room_overruns: prometheus::IntCounter,
    /// Records every command and a state hash now and then, while recording.
    recorder: Option<Recorder<G::Input>>,
    /// The replay's file name in `replay_dir`.
    replay_file: String,
    /// Bytes of the replay handed to the writer.
    replay_bytes: u64,
    /// `max_rewind` in whole ticks of this room.
    max_rewind_ticks: u32,
}

/// The text of a caught panic.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic".into())
}

impl<G: Game> Room<G> {
    /// A room; it starts ticking when started as an actor.
    pub fn new(
        id: RoomId,
        name: String,
        settings: RoomSettings<G>,
        lobby: LobbyLink,
        stats: Arc<RoomStats>,
    ) -> Self {
        let span = tracing::info_span!("room", name = %name, id = id.0);
        let room_id = id.0.to_string();
        let labels = [room_id.as_str(), name.as_str()];
        let room_tick = settings
            .metrics
            .room_tick_seconds
            .with_label_values(&labels);
        let room_overruns = settings
            .metrics
            .room_tick_overruns
            .with_label_values(&labels);
        let game = G::new(&settings.settings, settings.tick_rate, settings.seed);
        let unix_s = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Room names are [A-Za-z0-9_-], so they are safe in a file name.
        let replay_file = format!("{unix_s}-{}-{name}.replay", id.0);
        let recorder = settings.replays.as_ref().and_then(|_| {
            let header = replay::header_for::<G>(
                &name,
                &settings.map,
                (*settings.settings).clone(),
                settings.tick_rate,
                settings.snapshot_rate,
                settings.seed,
            );
            Recorder::new(&header)
                .map_err(|e| warn!(room = %name, error = %e, "cannot record a replay"))
                .ok()
        });
        let max_rewind_ticks =
            u32::try_from(settings.max_rewind.as_millis() * u128::from(settings.tick_rate) / 1000)
                .unwrap_or(u32::MAX);
        Self {
            id,
            name,
            period: Duration::from_secs(1) / u32::from(settings.tick_rate.max(1)),
            max_rewind_ticks,
            settings,
            game,
            seats: BTreeMap::new(),
            spectators: BTreeMap::new(),
            next_spectator: 1,
            arrivals: Vec::new(),
            chat: Vec::new(),
            stepped: Vec::new(),
            events: Vec::new(),
            delayed: VecDeque::new(),
            lobby,
            stats,
            origin: Instant::now(),
            next_tick: 0,
            last_overrun_log: None,
            panic_requested: false,
            room_tick,
            room_overruns,
            span,
            recorder,
            replay_file,
            replay_bytes: 0,
        }
    }

    /// Notes a command for the replay, while recording.
    fn record(&mut self, command: Command<G::Input>) {
        if let Some(recorder) = &mut self.recorder {
            recorder.command(command);
        }
    }

    /// Hands what the recorder wrote to the replay writer. A room whose replay reached its cap,
    /// or whose chunk the writer had no room for, stops recording (the file keeps what it has:
    /// a replay cut short still verifies up to its last whole record).
    fn flush_replay(&mut self) {
        let (Some(recorder), Some(store)) = (&mut self.recorder, &self.settings.replays) else {
            return;
        };
        let bytes = recorder.take();
        if bytes.is_empty() {
            return;
        }
        self.replay_bytes += bytes.len() as u64;
        let over = self.replay_bytes > store.per_room;
        let chunk = Chunk {
            file: self.replay_file.clone(),
            bytes,
        };
        let refused = store.send(chunk).err();
        if over || refused.is_some() {
            warn!(parent: &self.span, bytes = self.replay_bytes, ?refused, "replay stopped: over max_replay_bytes_per_room or the writer is behind");
            self.recorder = None;
        }
    }

    fn due(&self, index: u64) -> Instant {
        let nanos = self.period.as_nanos() as u64;
        self.origin + Duration::from_nanos(nanos.saturating_mul(index))
    }

    fn schedule_next(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut due = self.due(self.next_tick);
        if now > due + MAX_CATCH_UP {
            let period = self.period.as_nanos().max(1);
            let behind = ((now - due).as_nanos() / period) as u64;
            self.stats.overruns.fetch_add(behind, Ordering::Relaxed);
            self.settings.metrics.tick_overruns.inc_by(behind);
            self.room_overruns.inc_by(behind);
            warn!(parent: &self.span, behind_ticks = behind, "room stalled; skipping missed ticks");
            self.next_tick += behind;
            due = self.due(self.next_tick);
        }
        ctx.run_later(due.saturating_duration_since(now), |room, ctx| {
            room.tick(ctx)
        });
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let started = Instant::now();
        let late = started.saturating_duration_since(self.due(self.next_tick));
        if late > self.period / 2 {
            let total = self.stats.overruns.fetch_add(1, Ordering::Relaxed) + 1;
            self.settings.metrics.tick_overruns.inc();
            self.room_overruns.inc();
            if self
                .last_overrun_log
                .is_none_or(|t| started - t >= OVERRUN_LOG_INTERVAL)
            {
                warn!(parent: &self.span, late_ms = late.as_secs_f64() * 1e3, total_overruns = total, "tick overrun");
                self.last_overrun_log = Some(started);
            }
        }

        // Everything that runs game code is guarded: a bug that panics in the simulation ends
        // this room (its players get 1011), never the thread the room shares with others.
        let stepped = catch_unwind(AssertUnwindSafe(|| self.simulate()));
        match stepped {
            Ok(Some((view, events))) => self.publish(view, events),
            Ok(None) => {}
            Err(panic) => return self.fail(ctx, panic_message(&panic)),
        }
        self.expire_detached();

        self.stats.ticks.fetch_add(1, Ordering::Relaxed);
        let took = started.elapsed().as_secs_f64();
        self.settings.metrics.tick_seconds.observe(took);
        self.room_tick.observe(took);
        self.next_tick += 1;
        self.schedule_next(ctx);
    }

    /// Applies one queued input per player, steps the world, and, on a snapshot tick, returns
    /// what to publish.
    fn simulate(&mut self) -> Option<Published<G>> {
        if std::mem::take(&mut self.panic_requested) {
            panic!("fault injection: room {} asked to panic", self.name);
        }
        let applied = self.game.tick() + 1;
        let max_rewind = self.max_rewind_ticks;
        for (&player, seat) in &mut self.seats {
            // One per tick, so a client predicting one input per tick stays exact; a player
            // with none keeps holding the last (the world keeps inputs until replaced).
            let next = seat.link.as_ref().and_then(|link| link.inputs.pop());
            if let Some(input) = next {
                // The connection has its Welcome: the token it replaced is spent.
                seat.previous_secret = None;
                let seen = Rewind::claimed(applied, input.ack, input.behind, max_rewind);
                self.game.input(player, input.controls, seen);
                if let Some(recorder) = &mut self.recorder {
                    recorder.command(Command::Input {
                        player,
                        input: input.controls,
                        seen,
                    });
                }
                seat.last_input_seq = input.seq;
            }
        }
        self.game.step();
        let tick = self.game.tick();
        if let Some(recorder) = &mut self.recorder {
            let seats = &self.seats;
            let roster = || seats.iter().map(|(&p, s)| (p, s.name.clone())).collect();
            if let Err(e) = recorder.stepped(&self.game, roster) {
                warn!(parent: &self.span, error = %e, "replay stopped: cannot encode");
                self.recorder = None;
            }
        }
        if tick % replay::HASH_EVERY == 0 {
            self.flush_replay();
        }
        self.game.drain_events(&mut self.stepped);
        let stepped = self
            .arrivals
            .drain(..)
            .chain(self.stepped.drain(..).map(RoomEvent::Game));
        self.events
            .extend(stepped.chain(self.chat.drain(..)).map(|e| (tick, e)));
        if !schedule::snapshot_due(tick, self.settings.tick_rate, self.settings.snapshot_rate) {
            return None;
        }
        let events = (!self.events.is_empty()).then(|| Arc::from(std::mem::take(&mut self.events)));
        Some((Arc::new(TickView::of(&self.game)), events))
    }

    /// Offers the tick to every connected player's and spectator's slot; drops those whose
    /// client has left a snapshot unread for longer than allowed, and detaches players whose
    /// session is gone.
    fn publish(&mut self, view: Arc<TickView<G::Entity>>, events: Option<Events<G>>) {
        let now = Instant::now();
        let mut lost = Vec::new();
        for (&player, seat) in &self.seats {
            let Some(link) = &seat.link else {
                continue;
            };
            let inputs = InputStatus {
                last_seq: seat.last_input_seq,
                queued: u8::try_from(link.inputs.len()).unwrap_or(u8::MAX),
            };
            match self.deliver(link, &view, inputs, &events, &None, now) {
                Delivery::Offered => {}
                Delivery::SessionGone => {
                    debug!(parent: &self.span, %player, "session gone without leaving");
                    lost.push(player);
                }
                // Like any lost connection: the seat waits for a resume.
                Delivery::TooSlow => lost.push(player),
            }
        }
        for player in lost {
            self.detach(player);
        }
        if self.settings.spectator_delay.is_zero() {
            return self.publish_to_spectators(view, events, now);
        }
        self.delayed.push_back((now, (view, events)));
        while let Some((at, ..)) = self.delayed.front()
            && now.saturating_duration_since(*at) >= self.settings.spectator_delay
        {
            if let Some((_, (view, events))) = self.delayed.pop_front() {
                self.publish_to_spectators(view, events, now);
            }
        }
    }

    /// Shows a snapshot to the spectators and the state endpoint (after the spectator delay).
    fn publish_to_spectators(
        &mut self,
        view: Arc<TickView<G::Entity>>,
        events: Option<Events<G>>,
        now: Instant,
    ) {
        *self
            .stats
            .latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(view.clone());
        if self.spectators.is_empty() {
            return;
        }
        let shared = Some(SharedFrame::new());
        let ended: Vec<u64> = self
            .spectators
            .iter()
            .filter(|(_, link)| {
                let inputs = InputStatus::default();
                self.deliver(link, &view, inputs, &events, &shared, now) != Delivery::Offered
            })
            .map(|(&id, _)| id)
            .collect();
        for id in ended {
            self.spectators.remove(&id);
        }
        self.stats
            .spectators
            .store(self.spectators.len(), Ordering::Relaxed);
    }

    /// Puts the snapshot in one session's slot; when the slot was full for longer than the
    /// slow-client timeout, tells the session it is dropped and shuts its socket down (a
    /// session whose client is not reading is not polled and cannot act on that itself).
    fn deliver(
        &self,
        link: &SessionLink<G>,
        view: &Arc<TickView<G::Entity>>,
        inputs: InputStatus,
        events: &Option<Events<G>>,
        shared: &Option<Arc<SharedFrame>>,
        now: Instant,
    ) -> Delivery {
        match link
            .slot
            .offer(view.clone(), inputs, events.clone(), shared.clone(), now)
        {
            Offer::Placed => match link.snapshots.try_send(SnapshotReady) {
                // Full: a wake is already queued, and it will find this snapshot.
                Ok(()) | Err(SendError::Full(_)) => Delivery::Offered,
                Err(SendError::Closed(_)) => Delivery::SessionGone,
            },
            Offer::Replaced { behind } => {
                self.stats.skipped_snapshots.fetch_add(1, Ordering::Relaxed);
                self.settings.metrics.skipped_snapshots.inc();
                if behind < self.settings.slow_client_timeout {
                    return Delivery::Offered;
                }
                warn!(parent: &self.span, behind_ms = behind.as_millis() as u64, "client stopped reading snapshots; dropping it");
                let _ = link.closed.try_send(RoomClosed {
                    farewell: Farewell::TooSlow,
                });
                if let Some(socket) = &link.socket {
                    socket.shutdown();
                }
                self.settings.metrics.slow_clients_dropped.inc();
                Delivery::TooSlow
            }
        }
    }

    /// Gives up the seats of detached players whose resume grace period is over.
    fn expire_detached(&mut self) {
        let now = Instant::now();
        let expired: Vec<EntityId> = self
            .seats
            .iter()
            .filter(|(_, s)| s.link.is_none() && s.detached_until.is_some_and(|t| now >= t))
            .map(|(&p, _)| p)
            .collect();
        for player in expired {
            info!(parent: &self.span, %player, "resume grace period over");
            self.unseat(player);
        }
    }

    /// Tells every connected player and spectator that the room lets go of them.
    fn tell_everyone(&self, farewell: &Farewell) {
        let players = self.seats.values().filter_map(|s| s.link.as_ref());
        for link in players.chain(self.spectators.values()) {
            let _ = link.closed.try_send(RoomClosed {
                farewell: farewell.clone(),
            });
        }
    }

    /// The room's game code panicked: tell every player (1011), log it, and stop; the lobby
    /// forgets the room when it stops.
    fn fail(&mut self, ctx: &mut Context<Self>, why: String) {
        error!(parent: &self.span, tick = self.game.tick(), panic = %why, "room failed; closing it");
        self.settings.metrics.room_panics.inc();
        // The flight recorder: the replay up to the panic, with the commands of the tick that
        // panicked, is what explains it (replaying it panics at the same tick).
        if let Some(recorder) = &mut self.recorder
            && let Err(e) = recorder.failed(self.game.tick() + 1)
        {
            warn!(parent: &self.span, error = %e, "cannot close the replay");
        }
        self.flush_replay();
        // Closed: stopping must not add a hash of a state the panic may have left half-made.
        self.recorder = None;
        self.tell_everyone(&Farewell::RoomFailed);
        self.settings.metrics.players.sub(self.seats.len() as i64);
        self.seats.clear();
        self.stats.players.store(0, Ordering::Relaxed);
        ctx.stop();
    }

    /// The player's connection is gone but they may come back: keep the seat for the grace
    /// period, with the player standing still, or give it up at once when there is none.
    fn detach(&mut self, player: EntityId) {
        if self.settings.resume_grace.is_zero() {
            return self.unseat(player);
        }
        let Some(seat) = self.seats.get_mut(&player) else {
            return;
        };
        if let Some(link) = seat.link.take() {
            link.inputs.close();
        }
        seat.detached_until = Some(Instant::now() + self.settings.resume_grace);
        self.count_detached();
        self.game.input(player, G::Input::default(), Rewind::NONE);
        self.record(Command::Input {
            player,
            input: G::Input::default(),
            seen: Rewind::NONE,
        });
        info!(parent: &self.span, %player, grace_ms = self.settings.resume_grace.as_millis() as u64, "player detached; seat kept for resume");
    }

    /// Whether connection `link` holds `player`'s seat now.
    fn holds(&self, player: EntityId, link: u64) -> bool {
        self.seats.get(&player).is_some_and(|s| s.held_by(link))
    }

    fn count_detached(&self) {
        let detached = self.seats.values().filter(|s| s.link.is_none()).count();
        self.stats.detached.store(detached, Ordering::Relaxed);
    }

    /// Everyone seated, by id.
    fn roster(&self) -> Vec<(EntityId, String)> {
        self.seats
            .iter()
            .map(|(&id, seat)| (id, seat.name.clone()))
            .collect()
    }

    fn seated(&self, player: EntityId, secret: &str) -> Seated<G> {
        Seated {
            player,
            room: self.name.clone(),
            tick_rate: self.settings.tick_rate,
            snapshot_rate: self.settings.snapshot_rate,
            view: self.settings.view,
            settings: self.settings.settings.clone(),
            roster: self.roster(),
            resume_token: resume_token(self.id, player, secret),
            last_input_seq: self.seats.get(&player).map_or(0, |s| s.last_input_seq),
            stats: self.stats.clone(),
        }
    }

    fn unseat(&mut self, player: EntityId) {
        if let Some(seat) = self.seats.remove(&player) {
            if let Some(link) = seat.link {
                link.inputs.close();
            }
            self.settings.metrics.players.dec();
            self.count_detached();
            self.game.leave(player);
            self.record(Command::Leave { player });
            self.arrivals.push(RoomEvent::Left { player });
            self.stats
                .players
                .store(self.seats.len(), Ordering::Relaxed);
            self.lobby.left.do_send(PlayerLeft { room: self.id });
        }
    }
}

impl<G: Game> Actor for Room<G> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.settings.mailbox_capacity);
        self.origin = Instant::now() + self.period;
        // Schedule index N produces world tick N + 1, so tick T is due `T` periods after now.
        let unix_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.stats.origin_unix_ms.store(unix_ms, Ordering::Relaxed);
        info!(parent: &self.span, seed = self.settings.seed, "room opened");
        self.settings.metrics.rooms.inc();
        self.schedule_next(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(recorder) = &mut self.recorder
            && let Err(e) = recorder.finish(&self.game)
        {
            warn!(parent: &self.span, error = %e, "cannot close the replay");
        }
        self.flush_replay();
        info!(parent: &self.span, ticks = self.stats.ticks.load(Ordering::Relaxed), "room closed");
        self.settings.metrics.rooms.dec();
        self.settings
            .metrics
            .forget_room(&[&self.id.0.to_string(), &self.name]);
        // Seats still held when a room closes (shutdown) leave with it.
        self.settings.metrics.players.sub(self.seats.len() as i64);
        self.lobby.stopped.do_send(RoomStopped { room: self.id });
    }
}

impl<G: Game> Handler<PlayerJoining<G>> for Room<G> {
    type Result = MessageResult<PlayerJoining<G>>;

    fn handle(&mut self, msg: PlayerJoining<G>, _: &mut Self::Context) -> Self::Result {
        let player = self.game.join(&msg.name);
        self.record(Command::Join {
            name: msg.name.clone(),
            player,
        });
        self.arrivals.push(RoomEvent::Joined {
            player,
            name: msg.name.clone(),
        });
        let secret = new_secret();
        self.settings.metrics.players.inc();
        self.seats.insert(
            player,
            Seat {
                name: msg.name.clone(),
                link: Some(msg.link),
                detached_until: None,
                secret: secret.clone(),
                previous_secret: None,
                last_input_seq: 0,
            },
        );
        self.stats
            .players
            .store(self.seats.len(), Ordering::Relaxed);
        info!(parent: &self.span, %player, name = %msg.name, players = self.seats.len(), "player joined");
        MessageResult(self.seated(player, &secret))
    }
}

impl<G: Game> Handler<PlayerResuming<G>> for Room<G> {
    type Result = Result<Seated<G>, Farewell>;

    fn handle(&mut self, msg: PlayerResuming<G>, _: &mut Self::Context) -> Self::Result {
        let Some(seat) = self.seats.get_mut(&msg.player) else {
            return Err(Farewell::ResumeFailed("that player has left".into()));
        };
        let current = secrets_match(&seat.secret, &msg.secret);
        let previous = seat
            .previous_secret
            .as_deref()
            .is_some_and(|p| secrets_match(p, &msg.secret));
        if !current && !previous {
            return Err(Farewell::ResumeFailed("resume token does not match".into()));
        }
        // The new connection continues the seat's input numbering.
        msg.link.inputs.continue_after(seat.last_input_seq);
        // The old connection may not have been noticed dead yet: the new one wins, and
        // anything the old one still says about the seat is ignored from now on.
        if let Some(old) = seat.link.replace(msg.link) {
            old.inputs.close();
            let _ = old.closed.try_send(RoomClosed {
                farewell: Farewell::ResumedElsewhere,
            });
        }
        seat.detached_until = None;
        // A token is good for one resume: once the new connection is heard from, whoever saw
        // the old one cannot take the seat.
        let replaced = std::mem::replace(&mut seat.secret, new_secret());
        if current {
            seat.previous_secret = Some(replaced);
        }
        let secret = seat.secret.clone();
        self.count_detached();
        info!(parent: &self.span, player = %msg.player, "player resumed");
        Ok(self.seated(msg.player, &secret))
    }
}

impl<G: Game> Handler<PlayerDetached> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: PlayerDetached, _: &mut Self::Context) {
        if self.holds(msg.player, msg.link) {
            self.detach(msg.player);
        } else {
            debug!(parent: &self.span, player = %msg.player, link = msg.link, "detach from a connection that no longer holds the seat; ignored");
        }
    }
}

impl<G: Game> Handler<ChatReceived> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: ChatReceived, _: &mut Self::Context) {
        if !self.holds(msg.player, msg.link) {
            return;
        }
        if let Some(seat) = self.seats.get_mut(&msg.player) {
            seat.previous_secret = None;
        }
        if self.settings.fault_injection && msg.text == PANIC_COMMAND {
            self.panic_requested = true;
            self.record(Command::Fault);
            return;
        }
        if self.settings.fault_injection && msg.text == WEDGE_COMMAND {
            warn!(parent: &self.span, "fault injection: wedging this room's thread for good");
            loop {
                std::thread::park();
            }
        }
        // Bounded: at most one line per player per tick survives to the broadcast.
        let per_tick_limit = self.seats.len().max(1);
        if self.chat.len() < per_tick_limit && msg.text.chars().count() <= MAX_CHAT_CHARS {
            self.chat.push(RoomEvent::Chat {
                from: msg.player,
                text: msg.text,
            });
        }
    }
}

impl<G: Game> Handler<PlayerLeaving> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: PlayerLeaving, _: &mut Self::Context) {
        if self.holds(msg.player, msg.link) {
            info!(parent: &self.span, player = %msg.player, "player left");
            self.unseat(msg.player);
        }
    }
}

impl<G: Game> Handler<CloseRoom> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: CloseRoom, ctx: &mut Self::Context) {
        self.tell_everyone(&msg.farewell);
        ctx.stop();
    }
}

impl<G: Game> Handler<SpectatorJoining<G>> for Room<G> {
    type Result = Result<Watching<G>, Farewell>;

    fn handle(&mut self, msg: SpectatorJoining<G>, _: &mut Self::Context) -> Self::Result {
        if self.spectators.len() >= self.settings.max_spectators {
            return Err(Farewell::SpectatorsFull(self.name.clone()));
        }
        let id = self.next_spectator;
        self.next_spectator += 1;
        self.spectators.insert(id, msg.link);
        self.stats
            .spectators
            .store(self.spectators.len(), Ordering::Relaxed);
        info!(parent: &self.span, spectator = id, spectators = self.spectators.len(), "spectator joined");
        Ok(Watching {
            id,
            room: self.name.clone(),
            tick_rate: self.settings.tick_rate,
            snapshot_rate: self.settings.snapshot_rate,
            origin_unix_ms: self.stats.origin_unix_ms.load(Ordering::Relaxed),
            settings: self.settings.settings.clone(),
            roster: self.roster(),
        })
    }
}

impl<G: Game> Handler<SpectatorLeaving> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: SpectatorLeaving, _: &mut Self::Context) {
        if self.spectators.remove(&msg.id).is_some() {
            self.stats
                .spectators
                .store(self.spectators.len(), Ordering::Relaxed);
        }
    }
}
