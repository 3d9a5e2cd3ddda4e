//! # arena-bot
//!
//! Headless Arena clients on the real wire protocol, for soak tests, load and reports; and the
//! client the server's integration tests use to talk to a real server.
//!
//! # Layout
//! - [`connection`]: one WebSocket connection speaking Arena's protocol, with byte and message
//!   counters.
//! - [`brain`]: how a bot chooses its input from a snapshot (wander, chase).
//! - [`bot`]: one bot's life: connect, join, play for a duration, leave; what it observed.
//! - [`fleet`]: many bots as tasks on one async runtime, merged into a [`report::Report`].
//! - [`stall`]: a bot that joins and stops reading, to prove the server cuts slow clients off.
//! - [`observe`]: observers that watch a room by WebSocket push or by HTTP polling, and what
//!   each costs on the wire.
//! - [`ticket`]: join and spectator tickets the bots mint with the server's secret, for
//!   servers with `auth = "ticket"`.
//! - [`live`]: counters the bots update as they go, for the progress line.
//! - [`report`]: the report, human-readable and JSON, and whether the run passed.

pub mod bot;
pub mod brain;
pub mod connection;
pub mod fleet;
pub mod live;
pub mod observe;
pub mod report;
pub mod stall;
pub mod ticket;

pub use connection::{ClientError, Connection, JoinOptions, Received, Welcome};
