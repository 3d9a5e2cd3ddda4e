//! The session actor: one per WebSocket connection, and the only code that touches
//! actix-web-actors.
//!
//! Inbound: frames -> [`frames::Assembler`] -> decode (bounded) -> validate -> the room.
//! Outbound: the room fills the session's [`SnapshotSlot`] and wakes it with [`SnapshotReady`];
//! the session takes the newest snapshot, cuts and delta-encodes the player's view
//! ([`SnapshotEncoder`]) and writes it as one frame: binary on `arena.bincode.v1`, text on
//! `arena.json.v1`.
//! The session also owns the connection's timers (Hello timeout, heartbeat) and ends every
//! connection through [`Session::farewell`], so each ending gets its close code, reason, log line.

mod echo;
mod frames;
mod guard;

pub use echo::ECHO_MAX_MESSAGE;
#[doc(hidden)]
pub use frames::feed_raw;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws::{self, CloseCode, CloseReason, WebsocketContext};
use arena_shared::encoding::Encoding;
use arena_shared::protocol::{
    ClientMsg, ClientMsgOf, PlaybackControl, RoomOptions, ServerMsg, ServerMsgOf,
};
use arena_shared::{EntityId, Game, PROTOCOL_VERSION};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::close::Farewell;
use crate::operations::config::Config;
use crate::operations::metrics::Metrics;
use crate::operations::ticket::{TicketAuthority, TicketError, unix_now};
use crate::rooms::encoder::SnapshotEncoder;
use crate::rooms::inputs::{InputDrop, InputQueue};
use crate::rooms::lobby::Lobby;
use crate::rooms::messages::{
    Admission, ChatReceived, JoinRequest, PlayerDetached, PlayerLeaving, ResumeRequest, RoomClosed,
    RoomHandle, RoomStats, SessionLink, SnapshotReady, SpectateRequest, SpectatorAdmission,
    SpectatorLeaving, WatchReplay,
};
use crate::rooms::playback::Steer;
use crate::rooms::slot::SnapshotSlot;
use crate::socket::ConnectionSocket;
use crate::transport::limits::{Permit, address_key};
use crate::transport::rate::{FloodGuard, TokenBucket, Verdict};
use crate::transport::text;

use frames::{Assembler, Incoming};

/// What every session shares: configuration, the lobby, and the shutdown signal.
#[derive(Clone)]
pub struct SessionDeps {
    /// Server configuration.
    pub config: Arc<Config>,
    /// The lobby that places players.
    pub lobby: Addr<Lobby>,
    /// Becomes `true` when the server starts draining.
    pub draining: watch::Receiver<bool>,
    /// Checks join tickets when `auth = "ticket"`.
    pub tickets: Option<Arc<TicketAuthority>>,
    /// Checks the tickets `POST /api/matchmake` issues (the same as `tickets` when that is
    /// set): a `Hello` may carry one whatever `auth` says, and its seat was reserved.
    pub matchmade: Arc<TicketAuthority>,
    /// Server metrics.
    pub metrics: Arc<Metrics>,
}

