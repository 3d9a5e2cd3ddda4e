//! # arena-server
//!
//! Arena's authoritative game server, an engine for any fixed-tick game: actix-web serves HTTP
//! and upgrades `/ws/{game}` to a session actor per connection; a lobby actor places players
//! into room actors, each running one deterministic [`arena_shared::Game`] at a fixed tick rate.
//!
//! # Layout
//! Requests flow one way: [`transport`] (bytes, frames, sessions) → [`rooms`] (lobby, rooms,
//! ticks, snapshots) → the simulation in `arena-shared`. Rooms reach sessions and the lobby only
//! through `Recipient`s and shared slots they were handed, never by naming their types.
//! - [`server`]: `run(listener, config, shutdown)` (Arena's games) and `run_with(.., games, ..)`
//!   (yours), the one way to start and drain the server.
//! - [`games`]: which games a server hosts, with their maps: the module that picks them (the
//!   configuration reads the shooter's `map` and `[rules]`; rooms and transport name no game).
//! - [`transport`]: HTTP routes, the per-connection session actor and its frame layer,
//!   connection limits, rate limits, names and chat text.
//! - [`rooms`]: the lobby and room actors, the messages between them and the sessions, each
//!   connection's snapshot slot, input queue and snapshot encoder.
//! - [`operations`]: what an operator sets and sees: configuration, metrics, join tickets.
//! - [`close`]: every way a session ends, with its close code, reason and `Error`.
//! - [`socket`]: a handle on each connection's socket, to close connections whose actor froze.
//! - [`fleet`] and [`matchmaker`]: the Redis directory of processes and rooms, and
//!   `POST /api/matchmake`, which holds a seat where a player should play.
//! - `agones` (cargo feature `agones`): the process as an Agones GameServer: Ready, health
//!   pings while its rooms tick, Allocated while anyone plays, Shutdown after a drain.

#[cfg(feature = "agones")]
pub mod agones;
pub mod close;
pub mod fleet;
pub mod games;
pub mod matchmaker;
pub mod operations;
pub mod rooms;
pub mod server;
pub mod socket;
pub mod transport;

// The paths tests, benches and tools have always used.
pub use operations::{config, metrics, ticket};
pub use rooms::{encoder, lobby, room};
pub use transport::{http, session, text};

pub use config::Config;
pub use games::Games;
pub use server::{ServerError, run, run_with};
