//! `POST /api/matchmake` on one process (no fleet): a seat is held for the ticket it hands out,
//! concurrent calls never overfill a room, a held seat is taken even when the room filled or
//! the server started draining meanwhile, an unused one is released, and bad requests get a
//! precise JSON refusal. The fleet's side is in tests/fleet.rs.

mod common;

use arena_bot::{ClientError, JoinOptions};
use arena_server::Config;
use arena_server::ticket::{Claims, TicketAuthority, unix_now};
use common::{Connection, TestServer, WAIT, Welcome, config, matchmake_at};

fn matchmake(server: &TestServer, name: &str, room: Option<&str>) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "name": name, "room": room }).to_string();
    matchmake_at(server.addr, &body)
}

/// Connects where a matchmake answer says and joins with its ticket.
async fn join_matchmade(
    answer: &serde_json::Value,
    name: &str,
) -> (Connection, Result<Welcome, ClientError>) {
    let url = answer["url"].as_str().expect("url");
    let ticket = answer["ticket"].as_str().map(str::to_owned);
    common::join_with_ticket(url, ticket, name).await
}

fn room<'a>(rooms: &'a [serde_json::Value], name: &str) -> Option<&'a serde_json::Value> {
    rooms.iter().find(|r| r["name"] == name)
}

#[tokio::test]
async fn a_matchmade_player_joins_the_room_its_seat_was_held_in() {
    let server = TestServer::start(config());
    let (status, answer) = matchmake(&server, "ann", None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["url"], server.url());
    assert_eq!(answer["game"], "shooter");
    assert_eq!(answer["reserved_ms"], 15_000);
    let room_name = answer["room"].as_str().expect("room").to_owned();
    // Held, not seated: the room exists with one seat reserved.
    let rooms = server.rooms();
    let held = room(&rooms, &room_name).expect("the room was opened for the seat");
    assert_eq!(
        (held["players"].as_u64(), held["reserved"].as_u64()),
        (Some(0), Some(1))
    );
    // The ticket's name wins over the Hello's, as with any ticket.
    let (_conn, welcome) = join_matchmade(&answer, "someone-else").await;
    let welcome = welcome.expect("the matchmade join is admitted");
    assert_eq!(welcome.room, room_name);
    let rooms = server.rooms();
    let seated = room(&rooms, &room_name).expect("room");
    assert_eq!(
        (seated["players"].as_u64(), seated["reserved"].as_u64()),
        (Some(1), Some(0))
    );
    let m = server.metrics();
    assert_eq!(
        m.require("arena_seat_reservations_total", &[("outcome", "reserved")]),
        1.0
    );
    assert_eq!(
        m.require("arena_seat_reservations_total", &[("outcome", "claimed")]),
        1.0
    );
    assert_eq!(
        m.require("arena_matchmake_total", &[("outcome", "ok")]),
        1.0
    );
    // Tron's seat comes with tron's URL.
    let (status, tron) = matchmake_at(server.addr, r#"{"name": "bo", "game": "tron"}"#);
    assert_eq!(status, 200, "{tron}");
    assert_eq!(tron["url"], format!("{}/tron", server.url()));
}

#[tokio::test]
async fn concurrent_matchmaking_never_overfills_a_room() {
    let server = TestServer::start(Config {
        max_players: 4,
        matchmake_per_ip_per_s: 100,
        ..config()
    });
    let addr = server.addr;
    let calls: Vec<_> = (0..10)
        .map(|i| {
            std::thread::spawn(move || {
                let body = serde_json::json!({ "name": format!("p{i}"), "room": "duel" });
                matchmake_at(addr, &body.to_string())
            })
        })
        .collect();
    let answers: Vec<(u16, serde_json::Value)> =
        calls.into_iter().map(|c| c.join().expect("call")).collect();
    let seated: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(seated.len(), 4, "{answers:?}");
    for (status, refusal) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 503, "{refusal}");
        assert_eq!(refusal["kind"], "room_full", "{refusal}");
        assert!(
            refusal["error"]
                .as_str()
                .is_some_and(|e| e.contains("duel")),
            "{refusal}"
        );
    }
    // Every held seat is taken by its join.
    let mut players = Vec::new();
    for (i, (_, answer)) in seated.iter().enumerate() {
        let (conn, welcome) = join_matchmade(answer, &format!("p{i}")).await;
        assert_eq!(welcome.expect("held seat").room, "duel");
        players.push(conn);
    }
    let rooms = server.rooms();
    assert_eq!(room(&rooms, "duel").expect("duel")["players"], 4);
}

