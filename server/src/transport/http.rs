//! HTTP routes: the `/ws/{game}` upgrades and the JSON API.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use tracing::debug;

use crate::fleet::Fleet;
use crate::matchmaker::{Matchmaker, Reserve};
use crate::operations::replays;
use crate::operations::ticket::{TicketError, unix_now};
use crate::rooms::catalog::Catalog;
use crate::rooms::messages::{FindRoom, ListRooms, StateHeader};
use crate::server::DrainState;
use crate::transport::limits::{ConnectionLimits, Permit, Refusal, origin_allowed};
use crate::transport::session::{self, Purpose, ReplayToWatch, SessionDeps};
use crate::transport::text;
use arena_shared::Game;
use arena_shared::encoding::Encoding;

/// Upgrades a request to a session of one game ([`session::upgrade`] for that game).
type Upgrade = fn(
    &HttpRequest,
    web::Payload,
    SessionDeps,
    u64,
    Vec<Permit>,
    Purpose,
) -> Result<HttpResponse, actix_web::Error>;

/// Each game's WebSocket endpoint: `/ws/{game}`, and `/ws` for the first game added.
#[derive(Clone, Default)]
pub struct Endpoints {
    by_game: HashMap<&'static str, (Upgrade, Reserve)>,
    default: Option<&'static str>,
}

impl Endpoints {
    /// Serves game `G` on `/ws/{G::NAME}` (and on `/ws` if it is the first).
    pub fn add<G: Game>(&mut self) {
        self.by_game.insert(
            G::NAME,
            (session::upgrade::<G>, crate::matchmaker::reserve::<G>),
        );
        self.default.get_or_insert(G::NAME);
    }

    fn get(&self, game: Option<&str>) -> Option<Upgrade> {
        self.by_game.get(game.or(self.default)?).map(|e| e.0)
    }

    /// The game named (`None` = the default) and how to hold a seat in one of its rooms.
    pub fn reserver(&self, game: Option<&str>) -> Option<(&'static str, Reserve)> {
        let (name, entry) = self.by_game.get_key_value(game.or(self.default)?)?;
        Some((name, entry.1))
    }

    /// The default game, played on `/ws`.
    pub fn default_game(&self) -> Option<&'static str> {
        self.default
    }

    /// The name of the game an endpoint serves (`None` = `/ws`, the default game).
    fn name(&self, game: Option<&str>) -> Option<&'static str> {
        let (name, _) = self.by_game.get_key_value(game.or(self.default)?)?;
        Some(name)
    }
}

/// State every worker's routes share.
#[derive(Clone)]
pub struct AppState {
    /// What sessions need.
    pub deps: SessionDeps,
    /// Source of session ids for logs.
    pub next_session: Arc<AtomicU64>,
    /// Open-connection caps.
    pub limits: Arc<ConnectionLimits>,
    /// Open spectator connections per address (`max_spectators_per_ip`).
    pub spectator_limits: Arc<ConnectionLimits>,
    /// Each game's session upgrade.
    pub endpoints: Arc<Endpoints>,
    /// The games and their maps, for `GET /api/games`.
    pub catalog: Arc<Catalog>,
    /// This process's place in the fleet, with `fleet_url` set.
    pub fleet: Option<Arc<Fleet>>,
    /// Draining: asked for, under way.
    pub drain: Arc<DrainState>,
    /// `POST /api/matchmake`'s rate limits and fleet credential.
    pub matchmaker: Arc<Matchmaker>,
}

/// Registers Arena's routes; `/echo` only when `echo` is on.
pub fn routes(cfg: &mut web::ServiceConfig, echo: bool) {
    cfg.route("/ws", web::get().to(ws))
        .route("/ws/{game}", web::get().to(ws))
        .route("/", web::get().to(web_page))
        .route("/app.js", web::get().to(web_page))
        .route("/api/games", web::get().to(games))
        .route("/api/rooms", web::get().to(rooms))
        .route("/api/fleet", web::get().to(fleet))
        // Bodies are a name, a room and a game: read at most 4 KiB of one (the handlers say
        // why past 1 KiB), not the default 256 KiB.
        .service(
            web::resource("/api/matchmake")
                .app_data(web::PayloadConfig::new(4 * crate::matchmaker::MAX_BODY))
                .route(web::post().to(crate::matchmaker::matchmake)),
        )
        .service(
            web::resource("/api/fleet/seat")
                .app_data(web::PayloadConfig::new(4 * crate::matchmaker::MAX_BODY))
                .route(web::post().to(crate::matchmaker::fleet_seat)),
        )
        .route("/api/admin/drain", web::post().to(admin_drain))
        .route("/api/replays", web::get().to(replays))
        .route("/api/replays/{id}", web::get().to(replay_info))
        .route("/api/rooms/{name}/state", web::get().to(room_state))
        .route("/metrics", web::get().to(metrics))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
    if echo {
        cfg.route("/echo", web::get().to(echo_ws));
    }
}

