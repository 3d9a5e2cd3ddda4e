//! One client connection: WebSocket over TCP, one bincode message per binary frame, speaking
//! one game's messages (the `G` of [`Connection`]; the shooter unless named).

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use arena_shared::game::Game;
use arena_shared::protocol::{self, ClientMsg, ErrorCode, SERVER_DECODE_LIMIT, ServerMsg};
use arena_shared::{EntityId, PROTOCOL_VERSION, RoomOptions};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TCP connect or WebSocket handshake failed. A refusal at the HTTP level (429, 503, ...)
    /// is shown with the server's reason, the response body.
    #[error("connect: {}", describe_ws_error(.0))]
    Connect(tokio_tungstenite::tungstenite::Error),
    /// The connection failed after the handshake.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server sent bytes that are not a message.
    #[error("undecodable server message: {0}")]
    Decode(#[from] protocol::DecodeError),
    /// A message could not be encoded (a bug).
    #[error("encode: {0}")]
    Encode(#[from] protocol::EncodeError),
    /// The server sent a text frame, which the binary protocol never does.
    #[error("server sent a text frame")]
    TextFrame,
    /// The server refused with an `Error` message.
    #[error("server error {code:?}: {message}")]
    Refused {
        /// The code.
        code: ErrorCode,
        /// The detail.
        message: String,
    },
    /// The connection closed when a message was expected.
    #[error("connection closed: {}", describe_close(.0))]
    Closed(Option<CloseFrame>),
    /// A message arrived that makes no sense at this point.
    #[error("unexpected message: {0}")]
    Unexpected(String),
    /// Nothing arrived in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// Characters of a server's refusal body quoted in an error; the rest is cut.
pub const MAX_REASON_CHARS: usize = 200;

/// A WebSocket error for a person: an HTTP refusal of the upgrade as its status and the
/// server's reason (`HTTP 429 Too Many Requests: too many connections from your address`),
/// anything else as tungstenite words it.
pub fn describe_ws_error(e: &tokio_tungstenite::tungstenite::Error) -> String {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            let reason = response.body().as_deref().map(http_reason);
            describe_status(response.status().as_u16(), reason.as_deref())
        }
        other => other.to_string(),
    }
}

/// `HTTP 429 Too Many Requests: <reason>`, or without the reason when there is none.
pub fn describe_status(status: u16, reason: Option<&str>) -> String {
    let name = tokio_tungstenite::tungstenite::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let status = format!("HTTP {status} {name}");
    match reason {
        Some(r) if !r.is_empty() => format!("{}: {r}", status.trim_end()),
        _ => status.trim_end().to_owned(),
    }
}

/// A response body as one bounded line of text: lossy UTF-8, control characters (newlines,
/// terminal escapes) as spaces, trimmed, at most [`MAX_REASON_CHARS`] characters (then `…`).
pub fn http_reason(body: &[u8]) -> String {
    // Enough bytes for MAX_REASON_CHARS characters of up to 4 bytes, and one more to know
    // whether anything was cut.
    let head = &body[..body.len().min((MAX_REASON_CHARS + 1) * 4)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim();
    let mut out: String = text
        .chars()
        .take(MAX_REASON_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if head.len() < body.len() || text.chars().nth(MAX_REASON_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// `host:port` of a `ws://host:port/path` URL.
pub fn authority(url: &str) -> Option<&str> {
    url.strip_prefix("ws://")?.split('/').next()
}

/// A close frame as `1000 "bye"`, or `no close frame`.
pub fn describe_close(frame: &Option<CloseFrame>) -> String {
    match frame {
        Some(f) => format!("{} {:?}", u16::from(f.code), f.reason.as_str()),
        None => "no close frame".into(),
    }
}

pub use arena_shared::protocol::{ClientMsgOf, ServerMsgOf};

/// What [`Connection::recv`] yields.
pub enum Received<G: Game> {
    /// A decoded server message.
    Msg(ServerMsgOf<G>),
    /// The server closed the connection (with its close frame, if it sent one).
    Closed(Option<CloseFrame>),
}

// By hand: derives would demand that the game type itself be Debug, Clone and PartialEq, when
// only its messages need to be.
impl<G: Game> fmt::Debug for Received<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Msg(m) => f.debug_tuple("Msg").field(m).finish(),
            Self::Closed(c) => f.debug_tuple("Closed").field(c).finish(),
        }
    }
}

impl<G: Game> Clone for Received<G> {
    fn clone(&self) -> Self {
        match self {
            Self::Msg(m) => Self::Msg(m.clone()),
            Self::Closed(c) => Self::Closed(c.clone()),
        }
    }
}

impl<G: Game> PartialEq for Received<G> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Msg(a), Self::Msg(b)) => a == b,
            (Self::Closed(a), Self::Closed(b)) => a == b,
            _ => false,
        }
    }
}

