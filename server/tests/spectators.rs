//! What spectators and the state endpoint may see, and how much of the server one address may
//! hold: spectator tickets under `auth = "ticket"`, the spectator delay, per-address limits on
//! spectating and on creating rooms, private named rooms, per-room series keyed by id.
mod common;

use std::time::{Duration, Instant};

use arena_bot::{ClientError, JoinOptions};
use arena_server::Config;
use arena_server::config::Auth;
use arena_server::ticket::{Claims, TicketAuthority, unix_now};
use arena_shared::protocol::ErrorCode;
use arena_shared::shooter::{ClientMsg, Input, ServerMsg};
use common::Connection;
use common::{ConnectionExt, TestServer, WAIT, close_code, config};

const SECRET: &str = "an-arena-test-secret-of-32-bytes!!";

fn ticket(name: &str, room: &str, spectate: bool) -> String {
    TicketAuthority::new(SECRET.as_bytes(), 8, 3600).issue(&Claims {
        name: name.into(),
        room: Some(room.into()),
        expires: unix_now() + 60,
        nonce: rand::random(),
        spectate,
        server: None,
    })
}

fn ticket_server(spectator_delay_ms: Option<u64>) -> TestServer {
    TestServer::start(Config {
        auth: Auth::Ticket,
        ticket_secret: SECRET.into(),
        spectator_delay_ms,
        ..config()
    })
}

async fn player_with_ticket(server: &TestServer, name: &str, room: &str) -> Connection {
    let mut conn = server.connect().await;
    let options = JoinOptions {
        ticket: Some(ticket(name, room, false)),
        ..JoinOptions::default()
    };
    conn.join_with(name, options, WAIT).await.expect("join");
    conn
}

/// Opens `/ws?spectate=ROOM` plus `query`; the first thing the server says, and the close
/// code if it closed.
async fn spectate(server: &TestServer, room: &str, query: &str) -> (Option<ServerMsg>, Connection) {
    let url = format!("ws://{}/ws?spectate={room}{query}", server.addr);
    let mut conn = Connection::connect(&url).await.expect("upgrade");
    let first = conn
        .wait_for(WAIT, |m| match m {
            ServerMsg::Spectating { .. } | ServerMsg::Error { .. } => Some(m.clone()),
            _ => None,
        })
        .await
        .ok();
    (first, conn)
}

fn is_bad_ticket(msg: &Option<ServerMsg>) -> bool {
    matches!(
        msg,
        Some(ServerMsg::Error {
            code: ErrorCode::BadTicket,
            ..
        })
    )
}

#[tokio::test]
async fn under_tickets_spectating_needs_a_spectator_ticket_for_that_room() {
    let server = ticket_server(Some(0));
    let _player = player_with_ticket(&server, "p", "r").await;

    for (what, query) in [
        ("no ticket", String::new()),
        (
            "a join ticket",
            format!("&ticket={}", ticket("p", "r", false)),
        ),
        (
            "another room's ticket",
            format!("&ticket={}", ticket("s", "elsewhere", true)),
        ),
    ] {
        let (first, mut conn) = spectate(&server, "r", &query).await;
        assert!(is_bad_ticket(&first), "{what}: {first:?}");
        let closed = conn.wait_for_close(WAIT).await.expect("close");
        assert_eq!(close_code(&closed), Some(1008), "{what}");
    }

    let good = ticket("s", "r", true);
    let (first, _watching) = spectate(&server, "r", &format!("&ticket={good}")).await;
    assert!(
        matches!(first, Some(ServerMsg::Spectating { .. })),
        "{first:?}"
    );
    // Single use, like a join ticket.
    let (again, _) = spectate(&server, "r", &format!("&ticket={good}")).await;
    assert!(is_bad_ticket(&again), "{again:?}");
}

