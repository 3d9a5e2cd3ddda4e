//! Rooms: where the game runs. The [`lobby`] actor owns the rooms, places players (named
//! rooms, quick-play) and enforces room limits; each [`room`] actor ticks one world at a fixed
//! rate and publishes snapshots. What crosses the boundary with the sessions is in
//! [`messages`]; per connection, the room and its session share a [`slot`] (one snapshot,
//! backpressure) and an input queue ([`inputs`]); each session cuts and encodes its own view
//! with an [`encoder`]. Rooms touch no bytes and name no session type.

pub mod catalog;
pub mod encoder;
pub mod inputs;
pub mod lobby;
pub mod messages;
pub mod playback;
pub mod room;
pub mod slot;
