//! Test harness: the real server on 127.0.0.1:0 in its own actix system thread, and helpers to
//! talk to it as a client would.
#![allow(dead_code, missing_docs)]

pub mod metrics;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use arena_bot::{ClientError, JoinOptions};
use arena_shared::shooter::World;

/// The shooter's connection: what most tests speak.
pub type Connection = arena_bot::Connection<World>;
/// The shooter's `Welcome`.
pub type Welcome = arena_bot::Welcome<World>;
/// What a shooter connection receives.
pub type Received = arena_bot::Received<World>;
use arena_server::Config;
use arena_shared::EntityId;
use arena_shared::shooter::RoomEvent;
use arena_shared::shooter::ServerMsg;
use tokio::sync::oneshot;

/// Generous bound for anything a test waits on; a healthy run takes a fraction of it.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl TestServer {
    pub fn start(config: Config) -> Self {
        Self::start_serving(config, None)
    }

    /// The server with `games` instead of Arena's own (`arena_server::run_with`).
    pub fn start_with(config: Config, games: arena_server::Games) -> Self {
        Self::start_serving(config, Some(games))
    }

    fn start_serving(config: Config, games: Option<arena_server::Games>) -> Self {
        // Server logs go to the test's captured output: shown only when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("arena_server=debug")),
            )
            .try_init();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let shutdown = async {
                    let _ = stopped.await;
                };
                match games {
                    None => arena_server::run(listener, config, shutdown).await,
                    Some(games) => arena_server::run_with(listener, config, games, shutdown).await,
                }
                .map_err(|e| e.to_string())
            })
        });
        Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn connect(&self) -> Connection {
        Connection::connect(&self.url())
            .await
            .expect("connect to the test server")
    }

    /// Connects and joins; panics on failure.
    pub async fn player(&self, name: &str, room: Option<&str>) -> (Connection, Welcome) {
        let mut conn = self.connect().await;
        let welcome = conn.join(name, room, WAIT).await.expect("join");
        (conn, welcome)
    }

    /// Connects and tries to join.
    pub async fn try_join(
        &self,
        name: &str,
        room: Option<&str>,
    ) -> (Connection, Result<Welcome, ClientError>) {
        let mut conn = self.connect().await;
        let result = conn.join(name, room, WAIT).await;
        (conn, result)
    }

    /// Starts the graceful shutdown (the same path SIGTERM takes) without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Whether the server has stopped (its `run` returned) within `limit`.
    pub async fn exits_within(&mut self, limit: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    }

    /// Shuts down and returns what `run` returned.
    pub fn shutdown(mut self) -> Result<(), String> {
        self.begin_shutdown();
        self.thread
            .take()
            .map_or(Ok(()), |t| t.join().expect("server thread"))
    }

    /// `GET path` over a plain TCP connection: (status, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        http_request(
            self.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
        )
    }

    pub fn rooms(&self) -> Vec<serde_json::Value> {
        let (status, body) = self.http_get("/api/rooms");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("rooms JSON")
    }

    /// `GET /metrics`, parsed strictly (see [`metrics`]); panics unless it answers 200.
    pub fn metrics(&self) -> metrics::Metrics {
        let (status, body) = self.http_get("/metrics");
        assert_eq!(status, 200, "{body}");
        metrics::Metrics::parse(&body)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.begin_shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends raw request bytes and reads the whole response: (status, body).
pub fn http_request(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream.write_all(request.as_bytes()).expect("write request");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A config for tests: one worker, defaults otherwise.
/// Sends a WebSocket upgrade request with `extra` headers and returns the response status,
/// reading only the response head (a 101 leaves the connection open), plus the stream.
pub fn upgrade_status(addr: SocketAddr, extra: &str) -> (u16, TcpStream) {
    upgrade_status_path(addr, "/ws", extra)
}

/// [`upgrade_status`] for another path (with its query).
pub fn upgrade_status_path(addr: SocketAddr, path: &str, extra: &str) -> (u16, TcpStream) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, stream)
}

pub fn config() -> Config {
    Config {
        workers: 1,
        // Twice the default map: every player sees every other wherever they spawn, so tests of
        // other things need not care where the view box ends (tests/netcode.rs does).
        view_width: 3200.0,
        view_height: 2000.0,
        // Shutdown goes straight to closing; tests/drain.rs gives rooms time to play on.
        drain_timeout_s: 0,
        ..Config::default()
    }
}

