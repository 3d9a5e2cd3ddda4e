//! One server, several games: each on its own endpoint, rooms created with options within the
//! server's limits, and no connection ever seated in another game's room.

mod common;

use std::time::Duration;

use arena_bot::fleet::{FleetSpec, run_fleet};
use arena_bot::{ClientError, Connection, JoinOptions, Received};
use arena_server::Config;
use arena_shared::protocol::{ErrorCode, RoomEvent, ServerMsg};
use arena_shared::shooter::World;
use arena_shared::tron::{self, Heading, Tron, TronInput};
use arena_shared::{EntityId, RoomOptions};
use common::{TestServer, WAIT, config};
use serde_json::Value;

fn options(
    map: Option<&str>,
    max_players: Option<u16>,
    rates: (Option<u16>, Option<u16>),
) -> RoomOptions {
    RoomOptions {
        map: map.map(str::to_owned),
        max_players,
        tick_rate: rates.0,
        snapshot_rate: rates.1,
    }
}

async fn join_as<G: arena_shared::Game>(
    server: &TestServer,
    game: &str,
    name: &str,
    room: &str,
    room_options: Option<RoomOptions>,
) -> (Connection<G>, Result<arena_bot::Welcome<G>, ClientError>) {
    let url = format!("ws://{}/ws/{game}", server.addr);
    let mut conn = Connection::<G>::connect(&url).await.expect("upgrade");
    let join = JoinOptions {
        room: Some(room.to_owned()),
        options: room_options,
        ..JoinOptions::default()
    };
    let welcome = conn.join_with(name, join, WAIT).await;
    (conn, welcome)
}

fn refused_with<T>(result: Result<T, ClientError>) -> (ErrorCode, String) {
    match result {
        Err(ClientError::Refused { code, message }) => (code, message),
        Err(e) => panic!("expected a refusal, got {e}"),
        Ok(_) => panic!("expected a refusal, got a Welcome"),
    }
}

#[test]
fn the_server_lists_its_games_their_maps_and_the_option_limits() {
    let server = TestServer::start(config());
    let (status, body) = server.http_get("/api/games");
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    let games = doc["games"].as_array().expect("games");
    let names: Vec<&str> = games.iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, ["shooter", "tron"]);
    let shooter = &games[0];
    assert_eq!(shooter["default"], true, "/ws plays the shooter");
    assert_eq!(shooter["default_map"], "default");
    assert_eq!(shooter["maps"], serde_json::json!(["default", "large"]));
    assert_eq!(games[1]["maps"], serde_json::json!(["default", "small"]));
    assert_eq!(doc["limits"]["max_tick_rate"], 60);
    assert_eq!(doc["limits"]["max_players"], Config::default().max_players);
}

#[tokio::test]
async fn a_named_room_is_created_with_the_options_of_its_first_hello() {
    let server = TestServer::start(config());
    // 20 snapshots a second at a 30 Hz tick: gaps of one and two ticks, alternating.
    let asked = options(Some("large"), Some(2), (Some(30), Some(20)));
    let (mut ann, welcome) = join_as::<World>(&server, "shooter", "ann", "opts", Some(asked)).await;
    let welcome = welcome.expect("ann joins");
    assert_eq!((welcome.tick_rate, welcome.snapshot_rate), (30, 20));
    assert_eq!(welcome.settings.map.name, "large");

    // The room exists: later options are ignored, its own apply.
    let other = options(Some("default"), Some(16), (Some(60), None));
    let (_bob, bob) = join_as::<World>(&server, "shooter", "bob", "opts", Some(other)).await;
    let bob = bob.expect("bob joins");
    assert_eq!(
        (bob.tick_rate, bob.settings.map.name.as_str()),
        (30, "large")
    );
    let (_cat, cat) = join_as::<World>(&server, "shooter", "cat", "opts", None).await;
    assert_eq!(refused_with(cat).0, ErrorCode::RoomFull, "max_players 2");

    let rooms = server.rooms();
    let room = rooms.iter().find(|r| r["name"] == "opts").expect("listed");
    assert_eq!(
        (
            &room["game"],
            &room["map"],
            &room["max_players"],
            &room["tick_rate"],
            &room["snapshot_rate"]
        ),
        (
            &Value::from("shooter"),
            &Value::from("large"),
            &Value::from(2),
            &Value::from(30),
            &Value::from(20)
        )
    );

    let mut ticks = Vec::new();
    while ticks.len() < 9 {
        let tick = ann
            .wait_for(WAIT, |m| match m {
                ServerMsg::Snapshot(s) => Some(s.tick),
                _ => None,
            })
            .await
            .expect("snapshots");
        ticks.push(tick);
    }
    let mut gaps: Vec<u64> = ticks.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_unstable();
    gaps.dedup();
    assert_eq!(gaps, [1, 2], "20 of 30 ticks: {ticks:?}");
}

