//! What a bot sees: the others drawn as the browser draws them, one snapshot interval behind
//! the newest snapshot and interpolated between the two around that moment, and itself where
//! its prediction puts it. A bot aims at what it sees, so its shots need what a person's do:
//! lag compensation, told how far behind it drew (`Input::behind`).

use arena_shared::game::Replicate;
use arena_shared::{EntityId, Rewind};
use glam::Vec2;

/// A snapshot's entities, sorted by id, and its tick.
#[derive(Debug, Clone)]
pub struct Frame<E> {
    /// The snapshot's tick.
    pub tick: u64,
    /// Its entities, sorted by id.
    pub entities: Vec<E>,
}

/// Fills `out` with the entities of `newest` as drawn `delay_ticks` behind it: each one that
/// `previous` also holds at its interpolated position, the rest where `newest` puts them; the
/// bot's own player (`me`) at `own`, if its position is predicted. Returns how far behind
/// `newest` that is, in 1/64 ticks, for `Input::behind`.
pub fn shown<E: Replicate>(
    previous: Option<&Frame<E>>,
    newest: (u64, &[E]),
    delay_ticks: f32,
    (me, own): (EntityId, Option<Vec2>),
    out: &mut Vec<E>,
) -> u16 {
    let (tick, entities) = newest;
    out.clear();
    let (from, t) = match previous {
        Some(p) if p.tick < tick => {
            let span = (tick - p.tick) as f32;
            let t = ((span - delay_ticks) / span).clamp(0.0, 1.0);
            (Some(p), t)
        }
        _ => (None, 1.0),
    };
    out.extend(entities.iter().map(|e| {
        if e.id() == me {
            return own.map_or_else(|| e.clone(), |p| e.with_position(p));
        }
        let before = from.and_then(|p| {
            p.entities
                .binary_search_by_key(&e.id(), |b| b.id())
                .ok()
                .map(|i| &p.entities[i])
        });
        match before {
            Some(b) if t < 1.0 => e.with_position(b.position().lerp(e.position(), t)),
            _ => e.clone(),
        }
    }));
    let behind = match from {
        Some(p) => (tick - p.tick) as f32 * (1.0 - t),
        None => 0.0,
    };
    (behind * Rewind::STEPS_PER_TICK as f32)
        .round()
        .clamp(0.0, f32::from(u16::MAX)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use arena_shared::shooter::{Entity, EntityKind};

    fn player(id: u32, x: f32) -> Entity {
        Entity {
            id: EntityId(id),
            pos: Vec2::new(x, 0.0),
            vel: Vec2::ZERO,
            kind: EntityKind::Player {
                aim: 0,
                health: 100,
                score: 0,
                deaths: 0,
                alive: true,
            },
        }
    }

    #[test]
    fn the_others_are_drawn_one_interval_back_and_the_lag_is_reported() {
        // 20 Hz snapshots of a 30 Hz tick: 1.5 ticks back, between ticks 10 and 12.
        let previous = Frame {
            tick: 10,
            entities: vec![player(1, 0.0), player(2, 100.0)],
        };
        let newest = [player(1, 40.0), player(2, 140.0), player(3, 7.0)];
        let mut out = Vec::new();
        let behind = shown(
            Some(&previous),
            (12, &newest),
            1.5,
            (EntityId(1), Some(Vec2::new(55.0, 5.0))),
            &mut out,
        );
        assert_eq!(behind, 96, "1.5 ticks");
        assert_eq!(out[0].pos, Vec2::new(55.0, 5.0), "itself: predicted");
        assert_eq!(out[1].pos, Vec2::new(110.0, 0.0), "a quarter of the way");
        assert_eq!(out[2].pos, Vec2::new(7.0, 0.0), "new: where it is");
    }

    #[test]
    fn a_gap_shorter_than_the_delay_shows_the_previous_snapshot() {
        let previous = Frame {
            tick: 11,
            entities: vec![player(2, 100.0)],
        };
        let mut out = Vec::new();
        let behind = shown(
            Some(&previous),
            (12, &[player(2, 140.0)]),
            1.5,
            (EntityId(1), None),
            &mut out,
        );
        assert_eq!((behind, out[0].pos.x), (64, 100.0));
    }

    #[test]
    fn without_a_previous_snapshot_the_newest_is_shown_as_it_is() {
        let mut out = Vec::new();
        let behind = shown(
            None,
            (12, &[player(2, 140.0)]),
            1.5,
            (EntityId(1), None),
            &mut out,
        );
        assert_eq!((behind, out[0].pos.x), (0, 140.0));
    }
}
