//! `POST /api/matchmake` (issue 12): where a player should play, with a seat held for them.
//!
//! A client asks any process `{"name", "room": null | "NAME", "game"?}` and gets
//! `{"url", "ticket", "room", "server", "game", "reserved_ms"}`: it connects to `url` and sends
//! a `Hello` carrying `ticket`. The seat is held by the lobby of the process the room lives on
//! (counted as taken, so concurrent matchmaking never overfills a room) until the join bearing
//! that ticket arrives, which then takes it whatever else happened meanwhile, or until
//! `seat_reservation_ms` passes and it is released. The ticket names the server, the room and
//! the player; the server accepts it only there.
//!
//! Alone, a process seats players in its own rooms. In a fleet, the process asked routes:
//! - quick-play: to the process with the fullest public room of the game with space, else the
//!   least loaded one not draining, and that process's lobby picks the room;
//! - a named room: to the process holding the name in the directory, else claims the name for
//!   the least loaded process atomically in Redis (`SET NX`), so two matchmakers on two nodes
//!   never create one name twice; a claim held by a process that is gone or refused the room is
//!   dropped (compare-and-delete) and claimed again.
//!
//! The chosen process's seat comes over `POST /api/fleet/seat`, authenticated with a token
//! derived from the shared ticket secret. Every path is bounded: [`ATTEMPTS`] processes, each
//! forward within [`FORWARD_TIMEOUT`].

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix::{Addr, Arbiter};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use arena_shared::Game;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::close::Farewell;
use crate::fleet::ServerEntry;
use crate::operations::ticket::{Claims, unix_now};
use crate::rooms::lobby::Lobby;
use crate::rooms::messages::ReserveSeat;
use crate::text;
use crate::transport::http::{AppState, bearer, constant_time_eq};
use crate::transport::limits::address_key;
use crate::transport::rate::TokenBucket;

/// Processes one matchmake tries before it gives up (quick-play: this many with a room with
/// space, less one, then as many that may open a room).
pub const ATTEMPTS: usize = 3;
/// How long a forward to another process may take.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a whole matchmake may take (the bots wait 5 s).
pub const DEADLINE: Duration = Duration::from_secs(4);
/// Largest request body accepted, bytes: a name, a room and a game.
pub const MAX_BODY: usize = 1024;
/// Addresses whose matchmaking rate is remembered at once; past it, idle ones are forgotten.
pub const MAX_TRACKED_ADDRESSES: usize = 65_536;
/// What fleet processes' forwards authenticate with ([`crate::ticket::TicketAuthority::derived_token`]).
const FORWARD_PURPOSE: &str = "arena fleet seat v1";

/// What a client asks for.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MatchRequest {
    /// The player's name.
    pub name: String,
    /// A room by name (created where the fleet has space if it does not exist), or `None` for
    /// quick-play.
    #[serde(default)]
    pub room: Option<String>,
    /// The game; `None` = the server's default game.
    #[serde(default)]
    pub game: Option<String>,
}

/// Where to play, with a seat held there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchAnswer {
    /// The WebSocket URL of the server holding the seat, for the game asked for.
    pub url: String,
    /// The join ticket: send it in `Hello`.
    pub ticket: String,
    /// The room the seat is in.
    pub room: String,
    /// The server's fleet id (the ticket names it).
    pub server: String,
    /// The game.
    pub game: String,
    /// How long the seat is held, ms.
    pub reserved_ms: u64,
}

/// Why a matchmake found no seat. Each answers with a status and JSON
/// `{"error": reason, "kind": ...}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// The request itself is wrong (name, room, game, body): 400.
    #[error("{0}")]
    BadRequest(String),
    /// Under `auth = "ticket"`: no identity ticket, or a bad one: 401.
    #[error("{0}")]
    Unauthorized(String),
    /// This address asks too often: 429 with `Retry-After`.
    #[error("{0}")]
    RateLimited(String),
    /// This address holds as many named rooms or held seats as it may: 403 (waiting a second
    /// does not help; its rooms emptying or its seats being taken does).
    #[error("{0}")]
    Quota(String),
    /// The room asked for is full: 503.
    #[error("{0}")]
    RoomFull(String),
    /// No process has space for another room (or seat): 503.
    #[error("{0}")]
    ServerFull(String),
    /// The process is draining: 503.
    #[error("{0}")]
    Draining(String),
    /// The directory or the room's process does not answer: 503.
    #[error("{0}")]
    Unavailable(String),
}