#[tokio::test]
async fn room_options_outside_the_limits_are_refused_and_the_server_plays_on() {
    let server = TestServer::start(config());
    let cases = [
        (
            options(None, None, (Some(61), None)),
            "tick_rate 61 is outside 1..=60",
        ),
        (
            options(None, None, (Some(20), Some(30))),
            "snapshot_rate 30 is outside 1..=20",
        ),
        (
            options(None, Some(0), (None, None)),
            "max_players 0 is outside 1..=16",
        ),
        (
            options(Some("moon"), None, (None, None)),
            "shooter has no map \"moon\"",
        ),
        (options(Some("../etc"), None, (None, None)), "bad map name"),
    ];
    for (i, (asked, why)) in cases.into_iter().enumerate() {
        let room = format!("bad-{i}");
        let (mut conn, welcome) =
            join_as::<World>(&server, "shooter", "eve", &room, Some(asked)).await;
        let (code, message) = refused_with(welcome);
        assert_eq!(code, ErrorCode::BadOptions, "{message}");
        assert!(message.contains(why), "{message:?} should say {why:?}");
        let frame = conn.wait_for_close(WAIT).await.expect("closed");
        assert_eq!(frame.map(|f| u16::from(f.code)), Some(1008));
    }
    assert!(server.rooms().is_empty(), "no room was created");
    let metrics = server.metrics();
    assert_eq!(
        metrics.value(
            "arena_connections_closed_total",
            &[("code", "1008"), ("reason", "bad_options")]
        ),
        Some(5.0)
    );
    let (_ok, welcome) = join_as::<World>(&server, "shooter", "ok", "fine", None).await;
    welcome.expect("a good Hello still plays");
}

#[tokio::test]
async fn a_connection_is_never_seated_in_another_games_room() {
    let server = TestServer::start(config());
    let (_ann, ann) = join_as::<World>(&server, "shooter", "ann", "mixed", None).await;
    ann.expect("the shooter room opens");
    let (_bob, bob) = join_as::<Tron>(&server, "tron", "bob", "mixed", None).await;
    let (code, message) = refused_with(bob);
    assert_eq!(code, ErrorCode::WrongGame);
    assert!(message.contains("room mixed plays shooter"), "{message}");

    // Quick-play keeps the games apart too: a tron player gets a tron room.
    let url = format!("ws://{}/ws/tron", server.addr);
    let mut quick = Connection::<Tron>::connect(&url).await.expect("upgrade");
    quick.join("cyc", None, WAIT).await.expect("quick-play");
    let rooms = server.rooms();
    let games: Vec<(&str, &str)> = rooms
        .iter()
        .filter_map(|r| Some((r["name"].as_str()?, r["game"].as_str()?)))
        .collect();
    assert_eq!(games.len(), 2, "{rooms:?}");
    assert!(games.contains(&("mixed", "shooter")) && games.iter().any(|g| g.1 == "tron"));

    // Watching goes through the game's endpoint as well.
    let spectate = format!("ws://{}/ws/tron?spectate=mixed", server.addr);
    let mut watcher = Connection::<Tron>::connect(&spectate)
        .await
        .expect("upgrade");
    match watcher.recv_timeout(WAIT).await.expect("an answer") {
        Received::Msg(ServerMsg::Error { code, .. }) => assert_eq!(code, ErrorCode::WrongGame),
        other => panic!("expected WrongGame, got {other:?}"),
    }
}