/// Counts one connection in the metrics for exactly as long as its session exists. A session
/// whose connection was shut down from outside (it had frozen) is dropped without `stopped()`,
/// so the count lives in `Drop`.
struct Tally {
    metrics: Arc<Metrics>,
    /// (close code, reason); unset = the transport went away (1006 is never sent, only seen).
    ending: Option<(u16, &'static str)>,
}

impl Tally {
    fn new(metrics: Arc<Metrics>) -> Self {
        metrics.connections_total.inc();
        metrics.connections_open.inc();
        Self {
            metrics,
            ending: None,
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        self.metrics.connections_open.dec();
        let (code, reason) = self.ending.unwrap_or((1006, "connection_lost"));
        self.metrics
            .connections_closed
            .with_label_values(&[&code_label(code), reason])
            .inc();
    }
}

/// The `code` label of a session's ending. A client closing on its own chooses its code, and
/// RFC 6455 lets it pick any of thousands: the registered codes keep their number, the
/// private ranges share one label each, so no client can add series.
fn code_label(code: u16) -> std::borrow::Cow<'static, str> {
    match code {
        1000..=1015 => code.to_string().into(),
        3000..=3999 => "3xxx".into(),
        4000..=4999 => "4xxx".into(),
        _ => "other".into(),
    }
}

/// The parts of a `Hello` past its version.
struct HelloMsg {
    name: String,
    room: Option<String>,
    ticket: Option<String>,
    resume: Option<String>,
    options: Option<RoomOptions>,
}

/// A replay a connection watches: its id and its file's bytes.
#[derive(Clone, Debug)]
pub struct ReplayToWatch {
    /// The replay's id (its file's stem).
    pub id: String,
    /// The file.
    pub bytes: Arc<Vec<u8>>,
}

/// What a `/ws` connection is for, decided before the upgrade.
#[derive(Clone, Debug, Default)]
pub struct Purpose {
    /// The encoding negotiated from `Sec-WebSocket-Protocol`; `None` = none offered (bincode,
    /// and no subprotocol in the answer).
    pub subprotocol: Option<Encoding>,
    /// `Some(room)`: a read-only spectator of that room (validated name), with no `Hello`.
    pub spectate: Option<String>,
    /// A replay to watch (`?replay=ID`), read from disk before the upgrade; no `Hello`.
    pub replay: Option<ReplayToWatch>,
    /// The spectator ticket from the query string (`auth = "ticket"`).
    pub ticket: Option<String>,
}

/// Upgrades an HTTP request to a WebSocket session of game `G`. A request that is not a valid
/// upgrade is answered by actix with a 4xx and the handshake error as its body.
pub fn upgrade<G: Game>(
    req: &HttpRequest,
    stream: web::Payload,
    deps: SessionDeps,
    id: u64,
    permits: Vec<Permit>,
    purpose: Purpose,
) -> Result<HttpResponse, actix_web::Error> {
    let max = deps.config.max_message_bytes;
    let socket = req.conn_data::<ConnectionSocket>().cloned();
    let chosen = purpose.subprotocol.map(Encoding::subprotocol);
    let session = Session::<G>::new(id, req.peer_addr(), deps, permits, socket, purpose);
    let stream = guard::FrameGuard::new(stream, max, session.oversized.clone());
    let builder = ws::WsResponseBuilder::new(session, req, stream).frame_size(max);
    match chosen {
        Some(name) => builder.protocols(&[name]).start(),
        None => builder.start(),
    }
}

/// Upgrades an HTTP request to an echo session (`--echo`, for the Autobahn|Testsuite).
pub fn upgrade_echo(
    req: &HttpRequest,
    stream: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    ws::WsResponseBuilder::new(echo::EchoSession::new(), req, stream)
        .frame_size(ECHO_MAX_MESSAGE)
        .start()
}

enum Phase {
    AwaitingHello,
    /// `Hello` accepted; waiting for the lobby to seat the player.
    Joining,
    Playing {
        room: RoomHandle,
        player: EntityId,
    },
    /// Watching a room, read-only.
    Spectating {
        room: RoomHandle,
        id: u64,
    },
    /// Farewell sent; everything else is ignored.
    Closing,
}

/// The per-connection actor, speaking game `G`'s protocol.
pub struct Session<G: Game> {
    /// The connection's id, unique in the process: how the room tells this connection's
    /// messages about a seat from those of an older or newer connection for the same player.
    id: u64,
    deps: SessionDeps,
    phase: Phase,
    frames: Assembler,
    /// Any frame from the client proves it is alive.
    last_heard: Instant,
    /// Newest tick seen, echoed in `Pong`.
    last_tick: u64,
    /// Message rate limit for this connection.
    flood: FloodGuard,
    /// Chat rate limit for this player.
    chat: TokenBucket,
    /// Where the room leaves this player's next snapshot (shared with the room, so the room
    /// can replace an unsent one and see how long it waited even while this actor is frozen).
    slot: Arc<SnapshotSlot<G>>,
    /// Encodes the player's view as deltas against what the client acknowledged; set once
    /// seated.
    encoder: Option<SnapshotEncoder<G>>,
    /// This connection's inputs, shared with the room (which drains one per tick and closes
    /// the queue when this connection loses the seat).
    inputs: Arc<InputQueue<G::Input>>,
    /// The seated room's counters, where dropped inputs are counted.
    room_stats: Option<Arc<RoomStats>>,

