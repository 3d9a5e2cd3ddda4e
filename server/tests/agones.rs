//! The `agones` feature against `dummy-agones` (a stand-alone fake of the Agones SDK server that
//! speaks the SDK's real gRPC; `scripts/install-agones-test-deps.sh` installs it): the real
//! binary under `--agones` goes Ready once it listens, Allocated while anyone plays and Ready
//! again once they leave, annotates its players and rooms, pings health only while its rooms
//! tick, and says Shutdown after a SIGTERM's drain. Everything is checked through dummy-agones'
//! HTTP side (`GET /`: the GameServer as YAML) and its log of health pings.
//!
//! dummy-agones listens on 9357 and nothing else (it takes no port option), so the tests that
//! start one take turns.
#![cfg(feature = "agones")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arena_shared::shooter::ClientMsg;
use common::{Connection, WAIT};

/// The one port dummy-agones serves, gRPC and HTTP alike.
const SDK_PORT: u16 = 9357;

/// Turns at [`SDK_PORT`].
static SDK_PORT_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Lines a child process printed, collected by a thread so that it never blocks on a pipe.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn collect(&self, out: impl Read + Send + 'static) {
        let lines = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.0.lock().expect("lines").push(line);
            }
        });
    }

    fn count(&self, needle: &str) -> usize {
        let lines = self.0.lock().expect("lines");
        lines.iter().filter(|l| l.contains(needle)).count()
    }

    fn all(&self) -> String {
        self.0.lock().expect("lines").join("\n")
    }
}

/// A `dummy-agones` of this test's own, on [`SDK_PORT`].
struct DummyAgones {
    child: Child,
    log: Lines,
}

