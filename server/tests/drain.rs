//! Draining (SIGTERM, or `POST /api/admin/drain`): no new rooms or seats, running rooms play
//! on, and the process exits once they are empty, or says 1001 to whoever is left when the
//! drain timeout passes.

mod common;

use std::time::Duration;

use arena_server::Config;
use common::{ConnectionExt, TestServer, config};

const TOKEN: &str = "an-admin-token-of-at-least-32-bytes";

fn drain_call(server: &TestServer, token: &str) -> u16 {
    common::http_request(
        server.addr,
        &format!(
            "POST /api/admin/drain HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
    .0
}

fn draining_server(timeout_s: u64) -> TestServer {
    TestServer::start(Config {
        admin_token: TOKEN.into(),
        drain_timeout_s: timeout_s,
        ..config()
    })
}

#[tokio::test]
async fn a_drained_server_takes_no_new_players_lets_its_rooms_play_and_exits_when_they_empty() {
    let mut server = draining_server(60);
    let (mut ann, _) = server.player("ann", Some("last")).await;
    assert_eq!(
        drain_call(&server, "wrong-token-wrong-token-wrong-token"),
        401
    );
    assert_eq!(server.http_get("/readyz").0, 200);
    assert_eq!(drain_call(&server, TOKEN), 202);
    common::eventually("readiness off", || server.http_get("/readyz").0 == 503).await;

    // No new seats, in her room or any other: 1013 with the reason.
    for room in [Some("last"), Some("new"), None] {
        let mut late = server.connect().await;
        let refused = late.join("bob", room, common::WAIT).await;
        assert!(
            matches!(&refused, Err(arena_bot::ClientError::Refused { message, .. }) if message.contains("draining")),
            "{room:?}: {refused:?}"
        );
        let frame = late.wait_for_close(common::WAIT).await.expect("closed");
        assert_eq!(common::close_code(&frame), Some(1013));
    }
    // Her room plays on.
    let first = ann.next_tick().await.expect("a snapshot");
    while ann.next_tick().await.expect("a snapshot") < first + 30 {}
    assert!(!server.exits_within(Duration::ZERO).await);
    // The last player leaves: the room closes and the process exits, long before 60 s.
    ann.send(&arena_shared::shooter::ClientMsg::Leave)
        .await
        .expect("leave");
    assert!(
        server.exits_within(Duration::from_secs(10)).await,
        "still running with no rooms left"
    );
}

#[tokio::test]
async fn a_drain_that_outlasts_its_timeout_tells_whoever_is_left_1001() {
    let mut server = draining_server(1);
    let (mut ann, _) = server.player("ann", Some("stays")).await;
    assert_eq!(drain_call(&server, TOKEN), 202);
    let frame = ann.wait_for_close(common::WAIT).await.expect("closed");
    assert_eq!(common::close_code(&frame), Some(1001), "{frame:?}");
    assert!(server.exits_within(common::WAIT).await);
}

#[tokio::test]
async fn without_an_admin_token_there_is_no_admin_call() {
    let server = TestServer::start(config());
    assert_eq!(drain_call(&server, TOKEN), 404);
    assert_eq!(server.http_get("/readyz").0, 200);
}