    /// This connection's slots in the connection limits (and the spectator limit, for a
    /// spectator), released when the session is dropped.
    _permits: Vec<Permit>,
    /// The client's address, for per-address limits on creating rooms.
    peer_ip: Option<std::net::IpAddr>,
    /// The ticket a spectator presented in the query string.
    spectate_ticket: Option<String>,
    /// Set by the connection's [`guard::FrameGuard`] when a frame header declared more than
    /// `max_message_bytes`: the stream error that follows is answered with 1009.
    oversized: guard::Tripped,
    /// Whether this session is resuming a seat (a connection lost during it keeps the seat).
    resuming: bool,
    /// Counts the connection in the metrics while the session exists (set once started).
    tally: Option<Tally>,
    /// The connection's socket, handed to the room so it can close a frozen session.
    socket: Option<ConnectionSocket>,
    /// Every log line of this connection belongs to this span (id, peer; player and room once
    /// seated).
    span: tracing::Span,
    /// bincode in binary frames, or JSON in text frames.
    encoding: Encoding,
    /// The room to watch, for a spectator.
    spectate: Option<String>,
    /// The replay to watch, for a replay's viewer.
    replay: Option<ReplayToWatch>,
}

impl<G: Game> Session<G> {
    fn new(
        id: u64,
        peer: Option<SocketAddr>,
        deps: SessionDeps,
        permits: Vec<Permit>,
        socket: Option<ConnectionSocket>,
        purpose: Purpose,
    ) -> Self {
        let now = Instant::now();
        let c = &deps.config;
        Self {
            flood: FloodGuard::new(c.msg_rate, c.msg_burst, c.flood_tolerance, now),
            chat: TokenBucket::new(c.chat_per_minute / 60.0, c.chat_burst, now),
            slot: SnapshotSlot::new(),
            encoder: None,
            inputs: InputQueue::new(c.max_pending_inputs),
            room_stats: None,
            id,

            _permits: permits,
            peer_ip: peer.map(|p| p.ip()),
            spectate_ticket: purpose.ticket,
            oversized: guard::Tripped::default(),
            resuming: false,
            tally: None,
            socket,
            span: tracing::info_span!("session", id, peer = ?peer, player = tracing::field::Empty, room = tracing::field::Empty),
            frames: Assembler::new(c.max_message_bytes, c.max_message_fragments),
            deps,
            phase: Phase::AwaitingHello,
            last_heard: now,
            last_tick: 0,
            encoding: purpose.subprotocol.unwrap_or_default(),
            spectate: purpose.spectate,
            replay: purpose.replay,
        }
    }

    fn send(&self, ctx: &mut WebsocketContext<Self>, msg: &ServerMsgOf<G>) {
        let mut bytes = Vec::new();
        match self.encoding.encode_into(msg, &mut bytes) {
            Ok(()) => self.write(ctx, bytes),
            Err(e) => warn!(parent: &self.span, error = %e, "cannot encode message"),
        }
    }

    /// One message, as a binary frame (bincode) or a text frame (JSON).
    fn write(&self, ctx: &mut WebsocketContext<Self>, bytes: Vec<u8>) {
        self.count_out(bytes.len());
        match self.encoding {
            Encoding::Bincode => ctx.binary(bytes),
            // serde_json writes UTF-8; the check costs a scan and keeps this panic-free.
            Encoding::Json => match String::from_utf8(bytes) {
                Ok(text) => ctx.text(text),
                Err(e) => warn!(parent: &self.span, error = %e, "JSON encoder wrote invalid UTF-8"),
            },
        }
    }

    fn count_out(&self, len: usize) {
        self.deps.metrics.messages_out.inc();
        self.deps.metrics.bytes_out.inc_by(len as u64);
    }

    /// Ends the connection: an `Error` message where the client should get one, a close frame
    /// with the code and reason from [`Farewell`], a log line, and the actor stops.
    fn farewell(&mut self, ctx: &mut WebsocketContext<Self>, farewell: Farewell) {
        // A peer that went silent may come back with its resume token; any other ending is final.
        self.leave_room(farewell.keeps_seat());
        self.end_connection(ctx, farewell);
    }

