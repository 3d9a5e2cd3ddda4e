//! The game over real sockets: joining, seeing each other, shooting, rooms filling and emptying,
//! shutting down. Every test starts the real server on 127.0.0.1:0.

mod common;

use arena_bot::ClientError;
use arena_server::Config;
use arena_shared::EntityId;
use arena_shared::protocol::ErrorCode;
use arena_shared::shooter::PlayerInput;
use arena_shared::shooter::RoomEvent;
use arena_shared::shooter::{ClientMsg, Input, ServerMsg};
use arena_shared::shooter::{EntityKind, GameEvent};
use common::{Connection, Received};
use common::{ConnectionExt, TestServer, WAIT, close_code, config, eventually, map_file};
use glam::Vec2;

/// Waits for a snapshot in which every one of `ids` is present. These test clients never
/// acknowledge a snapshot (`Input::ack` 0), so every snapshot is complete: `created` is the view.
async fn snapshot_with(
    conn: &mut Connection,
    ids: &[EntityId],
) -> Vec<arena_shared::shooter::Entity> {
    conn.wait_for(WAIT, |msg| match msg {
        ServerMsg::Snapshot(s) if ids.iter().all(|id| s.created.iter().any(|e| e.id == *id)) => {
            Some(s.created.clone())
        }
        _ => None,
    })
    .await
    .expect("a snapshot with every player")
}

#[tokio::test]
async fn two_players_join_a_room_and_see_each_other() {
    let server = TestServer::start(config());
    let (mut ann, ann_w) = server.player("ann", Some("duel")).await;
    let (mut bob, bob_w) = server.player("bob", Some("duel")).await;
    assert_eq!((ann_w.room.as_str(), bob_w.room.as_str()), ("duel", "duel"));
    assert_ne!(ann_w.player_id, bob_w.player_id);
    assert_eq!(bob_w.tick_rate, 30);
    assert!(
        bob_w.players.contains(&(ann_w.player_id, "ann".to_owned())),
        "{:?}",
        bob_w.players
    );

    // The tick after bob's join carries the event, then the snapshot with both players.
    let joined = ann
        .wait_for(WAIT, |m| {
            common::events(m).find_map(|e| match e {
                RoomEvent::Joined { player, name } if *player == bob_w.player_id => {
                    Some(name.clone())
                }
                _ => None,
            })
        })
        .await
        .expect("ann hears bob join");
    assert_eq!(joined, "bob");
    let ids = [ann_w.player_id, bob_w.player_id];
    for conn in [&mut ann, &mut bob] {
        let entities = snapshot_with(conn, &ids).await;
        let players = entities
            .iter()
            .filter(|e| matches!(e.kind, EntityKind::Player { .. }))
            .count();
        assert_eq!(players, 2);
    }
}

/// Aims at `target` from the latest snapshot and fires, once per snapshot, until the target is
/// killed; returns the events this client saw.
async fn hunt(conn: &mut Connection, me: EntityId, target: EntityId) -> Vec<GameEvent> {
    let mut seen = Vec::new();
    let mut seq = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match conn.recv_timeout(left).await.expect("shooter receives") {
            Received::Msg(ServerMsg::Snapshot(s)) => {
                for (_, event) in &s.events {
                    let RoomEvent::Game(event) = event else {
                        continue;
                    };
                    let done = matches!(event, GameEvent::Killed { .. });
                    seen.push(event.clone());
                    if done {
                        return seen;
                    }
                }
                let pos = |id| s.created.iter().find(|e| e.id == id).map(|e| e.pos);
                if let (Some(from), Some(to)) = (pos(me), pos(target)) {
                    seq += 1;
                    let input = Input {
                        seq,
                        ack: 0,
                        behind: 0,
                        controls: PlayerInput {
                            move_dir: Vec2::ZERO,
                            aim: to - from,
                            fire: true,
                        },
                    };
                    conn.send(&ClientMsg::Input(input))
                        .await
                        .expect("send input");
                }
            }
            Received::Msg(_) => {}
            Received::Closed(f) => panic!("shooter disconnected: {f:?}"),
        }
    }
}

async fn events_until_killed(conn: &mut Connection) -> Vec<GameEvent> {
    let mut seen = Vec::new();
    conn.wait_for(WAIT, |m| {
        for event in common::events(m) {
            let RoomEvent::Game(event) = event else {
                continue;
            };
            seen.push(event.clone());
            if matches!(event, GameEvent::Killed { .. }) {
                return Some(());
            }
        }
        None
    })
    .await
    .expect("victim sees its death");
    seen
}