#[tokio::test]
async fn a_held_seat_is_taken_though_the_room_filled_and_the_server_drains() {
    let mut server = TestServer::start(Config {
        max_players: 2,
        drain_timeout_s: 30,
        // The drain ends when the players leave at the end, not a grace later.
        resume_grace_ms: 0,
        ..config()
    });
    let (status, answer) = matchmake(&server, "ann", Some("duel"));
    assert_eq!(status, 200, "{answer}");
    // One direct join fills the room (one seated, one held); the next is refused.
    let (_bo, _) = server.player("bo", Some("duel")).await;
    let (_, refused) = server.try_join("cy", Some("duel")).await;
    assert!(
        matches!(&refused, Err(ClientError::Refused { message, .. }) if message.contains("full")),
        "{refused:?}"
    );
    let (status, full) = matchmake(&server, "dee", Some("duel"));
    assert_eq!(
        (status, full["kind"].as_str()),
        (503, Some("room_full")),
        "{full}"
    );
    // Draining: no new seats, not even matchmade ones; the held one still comes in.
    server.begin_shutdown();
    common::eventually("the server is draining", || {
        server.http_get("/readyz").0 == 503
    })
    .await;
    let (status, draining) = matchmake(&server, "eve", None);
    assert_eq!(
        (status, draining["kind"].as_str()),
        (503, Some("draining")),
        "{draining}"
    );
    let (_ann, welcome) = join_matchmade(&answer, "ann").await;
    assert_eq!(welcome.expect("the held seat").room, "duel");
}

