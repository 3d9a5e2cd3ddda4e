//! Seats belong to connections: whatever an old connection says about a seat it no longer holds
//! is ignored, a resume rotates the token, a client too slow to read keeps its seat for a resume,
//! and one client's input burst cannot crowd out another player's inputs.
mod common;

use std::time::Duration;

use arena_bot::JoinOptions;
use arena_server::Config;
use arena_shared::EntityId;
use arena_shared::shooter::RoomEvent;
use arena_shared::shooter::{ClientMsg, Input, ServerMsg};
use common::{Connection, Received, Welcome};
use common::{ConnectionExt, TestServer, WAIT, config};
use tokio::sync::watch;

/// How long a connection of [`freezing_server`] may take to freeze and then time out: its
/// buffers fill at the pace the room ticks on this machine, before any timeout starts.
const FREEZE_LIMIT: Duration = Duration::from_secs(30);

/// A connection whose client has a 4 KiB receive buffer, plus a second handle on its socket to
/// reset it later (SO_LINGER 0) without the connection's help.
async fn small_buffer_connection(server: &TestServer) -> (Connection, socket2::Socket) {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    socket.connect(&server.addr.into()).expect("connect");
    socket.set_nonblocking(true).expect("nonblocking");
    let handle = socket.try_clone().expect("second handle");
    let stream = tokio::net::TcpStream::from_std(socket.into()).expect("tokio stream");
    let conn = Connection::connect_stream(&server.url(), stream)
        .await
        .expect("upgrade");
    (conn, handle)
}

/// Closes a connection with a TCP reset, as a phone losing its network does to the server.
fn reset(conn: Connection, handle: socket2::Socket) {
    handle
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(conn);
    drop(handle);
}

async fn resume(server: &TestServer, token: &str) -> (Connection, Welcome) {
    let mut conn = server.connect().await;
    let options = JoinOptions {
        resume: Some(token.to_owned()),
        ..JoinOptions::default()
    };
    let welcome = conn
        .join_with("ignored", options, WAIT)
        .await
        .expect("resume");
    (conn, welcome)
}

/// Waits until `conn` receives a snapshot of a tick after `tick`.
async fn snapshot_after(conn: &mut Connection, tick: u64) -> u64 {
    conn.wait_for(WAIT, |m| match m {
        ServerMsg::Snapshot(s) if s.tick > tick => Some(s.tick),
        _ => None,
    })
    .await
    .expect("a newer snapshot")
}

/// What a connection read in the background has seen so far.
#[derive(Clone, Debug, Default)]
struct Seen {
    /// The newest snapshot's tick.
    tick: u64,
    /// Every player whose departure it was told of.
    left: Vec<EntityId>,
}

/// Reads `conn` in a task from now on, so that its client is never the one too slow to read.
fn read_in_background(mut conn: Connection) -> watch::Receiver<Seen> {
    let (seen, reader) = watch::channel(Seen::default());
    tokio::spawn(async move {
        while let Ok(Received::Msg(m)) = conn.recv().await {
            seen.send_modify(|seen| {
                seen.left.extend(common::events(&m).filter_map(|e| match e {
                    RoomEvent::Left { player } => Some(*player),
                    _ => None,
                }));
                if let ServerMsg::Snapshot(s) = &m {
                    seen.tick = seen.tick.max(s.tick);
                }
            });
        }
    });
    reader
}

/// Waits until the background reader has seen a snapshot of a tick after `tick`.
async fn seen_after(reader: &mut watch::Receiver<Seen>, tick: u64) -> Seen {
    tokio::time::timeout(WAIT, reader.wait_for(|seen| seen.tick > tick))
        .await
        .expect("a newer snapshot in time")
        .expect("the connection is still read")
        .clone()
}

/// A server whose connections freeze within about a second of their client not reading.
fn freezing_server(slow_client_timeout_ms: u64) -> TestServer {
    TestServer::start(Config {
        tick_rate: 120,
        msg_rate: 240.0,
        socket_send_buffer: 4096,
        slow_client_timeout_ms,
        ..config()
    })
}