/// Writes a map into a fresh file and returns its path.
pub fn map_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arena-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("map.txt");
    std::fs::write(&path, text).expect("write map");
    path
}

/// Polls `check` every 20 ms until it holds or `WAIT` passes. For state only visible through
/// a query (the room list), not for anything a client receives as a message.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Like [`eventually`], but waits up to `limit`: for a state that takes a known while to reach
/// before `WAIT` starts to count (a connection that must first freeze, then time out).
pub async fn eventually_within(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn close_code(
    frame: &Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>,
) -> Option<u16> {
    frame.as_ref().map(|f| u16::from(f.code))
}

/// What tests wait for on a connection, beyond the library's `wait_for`.
pub trait ConnectionExt {
    /// The player of the next `Left` event.
    async fn next_left(&mut self) -> Result<EntityId, ClientError>;
    /// The tick of the next snapshot.
    async fn next_tick(&mut self) -> Result<u64, ClientError>;
    /// Sends up to `n` pings as fast as possible, stopping early once the server has closed.
    async fn flood_pings(&mut self, n: u64);
}

/// The events a message carries: those of a snapshot, none for anything else.
pub fn events(m: &ServerMsg) -> impl Iterator<Item = &RoomEvent> {
    let carried = match m {
        ServerMsg::Snapshot(s) => s.events.as_slice(),
        _ => &[],
    };
    carried.iter().map(|(_, e)| e)
}

impl ConnectionExt for Connection {
    async fn next_left(&mut self) -> Result<EntityId, ClientError> {
        self.wait_for(WAIT, |m| {
            events(m).find_map(|e| match e {
                RoomEvent::Left { player } => Some(*player),
                _ => None,
            })
        })
        .await
    }

    async fn flood_pings(&mut self, n: u64) {
        for i in 0..n {
            if self
                .send(&arena_shared::shooter::ClientMsg::Ping { client_time: i })
                .await
                .is_err()
            {
                break;
            }
        }
    }

    async fn next_tick(&mut self) -> Result<u64, ClientError> {
        self.wait_for(WAIT, |m| match m {
            ServerMsg::Snapshot(s) => Some(s.tick),
            _ => None,
        })
        .await
    }
}

impl TestServer {
    /// Connects and presents a resume token.
    pub async fn resume(&self, token: String) -> (Connection, Result<Welcome, ClientError>) {
        let mut conn = self.connect().await;
        let options = JoinOptions {
            resume: Some(token),
            ..JoinOptions::default()
        };
        let result = conn.join_with("resumer", options, WAIT).await;
        (conn, result)
    }
}

/// A masked client frame, written by hand: `first` is the FIN/RSV/opcode byte.
pub fn raw_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37u8, 0xfa, 0x21, 0x3d];
    assert!(payload.len() < 126);
    let mut out = vec![first, 0x80 | payload.len() as u8];
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Reads server frames (unmasked) until a close frame; returns its code.
pub fn read_close_code(stream: &mut std::net::TcpStream) -> Option<u16> {
    use std::io::Read;
    let mut header = [0u8; 2];
    loop {
        stream.read_exact(&mut header).ok()?;
        let mut len = usize::from(header[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext).ok()?;
            len = usize::from(u16::from_be_bytes(ext));
        } else if len == 127 {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext).ok()?;
            len = usize::try_from(u64::from_be_bytes(ext)).ok()?;
        }
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).ok()?;
        if header[0] & 0x0f == 0x8 {
            return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        }
    }
}

/// `POST /api/matchmake` at `addr` with the JSON `body`: (status, JSON answer).
pub fn matchmake_at(addr: SocketAddr, body: &str) -> (u16, serde_json::Value) {
    let (status, text) = http_request(
        addr,
        &format!(
            "POST /api/matchmake HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    (status, serde_json::from_str(&text).unwrap_or_default())
}

/// Connects to `url` and joins as `name` with `ticket` (a matchmake answer's).
pub async fn join_with_ticket(
    url: &str,
    ticket: Option<String>,
    name: &str,
) -> (Connection, Result<Welcome, ClientError>) {
    let mut conn = Connection::connect(url).await.expect("connect");
    let options = JoinOptions {
        ticket,
        ..JoinOptions::default()
    };
    let welcome = conn.join_with(name, options, WAIT).await;
    (conn, welcome)
}
