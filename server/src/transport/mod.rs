//! Transport: everything between a TCP connection and a room. [`http`] routes requests and
//! upgrades `/ws`; [`session`] is the per-connection actor (frames, decoding, validation, flood
//! control, encoding snapshots) and the only user of actix-web-actors; [`limits`] caps
//! connections per address and in all; [`rate`] has the token buckets; [`text`] validates names
//! and chat. It speaks to the rooms only through [`crate::rooms::messages`].

pub mod http;
pub mod limits;
pub mod rate;
pub mod session;
pub mod text;
