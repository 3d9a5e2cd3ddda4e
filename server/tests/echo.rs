//! `/echo` exists only with `echo = true`, and echoes through the game sessions' frame layer.

mod common;

use arena_server::Config;
use common::{TestServer, WAIT, config};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn echo_is_off_by_default() {
    let server = TestServer::start(config());
    let (status, _) = server.http_get("/echo");
    assert_eq!(status, 404);
}

#[tokio::test]
async fn echo_returns_text_and_binary_unchanged() {
    let server = TestServer::start(Config {
        echo: true,
        ..config()
    });
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/echo", server.addr))
        .await
        .expect("connect");
    // Larger than the game endpoint's 64 KiB limit: the echo endpoint allows 16 MiB.
    let big = vec![7u8; 200 * 1024];
    for msg in [Message::text("héllo"), Message::binary(big)] {
        ws.send(msg.clone()).await.expect("send");
        let back = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("frame");
        assert_eq!(back, msg);
    }
}