#[tokio::test]
async fn a_frozen_connection_dying_after_its_player_resumed_does_not_unseat_them() {
    // Long enough that the room never drops the frozen connection itself.
    let server = freezing_server(600_000);
    let (watcher, _) = server.player("watcher", Some("r")).await;
    let mut watcher = read_in_background(watcher);
    let (mut old, handle) = small_buffer_connection(&server).await;
    let welcome = old.join("phone", Some("r"), WAIT).await.expect("join");
    // From here on `old` reads nothing (and it is the only connection not read): its session
    // freezes once the buffers are full, and the room replaces the snapshot it cannot take,
    // tick after tick.
    let frozen = "the old connection's session has frozen";
    common::eventually_within(frozen, FREEZE_LIMIT, || {
        server.metrics().value("arena_skipped_snapshots_total", &[]) >= Some(120.0)
    })
    .await;

    let (mut new, resumed) = resume(&server, &welcome.resume_token).await;
    assert_eq!(resumed.player_id, welcome.player_id);
    snapshot_after(&mut new, 0).await;

    // The old connection dies now; its frozen session ends and says its player detached.
    reset(old, handle);
    common::eventually("the old session is gone", || {
        server.metrics().value("arena_connections_open", &[]) == Some(2.0)
    })
    .await;
    // The resumed connection keeps its seat and its snapshots.
    let current = watcher.borrow().tick;
    let now = seen_after(&mut watcher, current).await.tick;
    snapshot_after(&mut new, now + 60).await;
    let room = &server.rooms()[0];
    assert_eq!(
        (room["players"].as_u64(), room["detached_players"].as_u64()),
        (Some(2), Some(0)),
        "{room}"
    );
}

#[tokio::test]
async fn a_resume_rotates_the_token_and_tells_the_last_applied_input() {
    let server = TestServer::start(config());
    let (_watcher, _) = server.player("watcher", Some("r")).await;
    let (mut conn, welcome) = server.player("p", Some("r")).await;
    assert_eq!(welcome.last_input_seq, 0);
    for seq in 1..=5 {
        conn.send(&ClientMsg::Input(Input {
            seq,
            ..Input::default()
        }))
        .await
        .expect("input");
    }
    conn.wait_for(WAIT, |m| match m {
        ServerMsg::Snapshot(s) if s.last_input_seq == 5 => Some(()),
        _ => None,
    })
    .await
    .expect("all five applied");
    drop(conn);

    let (mut back, resumed) = resume(&server, &welcome.resume_token).await;
    assert_eq!(resumed.player_id, welcome.player_id);
    assert_eq!(resumed.last_input_seq, 5);
    assert_ne!(resumed.resume_token, welcome.resume_token);
    // Inputs numbered at or below it are stale; the next one counts.
    for seq in [3, 6] {
        back.send(&ClientMsg::Input(Input {
            seq,
            ..Input::default()
        }))
        .await
        .expect("input");
    }
    back.wait_for(WAIT, |m| match m {
        ServerMsg::Snapshot(s) if s.last_input_seq == 6 => Some(()),
        _ => None,
    })
    .await
    .expect("seq 6 applied");
    common::eventually("the stale input is counted", || {
        server
            .metrics()
            .value("arena_dropped_inputs_total", &[("reason", "stale")])
            == Some(1.0)
    })
    .await;

    // The old token took the seat once; it cannot take it again.
    let (_thief, stolen) = server.resume(welcome.resume_token.clone()).await;
    assert!(stolen.is_err(), "{stolen:?}");
}