async fn echo_ws(req: HttpRequest, stream: web::Payload) -> Result<HttpResponse, actix_web::Error> {
    session::upgrade_echo(&req, stream)
}

async fn ws(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let refused = |reason: &str| {
        state
            .deps
            .metrics
            .connections_refused
            .with_label_values(&[reason])
            .inc()
    };
    if *state.deps.draining.borrow() {
        refused("draining");
        return Ok(HttpResponse::ServiceUnavailable().body("server shutting down"));
    }
    let game = req.match_info().get("game");
    let Some(upgrade) = state.endpoints.get(game) else {
        refused("no_such_game");
        let known: Vec<_> = state.catalog.list().into_iter().map(|g| g.name).collect();
        return Ok(HttpResponse::NotFound().body(format!(
            "no game {} here (games: {})",
            game.unwrap_or_default(),
            known.join(", ")
        )));
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("<not text>"));
    if !origin_allowed(&state.deps.config.allowed_origins, origin) {
        debug!(?origin, peer = ?req.peer_addr(), "refused: origin not allowed");
        refused("origin");
        return Ok(HttpResponse::Forbidden().body(format!(
            "origin {} is not allowed",
            origin.unwrap_or_default()
        )));
    }
    let (mut purpose, replay) = match purpose_of(&req) {
        Ok(p) => p,
        Err(why) => {
            debug!(peer = ?req.peer_addr(), %why, "refused: bad upgrade request");
            refused("bad_request");
            return Ok(HttpResponse::BadRequest().body(why));
        }
    };
    if let Some(id) = replay {
        let game = state.endpoints.name(game).unwrap_or_default();
        match replay_to_watch(&state, &id, game).await {
            Ok(r) => purpose.replay = Some(r),
            Err((status, why)) => {
                debug!(peer = ?req.peer_addr(), %why, "refused: replay");
                refused("replay");
                return Ok(HttpResponse::build(status).body(why));
            }
        }
    }
    let ip = req
        .peer_addr()
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
    let permit = match state.limits.admit(ip) {
        Ok(p) => p,
        Err(Refusal::ServerFull(n)) => {
            debug!(%ip, "refused: server connection limit");
            refused("server_full");
            return Ok(HttpResponse::ServiceUnavailable()
                .body(format!("server is at its limit of {n} connections")));
        }
        Err(Refusal::AddressFull(n)) => {
            debug!(%ip, "refused: per-address connection limit");
            refused("address_full");
            return Ok(HttpResponse::TooManyRequests().body(format!(
                "too many connections from your address (limit {n})"
            )));
        }
    };
    let mut permits = vec![permit];
    if purpose.spectate.is_some() || purpose.replay.is_some() {
        match state.spectator_limits.admit(ip) {
            Ok(p) => permits.push(p),
            Err(Refusal::ServerFull(n) | Refusal::AddressFull(n)) => {
                debug!(%ip, "refused: per-address spectator limit");
                refused("spectators_per_address");
                return Ok(HttpResponse::TooManyRequests().body(format!(
                    "too many spectator connections from your address (limit {n})"
                )));
            }
        }
    }
    let id = state.next_session.fetch_add(1, Ordering::Relaxed);
    upgrade(&req, stream, state.deps.clone(), id, permits, purpose)
}