impl MatchError {
    /// The `kind` in the JSON answer, also the metric's outcome family.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::RateLimited(_) => "rate_limited",
            Self::Quota(_) => "quota",
            Self::RoomFull(_) => "room_full",
            Self::ServerFull(_) => "server_full",
            Self::Draining(_) => "draining",
            Self::Unavailable(_) => "unavailable",
        }
    }

    fn from_kind(kind: &str, reason: String) -> Self {
        match kind {
            "bad_request" => Self::BadRequest(reason),
            "unauthorized" => Self::Unauthorized(reason),
            "rate_limited" => Self::RateLimited(reason),
            "quota" => Self::Quota(reason),
            "room_full" => Self::RoomFull(reason),
            "server_full" => Self::ServerFull(reason),
            "draining" => Self::Draining(reason),
            _ => Self::Unavailable(reason),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Quota(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Self::BadRequest(_) | Self::Unauthorized(_) => "bad_request",
            Self::RateLimited(_) | Self::Quota(_) => "rate_limited",
            Self::RoomFull(_) | Self::ServerFull(_) => "full",
            Self::Draining(_) | Self::Unavailable(_) => "unavailable",
        }
    }

    fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        if matches!(self, Self::RateLimited(_)) {
            response.insert_header(("Retry-After", "1"));
        }
        response.json(serde_json::json!({ "error": self.to_string(), "kind": self.kind() }))
    }

    /// What a lobby's refusal means to a matchmaker.
    fn of(farewell: Farewell) -> Self {
        let reason = farewell.reason();
        match farewell {
            Farewell::RoomFull(_) => Self::RoomFull(reason),
            Farewell::ServerFull => Self::ServerFull(reason),
            Farewell::RoomQuota(_) | Farewell::HeldSeats(_) => Self::Quota(reason),
            Farewell::Draining | Farewell::ShuttingDown => Self::Draining(reason),
            Farewell::RoomClosed => Self::Unavailable(reason),
            _ => Self::BadRequest(reason),
        }
    }
}

/// A seat to hold in this process's lobby.
pub struct SeatRequest {
    /// Validated room name, or `None` for quick-play.
    pub room: Option<String>,
    /// The ticket nonce that claims it.
    pub nonce: u64,
    /// How long it is held.
    pub hold: Duration,
    /// The client's address, charged for a named room this creates.
    pub creator: Option<IpAddr>,
    /// Whether quick-play may open a room for it ([`ReserveSeat::may_open`]).
    pub may_open: bool,
}

/// Holds a seat in a room of one game: the lobby's [`ReserveSeat`] for that game's type.
pub type Reserve =
    fn(Addr<Lobby>, SeatRequest) -> Pin<Box<dyn Future<Output = Result<String, Farewell>>>>;

/// [`Reserve`] for game `G`.
pub fn reserve<G: Game>(
    lobby: Addr<Lobby>,
    seat: SeatRequest,
) -> Pin<Box<dyn Future<Output = Result<String, Farewell>>>> {
    Box::pin(async move {
        lobby
            .send(ReserveSeat::<G> {
                room: seat.room,
                nonce: seat.nonce,
                hold: seat.hold,
                arbiter: Arbiter::current(),
                creator: seat.creator,
                may_open: seat.may_open,
                game: std::marker::PhantomData,
            })
            .await
            .unwrap_or(Err(Farewell::ShuttingDown))
    })
}

/// Per-address rate limits and the fleet's forwarding credential.
pub struct Matchmaker {
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
    rate: f64,
    /// What a forward presents, and what `/api/fleet/seat` accepts; `None` without a shared
    /// ticket secret (then fleet matchmaking answers 503).
    forward_token: Option<String>,
}

impl Matchmaker {
    /// Allows `per_s` matchmakes a second per address (bursts of twice that); forwards carry
    /// `forward_token`.
    pub fn new(per_s: u32, forward_token: Option<String>) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            rate: f64::from(per_s),
            forward_token,
        }
    }

    /// The credential for forwards, derived from the ticket secret `authority` holds.
    pub fn forward_token(authority: &crate::ticket::TicketAuthority) -> String {
        authority.derived_token(FORWARD_PURPOSE)
    }

    fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED_ADDRESSES && !buckets.contains_key(&ip) {
            // A bucket refilled to its burst says nothing a new one would not.
            buckets.retain(|_, b| !b.is_full(now));
            if buckets.len() >= MAX_TRACKED_ADDRESSES {
                return false;
            }
        }
        buckets
            .entry(ip)
            .or_insert_with(|| TokenBucket::new(self.rate, self.rate * 2.0, now))
            .take(now)
    }
}

