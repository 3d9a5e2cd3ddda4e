//! HTTP routes: the `/ws` upgrade and the JSON API.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use tracing::debug;

use crate::limits::{ConnectionLimits, Refusal, origin_allowed};
use crate::lobby::ListRooms;
use crate::session::{self, SessionDeps};

/// State every worker's routes share.
#[derive(Clone)]
pub struct AppState {
    /// What sessions need.
    pub deps: SessionDeps,
    /// Source of session ids for logs.
    pub next_session: Arc<AtomicU64>,
    /// Open-connection caps.
    pub limits: Arc<ConnectionLimits>,
}

/// Registers Arena's routes; `/echo` only when `echo` is on.
pub fn routes(cfg: &mut web::ServiceConfig, echo: bool) {
    cfg.route("/ws", web::get().to(ws))
        .route("/api/rooms", web::get().to(rooms))
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
    let id = state.next_session.fetch_add(1, Ordering::Relaxed);
    session::upgrade(&req, stream, state.deps.clone(), id, permit)
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
    if *state.deps.draining.borrow() {
        HttpResponse::ServiceUnavailable().body("draining")
    } else {
        HttpResponse::Ok().body("ready")
    }
}

async fn rooms(state: web::Data<AppState>) -> HttpResponse {
    match state.deps.lobby.send(ListRooms).await {
        Ok(rooms) => HttpResponse::Ok().json(rooms),
        Err(_) => HttpResponse::ServiceUnavailable().body("lobby unavailable"),
    }
}
