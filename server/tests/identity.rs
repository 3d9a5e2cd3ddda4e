//! Join tickets and resuming a player after a dropped connection, over real sockets.

mod common;

use arena_bot::{ClientError, JoinOptions};
use arena_server::Config;
use arena_server::config::Auth;
use arena_server::ticket::{Claims, TicketAuthority, unix_now};
use arena_shared::EntityId;
use arena_shared::protocol::ErrorCode;
use arena_shared::shooter::Entity;
use arena_shared::shooter::RoomEvent;
use arena_shared::shooter::ServerMsg;
use common::Connection;
use common::{ConnectionExt, TestServer, WAIT, Welcome, close_code, config};

const SECRET: &str = "an-arena-test-secret-of-32-bytes!!";

fn ticket_server() -> TestServer {
    TestServer::start(Config {
        auth: Auth::Ticket,
        ticket_secret: SECRET.into(),
        ..config()
    })
}

fn ticket(secret: &str, name: &str, expires: u64, nonce: u64) -> String {
    TicketAuthority::new(secret.as_bytes(), 8, 3600).issue(&Claims {
        name: name.into(),
        room: Some("vip".into()),
        expires,
        nonce,
        spectate: false,
        server: None,
    })
}

fn assert_resume_refused(result: &Result<Welcome, ClientError>) {
    assert!(
        matches!(
            result,
            Err(ClientError::Refused {
                code: ErrorCode::ResumeFailed,
                ..
            })
        ),
        "{result:?}"
    );
}

async fn join_with_ticket(
    server: &TestServer,
    ticket: Option<String>,
) -> (Connection, Result<Welcome, ClientError>) {
    let mut conn = server.connect().await;
    let result = conn
        .join_with(
            "whoever",
            JoinOptions {
                ticket,
                ..JoinOptions::default()
            },
            WAIT,
        )
        .await;
    (conn, result)
}

async fn assert_refused(
    conn: &mut Connection,
    result: Result<Welcome, ClientError>,
    want: ErrorCode,
) {
    match result {
        Err(ClientError::Refused { code, message }) => assert_eq!(code, want, "{message}"),
        other => panic!("expected {want:?}, got {other:?}"),
    }
    assert_eq!(
        close_code(&conn.wait_for_close(WAIT).await.expect("close")),
        Some(1008)
    );
}

#[tokio::test]
async fn a_valid_ticket_admits_once_under_its_own_name_and_room() {
    let server = ticket_server();
    let good = ticket(SECRET, "ticketed", unix_now() + 60, 1);
    let (_conn, result) = join_with_ticket(&server, Some(good.clone())).await;
    let welcome = result.expect("a valid ticket joins");
    assert_eq!(welcome.room, "vip");
    assert!(
        welcome
            .players
            .contains(&(welcome.player_id, "ticketed".to_owned())),
        "{:?}",
        welcome.players
    );

    let (mut again, replay) = join_with_ticket(&server, Some(good)).await;
    assert_refused(&mut again, replay, ErrorCode::BadTicket).await;
}

#[tokio::test]
async fn missing_expired_and_forged_tickets_are_refused_with_1008() {
    let server = ticket_server();
    let cases = [
        None,
        Some(ticket(SECRET, "late", unix_now() - 1, 2)),
        Some(ticket(
            "another-secret-that-is-32-bytes-long",
            "forger",
            unix_now() + 60,
            3,
        )),
        Some("v1.bm90LWEtdGlja2V0.AAAA".to_owned()),
    ];
    for t in cases {
        let (mut conn, result) = join_with_ticket(&server, t).await;
        assert_refused(&mut conn, result, ErrorCode::BadTicket).await;
    }
}

/// The entity `id` in the next snapshot.
async fn entity(conn: &mut Connection, id: EntityId) -> Entity {
    conn.wait_for(WAIT, |m| match m {
        ServerMsg::Snapshot(s) => s.created.iter().find(|e| e.id == id).cloned(),
        _ => None,
    })
    .await
    .expect("entity in a snapshot")
}

#[tokio::test]
async fn a_player_cut_off_mid_game_resumes_with_the_same_id_and_state() {
    let server = TestServer::start(config());
    let (mut watcher, _) = server.player("watcher", Some("r")).await;
    let (cut, welcome) = server.player("cut", Some("r")).await;
    let before = entity(&mut watcher, welcome.player_id).await;

    // Cut the TCP connection: no Leave, no close frame.
    drop(cut);
    common::eventually("the server notices the cut and keeps the seat", || {
        server
            .rooms()
            .first()
            .is_some_and(|r| r["detached_players"] == 1)
    })
    .await;
    let mut back = server.connect().await;
    let options = JoinOptions {
        resume: Some(welcome.resume_token.clone()),
        ..JoinOptions::default()
    };
    let resumed = back
        .join_with("ignored", options, WAIT)
        .await
        .expect("resume within the grace period");
    assert_eq!(resumed.player_id, welcome.player_id);
    assert_eq!(resumed.room, "r");
    // The token was good for one resume: the Welcome carries a new one.
    assert_ne!(resumed.resume_token, welcome.resume_token);

    let after = entity(&mut back, welcome.player_id).await;
    assert_eq!(
        (after.pos, after.kind.clone()),
        (before.pos, before.kind.clone()),
        "same position, health, score"
    );
    // The watcher never saw the player leave or join again, and sees the same entity.
    let mut seen = Vec::new();
    let still = watcher
        .wait_for(WAIT, |m| match m {
            ServerMsg::Snapshot(s) => {
                seen.extend(s.events.iter().map(|(_, e)| e.clone()));
                s.created
                    .iter()
                    .find(|e| e.id == welcome.player_id)
                    .cloned()
            }
            _ => None,
        })
        .await
        .expect("snapshot");
    assert_eq!(still.pos, before.pos);
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, RoomEvent::Left { .. } | RoomEvent::Joined { .. })),
        "{seen:?}"
    );
}

