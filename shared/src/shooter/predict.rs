//! Client-side prediction and reconciliation of the client's own player.
//!
//! The client moves its player the moment it sends an input, with the server's own
//! [`Mover`], instead of waiting a round trip. Each snapshot says which of the client's inputs
//! the server has applied (`last_input_seq`) and where that left the player; the predictor
//! measures how far its guess for that input was off, restarts from the authoritative state and
//! replays the inputs the server has not applied yet. The simulation runs on quantised state
//! ([`crate::quant`]), so with inputs applied one per tick the error is exactly zero; it becomes
//! non-zero when the server had to repeat an input that arrived late, or the player was pushed.

use crate::protocol::seq_le;
use std::collections::VecDeque;

use glam::Vec2;

use crate::shooter::entity::{Entity, EntityKind};
use crate::shooter::map::Map;
use crate::shooter::rules::Rules;
use crate::shooter::world::{Mover, PlayerInput};

/// Unacknowledged inputs remembered: four seconds at 30 Hz. Past that the server is not
/// answering, and the oldest guesses are dropped.
pub const MAX_UNACKED: usize = 128;

#[derive(Clone, Copy, Debug)]
struct Guess {
    seq: u32,
    move_dir: Vec2,
    /// Where the player should be once the server applied this input.
    pos: Vec2,
}

/// Predicts one player's movement ahead of the server.
#[derive(Clone, Debug)]
pub struct Predictor {
    mover: Mover,
    /// The newest acknowledged input (the reference for the next error), then the rest.
    guesses: VecDeque<Guess>,
    /// Predicted state after the newest input; `None` until a living authoritative state.
    state: Option<(Vec2, Vec2)>,
}

impl Predictor {
    /// A predictor for a player on `map` under `rules` at `tick_rate` (from the `Welcome`).
    pub fn new(map: &Map, rules: &Rules, tick_rate: u32) -> Self {
        Self {
            mover: Mover::new(map, rules, tick_rate),
            guesses: VecDeque::new(),
            state: None,
        }
    }

    /// Records an input just sent and moves the predicted player by it.
    pub fn input(&mut self, seq: u32, input: PlayerInput) {
        let Some((pos, vel)) = &mut self.state else {
            return;
        };
        self.mover.step(pos, vel, input.move_dir);
        if self.guesses.len() == MAX_UNACKED {
            self.guesses.pop_front();
        }
        self.guesses.push_back(Guess {
            seq,
            move_dir: input.move_dir,
            pos: *pos,
        });
    }

    /// Takes a snapshot's word for the player (`own`, after the inputs up to `last_input_seq`)
    /// and returns the prediction error: how far the predicted position for that input was from
    /// the authoritative one. `None` when there was nothing to compare (first state, dead,
    /// respawned).
    pub fn reconcile(&mut self, last_input_seq: u32, own: &Entity) -> Option<f32> {
        let alive = matches!(own.kind, EntityKind::Player { alive: true, .. });
        if !alive {
            // Dead players do not move, and respawn somewhere no client can predict.
            self.state = None;
            self.guesses.clear();
            return None;
        }
        let known = self.state.is_some();
        while self
            .guesses
            .get(1)
            .is_some_and(|g| seq_le(g.seq, last_input_seq))
        {
            self.guesses.pop_front();
        }
        let error = match self.guesses.front_mut() {
            Some(g) if known && seq_le(g.seq, last_input_seq) => {
                let e = g.pos.distance(own.pos);
                g.pos = own.pos;
                Some(e)
            }
            _ => None,
        };
        // Replay the inputs still in flight on top of the authoritative state.
        let (mut pos, mut vel) = (own.pos, own.vel);
        for g in self.guesses.iter_mut() {
            if seq_le(g.seq, last_input_seq) {
                continue;
            }
            self.mover.step(&mut pos, &mut vel, g.move_dir);
            g.pos = pos;
        }
        self.state = Some((pos, vel));
        error
    }

    /// The predicted position after every input sent, if known.
    pub fn position(&self) -> Option<Vec2> {
        self.state.map(|(p, _)| p)
    }

    /// Inputs sent but not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.guesses.len().saturating_sub(1)
    }
}

impl crate::game::Predict<crate::shooter::World> for Predictor {
    fn new(settings: &crate::shooter::Settings, tick_rate: u16, _: crate::game::EntityId) -> Self {
        Predictor::new(&settings.map, &settings.rules, u32::from(tick_rate))
    }

    fn input(&mut self, seq: u32, input: &PlayerInput) {
        Predictor::input(self, seq, *input);
    }

    fn reconcile(&mut self, last_input_seq: u32, own: &Entity) -> Option<f32> {
        Predictor::reconcile(self, last_input_seq, own)
    }

    fn position(&self) -> Option<Vec2> {
        Predictor::position(self)
    }
}
