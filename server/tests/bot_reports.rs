//! A failing bot run names the rooms it played in and their replays on the real server, by the
//! path `arena-bot` takes at the end of a run (`run_fleet`, then `judge`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use arena_bot::fleet::{FleetSpec, judge, run_fleet};
use arena_bot::report::{REPLAY_COMMAND, Thresholds};
use arena_server::Config;
use common::{TestServer, config};

fn replay_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arena-bot-reports-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The stems of the replay files in `dir`.
fn replay_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.path().file_stem()?.to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// No server sends a thousand snapshots a second: a threshold no bot in particular breaks.
fn impossible() -> Thresholds {
    Thresholds {
        min_snapshot_rate: Some(1000.0),
        ..Thresholds::default()
    }
}

#[tokio::test]
async fn a_failed_threshold_names_the_fleets_room_and_its_replay() {
    let dir = replay_dir("named");
    let server = TestServer::start(Config {
        replay_dir: dir.clone(),
        ..config()
    });
    // Quick-play: the room's name is the server's choice, known to the bots from Welcome.
    let mut report = run_fleet(FleetSpec::simple(server.url(), 3, Duration::from_secs(2))).await;
    let verdict = judge(&mut report, &impossible()).await;
    let human = report.human();
    assert!(
        verdict.as_ref().is_err_and(|e| e.contains("snapshot rate")),
        "{human}"
    );
    assert_eq!(Err(report.result.clone()), verdict);

    // A fresh server and directory: the fleet's room is the one replay there.
    let ids = replay_ids(&dir);
    let [id] = ids.as_slice() else {
        panic!("one replay in {}: {ids:?}", dir.display());
    };
    let room = id.splitn(3, '-').nth(2).expect("<unix>-<room id>-<room>");
    assert_eq!(report.rooms_involved.len(), 1, "{human}");
    let named = &report.rooms_involved[0];
    assert_eq!(
        (named.room.as_str(), named.bots, named.why.as_str()),
        (room, 3, "fleet-wide"),
        "{human}"
    );
    assert_eq!(named.replays, std::slice::from_ref(id), "{human}");
    assert!(
        human.contains(&format!(
            "room involved: {room} (3 bots: fleet-wide) replays: {id}"
        )) && human.contains(REPLAY_COMMAND),
        "{human}"
    );

    // The replay named is the one to re-simulate: once the room has closed, it verifies.
    common::eventually("the room closed", || server.rooms().is_empty()).await;
    let bytes = std::fs::read(dir.join(format!("{id}.replay"))).expect("the named replay");
    let (game, verified) = arena_server::games::verify_replay(&bytes).expect("verifies");
    assert_eq!(game, report.settings.game);
    assert!(verified.ticks >= 30, "{verified:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_server_that_records_nothing_leaves_the_room_without_replays_and_says_so() {
    let server = TestServer::start(config());
    let spec = FleetSpec {
        room: Some("unrecorded".into()),
        ..FleetSpec::simple(server.url(), 2, Duration::from_secs(1))
    };
    let mut report = run_fleet(spec).await;
    assert!(judge(&mut report, &impossible()).await.is_err());
    let human = report.human();
    assert_eq!(report.rooms_involved.len(), 1, "{human}");
    assert_eq!(report.rooms_involved[0].room, "unrecorded");
    assert!(report.rooms_involved[0].replays.is_empty(), "{human}");
    assert!(
        report
            .replay_lookup
            .as_deref()
            .is_some_and(|l| l.contains("lists no replays")),
        "{human}"
    );
}