/// Under `auth = "ticket"`, who the caller is: the claims of the join ticket in its
/// `Authorization: Bearer` header (signed by the operator's issuer, used up here). Arena's
/// matchmaker must not hand out tickets for any name and room to anyone who asks, or it would
/// undo the operator's authentication.
fn identify(state: &AppState, req: &HttpRequest) -> Result<Option<Claims>, MatchError> {
    let Some(authority) = &state.deps.tickets else {
        return Ok(None);
    };
    let presented = bearer(req).ok_or_else(|| {
        MatchError::Unauthorized(
            "this server requires a join ticket (Authorization: Bearer) to matchmake".into(),
        )
    })?;
    match authority.redeem_identity(presented, unix_now()) {
        Ok(claims) if claims.spectate => Err(MatchError::Unauthorized(
            "this ticket only grants spectating".into(),
        )),
        Ok(claims) => Ok(Some(claims)),
        Err(e) => Err(MatchError::Unauthorized(format!(
            "join ticket refused: {e}"
        ))),
    }
}

/// A request, checked: the player's name, the room's, and the game's.
struct Checked {
    name: String,
    room: Option<String>,
    game: &'static str,
    reserve: Reserve,
}

fn check(state: &AppState, body: &[u8], who: Option<Claims>) -> Result<Checked, MatchError> {
    if body.len() > MAX_BODY {
        return Err(MatchError::BadRequest(format!(
            "request body over {MAX_BODY} bytes"
        )));
    }
    let mut request: MatchRequest = serde_json::from_slice(body)
        .map_err(|e| MatchError::BadRequest(format!("bad request body: {e}")))?;
    // An identity ticket's name is the player's, and its room, when it names one, too.
    if let Some(who) = who {
        request.name = who.name;
        request.room = who.room.or(request.room);
    }
    let name = text::player_name(&request.name)
        .map_err(|why| MatchError::BadRequest(format!("bad name: {why}")))?;
    let room = request
        .room
        .as_deref()
        .map(text::room_name)
        .transpose()
        .map_err(|why| MatchError::BadRequest(format!("bad room name: {why}")))?;
    let (game, reserve) = state
        .endpoints
        .reserver(request.game.as_deref())
        .ok_or_else(|| {
            MatchError::BadRequest(format!(
                "no game {} here",
                request.game.as_deref().unwrap_or_default()
            ))
        })?;
    Ok(Checked {
        name,
        room,
        game,
        reserve,
    })
}

/// The WebSocket URL of `game` on the server whose default game's URL is `base`.
fn game_url(base: &str, game: &str, default_game: Option<&str>) -> String {
    if Some(game) == default_game {
        base.to_owned()
    } else {
        format!("{}/{game}", base.trim_end_matches('/'))
    }
}

/// Holds a seat in this process and signs its ticket.
async fn seat_here(
    state: &AppState,
    request: &Checked,
    creator: Option<IpAddr>,
    may_open: bool,
) -> Result<MatchAnswer, MatchError> {
    let config = &state.deps.config;
    let nonce = rand::random();
    let hold = config.seat_reservation();
    let room = (request.reserve)(
        state.deps.lobby.clone(),
        SeatRequest {
            room: request.room.clone(),
            nonce,
            hold,
            creator,
            may_open,
        },
    )
    .await
    .map_err(MatchError::of)?;
    // Whole seconds, rounded up, and one more: the ticket outlives its seat, so a join that
    // comes within the hold is never refused as expired.
    let expires = unix_now() + config.seat_reservation_ms.div_ceil(1000) + 1;
    let claims = Claims::player(request.name.clone(), Some(room.clone()), expires, nonce)
        .on_server(config.server_id.clone());
    Ok(MatchAnswer {
        url: game_url(
            &config.public_url,
            request.game,
            state.endpoints.default_game(),
        ),
        ticket: state.deps.matchmade.issue(&claims),
        room,
        server: config.server_id.clone(),
        game: request.game.to_owned(),
        reserved_ms: config.seat_reservation_ms,
    })
}

/// The client's address, for the rate limit and the room and seat quotas: the TCP peer's (a
/// reverse proxy in front makes every client one address).
fn client_of(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|a| address_key(a.ip()))
}

