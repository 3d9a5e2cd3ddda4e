//! `/metrics`, `/healthz`, `/readyz` on the real server: every abuse is counted.

mod common;

use arena_server::Config;
use arena_shared::shooter::ClientMsg;
use common::metrics::{Metrics, Sample};
use common::{ConnectionExt, TestServer, WAIT, config, eventually};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn health_and_readiness_answer() {
    let server = TestServer::start(config());
    assert_eq!(server.http_get("/healthz"), (200, "ok".to_owned()));
    assert_eq!(server.http_get("/readyz"), (200, "ready".to_owned()));
}

#[tokio::test]
async fn metrics_count_players_rooms_traffic_and_every_abuse() {
    let server = TestServer::start(Config {
        // The message rate must exceed the tick rate (one input per tick); keep both low so
        // the flood limits trip quickly.
        tick_rate: 10,
        msg_rate: 20.0,
        msg_burst: 10.0,
        flood_tolerance: 20.0,
        allowed_origins: vec!["https://arena.example".into()],
        ..config()
    });
    let (mut player, _) = server.player("p", Some("r")).await;
    player
        .wait_for(WAIT, |m| {
            matches!(m, arena_shared::shooter::ServerMsg::Snapshot(_)).then_some(())
        })
        .await
        .expect("tick");

    let mut garbage = server.connect().await;
    garbage
        .send_raw(Message::binary(vec![0xff; 8]))
        .await
        .expect("send");
    garbage.wait_for_close(WAIT).await.expect("closed");

    let (mut flooder, _) = server.player("flooder", Some("r")).await;
    flooder.flood_pings(500).await;
    let _ = flooder.wait_for_close(WAIT).await;
    let (status, _) = common::upgrade_status(server.addr, "Origin: https://evil.example\r\n");
    assert_eq!(status, 403);

    // The sessions count their own end as they stop, but the flooder's seat is given up by the
    // room a message later: wait for both, so no assertion races the room.
    let closed = |m: &Metrics, code, reason| {
        m.value(
            "arena_connections_closed_total",
            &[("code", code), ("reason", reason)],
        )
    };
    eventually(
        "the flooder's and garbage sender's ends are counted",
        || {
            let m = server.metrics();
            closed(&m, "1008", "flood") == Some(1.0)
                && closed(&m, "1007", "malformed") == Some(1.0)
                && m.value("arena_players", &[]) == Some(1.0)
                && m.value("arena_connections_open", &[]) == Some(1.0)
        },
    )
    .await;
    let m = server.metrics();
    let closes = m.samples_where("arena_connections_closed_total", &[]);
    assert_eq!(closes.len(), 2, "no other ends: {closes:?}");
    assert_eq!(m.require("arena_decode_errors_total", &[]), 1.0);
    assert!(m.require("arena_rate_limited_total", &[("kind", "message")]) >= 1.0);
    assert_eq!(
        m.require("arena_connections_refused_total", &[("reason", "origin")]),
        1.0
    );
    assert_eq!(m.require("arena_rooms", &[]), 1.0);
    assert_eq!(m.require("arena_connections_total", &[]), 3.0);
    assert!(m.require("arena_tick_seconds_count", &[]) >= 1.0);
    assert!(m.require("arena_messages_out_total", &[]) >= 2.0);
    if cfg!(target_os = "linux") {
        assert!(m.require("arena_process_resident_memory_bytes", &[]) > 0.0);
    }
}

#[tokio::test]
async fn per_room_series_exist_while_the_room_is_open_and_go_with_it() {
    let server = TestServer::start(config());
    let (mut player, _) = server.player("p", Some("measured")).await;
    player
        .wait_for(WAIT, |m| {
            matches!(m, arena_shared::shooter::ServerMsg::Snapshot(_)).then_some(())
        })
        .await
        .expect("tick");
    // Matched on the `room` label alone: the room's other labels (its id) are not this test's.
    let room = [("room", "measured")];
    let ticked = |m: &Metrics| {
        m.samples_where("arena_room_tick_seconds_count", &room)
            .iter()
            .any(|s| s.value >= 1.0)
    };
    eventually("the open room has its tick series", || {
        ticked(&server.metrics())
    })
    .await;
    // Every per-room family has a series for the room while it is open, so that their absence
    // below means they were removed, not that these names never matched.
    let per_room = [
        "arena_room_tick_seconds_bucket",
        "arena_room_tick_seconds_sum",
        "arena_room_tick_seconds_count",
        "arena_room_tick_overruns_total",
    ];
    let m = server.metrics();
    for name in per_room {
        assert!(
            !m.samples_where(name, &room).is_empty(),
            "{name} has no series for the open room; its series: {:?}",
            m.samples_where(name, &[])
        );
    }
    player.send(&ClientMsg::Leave).await.expect("leave");
    player.wait_for_close(WAIT).await.expect("closed");
    eventually("the closed room's series are removed", || {
        server
            .metrics()
            .samples_labelled("room", "measured")
            .is_empty()
    })
    .await;
    let m = server.metrics();
    for name in per_room {
        assert_eq!(m.samples_where(name, &[]), Vec::<&Sample>::new(), "{name}");
    }
}
