//! One bot's life: connect, join, play for the duration, leave; and what it observed.

use std::time::Duration;

use arena_shared::protocol::{ClientMsg, Input, ServerMsg};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::{Instant, MissedTickBehavior};

use crate::brain::{Behavior, Brain};
use crate::connection::{ClientError, Connection, Received, describe_close};

/// How long a bot waits for the handshake plus `Welcome`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a bot waits for the server's close after `Leave`.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);

/// What one bot is told to do.
#[derive(Clone, Debug)]
pub struct BotSpec {
    /// `ws://host:port/ws`.
    pub url: String,
    /// Bot number in the fleet (names it, and picks its role in `mixed`).
    pub index: usize,
    /// Room to join; `None` = quick-play.
    pub room: Option<String>,
    /// Play style.
    pub behavior: Behavior,
    /// How long to play after joining.
    pub duration: Duration,
    /// Seed for this bot's random choices.
    pub seed: u64,
}

/// What one bot observed.
#[derive(Debug)]
pub struct BotOutcome {
    /// Got a `Welcome`.
    pub connected: bool,
    /// Played the whole duration and left cleanly.
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
    /// Events received.
    pub events: u64,
    /// Ping round trips, microseconds.
    pub rtt_us: Histogram<u64>,
}

impl BotOutcome {
    fn new() -> Self {
        Self {
            connected: false,
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
            rtt_us: rtt_histogram(),
        }
    }
}

/// A histogram for round trips from 1 µs to 60 s at 3 significant digits.
pub fn rtt_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant histogram bounds are valid")
}

/// Runs one bot to the end. `clock` is the fleet's common time origin for ping timestamps.
pub async fn run_bot(spec: BotSpec, clock: Instant) -> BotOutcome {
    let mut out = BotOutcome::new();
    let mut conn = match Connection::connect(&spec.url).await {
        Ok(c) => c,
        Err(e) => {
            out.failure = Some(e.to_string());
            return out;
        }
    };
    let welcome = match conn
        .join(
            &format!("bot-{}", spec.index),
            spec.room.as_deref(),
            JOIN_TIMEOUT,
        )
        .await
    {
        Ok(w) => w,
        Err(e) => {
            out.failure = Some(e.to_string());
            tally(&mut out, &conn);
            return out;
        }
    };
    out.connected = true;
    let me = welcome.player_id;
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut brain = Brain::new(spec.behavior, spec.index, &mut rng);
    let mut seq = 0u32;
    let deadline = Instant::now() + spec.duration;
    let mut ping = tokio::time::interval(Duration::from_secs(1));
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut next_chat = Instant::now() + Duration::from_secs(rng.random_range(5..20));

    let ended_early = loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break None,
            _ = ping.tick() => {
                let client_time = clock.elapsed().as_micros() as u64;
                if let Err(e) = conn.send(&ClientMsg::Ping { client_time }).await {
                    break Some(e);
                }
            }
            received = conn.recv() => match received {
                Ok(Received::Msg(ServerMsg::Snapshot(snapshot))) => {
                    out.snapshots += 1;
                    let input = brain.decide(me, &snapshot, &mut rng);
                    seq += 1;
                    let msg = ClientMsg::Input(Input { seq, move_dir: input.move_dir, aim: input.aim, fire: input.fire });
                    if let Err(e) = conn.send(&msg).await {
                        break Some(e);
                    }
                    if Instant::now() >= next_chat {
                        next_chat = Instant::now() + Duration::from_secs(rng.random_range(10..30));
                        let text = format!("bot-{} says hi at tick {}", spec.index, snapshot.tick);
                        if let Err(e) = conn.send(&ClientMsg::Chat { text }).await {
                            break Some(e);
                        }
                    }
                }
                Ok(Received::Msg(ServerMsg::Pong { client_time, .. })) => {
                    let rtt = (clock.elapsed().as_micros() as u64).saturating_sub(client_time).max(1);
                    let _ = out.rtt_us.record(rtt.min(60_000_000));
                }
                Ok(Received::Msg(ServerMsg::Event { .. })) => out.events += 1,
                Ok(Received::Msg(ServerMsg::Error { code, message })) => {
                    break Some(ClientError::Refused { code, message });
                }
                Ok(Received::Msg(ServerMsg::Welcome { .. })) => {
                    break Some(ClientError::Unexpected("a second Welcome".into()));
                }
                Ok(Received::Closed(frame)) => break Some(ClientError::Closed(frame)),
                Err(e) => break Some(e),
            }
        }
    };

    match ended_early {
        None => {
            out.completed = leave(&mut conn, &mut out).await;
        }
        Some(e) => {
            match &e {
                ClientError::Decode(_)
                | ClientError::Refused { .. }
                | ClientError::Unexpected(_)
                | ClientError::TextFrame => {
                    out.protocol_error = Some(format!("bot-{}: {e}", spec.index));
                }
                _ => {}
            }
            out.disconnect = Some(format!("bot-{}: {e}", spec.index));
        }
    }
    tally(&mut out, &conn);
    out
}

/// Sends `Leave` and expects the server's normal close.
async fn leave(conn: &mut Connection, out: &mut BotOutcome) -> bool {
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

fn tally(out: &mut BotOutcome, conn: &Connection) {
    out.messages_sent = conn.messages_sent;
    out.messages_received = conn.messages_received;
    out.bytes_sent = conn.bytes_sent;
    out.bytes_received = conn.bytes_received;
}