/// Reads replay `id` for a viewer on game `game`'s endpoint: the server must keep replays, the
/// id must name one of them, of this game; under `auth = "ticket"` its room must have closed
/// (a live room's replay would show what its spectators may only see late). The status and
/// reason of a refusal.
async fn replay_to_watch(
    state: &AppState,
    id: &str,
    game: &str,
) -> Result<ReplayToWatch, (StatusCode, String)> {
    let config = &state.deps.config;
    if config.replay_dir.as_os_str().is_empty() {
        return Err((StatusCode::NOT_FOUND, "this server keeps no replays".into()));
    }
    let Some(path) = replays::path_of(&config.replay_dir, id) else {
        return Err((StatusCode::NOT_FOUND, format!("no replay {id}")));
    };
    // A file over the room cap was written under another config: bounded all the same.
    let cap = config.max_replay_bytes_per_room + replays::MAX_OVERSHOOT;
    let read = web::block(move || {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(cap + 1)
            .read_to_end(&mut bytes)?;
        Ok::<_, std::io::Error>(bytes)
    })
    .await;
    let bytes = match read {
        Ok(Ok(b)) if b.len() as u64 <= cap => b,
        Ok(Ok(_)) => {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("replay {id} is over {cap} bytes"),
            ));
        }
        Ok(Err(e)) => {
            return Err((
                StatusCode::NOT_FOUND,
                format!("cannot read replay {id}: {e}"),
            ));
        }
        Err(_) => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot read replays now".into(),
            ));
        }
    };
    match arena_shared::replay::game_of(&bytes) {
        Ok(of) if of == game => {}
        Ok(of) => {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("replay {id} is of {of}: watch it on /ws/{of}"),
            ));
        }
        Err(e) => {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("replay {id}: {e}"),
            ));
        }
    }
    if config.auth == crate::operations::config::Auth::Ticket {
        let open = state.deps.lobby.send(ListRooms).await.unwrap_or_default();
        let live = replays::list(&config.replay_dir, replays::MAX_LISTED)
            .into_iter()
            .find(|r| r.id == id)
            .is_some_and(|r| open.iter().any(|o| o.id == r.room_id && o.name == r.room));
        if live {
            return Err((
                StatusCode::FORBIDDEN,
                format!(
                    "replay {id} is still recording; with tickets, replays open when their room closes"
                ),
            ));
        }
    }
    Ok(ReplayToWatch {
        id: id.to_owned(),
        bytes: Arc::new(bytes),
    })
}

/// The encoding a client asks for (`Sec-WebSocket-Protocol`), whether it spectates
/// (`?spectate=ROOM`) and which replay it watches (`?replay=ID`, read by the caller); an offer
/// of only unknown subprotocols, or a bad room name, is refused with the reason.
fn purpose_of(req: &HttpRequest) -> Result<(Purpose, Option<String>), String> {
    let offer = match req.headers().get(header::SEC_WEBSOCKET_PROTOCOL) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| "Sec-WebSocket-Protocol is not text".to_owned())?,
        ),
    };
    let subprotocol = Encoding::negotiate(offer).map_err(|e| e.to_string())?;
    let query = web::Query::<WsQuery>::from_query(req.query_string())
        .map_err(|e| format!("bad query: {e}"))?;
    let spectate = match &query.spectate {
        None => None,
        Some(room) => Some(text::room_name(room).map_err(|why| format!("bad room name: {why}"))?),
    };
    if spectate.is_some() && query.replay.is_some() {
        return Err("spectate a room or watch a replay, not both".into());
    }
    let purpose = Purpose {
        subprotocol,
        spectate,
        ticket: query.ticket.clone(),
        replay: None,
    };
    Ok((purpose, query.replay.clone()))
}

/// The query string `/ws` understands.
#[derive(serde::Deserialize)]
struct WsQuery {
    /// Watch this room instead of playing.
    spectate: Option<String>,
    /// Watch this replay instead of playing.
    replay: Option<String>,
    /// A spectator ticket, when the server has `auth = "ticket"` (browsers cannot set headers
    /// on a WebSocket request).
    ticket: Option<String>,
}

/// Prometheus text exposition.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.deps.metrics.render())
}

/// Liveness: the process serves HTTP.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// Readiness: accepting players; 503 once draining.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if *state.deps.draining.borrow() || state.drain.draining.load(Ordering::Relaxed) {
        HttpResponse::ServiceUnavailable().body("draining")
    } else {
        HttpResponse::Ok().body("ready")
    }
}

/// `GET /api/games`: the games this server hosts, their maps and the room options' limits.
async fn games(state: web::Data<AppState>) -> HttpResponse {
    let c = &state.deps.config;
    HttpResponse::Ok().json(serde_json::json!({
        "games": state.catalog.list(),
        "limits": {
            "max_players": c.max_players,
            "tick_rate": c.tick_rate,
            "max_tick_rate": c.effective_max_tick_rate(),
            "snapshot_rate": c.effective_snapshot_rate(),
        },
    }))
}

async fn rooms(state: web::Data<AppState>) -> HttpResponse {
    match state.deps.lobby.send(ListRooms).await {
        Ok(rooms) => HttpResponse::Ok().json(rooms),
        Err(_) => HttpResponse::ServiceUnavailable().body("lobby unavailable"),
    }
}