/// `POST /api/matchmake`.
pub async fn matchmake(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    let metrics = &state.deps.metrics;
    let client = client_of(&req);
    let result = match client {
        Some(ip) if !state.matchmaker.allow(ip, started) => Err(MatchError::RateLimited(format!(
            "too many matchmaking requests from your address (limit {}/s)",
            state.deps.config.matchmake_per_ip_per_s
        ))),
        _ => match identify(&state, &req).and_then(|who| check(&state, &body, who)) {
            // Bounded as a whole, below what a client waits: a matchmake that gives up late
            // holds a seat nobody comes for.
            Ok(request) => tokio::time::timeout(DEADLINE, route(&state, &request, client))
                .await
                .unwrap_or_else(|_| {
                    Err(MatchError::Unavailable(format!(
                        "no seat found within {DEADLINE:?}"
                    )))
                }),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(answer) => {
            metrics.matchmakes.with_label_values(&["ok"]).inc();
            metrics
                .matchmake_seconds
                .observe(started.elapsed().as_secs_f64());
            HttpResponse::Ok().json(answer)
        }
        Err(e) => {
            metrics.matchmakes.with_label_values(&[e.outcome()]).inc();
            debug!(peer = ?client, error = %e, "matchmake refused");
            e.response()
        }
    }
}

/// A forward's body: the request, checked by the process it came through, and the client's
/// address (charged for a named room it creates).
#[derive(Serialize, Deserialize)]
struct Forward {
    request: MatchRequest,
    client: Option<IpAddr>,
    /// Quick-play may open a room there; `false` when the directory picked the process for a
    /// public room with space, so a stale listing never piles new rooms on the fullest one.
    may_open: bool,
}

/// `POST /api/fleet/seat`: a fleet peer holds a seat here for its client.
pub async fn fleet_seat(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let presented = bearer(&req).unwrap_or_default();
    let authorised = state
        .matchmaker
        .forward_token
        .as_deref()
        .is_some_and(|token| constant_time_eq(presented.as_bytes(), token.as_bytes()));
    if !authorised {
        return HttpResponse::Unauthorized().json(serde_json::json!({
            "error": "fleet credential required", "kind": "unauthorized"
        }));
    }
    let result = async {
        let forward: Forward = serde_json::from_slice(&body)
            .map_err(|e| MatchError::BadRequest(format!("bad forward: {e}")))?;
        let request = serde_json::to_vec(&forward.request).unwrap_or_default();
        // The peer checked the caller's identity; the name and room are the ones it settled.
        let checked = check(&state, &request, None)?;
        seat_here(
            &state,
            &checked,
            forward.client.map(address_key),
            forward.may_open,
        )
        .await
    }
    .await;
    match result {
        Ok(answer) => HttpResponse::Ok().json(answer),
        Err(e) => e.response(),
    }
}

/// Where a request goes: this process alone, or the fleet's choice.
async fn route(
    state: &AppState,
    request: &Checked,
    client: Option<IpAddr>,
) -> Result<MatchAnswer, MatchError> {
    let Some(fleet) = &state.fleet else {
        return seat_here(state, request, client, true).await;
    };
    let Some(token) = &state.matchmaker.forward_token else {
        return Err(MatchError::Unavailable(
            "fleet matchmaking needs a ticket_secret shared by the fleet".into(),
        ));
    };
    let servers = fleet
        .recent_servers()
        .await
        .map_err(|e| MatchError::Unavailable(e.to_string()))?;
    let via = Via {
        state,
        token,
        client,
    };
    match &request.room {
        Some(room) => named(&via, fleet, &servers, request, room).await,
        None => quick_play(&via, &servers, request).await,
    }
}

/// What a seat anywhere in the fleet needs.
struct Via<'a> {
    state: &'a AppState,
    token: &'a str,
    client: Option<IpAddr>,
}

impl Via<'_> {
    /// A seat on `server`: here, or over a forward.
    async fn seat_on(
        &self,
        server: &ServerEntry,
        request: &Checked,
        may_open: bool,
    ) -> Result<MatchAnswer, MatchError> {
        if server.id == self.state.deps.config.server_id {
            return seat_here(self.state, request, self.client, may_open).await;
        }
        let forward = Forward {
            request: MatchRequest {
                name: request.name.clone(),
                room: request.room.clone(),
                game: Some(request.game.to_owned()),
            },
            client: self.client,
            may_open,
        };
        let target = format!("{}/api/fleet/seat", http_base(&server.url));
        forward_to(&target, self.token, &forward).await.inspect_err(|e| {
            if matches!(e, MatchError::Unavailable(_)) {
                warn!(server = %server.id, error = %e, "a fleet peer did not seat a matchmade player");
            }
        })
    }
}

