//! Where rooms' replays go: one writer thread per server appends each room's chunks to its file
//! in `replay_dir`, so no room ever waits on a disk. Bounded twice: a room's file stops growing
//! at `max_replay_bytes_per_room` (the room stops recording), and the directory's replays stay
//! under `max_replay_bytes` in all, oldest deleted first.

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

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
