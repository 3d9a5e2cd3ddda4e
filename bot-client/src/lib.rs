//! # arena-bot
//!
//! Headless Arena clients on the real wire protocol, for soak tests, load and reports; and the
//! client the server's integration tests use to talk to a real server. Everything that speaks
//! to a server is generic over the game ([`arena_shared::Game`]); how a bot plays is the
//! game's own brain and prediction, from `arena-shared`.
//!
//! # Layout
//! - [`games`]: the games `--game` names, the one place a name becomes a game type, and each
//!   game's endpoint (`/ws/GAME`).
//! - [`connection`]: one WebSocket connection speaking one game's messages, with byte and
//!   message counters.
//! - [`behavior`]: the fleet's play style (wander, chase, mixed), handed to the game's brain.
//! - [`room_options`]: `--room-option`, how a room the bots create is set up.
//! - [`bot`]: one bot's life: connect, join, play for a duration, leave; what it observed.
//! - [`view`]: what a bot sees and aims at: the others interpolated as the browser draws them,
//!   itself where its prediction puts it.
//! - [`netem`]: the simulated network delay of `--latency-ms` and `--jitter-ms`.
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
//! - [`replays`]: the server's replays of the rooms a failing run names (`/api/replays`).
//! - [`report`]: the report, human-readable, and whether the run passed; [`json`] writes and
//!   reads its JSON form.
//! - [`chart`]: charts as inline SVG (plotters); [`html`]: the report, a comparison or a sweep
//!   as one self-contained HTML page.
//! - [`compare`]: two reports figure by figure, with a verdict against tolerances.
//! - [`sweep`]: the benchmark scripts' tables (one JSON object per run) as a page of charts.

pub mod behavior;
pub mod bot;
pub mod chart;
pub mod compare;
pub mod connection;
pub mod exposition;
pub mod fleet;
pub mod games;
pub mod html;
pub mod json;
pub mod live;
pub mod matchmake;
pub mod netem;
pub mod observe;
pub mod process;
pub mod replays;
pub mod report;
pub mod room_options;
pub mod scrape;
pub mod stall;
pub mod sweep;
pub mod ticket;
pub mod timeline;
pub mod view;

pub use behavior::Behavior;
pub use connection::{ClientError, Connection, JoinOptions, Received, Welcome};