#[tokio::test]
async fn a_shot_player_takes_hits_dies_and_both_players_are_told() {
    let map = map_file("duel", "size 600 400\nspawn 150 200\nspawn 450 200\n");
    let server = TestServer::start(Config { map, ..config() });
    let (mut shooter, sw) = server.player("shooter", Some("duel")).await;
    let (mut victim, vw) = server.player("victim", Some("duel")).await;
    let (me, target) = (sw.player_id, vw.player_id);

    let (shooter_saw, victim_saw) = tokio::join!(
        hunt(&mut shooter, me, target),
        events_until_killed(&mut victim)
    );
    for seen in [&shooter_saw, &victim_saw] {
        let hits: Vec<_> = seen
            .iter()
            .filter(|e| matches!(e, GameEvent::Hit { shooter, victim, .. } if *shooter == me && *victim == target))
            .collect();
        assert_eq!(hits.len(), 4, "100 health / 25 damage: {seen:?}");
        assert!(seen.iter().any(|e| matches!(
            e,
            GameEvent::Hit { shooter, victim, damage: 25, health: 0, .. } if *shooter == me && *victim == target
        )));
        assert_eq!(
            seen.last(),
            Some(&GameEvent::Killed {
                killer: me,
                victim: target
            })
        );
    }
    let entities = snapshot_with(&mut victim, &[me, target]).await;
    let score = entities.iter().find_map(|e| match e.kind {
        EntityKind::Player { score, .. } if e.id == me => Some(score),
        _ => None,
    });
    assert_eq!(score, Some(1));
}

#[tokio::test]
async fn a_full_room_refuses_with_a_clear_error() {
    let server = TestServer::start(Config {
        max_players: 2,
        ..config()
    });
    let _a = server.player("a", Some("small")).await;
    let _b = server.player("b", Some("small")).await;
    let (mut c, refused) = server.try_join("c", Some("small")).await;
    match refused {
        Err(ClientError::Refused {
            code: ErrorCode::RoomFull,
            message,
        }) => assert!(message.contains("small"), "{message}"),
        other => panic!("expected RoomFull, got {other:?}"),
    }
    assert_eq!(
        close_code(&c.wait_for_close(WAIT).await.expect("close frame")),
        Some(1013)
    );
}

#[tokio::test]
async fn quick_play_fills_the_fullest_room_then_opens_another() {
    let server = TestServer::start(Config {
        max_players: 2,
        ..config()
    });
    let (_a, wa) = server.player("a", None).await;
    let (_b, wb) = server.player("b", None).await;
    let (_c, wc) = server.player("c", None).await;
    assert_eq!(wa.room, wb.room, "second player joins the fuller room");
    assert_ne!(wc.room, wa.room, "third player needs a new room");
}

