//! Delta snapshots, interest management, one input per tick and prediction, over real sockets
//! against the real server, with the client code the bots use (`Replica`, `Predictor`).

mod common;

use arena_server::Config;
use arena_shared::EntityId;
use arena_shared::shooter::Predictor;
use arena_shared::shooter::{ClientMsg, Input, Snapshot};
use arena_shared::shooter::{PlayerInput, Rules, ServerMsg};
use arena_shared::sync::{HISTORY_LEN, Replica};
use common::{Connection, Received, Welcome};
use common::{TestServer, WAIT, config, map_file};
use glam::Vec2;

/// A corridor 2,400 units long with a spawn at each end: two players start 2,200 apart, out of
/// each other's 2,048-wide view box.
const CORRIDOR: &str = "name corridor\nsize 2400 400\nspawn 100 200\nspawn 2300 200\n";

fn corridor(full_snapshots: bool) -> Config {
    Config {
        map: map_file("corridor", CORRIDOR),
        view_width: 2048.0,
        view_height: 1280.0,
        full_snapshots,
        // Fast players, so crossing the corridor takes about a second.
        rules: Rules {
            acceleration: 16_000.0,
            max_speed: 1_600.0,
            ..Rules::default()
        },
        ..config()
    }
}

async fn next_snapshot(conn: &mut Connection) -> Snapshot {
    conn.wait_for(WAIT, |m| match m {
        ServerMsg::Snapshot(s) => Some(s.clone()),
        _ => None,
    })
    .await
    .expect("a snapshot")
}

/// A client that keeps a replica and acknowledges every snapshot it applied with its next input.
struct Client {
    conn: Connection,
    me: EntityId,
    replica: Replica<arena_shared::shooter::Entity>,
    seq: u32,
}

impl Client {
    fn new(conn: Connection, welcome: &Welcome) -> Self {
        Self {
            conn,
            me: welcome.player_id,
            replica: Replica::new(),
            seq: 0,
        }
    }

    /// Receives and applies one snapshot, then sends one input that acknowledges it.
    async fn step(&mut self, move_dir: Vec2) -> Snapshot {
        let snapshot = next_snapshot(&mut self.conn).await;
        self.replica
            .apply(&snapshot)
            .unwrap_or_else(|e| panic!("snapshot {} does not apply: {e}", snapshot.tick));
        self.seq += 1;
        let input = Input {
            seq: self.seq,
            ack: self.replica.ack(),
            behind: 0,
            controls: PlayerInput {
                move_dir,
                aim: Vec2::X,
                fire: false,
            },
        };
        self.conn
            .send(&ClientMsg::Input(input))
            .await
            .expect("send input");
        snapshot
    }

    fn sees(&self, id: EntityId) -> bool {
        self.replica.entity(id).is_some()
    }
}

#[tokio::test]
async fn acknowledged_snapshots_become_deltas_and_only_the_view_box_is_sent() {
    let server = TestServer::start(corridor(false));
    let (ann_conn, ann_w) = server.player("ann", Some("c")).await;
    let (mut bob, bob_w) = server.player("bob", Some("c")).await;
    let mut ann = Client::new(ann_conn, &ann_w);

    // Input `seq` acknowledges `acks[seq]`, the newest tick ann's replica held when she sent it.
    // Once the room has applied an input (`last_input_seq`), her session had read its
    // acknowledgement before it took that snapshot to encode: the snapshot must then be a delta
    // against that tick or a newer one, unless the session's history (the last HISTORY_LEN
    // snapshots it sent, all of which ann received, in order) no longer holds it. However late
    // this machine lets ann read or the room apply, nothing else may make it complete.
    let (mut received, mut acks, mut must_be_deltas) = (Vec::<u64>::new(), vec![0], 0);
    while must_be_deltas < 25 {
        assert!(
            received.len() < 300,
            "the room applied too few inputs: {received:?}"
        );
        let s = ann.step(Vec2::ZERO).await;
        let acked = acks[usize::try_from(s.last_input_seq).expect("small")];
        acks.push(ann.replica.ack());
        if received.is_empty() {
            assert_eq!(s.baseline, 0, "the first snapshot is complete");
        }
        let sent_since = received
            .iter()
            .rposition(|&t| t == acked)
            .map(|i| received.len() - i);
        received.push(s.tick);
        if acked != 0 && sent_since.is_some_and(|n| n <= HISTORY_LEN) {
            must_be_deltas += 1;
            assert!(
                s.baseline >= acked && s.baseline < s.tick,
                "snapshot {} is against {} though tick {acked} was acknowledged {} snapshots \
                 before it: {received:?}",
                s.tick,
                s.baseline,
                sent_since.unwrap_or_default()
            );
        }
    }
    assert!(ann.sees(ann.me));
    assert!(
        !ann.sees(bob_w.player_id),
        "bob, 2,200 units away, is outside ann's 2,048 x 1,280 view"
    );

    // Bob walks toward ann; he enters her view as a created entity, and her replica follows
    // him through deltas from then on.
    // Spawns are chosen at random: ann is at one end of the corridor, bob at the other.
    let ann_x = ann.replica.entity(ann.me).expect("own player").pos.x;
    let toward_ann = if ann_x < 1200.0 { Vec2::NEG_X } else { Vec2::X };
    let mut entered = None;
    for _ in 0..120 {
        let input = ClientMsg::Input(Input {
            seq: ann.seq + 1000,
            ack: 0,
            behind: 0,
            controls: PlayerInput {
                move_dir: toward_ann,
                aim: toward_ann,
                fire: false,
            },
        });
        bob.send(&input).await.expect("bob moves");
        let s = ann.step(Vec2::ZERO).await;
        if s.created.iter().any(|e| e.id == bob_w.player_id) {
            entered = Some(s.baseline);
            break;
        }
    }
    let entered_in = entered.expect("bob enters ann's view");
    assert_ne!(entered_in, 0, "he arrives in a delta, as a created entity");
    let first = ann.replica.entity(bob_w.player_id).expect("seen").pos;
    for _ in 0..5 {
        ann.step(Vec2::ZERO).await;
    }
    let later = ann.replica.entity(bob_w.player_id).expect("still seen").pos;
    assert!(
        (later.x - first.x) * toward_ann.x > 0.0,
        "ann sees bob keep walking: {first} -> {later}"
    );
}

