//! Matchmaking (`--matchmaker`): a bot asks `POST /api/matchmake` where to play, then connects
//! where it is sent with the ticket it got, as a game client of a fleet would.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::scrape::{http_answer, split_http_url};

/// How long one matchmake call may take, answer included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read, bytes: a URL, a ticket and three names.
const MAX_ANSWER: usize = 16 * 1024;

/// Where to play, as the matchmaker answered.
#[derive(Clone, Debug, Deserialize)]
pub struct Seat {
    /// The WebSocket URL to connect to.
    pub url: String,
    /// The ticket for `Hello`.
    pub ticket: String,
    /// The room the seat is in.
    pub room: String,
    /// The server's fleet id.
    pub server: String,
}

#[derive(Serialize)]
struct Ask<'a> {
    name: &'a str,
    room: Option<&'a str>,
    game: &'a str,
}

/// One `POST /api/matchmake` at `base` (`http://host:port`): the seat, or the server's reason
/// (with its status) and whether asking again later may help (429, 503, no answer).
pub async fn ask(
    base: &str,
    name: &str,
    room: Option<&str>,
    game: &str,
) -> Result<Seat, (String, bool)> {
    let url = format!("{}/api/matchmake", base.trim_end_matches('/'));
    let (authority, path) = split_http_url(&url).map_err(|e| (e, false))?;
    let body = serde_json::to_string(&Ask { name, room, game }).unwrap_or_default();
    let call = async {
        let mut stream = TcpStream::connect(&authority)
            .await
            .map_err(|e| format!("matchmaker {authority}: {e}"))?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("matchmaker {authority}: {e}"))?;
        let mut raw = Vec::new();
        (&mut stream)
            .take(MAX_ANSWER as u64 + 1)
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("matchmaker {authority}: {e}"))?;
        if raw.len() > MAX_ANSWER {
            return Err(format!(
                "matchmaker {authority}: answer over {MAX_ANSWER} bytes"
            ));
        }
        http_answer(&raw)
    };
    let (status, answer) = tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| {
            (
                format!("matchmaker {authority}: no answer in {CALL_TIMEOUT:?}"),
                true,
            )
        })?
        .map_err(|e| (e, true))?;
    if status == 200 {
        return serde_json::from_slice(&answer)
            .map_err(|e| (format!("matchmaker {authority}: bad answer: {e}"), false));
    }
    let reason: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    let reason = reason["error"].as_str().map_or_else(
        || String::from_utf8_lossy(&answer).into_owned(),
        str::to_owned,
    );
    Err((
        format!("matchmaker {authority}: HTTP {status}: {reason}"),
        status == 429 || status == 503,
    ))
}

/// A seat from any of `matchmakers`, starting with the `first`th (so bots spread over them)
/// and moving on when one does not answer or has no seat now, until `until`. Pauses between
/// rounds (429 asks for a second).
pub async fn seat(
    matchmakers: &[String],
    first: usize,
    name: &str,
    room: Option<&str>,
    game: &str,
    until: Instant,
) -> Result<Seat, String> {
    let mut last = "no matchmaker given".to_owned();
    if matchmakers.is_empty() {
        return Err(last);
    }
    let mut turn = first;
    loop {
        let base = &matchmakers[turn % matchmakers.len()];
        match ask(base, name, room, game).await {
            Ok(seat) => return Ok(seat),
            Err((why, again)) => {
                last = why;
                if !again {
                    return Err(last);
                }
            }
        }
        turn += 1;
        if Instant::now() + Duration::from_secs(1) >= until {
            return Err(last);
        }
        if turn % matchmakers.len() == first % matchmakers.len() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
