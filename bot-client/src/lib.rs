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
//! - [`live`]: counters and interval histograms the bots update as they go.
//! - [`timeline`]: the 1 Hz sampler: per-second series of the run, and the progress line.
//! - [`scrape`]: the server's `/metrics` scraped once a second, parsed by [`exposition`]; the
//!   server's CPU time from `/proc` when it runs on this machine ([`process`]).
//! - [`report`]: the report, human-readable, and whether the run passed; [`json`] writes and
//!   reads its JSON form.
//! - [`chart`]: charts as inline SVG (plotters); [`html`]: the report, a comparison or a sweep
//!   as one self-contained HTML page.
//! - [`compare`]: two reports figure by figure, with a verdict against tolerances.
//! - [`sweep`]: the benchmark scripts' tables (one JSON object per run) as a page of charts.

pub mod bot;
pub mod brain;
pub mod chart;
pub mod compare;
pub mod connection;
pub mod exposition;
pub mod fleet;
pub mod html;
pub mod json;
pub mod live;
pub mod observe;
pub mod process;
pub mod report;
pub mod scrape;
pub mod stall;
pub mod sweep;
pub mod ticket;
pub mod timeline;

pub use connection::{ClientError, Connection, JoinOptions, Received, Welcome};
