//! Watching a replay (`/ws/GAME?replay=ID`): a room with no seats whose ticks come from a
//! replay file instead of players, shown to the one spectator who opened it, who steers it with
//! `Playback` messages (pause, 0.25–4× speed, seek).
//!
//! The viewer is an ordinary spectator session: it gets `Spectating` and then snapshots through
//! the same slot and encoder as a live room's spectators, so any spectator client can watch a
//! replay. Each viewer has a playback of its own (steering is per viewer), which stops when the
//! viewer leaves. A seek restores the newest keyframe before its tick (or starts over, for a
//! game without keyframes) and re-simulates the rest in slices of [`SEEK_SLICE`] ticks, so a
//! long seek never holds the thread other rooms tick on.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use arena_shared::game::{EntityId, Game};
use arena_shared::interest::TickView;
use arena_shared::protocol::{
    MAX_PLAYBACK_SPEED, MIN_PLAYBACK_SPEED, PlaybackControl, RoomEvent, RoomEventOf,
};
use arena_shared::replay::{self, Command, Loaded};
use arena_shared::schedule;
use tracing::{info, warn};

use crate::close::Farewell;
use crate::rooms::encoder::InputStatus;
use crate::rooms::messages::{
    ChatReceived, CloseRoom, PlayerDetached, PlayerLeaving, RoomClosed, SessionLink, SnapshotReady,
    SpectatorJoining, SpectatorLeaving, Watching,
};
use crate::rooms::slot::Offer;

/// Ticks re-simulated per turn while seeking: about 10 ms of a 16-player shooter room, short
/// enough not to delay the other rooms on this thread by more than a tick.
pub const SEEK_SLICE: u64 = 2_000;

/// How long a playback waits for its viewer's session to arrive before it gives up.
const VIEWER_WAIT: Duration = Duration::from_secs(10);

/// A viewer's steering.
#[derive(Message)]
#[rtype(result = "Result<(), Farewell>")]
pub struct Steer(pub PlaybackControl);

/// A playback stopped (its viewer left, or the server is shutting down).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PlaybackStopped {
    /// The playback's number in the lobby.
    pub id: u64,
}

/// One viewer's playback of one replay.
pub struct Playback<G: Game> {
    id: u64,
    /// What the viewer is told the room is: `replay:<id>`.
    name: String,
    replay: Result<Loaded<G>, String>,
    /// The replay's settings, shared with the viewer's `Spectating`; `None` if it did not read.
    settings: Option<Arc<G::Settings>>,
    game: Option<G>,
    names: BTreeMap<EntityId, String>,
    viewer: Option<(u64, SessionLink<G>)>,
    paused: bool,
    speed_percent: u16,
    seek: Option<u64>,
    events: Vec<(u64, RoomEventOf<G>)>,
    stepped: Vec<G::Event>,
    lobby: Recipient<PlaybackStopped>,
    origin_unix_ms: u64,
}

