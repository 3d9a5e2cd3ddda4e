//! One bot's life: connect, join, play until the fleet's end time (dropping and resuming its
//! connection now and then when churn is on), leave; and what it observed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use arena_shared::RoomOptions;
use arena_shared::game::{Brain, Game, Predict, Replicate};
use arena_shared::protocol::{ClientMsg, ClientMsgOf, ErrorCode, Input, RoomEvent, ServerMsg};
use arena_shared::schedule;
use arena_shared::sync::Replica;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::{Instant, MissedTickBehavior};

use crate::behavior::Behavior;
use crate::connection::{ClientError, Connection, JoinOptions, Received, Welcome, describe_close};
use crate::live::{Live, Synced};
use crate::netem::{Delay, InFlight};
use crate::ticket::Minter;
use crate::view::{Frame, shown};

/// How long a bot waits for the handshake plus `Welcome`.
pub(crate) const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a bot waits for the server's close after `Leave`.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);
/// Inputs remembered while waiting for their acknowledgement; older ones are forgotten
/// (bounded even if the server stops acknowledging).
const MAX_UNACKED: usize = 256;

/// What one bot is told to do.
#[derive(Clone, Debug)]
pub struct BotSpec {
    /// The game's endpoint, `ws://host:port/ws/GAME`.
    pub url: String,
    /// Bot number in the fleet (names it, and picks its role in `mixed`).
    pub index: usize,
    /// Room to join; `None` = quick-play.
    pub room: Option<String>,
    /// Play style.
    pub behavior: Behavior,
    /// When to connect (spreads a ramp).
    pub start_at: Instant,
    /// When to leave.
    pub end_at: Instant,
    /// Chance per second that the bot drops its connection and resumes.
    pub churn_per_s: f64,
    /// Seed for this bot's random choices.
    pub seed: u64,
    /// Mints the bot's join ticket, for servers with `auth = "ticket"`; `None` = join without.
    pub tickets: Option<Minter>,
    /// How the room is set up if this bot's `Hello` creates it; `None` = the server's defaults.
    pub room_options: Option<RoomOptions>,
    /// The simulated network each way (`--latency-ms`, `--jitter-ms`).
    pub network: Delay,
    /// Matchmakers (`--matchmaker`, `http://host:port`): when given, the bot asks one where
    /// to play (`POST /api/matchmake`) and connects where it is sent, with the ticket it got.
    pub matchmakers: Vec<String>,
    /// `--rejoin`: a bot whose server vanished matchmakes again and plays on.
    pub rejoin: bool,
}

/// What one bot observed.
#[derive(Debug)]
pub struct BotOutcome {
    /// Got a `Welcome`.
    pub connected: bool,
    /// The room of its latest `Welcome` (after a resume, the resumed one's): where a failing
    /// run sends people to look, and whose replays it names.
    pub room: Option<String>,
    /// Played until the end and left cleanly.
    pub completed: bool,
    /// Why it never got in.
    pub failure: Option<String>,
    /// Why the connection ended early.
    pub disconnect: Option<String>,
    /// The protocol error it saw.
    pub protocol_error: Option<String>,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Snapshots received.
    pub snapshots: u64,
    /// Events received: the room's (joins, leaves, chat) and the game's.
    pub events: u64,
    /// Time spent connected and playing.
    pub played: Duration,
    /// Deliberate drops (churn).
    pub churns: u64,
    /// Churns that got the same player back.
    pub resumes: u64,
    /// Ping round trips, µs.
    pub rtt_us: Histogram<u64>,
    /// From sending an input to the first snapshot acknowledging it, µs.
    pub input_ack_us: Histogram<u64>,
    /// |snapshot inter-arrival time - the ticks between the two snapshots|, µs.
    pub jitter_us: Histogram<u64>,
    /// Distance between the predicted and the authoritative own position at reconciliation,
    /// in thousandths of a world unit.
    pub prediction_error_milli: Histogram<u64>,
    /// Snapshots that did not apply to the bot's replica (a delta against a view it lacks, or
    /// inconsistent): each is a server bug; the replica recovers through a complete snapshot.
    pub desyncs: u64,
    /// Shots the bot fired ([`Brain::tally`]).
    pub shots: u64,
    /// Of those, hits on another player.
    pub hits: u64,
    /// Times its server vanished and it matchmade and played on elsewhere (`--rejoin`).
    pub rejoins: u64,
    /// The fleet id of the server it played on last (matchmade bots only).
    pub server: Option<String>,
}