#[tokio::test]
async fn after_the_grace_period_the_player_leaves_and_cannot_resume() {
    let server = TestServer::start(Config {
        resume_grace_ms: 300,
        ..config()
    });
    let (mut watcher, _) = server.player("watcher", Some("r")).await;
    let (cut, welcome) = server.player("cut", Some("r")).await;
    drop(cut);
    let left = watcher
        .next_left()
        .await
        .expect("the room gives up on the player");
    assert_eq!(left, welcome.player_id);

    let (mut late, result) = server.resume(welcome.resume_token).await;
    assert_resume_refused(&result);
    assert_eq!(
        close_code(&late.wait_for_close(WAIT).await.expect("close")),
        Some(1008)
    );
}

#[tokio::test]
async fn a_forged_resume_token_is_refused() {
    let server = TestServer::start(config());
    let (_a, welcome) = server.player("a", Some("r")).await;
    // Same room and player, wrong secret.
    let (room_and_player, _) = welcome
        .resume_token
        .rsplit_once('.')
        .expect("ROOM.PLAYER.SECRET");
    let forged = format!("{room_and_player}.{}", "0".repeat(32));
    let (_thief, result) = server.resume(forged).await;
    assert_resume_refused(&result);
}

#[tokio::test]
async fn leave_is_final_even_with_a_resume_token() {
    let server = TestServer::start(config());
    let (_keep, _) = server.player("keep", Some("r")).await;
    let (mut gone, welcome) = server.player("gone", Some("r")).await;
    gone.send(&arena_shared::shooter::ClientMsg::Leave)
        .await
        .expect("leave");
    gone.wait_for_close(WAIT).await.expect("close");
    let (_again, result) = server.resume(welcome.resume_token).await;
    assert_resume_refused(&result);
}

#[tokio::test]
async fn a_resume_whose_welcome_was_lost_can_be_retried_with_the_same_token() {
    let server = TestServer::start(config());
    let (_watcher, _) = server.player("watcher", Some("r")).await;
    let (cut, welcome) = server.player("cut", Some("r")).await;
    drop(cut);
    // The resume succeeds but its connection dies before the client reads the Welcome.
    let (lost, first) = server.resume(welcome.resume_token.clone()).await;
    assert!(first.is_ok(), "{first:?}");
    drop(lost);
    common::eventually("the seat is detached again", || {
        server
            .rooms()
            .first()
            .is_some_and(|r| r["detached_players"] == 1)
    })
    .await;
    // The only token the client holds still works.
    let (mut back, again) = server.resume(welcome.resume_token.clone()).await;
    let again = again.expect("resume with the original token");
    assert_eq!(again.player_id, welcome.player_id);
    // Once the new connection is heard from, the old token is spent.
    back.send(&arena_shared::shooter::ClientMsg::Input(
        arena_shared::shooter::Input {
            seq: again.last_input_seq + 1,
            ..arena_shared::shooter::Input::default()
        },
    ))
    .await
    .expect("input");
    back.wait_for(WAIT, |m| match m {
        ServerMsg::Snapshot(s) if s.last_input_seq > again.last_input_seq => Some(()),
        _ => None,
    })
    .await
    .expect("input applied");
    let (_thief, stolen) = server.resume(welcome.resume_token).await;
    assert_resume_refused(&stolen);
}

/// What the server first answers a spectator: `Ok` for `Spectating`, else the error code.
async fn first_answer(conn: &mut Connection) -> Result<(), ErrorCode> {
    conn.wait_for(WAIT, |m| match m {
        ServerMsg::Error { code, .. } => Some(Err(*code)),
        ServerMsg::Spectating { .. } => Some(Ok(())),
        _ => None,
    })
    .await
    .expect("an answer")
}

#[tokio::test]
async fn a_spectator_ticket_is_not_spent_on_a_room_that_does_not_exist() {
    let server = ticket_server();
    let watch = TicketAuthority::new(SECRET.as_bytes(), 8, 3600).issue(&Claims {
        name: "s".into(),
        room: Some("vip".into()),
        expires: unix_now() + 60,
        nonce: 77,
        spectate: true,
        server: None,
    });
    let url = format!("ws://{}/ws?spectate=vip&ticket={watch}", server.addr);
    let mut early = Connection::connect(&url).await.expect("upgrade");
    assert_eq!(first_answer(&mut early).await, Err(ErrorCode::NoSuchRoom));
    let (_player, result) =
        join_with_ticket(&server, Some(ticket(SECRET, "p", unix_now() + 60, 1))).await;
    result.expect("join");
    let mut watching = Connection::connect(&url).await.expect("upgrade");
    assert_eq!(first_answer(&mut watching).await, Ok(()));
}

#[tokio::test]
async fn a_ticket_holder_may_not_choose_room_options() {
    let server = ticket_server();
    let mut conn = server.connect().await;
    let result = conn
        .join_with(
            "whoever",
            JoinOptions {
                ticket: Some(ticket(SECRET, "ann", unix_now() + 60, 7)),
                options: Some(arena_shared::RoomOptions {
                    max_players: Some(1),
                    ..arena_shared::RoomOptions::default()
                }),
                ..JoinOptions::default()
            },
            WAIT,
        )
        .await;
    assert!(
        matches!(&result, Err(ClientError::Refused { code: ErrorCode::BadOptions, message })
            if message.contains("matchmaker")),
        "{result:?}"
    );
    assert!(server.rooms().is_empty());
}
