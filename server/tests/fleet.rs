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

const SECRET: &str = "a-fleet-secret-of-at-least-32-bytes!";

/// A fleet member that matchmakes: the shared secret, seats for the crowd, no rate limit worth
/// the name (every test call comes from 127.0.0.1).
fn matchmaking_config(redis: &Redis, id: &str) -> Config {
    Config {
        ticket_secret: SECRET.into(),
        max_players: 64,
        matchmake_per_ip_per_s: 10_000,
        ..fleet_config(redis, id)
    }
}

/// `POST /api/matchmake` at `addr` with `body`: (status, JSON answer).
fn matchmake_at(addr: std::net::SocketAddr, body: &serde_json::Value) -> (u16, serde_json::Value) {
    common::matchmake_at(addr, &body.to_string())
}

/// Connects where a matchmake answer says and joins with its ticket.
async fn join_at(
    url: &str,
    ticket: &str,
) -> (
    common::Connection,
    Result<common::Welcome, arena_bot::ClientError>,
) {
    common::join_with_ticket(url, Some(ticket.to_owned()), "whoever").await
}

fn listed_everywhere(server: &TestServer, n: usize) -> bool {
    let (status, listing) = fleet_of(server);
    status == 200 && ids(&listing).len() == n
}

#[tokio::test]
async fn concurrent_matchmakes_on_every_node_put_one_named_room_on_one_server() {
    let redis = Redis::start();
    let nodes: Vec<TestServer> = ["a", "b", "c"]
        .iter()
        .map(|id| TestServer::start(matchmaking_config(&redis, id)))
        .collect();
    common::eventually("all three listed", || listed_everywhere(&nodes[0], 3)).await;
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr).collect();
    let calls: Vec<_> = (0..40)
        .map(|i| {
            let addr = addrs[i % 3];
            std::thread::spawn(move || {
                matchmake_at(
                    addr,
                    &serde_json::json!({ "name": format!("p{i}"), "room": "final" }),
                )
            })
        })
        .collect();
    let answers: Vec<(u16, serde_json::Value)> =
        calls.into_iter().map(|c| c.join().expect("call")).collect();
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        assert_eq!(answer["room"], "final");
    }
    let servers: std::collections::BTreeSet<&str> = answers
        .iter()
        .filter_map(|(_, a)| a["server"].as_str())
        .collect();
    assert_eq!(servers.len(), 1, "one room, one server: {servers:?}");
    let holder = *servers.first().expect("a server");
    let node = nodes
        .iter()
        .find(|n| n.url() == answers[0].1["url"])
        .expect("the answer's URL is a node's");
    // 40 seats held in one room, on one server; no other server opened it.
    let rooms = node.rooms();
    let held = rooms.iter().find(|r| r["name"] == "final").expect("final");
    assert_eq!(held["reserved"], 40, "{held}");
    for other in nodes.iter().filter(|n| n.url() != answers[0].1["url"]) {
        assert!(other.rooms().iter().all(|r| r["name"] != "final"));
    }
    // The ticket names its server: taken there, refused elsewhere.
    let ticket = answers[1].1["ticket"].as_str().expect("ticket");
    let elsewhere = nodes
        .iter()
        .find(|n| n.url() != answers[1].1["url"])
        .expect("another node");
    let (_, refused) = join_at(&elsewhere.url(), ticket).await;
    assert!(
        matches!(&refused, Err(arena_bot::ClientError::Refused { message, .. }) if message.contains("another server")),
        "{refused:?}"
    );
    let (_conn, welcome) = join_at(answers[1].1["url"].as_str().expect("url"), ticket).await;
    assert_eq!(
        welcome.expect("seated where the seat was held").room,
        "final"
    );
    assert!(["a", "b", "c"].contains(&holder));
}

#[tokio::test]
async fn quick_play_fills_the_fullest_room_in_the_fleet_and_a_closed_server_is_passed_over() {
    let redis = Redis::start();
    let a = TestServer::start(matchmaking_config(&redis, "a"));
    let b = TestServer::start(matchmaking_config(&redis, "b"));
    common::eventually("both listed", || listed_everywhere(&b, 2)).await;
    // Two players in a quick-play room on a (joined there directly: a matchmake could open
    // the first room on either server).
    let mut players = Vec::new();
    for name in ["ann", "bo"] {
        let (conn, _) = a.player(name, None).await;
        players.push(conn);
    }
    common::eventually("b sees a's room with two players", || {
        let (_, listing) = fleet_of(&b);
        listing["servers"][0]["rooms"][0]["players"] == 2
    })
    .await;
    // Asked at b, quick-play goes to a's room, the fleet's fullest with space.
    let (status, answer) = matchmake_at(b.addr, &serde_json::json!({ "name": "cy" }));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["server"].as_str(), answer["url"].as_str()),
        (Some("a"), Some(a.url().as_str()))
    );
    // A named room goes to the least loaded server: b (a has players).
    let (status, named) = matchmake_at(
        a.addr,
        &serde_json::json!({ "name": "dee", "room": "quiet" }),
    );
    assert_eq!(status, 200, "{named}");
    assert_eq!(named["server"], "b");
    // b leaves; its room's name is released, so the room is made again on a.
    drop(players);
    assert_eq!(b.shutdown(), Ok(()));
    common::eventually("b is gone", || listed_everywhere(&a, 1)).await;
    let (status, again) = matchmake_at(
        a.addr,
        &serde_json::json!({ "name": "eve", "room": "quiet" }),
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["server"], "a");
}

#[tokio::test]
async fn fleet_matchmaking_answers_503_without_the_directory_or_a_shared_secret() {
    let mut redis = Redis::start();
    let server = TestServer::start(matchmaking_config(&redis, "alone"));
    let secretless = TestServer::start(fleet_config(&redis, "secretless"));
    let (status, refusal) = matchmake_at(secretless.addr, &serde_json::json!({ "name": "ann" }));
    assert_eq!(
        (status, refusal["kind"].as_str()),
        (503, Some("unavailable")),
        "{refusal}"
    );
    assert!(
        refusal["error"]
            .as_str()
            .is_some_and(|e| e.contains("ticket_secret")),
        "{refusal}"
    );
    common::eventually("listed", || listed_everywhere(&server, 2)).await;
    redis.stop();
    let (status, refusal) = matchmake_at(server.addr, &serde_json::json!({ "name": "ann" }));
    assert_eq!(
        (status, refusal["kind"].as_str()),
        (503, Some("unavailable")),
        "{refusal}"
    );
    assert!(
        refusal["error"]
            .as_str()
            .is_some_and(|e| e.contains("fleet directory unreachable")),
        "{refusal}"
    );
    assert_eq!(
        server
            .metrics()
            .require("arena_matchmake_total", &[("outcome", "unavailable")]),
        1.0
    );
}
