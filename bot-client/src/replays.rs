//! The server's replays of the rooms a failing run names ([`crate::report::RoomInvolved`]):
//! `GET /api/replays` on the bots' host and port, asked once at the end of a failing run, and
//! matched to each room by name and game.
//!
//! Optional by design, as the `/metrics` scrape is: a server that does not answer, predates the
//! endpoint (404) or records nothing leaves the rooms without replays, and the report says why
//! in one line. The run's verdict never depends on it, and the look-up is bounded in time.

use std::time::Duration;

use serde::Deserialize;

use crate::report::RoomInvolved;
use crate::scrape::{get, ok_body, split_http_url};

/// How long the look-up may take in all: a failing run's report should not wait on a server
/// that is in trouble anyway.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// Replay ids listed per room: a quick-play name reused all day would otherwise list them all.
pub const MAX_REPLAYS_PER_ROOM: usize = 5;

/// Longest replay id taken from the server. Ids are printed into a command line to copy, so
/// only what the server writes (letters, digits, `-`, `_`) is taken at all.
const MAX_ID_LEN: usize = 200;

/// The endpoint's path, on the WebSocket's host and port.
pub const REPLAYS_PATH: &str = "/api/replays";

/// What `GET /api/replays` answers: the newest replays, newest first.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ReplayList {
    /// The replays, newest first.
    pub replays: Vec<ReplayEntry>,
}

/// One replay file in the server's `replay_dir`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ReplayEntry {
    /// The file's stem: the file is `<replay_dir>/<id>.replay`.
    pub id: String,
    /// The game recorded; `None` when the server could not read the file's header.
    pub game: Option<String>,
    /// The room's name.
    pub room: String,
    /// The file's size.
    pub bytes: u64,
    /// When it was last written, seconds since the Unix epoch.
    pub modified_unix_s: u64,
    /// Its room is still open and recording.
    pub live: bool,
}

/// `http://host:port/api/replays` for the server a `ws://host:port/...` URL points at.
pub fn replays_url_for(ws_url: &str) -> Option<String> {
    crate::connection::authority(ws_url).map(|a| format!("http://{a}{REPLAYS_PATH}"))
}

