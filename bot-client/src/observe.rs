//! Observer bots: watch a room without playing, by WebSocket push (a spectator session) or by
//! polling `GET /api/rooms/{name}/state` over keep-alive HTTP/1.1, and measure what each costs
//! on the wire and how late they learn of each update (`arena-bot --observers N --transport
//! ws|poll`).
//!
//! Bytes are counted on the TCP stream itself, so they include the HTTP upgrade or request and
//! response heads, and WebSocket frame headers (TCP/IP headers are not counted). Update latency
//! is, for every tick the room produced, the time from when that tick was due (the room's
//! `origin_unix_ms` plus tick periods) to the observer first holding a state at least that new:
//! a poller that skips ticks learns of them late, through a newer state, and that counts. The
//! bots and the server share this machine's clock.
//!
//! A WebSocket observer watches on the endpoint of the game the bots play
//! (`/ws/GAME?spectate=ROOM`) and decodes that game's messages; a poller reads the state
//! document, which is the same for every game.
//!
//! On a server with `auth = "ticket"`, observers given a [`Minter`] carry a spectator ticket:
//! WebSocket spectators in the upgrade's query (`/ws/GAME?spectate=ROOM&ticket=...`), pollers as
//! `Authorization: Bearer ...` on every request (one ticket, reused, renewed halfway through
//! its life).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use arena_shared::encoding::Encoding;
use arena_shared::game::Game;
use arena_shared::protocol::{SERVER_DECODE_LIMIT, ServerMsg};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::bot::latency_histogram;
use crate::connection::{ServerMsgOf, authority, describe_status, describe_ws_error, http_reason};
use crate::ticket::{Minter, SpectatorPass};

/// How observers watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// A spectator WebSocket on `arena.bincode.v1`: the server pushes every snapshot.
    Ws,
    /// The same on `arena.json.v1`, as a browser spectates.
    #[value(name = "ws-json")]
    #[serde(rename = "ws-json")]
    WsJson,
    /// HTTP polling of the state endpoint with `If-None-Match`.
    Poll,
}

/// Largest HTTP response an observer accepts.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Bytes that crossed one TCP connection, each way.
#[derive(Debug, Default)]
struct Tally {
    sent: AtomicU64,
    received: AtomicU64,
}