#[tokio::test]
async fn full_snapshots_send_every_entity_complete_every_time() {
    let server = TestServer::start(corridor(true));
    let (ann_conn, ann_w) = server.player("ann", Some("c")).await;
    let (_bob, bob_w) = server.player("bob", Some("c")).await;
    assert_eq!(
        ann_w.view, None,
        "the Welcome says the view is the whole map"
    );
    let mut ann = Client::new(ann_conn, &ann_w);
    for _ in 0..10 {
        let s = ann.step(Vec2::ZERO).await;
        assert_eq!(s.baseline, 0);
        assert!(s.changed.is_empty() && s.removed.is_empty());
    }
    assert!(ann.sees(bob_w.player_id), "no view box: bob is seen");
}

#[tokio::test]
async fn the_room_applies_one_input_per_tick_in_order() {
    let server = TestServer::start(config());
    let (mut conn, _) = server.player("ann", Some("r")).await;
    let before = next_snapshot(&mut conn).await;
    // Six inputs in one burst: the room must spread them over six ticks, not apply the last.
    for seq in 1..=6 {
        let input = Input {
            seq,
            ack: 0,
            behind: 0,
            controls: PlayerInput {
                move_dir: Vec2::X,
                aim: Vec2::X,
                fire: false,
            },
        };
        conn.send(&ClientMsg::Input(input)).await.expect("send");
    }
    // The session answers a ping after it has queued every input sent before it.
    conn.send(&ClientMsg::Ping { client_time: 7 })
        .await
        .expect("send");
    // (tick, last applied, queued) of every snapshot from the one before the burst, and the
    // index of the first one to arrive after the pong.
    let mut seen = vec![(before.tick, before.last_input_seq, before.queued_inputs)];
    let mut after_pong = None;
    while seen.last().is_some_and(|&(_, seq, _)| seq < 6) || after_pong.is_none() {
        assert!(seen.len() < 60, "inputs never all applied: {seen:?}");
        match conn.recv_timeout(WAIT).await.expect("a message") {
            Received::Msg(ServerMsg::Snapshot(s)) => {
                seen.push((s.tick, s.last_input_seq, s.queued_inputs));
            }
            Received::Msg(ServerMsg::Pong { .. }) => after_pong = Some(seen.len()),
            Received::Msg(_) => {}
            Received::Closed(frame) => panic!("closed: {frame:?}"),
        }
    }
    for w in seen.windows(2) {
        let ((t0, s0, q0), (t1, s1, _)) = (w[0], w[1]);
        let (ticks, applied) = (t1 - t0, u64::from(s1.saturating_sub(s0)));
        assert!(
            s1 >= s0 && applied <= ticks,
            "at most one input per tick, in order: {seen:?}"
        );
        // Each snapshot says how many wait, so a client can send fewer until the queue is
        // empty: an input said to wait is applied by the next tick.
        assert!(
            applied >= ticks.min(u64::from(q0)),
            "inputs reported waiting were not applied: {seen:?}"
        );
    }
    assert!(
        seen.iter().all(|&(_, s, q)| s + u32::from(q) <= 6),
        "more inputs reported than sent: {seen:?}"
    );
    // The second snapshot after the pong was taken in the room after the session had queued all
    // six, so from there on every input sent is either applied or reported waiting: wherever
    // fewer than six were applied, the queue must say so.
    let all_queued = after_pong.expect("the pong arrived") + 1;
    assert!(
        seen.get(all_queued..)
            .unwrap_or_default()
            .iter()
            .all(|&(_, s, q)| s + u32::from(q) == 6),
        "inputs neither applied nor reported waiting (from snapshot {all_queued}): {seen:?}"
    );
    assert_eq!(seen.last().map(|&(_, s, q)| (s, q)), Some((6, 0)));
    let done = seen.iter().find(|&&(_, s, _)| s == 6).map_or(0, |w| w.0);
    assert!(
        done >= before.tick + 6,
        "the burst was spread over six ticks: {seen:?}"
    );
    let metrics = server.metrics();
    let dropped = metrics.samples_where("arena_dropped_inputs_total", &[]);
    assert!(
        !dropped.is_empty() && dropped.iter().all(|s| s.value == 0.0),
        "no input was dropped: {dropped:?}"
    );
}