/// `POST /api/admin/drain` with `Authorization: Bearer <admin_token>`: starts draining, as
/// SIGTERM does (202). 404 when no admin token is configured, 401 without the right one.
async fn admin_drain(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let token = &state.deps.config.admin_token;
    if token.is_empty() {
        return HttpResponse::NotFound().body("no admin token configured");
    }
    let presented = bearer(&req).unwrap_or_default();
    if !constant_time_eq(presented.as_bytes(), token.as_bytes()) {
        return HttpResponse::Unauthorized().body("admin token required");
    }
    state.drain.requested.notify_one();
    HttpResponse::Accepted().body("draining")
}

/// The token of an `Authorization: Bearer TOKEN` header, if the request has one.
pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Equality that takes as long whatever the first differing byte: a token compared with `==`
/// leaks how much of a guess was right through the answer's timing.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /api/fleet`: every live server with its URL, rooms, players, capacity and draining
/// flag, from the fleet directory; without one, this process alone. 503 with the reason when
/// the directory does not answer.
async fn fleet(state: web::Data<AppState>) -> HttpResponse {
    let Some(fleet) = &state.fleet else {
        let rooms = state.deps.lobby.send(ListRooms).await.unwrap_or_default();
        let c = &state.deps.config;
        let server = crate::fleet::ServerEntry {
            id: c.server_id.clone(),
            url: c.public_url.clone(),
            capacity: (c.max_rooms * c.max_players).min(c.max_connections),
            max_rooms: c.max_rooms,
            players: rooms.iter().map(|r| r.players).sum(),
            draining: state.drain.draining.load(Ordering::Relaxed),
            updated_unix_ms: unix_now() * 1000,
            rooms: rooms.iter().map(crate::fleet::RoomEntry::of).collect(),
        };
        return HttpResponse::Ok()
            .json(serde_json::json!({ "directory": null, "servers": [server] }));
    };
    match fleet.servers().await {
        Ok(servers) => {
            HttpResponse::Ok().json(serde_json::json!({ "directory": "redis", "servers": servers }))
        }
        Err(e) => {
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "error": e.to_string() }))
        }
    }
}

/// `GET /api/replays`: the newest replays in `replay_dir` (at most
/// [`replays::MAX_LISTED`]), newest first, each marked `live` while its room is open here.
async fn replays(state: web::Data<AppState>) -> HttpResponse {
    let dir = state.deps.config.replay_dir.clone();
    if dir.as_os_str().is_empty() {
        return HttpResponse::Ok().json(serde_json::json!({ "replays": [] }));
    }
    let Ok(mut listed) = web::block(move || replays::list(&dir, replays::MAX_LISTED)).await else {
        return HttpResponse::ServiceUnavailable().body("cannot list replays");
    };
    let open = state.deps.lobby.send(ListRooms).await.unwrap_or_default();
    let now = unix_now() as f64;
    for replay in &mut listed {
        // Room ids restart with the process: the same id and name is this room only if it
        // opened when the file was started.
        replay.live = open.iter().any(|r| {
            r.id == replay.room_id
                && r.name == replay.room
                && (now - r.uptime_s - replay.started_unix_s as f64).abs() <= 2.0
        });
    }
    HttpResponse::Ok().json(serde_json::json!({ "replays": listed }))
}

/// `GET /api/replays/{id}`: one replay's game, room, map, rates and length in ticks, for a
/// player's seek bar; 404 for an id the server does not have.
async fn replay_info(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let config = &state.deps.config;
    let Some(path) = replays::path_of(&config.replay_dir, &id) else {
        return HttpResponse::NotFound()
            .json(serde_json::json!({ "error": format!("no replay {id}") }));
    };
    let cap = config.max_replay_bytes_per_room + replays::MAX_OVERSHOOT;
    let summary = web::block(move || {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(cap)
            .read_to_end(&mut bytes)?;
        Ok::<_, std::io::Error>(crate::games::replay_summary(&bytes))
    })
    .await;
    match summary {
        Ok(Ok(Ok(mut info))) => {
            info["id"] = serde_json::Value::from(id.as_str());
            HttpResponse::Ok().json(info)
        }
        Ok(Ok(Err(e))) => HttpResponse::UnprocessableEntity()
            .json(serde_json::json!({ "error": format!("replay {id}: {e}") })),
        Ok(Err(e)) => HttpResponse::NotFound()
            .json(serde_json::json!({ "error": format!("cannot read replay {id}: {e}") })),
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "error": "cannot read replays now" })),
    }
}

