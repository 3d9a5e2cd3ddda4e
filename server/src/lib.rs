//! # arena-server
//!
//! Arena's authoritative game server: actix-web serves HTTP and upgrades `/ws` to a session
//! actor per connection; a lobby actor places players into room actors, each running one
//! deterministic [`arena_shared::World`] at a fixed tick rate.
//!
//! # Layout
//! - [`server`]: `run(listener, config, shutdown)`, the one way to start and drain the server.
//! - [`config`]: the `Config` (TOML + CLI), its defaults and validation.
//! - [`http`]: routes: `GET /ws` (players and spectators), `GET /` (the browser client),
//!   `GET /api/rooms`, `GET /api/rooms/{name}/state`, metrics and health.
//! - [`session`]: the per-connection actor and its frame layer; the only user of
//!   actix-web-actors.
//! - [`lobby`]: the actor that owns rooms: placement, limits, disposal.
//! - [`room`]: the actor that ticks one world and hands each session its snapshot.
//! - [`inputs`]: each connection's bounded input queue, filled by its session and drained by
//!   its room, and the connection's claim on its seat's inputs.
//! - [`slot`]: the one-snapshot slot between a room and a session: backpressure that works even
//!   when the session is frozen.
//! - [`encoder`]: one client's view box, delta against its acknowledged view, and encoding.
//! - [`close`]: every way a session ends, with its close code, reason and `Error`.
//! - [`metrics`]: Prometheus metrics (`GET /metrics`) with bounded labels.
//! - [`text`]: names and chat: what a client may send, cleaned or refused.
//! - [`rate`]: token buckets for message floods and chat.
//! - [`socket`]: a handle on each connection's socket, to close connections whose actor froze.
//! - [`limits`]: connection caps (global and per address) and the Origin allow-list.
//! - [`ticket`]: HMAC-signed, single-use join tickets for `auth = "ticket"`.

pub mod close;
pub mod config;
pub mod encoder;
pub mod http;
pub mod inputs;
pub mod limits;
pub mod lobby;
pub mod metrics;
pub mod rate;
pub mod room;
pub mod server;
pub mod session;
pub mod slot;
pub mod socket;
pub mod text;
pub mod ticket;

pub use config::Config;
pub use server::{ServerError, run};