#[tokio::test]
async fn an_unused_seat_is_released_and_its_empty_room_closes() {
    let server = TestServer::start(Config {
        seat_reservation_ms: 1_000,
        ..config()
    });
    let (status, answer) = matchmake(&server, "ann", Some("lonely"));
    assert_eq!(status, 200, "{answer}");
    assert!(room(&server.rooms(), "lonely").is_some());
    common::eventually("the held seat is released and the room closes", || {
        room(&server.rooms(), "lonely").is_none()
    })
    .await;
    assert_eq!(
        server
            .metrics()
            .require("arena_seat_reservations_total", &[("outcome", "expired")]),
        1.0
    );
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_reason_and_counted() {
    let server = TestServer::start(Config {
        matchmake_per_ip_per_s: 1000,
        ..config()
    });
    let addr = server.addr;
    let long_name = "x".repeat(2000);
    for (body, says) in [
        ("not json", "bad request body"),
        (r#"{"room": "duel"}"#, "bad request body"),
        (r#"{"name": ""}"#, "bad name"),
        (
            r#"{"name": "ann", "room": "no\nnewlines"}"#,
            "bad room name",
        ),
        (r#"{"name": "ann", "game": "chess"}"#, "no game chess"),
        (&format!(r#"{{"name": "{long_name}"}}"#), "over 1024 bytes"),
    ] {
        let (status, refusal) = matchmake_at(addr, body);
        assert_eq!(status, 400, "{body}: {refusal}");
        assert_eq!(refusal["kind"], "bad_request", "{body}");
        let error = refusal["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{body}: {error}");
    }
    assert_eq!(
        server
            .metrics()
            .require("arena_matchmake_total", &[("outcome", "bad_request")]),
        6.0
    );
    assert!(
        server.rooms().is_empty(),
        "a refused matchmake opens nothing"
    );
}

#[tokio::test]
async fn an_address_that_matchmakes_too_often_is_told_to_wait() {
    let server = TestServer::start(Config {
        matchmake_per_ip_per_s: 1,
        ..config()
    });
    // A burst of twice the rate, then 429 with Retry-After.
    assert_eq!(matchmake(&server, "a", None).0, 200);
    assert_eq!(matchmake(&server, "b", None).0, 200);
    let (status, head) = common::http_request(
        server.addr,
        "POST /api/matchmake HTTP/1.1\r\nHost: t\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"name\":\"c\"}\n",
    );
    assert_eq!(status, 429, "{head}");
    assert!(head.contains("too many matchmaking requests"), "{head}");
}

#[tokio::test]
async fn a_ticket_for_another_server_is_refused() {
    let secret = "s".repeat(32);
    let server = TestServer::start(Config {
        ticket_secret: secret.clone(),
        server_id: "here".into(),
        ..config()
    });
    let elsewhere = TicketAuthority::new(secret.as_bytes(), 8, 3600)
        .issue(&Claims::player("ann", Some("duel".into()), unix_now() + 60, 5).on_server("there"));
    let mut conn = server.connect().await;
    let options = JoinOptions {
        ticket: Some(elsewhere),
        ..JoinOptions::default()
    };
    let refused = conn.join_with("ann", options, WAIT).await;
    assert!(
        matches!(&refused, Err(ClientError::Refused { message, .. }) if message.contains("another server")),
        "{refused:?}"
    );
    // Its seat, had it one, would be at "there": nothing opened here.
    assert!(server.rooms().is_empty());
}

#[tokio::test]
async fn a_ticket_shown_to_another_games_endpoint_keeps_its_seat_until_the_hold_ends() {
    let server = TestServer::start(Config {
        seat_reservation_ms: 1_000,
        ..config()
    });
    let (status, answer) = matchmake_at(
        server.addr,
        r#"{"name": "ann", "room": "grid", "game": "tron"}"#,
    );
    assert_eq!(status, 200, "{answer}");
    // The shooter's endpoint, not the answer's: refused, and the seat is not lost with it.
    let mut conn = server.connect().await;
    let options = JoinOptions {
        ticket: answer["ticket"].as_str().map(str::to_owned),
        ..JoinOptions::default()
    };
    let refused = conn.join_with("ann", options, WAIT).await;
    assert!(
        matches!(&refused, Err(ClientError::Refused { message, .. }) if message.contains("plays tron")),
        "{refused:?}"
    );
    // Its hold ends, the seat is released and the empty room closes (it never did when the
    // refusal took the seat with it).
    common::eventually("the held seat is released and the room closes", || {
        room(&server.rooms(), "grid").is_none()
    })
    .await;
}

#[tokio::test]
async fn an_address_holds_a_bounded_number_of_unused_seats() {
    let server = TestServer::start(Config {
        max_held_seats_per_ip: 2,
        ..config()
    });
    assert_eq!(matchmake(&server, "a", Some("duel")).0, 200);
    assert_eq!(matchmake(&server, "b", Some("duel")).0, 200);
    let (status, refusal) = matchmake(&server, "c", Some("duel"));
    assert_eq!(
        (status, refusal["kind"].as_str()),
        (403, Some("quota")),
        "{refusal}"
    );
    assert!(
        refusal["error"]
            .as_str()
            .is_some_and(|e| e.contains("holds 2 matchmade seats")),
        "{refusal}"
    );
}

#[tokio::test]
async fn under_ticket_auth_matchmaking_needs_an_identity_ticket_and_keeps_its_name() {
    let secret = "s".repeat(32);
    let server = TestServer::start(Config {
        auth: arena_server::config::Auth::Ticket,
        ticket_secret: secret.clone(),
        ..config()
    });
    // Without a ticket nobody gets one for any name they like.
    let (status, refusal) = matchmake(&server, "admin", Some("private"));
    assert_eq!(
        (status, refusal["kind"].as_str()),
        (401, Some("unauthorized")),
        "{refusal}"
    );
    // With the operator's ticket for ann (no room), the seat is ann's wherever she asks.
    let identity = TicketAuthority::new(secret.as_bytes(), 8, 3600).issue(&Claims::player(
        "ann",
        None,
        unix_now() + 60,
        11,
    ));
    let body = r#"{"name": "admin", "room": "duel"}"#;
    let call = |ticket: &str| {
        common::http_request(
            server.addr,
            &format!(
                "POST /api/matchmake HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ticket}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let (status, text) = call(&identity);
    assert_eq!(status, 200, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).expect("json");
    let (_conn, welcome) = join_matchmade(&answer, "admin").await;
    let welcome = welcome.expect("joined with the matchmade ticket");
    assert_eq!(welcome.room, "duel");
    let rooms = server.rooms();
    assert_eq!(room(&rooms, "duel").expect("duel")["players"], 1);
    // The identity ticket was used up by the matchmake.
    let (status, text) = call(&identity);
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("already used"), "{text}");
}
