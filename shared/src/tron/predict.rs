//! Client-side prediction of the client's own cycle.
//!
//! The client moves its cycle the moment it sends an input, with the server's own pace and
//! turning rule, instead of waiting a round trip. Each snapshot says which of the client's
//! inputs the server has applied (`last_input_seq`) and where that left the cycle (its cell,
//! facing and phase); the predictor measures how far its guess for that input was off, restarts
//! from the authoritative cycle and replays the inputs the server has not applied yet.
//!
//! Movement on a grid is integer arithmetic, so with inputs applied one per tick the error is
//! exactly zero. Collisions are not predicted (the client does not know where the other cycles
//! will go): a crash shows up as a dead cycle in the next snapshot, and the predictor waits for
//! the respawn.

use crate::protocol::seq_le;
use std::collections::VecDeque;

use glam::Vec2;

use crate::game::EntityId;
use crate::tron::entity::{Entity, EntityKind};
use crate::tron::input::{Heading, TronInput};
use crate::tron::motion::{Dir, Pace, cell_of, centre};
use crate::tron::settings::Settings;
use crate::tron::world::Tron;

/// Unacknowledged inputs remembered: four seconds at 30 Hz. Past that the server is not
/// answering, and the oldest guesses are dropped.
pub const MAX_UNACKED: usize = 128;

/// Where a cycle is, as far as its own moves go.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Motion {
    cell: (i32, i32),
    facing: Dir,
    phase: u16,
}

