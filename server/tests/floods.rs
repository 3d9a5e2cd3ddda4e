//! Frames that carry no message still cost the server work: every frame is charged to the flood
//! guard, a message has a bounded number of fragments, and a client closed for a violation reads
//! its close code even while it keeps sending.
mod common;

use std::io::Write;
use std::net::TcpStream;

use arena_server::Config;
use common::{TestServer, config, raw_frame, read_close_code};

/// Writes `frames` on a thread of its own while the caller reads, so a server that stops
/// reading cannot block the test; write errors (the server has closed) end the writer.
fn write_in_background(stream: &TcpStream, frames: Vec<u8>) -> std::thread::JoinHandle<()> {
    let mut writer = stream.try_clone().expect("second handle");
    std::thread::spawn(move || {
        for chunk in frames.chunks(64 * 1024) {
            if writer.write_all(chunk).is_err() {
                return;
            }
        }
    })
}

/// Waits until the session has ended (after its linger) and been counted with this reason.
async fn closed_for(server: &TestServer, reason: &str) {
    common::eventually(&format!("one connection closed 1008 {reason}"), || {
        server.metrics().value(
            "arena_connections_closed_total",
            &[("code", "1008"), ("reason", reason)],
        ) == Some(1.0)
    })
    .await;
}

fn repeated(frame: &[u8], n: usize) -> Vec<u8> {
    frame.repeat(n)
}

#[tokio::test]
async fn a_flood_of_unsolicited_pongs_is_closed_with_1008() {
    let server = TestServer::start(config());
    let (status, mut stream) = common::upgrade_status(server.addr, "");
    assert_eq!(status, 101);
    let writer = write_in_background(&stream, repeated(&raw_frame(0x80 | 0xA, b""), 50_000));
    // The close frame arrives although the client never stops sending: the server reads and
    // discards its data for a while before closing TCP, instead of resetting the connection.
    assert_eq!(read_close_code(&mut stream), Some(1008));
    let _ = writer.join();
    closed_for(&server, "flood").await;
    assert!(
        server
            .metrics()
            .require("arena_rate_limited_total", &[("kind", "frame")])
            >= 1.0
    );
}

#[tokio::test]
async fn a_message_of_endless_empty_continuation_frames_is_closed_with_1008() {
    // The flood guard is opened wide: the fragment bound alone must catch this.
    let server = TestServer::start(Config {
        msg_rate: 1e9,
        msg_burst: 1e9,
        ..config()
    });
    let (status, mut stream) = common::upgrade_status(server.addr, "");
    assert_eq!(status, 101);
    let mut frames = raw_frame(0x2, b""); // binary, FIN = 0
    frames.extend(repeated(&raw_frame(0x0, b""), 50_000)); // continuation, FIN = 0
    let writer = write_in_background(&stream, frames);
    assert_eq!(read_close_code(&mut stream), Some(1008));
    let _ = writer.join();
    closed_for(&server, "too_many_fragments").await;
}

#[tokio::test]
async fn the_same_continuation_flood_is_closed_by_the_flood_guard_alone() {
    // Fragments allowed without bound: every continuation frame is still charged.
    let server = TestServer::start(Config {
        max_message_fragments: 65_536,
        ..config()
    });
    let (status, mut stream) = common::upgrade_status(server.addr, "");
    assert_eq!(status, 101);
    let mut frames = raw_frame(0x2, b"");
    frames.extend(repeated(&raw_frame(0x0, b""), 50_000));
    let writer = write_in_background(&stream, frames);
    assert_eq!(read_close_code(&mut stream), Some(1008));
    let _ = writer.join();
    closed_for(&server, "flood").await;
}

#[tokio::test]
async fn a_frame_declared_over_the_limit_is_refused_from_its_header_with_1009() {
    let server = TestServer::start(config());
    let (status, mut stream) = common::upgrade_status(server.addr, "");
    assert_eq!(status, 101);
    // A binary frame declaring 1 GiB, then 4 MiB of it: the server must not buffer it.
    let mut frames = vec![0x82, 0x80 | 127];
    frames.extend_from_slice(&(1u64 << 30).to_be_bytes());
    frames.extend_from_slice(&[1, 2, 3, 4]);
    frames.extend(std::iter::repeat_n(0u8, 4 << 20));
    let writer = write_in_background(&stream, frames);
    assert_eq!(read_close_code(&mut stream), Some(1009));
    let _ = writer.join();
    common::eventually("counted as too big", || {
        server.metrics().value(
            "arena_connections_closed_total",
            &[("code", "1009"), ("reason", "protocol_error")],
        ) == Some(1.0)
    })
    .await;
}

#[tokio::test]
async fn a_connection_whose_stream_is_broken_is_released_without_lingering() {
    // A linger as long as the test's patience: only a connection released at once passes.
    let server = TestServer::start(Config {
        close_linger_ms: 10_000,
        ..config()
    });
    let (status, mut stream) = common::upgrade_status(server.addr, "");
    assert_eq!(status, 101);
    stream
        .write_all(&raw_frame(0x80 | 0x40 | 0x2, b"x"))
        .expect("a frame with a reserved bit");
    assert_eq!(read_close_code(&mut stream), Some(1002));
    common::eventually("the session is gone", || {
        server.metrics().value("arena_connections_open", &[]) == Some(0.0)
    })
    .await;
}