#[tokio::test]
async fn the_server_refuses_a_room_past_max_rooms() {
    let server = TestServer::start(Config {
        max_rooms: 1,
        ..config()
    });
    let _a = server.player("a", Some("one")).await;
    let (_b, refused) = server.try_join("b", Some("two")).await;
    assert!(
        matches!(
            refused,
            Err(ClientError::Refused {
                code: ErrorCode::ServerFull,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_empty_room_is_disposed_and_the_other_player_sees_the_leave() {
    let server = TestServer::start(Config {
        resume_grace_ms: 200,
        ..config()
    });
    let (mut stay, ws) = server.player("stay", Some("lobby")).await;
    let (mut go, wg) = server.player("go", Some("lobby")).await;
    assert_eq!(server.rooms().len(), 1);

    go.send(&ClientMsg::Leave).await.expect("send leave");
    assert_eq!(
        close_code(&go.wait_for_close(WAIT).await.expect("close")),
        Some(1000)
    );
    let left = stay
        .next_left()
        .await
        .expect("the other player sees the leave");
    assert_eq!(left, wg.player_id);
    let entities = stay
        .wait_for(WAIT, |m| match m {
            ServerMsg::Snapshot(s) => Some(s.created.clone()),
            _ => None,
        })
        .await
        .expect("snapshot");
    assert!(entities.iter().all(|e| e.id != wg.player_id));
    assert!(entities.iter().any(|e| e.id == ws.player_id));

    // Dropping the connection without Leave keeps the seat for a resume; once the grace period
    // is over the player is gone and the room with them.
    drop(stay);
    eventually("the empty room is disposed", || server.rooms().is_empty()).await;
}

#[tokio::test]
async fn rooms_are_listed_with_their_vital_signs() {
    let server = TestServer::start(config());
    let (mut a, _) = server.player("a", Some("listed")).await;
    a.wait_for(WAIT, |m| matches!(m, ServerMsg::Snapshot(_)).then_some(()))
        .await
        .expect("a tick ran");
    let rooms = server.rooms();
    assert_eq!(rooms.len(), 1);
    let room = &rooms[0];
    assert_eq!(room["name"], "listed");
    assert_eq!(room["players"], 1);
    assert_eq!(room["tick_rate"], 30);
    assert!(room["ticks"].as_u64().unwrap_or(0) >= 1, "{room}");
    for key in ["uptime_s", "tick_overruns", "max_players"] {
        assert!(room.get(key).is_some(), "missing {key}: {room}");
    }
}

#[tokio::test]
async fn ping_is_answered_with_the_same_value() {
    let server = TestServer::start(config());
    let (mut a, _) = server.player("a", None).await;
    a.send(&ClientMsg::Ping {
        client_time: 123_456,
    })
    .await
    .expect("ping");
    let echoed = a
        .wait_for(WAIT, |m| match m {
            ServerMsg::Pong { client_time, .. } => Some(*client_time),
            _ => None,
        })
        .await
        .expect("pong");
    assert_eq!(echoed, 123_456);
}

#[tokio::test]
async fn chat_reaches_the_room_stripped_of_control_characters() {
    let server = TestServer::start(config());
    let (mut a, wa) = server.player("a", Some("talk")).await;
    let (mut b, _) = server.player("b", Some("talk")).await;
    a.send(&ClientMsg::Chat {
        text: "gl\u{7} hf\n".into(),
    })
    .await
    .expect("chat");
    let heard = b
        .wait_for(WAIT, |m| {
            common::events(m).find_map(|e| match e {
                RoomEvent::Chat { from, text } => Some((*from, text.clone())),
                _ => None,
            })
        })
        .await
        .expect("chat arrives");
    assert_eq!(heard, (wa.player_id, "gl hf".to_owned()));
}

#[tokio::test]
async fn shutdown_closes_every_session_with_1001() {
    let mut server = TestServer::start(config());
    let (mut player, _) = server.player("a", None).await;
    let mut waiting = server.connect().await; // upgraded, no Hello yet
    server.begin_shutdown();
    for conn in [&mut player, &mut waiting] {
        let frame = conn.wait_for_close(WAIT).await.expect("close frame");
        assert_eq!(close_code(&frame), Some(1001));
        assert_eq!(
            frame.map(|f| f.reason.to_string()).as_deref(),
            Some("server shutting down")
        );
    }
    server.shutdown().expect("clean exit");
}

#[tokio::test]
async fn a_silent_peer_is_dropped_by_the_heartbeat_and_the_room_sees_it_leave() {
    // A dead peer keeps its seat for the resume grace period, then leaves: keep that short. The
    // timeout is long next to the heartbeat, so a reader that is merely slow is never mistaken
    // for a silent one.
    let server = TestServer::start(Config {
        heartbeat_interval_ms: 100,
        client_timeout_ms: 2_000,
        resume_grace_ms: 200,
        ..config()
    });
    let (mut alive, _) = server.player("alive", Some("hb")).await;
    // `alive` is read from now on, also while `silent` joins, so its client answers the server's
    // pings; `silent` neither reads nor writes, so it never does.
    let departures = tokio::spawn(async move { alive.next_left().await });
    let (mut silent, ws) = server.player("silent", Some("hb")).await;
    let left = departures
        .await
        .expect("the reader of alive")
        .expect("the room reports the silent player's departure");
    assert_eq!(left, ws.player_id);
    // The server has ended the silent connection. Reading it now yields the close frame, or
    // (when the client first flushes the pongs it owes into the closed socket) a write error;
    // a timeout here would mean the connection was left open.
    match silent.wait_for_close(WAIT).await {
        Ok(frame) => {
            assert_eq!(close_code(&frame), Some(1001));
            assert!(frame.is_some_and(|f| f.reason.contains("no traffic")));
        }
        Err(arena_bot::ClientError::Ws(e)) => assert!(matches!(
            e,
            tokio_tungstenite::tungstenite::Error::Io(_)
                | tokio_tungstenite::tungstenite::Error::ConnectionClosed
        )),
        Err(other) => panic!("silent connection was not closed: {other}"),
    }
}