/// A histogram for distances in thousandths of a unit, up to a million units.
pub fn distance_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 1_000_000_000, 3).expect("constant histogram bounds are valid")
}

/// A histogram for latencies from 1 µs to 60 s at 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant histogram bounds are valid")
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, 60_000_000)
}

impl BotOutcome {
    /// Nothing observed yet.
    pub(crate) fn new() -> Self {
        Self {
            connected: false,
            room: None,
            completed: false,
            failure: None,
            disconnect: None,
            protocol_error: None,
            messages_sent: 0,
            messages_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
            snapshots: 0,
            events: 0,
            played: Duration::ZERO,
            churns: 0,
            resumes: 0,
            rtt_us: latency_histogram(),
            input_ack_us: latency_histogram(),
            jitter_us: latency_histogram(),
            prediction_error_milli: distance_histogram(),
            desyncs: 0,
            shots: 0,
            hits: 0,
            rejoins: 0,
            server: None,
        }
    }

    fn tally<G: Game>(&mut self, conn: &Connection<G>) {
        self.messages_sent += conn.messages_sent;
        self.messages_received += conn.messages_received;
        self.bytes_sent += conn.bytes_sent;
        self.bytes_received += conn.bytes_received;
    }
}

/// How one connection's play ended.
enum Ended {
    /// The fleet's end time: leave.
    Deadline,
    /// Churn: drop the connection and resume.
    Churn,
    /// Something went wrong.
    Failed(ClientError),
}

