//! Where rooms' replays go: one writer thread per server appends each room's chunks to its file
//! in `replay_dir`, so no room ever waits on a disk. Bounded twice: a room's file stops growing
//! at `max_replay_bytes_per_room` (the room stops recording), and the directory's replays stay
//! under `max_replay_bytes` in all, oldest deleted first.

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use serde::Serialize;
use tracing::{info, warn};

/// Chunks waiting for the writer, across all rooms: about a second of a busy server's
/// recording. A room whose chunk does not fit stops recording rather than wait.
const QUEUE: usize = 1024;

/// Part of one room's replay.
#[derive(Debug)]
pub struct Chunk {
    /// The file's name in the replay directory (the room's id and name).
    pub file: String,
    /// Bytes to append.
    pub bytes: Vec<u8>,
}

/// The handle rooms send their chunks through.
#[derive(Clone, Debug)]
pub struct ReplayStore {
    sender: SyncSender<Chunk>,
    /// Most bytes one room's replay may have.
    pub per_room: u64,
}

/// Why a chunk was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The writer is behind: the room should stop recording.
    Busy,
    /// The writer is gone (the server is stopping).
    Closed,
}

impl ReplayStore {
    /// Starts the writer for `dir` (created if absent).
    pub fn start(dir: &Path, per_room: u64, total: u64) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        let (sender, receiver) = sync_channel(QUEUE);
        let dir = dir.to_owned();
        std::thread::Builder::new()
            .name("replay-writer".into())
            .spawn(move || write_all(&dir, total, receiver))?;
        Ok(Self { sender, per_room })
    }

    /// Hands a chunk to the writer without waiting.
    pub fn send(&self, chunk: Chunk) -> Result<(), Refused> {
        self.sender.try_send(chunk).map_err(|e| match e {
            TrySendError::Full(_) => Refused::Busy,
            TrySendError::Disconnected(_) => Refused::Closed,
        })
    }
}

/// The writer: appends chunks, keeps the directory under `total` bytes by deleting the oldest
/// replays it wrote (files already there when it started count too, oldest first).
fn write_all(dir: &Path, total: u64, chunks: Receiver<Chunk>) {
    let mut files = existing(dir);
    let mut used: u64 = files.iter().map(|(_, size)| size).sum();
    for chunk in chunks {
        let path = dir.join(&chunk.file);
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&chunk.bytes));
        if let Err(e) = written {
            warn!(file = %path.display(), error = %e, "cannot write replay");
            continue;
        }
        let len = chunk.bytes.len() as u64;
        used += len;
        match files.iter_mut().find(|(p, _)| *p == path) {
            Some((_, size)) => *size += len,
            None => files.push_back((path.clone(), len)),
        }
        while used > total && files.len() > 1 {
            let Some((oldest, size)) = files.pop_front() else {
                break;
            };
            if oldest == path {
                files.push_back((oldest, size));
                continue;
            }
            used = used.saturating_sub(size);
            match fs::remove_file(&oldest) {
                Ok(()) => {
                    info!(file = %oldest.display(), "replay removed: replay_dir over max_replay_bytes")
                }
                Err(e) => warn!(file = %oldest.display(), error = %e, "cannot remove old replay"),
            }
        }
    }
}

/// Replays already in `dir`, oldest first.
fn existing(dir: &Path) -> VecDeque<(PathBuf, u64)> {
    let mut found: Vec<(std::time::SystemTime, PathBuf, u64)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let is_replay = e.path().extension().is_some_and(|x| x == "replay");
            (meta.is_file() && is_replay).then(|| {
                let at = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                (at, e.path(), meta.len())
            })
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p, len)| (p, len)).collect()
}

/// How far past `max_replay_bytes_per_room` a replay file may grow: the chunk that crossed
/// the cap is written whole (a second of a room).
pub const MAX_OVERSHOOT: u64 = 1 << 20;

/// Replays `GET /api/replays` lists at most: the newest.
pub const MAX_LISTED: usize = 100;

