//! Light cycles on a grid: Arena's second game.
//!
//! Every player drives a cycle that moves one cell at a fixed pace and leaves a trail behind;
//! touching a wall, a trail or another cycle is a crash. Players steer with an absolute heading
//! ([`TronInput`]); a crash into someone's trail scores them a point.
//!
//! # Layout
//! - [`world`]: the pure, deterministic simulation ([`Tron`], which is the [`Game`]) and its
//!   rules.
//! - [`settings`]: the grid, its scale and the pace ([`Settings`]), with their bounds.
//! - [`input`]: the controls ([`TronInput`], [`Heading`]).
//! - [`entity`]: what a snapshot carries of a cycle or a trail cell, and its delta.
//! - [`event`]: crashes and respawns ([`TronEvent`]).
//! - `motion`: directions, the integer pace and cell positions, shared by the simulation and
//!   the prediction so both move a cycle identically.
//! - [`predict`]: client-side prediction of the client's own cycle.
//! - [`brain`]: how a bot plays.

pub mod brain;
pub mod entity;
pub mod event;
pub mod input;
mod motion;
pub mod predict;
pub mod settings;
pub mod world;

use glam::Vec2;

pub use brain::Brain;
pub use entity::{Entity, EntityDelta, EntityKind};
pub use event::TronEvent;
pub use input::{Heading, TronInput};
pub use predict::Predictor;
pub use settings::Settings;
pub use world::Tron;

use crate::game::{EntityId, Game, Rewind};

/// Tron's messages, as its clients speak them.
pub type ClientMsg = crate::protocol::ClientMsg<TronInput>;
/// Tron's server messages.
pub type ServerMsg = crate::protocol::ServerMsg<Settings, Entity, TronEvent>;
/// Tron's snapshots.
pub type Snapshot = crate::protocol::Snapshot<Entity, TronEvent>;
/// Tron's input message.
pub type Input = crate::protocol::Input<TronInput>;
/// Tron's room events.
pub type RoomEvent = crate::protocol::RoomEvent<TronEvent>;

impl Game for Tron {
    const NAME: &'static str = "tron";
    const DESCRIPTION: &'static str =
        "Light cycles on a grid: steer, leave a trail, make the others crash into it.";
    type Settings = Settings;
    type Input = TronInput;
    type Entity = Entity;
    type Event = TronEvent;
    type Predictor = Predictor;
    type Brain = Brain;

    fn new(settings: &Settings, tick_rate: u16, seed: u64) -> Self {
        Tron::new(settings, tick_rate, seed)
    }

    fn join(&mut self, name: &str) -> EntityId {
        Tron::join(self, name)
    }

    fn leave(&mut self, player: EntityId) {
        Tron::leave(self, player);
    }

    fn save(&self) -> Option<Vec<u8>> {
        Tron::save(self)
    }

    fn restore(settings: &Settings, tick_rate: u16, bytes: &[u8]) -> Option<Self> {
        Tron::restore(settings, tick_rate, bytes)
    }

    fn input(&mut self, player: EntityId, input: TronInput, _: Rewind) {
        Tron::input(self, player, input);
    }

    fn step(&mut self) {
        Tron::step(self);
    }

    fn tick(&self) -> u64 {
        Tron::tick(self)
    }

    fn drain_events(&mut self, out: &mut Vec<TronEvent>) {
        Tron::drain_events(self, out);
    }

    fn entities(&self, out: &mut Vec<Entity>) {
        Tron::entities(self, out);
    }

    fn area(&self) -> Vec2 {
        Tron::area(self)
    }

    fn state_hash(&self) -> u64 {
        Tron::state_hash(self)
    }

    /// A crash is the room's news (the scoreboard changes, and it is the whole game), so
    /// everyone hears it; a respawn only where the client can see it, or when it is its own:
    /// nobody else needs to know where a cycle reappeared out of view.
    fn event_relevant(
        event: &TronEvent,
        viewer: EntityId,
        sees: &dyn Fn(EntityId) -> bool,
    ) -> bool {
        match event {
            TronEvent::Crashed { .. } => true,
            TronEvent::Respawned { player } => *player == viewer || sees(*player),
        }
    }
}