/// Runs one bot of game `G` to the end. `clock` is the fleet's common time origin for ping
/// timestamps.
pub async fn run_bot<G: Game>(spec: BotSpec, clock: Instant, live: Arc<Live>) -> BotOutcome {
    let mut out = BotOutcome::new();
    tokio::time::sleep_until(spec.start_at).await;
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let name = format!("bot-{}", spec.index);
    // Where it plays: the given URL, or where a matchmaker sends it.
    let mut url = spec.url.clone();
    let joined = if spec.matchmakers.is_empty() {
        // Minted now, not when the fleet was planned: a long ramp would outlive the ticket.
        let first = JoinOptions {
            room: spec.room.clone(),
            ticket: (spec.tickets.as_ref()).map(|m| m.player(&name, spec.room.as_deref())),
            options: spec.room_options.clone(),
            ..JoinOptions::default()
        };
        connect_and_join::<G>(&url, &name, first)
            .await
            .map_err(|e| e.to_string())
    } else {
        let until = Instant::now() + JOIN_TIMEOUT;
        matchmade_join::<G>(&spec, &name, until, &mut url, &mut out).await
    };
    let (mut conn, mut welcome) = match joined {
        Ok(ok) => ok,
        Err(e) => {
            live.error();
            out.failure = Some(format!("{name}: {e}"));
            return out;
        }
    };
    out.connected = true;
    out.room = Some(welcome.room.clone());
    live.connected(1);
    live.joined();
    let mut brain = G::Brain::new(
        &welcome.settings,
        spec.behavior.style(),
        spec.index,
        &mut rng,
    );
    // The brain's clock: its seconds run from the first join, through churns.
    let born = Instant::now();
    let mut seq = 0u32;
    // What this connection's counters have already added to the live totals.
    let mut synced = Synced::default();
    loop {
        let playing = Instant::now();
        let ended = play(
            &spec,
            &mut conn,
            &welcome,
            (&mut brain, born),
            &mut seq,
            &mut rng,
            clock,
            (&live, &mut synced),
            &mut out,
        )
        .await;
        out.played += playing.elapsed();
        match ended {
            Ended::Deadline => {
                out.completed = leave(&mut conn, &mut out).await;
                live.traffic(&conn, &mut synced);
                out.tally(&conn);
                break;
            }
            Ended::Churn => {
                out.churns += 1;
                live.churned();
                live.traffic(&conn, &mut synced);
                out.tally(&conn);
                drop(conn); // a cut: no Leave, no close frame
                let resume = JoinOptions {
                    resume: Some(welcome.resume_token.clone()),
                    ..JoinOptions::default()
                };
                match connect_and_join(&url, &name, resume).await {
                    Ok((c, w)) => {
                        if w.player_id == welcome.player_id {
                            out.resumes += 1;
                            live.resumed();
                        }
                        seq = seq.max(w.last_input_seq);
                        out.room = Some(w.room.clone());
                        (conn, welcome) = (c, w);
                        synced = Synced::default();
                    }
                    Err(e) => {
                        live.error();
                        out.disconnect = Some(format!("{name}: resume failed: {e}"));
                        break;
                    }
                }
            }
            Ended::Failed(e) if spec.rejoin && !spec.matchmakers.is_empty() && lost(&e) => {
                live.traffic(&conn, &mut synced);
                out.tally(&conn);
                drop(conn);
                // Its server is gone (killed, or drained to the end): ask where to play now,
                // until the run's end.
                match matchmade_join::<G>(&spec, &name, spec.end_at, &mut url, &mut out).await {
                    Ok((c, w)) => {
                        out.rejoins += 1;
                        out.room = Some(w.room.clone());
                        seq = seq.max(w.last_input_seq);
                        (conn, welcome) = (c, w);
                        synced = Synced::default();
                    }
                    Err(why) => {
                        live.error();
                        out.disconnect = Some(format!("{name}: {e}; rejoin failed: {why}"));
                        live.connected(-1);
                        live.disconnected();
                        return out;
                    }
                }
            }
            Ended::Failed(e) => {
                live.error();
                if matches!(
                    e,
                    ClientError::Decode(_)
                        | ClientError::Refused { .. }
                        | ClientError::Unexpected(_)
                        | ClientError::TextFrame
                ) {
                    out.protocol_error = Some(format!("{name}: {e}"));
                }
                out.disconnect = Some(format!("{name}: {e}"));
                live.traffic(&conn, &mut synced);
                out.tally(&conn);
                break;
            }
        }
    }
    if out.disconnect.is_some() {
        live.disconnected();
    }
    live.connected(-1);
    out
}

/// Whether `e` says the connection or its server went away, not that the server refused or
/// broke the protocol (those a rejoin would only hide).
fn lost(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Ws(_)
            | ClientError::Closed(_)
            | ClientError::Timeout(_)
            // A drain that ran out of time says so before its 1001.
            | ClientError::Refused {
                code: ErrorCode::ShuttingDown,
                ..
            }
    )
}