#[tokio::test]
async fn a_spectator_ticket_does_not_seat_a_player() {
    let server = ticket_server(Some(0));
    let mut conn = server.connect().await;
    let options = JoinOptions {
        ticket: Some(ticket("s", "r", true)),
        ..JoinOptions::default()
    };
    let result = conn.join_with("s", options, WAIT).await;
    assert!(
        matches!(
            result,
            Err(ClientError::Refused {
                code: ErrorCode::BadTicket,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn under_tickets_the_state_endpoint_needs_a_spectator_ticket() {
    let server = ticket_server(Some(0));
    let mut player = player_with_ticket(&server, "p", "r").await;
    player.next_tick().await.expect("the room ticks");

    let (status, body) = server.http_get("/api/rooms/r/state");
    assert_eq!(status, 401, "{body}");
    let join = ticket("p", "r", false);
    let (status, body) = server.http_get(&format!("/api/rooms/r/state?ticket={join}"));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("does not grant spectating"), "{body}");
    // A poller asks many times with one ticket: it is checked, not used up.
    let watch = ticket("s", "r", true);
    for _ in 0..3 {
        let request = format!(
            "GET /api/rooms/r/state HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {watch}\r\n\
             Connection: close\r\n\r\n"
        );
        let (status, body) = common::http_request(server.addr, &request);
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test]
async fn spectators_and_the_state_endpoint_see_the_room_a_delay_in_the_past() {
    const DELAY: Duration = Duration::from_secs(1);
    let server = ticket_server(Some(1_000));
    let mut player = player_with_ticket(&server, "p", "r").await;
    let (first, mut spectator) =
        spectate(&server, "r", &format!("&ticket={}", ticket("s", "r", true))).await;
    assert!(matches!(first, Some(ServerMsg::Spectating { .. })));
    // The spectator is read in the background: the tick of each snapshot and when it arrived.
    let (arrivals, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(tick) = spectator.next_tick().await {
            if arrivals.send((tick, Instant::now())).is_err() {
                break;
            }
        }
    });
    // The player sends an input after each snapshot, noting when. A tick by which the room had
    // applied input `seq` was taken after `seq` was sent, so the spectator, a second behind,
    // gets it at least a second after that send; a slow machine only makes it later.
    let mut sent_at = Vec::new(); // input seq is sent_at[seq - 1]
    let mut applied: Vec<(u64, u32)> = Vec::new(); // (tick, last input applied), as the player saw
    let applied_by = |applied: &[(u64, u32)], tick: u64| {
        let by_then = applied.iter().filter(|&&(t, _)| t <= tick);
        by_then.map(|&(_, seq)| seq).max().unwrap_or(0)
    };
    let deadline = Instant::now() + 3 * WAIT;
    let mut checked = 0;
    while checked < 5 {
        assert!(
            Instant::now() < deadline,
            "the spectator saw {checked} ticks after an input: {applied:?}"
        );
        let snapshot = player
            .wait_for(WAIT, |m| match m {
                ServerMsg::Snapshot(s) => Some((s.tick, s.last_input_seq)),
                _ => None,
            })
            .await
            .expect("a snapshot");
        applied.push(snapshot);
        sent_at.push(Instant::now());
        let input = Input {
            seq: u32::try_from(sent_at.len()).expect("few inputs"),
            ..Input::default()
        };
        player.send(&ClientMsg::Input(input)).await.expect("send");
        while let Ok((tick, at)) = arrived.try_recv() {
            let seq = applied_by(&applied, tick);
            if seq == 0 {
                continue;
            }
            checked += 1;
            let after = at - sent_at[seq as usize - 1];
            assert!(
                after >= DELAY,
                "tick {tick} reached the spectator {after:?} after input {seq}, applied by then, \
                 was sent"
            );
        }
    }
    let watch = ticket("s2", "r", true);
    let (status, body) = server.http_get(&format!("/api/rooms/r/state?ticket={watch}"));
    let answered = Instant::now();
    assert_eq!(status, 200, "{body}");
    let state: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let state_tick = state["tick"].as_u64().expect("tick");
    // At least as new as what the spectator saw, so some input was applied by then.
    let seq = applied_by(&applied, state_tick);
    assert!(seq > 0, "state at {state_tick}: {applied:?}");
    let after = answered - sent_at[seq as usize - 1];
    assert!(
        after >= DELAY,
        "the state of tick {state_tick} came {after:?} after input {seq}, applied by then, was sent"
    );
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_spectator_connections() {
    let server = TestServer::start(Config {
        max_spectators_per_ip: 2,
        ..config()
    });
    let (_player, _) = server.player("p", Some("r")).await;
    let (_, _a) = spectate(&server, "r", "").await;
    let (_, _b) = spectate(&server, "r", "").await;
    let (status, body) = server.http_get("/ws?spectate=r");
    // The plain GET is refused before the upgrade check, with the reason.
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("spectator connections"), "{body}");
}

#[tokio::test]
async fn one_address_may_create_only_so_many_named_rooms() {
    let server = TestServer::start(Config {
        max_named_rooms_per_ip: 2,
        ..config()
    });
    let (_a, _) = server.player("a", Some("one")).await;
    let (_b, _) = server.player("b", Some("two")).await;
    let (mut c, refused) = server.try_join("c", Some("three")).await;
    match refused {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::ServerFull, "{message}");
            assert!(message.contains("named rooms"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        close_code(&c.wait_for_close(WAIT).await.expect("close")),
        Some(1013)
    );
    // Joining a room that exists creates nothing, and quick-play is not limited.
    let (_d, _) = server.player("d", Some("one")).await;
    let (_e, _) = server.player("e", None).await;
}

#[tokio::test]
async fn quick_play_never_fills_a_room_created_by_name() {
    let server = TestServer::start(config());
    let (_a, named) = server.player("a", Some("friends")).await;
    let (_b, quick) = server.player("b", None).await;
    assert_eq!(named.room, "friends");
    assert_ne!(quick.room, "friends");
    let rooms = server.rooms();
    let public = |name: &str| {
        rooms
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["public"].clone())
    };
    assert_eq!(public("friends"), Some(serde_json::Value::Bool(false)));
    assert_eq!(public(&quick.room), Some(serde_json::Value::Bool(true)));
}

#[tokio::test]
async fn a_room_that_reuses_a_name_keeps_its_own_metric_series() {
    let server = TestServer::start(config());
    let series = |server: &TestServer| -> Vec<String> {
        server
            .metrics()
            .samples_where("arena_room_tick_seconds_count", &[("room", "again")])
            .iter()
            .filter_map(|s| s.label("room_id").map(str::to_owned))
            .collect()
    };
    let (first, _) = server.player("a", Some("again")).await;
    common::eventually("the first room's series", || series(&server).len() == 1).await;
    let first_id = series(&server)[0].clone();
    first.close().await;
    let (mut second, _) = server.player("b", Some("again")).await;
    second.next_tick().await.expect("tick");
    // The first room's teardown removed its own series only.
    common::eventually("only the second room's series", || {
        let ids = series(&server);
        ids.len() == 1 && ids[0] != first_id
    })
    .await;
}