    /// The closing half of [`Session::farewell`], for when the room has already let go of the
    /// seat. Only the first ending of a connection counts.
    fn end_connection(&mut self, ctx: &mut WebsocketContext<Self>, farewell: Farewell) {
        if matches!(self.phase, Phase::Closing) {
            return;
        }
        self.phase = Phase::Closing;
        if let Some((code, message)) = farewell.error() {
            self.send(ctx, &ServerMsg::Error { code, message });
        }
        let code = farewell.close_code();
        self.set_ending(code, farewell.kind());
        if farewell.is_normal() {
            info!(parent: &self.span, code, reason = %farewell.reason(), "session closed");
        } else {
            warn!(parent: &self.span, code, reason = %farewell.reason(), "session closed");
        }
        ctx.close(Some(CloseReason {
            code: CloseCode::from(code),
            description: Some(farewell.close_text()),
        }));
        // A broken stream (framing error, lost transport) has nothing more to read: stop. Else
        // not yet: closing TCP while the client's data is unread sends a reset, which can
        // destroy the close frame before the client reads it. Read and discard until the
        // client's close frame arrives (see `handle`), for a bounded time.
        if matches!(
            farewell,
            Farewell::Protocol { .. } | Farewell::ConnectionLost(_)
        ) {
            ctx.stop();
        } else {
            ctx.run_later(self.deps.config.close_linger(), |_, ctx| ctx.stop());
        }
    }

    fn set_ending(&mut self, code: u16, reason: &'static str) {
        if let Some(tally) = &mut self.tally {
            tally.ending = Some((code, reason));
        }
    }

    /// Gives up the seat: `detach` keeps it for a resume (the connection was lost), otherwise
    /// the player leaves the room now.
    fn leave_room(&mut self, detach: bool) {
        if let Phase::Spectating { room, id } = &self.phase {
            room.spectator_leaving.do_send(SpectatorLeaving { id: *id });
        }
        if let Phase::Playing { room, player } = &self.phase {
            // do_send: this must not be lost to a full mailbox, and there is one per session.
            let (player, link) = (*player, self.id);
            if detach {
                room.detached.do_send(PlayerDetached { player, link });
            } else {
                room.leaving.do_send(PlayerLeaving { player, link });
            }
        }
    }

    fn on_message(&mut self, bytes: &[u8], ctx: &mut WebsocketContext<Self>) {
        if let (Phase::AwaitingHello, Some(version)) =
            (&self.phase, self.encoding.peek_hello_version(bytes))
            && version != PROTOCOL_VERSION
        {
            return self.farewell(ctx, Farewell::VersionMismatch { client: version });
        }
        let decoded: Result<ClientMsgOf<G>, _> = self
            .encoding
            .decode_client(bytes, self.deps.config.max_message_bytes);
        let msg = match decoded {
            Ok(msg) => msg,
            Err(e) => {
                self.deps.metrics.decode_errors.inc();
                return self.farewell(ctx, Farewell::Malformed(e.to_string()));
            }
        };
        if let Phase::Spectating { .. } = self.phase {
            return match msg {
                ClientMsg::Ping { client_time } => self.send(
                    ctx,
                    &ServerMsg::Pong {
                        client_time,
                        server_tick: self.last_tick,
                    },
                ),
                ClientMsg::Leave => self.farewell(ctx, Farewell::ClientLeft),
                ClientMsg::Playback(control) => self.steer(control, ctx),
                _ => self.farewell(ctx, Farewell::ReadOnly),
            };
        }
        match (msg, &self.phase) {
            (
                ClientMsg::Hello {
                    protocol_version,
                    name,
                    room,
                    ticket,
                    resume,
                    options,
                },
                Phase::AwaitingHello,
            ) => self.on_hello(
                protocol_version,
                HelloMsg {
                    name,
                    room,
                    ticket,
                    resume,
                    options,
                },
                ctx,
            ),
            (ClientMsg::Hello { .. }, _) => {
                self.farewell(ctx, Farewell::Unexpected("a second Hello"))
            }
            (ClientMsg::Input(input), Phase::Playing { .. }) => {
                if let Some(encoder) = &mut self.encoder {
                    encoder.acknowledge(input.ack);
                }
                if let Err(why) = self.inputs.push(input) {
                    self.count_dropped_input(why);
                }
            }
            (ClientMsg::Chat { text }, Phase::Playing { room, player }) => {
                if !self.chat.take(Instant::now()) {
                    self.deps
                        .metrics
                        .rate_limited
                        .with_label_values(&["chat"])
                        .inc();
                    return;
                }
                if let Some(text) = text::chat_line(&text) {
                    let _ = room.chat.try_send(ChatReceived {
                        player: *player,
                        link: self.id,
                        text,
                    });
                }
            }
            // Sent before the Welcome arrived: harmless, dropped.
            (ClientMsg::Input(_), Phase::Joining) => {
                self.count_dropped_input(InputDrop::BeforeWelcome)
            }
            (ClientMsg::Chat { .. }, Phase::Joining) => {}
            (ClientMsg::Input(_) | ClientMsg::Chat { .. }, _) => {
                self.farewell(ctx, Farewell::Unexpected("Input or Chat before Hello"))
            }
            (ClientMsg::Ping { client_time }, _) => self.send(
                ctx,
                &ServerMsg::Pong {
                    client_time,
                    server_tick: self.last_tick,
                },
            ),
            (ClientMsg::Leave, _) => self.farewell(ctx, Farewell::ClientLeft),
            (ClientMsg::Playback(_), _) => self.farewell(
                ctx,
                Farewell::BadPlayback("only a replay's viewer steers it".into()),
            ),
        }
    }

