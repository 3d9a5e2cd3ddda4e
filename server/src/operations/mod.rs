//! What an operator sets and sees: the configuration ([`config`]), the Prometheus metrics
//! ([`metrics`]) and the HMAC join and spectator tickets ([`ticket`]). Nothing here knows about
//! actors or sockets; every other layer reads these.

pub mod config;
pub mod metrics;
pub mod replays;
pub mod ticket;