#[tokio::test]
async fn a_client_dropped_for_reading_too_slowly_keeps_its_seat_for_a_resume() {
    let server = freezing_server(500);
    let (watcher, _) = server.player("watcher", Some("r")).await;
    let mut watcher = read_in_background(watcher);
    let (mut slow, _handle) = small_buffer_connection(&server).await;
    let welcome = slow.join("slow", Some("r"), WAIT).await.expect("join");
    // `slow` reads nothing; the room gives up on the connection, not on the seat.
    common::eventually_within("the slow client is cut off", FREEZE_LIMIT, || {
        server
            .metrics()
            .value("arena_slow_clients_dropped_total", &[])
            == Some(1.0)
    })
    .await;
    let room = &server.rooms()[0];
    assert_eq!(room["detached_players"].as_u64(), Some(1), "{room}");

    let (mut back, resumed) = resume(&server, &welcome.resume_token).await;
    assert_eq!(resumed.player_id, welcome.player_id);
    snapshot_after(&mut back, 0).await;
    // Nobody saw the player leave, from the watcher's join to a tick after the resume.
    let now = back.next_tick().await.expect("tick");
    let seen = seen_after(&mut watcher, now).await;
    assert!(!seen.left.contains(&welcome.player_id), "{:?}", seen.left);
}

/// (tick, last applied input) of the snapshots `conn` receives, sending its next input after
/// each one, until `windows` of them follow a snapshot of the tick before.
async fn paced_inputs(conn: &mut Connection, windows: usize) -> Vec<(u64, u32)> {
    let mut applied: Vec<(u64, u32)> = Vec::new();
    let consecutive =
        |applied: &[(u64, u32)]| applied.windows(2).filter(|w| w[1].0 == w[0].0 + 1).count();
    let mut seq = 0;
    while consecutive(&applied) < windows {
        seq += 1;
        assert!(
            seq <= 300,
            "too few snapshots of consecutive ticks: {applied:?}"
        );
        conn.send(&ClientMsg::Input(Input {
            seq,
            ..Input::default()
        }))
        .await
        .expect("input");
        let last = conn
            .wait_for(WAIT, |m| match m {
                ServerMsg::Snapshot(s) => Some((s.tick, s.last_input_seq)),
                _ => None,
            })
            .await
            .expect("snapshot");
        applied.push(last);
    }
    applied
}

#[tokio::test]
async fn one_clients_input_burst_does_not_crowd_out_another_players_inputs() {
    // The flood guard is opened wide so that the burst reaches the input queue.
    let server = TestServer::start(Config {
        msg_rate: 1e6,
        msg_burst: 1e6,
        ..config()
    });
    let (mut steady, _) = server.player("steady", Some("r")).await;
    let (mut burst, _) = server.player("burst", Some("r")).await;
    let flood = tokio::spawn(async move {
        for seq in 1..=20_000 {
            let input = ClientMsg::Input(Input {
                seq,
                ..Input::default()
            });
            if burst.send(&input).await.is_err() {
                break;
            }
        }
        // Keep reading so the server never sees this client as slow.
        while let Ok(Received::Msg(_)) = burst.recv_timeout(Duration::from_millis(500)).await {}
    });
    let applied = paced_inputs(&mut steady, 10).await;
    // The room applies at most one input per player per tick, in order: between two snapshots
    // of consecutive ticks the applied sequence number can grow by two only if an input never
    // reached the queue.
    let lost: Vec<_> = applied
        .windows(2)
        .filter(|w| w[1].0 == w[0].0 + 1 && w[1].1 > w[0].1 + 1)
        .collect();
    assert!(lost.is_empty(), "inputs lost: {lost:?} in {applied:?}");
    // And the steady player's inputs keep being applied, up to the last one sent.
    let sent = u32::try_from(applied.len()).expect("few inputs");
    steady
        .wait_for(WAIT, |m| match m {
            ServerMsg::Snapshot(s) if s.last_input_seq == sent => Some(()),
            _ => None,
        })
        .await
        .unwrap_or_else(|e| panic!("input {sent} never applied ({e}): {applied:?}"));
    common::eventually("the burst overflowed its own queue", || {
        server
            .metrics()
            .value("arena_dropped_inputs_total", &[("reason", "overflow")])
            .is_some_and(|dropped| dropped > 0.0)
    })
    .await;
    flood.abort();
}
