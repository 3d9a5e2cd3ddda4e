//! Rooms record replays that re-simulate bit for bit, through the real server and the
//! `arena-server replay` command.

mod common;

use std::process::Command as Process;
use std::time::Duration;

use arena_bot::fleet::{FleetSpec, run_fleet};
use arena_server::Config;
use arena_shared::protocol::PlaybackControl;
use arena_shared::replay::{self, Record};
use arena_shared::shooter::{ClientMsg, Entity, ServerMsg, World};
use arena_shared::sync::Replica;
use common::{Connection, TestServer, config};

fn replay_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("arena-replays-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn replays_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[tokio::test]
async fn a_room_of_each_game_records_a_replay_that_verifies() {
    let dir = replay_dir("verify");
    let server = TestServer::start(Config {
        replay_dir: dir.clone(),
        ..config()
    });
    for game in ["shooter", "tron"] {
        let spec = FleetSpec {
            game: game.into(),
            room: Some(format!("rec-{game}")),
            ..FleetSpec::simple(server.url(), 4, Duration::from_secs(2))
        };
        let report = run_fleet(spec).await;
        assert!(report.passed(), "{}", report.human());
    }
    // The rooms close when their last bot leaves; closing writes the rest of the replay.
    common::eventually("both rooms closed", || server.rooms().is_empty()).await;
    let files = replays_in(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    // Listed, newest first, with their game and room, no longer live.
    let (status, body) = server.http_get("/api/replays");
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).expect("json");
    let listed = listed["replays"].as_array().expect("a list").clone();
    let described: Vec<_> = listed
        .iter()
        .map(|r| (r["game"].as_str(), r["room"].as_str(), r["live"].as_bool()))
        .collect();
    assert_eq!(
        described,
        [
            (Some("tron"), Some("rec-tron"), Some(false)),
            (Some("shooter"), Some("rec-shooter"), Some(false)),
        ]
    );
    for replay in &listed {
        let id = replay["id"].as_str().expect("id");
        let file = dir.join(format!("{id}.replay"));
        assert_eq!(
            replay["bytes"].as_u64(),
            std::fs::metadata(&file).ok().map(|m| m.len())
        );
    }
    let shutdown = server.shutdown();
    assert_eq!(shutdown, Ok(()));
    for file in &files {
        let bytes = std::fs::read(file).expect("read replay");
        let (game, verified) = arena_server::games::verify_replay(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            name.ends_with(&format!("rec-{game}.replay")),
            "{name} is {game}'s"
        );
        // Two seconds at 30 Hz, a hash a second.
        assert!(
            verified.ticks >= 30 && verified.hashes >= 1,
            "{name}: {verified:?}"
        );
    }

    // The command: exit 0 on a good replay, 1 on a doctored one.
    let out = Process::new(env!("CARGO_BIN_EXE_arena-server"))
        .arg("replay")
        .arg(&files[0])
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("ticks verified"),
        "{said}"
    );
    // The state after a tick, as JSON.
    let out = Process::new(env!("CARGO_BIN_EXE_arena-server"))
        .args(["replay", "--at", "30"])
        .arg(&files[0])
        .output()
        .expect("run");
    let state: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(state["tick"], 30);
    assert_eq!(state["room"], "rec-shooter");
    let players = state["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter(|e| e["kind"].get("Player").is_some())
        .count();
    assert_eq!(players, 4, "{state}");

    // A recorded hash that is not the state's, and a file cut short, do not verify; the
    // mismatch names the entities that drifted, here none (only the hash was changed).
    let whole = std::fs::read(&files[0]).expect("read");
    assert_eq!(replay::game_of(&whole).as_deref(), Ok("shooter"));
    let (header, records) = replay::open::<World>(&whole).expect("opens");
    let mut wrong_hash = Vec::new();
    replay::write_frame(&header, &mut wrong_hash).expect("encodes");
    let mut records: Vec<_> = records.map(|r| r.expect("reads")).collect();
    if let Some(Record::Hash { hash, .. }) = records.last_mut() {
        *hash ^= 0x55;
    }
    for record in &records {
        replay::write_frame(record, &mut wrong_hash).expect("encodes");
    }
    let cut = whole[..whole.len() - 5].to_vec();
    for (name, bytes, says) in [
        ("wrong-hash.replay", wrong_hash, "hidden state differs"),
        ("cut.replay", cut, "cut short or damaged"),
    ] {
        let bad = dir.join(name);
        std::fs::write(&bad, &bytes).expect("write");
        let out = Process::new(env!("CARGO_BIN_EXE_arena-server"))
            .arg("replay")
            .arg(&bad)
            .output()
            .expect("run");
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{name}: {said}");
        assert!(said.contains(says), "{name}: {said}");
    }
}

#[tokio::test]
async fn an_open_room_is_listed_live_and_a_server_without_replays_lists_none() {
    let dir = replay_dir("live");
    let server = TestServer::start(Config {
        replay_dir: dir.clone(),
        ..config()
    });
    let (_player, _welcome) = server.player("ann", Some("open")).await;
    common::eventually("the replay file exists", || !replays_in(&dir).is_empty()).await;
    let (status, body) = server.http_get("/api/replays");
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(listed["replays"][0]["room"], "open", "{body}");
    assert_eq!(listed["replays"][0]["live"], true, "{body}");

    let plain = TestServer::start(config());
    assert_eq!(
        plain.http_get("/api/replays"),
        (200, r#"{"replays":[]}"#.to_owned())
    );
}

#[tokio::test]
async fn a_room_that_panics_leaves_a_replay_that_panics_at_the_same_tick() {
    let dir = replay_dir("panic");
    let server = TestServer::start(Config {
        replay_dir: dir.clone(),
        fault_injection: true,
        ..config()
    });
    let (mut doomed, _) = server.player("a", Some("doomed")).await;
    // Some ticks of play first, so the replay has something before the fault.
    doomed
        .wait_for(common::WAIT, |m| match m {
            arena_shared::shooter::ServerMsg::Snapshot(s) if s.tick > 40 => Some(()),
            _ => None,
        })
        .await
        .expect("snapshots");
    doomed
        .send(&arena_shared::shooter::ClientMsg::Chat {
            text: arena_server::room::PANIC_COMMAND.into(),
        })
        .await
        .expect("send");
    let frame = doomed.wait_for_close(common::WAIT).await.expect("closed");
    assert_eq!(frame.map(|f| u16::from(f.code)), Some(1011));
    common::eventually("the failed room is gone", || server.rooms().is_empty()).await;
    assert_eq!(server.shutdown(), Ok(()));

    let files = replays_in(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let out = Process::new(env!("CARGO_BIN_EXE_arena-server"))
        .arg("replay")
        .arg(&files[0])
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "the game panicked again: fault injection: the room was asked to panic at tick"
        ),
        "{said}"
    );
    // The same tick as the room: the replay re-simulated every tick before it.
    let bytes = std::fs::read(&files[0]).expect("read");
    let panicked = std::panic::catch_unwind(|| arena_server::games::verify_replay(&bytes));
    assert!(panicked.is_err(), "replaying reproduces the panic");
}

/// A replay of a finished 4-bot shooter room named `room`, recorded in `dir`; its id.
async fn recorded(server: &TestServer, dir: &std::path::Path, room: &str) -> String {
    let spec = FleetSpec {
        room: Some(room.into()),
        ..FleetSpec::simple(server.url(), 4, Duration::from_secs(2))
    };
    let report = run_fleet(spec).await;
    assert!(report.passed(), "{}", report.human());
    common::eventually("the room closed", || server.rooms().is_empty()).await;
    let file = replays_in(dir)
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with(&format!("-{room}.replay")))
        .expect("recorded");
    file.file_stem()
        .and_then(|s| s.to_str())
        .expect("a stem")
        .to_owned()
}