/// Matchmakes (`spec.matchmakers`, the bot's index picking the first) and joins where it is
/// sent with its ticket, until `until`; `url` becomes the server's, `out.server` its id.
async fn matchmade_join<G: Game>(
    spec: &BotSpec,
    name: &str,
    until: Instant,
    url: &mut String,
    out: &mut BotOutcome,
) -> Result<(Connection<G>, Welcome<G>), String> {
    loop {
        let seat = crate::matchmake::seat(
            &spec.matchmakers,
            spec.index,
            name,
            spec.room.as_deref(),
            G::NAME,
            until
                .max(Instant::now() + Duration::from_secs(2))
                .into_std(),
        )
        .await?;
        let options = JoinOptions {
            ticket: Some(seat.ticket),
            ..JoinOptions::default()
        };
        match connect_and_join::<G>(&seat.url, name, options).await {
            Ok(joined) => {
                *url = seat.url;
                out.server = Some(seat.server);
                return Ok(joined);
            }
            // The seat's server went away between the answer and the join: ask again.
            Err(e) if lost(&e) || matches!(e, ClientError::Connect(_)) => {
                if Instant::now() >= until {
                    return Err(format!("{} ({}): {e}", seat.url, seat.server));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(format!("{} ({}): {e}", seat.url, seat.server)),
        }
    }
}

async fn connect_and_join<G: Game>(
    url: &str,
    name: &str,
    options: JoinOptions,
) -> Result<(Connection<G>, Welcome<G>), ClientError> {
    let mut conn = tokio::time::timeout(JOIN_TIMEOUT, Connection::connect(url))
        .await
        .map_err(|_| ClientError::Timeout(JOIN_TIMEOUT))??;
    let welcome = conn.join_with(name, options, JOIN_TIMEOUT).await?;
    Ok((conn, welcome))
}

/// Sends `msg` now, or puts it on the simulated line when the run has one.
async fn send<G: Game>(
    conn: &mut Connection<G>,
    outbox: &mut InFlight<ClientMsgOf<G>>,
    msg: ClientMsgOf<G>,
) -> Result<(), ClientError> {
    if outbox.is_direct() {
        conn.send(&msg).await
    } else {
        outbox.push(Instant::now(), msg);
        Ok(())
    }
}

/// Where inputs go and what remembers them: the simulated line, the prediction, and when each
/// unacknowledged input left.
type Line<'a, G> = (
    &'a mut InFlight<ClientMsgOf<G>>,
    &'a mut <G as Game>::Predictor,
    &'a mut VecDeque<(u32, Instant)>,
);

/// Sends `n` inputs of `controls` acknowledging snapshot `ack`, drawn `behind` it, numbering
/// them from `seq`, predicting each and remembering when it left.
async fn send_inputs<G: Game>(
    conn: &mut Connection<G>,
    (outbox, predictor, unacked): Line<'_, G>,
    seq: &mut u32,
    n: u16,
    (ack, behind): (u64, u16),
    controls: G::Input,
) -> Result<(), ClientError> {
    for _ in 0..n {
        *seq += 1;
        let msg = ClientMsg::Input(Input {
            seq: *seq,
            ack,
            behind,
            controls,
        });
        send(conn, outbox, msg).await?;
        predictor.input(*seq, &controls);
        if unacked.len() == MAX_UNACKED {
            unacked.pop_front();
        }
        unacked.push_back((*seq, Instant::now()));
    }
    Ok(())
}

/// Plays on one connection until the deadline, a churn, or a failure.
#[allow(clippy::too_many_arguments)]
async fn play<G: Game>(
    spec: &BotSpec,
    conn: &mut Connection<G>,
    welcome: &Welcome<G>,
    (brain, born): (&mut G::Brain, Instant),
    seq: &mut u32,
    rng: &mut StdRng,
    clock: Instant,
    (live, synced): (&Live, &mut Synced),
    out: &mut BotOutcome,
) -> Ended {
    let me = welcome.player_id;
    let tick_period = Duration::from_secs(1) / u32::from(welcome.tick_rate.max(1));
    // The browser draws the others one snapshot interval behind the newest snapshot.
    let delay_ticks = f32::from(welcome.tick_rate) / f32::from(welcome.snapshot_rate.max(1));
    let mut replica = Replica::<G::Entity>::new();
    let mut predictor = G::Predictor::new(&welcome.settings, welcome.tick_rate, me);
    let mut ping = tokio::time::interval(Duration::from_secs(1));
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut next_chat = Instant::now() + Duration::from_secs(rng.random_range(5..20));
    let mut unacked: VecDeque<(u32, Instant)> = VecDeque::new();
    let mut last_snapshot: Option<(Instant, u64)> = None;
    let mut previous: Option<Frame<G::Entity>> = None;
    let mut last_input = G::Input::default();
    let mut shown_view = Vec::new();
    let mut inbox = InFlight::new(spec.network, spec.seed ^ 0x1b);
    let mut outbox = InFlight::new(spec.network, spec.seed ^ 0x0b);
    // Once the connection has ended, what it said last waits in the inbox; stop reading.
    let mut ended = false;
    loop {
        let far = Instant::now() + Duration::from_secs(3600);
        let received = tokio::select! {
            _ = tokio::time::sleep_until(spec.end_at) => return Ended::Deadline,
            _ = ping.tick() => {
                if spec.churn_per_s > 0.0 && rng.random_bool(spec.churn_per_s.min(1.0)) {
                    return Ended::Churn;
                }
                let client_time = clock.elapsed().as_micros() as u64;
                if let Err(e) = send(conn, &mut outbox, ClientMsg::Ping { client_time }).await {
                    return Ended::Failed(e);
                }
                continue;
            }
            _ = tokio::time::sleep_until(outbox.due().unwrap_or(far)), if !outbox.is_empty() => {
                while let Some(msg) = outbox.pop_due(Instant::now()) {
                    if let Err(e) = conn.send(&msg).await {
                        return Ended::Failed(e);
                    }
                }
                continue;
            }
            _ = tokio::time::sleep_until(inbox.due().unwrap_or(far)), if !inbox.is_empty() => {
                match inbox.pop_due(Instant::now()) {
                    Some(received) => received,
                    None => continue,
                }
            }
            received = conn.recv(), if !ended => {
                if inbox.is_direct() {
                    received
                } else {
                    ended = !matches!(received, Ok(Received::Msg(_)));
                    inbox.push(Instant::now(), received);
                    continue;
                }
            }
        };
        let now = Instant::now();
        match received {
            Ok(Received::Msg(ServerMsg::Snapshot(snapshot))) => {
                out.snapshots += 1;
                // Joins, leaves and chat count as events as the game's own do: before
                // the engine and the game split, they were all one kind.
                out.events += snapshot.events.len() as u64;
                let previous_arrival = last_snapshot.replace((now, snapshot.tick));
                // Measured against the ticks between the two snapshots: gaps alternate
                // when the snapshot rate does not divide the tick rate.
                let jitter = previous_arrival.map(|(at, tick)| {
                    let gap = snapshot.tick.saturating_sub(tick).clamp(1, 8) as u32;
                    micros((now - at).abs_diff(tick_period * gap))
                });
                // One input per tick: the inputs sent now cover the ticks until the next
                // snapshot (one or two at 20 Hz snapshots of a 30 Hz tick).
                let ahead = schedule::ticks_to_next_snapshot(
                    snapshot.tick,
                    welcome.tick_rate,
                    welcome.snapshot_rate,
                );
                let inputs_per_snapshot = ahead.min(8) as u16;
                if let Some(j) = jitter {
                    let _ = out.jitter_us.record(j);
                }
                let mut acked = None;
                while unacked
                    .front()
                    .is_some_and(|(s, _)| *s <= snapshot.last_input_seq)
                {
                    if let Some((s, sent)) = unacked.pop_front()
                        && s == snapshot.last_input_seq
                    {
                        // Earlier inputs were superseded in the same tick; the newest
                        // applied one measures the loop.
                        let d = micros(now - sent);
                        let _ = out.input_ack_us.record(d);
                        acked = Some(d);
                    }
                }
                let sends = inputs_per_snapshot.saturating_sub(u16::from(snapshot.queued_inputs));
                let view = match replica.apply(&snapshot) {
                    Ok(view) => view,
                    Err(e) => {
                        live.snapshot(jitter, acked, None);
                        out.desyncs += 1;
                        live.error();
                        if out.desyncs == 1 {
                            eprintln!("bot-{}: snapshot did not apply: {e}", spec.index);
                        }
                        previous = None;
                        // The replica now acknowledges nothing: say so at once, holding the
                        // last controls, so the server's next snapshot is complete. Without an
                        // input the server hears of it only when its history of this client's
                        // views runs out, a second later.
                        let line = (&mut outbox, &mut predictor, &mut unacked);
                        if let Err(e) =
                            send_inputs(conn, line, seq, sends, (0, 0), last_input).await
                        {
                            return Ended::Failed(e);
                        }
                        continue;
                    }
                };
                let mut predicted = None;
                if let Some(own) = view.iter().find(|e| e.id() == me)
                    && let Some(error) = predictor.reconcile(snapshot.last_input_seq, own)
                {
                    let milli = ((f64::from(error) * 1000.0).round() as u64).min(1_000_000_000);
                    let _ = out.prediction_error_milli.record(milli);
                    predicted = Some(milli);
                }
                live.snapshot(jitter, acked, predicted);
                let game_events: Vec<_> = snapshot
                    .events
                    .iter()
                    .filter_map(|(_, e)| match e {
                        RoomEvent::Game(e) => Some(e),
                        _ => None,
                    })
                    .collect();
                let tally = brain.tally(me, view, &game_events);
                out.shots += u64::from(tally.shots);
                out.hits += u64::from(tally.hits);
                let behind = shown(
                    previous.as_ref(),
                    (snapshot.tick, view),
                    delay_ticks,
                    (me, predictor.position()),
                    &mut shown_view,
                );
                let input = brain.decide(me, &shown_view, born.elapsed().as_secs_f64(), rng);
                let mut frame = previous.take().unwrap_or(Frame {
                    tick: 0,
                    entities: Vec::new(),
                });
                frame.tick = snapshot.tick;
                frame.entities.clear();
                frame.entities.extend_from_slice(view);
                previous = Some(frame);
                let ack = replica.ack();
                // Inputs that arrived in a burst wait in the room's queue, a tick of
                // latency each, until the client sends that many fewer.
                last_input = input;
                let line = (&mut outbox, &mut predictor, &mut unacked);
                if let Err(e) = send_inputs(conn, line, seq, sends, (ack, behind), input).await {
                    return Ended::Failed(e);
                }
                if Instant::now() >= next_chat {
                    next_chat = Instant::now() + Duration::from_secs(rng.random_range(10..30));
                    let text = format!("bot-{} says hi at tick {}", spec.index, snapshot.tick);
                    if let Err(e) = send(conn, &mut outbox, ClientMsg::Chat { text }).await {
                        return Ended::Failed(e);
                    }
                }
                live.traffic(conn, synced);
            }
            Ok(Received::Msg(ServerMsg::Pong { client_time, .. })) => {
                let rtt = (clock.elapsed().as_micros() as u64)
                    .saturating_sub(client_time)
                    .clamp(1, 60_000_000);
                let _ = out.rtt_us.record(rtt);
                live.rtt(rtt);
                live.traffic(conn, synced);
            }
            Ok(Received::Msg(ServerMsg::Error { code, message })) => {
                return Ended::Failed(ClientError::Refused { code, message });
            }
            Ok(Received::Msg(ServerMsg::Spectating { .. })) => {
                return Ended::Failed(ClientError::Unexpected("Spectating while playing".into()));
            }
            Ok(Received::Msg(ServerMsg::Welcome { .. })) => {
                return Ended::Failed(ClientError::Unexpected("a second Welcome".into()));
            }
            Ok(Received::Closed(frame)) => return Ended::Failed(ClientError::Closed(frame)),
            Err(e) => return Ended::Failed(e),
        }
    }
}

/// Sends `Leave` and expects the server's normal close.
async fn leave<G: Game>(conn: &mut Connection<G>, out: &mut BotOutcome) -> bool {
    if let Err(e) = conn.send(&ClientMsg::Leave).await {
        out.disconnect = Some(format!("leave: {e}"));
        return false;
    }
    match conn.wait_for_close(LEAVE_TIMEOUT).await {
        Ok(Some(frame)) if u16::from(frame.code) == 1000 => true,
        Ok(frame) => {
            out.disconnect = Some(format!("leave answered with {}", describe_close(&frame)));
            false
        }
        Err(e) => {
            out.disconnect = Some(format!("leave: {e}"));
            false
        }
    }
}