#[tokio::test]
async fn a_lower_snapshot_rate_sends_every_nth_tick() {
    let server = TestServer::start(Config {
        snapshot_rate: 10,
        ..config()
    });
    let (mut conn, welcome) = server.player("ann", Some("r")).await;
    assert_eq!((welcome.tick_rate, welcome.snapshot_rate), (30, 10));
    let mut ticks = Vec::new();
    for _ in 0..5 {
        ticks.push(next_snapshot(&mut conn).await.tick);
    }
    assert!(ticks.iter().all(|t| t % 3 == 0), "{ticks:?}");
}

#[tokio::test]
async fn a_rate_that_does_not_divide_the_tick_rate_follows_the_shared_schedule() {
    let server = TestServer::start(Config {
        snapshot_rate: 20,
        ..config()
    });
    let (mut conn, welcome) = server.player("ann", Some("r")).await;
    assert_eq!((welcome.tick_rate, welcome.snapshot_rate), (30, 20));
    let mut ticks = Vec::new();
    for _ in 0..12 {
        ticks.push(next_snapshot(&mut conn).await.tick);
    }
    // Every snapshot is of a tick the schedule names (a skipped one only leaves a gap), and
    // the schedule is 20 of every 30 ticks: one-tick gaps between the two-tick ones.
    assert!(
        ticks
            .iter()
            .all(|&t| arena_shared::schedule::snapshot_due(t, 30, 20)),
        "{ticks:?}"
    );
    assert!(ticks.iter().any(|t| t % 3 != 0), "{ticks:?}");
}

#[tokio::test]
async fn prediction_with_the_shared_mover_matches_the_server() {
    let server = TestServer::start(config());
    let (conn, welcome) = server.player("ann", Some("r")).await;
    let mut predictor = Predictor::new(
        &welcome.settings.map,
        &welcome.settings.rules,
        u32::from(welcome.tick_rate),
    );
    let mut ann = Client::new(conn, &welcome);
    // The predictor records inputs once it holds a state: the first input goes unpredicted.
    let mut first_predicted = None;
    // ((tick, last applied input), prediction error) of every snapshot.
    let mut seen: Vec<((u64, u32), Option<f32>)> = Vec::new();
    let mut checked = 0;
    while checked < 30 {
        assert!(
            seen.len() < 600,
            "too few snapshots after a new input every tick: {seen:?}"
        );
        // Turn every 10 inputs, so walls, acceleration and friction all come into it.
        let move_dir = Vec2::from_angle(f32::from((seen.len() / 10) as u16) * 2.4);
        let snapshot = ann.step(move_dir).await;
        if predictor.position().is_some() {
            first_predicted.get_or_insert(ann.seq);
        }
        predictor.input(
            ann.seq,
            PlayerInput {
                move_dir,
                aim: Vec2::X,
                fire: false,
            },
        );
        let own = ann
            .replica
            .entity(ann.me)
            .expect("own player in view")
            .clone();
        let error = predictor.reconcile(snapshot.last_input_seq, &own);
        let (t1, s1) = (snapshot.tick, snapshot.last_input_seq);
        // An input the server received late was repeated in its place, which shows as an error.
        // Where every tick since the previous snapshot applied the next input (as many new
        // inputs as ticks), all of them predicted from that snapshot's state, the shared mover
        // must land exactly where the server did.
        if let Some(&((t0, s0), _)) = seen.last()
            && first_predicted.is_some_and(|first| s0 + 1 >= first)
            && s1 > s0
            && u64::from(s1 - s0) == t1 - t0
        {
            checked += 1;
            assert_eq!(
                error,
                Some(0.0),
                "prediction of input {s1} at tick {t1}, after {seen:?}"
            );
        }
        seen.push(((t1, s1), error));
    }
}

#[tokio::test]
async fn a_forged_acknowledgement_gets_a_complete_snapshot() {
    let server = TestServer::start(config());
    let (mut conn, _) = server.player("ann", Some("r")).await;
    next_snapshot(&mut conn).await;
    let input = Input {
        seq: 1,
        ack: 999_999,
        behind: 0,
        ..Input::default()
    };
    conn.send(&ClientMsg::Input(input)).await.expect("send");
    // Whatever it claims, the server never deltas against a view it did not send.
    for _ in 0..5 {
        let s = next_snapshot(&mut conn).await;
        assert_eq!(s.baseline, 0);
        assert!(!s.created.is_empty());
    }
    let mut replica = Replica::new();
    let s = next_snapshot(&mut conn).await;
    assert!(replica.apply(&s).is_ok());
    match conn.recv().await {
        Ok(Received::Msg(_)) => {}
        other => panic!("the connection is still fine: {other:?}"),
    }
}