impl DummyAgones {
    async fn start() -> Self {
        let mut child = Command::new("dummy-agones")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dummy-agones runs (scripts/install-agones-test-deps.sh installs it)");
        let log = Lines::default();
        log.collect(child.stdout.take().expect("stdout"));
        log.collect(child.stderr.take().expect("stderr"));
        let mut dummy = Self { child, log };
        let deadline = Instant::now() + WAIT;
        while dummy.try_yaml().is_none() {
            if let Ok(Some(status)) = dummy.child.try_wait() {
                panic!(
                    "dummy-agones exited ({status}) before answering: is port {SDK_PORT} taken?\n{}",
                    dummy.log.all()
                );
            }
            assert!(Instant::now() < deadline, "dummy-agones never answered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        dummy
    }

    /// `GET /`: the GameServer as YAML, if it answered 200.
    fn try_yaml(&self) -> Option<String> {
        let (status, body) =
            http("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into())?;
        (status == 200).then_some(body)
    }

    fn yaml(&self) -> String {
        self.try_yaml().expect("dummy-agones answers GET /")
    }

    /// The GameServer's state (`status.state`), empty before any.
    fn state(&self) -> String {
        yaml_at(&self.yaml(), &["status", "state"]).unwrap_or_default()
    }

    fn annotation(&self, key: &str) -> Option<String> {
        yaml_at(&self.yaml(), &["objectMeta", "annotations", key])
    }

    /// Names the GameServer, as Agones would before starting its pod.
    fn name(&self, name: &str) {
        self.post(&format!("{}spec: ~\nstatus: ~\n", object_meta(name)));
    }

    /// Allocates the GameServer from outside, as a matchmaker's `GameServerAllocation` would.
    fn allocate(&self) {
        self.post(&format!(
            "{}spec: ~\nstatus:\n  state: Allocated\n  address: \"\"\n  addresses: []\n  \
             ports: []\n  players: ~\n  counters: {{}}\n  lists: {{}}\n",
            object_meta("")
        ));
    }

    /// `POST /`: replaces the GameServer (dummy-agones wants every field).
    fn post(&self, yaml: &str) {
        let request = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/yaml\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{yaml}",
            yaml.len()
        );
        let answer = http(request);
        assert_eq!(answer.as_ref().map(|a| a.0), Some(200), "{answer:?}");
    }

    /// Whether the GameServer stays in `state` for `span` (a bounded look for something that
    /// must not happen).
    async fn stays(&self, state: &str, span: Duration) -> bool {
        let end = Instant::now() + span;
        while Instant::now() < end {
            if self.state() != state {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Health pings received so far.
    fn pings(&self) -> usize {
        self.log.count("Got health message")
    }

    async fn eventually(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {what}\nGameServer:\n{}",
                self.yaml()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for DummyAgones {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GameServer's `objectMeta` in the YAML dummy-agones reads.
fn object_meta(name: &str) -> String {
    format!(
        "objectMeta:\n  name: \"{name}\"\n  namespace: default\n  uid: \"\"\n  \
         resourceVersion: \"\"\n  generation: 0\n  creationTimestamp: 0\n  \
         deletionTimestamp: 0\n  annotations: {{}}\n  labels: {{}}\n"
    )
}

/// One HTTP/1.1 exchange with dummy-agones: (status, body), or `None` if it did not answer.
fn http(request: String) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", SDK_PORT)).ok()?;
    stream.set_read_timeout(Some(WAIT)).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let (_, body) = text.split_once("\r\n\r\n")?;
    // axum answers small bodies whole; a chunked one would need decoding.
    Some((status, body.to_owned()))
}

/// The scalar at `path` in the YAML that dummy-agones writes (block maps, two-space indents),
/// quotes taken off.
fn yaml_at(yaml: &str, path: &[&str]) -> Option<String> {
    // The indents of the keys of `path` matched so far.
    let mut open: Vec<usize> = Vec::new();
    for line in yaml.lines() {
        let text = line.trim_start();
        if text.is_empty() || text.starts_with('#') || text == "---" {
            continue;
        }
        let indent = line.len() - text.len();
        while open.last().is_some_and(|&i| indent <= i) {
            open.pop();
        }
        let child_of_match = open.last().map_or(indent == 0, |&i| indent > i);
        let Some((key, value)) = text.split_once(": ").or_else(|| text.split_once(':')) else {
            continue;
        };
        let depth = open.len();
        if child_of_match && depth < path.len() && key.trim_matches('"') == path[depth] {
            if depth + 1 == path.len() {
                return Some(value.trim().trim_matches('"').trim_matches('\'').to_owned());
            }
            open.push(indent);
        }
    }
    None
}

/// The real `arena-server` binary under `--agones`.
struct Arena {
    child: Child,
    addr: String,
    log: Lines,
}

impl Arena {
    /// Starts it with `config` (TOML) and `AGONES_SDK_GRPC_PORT=sdk_port`; waits until it
    /// prints its address.
    fn start(config: &str, sdk_port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "arena-agones-{}-{}",
            std::process::id(),
            next_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("server.toml");
        std::fs::write(&file, config).expect("config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_arena-server"))
            .args(["--bind", "127.0.0.1:0", "--agones", "--config"])
            .arg(&file)
            .env("AGONES_SDK_GRPC_PORT", sdk_port.to_string())
            .env("RUST_LOG", "arena_server=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("arena-server runs");
        let log = Lines::default();
        log.collect(child.stderr.take().expect("stderr"));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addr = loop {
            let line = lines
                .next()
                .and_then(Result::ok)
                .unwrap_or_else(|| panic!("no listening line; stderr:\n{}", log.all()));
            if let Some(addr) = line.strip_prefix("listening on http://") {
                break addr.to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, addr, log }
    }

    async fn player(&self, name: &str, room: &str) -> Connection {
        let mut conn = Connection::connect(&format!("ws://{}/ws", self.addr))
            .await
            .expect("connect");
        conn.join(name, Some(room), WAIT).await.expect("join");
        conn
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Its exit status, once it exits within `limit`.
    async fn exits_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A number no other server of this test process has had, for its config's folder.
fn next_suffix() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Players leave at once (no seat kept for a resume), the drain lasts at most 2 s.
const CONFIG: &str = "workers = 1\nresume_grace_ms = 0\ndrain_timeout_s = 2\n";

#[tokio::test]
async fn the_gameserver_goes_ready_allocated_ready_and_shutdown_with_players_annotated() {
    let _turn = SDK_PORT_TURN.lock().await;
    let dummy = DummyAgones::start().await;
    dummy.name("arena-gs-7");
    let mut arena = Arena::start(CONFIG, SDK_PORT);

    dummy
        .eventually("Ready, no players, no rooms", |d| {
            d.state() == "Ready"
                && d.annotation("arena.dev/players").as_deref() == Some("0")
                && d.annotation("arena.dev/rooms").as_deref() == Some("0")
        })
        .await;
    // The GameServer's name is the default server id.
    let (status, fleet) = common::http_request(
        arena.addr.parse().expect("addr"),
        "GET /api/fleet HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let fleet: serde_json::Value = serde_json::from_str(&fleet).expect("json");
    assert_eq!(fleet["servers"][0]["id"], "arena-gs-7", "{fleet}");

    let ann = arena.player("ann", "first").await;
    dummy
        .eventually("Allocated with one player in one room", |d| {
            d.state() == "Allocated"
                && d.annotation("arena.dev/players").as_deref() == Some("1")
                && d.annotation("arena.dev/rooms").as_deref() == Some("1")
        })
        .await;
    let pings = dummy.pings();
    dummy
        .eventually("health pings while the room ticks", |d| {
            d.pings() >= pings + 2
        })
        .await;

    ann.close().await;
    dummy
        .eventually("Ready again once the last player left", |d| {
            d.state() == "Ready" && d.annotation("arena.dev/players").as_deref() == Some("0")
        })
        .await;

    // A player still in a room when SIGTERM comes: the process stays Allocated while it
    // drains, and says Shutdown once the drain is over.
    let _bob = arena.player("bob", "second").await;
    dummy
        .eventually("Allocated again", |d| d.state() == "Allocated")
        .await;
    arena.sigterm();
    let exited = arena.exits_within(WAIT).await;
    assert!(
        exited.is_some_and(|s| s.success()),
        "{exited:?}\n{}",
        arena.log.all()
    );
    assert_eq!(dummy.state(), "Shutdown", "{}", arena.log.all());
    let log = arena.log.all();
    let (drain_over, shutdown) = (log.find("drain over"), log.find("told Agones: Shutdown"));
    assert!(
        drain_over.is_some() && drain_over < shutdown,
        "Shutdown comes after the drain:\n{log}"
    );
}

#[tokio::test]
async fn a_matchmakers_allocation_is_kept_until_its_players_have_come_and_gone() {
    let _turn = SDK_PORT_TURN.lock().await;
    let dummy = DummyAgones::start().await;
    let arena = Arena::start(CONFIG, SDK_PORT);
    dummy.eventually("Ready", |d| d.state() == "Ready").await;

    // Allocated for players on their way: an empty process must not hand itself back.
    dummy.allocate();
    assert!(
        dummy
            .stays("Allocated", 3 * arena_server::agones::PERIOD)
            .await,
        "an allocation before any player came was undone:\n{}",
        arena.log.all()
    );
    let ann = arena.player("ann", "booked").await;
    dummy
        .eventually("Allocated, with the player annotated", |d| {
            d.state() == "Allocated" && d.annotation("arena.dev/players").as_deref() == Some("1")
        })
        .await;
    ann.close().await;
    dummy
        .eventually("Ready once its players have left", |d| d.state() == "Ready")
        .await;
}

#[tokio::test]
async fn a_wedged_room_stops_the_health_pings_while_the_process_lives_on() {
    let _turn = SDK_PORT_TURN.lock().await;
    let dummy = DummyAgones::start().await;
    let mut arena = Arena::start(&format!("{CONFIG}fault_injection = true\n"), SDK_PORT);
    let mut ann = arena.player("ann", "doomed").await;
    dummy
        .eventually("Allocated", |d| d.state() == "Allocated")
        .await;
    let pings = dummy.pings();
    dummy
        .eventually("health pings while the room ticks", |d| {
            d.pings() >= pings + 2
        })
        .await;

    ann.send(&ClientMsg::Chat {
        text: arena_server::room::WEDGE_COMMAND.into(),
    })
    .await
    .expect("send");
    let deadline = Instant::now() + WAIT;
    while arena.log.count("a room stopped ticking: no health pings") == 0 {
        assert!(
            Instant::now() < deadline,
            "the stalled room was never noticed:\n{}",
            arena.log.all()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A ping sent by the look before the stall may still be on its way; then none for three
    // looks (a healthy process pings once a look), while the process still runs.
    tokio::time::sleep(arena_server::agones::PERIOD).await;
    let after = dummy.pings();
    tokio::time::sleep(3 * arena_server::agones::PERIOD).await;
    assert_eq!(
        dummy.pings(),
        after,
        "no health pings from a wedged process"
    );
    assert!(
        arena.exits_within(Duration::ZERO).await.is_none(),
        "still running"
    );
}

#[tokio::test]
async fn without_an_sdk_server_it_fails_within_its_bound_and_says_why() {
    let unused = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = Instant::now();
    let mut arena = Arena::start(CONFIG, unused);
    let exited = arena
        .exits_within(arena_server::agones::CONNECT_WAIT + WAIT)
        .await;
    assert!(exited.is_some_and(|s| !s.success()), "{exited:?}");
    assert!(
        started.elapsed() < arena_server::agones::CONNECT_WAIT + Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let log = arena.log.all();
    assert!(
        log.contains(&format!(
            "no Agones SDK server answered on localhost:{unused}"
        )),
        "{log}"
    );
}
