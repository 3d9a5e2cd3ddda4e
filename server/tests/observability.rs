//! `/metrics`, `/healthz`, `/readyz` on the real server: every abuse is counted.

mod common;

use arena_server::Config;
use arena_shared::protocol::ClientMsg;
use common::{ConnectionExt, TestServer, WAIT, config, eventually};
use tokio_tungstenite::tungstenite::Message;

/// The value of the sample whose line starts with `series` (name plus labels), if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

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
            matches!(m, arena_shared::ServerMsg::Snapshot(_)).then_some(())
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

    let get = || server.http_get("/metrics").1;
    eventually(
        "the flooder's and garbage sender's ends are counted",
        || {
            let m = get();
            sample(
                &m,
                r#"arena_connections_closed_total{code="1008",reason="flood"}"#,
            ) == Some(1.0)
                && sample(
                    &m,
                    r#"arena_connections_closed_total{code="1007",reason="malformed"}"#,
                ) == Some(1.0)
        },
    )
    .await;
    let m = get();
    assert_eq!(sample(&m, "arena_decode_errors_total"), Some(1.0), "{m}");
    assert!(
        sample(&m, r#"arena_rate_limited_total{kind="message"}"#).is_some_and(|v| v >= 1.0),
        "{m}"
    );
    assert_eq!(
        sample(&m, r#"arena_connections_refused_total{reason="origin"}"#),
        Some(1.0),
        "{m}"
    );
    assert_eq!(sample(&m, "arena_rooms"), Some(1.0), "{m}");
    assert_eq!(sample(&m, "arena_players"), Some(1.0), "{m}");
    assert_eq!(sample(&m, "arena_connections_open"), Some(1.0), "{m}");
    assert_eq!(sample(&m, "arena_connections_total"), Some(3.0), "{m}");
    assert!(
        sample(&m, "arena_tick_seconds_count").is_some_and(|v| v >= 1.0),
        "{m}"
    );
    assert!(
        sample(&m, "arena_messages_out_total").is_some_and(|v| v >= 2.0),
        "{m}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            sample(&m, "arena_process_resident_memory_bytes").is_some_and(|v| v > 0.0),
            "{m}"
        );
    }
}

#[tokio::test]
async fn per_room_series_exist_while_the_room_is_open_and_go_with_it() {
    let server = TestServer::start(config());
    let (mut player, _) = server.player("p", Some("measured")).await;
    player
        .wait_for(WAIT, |m| {
            matches!(m, arena_shared::ServerMsg::Snapshot(_)).then_some(())
        })
        .await
        .expect("tick");
    let series = r#"arena_room_tick_seconds_count{room="measured"}"#;
    eventually("the open room has its tick series", || {
        sample(&server.http_get("/metrics").1, series).is_some_and(|v| v >= 1.0)
    })
    .await;
    player.send(&ClientMsg::Leave).await.expect("leave");
    player.wait_for_close(WAIT).await.expect("closed");
    eventually("the closed room's series are removed", || {
        !server.http_get("/metrics").1.contains(r#"room="measured""#)
    })
    .await;
}