/// The browser client, built into the binary (`assets/web/`).
const WEB_FILES: [(&str, &str, &str); 2] = [
    (
        "/",
        "index.html",
        include_str!("../../../assets/web/index.html"),
    ),
    (
        "/app.js",
        "app.js",
        include_str!("../../../assets/web/app.js"),
    ),
];

/// `GET /` and its script: the built-in copy, or the file in `web_dir` when one is set (to
/// work on the client without rebuilding).
async fn web_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(&(_, file, built_in)) = WEB_FILES.iter().find(|(path, ..)| *path == req.path()) else {
        return HttpResponse::NotFound().finish();
    };
    let content_type = if file.ends_with(".js") {
        "text/javascript; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    };
    let dir = &state.deps.config.web_dir;
    let body = if dir.as_os_str().is_empty() {
        built_in.to_owned()
    } else {
        let path = dir.join(file);
        match web::block(move || std::fs::read_to_string(path)).await {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                return HttpResponse::InternalServerError()
                    .body(format!("cannot read {file} from web_dir: {e}"));
            }
            Err(e) => {
                return HttpResponse::InternalServerError()
                    .body(format!("cannot read {file} from web_dir: {e}"));
            }
        }
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// `GET /api/rooms/{name}/state`: the room's newest snapshot as JSON (every entity, as a
/// spectator sees it), with an `ETag` of its tick so an unchanged state costs a 304.
async fn room_state(
    req: HttpRequest,
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let name = match text::room_name(&name) {
        Ok(n) => n,
        Err(why) => return HttpResponse::BadRequest().body(format!("bad room name: {why}")),
    };
    if let Some(refused) = state_ticket_refusal(&req, &state, &name) {
        return refused;
    }
    let found = match state.deps.lobby.send(FindRoom { name: name.clone() }).await {
        Ok(found) => found,
        Err(_) => return HttpResponse::ServiceUnavailable().body("lobby unavailable"),
    };
    let Some(found) = found else {
        return HttpResponse::NotFound().body(format!("no room {name}"));
    };
    let stats = &found.stats;
    let latest = stats
        .latest
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let Some(view) = latest else {
        return HttpResponse::ServiceUnavailable().body("the room has not ticked yet");
    };
    let etag = format!("\"{}\"", view.tick());
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    let body = {
        let mut cache = stats
            .latest_json
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*cache {
            Some((tick, body)) if *tick == view.tick() => body.clone(),
            _ => {
                let header = StateHeader {
                    room: &found.name,
                    game: found.game,
                    tick: view.tick(),
                    tick_rate: found.tick_rate,
                    origin_unix_ms: stats.origin_unix_ms.load(Ordering::Relaxed),
                };
                let body = match view.to_json(header) {
                    Ok(b) => bytes::Bytes::from(b),
                    Err(e) => return HttpResponse::InternalServerError().body(e.to_string()),
                };
                *cache = Some((view.tick(), body.clone()));
                body
            }
        }
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// Under `auth = "ticket"`, the state of a room is a spectator's view: it needs a spectator
/// ticket for the room, as `Authorization: Bearer TICKET` or `?ticket=TICKET`. The ticket is
/// checked, not used up, since a poller asks many times; it is good until it expires. No
/// ticket: 401; a bad one: 403 with the reason.
fn state_ticket_refusal(req: &HttpRequest, state: &AppState, room: &str) -> Option<HttpResponse> {
    let authority = state.deps.tickets.as_ref()?;
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        // RFC 7235: the scheme is case-insensitive.
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let ticket = from_header.or_else(|| {
        web::Query::<WsQuery>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.ticket.clone())
    });
    let refuse = |status: actix_web::http::StatusCode, e: TicketError| {
        state
            .deps
            .metrics
            .connections_refused
            .with_label_values(&["bad_ticket"])
            .inc();
        Some(
            HttpResponse::build(status)
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .body(format!("spectator ticket refused: {e}")),
        )
    };
    let Some(ticket) = ticket else {
        return refuse(StatusCode::UNAUTHORIZED, TicketError::Missing);
    };
    let verdict = authority.check_spectator(&ticket, room, unix_now());
    verdict.err().and_then(|e| refuse(StatusCode::FORBIDDEN, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_client_speaks_this_protocol_version() {
        let (_, _, script) = WEB_FILES[1];
        let line = format!(
            "const PROTOCOL_VERSION = {};",
            arena_shared::PROTOCOL_VERSION
        );
        assert!(script.contains(&line), "assets/web/app.js must say {line}");
    }
}