/// Bytes of a replay's start read to learn its game: the header (format, protocol, game)
/// comes first, and a map's walls rarely make it longer.
const HEADER_PEEK: u64 = 64 * 1024;

/// Longest replay id accepted in a URL: a Unix time, a room id and a room name with dashes.
const MAX_ID_LEN: usize = 80;

/// One replay as `GET /api/replays` lists it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReplayInfo {
    /// The file's stem (`<unix time>-<room id>-<room>`): what `/?replay=ID` and
    /// `GET /api/replays/{id}` take.
    pub id: String,
    /// The game, from the header; `None` when the header cannot be read.
    pub game: Option<String>,
    /// The room's name.
    pub room: String,
    /// The room's id in the process that recorded it.
    pub room_id: u64,
    /// When the room opened (and the file was started), seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// The file's size.
    pub bytes: u64,
    /// When it was last written, seconds since the Unix epoch.
    pub modified_unix_s: u64,
    /// The room is still open here and recording.
    pub live: bool,
}

/// The newest `limit` replays in `dir`, newest first; `live` left false for the caller.
pub fn list(dir: &Path, limit: usize) -> Vec<ReplayInfo> {
    let mut found = existing(dir);
    found.make_contiguous().reverse();
    found
        .into_iter()
        .take(limit)
        .filter_map(|(path, bytes)| {
            let id = path.file_stem()?.to_str()?.to_owned();
            let (started_unix_s, room_id, room) = parse_id(&id)?;
            let modified_unix_s = fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            Some(ReplayInfo {
                game: peek_game(&path),
                room: room.to_owned(),
                room_id,
                started_unix_s,
                id,
                bytes,
                modified_unix_s,
                live: false,
            })
        })
        .collect()
}

/// `<unix time>-<room id>-<room>`: the time, the room's id and its name.
fn parse_id(id: &str) -> Option<(u64, u64, &str)> {
    let mut parts = id.splitn(3, '-');
    let unix = parts.next()?.parse().ok()?;
    let room_id = parts.next()?.parse().ok()?;
    let room = parts.next().filter(|r| !r.is_empty())?;
    Some((unix, room_id, room))
}

/// The game named in a replay's header.
fn peek_game(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(HEADER_PEEK)
        .read_to_end(&mut head)
        .ok()?;
    arena_shared::replay::game_of(&head).ok()
}

/// The file of replay `id` in `dir`, if `id` is a well-formed replay id and the file exists.
/// Ids come from URLs: only the characters the server writes (digits, letters, `-`, `_`) are
/// accepted, so no id reaches outside `dir`.
pub fn path_of(dir: &Path, id: &str) -> Option<PathBuf> {
    let well_formed = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && parse_id(id).is_some();
    let path = dir.join(format!("{id}.replay"));
    (well_formed && !dir.as_os_str().is_empty() && path.is_file()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_parsed_and_only_well_formed_ones_name_a_file() {
        assert_eq!(parse_id("1733520000-3-lc"), Some((1_733_520_000, 3, "lc")));
        assert_eq!(
            parse_id("1733520000-3-my-room"),
            Some((1_733_520_000, 3, "my-room"))
        );
        assert_eq!(parse_id("x-3-lc"), None);
        assert_eq!(parse_id("1-2-"), None);
        let dir = std::env::temp_dir().join(format!("arena-replay-ids-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        fs::write(dir.join("1-2-ok.replay"), b"x").expect("write");
        assert_eq!(path_of(&dir, "1-2-ok"), Some(dir.join("1-2-ok.replay")));
        for bad in [
            "1-2-missing",
            "../1-2-ok",
            "1-2-ok/..",
            "1-2-o k",
            "",
            "1-2-ok.replay",
        ] {
            assert_eq!(path_of(&dir, bad), None, "{bad:?}");
        }
        assert_eq!(path_of(Path::new(""), "1-2-ok"), None);
        let _ = fs::remove_dir_all(&dir);
    }
}