/// The next snapshot applied to `replica`: its tick and the view.
async fn next_view(conn: &mut Connection, replica: &mut Replica<Entity>) -> (u64, Vec<Entity>) {
    conn.wait_for(common::WAIT, |m| match m {
        ServerMsg::Snapshot(s) => Some(s.clone()),
        _ => None,
    })
    .await
    .map(|s| {
        let view = replica.apply(&s).expect("applies").to_vec();
        (s.tick, view)
    })
    .expect("a snapshot")
}

#[tokio::test]
async fn a_replay_is_watched_as_a_spectator_stream_and_steered() {
    let dir = replay_dir("watch");
    let server = TestServer::start(Config {
        replay_dir: dir.clone(),
        ..config()
    });
    let id = recorded(&server, &dir, "watched").await;
    let bytes = std::fs::read(dir.join(format!("{id}.replay"))).expect("read");
    // What a player's seek bar needs.
    let (status, body) = server.http_get(&format!("/api/replays/{id}"));
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).expect("json");
    let recorded_ticks = replay::load::<World>(&bytes).expect("loads").ticks.len();
    assert_eq!(
        (
            &info["game"],
            &info["room"],
            &info["tick_rate"],
            info["ticks"].as_u64()
        ),
        (
            &serde_json::json!("shooter"),
            &serde_json::json!("watched"),
            &serde_json::json!(30),
            Some(recorded_ticks as u64)
        )
    );
    assert!(recorded_ticks >= 30, "seconds of play: {recorded_ticks}");
    assert_eq!(server.http_get("/api/replays/1-2-nothing").0, 404);

    let mut viewer = Connection::connect(&format!("{}/shooter?replay={id}", server.url()))
        .await
        .expect("upgrade");
    let room = viewer
        .wait_for(common::WAIT, |m| match m {
            ServerMsg::Spectating { room, .. } => Some(room.clone()),
            _ => None,
        })
        .await
        .expect("Spectating");
    assert_eq!(room, format!("replay:{id}"));
    // What it shows is the recorded game, tick for tick.
    let mut replica = Replica::new();
    let (tick, view) = next_view(&mut viewer, &mut replica).await;
    assert_eq!(
        view,
        replay::state_at::<World>(&bytes, tick).expect("state")
    );
    let (next, _) = next_view(&mut viewer, &mut replica).await;
    assert_eq!(next, tick + 1, "30 snapshots a second of a 30 Hz room");

    // Seek back to tick 10 at four times the speed: the next snapshot is tick 10, as it was.
    let steer = |paused, speed_percent, seek| {
        ClientMsg::Playback(PlaybackControl {
            paused,
            speed_percent,
            seek,
        })
    };
    viewer
        .send(&steer(false, 400, Some(10)))
        .await
        .expect("send");
    let (tick, view) = loop {
        let (tick, view) = next_view(&mut viewer, &mut replica).await;
        if tick <= 10 {
            break (tick, view);
        }
    };
    assert_eq!(tick, 10);
    assert_eq!(view, replay::state_at::<World>(&bytes, 10).expect("state"));
    // Paused, it holds: a ping's answer comes back, and no snapshot came before it.
    viewer.send(&steer(true, 100, None)).await.expect("send");
    let mut pings = 0;
    let paused_at = loop {
        pings += 1;
        assert!(pings <= 50, "snapshots kept coming after the pause");
        viewer
            .send(&ClientMsg::Ping { client_time: 7 })
            .await
            .expect("ping");
        let mut last = None;
        viewer
            .wait_for(common::WAIT, |m| match m {
                ServerMsg::Snapshot(s) => {
                    last = Some(s.tick);
                    None
                }
                ServerMsg::Pong { client_time: 7, .. } => Some(()),
                _ => None,
            })
            .await
            .expect("pong");
        // The steer reached the playback before this ping reached the session's answer.
        if last.is_none() {
            break replica.ack();
        }
    };
    viewer.send(&steer(false, 100, None)).await.expect("send");
    let (tick, _) = next_view(&mut viewer, &mut replica).await;
    assert_eq!(tick, paused_at + 1, "play resumes where it paused");

    // Out of range: refused with the reason.
    viewer.send(&steer(false, 1000, None)).await.expect("send");
    let frame = viewer.wait_for_close(common::WAIT).await.expect("closed");
    assert_eq!(common::close_code(&frame), Some(1008));
    assert!(
        frame.is_some_and(|f| f.reason.contains("speed_percent 1000")),
        "names the field"
    );
}