impl<G: Game> Playback<G> {
    /// A playback of the replay `bytes` (id `replay_id`), number `id` in the lobby. A replay
    /// that does not read is refused to its viewer when it arrives.
    pub fn new(id: u64, replay_id: &str, bytes: &[u8], lobby: Recipient<PlaybackStopped>) -> Self {
        let replay = replay::load::<G>(bytes).map_err(|e| e.to_string());
        let (settings, game) = match &replay {
            Ok(r) => (
                Some(Arc::new(r.header.settings.clone())),
                Some(G::new(
                    &r.header.settings,
                    r.header.tick_rate,
                    r.header.seed,
                )),
            ),
            Err(_) => (None, None),
        };
        Self {
            id,
            name: format!("replay:{replay_id}"),
            replay,
            settings,
            game,
            names: BTreeMap::new(),
            viewer: None,
            paused: false,
            speed_percent: 100,
            seek: None,
            events: Vec::new(),
            stepped: Vec::new(),
            lobby,
            origin_unix_ms: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }

    fn rates(&self) -> (u16, u16) {
        self.replay.as_ref().map_or((30, 30), |r| {
            (r.header.tick_rate.max(1), r.header.snapshot_rate.max(1))
        })
    }

    fn last_tick(&self) -> u64 {
        self.replay.as_ref().map_or(0, |r| r.ticks.len() as u64)
    }

    /// The time to the next step at the current speed.
    fn period(&self) -> Duration {
        let (tick_rate, _) = self.rates();
        Duration::from_secs(1) * 100 / (u32::from(tick_rate) * u32::from(self.speed_percent))
    }

    fn schedule(&self, ctx: &mut Context<Self>) {
        ctx.run_later(self.period(), |p, ctx| p.turn(ctx));
    }

    /// One turn of the clock: a slice of a seek, or one tick of play.
    fn turn(&mut self, ctx: &mut Context<Self>) {
        match catch_unwind(AssertUnwindSafe(|| self.advance())) {
            Ok(Ok(())) => self.schedule(ctx),
            Ok(Err(why)) => self.fail(ctx, why),
            Err(_) => self.fail(ctx, "the game panicked re-simulating the replay".into()),
        }
    }

    fn advance(&mut self) -> Result<(), String> {
        if let Some(target) = self.seek {
            let target = target.min(self.last_tick());
            for _ in 0..SEEK_SLICE {
                if self.tick() >= target {
                    break;
                }
                self.step()?;
            }
            // Events of the ticks skipped are stale; who is here is not.
            self.events.clear();
            if self.tick() >= target {
                self.seek = None;
                let roster: Vec<_> = self
                    .names
                    .iter()
                    .map(|(&player, name)| RoomEvent::Joined {
                        player,
                        name: name.clone(),
                    })
                    .collect();
                let tick = self.tick();
                self.events.extend(roster.into_iter().map(|e| (tick, e)));
                self.publish();
            }
            return Ok(());
        }
        if self.paused || self.tick() >= self.last_tick() {
            return Ok(());
        }
        self.step()?;
        let (tick_rate, snapshot_rate) = self.rates();
        let tick = self.tick();
        if schedule::snapshot_due(tick, tick_rate, snapshot_rate) || tick == self.last_tick() {
            self.publish();
        }
        Ok(())
    }

    fn tick(&self) -> u64 {
        self.game.as_ref().map_or(0, G::tick)
    }

    /// Starts a seek to `target` from the newest keyframe at or before it, when that is closer
    /// than where the playback is (or the playback is past `target`); the rest is re-simulated
    /// slice by slice.
    fn jump_toward(&mut self, target: u64) {
        let current = self.tick();
        let Ok(replay) = &self.replay else {
            return;
        };
        let keyframe = replay.keyframes.iter().rev().find(|k| k.tick <= target);
        if let Some(k) = keyframe
            && (k.tick > current || current > target)
            && let Some(game) =
                G::restore(&replay.header.settings, replay.header.tick_rate, &k.state)
        {
            self.names = k.roster.iter().cloned().collect();
            self.game = Some(game);
            self.events.clear();
            return;
        }
        if current > target {
            self.restart();
        }
    }

    fn restart(&mut self) {
        if let Ok(r) = &self.replay {
            self.game = Some(G::new(
                &r.header.settings,
                r.header.tick_rate,
                r.header.seed,
            ));
        }
        self.names.clear();
        self.events.clear();
    }

    /// Applies the next tick's commands and steps.
    fn step(&mut self) -> Result<(), String> {
        let (Ok(replay), Some(game)) = (&self.replay, &mut self.game) else {
            return Ok(());
        };
        let next = game.tick() + 1;
        let Some(commands) = usize::try_from(next - 1)
            .ok()
            .and_then(|i| replay.ticks.get(i))
        else {
            return Ok(());
        };
        for command in commands {
            match command {
                Command::Join { name, player } => {
                    self.names.insert(*player, name.clone());
                    self.events.push((
                        next,
                        RoomEvent::Joined {
                            player: *player,
                            name: name.clone(),
                        },
                    ));
                }
                Command::Leave { player } => {
                    self.names.remove(player);
                    self.events
                        .push((next, RoomEvent::Left { player: *player }));
                }
                Command::Input { .. } | Command::Fault => {}
            }
        }
        replay::apply_commands(game, next, commands.clone()).map_err(|e| e.to_string())?;
        game.step();
        game.drain_events(&mut self.stepped);
        self.events
            .extend(self.stepped.drain(..).map(|e| (next, RoomEvent::Game(e))));
        Ok(())
    }

    /// Shows the current tick to the viewer.
    fn publish(&mut self) {
        let (Some((_, link)), Some(game)) = (&self.viewer, &self.game) else {
            return;
        };
        let view = Arc::new(TickView::of(game));
        let events = (!self.events.is_empty()).then(|| Arc::from(std::mem::take(&mut self.events)));
        let offer = link
            .slot
            .offer(view, InputStatus::default(), events, None, Instant::now());
        // A viewer slower than the playback misses snapshots, never queues them.
        if offer == Offer::Placed {
            let _ = link.snapshots.try_send(SnapshotReady);
        }
    }

    fn fail(&mut self, ctx: &mut Context<Self>, why: String) {
        warn!(playback = %self.name, %why, "replay playback failed");
        if let Some((_, link)) = &self.viewer {
            let _ = link.closed.try_send(RoomClosed {
                farewell: Farewell::BadReplay(why),
            });
        }
        ctx.stop();
    }
}

impl<G: Game> Actor for Playback<G> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_later(VIEWER_WAIT, |p, ctx| {
            if p.viewer.is_none() {
                ctx.stop();
            }
        });
        self.schedule(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        info!(playback = %self.name, tick = self.tick(), "replay playback ended");
        self.lobby.do_send(PlaybackStopped { id: self.id });
    }
}