/// The `Welcome` of a successful join.
pub struct Welcome<G: Game> {
    /// Own player id.
    pub player_id: EntityId,
    /// Room joined.
    pub room: String,
    /// Server ticks per second: send one input per tick.
    pub tick_rate: u16,
    /// Snapshots per second, at most `tick_rate`.
    pub snapshot_rate: u16,
    /// The view box snapshots cover, `None` = the whole map.
    pub view: Option<(f32, f32)>,
    /// The room's game settings (map, tuning), for prediction.
    pub settings: G::Settings,
    /// Players already present, with names.
    pub players: Vec<(EntityId, String)>,
    /// Token to resume this player after a dropped connection (good for one resume).
    pub resume_token: String,
    /// The newest input the server applied for this player; number inputs above it.
    pub last_input_seq: u32,
}

impl<G: Game> fmt::Debug for Welcome<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Welcome")
            .field("player_id", &self.player_id)
            .field("room", &self.room)
            .field("tick_rate", &self.tick_rate)
            .field("snapshot_rate", &self.snapshot_rate)
            .field("view", &self.view)
            .field("settings", &self.settings)
            .field("players", &self.players)
            .field("resume_token", &self.resume_token)
            .field("last_input_seq", &self.last_input_seq)
            .finish()
    }
}

impl<G: Game> Clone for Welcome<G> {
    fn clone(&self) -> Self {
        Self {
            player_id: self.player_id,
            room: self.room.clone(),
            tick_rate: self.tick_rate,
            snapshot_rate: self.snapshot_rate,
            view: self.view,
            settings: self.settings.clone(),
            players: self.players.clone(),
            resume_token: self.resume_token.clone(),
            last_input_seq: self.last_input_seq,
        }
    }
}

/// The optional parts of a `Hello`.
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    /// Room to join; `None` = quick-play.
    pub room: Option<String>,
    /// Join ticket, for servers with `auth = "ticket"`.
    pub ticket: Option<String>,
    /// Resume token from an earlier `Welcome`.
    pub resume: Option<String>,
    /// How the room is set up if this `Hello` creates it; `None` = the server's defaults.
    pub options: Option<RoomOptions>,
}

/// A connection to an Arena server's endpoint for game `G`.
pub struct Connection<G: Game> {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Payload bytes of binary frames sent.
    pub bytes_sent: u64,
    /// Payload bytes of binary frames received.
    pub bytes_received: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Which game's messages this connection decodes; `fn() -> G` so the connection is `Send`
    /// and `Sync` whatever the game type is.
    game: PhantomData<fn() -> G>,
}

impl<G: Game> Connection<G> {
    /// tungstenite zeroes its whole read buffer before each read; the 128 KiB default made that
    /// ~45% of a load generator's CPU (shared/ACTIX-FACTS.md). 8 KiB fits a snapshot.
    fn client_config() -> WebSocketConfig {
        WebSocketConfig::default().read_buffer_size(8 * 1024)
    }

    fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            ws,
            bytes_sent: 0,
            bytes_received: 0,
            messages_sent: 0,
            messages_received: 0,
            game: PhantomData,
        }
    }

    /// Opens a WebSocket to `url` (`ws://host:port/ws/GAME`) with Nagle off.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(url, Some(Self::client_config()), true)
                .await
                .map_err(ClientError::Connect)?;
        Ok(Self::over(ws))
    }

    /// Opens a WebSocket to `url` over a TCP stream the caller connected (to set socket options
    /// first, e.g. a small receive buffer for a client that will stop reading).
    pub async fn connect_stream(url: &str, stream: TcpStream) -> Result<Self, ClientError> {
        let plain = MaybeTlsStream::Plain(stream);
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(url, plain, Some(Self::client_config()))
                .await
                .map_err(ClientError::Connect)?;
        Ok(Self::over(ws))
    }

    /// Sends one message.
    pub async fn send(&mut self, msg: &ClientMsgOf<G>) -> Result<(), ClientError> {
        let bytes = protocol::encode(msg)?;
        self.bytes_sent += bytes.len() as u64;
        self.messages_sent += 1;
        self.ws.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    /// Sends any WebSocket message, valid or not: for tests of the server's defences.
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), ClientError> {
        self.ws.send(msg).await?;
        Ok(())
    }

    /// The next server message, or the close. Control frames are handled underneath.
    pub async fn recv(&mut self) -> Result<Received<G>, ClientError> {
        loop {
            match self.ws.next().await {
                None => return Ok(Received::Closed(None)),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Message::Binary(bytes))) => {
                    self.bytes_received += bytes.len() as u64;
                    self.messages_received += 1;
                    return Ok(Received::Msg(protocol::decode_server(
                        &bytes,
                        SERVER_DECODE_LIMIT,
                    )?));
                }
                Some(Ok(Message::Text(_))) => return Err(ClientError::TextFrame),
                Some(Ok(Message::Close(frame))) => return Ok(Received::Closed(frame)),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            }
        }
    }

    /// Like [`Connection::recv`], failing after `limit`.
    pub async fn recv_timeout(&mut self, limit: Duration) -> Result<Received<G>, ClientError> {
        tokio::time::timeout(limit, self.recv())
            .await
            .map_err(|_| ClientError::Timeout(limit))?
    }

    /// Sends `Hello` (quick-play or a named room) and waits for `Welcome`; an `Error` or close
    /// becomes the error.
    pub async fn join(
        &mut self,
        name: &str,
        room: Option<&str>,
        limit: Duration,
    ) -> Result<Welcome<G>, ClientError> {
        let options = JoinOptions {
            room: room.map(str::to_owned),
            ..JoinOptions::default()
        };
        self.join_with(name, options, limit).await
    }

    /// Sends `Hello` with a ticket, resume token or room options and waits for `Welcome`.
    pub async fn join_with(
        &mut self,
        name: &str,
        options: JoinOptions,
        limit: Duration,
    ) -> Result<Welcome<G>, ClientError> {
        self.send(&ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            name: name.to_owned(),
            room: options.room,
            ticket: options.ticket,
            resume: options.resume,
            options: options.options,
        })
        .await?;
        match self.recv_timeout(limit).await? {
            Received::Msg(ServerMsg::Welcome {
                player_id,
                room,
                tick_rate,
                snapshot_rate,
                view,
                settings,
                players,
                resume_token,
                last_input_seq,
            }) => Ok(Welcome {
                player_id,
                room,
                tick_rate,
                snapshot_rate,
                view,
                settings,
                players,
                resume_token,
                last_input_seq,
            }),
            Received::Msg(ServerMsg::Error { code, message }) => {
                Err(ClientError::Refused { code, message })
            }
            Received::Msg(other) => Err(ClientError::Unexpected(format!("{other:?}"))),
            Received::Closed(frame) => Err(ClientError::Closed(frame)),
        }
    }

    /// Receives until `pick` returns something, the connection closes, or `limit` passes.
    pub async fn wait_for<T>(
        &mut self,
        limit: Duration,
        mut pick: impl FnMut(&ServerMsgOf<G>) -> Option<T>,
    ) -> Result<T, ClientError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv_timeout(left).await? {
                Received::Msg(msg) => {
                    if let Some(found) = pick(&msg) {
                        return Ok(found);
                    }
                }
                Received::Closed(frame) => return Err(ClientError::Closed(frame)),
            }
        }
    }

    /// Waits for the server's close frame, discarding messages before it.
    pub async fn wait_for_close(
        &mut self,
        limit: Duration,
    ) -> Result<Option<CloseFrame>, ClientError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.ws.next())
                .await
                .map_err(|_| ClientError::Timeout(limit))?
            {
                None => return Ok(None),
                Some(Ok(Message::Close(frame))) => return Ok(frame),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Sends a normal close frame and waits (briefly) for the server's answer.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while self.ws.next().await.is_some() {}
        })
        .await;
    }
}