    /// A replay's viewer steers its playback; a live room's spectator cannot.
    fn steer(&mut self, control: PlaybackControl, ctx: &mut WebsocketContext<Self>) {
        let Phase::Spectating { room, .. } = &self.phase else {
            return;
        };
        let Some(playback) = room.playback.clone() else {
            return self.farewell(
                ctx,
                Farewell::BadPlayback("this connection watches a live room, not a replay".into()),
            );
        };
        playback
            .send(Steer(control))
            .into_actor(self)
            .map(|answer, session, ctx| {
                if let Ok(Err(farewell)) = answer {
                    session.farewell(ctx, farewell);
                }
            })
            .spawn(ctx);
    }

    fn count_dropped_input(&self, why: InputDrop) {
        self.deps
            .metrics
            .dropped_inputs
            .with_label_values(&[why.label()])
            .inc();
        if let Some(stats) = &self.room_stats {
            stats.dropped_inputs.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_hello(&mut self, version: u16, hello: HelloMsg, ctx: &mut WebsocketContext<Self>) {
        if version != PROTOCOL_VERSION {
            return self.farewell(ctx, Farewell::VersionMismatch { client: version });
        }
        let link = self.link(ctx);
        if let Some(token) = hello.resume {
            // The token is the credential: it was issued to whoever passed the join checks.
            self.phase = Phase::Joining;
            self.resuming = true;
            let answer = self.deps.lobby.send(ResumeRequest::<G> { token, link });
            return self.admit(answer, Self::on_admitted, ctx);
        }
        let (name, room, reservation) = match (&self.deps.tickets, hello.ticket) {
            (None, None) => (hello.name, hello.room, None),
            (Some(_), None) => {
                return self.farewell(ctx, Farewell::Ticket(TicketError::Missing));
            }
            // A ticket is checked whenever one comes: under `auth = "none"` it is a matchmade
            // seat, signed by this process.
            (_, Some(ticket)) => {
                // A ticket names who plays where, not how the room is set up: a ticket holder
                // must not make the matchmaker's room one seat or 60 Hz.
                if hello.options.is_some() {
                    return self.farewell(
                        ctx,
                        Farewell::BadOptions(
                            "room options are the matchmaker's when joining with a ticket".into(),
                        ),
                    );
                }
                match self.deps.matchmade.redeem(&ticket, unix_now()) {
                    Ok(claims) if claims.spectate => {
                        return self.farewell(ctx, Farewell::Ticket(TicketError::SpectateOnly));
                    }
                    // The ticket's identity is authoritative; its room, when it names one, too.
                    // Its nonce names the seat a matchmaker reserved, if one did.
                    Ok(claims) => (claims.name, claims.room.or(hello.room), Some(claims.nonce)),
                    Err(e) => return self.farewell(ctx, Farewell::Ticket(e)),
                }
            }
        };
        let name = match text::player_name(&name) {
            Ok(n) => n,
            Err(why) => return self.farewell(ctx, Farewell::BadName(why)),
        };
        let room = match room.as_deref().map(text::room_name).transpose() {
            Ok(r) => r,
            Err(why) => return self.farewell(ctx, Farewell::BadRoomName(why)),
        };
        let map = hello.options.as_ref().and_then(|o| o.map.as_deref());
        if let Some(Err(why)) = map.map(text::room_name) {
            return self.farewell(ctx, Farewell::BadOptions(format!("bad map name: {why}")));
        }
        self.phase = Phase::Joining;
        let request = JoinRequest {
            name,
            room,
            options: hello.options,
            link,
            arbiter: Arbiter::current(),
            creator: self.peer_ip.map(address_key),
            reservation,
        };
        self.admit(self.deps.lobby.send(request), Self::on_admitted, ctx);
    }

    /// Waits for the lobby's answer to a join or resume. `wait()`: nothing else (snapshots
    /// included) is handled until the Welcome is written, so the client always sees it first.
    /// Spectators' admissions go the same way, into `on_watching`.
    fn admit<T: 'static>(
        &mut self,
        answer: impl std::future::Future<Output = Result<Result<T, Farewell>, MailboxError>> + 'static,
        admitted: fn(&mut Self, T, &mut WebsocketContext<Self>),
        ctx: &mut WebsocketContext<Self>,
    ) {
        answer
            .into_actor(self)
            .map(move |answer, session, ctx| match answer {
                Ok(Ok(admission)) => admitted(session, admission, ctx),
                Ok(Err(farewell)) => session.farewell(ctx, farewell),
                Err(_) => session.farewell(ctx, Farewell::ShuttingDown),
            })
            .wait(ctx);
    }

    fn on_admitted(
        &mut self,
        Admission { room, seated }: Admission<G>,
        ctx: &mut WebsocketContext<Self>,
    ) {
        if matches!(self.phase, Phase::Closing) {
            // The connection ended while the join was in flight: give a new seat back; a
            // resumed one waits for the next resume (the client never saw this Welcome, and
            // its old token still works until the seat hears from a new connection).
            let (player, link) = (seated.player, self.id);
            if self.resuming {
                room.detached.do_send(PlayerDetached { player, link });
            } else {
                room.leaving.do_send(PlayerLeaving { player, link });
            }
            return;
        }
        self.span
            .record("player", tracing::field::display(seated.player));
        self.span.record("room", seated.room.as_str());
        info!(parent: &self.span, "joined");
        self.send(
            ctx,
            &ServerMsg::Welcome {
                player_id: seated.player,
                room: seated.room,
                tick_rate: seated.tick_rate,
                snapshot_rate: seated.snapshot_rate,
                view: seated.view,
                settings: (*seated.settings).clone(),
                players: seated.roster,
                resume_token: seated.resume_token,
                last_input_seq: seated.last_input_seq,
            },
        );
        self.room_stats = Some(seated.stats);
        self.encoder = Some(SnapshotEncoder::<G>::new(
            seated.player,
            seated.view,
            self.encoding,
        ));
        self.phase = Phase::Playing {
            room,
            player: seated.player,
        };
    }

    /// The handles a room needs to reach this session.
    fn link(&self, ctx: &mut WebsocketContext<Self>) -> SessionLink<G> {
        let me = ctx.address();
        SessionLink {
            id: self.id,
            inputs: self.inputs.clone(),
            slot: self.slot.clone(),
            snapshots: me.clone().recipient(),
            closed: me.recipient(),
            socket: self.socket.clone(),
        }
    }

    fn on_watching(
        &mut self,
        SpectatorAdmission { room, watching }: SpectatorAdmission<G>,
        ctx: &mut WebsocketContext<Self>,
    ) {
        if matches!(self.phase, Phase::Closing) {
            room.spectator_leaving
                .do_send(SpectatorLeaving { id: watching.id });
            return;
        }
        if let (Some(authority), Some(ticket)) = (&self.deps.tickets, self.spectate_ticket.take())
            && let Err(e) = authority.redeem(&ticket, unix_now())
        {
            room.spectator_leaving
                .do_send(SpectatorLeaving { id: watching.id });
            return self.farewell(ctx, Farewell::Ticket(e));
        }
        self.span.record("room", watching.room.as_str());
        info!(parent: &self.span, "spectating");
        self.send(
            ctx,
            &ServerMsg::Spectating {
                room: watching.room,
                tick_rate: watching.tick_rate,
                snapshot_rate: watching.snapshot_rate,
                origin_unix_ms: watching.origin_unix_ms,
                settings: (*watching.settings).clone(),
                players: watching.roster,
            },
        );
        // The whole room, complete every time, every event.
        self.encoder = Some(SnapshotEncoder::<G>::new(EntityId(0), None, self.encoding));
        self.phase = Phase::Spectating {
            room,
            id: watching.id,
        };
    }

    /// Under `auth = "ticket"`, watching needs a spectator ticket for this room: a join ticket
    /// must not let a player open a second connection that sees the whole room. Checked here,
    /// used up only once the room has admitted the spectator, so a full or missing room does
    /// not cost the client its ticket.
    fn check_spectate_ticket(&self, room: &str) -> Result<(), TicketError> {
        let Some(authority) = &self.deps.tickets else {
            return Ok(());
        };
        let ticket = self
            .spectate_ticket
            .as_deref()
            .ok_or(TicketError::Missing)?;
        authority
            .check_spectator(ticket, room, unix_now())
            .map(drop)
    }

    fn on_heartbeat(&mut self, ctx: &mut WebsocketContext<Self>) {
        if self.last_heard.elapsed() > self.deps.config.client_timeout() {
            return self.farewell(ctx, Farewell::HeartbeatTimeout);
        }
        ctx.ping(b"");
    }
}

impl<G: Game> Actor for Session<G> {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        debug!(parent: &self.span, "session opened");
        self.tally = Some(Tally::new(self.deps.metrics.clone()));
        ctx.run_interval(self.deps.config.heartbeat_interval(), |s, ctx| {
            s.on_heartbeat(ctx)
        });
        if let Some(replay) = self.replay.take() {
            self.phase = Phase::Joining;
            let link = self.link(ctx);
            let answer = self.deps.lobby.send(WatchReplay {
                id: replay.id,
                bytes: replay.bytes,
                link,
                arbiter: Arbiter::current(),
            });
            self.admit(answer, Self::on_watching, ctx);
        }
        if let Some(room) = self.spectate.take() {
            if let Err(e) = self.check_spectate_ticket(&room) {
                return self.farewell(ctx, Farewell::Ticket(e));
            }
            self.phase = Phase::Joining;
            let link = self.link(ctx);
            let answer = self.deps.lobby.send(SpectateRequest { room, link });
            self.admit(answer, Self::on_watching, ctx);
        }
        ctx.run_later(self.deps.config.hello_timeout(), |s, ctx| {
            if matches!(s.phase, Phase::AwaitingHello) {
                s.farewell(ctx, Farewell::HelloTimeout);
            }
        });
        let mut draining = self.deps.draining.clone();
        ctx.spawn(
            async move {
                // An error means the server is gone: drain as well.
                let _ = draining.wait_for(|d| *d).await;
            }
            .into_actor(self)
            .map(|_, s, ctx| s.farewell(ctx, Farewell::ShuttingDown)),
        );
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        // Still playing here means the connection ended without a farewell (no close frame, a
        // failed write): a lost connection, which may resume.
        self.leave_room(true);
        self.phase = Phase::Closing;
        Running::Stop
    }
}

impl<G: Game> StreamHandler<Result<ws::Message, ws::ProtocolError>> for Session<G> {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        if matches!(self.phase, Phase::Closing) {
            // Lingering after our close frame: discard data; stop at the client's close, or
            // at an error (the stream repeats it, and has nothing more to give).
            if matches!(item, Ok(ws::Message::Close(_)) | Err(_)) {
                ctx.stop();
            }
            return;
        }
        if item.is_err()
            && let Some(declared) = self.oversized.get()
        {
            let max = self.deps.config.max_message_bytes;
            return self.farewell(ctx, frames::too_big(declared, max));
        }
        // Every frame costs the server work, whether or not it carries a message (Pong,
        // continuation, empty or not): each one is charged to the flood guard. The client's
        // own close frame is still honoured.
        let verdict = self.flood.check(self.last_heard);
        if verdict == Verdict::Close && !matches!(item, Ok(ws::Message::Close(_))) {
            return self.farewell(ctx, Farewell::Flood);
        }
        let incoming = self.frames.push(item);
        if verdict == Verdict::Drop {
            // Over the rate but within the tolerance: a message (or ping) is dropped whole; a
            // frame that carries none has cost its tolerance and needs nothing more.
            let kind = match &incoming {
                Ok(Some(Incoming::Binary(_) | Incoming::Text(_) | Incoming::Ping(_))) => "message",
                _ => "frame",
            };
            self.deps
                .metrics
                .rate_limited
                .with_label_values(&[kind])
                .inc();
            if kind == "message" {
                return;
            }
        }
        match incoming {
            Ok(None) | Ok(Some(Incoming::Pong)) => {}
            Ok(Some(Incoming::Binary(bytes))) if self.encoding == Encoding::Bincode => {
                self.deps.metrics.messages_in.inc();
                self.deps.metrics.bytes_in.inc_by(bytes.len() as u64);
                self.on_message(&bytes, ctx)
            }
            Ok(Some(Incoming::Text(text))) if self.encoding == Encoding::Json => {
                self.deps.metrics.messages_in.inc();
                self.deps.metrics.bytes_in.inc_by(text.len() as u64);
                self.on_message(text.as_bytes(), ctx)
            }
            Ok(Some(Incoming::Text(_))) => self.farewell(ctx, Farewell::TextFrame),
            Ok(Some(Incoming::Binary(_))) => self.farewell(ctx, Farewell::BinaryFrame),
            Ok(Some(Incoming::Ping(payload))) => ctx.pong(&payload),
            Ok(Some(Incoming::Close(reason))) => {
                debug!(parent: &self.span, ?reason, "client closed");
                self.set_ending(
                    reason.as_ref().map_or(1005, |r| r.code.into()),
                    "client_closed",
                );
                self.leave_room(false);
                self.phase = Phase::Closing;
                // Echo the client's code, as RFC 6455 §5.5.1 asks.
                ctx.close(reason.map(|r| CloseReason {
                    code: r.code,
                    description: None,
                }));
                ctx.stop();
            }
            Err(farewell) => self.farewell(ctx, farewell),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        debug!(parent: &self.span, "connection ended");
        ctx.stop();
    }
}

impl<G: Game> Handler<SnapshotReady> for Session<G> {
    type Result = ();