impl<G: Game> Handler<SpectatorJoining<G>> for Playback<G> {
    type Result = Result<Watching<G>, Farewell>;

    fn handle(&mut self, msg: SpectatorJoining<G>, ctx: &mut Self::Context) -> Self::Result {
        let settings = match (&self.replay, &self.settings) {
            (Ok(_), Some(settings)) => settings.clone(),
            (Err(why), _) => {
                let farewell = Farewell::BadReplay(why.clone());
                ctx.stop();
                return Err(farewell);
            }
            (Ok(_), None) => return Err(Farewell::BadReplay("no settings".into())),
        };
        if self.viewer.is_some() {
            return Err(Farewell::SpectatorsFull(self.name.clone()));
        }
        let (tick_rate, snapshot_rate) = self.rates();
        self.viewer = Some((1, msg.link));
        info!(playback = %self.name, ticks = self.last_tick(), "replay playback started");
        Ok(Watching {
            id: 1,
            room: self.name.clone(),
            tick_rate,
            snapshot_rate,
            origin_unix_ms: self.origin_unix_ms,
            settings,
            roster: self
                .names
                .iter()
                .map(|(&id, name)| (id, name.clone()))
                .collect(),
        })
    }
}

impl<G: Game> Handler<Steer> for Playback<G> {
    type Result = Result<(), Farewell>;

    fn handle(&mut self, Steer(control): Steer, _: &mut Self::Context) -> Self::Result {
        if !(MIN_PLAYBACK_SPEED..=MAX_PLAYBACK_SPEED).contains(&control.speed_percent) {
            return Err(Farewell::BadPlayback(format!(
                "speed_percent {} is outside {MIN_PLAYBACK_SPEED}..={MAX_PLAYBACK_SPEED}",
                control.speed_percent
            )));
        }
        self.paused = control.paused;
        self.speed_percent = control.speed_percent;
        if let Some(target) = control.seek {
            self.jump_toward(target.min(self.last_tick()));
            self.seek = Some(target);
        }
        Ok(())
    }
}

impl<G: Game> Handler<SpectatorLeaving> for Playback<G> {
    type Result = ();

    fn handle(&mut self, _: SpectatorLeaving, ctx: &mut Self::Context) {
        self.viewer = None;
        ctx.stop();
    }
}

impl<G: Game> Handler<CloseRoom> for Playback<G> {
    type Result = ();

    fn handle(&mut self, msg: CloseRoom, ctx: &mut Self::Context) {
        if let Some((_, link)) = &self.viewer {
            let _ = link.closed.try_send(RoomClosed {
                farewell: msg.farewell,
            });
        }
        ctx.stop();
    }
}

// A spectator's session holds a room handle with these recipients; a viewer never sends them.
impl<G: Game> Handler<PlayerDetached> for Playback<G> {
    type Result = ();
    fn handle(&mut self, _: PlayerDetached, _: &mut Self::Context) {}
}

impl<G: Game> Handler<PlayerLeaving> for Playback<G> {
    type Result = ();
    fn handle(&mut self, _: PlayerLeaving, _: &mut Self::Context) {}
}

impl<G: Game> Handler<ChatReceived> for Playback<G> {
    type Result = ();
    fn handle(&mut self, _: ChatReceived, _: &mut Self::Context) {}
}
