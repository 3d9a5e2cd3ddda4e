//! Delta snapshots, interest management, one input per tick and prediction, over real sockets
//! against the real server, with the client code the bots use (`Replica`, `Predictor`).

mod common;

use arena_bot::{Connection, Received, Welcome};
use arena_server::Config;
use arena_shared::predict::Predictor;
use arena_shared::protocol::{ClientMsg, Input, Snapshot};
use arena_shared::sync::Replica;
use arena_shared::{EntityId, PlayerInput, Rules, ServerMsg};
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
    replica: Replica,
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
            move_dir,
            aim: Vec2::X,
            fire: false,
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

    let mut baselines = Vec::new();
    for _ in 0..30 {
        baselines.push(ann.step(Vec2::ZERO).await.baseline);
    }
    assert_eq!(baselines[0], 0, "the first snapshot is complete");
    let deltas = baselines.iter().filter(|&&b| b != 0).count();
    assert!(deltas >= 25, "{deltas} of 30 snapshots were deltas");
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
            move_dir: toward_ann,
            aim: toward_ann,
            fire: false,
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
    next_snapshot(&mut conn).await;
    // Six inputs in one burst: the room must spread them over six ticks, not apply the last.
    for seq in 1..=6 {
        let input = Input {
            seq,
            ack: 0,
            move_dir: Vec2::X,
            aim: Vec2::X,
            fire: false,
        };
        conn.send(&ClientMsg::Input(input)).await.expect("send");
    }
    let (mut seen, mut queued) = (Vec::new(), Vec::new());
    while seen.last().is_none_or(|&(_, seq)| seq < 6) {
        let s = next_snapshot(&mut conn).await;
        seen.push((s.tick, s.last_input_seq));
        queued.push((s.last_input_seq, s.queued_inputs));
        assert!(seen.len() < 60, "inputs never all applied: {seen:?}");
    }
    // Each snapshot says how many wait, so a client can send fewer until the queue is empty.
    assert!(
        queued.iter().any(|&(_, q)| q > 0)
            && queued.iter().all(|&(last, q)| last + u32::from(q) <= 6)
            && queued.last() == Some(&(6, 0)),
        "queued inputs reported: {queued:?}"
    );
    for w in seen.windows(2) {
        let ((t0, s0), (t1, s1)) = (w[0], w[1]);
        assert!(
            s1 >= s0 && u64::from(s1 - s0) <= t1 - t0,
            "at most one input per tick, in order: {seen:?}"
        );
    }
    assert!(
        seen.iter().filter(|&&(_, s)| s > 0 && s < 6).count() >= 4,
        "the burst was spread over ticks: {seen:?}"
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
async fn prediction_with_the_shared_mover_matches_the_server() {
    let server = TestServer::start(config());
    let (conn, welcome) = server.player("ann", Some("r")).await;
    let mut predictor = Predictor::new(&welcome.map, &welcome.rules, u32::from(welcome.tick_rate));
    let mut ann = Client::new(conn, &welcome);
    let mut errors = Vec::new();
    for i in 0..90u32 {
        // Turn every 10 inputs, so walls, acceleration and friction all come into it.
        let move_dir = Vec2::from_angle(f32::from((i / 10) as u16) * 2.4);
        let snapshot = ann.step(move_dir).await;
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
        if let Some(error) = predictor.reconcile(snapshot.last_input_seq, &own) {
            errors.push(error);
        }
    }
    // An input the server received late was repeated in its place, which shows as an error;
    // on loopback that is rare, and every other prediction is exact.
    let exact = errors.iter().filter(|&&e| e == 0.0).count();
    assert!(errors.len() >= 60, "{} reconciliations", errors.len());
    assert!(
        exact * 10 >= errors.len() * 9,
        "{exact} of {} predictions exact: {errors:?}",
        errors.len()
    );
}

#[tokio::test]
async fn a_forged_acknowledgement_gets_a_complete_snapshot() {
    let server = TestServer::start(config());
    let (mut conn, _) = server.player("ann", Some("r")).await;
    next_snapshot(&mut conn).await;
    let input = Input {
        seq: 1,
        ack: 999_999,
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