/// The HTTP origin of a server whose WebSocket URL is `ws_url` (same host and port).
fn http_base(ws_url: &str) -> String {
    let rest = ws_url
        .strip_prefix("ws://")
        .map(|r| ("http://", r))
        .or_else(|| ws_url.strip_prefix("wss://").map(|r| ("https://", r)));
    match rest {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}{host}")
        }
        None => ws_url.trim_end_matches('/').to_owned(),
    }
}

thread_local! {
    /// One HTTP client per worker thread: it keeps connections to the peers open.
    static CLIENT: awc::Client = awc::Client::builder()
        .timeout(FORWARD_TIMEOUT)
        .disable_redirects()
        .finish();
}

async fn forward_to(
    target: &str,
    token: &str,
    forward: &Forward,
) -> Result<MatchAnswer, MatchError> {
    let request = CLIENT.with(|client| {
        client
            .post(target)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(forward)
    });
    let mut response = request
        .await
        .map_err(|e| MatchError::Unavailable(format!("the room's server did not answer: {e}")))?;
    let body =
        response.body().limit(16 * 1024).await.map_err(|e| {
            MatchError::Unavailable(format!("the room's server did not answer: {e}"))
        })?;
    if response.status().is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            MatchError::Unavailable(format!("the room's server answered nonsense: {e}"))
        });
    }
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let reason = error["error"].as_str().map_or_else(
        || format!("the room's server answered {}", response.status()),
        str::to_owned,
    );
    Err(MatchError::from_kind(
        error["kind"].as_str().unwrap_or("unavailable"),
        reason,
    ))
}

/// How loaded a server is: players over capacity, then rooms (equals stay in the order given).
fn by_load(a: &&ServerEntry, b: &&ServerEntry) -> std::cmp::Ordering {
    let load = |s: &ServerEntry| {
        let seated: usize = s.players + s.rooms.iter().map(|r| r.reserved).sum::<usize>();
        seated as f64 / s.capacity.max(1) as f64
    };
    load(a)
        .total_cmp(&load(b))
        .then(a.rooms.len().cmp(&b.rooms.len()))
}

/// Servers that may take a new room (not draining, below their room cap), the one to try first
/// first: the less loaded of two picked at random (the "power of two choices"), then the rest
/// by load. Strictly least loaded would send every new room to one process for as long as the
/// listing is old (up to a registrar period): loads change only when it is rewritten.
fn open_for_rooms(servers: &[ServerEntry]) -> Vec<&ServerEntry> {
    let mut open: Vec<&ServerEntry> = servers
        .iter()
        .filter(|s| !s.draining && (s.max_rooms == 0 || s.rooms.len() < s.max_rooms))
        .collect();
    // Shuffled first: equals (a fresh fleet, or a listing older than the last few rooms) are
    // then in random order, not always the same one last.
    rand::seq::SliceRandom::shuffle(open.as_mut_slice(), &mut rand::rng());
    open.sort_by(by_load);
    if open.len() > 2 {
        let a = rand::random_range(0..open.len());
        let b = (a + rand::random_range(1..open.len())) % open.len();
        // Sorted by load: the lower index is the less loaded of the two.
        let first = open.remove(a.min(b));
        open.insert(0, first);
    }
    open
}