    fn handle(&mut self, _: SnapshotReady, ctx: &mut Self::Context) {
        let Some(next) = self.slot.take() else {
            return;
        };
        let (Phase::Playing { .. } | Phase::Spectating { .. }, Some(encoder)) =
            (&self.phase, &mut self.encoder)
        else {
            return;
        };
        let tick = next.view.tick();
        self.last_tick = tick;
        // A spectator that took every snapshot sends the room's shared frame (a slot that had
        // to replace a snapshot drops it, and the session encodes its own).
        if let Some(shared) = &next.shared {
            let encode = || {
                let mut out = Vec::with_capacity(1024);
                let events = next.events.iter().flat_map(|batch| batch.iter());
                let mut encoder = SnapshotEncoder::<G>::new(EntityId(0), None, self.encoding);
                match encoder.encode(&next.view, next.inputs, events, &mut out) {
                    Ok(_) => Some(out),
                    Err(e) => {
                        warn!(parent: &self.span, error = %e, "cannot encode snapshot");
                        None
                    }
                }
            };
            let sent = match self.encoding {
                Encoding::Bincode => {
                    shared
                        .bincode(|| encode().map(bytes::Bytes::from))
                        .map(|frame| {
                            self.count_out(frame.len());
                            ctx.binary(frame);
                        })
                }
                Encoding::Json => shared
                    .json(|| encode().and_then(|out| String::from_utf8(out).ok().map(Into::into)))
                    .map(|frame| {
                        self.count_out(frame.len());
                        ctx.text(frame);
                    }),
            };
            if sent.is_some() {
                self.deps.metrics.snapshots_full.inc();
            }
            return;
        }
        let mut out = Vec::with_capacity(256);
        let events = next.events.iter().flat_map(|batch| batch.iter());
        let encoded = encoder.encode(&next.view, next.inputs, events, &mut out);
        match encoded {
            Ok(sent) => {
                let m = &self.deps.metrics;
                let counter = if sent.baseline == 0 {
                    &m.snapshots_full
                } else {
                    &m.snapshots_delta
                };
                counter.inc();
                self.write(ctx, out);
            }
            Err(e) => warn!(parent: &self.span, error = %e, "cannot encode snapshot"),
        }
    }
}

impl<G: Game> Handler<RoomClosed> for Session<G> {
    type Result = ();

    fn handle(&mut self, msg: RoomClosed, ctx: &mut Self::Context) {
        // The room has already let go of the seat.
        self.end_connection(ctx, msg.farewell);
    }
}