impl Motion {
    /// One tick of the cycle under `want`, as the server steps it (collisions aside).
    fn step(&mut self, pace: &Pace, want: Heading) {
        if pace.tick(&mut self.phase) {
            self.facing = self.facing.turn(want);
            self.cell = self.facing.next(self.cell);
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Guess {
    seq: u32,
    want: Heading,
    /// Where the cycle should be once the server applied this input.
    pos: Vec2,
}

/// Predicts one cycle's movement ahead of the server.
#[derive(Clone, Debug)]
pub struct Predictor {
    pace: Pace,
    /// World units per cell.
    cell: f32,
    /// The newest acknowledged input (the reference for the next error), then the rest.
    guesses: VecDeque<Guess>,
    /// Predicted motion after the newest input; `None` until a living authoritative state.
    state: Option<Motion>,
    /// The newest input the server said it applied.
    acked: Option<u32>,
}

impl Predictor {
    /// A predictor for a cycle of a room with `settings` at `tick_rate` (from the `Welcome`).
    pub fn new(settings: &Settings, tick_rate: u16) -> Self {
        let settings = settings.clamped();
        Self {
            pace: Pace::new(settings.moves_per_second, tick_rate),
            cell: settings.cell,
            guesses: VecDeque::new(),
            state: None,
            acked: None,
        }
    }

    /// Records an input just sent and moves the predicted cycle by it.
    pub fn input(&mut self, seq: u32, input: TronInput) {
        let Some(mut m) = self.state else {
            return;
        };
        m.step(&self.pace, input.heading);
        self.state = Some(m);
        if self.guesses.len() == MAX_UNACKED {
            self.guesses.pop_front();
        }
        self.guesses.push_back(Guess {
            seq,
            want: input.heading,
            pos: centre(self.cell, m.cell),
        });
    }

    /// Takes a snapshot's word for the cycle (`own`, after the inputs up to `last_input_seq`)
    /// and returns the prediction error: how far the predicted position for that input was
    /// from the authoritative one, in world units. `None` when there was nothing to compare
    /// (first state, dead, respawned, not a cycle).
    pub fn reconcile(&mut self, last_input_seq: u32, own: &Entity) -> Option<f32> {
        let EntityKind::Cycle {
            heading,
            alive: true,
            phase,
            ..
        } = own.kind
        else {
            // Dead cycles do not move, and respawn where no client can predict.
            self.state = None;
            self.guesses.clear();
            return None;
        };
        let Some(facing) = Dir::from_wire(heading) else {
            self.state = None;
            self.guesses.clear();
            return None;
        };
        let known = self.state.is_some();
        self.acked = Some(last_input_seq);
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
        let mut m = Motion {
            cell: cell_of(self.cell, own.pos),
            facing,
            phase,
        };
        for g in self.guesses.iter_mut() {
            if seq_le(g.seq, last_input_seq) {
                continue;
            }
            m.step(&self.pace, g.want);
            g.pos = centre(self.cell, m.cell);
        }
        self.state = Some(m);
        error
    }

    /// The predicted position after every input sent, if known.
    pub fn position(&self) -> Option<Vec2> {
        self.state.map(|m| centre(self.cell, m.cell))
    }

    /// The predicted facing after every input sent, if known.
    pub fn heading(&self) -> Option<Heading> {
        self.state.map(|m| m.facing.heading())
    }

    /// Inputs sent but not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.guesses
            .iter()
            .filter(|g| self.acked.is_none_or(|a| !seq_le(g.seq, a)))
            .count()
    }
}

impl crate::game::Predict<Tron> for Predictor {
    fn new(settings: &Settings, tick_rate: u16, _: EntityId) -> Self {
        Predictor::new(settings, tick_rate)
    }

    fn input(&mut self, seq: u32, input: &TronInput) {
        Predictor::input(self, seq, *input);
    }

    fn reconcile(&mut self, last_input_seq: u32, own: &Entity) -> Option<f32> {
        Predictor::reconcile(self, last_input_seq, own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(alive: bool, heading: u8, phase: u16) -> Entity {
        Entity {
            id: EntityId(1),
            pos: centre(16.0, (3, 3)),
            kind: EntityKind::Cycle {
                heading,
                alive,
                score: 0,
                phase,
            },
        }
    }

    fn steer(heading: Heading) -> TronInput {
        TronInput { heading }
    }

    #[test]
    fn it_moves_on_the_servers_ticks_and_turns_by_its_rule() {
        let mut p = Predictor::new(&Settings::default(), 30);
        assert_eq!(p.reconcile(0, &cycle(true, 1, 10)), None, "first state");
        // Phase 10 + 10 = 20: no move yet; then 30: a move, North (a turn from East).
        p.input(1, steer(Heading::North));
        assert_eq!(p.position(), Some(centre(16.0, (3, 3))));
        p.input(2, steer(Heading::North));
        assert_eq!(p.position(), Some(centre(16.0, (3, 2))));
        assert_eq!(p.heading(), Some(Heading::North));
        // A reversal is ignored, as on the server.
        for seq in 3..=5 {
            p.input(seq, steer(Heading::South));
        }
        assert_eq!(p.position(), Some(centre(16.0, (3, 1))));
        assert_eq!(p.unacknowledged(), 5);
        // The server agrees about input 2: no error, and the rest replays on top.
        let mut own = cycle(true, 0, 0);
        own.pos = centre(16.0, (3, 2));
        assert_eq!(p.reconcile(2, &own), Some(0.0));
        assert_eq!(p.position(), Some(centre(16.0, (3, 1))));
        assert_eq!(p.unacknowledged(), 3);
        // It says the cycle is a cell further at input 5: one cell of error.
        own.pos = centre(16.0, (3, 0));
        assert_eq!(p.reconcile(5, &own), Some(16.0));
    }

    #[test]
    fn dead_cycles_trails_and_bad_headings_are_not_predicted() {
        let mut p = Predictor::new(&Settings::default(), 30);
        p.reconcile(0, &cycle(true, 1, 0));
        p.input(1, steer(Heading::East));
        assert_eq!(p.reconcile(1, &cycle(false, 1, 0)), None);
        assert_eq!(p.position(), None);
        p.input(2, steer(Heading::East));
        assert_eq!(p.unacknowledged(), 0, "nothing is predicted while dead");
        let trail = Entity {
            id: EntityId(1),
            pos: Vec2::ZERO,
            kind: EntityKind::Trail { owner: EntityId(1) },
        };
        assert_eq!(p.reconcile(2, &trail), None);
        assert_eq!(p.reconcile(2, &cycle(true, 9, 0)), None);
        assert_eq!(p.position(), None);
        // Back alive: known again, but nothing to compare on the first state.
        assert_eq!(p.reconcile(2, &cycle(true, 1, 0)), None);
        assert!(p.position().is_some());
    }
}