#[tokio::test]
async fn a_replay_is_refused_clearly_where_it_cannot_be_watched() {
    let dir = replay_dir("refused");
    let server = TestServer::start(Config {
        replay_dir: dir.clone(),
        ..config()
    });
    let id = recorded(&server, &dir, "shown").await;
    let refused = |path: String| common::upgrade_status_path(server.addr, &path, "");
    assert_eq!(refused("/ws/shooter?replay=1-2-nothing".into()).0, 404);
    assert_eq!(refused("/ws/shooter?replay=../../etc/passwd".into()).0, 404);
    assert_eq!(refused(format!("/ws/tron?replay={id}")).0, 400);
    let plain = TestServer::start(config());
    assert_eq!(
        common::upgrade_status_path(plain.addr, &format!("/ws/shooter?replay={id}"), "").0,
        404
    );

    // A live room's spectator cannot steer it.
    let (_player, _) = server.player("ann", Some("live")).await;
    let mut spectator = Connection::connect(&format!("{}/shooter?spectate=live", server.url()))
        .await
        .expect("upgrade");
    spectator
        .send(&ClientMsg::Playback(PlaybackControl {
            paused: true,
            speed_percent: 100,
            seek: None,
        }))
        .await
        .expect("send");
    let frame = spectator
        .wait_for_close(common::WAIT)
        .await
        .expect("closed");
    assert_eq!(common::close_code(&frame), Some(1008), "{frame:?}");
}