/// An id the server would write, safe to print in a command.
fn well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Gives each room the ids of the replays in `list` of a room of its name and of `game` (an
/// entry whose game the server could not read counts), newest first, at most
/// [`MAX_REPLAYS_PER_ROOM`]. Returns how many rooms got at least one, and how many ids were
/// skipped as malformed.
pub fn attach(list: &ReplayList, game: &str, rooms: &mut [RoomInvolved]) -> (usize, usize) {
    let mut newest_first: Vec<&ReplayEntry> = list.replays.iter().collect();
    // Stable, so entries of the same second keep the server's order.
    newest_first.sort_by_key(|e| std::cmp::Reverse(e.modified_unix_s));
    let malformed = newest_first.iter().filter(|e| !well_formed(&e.id)).count();
    let mut found = 0;
    for room in rooms.iter_mut() {
        room.replays = newest_first
            .iter()
            .filter(|e| e.room == room.room && well_formed(&e.id))
            .filter(|e| e.game.as_deref().is_none_or(|g| g == game))
            .take(MAX_REPLAYS_PER_ROOM)
            .map(|e| e.id.clone())
            .collect();
        found += usize::from(!room.replays.is_empty());
    }
    (found, malformed)
}

/// Asks `url` (`http://host:port/api/replays`) for its list, giving up after `within`.
pub async fn fetch_list(url: &str, within: Duration) -> Result<ReplayList, String> {
    let (authority, path) = split_http_url(url)?;
    let answer = tokio::time::timeout(within, get(&authority, &path, "application/json"))
        .await
        .map_err(|_| format!("no answer within {within:?}"))??;
    let body = match answer {
        (404, _) => return Err("HTTP 404 Not Found: a server older than the endpoint".into()),
        (status, body) => ok_body(status, body)?,
    };
    serde_json::from_slice(&body).map_err(|e| format!("not a replay list: {e}"))
}

/// Looks up the replays of `rooms` (of `game`) on the server the bots played on (`ws_url`),
/// attaching what it finds to each room; returns what it found, or why nothing, as one line.
pub async fn look_up(ws_url: &str, game: &str, rooms: &mut [RoomInvolved]) -> String {
    // Whatever the rooms held is not what this server says now.
    for room in rooms.iter_mut() {
        room.replays.clear();
    }
    let Some(url) = replays_url_for(ws_url) else {
        return format!("not looked up: no http:// address for {ws_url}");
    };
    let list = match fetch_list(&url, LOOKUP_TIMEOUT).await {
        Ok(list) => list,
        Err(e) => return format!("none: GET {url}: {e}"),
    };
    if list.replays.is_empty() {
        return format!(
            "none: {url} lists no replays (the server records them only with replay_dir set)"
        );
    }
    let (found, malformed) = attach(&list, game, rooms);
    let skipped = match malformed {
        0 => String::new(),
        n => format!("; {n} malformed ids skipped"),
    };
    format!(
        "found for {found} of {} rooms among the {} newest at {url}{skipped}",
        rooms.len(),
        list.replays.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn room(name: &str) -> RoomInvolved {
        RoomInvolved {
            room: name.into(),
            bots: 1,
            why: "fleet-wide".into(),
            replays: vec!["stale".into()],
        }
    }

    const LIST: &str = r#"{"replays": [
        {"id": "1733520300-9-lc", "game": "shooter", "room": "lc", "bytes": 10, "modified_unix_s": 1733520400, "live": true},
        {"id": "1733520200-7-other", "game": "shooter", "room": "other", "bytes": 10, "modified_unix_s": 1733520300, "live": false},
        {"id": "1733520000-3-lc", "game": "shooter", "room": "lc", "bytes": 12345, "modified_unix_s": 1733520100, "live": false},
        {"id": "1733520100-5-lc", "game": "tron", "room": "lc", "bytes": 10, "modified_unix_s": 1733520200, "live": false},
        {"id": "1733510000-1-lc", "game": null, "room": "lc", "bytes": 10, "modified_unix_s": 1733510100, "live": false},
        {"id": "1733520500-2-lc; rm -rf", "game": "shooter", "room": "lc", "modified_unix_s": 1733520500},
        {"id": "1733500000-4-lcx", "game": "shooter", "room": "lcx", "bytes": 10, "modified_unix_s": 1733500100, "extra": 1}
    ]}"#;

    #[test]
    fn replays_are_matched_by_room_and_game_newest_first() {
        let list: ReplayList = serde_json::from_str(LIST).expect("the contract's JSON");
        let mut rooms = [room("lc"), room("gone"), room("other")];
        let (found, malformed) = attach(&list, "shooter", &mut rooms);
        assert_eq!((found, malformed), (2, 1));
        // Tron's room of the same name is not this run's; an unreadable header might be.
        assert_eq!(
            rooms[0].replays,
            ["1733520300-9-lc", "1733520000-3-lc", "1733510000-1-lc"]
        );
        assert!(
            rooms[1].replays.is_empty(),
            "no replay: the stale list goes"
        );
        assert_eq!(rooms[2].replays, ["1733520200-7-other"]);

        let many = ReplayList {
            replays: (0..MAX_REPLAYS_PER_ROOM as u64 + 3)
                .map(|i| ReplayEntry {
                    id: format!("{i}-1-lc"),
                    room: "lc".into(),
                    modified_unix_s: i,
                    ..ReplayEntry::default()
                })
                .collect(),
        };
        let mut rooms = [room("lc")];
        attach(&many, "shooter", &mut rooms);
        assert_eq!(rooms[0].replays.len(), MAX_REPLAYS_PER_ROOM);
        assert_eq!(
            rooms[0].replays[0],
            format!("{}-1-lc", MAX_REPLAYS_PER_ROOM + 2)
        );
    }

    #[test]
    fn the_url_is_the_websockets_host_and_port() {
        assert_eq!(
            replays_url_for("ws://127.0.0.1:8080/ws/shooter").as_deref(),
            Some("http://127.0.0.1:8080/api/replays")
        );
        assert_eq!(replays_url_for("wss://host/ws"), None);
    }

    /// A server on 127.0.0.1 that answers every request with `answer` (or never, if `None`).
    async fn stand_in(answer: Option<&'static str>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                match answer {
                    Some(a) => {
                        let _ = s.write_all(a.as_bytes()).await;
                    }
                    None => held.push(s),
                }
            }
        });
        format!("ws://{addr}/ws/shooter")
    }

    #[tokio::test]
    async fn a_server_without_replays_leaves_them_empty_and_says_why() {
        let old = stand_in(Some(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ))
        .await;
        let none = stand_in(Some(
            "HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{\"replays\":[]}",
        ))
        .await;
        let garbled = stand_in(Some(
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope",
        ))
        .await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let closed = format!("ws://{}/ws", listener.local_addr().expect("addr"));
        drop(listener);
        for (url, says) in [
            (old, "older than the endpoint"),
            (none, "records them only with replay_dir set"),
            (garbled, "not a replay list"),
            (closed, "connect"),
        ] {
            let mut rooms = [room("lc")];
            let note = look_up(&url, "shooter", &mut rooms).await;
            assert!(note.contains(says), "{url}: {note}");
            assert!(rooms[0].replays.is_empty(), "{url}");
        }
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_given_up_on() {
        let silent = stand_in(None).await;
        let url = replays_url_for(&silent).expect("ws://");
        let started = std::time::Instant::now();
        let err = fetch_list(&url, Duration::from_millis(200)).await;
        assert!(err.is_err_and(|e| e.contains("no answer within 200ms")));
        assert!(started.elapsed() < LOOKUP_TIMEOUT, "gave up in time");
    }
}