async fn quick_play(
    via: &Via<'_>,
    servers: &[ServerEntry],
    request: &Checked,
) -> Result<MatchAnswer, MatchError> {
    // The fullest public room of the game with space, per server; those servers first.
    let fullest = |s: &ServerEntry| {
        s.rooms
            .iter()
            .filter(|r| {
                r.public && r.game == request.game && r.players + r.reserved < r.max_players
            })
            .map(|r| r.players + r.reserved)
            .max()
    };
    let mut with_space: Vec<(&ServerEntry, usize)> = servers
        .iter()
        .filter(|s| !s.draining)
        .filter_map(|s| fullest(s).map(|n| (s, n)))
        .collect();
    with_space.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    // Servers with a room with space only join it; then the least loaded may open one.
    // Each list is bounded on its own, so a listing of full rooms never uses up every try.
    let mut candidates: Vec<(&ServerEntry, bool)> = with_space
        .into_iter()
        .take(ATTEMPTS - 1)
        .map(|(s, _)| (s, false))
        .collect();
    candidates.extend(
        open_for_rooms(servers)
            .into_iter()
            .take(ATTEMPTS - 1)
            .map(|s| (s, true)),
    );
    let mut last = MatchError::ServerFull("no server in the fleet has a seat".into());
    for (server, may_open) in candidates {
        match via.seat_on(server, request, may_open).await {
            Ok(answer) => return Ok(answer),
            // The directory is a period old: the next candidate may have the seat.
            Err(
                e @ (MatchError::RoomFull(_)
                | MatchError::ServerFull(_)
                | MatchError::Draining(_)
                | MatchError::Unavailable(_)),
            ) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

async fn named(
    via: &Via<'_>,
    fleet: &crate::fleet::Fleet,
    servers: &[ServerEntry],
    request: &Checked,
    room: &str,
) -> Result<MatchAnswer, MatchError> {
    let unavailable = |e: crate::fleet::FleetError| MatchError::Unavailable(e.to_string());
    let mut refused: Vec<String> = Vec::new();
    let mut last =
        MatchError::ServerFull("no server in the fleet has space for another room".into());
    for _ in 0..ATTEMPTS {
        let owner = match fleet.owner(room).await.map_err(unavailable)? {
            Some(owner) => owner,
            None => {
                let Some(pick) = open_for_rooms(servers)
                    .into_iter()
                    .find(|s| !refused.contains(&s.id))
                else {
                    return Err(last);
                };
                fleet.claim(room, &pick.id).await.map_err(unavailable)?
            }
        };
        let mut holder = servers.iter().find(|s| s.id == owner).cloned();
        if holder.is_none() {
            // The cached listing may be older than the holder: ask Redis before calling it gone.
            holder = fleet
                .servers()
                .await
                .map_err(unavailable)?
                .into_iter()
                .find(|s| s.id == owner);
        }
        let Some(server) = holder else {
            // Its entry expired: the holder is dead, and its claim may go.
            fleet.release(room, &owner).await.map_err(unavailable)?;
            refused.push(owner);
            continue;
        };
        match via.seat_on(&server, request, true).await {
            Ok(answer) => return Ok(answer),
            // The holder could not open the room, so it is not there: another may have the name.
            // A name is released only on such proof, else two processes could each open a room
            // of it; a claim whose room never opened (a drain) expires by itself within the TTL.
            Err(e @ MatchError::ServerFull(_)) => {
                fleet.release(room, &owner).await.map_err(unavailable)?;
                refused.push(owner);
                last = e;
            }
            // Not answering is proof only once the directory has dropped it too (it left, or
            // its entry expired); a process that is merely slow or cut off from here keeps it.
            Err(e @ MatchError::Unavailable(_)) => {
                let listed = fleet.servers().await.map_err(unavailable)?;
                if listed.iter().any(|s| s.id == owner) {
                    return Err(e);
                }
                fleet.release(room, &owner).await.map_err(unavailable)?;
                refused.push(owner);
                last = e;
            }
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_game_url_extends_the_default_games() {
        assert_eq!(
            game_url("ws://h:1/ws", "shooter", Some("shooter")),
            "ws://h:1/ws"
        );
        assert_eq!(
            game_url("ws://h:1/ws", "tron", Some("shooter")),
            "ws://h:1/ws/tron"
        );
    }

    #[test]
    fn a_peers_http_origin_is_its_websocket_urls() {
        assert_eq!(http_base("ws://10.0.0.7:7001/ws"), "http://10.0.0.7:7001");
        assert_eq!(http_base("wss://a.example/ws"), "https://a.example");
    }

    #[test]
    fn the_rate_limit_is_per_address_and_refills() {
        let m = Matchmaker::new(2, None);
        let now = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        // A burst of twice the rate, then no more.
        assert!((0..4).all(|_| m.allow(a, now)));
        assert!(!m.allow(a, now));
        assert!(m.allow(b, now));
        assert!(m.allow(a, now + Duration::from_millis(600)));
    }

    #[test]
    fn refusals_map_to_statuses_and_kinds() {
        let full = MatchError::of(Farewell::RoomFull("duel (2/2)".into()));
        assert_eq!(
            (full.status(), full.kind()),
            (StatusCode::SERVICE_UNAVAILABLE, "room_full")
        );
        let bad = MatchError::of(Farewell::WrongGame("room duel plays tron".into()));
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        for e in [full, bad, MatchError::Draining("d".into())] {
            assert_eq!(MatchError::from_kind(e.kind(), e.to_string()), e);
        }
    }
}
