//! The fleet directory against a real `redis-server` (started here on a free loopback port;
//! `scripts/install-redis.sh` installs it when absent): processes list each other and their
//! rooms, a killed one leaves within its TTL, and Redis going away stops nothing but the
//! directory, which fills again when Redis is back.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arena_server::Config;
use common::{TestServer, config};

/// A `redis-server` of this test's own, without persistence.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Self { port, child: None };
        redis.run();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port, empty, and waits until it answers.
    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/install-redis.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + common::WAIT;
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "redis-server never answered PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn fleet_config(redis: &Redis, id: &str) -> Config {
    Config {
        fleet_url: redis.url(),
        server_id: id.into(),
        fleet_ttl_ms: 1_500,
        ..config()
    }
}

/// `GET /api/fleet` of `server`: the status and the servers' ids, when it answers 200.
fn fleet_of(server: &TestServer) -> (u16, serde_json::Value) {
    let (status, body) = server.http_get("/api/fleet");
    (status, serde_json::from_str(&body).unwrap_or_default())
}

fn ids(listing: &serde_json::Value) -> Vec<String> {
    listing["servers"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn processes_list_each_other_and_their_rooms_and_a_clean_exit_leaves() {
    let redis = Redis::start();
    let a = TestServer::start(fleet_config(&redis, "a"));
    let b = TestServer::start(fleet_config(&redis, "b"));
    let (_player, _) = a.player("ann", Some("alpha")).await;
    common::eventually("b lists a's room alpha with its player", || {
        let (status, listing) = fleet_of(&b);
        status == 200
            && ids(&listing) == ["a", "b"]
            && listing["servers"][0]["rooms"][0]["name"] == "alpha"
            && listing["servers"][0]["rooms"][0]["players"] == 1
    })
    .await;
    let (_, listing) = fleet_of(&b);
    let entry = &listing["servers"][0];
    assert_eq!(entry["url"], format!("ws://{}/ws", a.addr), "{listing}");
    assert_eq!(entry["draining"], false);
    assert_eq!(entry["players"], 1);
    assert_eq!(listing["directory"], "redis");
    assert_eq!(a.shutdown(), Ok(()));
    common::eventually("a left the fleet on its way out", || {
        ids(&fleet_of(&b).1) == ["b"]
    })
    .await;
}

/// The real binary with a fleet config, and the address it listens on.
fn spawn_member(redis: &Redis, id: &str) -> (Child, String) {
    let dir = std::env::temp_dir().join(format!("arena-fleet-{}-{id}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("server.toml");
    std::fs::write(&file, "fleet_ttl_ms = 1500\nworkers = 1\n").expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_arena-server"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--fleet",
            &redis.url(),
            "--server-id",
            id,
        ])
        .arg("--config")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("arena-server runs");
    // It prints `listening on http://ADDR` once it listens.
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let addr = loop {
        let line = lines
            .next()
            .and_then(Result::ok)
            .expect("a listening line before the server's output ends");
        if let Some(at) = line.find("127.0.0.1:") {
            let addr: String = line[at..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            break addr;
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

#[tokio::test]
async fn a_killed_process_leaves_the_fleet_within_its_ttl() {
    let redis = Redis::start();
    let watcher = TestServer::start(fleet_config(&redis, "watcher"));
    let (mut doomed, addr) = spawn_member(&redis, "doomed");
    common::eventually("the process registered", || {
        ids(&fleet_of(&watcher).1).contains(&"doomed".to_owned())
    })
    .await;
    let (_, listing) = fleet_of(&watcher);
    let listed = listing["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|e| e["id"] == "doomed"))
        .map(|e| e["url"].clone());
    assert_eq!(listed, Some(format!("ws://{addr}/ws").into()));
    // SIGKILL: no deregistration, only the TTL.
    doomed.kill().expect("kill");
    let killed = Instant::now();
    let _ = doomed.wait();
    common::eventually("the killed process is gone from the fleet", || {
        !ids(&fleet_of(&watcher).1).contains(&"doomed".to_owned())
    })
    .await;
    let gone_after = killed.elapsed();
    assert!(
        gone_after <= Duration::from_millis(1_500 + 1_000),
        "listed {gone_after:?} after it died, past its 1.5 s TTL"
    );
}

#[tokio::test]
async fn without_redis_rooms_play_on_and_the_directory_refills_when_it_is_back() {
    let mut redis = Redis::start();
    let server = TestServer::start(fleet_config(&redis, "steady"));
    let (mut player, _) = server.player("ann", Some("steady-room")).await;
    common::eventually("registered", || ids(&fleet_of(&server).1) == ["steady"]).await;

    redis.stop();
    common::eventually("the directory is reported down", || {
        let (status, body) = server.http_get("/api/fleet");
        status == 503 && body.contains("fleet directory unreachable")
    })
    .await;
    common::eventually("the failures are counted", || {
        let m = server.metrics();
        m.value("arena_fleet_up", &[]) == Some(0.0)
            && m.value("arena_fleet_errors_total", &[("op", "register")]) >= Some(1.0)
    })
    .await;
    // The room plays on meanwhile.
    use common::ConnectionExt;
    let first = player.next_tick().await.expect("a snapshot");
    let later = loop {
        let tick = player.next_tick().await.expect("a snapshot");
        if tick >= first + 30 {
            break tick;
        }
    };
    assert!(later >= first + 30);

    // Back, empty: everything is written again.
    redis.run();
    common::eventually("registered again, with its room", || {
        let (status, listing) = fleet_of(&server);
        status == 200 && listing["servers"][0]["rooms"][0]["name"] == "steady-room"
    })
    .await;
    assert_eq!(server.metrics().value("arena_fleet_up", &[]), Some(1.0));
}

#[tokio::test]
async fn a_draining_process_is_listed_as_draining_until_it_leaves() {
    const TOKEN: &str = "an-admin-token-of-at-least-32-bytes";
    let redis = Redis::start();
    let mut server = TestServer::start(Config {
        admin_token: TOKEN.into(),
        drain_timeout_s: 60,
        ..fleet_config(&redis, "drained")
    });
    let (mut ann, _) = server.player("ann", Some("last-room")).await;
    common::eventually("listed, not draining", || {
        fleet_of(&server).1["servers"][0]["draining"] == false
    })
    .await;
    let (status, _) = common::http_request(
        server.addr,
        &format!(
            "POST /api/admin/drain HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 202);
    common::eventually("listed as draining, its room still there", || {
        let (_, listing) = fleet_of(&server);
        listing["servers"][0]["draining"] == true
            && listing["servers"][0]["rooms"][0]["name"] == "last-room"
    })
    .await;
    ann.send(&arena_shared::shooter::ClientMsg::Leave)
        .await
        .expect("leave");
    assert!(server.exits_within(common::WAIT).await);
    let watcher = TestServer::start(fleet_config(&redis, "watcher"));
    common::eventually("gone from the fleet once it exited", || {
        ids(&fleet_of(&watcher).1) == ["watcher"]
    })
    .await;
}
