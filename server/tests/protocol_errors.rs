//! A client that breaks the protocol gets a precise answer on its own connection: an `Error`
//! where one can still be delivered, then a close frame with the RFC 6455 code and a reason.

mod common;

use arena_bot::ClientError;
use arena_server::Config;
use arena_shared::PROTOCOL_VERSION;
use arena_shared::protocol::{self, ErrorCode};
use arena_shared::shooter::{ClientMsg, ServerMsg};
use common::Received;
use common::{
    ConnectionExt, TestServer, WAIT, close_code, config, http_request, raw_frame, read_close_code,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::{
    Frame, FrameHeader, coding::Data, coding::OpCode,
};

/// Reads what the server says until it closes: (the `Error` code if any, the close frame).
async fn refusal(conn: &mut common::Connection) -> (Option<ErrorCode>, Option<CloseFrame>) {
    let mut error = None;
    loop {
        match conn.recv_timeout(WAIT).await {
            Ok(Received::Msg(ServerMsg::Error { code, .. })) => error = Some(code),
            Ok(Received::Msg(_)) => {}
            Ok(Received::Closed(frame)) => return (error, frame),
            Err(ClientError::Ws(e)) => panic!("connection failed without a close frame: {e}"),
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn a_wrong_protocol_version_is_refused_clearly() {
    let server = TestServer::start(config());
    let mut conn = server.connect().await;
    conn.send(&ClientMsg::Hello {
        protocol_version: 99,
        name: "future".into(),
        room: None,
        ticket: None,
        resume: None,
        options: None,
    })
    .await
    .expect("send");
    let (error, frame) = refusal(&mut conn).await;
    assert_eq!(error, Some(ErrorCode::VersionMismatch));
    assert_eq!(close_code(&frame), Some(1002));
    let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
    assert!(
        reason.contains(&format!("server speaks {PROTOCOL_VERSION}, client sent 99")),
        "{reason}"
    );
}

#[tokio::test]
async fn a_text_frame_is_closed_with_1003() {
    let server = TestServer::start(config());
    let mut conn = server.connect().await;
    conn.send_raw(Message::text("{\"hello\":1}"))
        .await
        .expect("send");
    let (error, frame) = refusal(&mut conn).await;
    assert_eq!(error, None);
    assert_eq!(close_code(&frame), Some(1003));
}

#[tokio::test]
async fn garbage_bytes_get_an_error_and_1007() {
    let server = TestServer::start(config());
    let mut conn = server.connect().await;
    conn.send_raw(Message::binary(vec![0xde, 0xad, 0xbe, 0xef]))
        .await
        .expect("send");
    let (error, frame) = refusal(&mut conn).await;
    assert_eq!(error, Some(ErrorCode::BadMessage));
    assert_eq!(close_code(&frame), Some(1007));
}

#[tokio::test]
async fn input_before_hello_is_a_protocol_error() {
    let server = TestServer::start(config());
    let mut conn = server.connect().await;
    conn.send(&ClientMsg::Input(Default::default()))
        .await
        .expect("send");
    let (error, frame) = refusal(&mut conn).await;
    assert_eq!(error, Some(ErrorCode::UnexpectedMessage));
    assert_eq!(close_code(&frame), Some(1002));
}

#[tokio::test]
async fn bad_names_are_refused_with_1008() {
    let server = TestServer::start(config());
    for (name, room, want) in [
        ("   ", None, ErrorCode::BadName),
        ("ok", Some("no spaces"), ErrorCode::BadRoomName),
    ] {
        let (mut conn, result) = server.try_join(name, room).await;
        assert!(
            matches!(result, Err(ClientError::Refused { code, .. }) if code == want),
            "{result:?}"
        );
        assert_eq!(
            close_code(&conn.wait_for_close(WAIT).await.expect("close")),
            Some(1008)
        );
    }
}

#[tokio::test]
async fn a_client_that_never_says_hello_is_dropped() {
    let server = TestServer::start(Config {
        hello_timeout_ms: 300,
        ..config()
    });
    let mut conn = server.connect().await;
    let (error, frame) = refusal(&mut conn).await;
    assert_eq!(error, Some(ErrorCode::HelloTimeout));
    assert_eq!(close_code(&frame), Some(1008));
}

#[tokio::test]
async fn an_oversized_message_is_closed_with_1009_and_others_play_on() {
    let server = TestServer::start(Config {
        max_message_bytes: 1024,
        ..config()
    });
    let (mut bystander, _) = server.player("bystander", Some("r")).await;
    let (mut big, _) = server.player("big", Some("r")).await;
    big.send(&ClientMsg::Chat {
        text: "x".repeat(4096),
    })
    .await
    .expect("send");
    let frame = big.wait_for_close(WAIT).await.expect("close frame");
    assert_eq!(close_code(&frame), Some(1009));
    // The other player still gets fresh snapshots.
    for _ in 0..5 {
        bystander
            .wait_for(WAIT, |m| matches!(m, ServerMsg::Snapshot(_)).then_some(()))
            .await
            .expect("bystander keeps playing");
    }
}

/// Sends `payload` as a fragmented binary message, `chunk` bytes per frame.
async fn send_fragmented(conn: &mut common::Connection, payload: &[u8], chunk: usize) {
    let pieces: Vec<&[u8]> = payload.chunks(chunk).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let header = FrameHeader {
            is_final: i + 1 == pieces.len(),
            opcode: if i == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            },
            ..FrameHeader::default()
        };
        conn.send_raw(Message::Frame(Frame::from_payload(
            header,
            piece.to_vec().into(),
        )))
        .await
        .expect("fragment");
    }
}

#[tokio::test]
async fn fragmented_messages_are_reassembled_up_to_the_limit() {
    let server = TestServer::start(Config {
        max_message_bytes: 1024,
        ..config()
    });
    let mut conn = server.connect().await;
    let hello = protocol::encode(&ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "frag".into(),
        room: None,
        ticket: None,
        resume: None,
        options: None,
    })
    .expect("encode");
    send_fragmented(&mut conn, &hello, 3).await;
    let welcome = conn
        .wait_for(WAIT, |m| {
            matches!(m, ServerMsg::Welcome { .. }).then_some(())
        })
        .await;
    assert!(
        welcome.is_ok(),
        "fragmented Hello must be accepted: {welcome:?}"
    );

    let chat = protocol::encode(&ClientMsg::Chat {
        text: "y".repeat(2000),
    })
    .expect("encode");
    send_fragmented(&mut conn, &chat, 512).await;
    assert_eq!(
        close_code(&conn.wait_for_close(WAIT).await.expect("close")),
        Some(1009)
    );
}

#[tokio::test]
async fn a_plain_http_request_to_ws_gets_a_4xx_with_a_reason() {
    let server = TestServer::start(config());
    let (status, _) = server.http_get("/ws");
    assert_eq!(status, 400);
    let raw = http_request(
        server.addr,
        "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n",
    );
    assert!((400..500).contains(&raw.0), "{raw:?}");
}

#[tokio::test]
async fn a_client_close_is_echoed_and_the_player_leaves() {
    let server = TestServer::start(config());
    let (mut a, _) = server.player("a", Some("r")).await;
    let (mut b, wb) = server.player("b", Some("r")).await;
    b.send_raw(Message::Close(Some(CloseFrame {
        code: 1000.into(),
        reason: "done".into(),
    })))
    .await
    .expect("close");
    assert_eq!(
        close_code(&b.wait_for_close(WAIT).await.expect("echo")),
        Some(1000)
    );
    let left = a.next_left().await.expect("leave seen");
    assert_eq!(left, wb.player_id);
}

#[tokio::test]
async fn hand_written_malformed_frames_get_their_close_codes() {
    use std::io::Write;
    let server = TestServer::start(config());
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("reserved bit set", raw_frame(0x80 | 0x40 | 0x2, b"x"), 1002),
        ("unknown opcode", raw_frame(0x80 | 0x3, b""), 1002),
        (
            "invalid UTF-8 in a text frame",
            raw_frame(0x80 | 0x1, &[0xce, 0xba, 0xff]),
            1007,
        ),
        (
            "continuation with nothing to continue",
            raw_frame(0x80, b"x"),
            1002,
        ),
    ];
    for (what, bytes, want) in cases {
        let (status, mut stream) = common::upgrade_status(server.addr, "");
        assert_eq!(status, 101, "{what}");
        stream.write_all(&bytes).expect("write frame");
        assert_eq!(read_close_code(&mut stream), Some(want), "{what}");
    }
}

#[tokio::test]
async fn a_client_chosen_close_code_cannot_add_metric_series() {
    let server = TestServer::start(config());
    for code in [4321u16, 4999, 3007] {
        let mut conn = server.connect().await;
        conn.send_raw(Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: "".into(),
        })))
        .await
        .expect("close");
        assert_eq!(
            close_code(&conn.wait_for_close(WAIT).await.expect("echo")),
            Some(code),
            "the client's code is echoed"
        );
    }
    common::eventually("three client closes counted", || {
        let m = server.metrics();
        let counted = |code| {
            m.value(
                "arena_connections_closed_total",
                &[("code", code), ("reason", "client_closed")],
            )
        };
        counted("4xxx") == Some(2.0) && counted("3xxx") == Some(1.0)
    })
    .await;
    let codes: Vec<String> = server
        .metrics()
        .samples_where("arena_connections_closed_total", &[])
        .iter()
        .filter_map(|s| s.label("code").map(str::to_owned))
        .collect();
    assert!(
        !codes
            .iter()
            .any(|c| c == "4321" || c == "4999" || c == "3007"),
        "{codes:?}"
    );
}