/// A TCP stream that counts the bytes through it.
struct Counted {
    inner: TcpStream,
    tally: Arc<Tally>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        self.tally.received.fetch_add(n, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &polled {
            self.tally.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What one observer saw.
#[derive(Debug)]
pub struct ObserverOutcome {
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// HTTP requests made (poll) or WebSocket messages received (ws).
    pub requests_or_messages: u64,
    /// Poll: responses that carried a new state (200); ws: snapshots.
    pub updates: u64,
    /// Poll: 304 answers.
    pub not_modified: u64,
    /// Bytes written to the TCP connection(s).
    pub bytes_sent: u64,
    /// Bytes read from them.
    pub bytes_received: u64,
    /// For every tick produced while observing, from its due time to the observer holding a
    /// state at least that new, µs.
    pub update_latency_us: Histogram<u64>,
    /// Time spent observing.
    pub observed: Duration,
}

/// Watches `room` of game `G` until `end_at`, with spectator tickets from `tickets` when
/// given. `url` is the game's WebSocket endpoint (`ws://host:port/ws/GAME`, what the bots
/// play on); pollers ask its `host:port`.
pub async fn run_observer<G: Game>(
    transport: Transport,
    url: String,
    room: String,
    poll_interval: Duration,
    start_at: Instant,
    end_at: Instant,
    tickets: Option<Minter>,
) -> ObserverOutcome {
    tokio::time::sleep_until(start_at).await;
    let mut out = ObserverOutcome {
        failure: None,
        requests_or_messages: 0,
        updates: 0,
        not_modified: 0,
        bytes_sent: 0,
        bytes_received: 0,
        update_latency_us: latency_histogram(),
        observed: Duration::ZERO,
    };
    let Some(base) = authority(&url).map(str::to_owned) else {
        out.failure = Some(format!("not a ws:// URL: {url}"));
        return out;
    };
    let mut pass = tickets.clone().map(|m| SpectatorPass::new(m, &room));
    if let Err(e) = wait_for_room(&base, &room, &mut pass).await {
        out.failure = Some(e);
        return out;
    }
    let tally = Arc::new(Tally::default());
    let began = Instant::now();
    // A WebSocket spectator's ticket is presented once, at the upgrade: minted just before it.
    let result = match transport {
        Transport::Ws | Transport::WsJson => {
            let encoding = match transport {
                Transport::WsJson => Encoding::Json,
                _ => Encoding::Bincode,
            };
            let ticket = tickets.as_ref().map(|m| m.spectator(&room));
            let to = spectate_url(&url, &room, ticket.as_deref());
            watch::<G>(&base, &to, encoding, &tally, end_at, &mut out).await
        }
        Transport::Poll => {
            poll(
                &base,
                &room,
                &mut pass,
                poll_interval,
                end_at,
                &tally,
                &mut out,
            )
            .await
        }
    };
    out.observed = began.elapsed();
    out.failure = result.err();
    out.bytes_sent = tally.sent.load(Ordering::Relaxed);
    out.bytes_received = tally.received.load(Ordering::Relaxed);
    out
}

/// The `Authorization` header line of a state request: the pass's ticket, or none.
fn bearer(pass: &mut Option<SpectatorPass>) -> String {
    pass.as_mut().map_or(String::new(), |p| {
        format!(
            "Authorization: Bearer {}\r\n",
            p.ticket(arena_shared::ticket::unix_now())
        )
    })
}

/// Waits until the room exists and has ticked (its players may still be joining when the
/// observers start); this traffic is not counted. Any other refusal (a ticket refused, too
/// many connections) ends the wait at once, with the server's reason.
async fn wait_for_room(
    base: &str,
    room: &str,
    pass: &mut Option<SpectatorPass>,
) -> Result<(), String> {
    const LIMIT: Duration = Duration::from_secs(10);
    let deadline = Instant::now() + LIMIT;
    let tally = Arc::new(Tally::default());
    let mut buf = Vec::new();
    loop {
        let mut stream = connect(base, &tally).await?;
        let request = format!(
            "GET /api/rooms/{room}/state HTTP/1.1\r\nHost: {base}\r\n{}Connection: close\r\n\r\n",
            bearer(pass)
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let last = match read_response(&mut stream, &mut buf).await? {
            (200, _, _) => return Ok(()),
            // No such room yet, or it has not ticked yet.
            (status @ (404 | 503), _, body) => describe_status(status, Some(&http_reason(body))),
            (status, _, body) => return Err(refused_by_state_endpoint(status, body)),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "room {room} did not appear within {LIMIT:?} (last answer: {last})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The observer now holds the state of `tick`: records, for it and every tick since the last
/// state held (at most 10,000 of them), how long ago that tick was due.
fn record_updates(
    h: &mut Histogram<u64>,
    last: &mut Option<u64>,
    (origin_unix_ms, tick_rate): (u64, u16),
    tick: u64,
) {
    let now = unix_us();
    let from = last
        .map_or(tick, |l| l + 1)
        .max(tick.saturating_sub(10_000));
    for t in from..=tick {
        let due_us = origin_unix_ms * 1000 + t * 1_000_000 / u64::from(tick_rate.max(1));
        let _ = h.record(now.saturating_sub(due_us).clamp(1, 60_000_000));
    }
    *last = Some(last.map_or(tick, |l| l.max(tick)));
}

fn refused_by_state_endpoint(status: u16, body: &[u8]) -> String {
    format!(
        "state endpoint answered {}",
        describe_status(status, Some(&http_reason(body)))
    )
}

async fn connect(base: &str, tally: &Arc<Tally>) -> Result<Counted, String> {
    let inner = TcpStream::connect(base)
        .await
        .map_err(|e| format!("connect {base}: {e}"))?;
    let _ = inner.set_nodelay(true);
    Ok(Counted {
        inner,
        tally: tally.clone(),
    })
}

/// The spectator URL of `room` on the game endpoint `url`, with `ticket` when given.
pub fn spectate_url(url: &str, room: &str, ticket: Option<&str>) -> String {
    let join = if url.contains('?') { '&' } else { '?' };
    // Base64url and '.': a ticket needs no escaping in a query; nor does a room name, which
    // the server allows only in `[A-Za-z0-9_-]`.
    let ticket = ticket.map_or(String::new(), |t| format!("&ticket={t}"));
    format!("{url}{join}spectate={room}{ticket}")
}

/// Spectates at `url` (on the server at `base`, `host:port`) until `end_at`.
async fn watch<G: Game>(
    base: &str,
    url: &str,
    encoding: Encoding,
    tally: &Arc<Tally>,
    end_at: Instant,
    out: &mut ObserverOutcome,
) -> Result<(), String> {
    let stream = connect(base, tally).await?;
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("request: {e}"))?;
    if encoding == Encoding::Json {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("arena.json.v1"),
        );
    }
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .map_err(|e| format!("upgrade: {}", describe_ws_error(&e)))?;
    let mut clock: Option<(u64, u16)> = None;
    let mut last = None;
    loop {
        let next = tokio::select! {
            _ = tokio::time::sleep_until(end_at) => break,
            next = ws.next() => next,
        };
        let bytes = match next {
            Some(Ok(Message::Binary(b))) => b,
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec().into(),
            Some(Ok(Message::Close(f))) => return Err(format!("closed by the server: {f:?}")),
            None => return Err("connection ended".into()),
            Some(Err(e)) => return Err(format!("websocket: {e}")),
            Some(Ok(_)) => continue,
        };
        out.requests_or_messages += 1;
        let msg: Result<ServerMsgOf<G>, _> = encoding.decode_server(&bytes, SERVER_DECODE_LIMIT);
        match msg {
            Ok(ServerMsg::Spectating {
                origin_unix_ms,
                tick_rate,
                ..
            }) => clock = Some((origin_unix_ms, tick_rate)),
            Ok(ServerMsg::Snapshot(s)) => {
                out.updates += 1;
                if let Some(clock) = clock {
                    record_updates(&mut out.update_latency_us, &mut last, clock, s.tick);
                }
            }
            Ok(ServerMsg::Error { code, message }) => return Err(format!("{code:?}: {message}")),
            Ok(_) => {}
            Err(e) => return Err(format!("undecodable message: {e}")),
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

/// The fields of the state document an observer reads.
#[derive(Deserialize)]
struct StateHead {
    tick: u64,
    tick_rate: u16,
    origin_unix_ms: u64,
}

async fn poll(
    base: &str,
    room: &str,
    pass: &mut Option<SpectatorPass>,
    interval: Duration,
    end_at: Instant,
    tally: &Arc<Tally>,
    out: &mut ObserverOutcome,
) -> Result<(), String> {
    let mut stream = connect(base, tally).await?;
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut etag: Option<String> = None;
    let mut last = None;
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(end_at) => return Ok(()),
            _ = timer.tick() => {}
        }
        let conditional = etag
            .as_deref()
            .map_or(String::new(), |t| format!("If-None-Match: {t}\r\n"));
        let request = format!(
            "GET /api/rooms/{room}/state HTTP/1.1\r\nHost: {base}\r\n{}{conditional}\r\n",
            bearer(pass)
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        out.requests_or_messages += 1;
        let (status, tag, body) = read_response(&mut stream, &mut buf).await?;
        match status {
            304 => out.not_modified += 1,
            200 => {
                let head: StateHead =
                    serde_json::from_slice(body).map_err(|e| format!("state JSON: {e}"))?;
                out.updates += 1;
                record_updates(
                    &mut out.update_latency_us,
                    &mut last,
                    (head.origin_unix_ms, head.tick_rate),
                    head.tick,
                );
                etag = tag;
            }
            other => return Err(refused_by_state_endpoint(other, body)),
        }
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` body: (status, ETag, body).
async fn read_response<'b>(
    stream: &mut Counted,
    buf: &'b mut Vec<u8>,
) -> Result<(u16, Option<String>, &'b [u8]), String> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    let (status, etag, head_len, len) = loop {
        if let Some(head) = parse_head(buf)? {
            break head;
        }
        if buf.len() > MAX_RESPONSE {
            return Err("response head too long".into());
        }
        read_more(stream, buf, &mut chunk, "before a response").await?;
    };
    if len > MAX_RESPONSE {
        return Err(format!("response of {len} bytes is over the limit"));
    }
    while buf.len() < head_len + len {
        read_more(stream, buf, &mut chunk, "inside a response").await?;
    }
    Ok((status, etag, &buf[head_len..head_len + len]))
}

/// Appends what the next read brings to `buf`; the connection ending is an error `where`.
async fn read_more(
    stream: &mut Counted,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
    place: &str,
) -> Result<(), String> {
    let n = stream.read(chunk).await.map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err(format!("connection closed {place}"));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// A complete response head in `buf`: (status, ETag, head length, body length).
#[allow(clippy::type_complexity)]
fn parse_head(buf: &[u8]) -> Result<Option<(u16, Option<String>, usize, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("bad HTTP response: {e}")),
    };
    let header = |name: &str| {
        resp.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::to_owned)
    };
    let len = header("content-length")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(Some((
        resp.code.unwrap_or(0),
        header("etag"),
        head_len,
        len,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spectator_watches_on_the_games_endpoint() {
        assert_eq!(
            spectate_url("ws://h:1/ws/shooter", "duel", None),
            "ws://h:1/ws/shooter?spectate=duel"
        );
        assert_eq!(
            spectate_url("ws://h:1/ws/tron?x=1", "duel", Some("v2.a.b")),
            "ws://h:1/ws/tron?x=1&spectate=duel&ticket=v2.a.b"
        );
    }
}
