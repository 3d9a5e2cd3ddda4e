//! HTTP routes: the `/ws` upgrade and the JSON API.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{HttpRequest, HttpResponse, web};

use crate::lobby::ListRooms;
use crate::session::{self, SessionDeps};

/// State every worker's routes share.
#[derive(Clone)]
pub struct AppState {
    /// What sessions need.
    pub deps: SessionDeps,
    /// Source of session ids for logs.
    pub next_session: Arc<AtomicU64>,
}

/// Registers Arena's routes; `/echo` only when `echo` is on.
pub fn routes(cfg: &mut web::ServiceConfig, echo: bool) {
    cfg.route("/ws", web::get().to(ws))
        .route("/api/rooms", web::get().to(rooms));
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
    if *state.deps.draining.borrow() {
        return Ok(HttpResponse::ServiceUnavailable().body("server shutting down"));
    }
    let id = state.next_session.fetch_add(1, Ordering::Relaxed);
    session::upgrade(&req, stream, state.deps.clone(), id)
}

async fn rooms(state: web::Data<AppState>) -> HttpResponse {
    match state.deps.lobby.send(ListRooms).await {
        Ok(rooms) => HttpResponse::Ok().json(rooms),
        Err(_) => HttpResponse::ServiceUnavailable().body("lobby unavailable"),
    }
}