#[test]
fn an_unknown_game_is_a_404_that_names_the_games() {
    let server = TestServer::start(config());
    let (status, body) = common::http_request(
        server.addr,
        "GET /ws/chess HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert_eq!(status, 404);
    assert!(
        body.contains("no game chess here (games: shooter, tron)"),
        "{body}"
    );
}

#[tokio::test]
async fn two_cycles_play_tron_end_to_end() {
    let server = TestServer::start(config());
    let small = options(Some("small"), None, (Some(20), Some(20)));
    let (mut ann, a) = join_as::<Tron>(&server, "tron", "ann", "grid", Some(small)).await;
    let (mut bob, b) = join_as::<Tron>(&server, "tron", "bob", "grid", None).await;
    let (a, b) = (a.expect("ann joins"), b.expect("bob joins"));
    assert_eq!(
        (a.settings.width, a.settings.height),
        (32, 20),
        "the small map"
    );
    assert_eq!(b.players.len(), 2, "bob's roster: {:?}", b.players);

    // Ann keeps heading East; both see both cycles, and Ann's trail grows behind her.
    let mut seq = 0;
    let mut trail_seen = false;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut bob_joined = false;
    while !(trail_seen && bob_joined) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "trail {trail_seen}, join {bob_joined}"
        );
        let snapshot = ann
            .wait_for(WAIT, |m| match m {
                ServerMsg::Snapshot(s) => Some(s.clone()),
                _ => None,
            })
            .await
            .expect("snapshots");
        bob_joined |= snapshot
            .events
            .iter()
            .any(|(_, e)| matches!(e, RoomEvent::Joined { player, .. } if *player == b.player_id));
        trail_seen |= snapshot
            .created
            .iter()
            .any(|e| matches!(e.kind, tron::EntityKind::Trail { owner } if owner == a.player_id));
        seq += 1;
        let input = arena_shared::protocol::Input {
            seq,
            ack: 0,
            behind: 0,
            controls: TronInput {
                heading: Heading::East,
            },
        };
        ann.send(&arena_shared::protocol::ClientMsg::Input(input))
            .await
            .expect("input");
    }
    let cycles = bob
        .wait_for(WAIT, |m| match m {
            ServerMsg::Snapshot(s) => Some(
                s.created
                    .iter()
                    .filter(|e| matches!(e.kind, tron::EntityKind::Cycle { .. }))
                    .map(|e| e.id)
                    .collect::<Vec<EntityId>>(),
            ),
            _ => None,
        })
        .await
        .expect("bob's snapshot");
    assert!(
        cycles.contains(&a.player_id) && cycles.contains(&b.player_id),
        "{cycles:?}"
    );

    let (status, body) = server.http_get("/api/rooms/grid/state");
    assert_eq!(status, 200, "{body}");
    let state: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        (&state["game"], &state["tick_rate"]),
        (&Value::from("tron"), &Value::from(20))
    );
}

#[tokio::test]
async fn tron_bots_pass_a_fleet_run() {
    let server = TestServer::start(config());
    let spec = FleetSpec {
        game: "tron".into(),
        ..FleetSpec::simple(server.url(), 6, Duration::from_secs(3))
    };
    let report = run_fleet(spec).await;
    assert!(report.passed(), "{}", report.human());
    assert_eq!(report.desyncs, 0, "{}", report.human());
    assert!(report.snapshots_received > 6 * 30, "{}", report.human());
    assert!(report.human().contains("(tron)"), "{}", report.human());
}

#[tokio::test]
async fn quick_play_with_options_is_charged_to_its_address_and_kept_apart() {
    let server = TestServer::start(Config {
        max_named_rooms_per_ip: 2,
        ..config()
    });
    let solo = || Some(options(None, Some(1), (None, None)));
    let url = format!("ws://{}/ws/shooter", server.addr);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = Connection::<World>::connect(&url).await.expect("upgrade");
        let join = JoinOptions {
            options: solo(),
            ..JoinOptions::default()
        };
        conn.join_with("solo", join, WAIT)
            .await
            .expect("a one-seat room");
        held.push(conn);
    }
    // A third one-seat room from the same address: refused, not a room per connection.
    let mut third = Connection::<World>::connect(&url).await.expect("upgrade");
    let join = JoinOptions {
        options: solo(),
        ..JoinOptions::default()
    };
    let (code, message) = refused_with(third.join_with("solo", join, WAIT).await);
    assert_eq!(code, ErrorCode::ServerFull, "{message}");

    for conn in held {
        conn.close().await;
    }
    common::eventually("the one-seat rooms close", || server.rooms().is_empty()).await;

    // Plain quick-play lands in a room with the server's setup, never in a custom one.
    let fast = Some(options(None, None, (Some(60), None)));
    let mut racer = Connection::<World>::connect(&url).await.expect("upgrade");
    let join = JoinOptions {
        options: fast,
        ..JoinOptions::default()
    };
    let welcome = racer
        .join_with("racer", join, WAIT)
        .await
        .expect("a 60 Hz room");
    // Snapshots default to one per tick of the room's own rate.
    assert_eq!((welcome.tick_rate, welcome.snapshot_rate), (60, 60));
    let mut plain = Connection::<World>::connect(&url).await.expect("upgrade");
    let welcome = plain.join("plain", None, WAIT).await.expect("quick-play");
    assert_eq!(welcome.tick_rate, 30, "the server's own setup");
    assert_eq!(server.rooms().len(), 2);
}

#[tokio::test]
async fn options_are_checked_even_when_the_named_room_exists() {
    let server = TestServer::start(config());
    let (_ann, ann) = join_as::<World>(&server, "shooter", "ann", "open", None).await;
    ann.expect("ann opens the room");
    let wild = options(None, None, (Some(999), None));
    let (_bob, bob) = join_as::<World>(&server, "shooter", "bob", "open", Some(wild)).await;
    assert_eq!(refused_with(bob).0, ErrorCode::BadOptions);
}
