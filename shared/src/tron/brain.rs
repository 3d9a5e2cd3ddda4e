//! How a tron bot plays: from what it sees to the heading it holds.
//!
//! Every tick the brain looks at the three ways its cycle may go (straight, left, right; never
//! back), rules out those whose next cell is a wall, a trail or a cycle, and measures how much
//! room each of the rest leads to (a flood fill, bounded at [`ROOM_LIMIT`] cells). It takes the
//! way with enough room that is least likely to meet another cycle head-on and best serves its
//! style:
//! - `wander`: keeps a heading, and picks a new random one every one to three seconds;
//! - `chase`: heads for the cell just ahead of the nearest living opponent, to cut it off;
//! - anything else (`mixed`): even-numbered bots chase, odd ones wander.
//!
//! The brain knows the grid from [`Settings`]: [`crate::game::Brain::new`] is not given the
//! room's settings, so it assumes [`Settings::default`] until told otherwise with
//! [`Brain::with_settings`].

use std::collections::VecDeque;

use rand::{Rng, RngCore};

use crate::game::EntityId;
use crate::tron::entity::{Entity, EntityKind};
use crate::tron::input::TronInput;
use crate::tron::motion::{Dir, cell_of};
use crate::tron::settings::Settings;
use crate::tron::world::Tron;

/// Most cells a flood fill counts: room enough to outlast most trails, cheap enough to do for
/// three ways every tick.
pub const ROOM_LIMIT: usize = 128;
/// Cells ahead of a target a chaser aims for.
const LEAD: i32 = 3;

/// What the brain knows of one way to go.
#[derive(Clone, Copy, Debug)]
struct Way {
    dir: Dir,
    /// The next cell is inside the grid and empty.
    safe: bool,
    /// Cells reachable from the next cell, at most [`ROOM_LIMIT`].
    room: usize,
    /// Another cycle could enter the next cell on its next move.
    contested: bool,
}

/// One bot's decision state.
#[derive(Clone, Debug)]
pub struct Brain {
    /// Chases the nearest opponent; wanders otherwise.
    chase: bool,
    /// The grid, in cells, and its cell size in world units, to read cells from positions.
    width: i32,
    height: i32,
    cell: f32,
    /// The heading a wanderer keeps until its next turn.
    preferred: Option<Dir>,
    /// When a wanderer picks a new heading, in seconds since the bot started.
    next_turn: f64,
    /// Grids reused from one decision to the next.
    scratch: Scratch,
}

/// Per-cell marks for one decision, kept between decisions so a decision allocates nothing.
/// A cell is marked when its entry equals the current mark: moving to a new mark clears a grid
/// without touching it.
#[derive(Clone, Debug, Default)]
struct Scratch {
    /// A trail or a living cycle is in the cell.
    blocked: Vec<u32>,
    blocked_mark: u32,
    /// The current flood fill reached the cell.
    seen: Vec<u32>,
    seen_mark: u32,
    queue: VecDeque<(i32, i32)>,
}

/// A fresh mark for `marks`, clearing them on the rare wrap-around.
fn next_mark(marks: &mut [u32], mark: &mut u32) -> u32 {
    *mark = mark.wrapping_add(1);
    if *mark == 0 {
        marks.fill(0);
        *mark = 1;
    }
    *mark
}

impl Brain {
    /// This brain, playing on the grid of `settings` (the room's, from the `Welcome`).
    pub fn with_settings(mut self, settings: &Settings) -> Self {
        let s = settings.clamped();
        self.width = i32::from(s.width);
        self.height = i32::from(s.height);
        self.cell = s.cell;
        let cells = usize::from(s.width) * usize::from(s.height);
        self.scratch = Scratch {
            blocked: vec![0; cells],
            seen: vec![0; cells],
            ..Scratch::default()
        };
        self
    }

    /// The index of `cell` in the scratch grids; `None` outside the grid.
    fn index(&self, (x, y): (i32, i32)) -> Option<usize> {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            usize::try_from(y * self.width + x).ok()
        } else {
            None
        }
    }

    /// Whether `cell` is inside the grid and nothing was seen in it.
    fn free(&self, cell: (i32, i32)) -> bool {
        self.index(cell)
            .is_some_and(|i| self.scratch.blocked[i] != self.scratch.blocked_mark)
    }

    /// Cells reachable from `from` without crossing anything seen or the wall, counting
    /// `from`, up to [`ROOM_LIMIT`].
    fn room(&mut self, from: (i32, i32)) -> usize {
        let Some(start) = self.index(from) else {
            return 0;
        };
        let mark = next_mark(&mut self.scratch.seen, &mut self.scratch.seen_mark);
        let mut queue = std::mem::take(&mut self.scratch.queue);
        queue.clear();
        self.scratch.seen[start] = mark;
        queue.push_back(from);
        let mut count = 1;
        'fill: while let Some(at) = queue.pop_front() {
            for d in Dir::ALL {
                let next = d.next(at);
                let Some(i) = self.index(next) else {
                    continue;
                };
                if self.scratch.blocked[i] == self.scratch.blocked_mark
                    || self.scratch.seen[i] == mark
                {
                    continue;
                }
                self.scratch.seen[i] = mark;
                count += 1;
                if count >= ROOM_LIMIT {
                    break 'fill;
                }
                queue.push_back(next);
            }
        }
        self.scratch.queue = queue;
        count
    }
}

impl crate::game::Brain<Tron> for Brain {
    fn new(settings: &Settings, style: &str, index: usize, rng: &mut dyn RngCore) -> Self {
        let chase = match style {
            "wander" => false,
            "chase" => true,
            _ => index % 2 == 0,
        };
        Brain {
            chase,
            width: 0,
            height: 0,
            cell: 1.0,
            preferred: None,
            next_turn: rng.random_range(0.5..2.0),
            scratch: Scratch::default(),
        }
        .with_settings(settings)
    }

    fn decide(
        &mut self,
        me: EntityId,
        view: &[Entity],
        now: f64,
        rng: &mut dyn RngCore,
    ) -> TronInput {
        let Some(own) = view.iter().find(|e| e.id == me) else {
            return TronInput::default();
        };
        let EntityKind::Cycle {
            heading,
            alive: true,
            ..
        } = own.kind
        else {
            return TronInput::default();
        };
        let Some(facing) = Dir::from_wire(heading) else {
            return TronInput::default();
        };
        let head = cell_of(self.cell, own.pos);

        let mark = next_mark(&mut self.scratch.blocked, &mut self.scratch.blocked_mark);
        let block = |brain: &mut Brain, at: (i32, i32)| {
            if let Some(i) = brain.index(at) {
                brain.scratch.blocked[i] = mark;
            }
        };
        let mut contested = Vec::new();
        // The nearest living opponent's cell and facing, by squared distance, ties to the
        // lower id (the view is sorted by id).
        let mut nearest: Option<(i64, (i32, i32), Dir)> = None;
        for e in view {
            let at = cell_of(self.cell, e.pos);
            match e.kind {
                EntityKind::Trail { .. } => block(self, at),
                EntityKind::Cycle { alive: true, .. } if e.id == me => block(self, at),
                EntityKind::Cycle {
                    alive: true,
                    heading,
                    ..
                } => {
                    block(self, at);
                    let their = Dir::from_wire(heading).unwrap_or(Dir::North);
                    contested.extend([their, their.left(), their.right()].map(|d| d.next(at)));
                    let (dx, dy) = (i64::from(at.0 - head.0), i64::from(at.1 - head.1));
                    let dist = dx * dx + dy * dy;
                    if nearest.is_none_or(|(best, _, _)| dist < best) {
                        nearest = Some((dist, at, their));
                    }
                }
                _ => {}
            }
        }

        let safe = [facing, facing.left(), facing.right()].map(|dir| self.free(dir.next(head)));
        // Room is measured as if the other cycles had each taken all of their next cells: the
        // space they are about to close off is no escape.
        for &c in &contested {
            block(self, c);
        }
        let mut options = [facing, facing.left(), facing.right()].map(|dir| Way {
            dir,
            safe: false,
            room: 0,
            contested: contested.contains(&dir.next(head)),
        });
        for (way, safe) in options.iter_mut().zip(safe) {
            way.safe = safe;
            if safe {
                way.room = self.room(way.dir.next(head));
            }
        }
        let best_room = options.iter().map(|o| o.room).max().unwrap_or(0);

        // What the style wants: a score per way, higher is better.
        let goal = if self.chase {
            nearest.map(|(_, at, their)| {
                // Ahead of the target, but never beyond the wall.
                let (dx, dy) = their.delta();
                (
                    (at.0 + LEAD * dx).clamp(0, self.width - 1),
                    (at.1 + LEAD * dy).clamp(0, self.height - 1),
                )
            })
        } else {
            None
        };
        if !self.chase {
            if now >= self.next_turn {
                let turns = [facing, facing, facing.left(), facing.right()];
                self.preferred = Some(turns[rng.random_range(0..turns.len())]);
                self.next_turn = now + rng.random_range(1.0..3.0);
            }
            if self.preferred.is_none_or(|p| p == facing.opposite()) {
                self.preferred = Some(facing);
            }
        }
        let wish = |o: &Way| -> i64 {
            match goal {
                Some(g) => {
                    let next = o.dir.next(head);
                    -(i64::from((g.0 - next.0).abs()) + i64::from((g.1 - next.1).abs()))
                }
                None => i64::from(self.preferred == Some(o.dir)),
            }
        };

        // Safe first; then enough room (at least half the best, so no dead ends); then no
        // head-on risk; then the style's wish; then more room; ties to straight, left, right.
        let key = |o: &Way| {
            (
                o.safe,
                o.room * 2 >= best_room,
                !o.contested,
                wish(o),
                o.room,
            )
        };
        let mut choice = options[0];
        for o in &options[1..] {
            if key(o) > key(&choice) {
                choice = *o;
            }
        }
        TronInput {
            heading: choice.dir.heading(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::Brain as _;
    use crate::tron::motion::centre;
    use fnv::FnvHashSet;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const ME: EntityId = EntityId(1);

    fn cycle(id: u32, cell: (i32, i32), facing: Dir) -> Entity {
        Entity {
            id: EntityId(id),
            pos: centre(16.0, cell),
            kind: EntityKind::Cycle {
                heading: facing.wire(),
                alive: true,
                score: 0,
                phase: 0,
            },
        }
    }

    fn trail(id: u32, cell: (i32, i32)) -> Entity {
        Entity {
            id: EntityId(id),
            pos: centre(16.0, cell),
            kind: EntityKind::Trail {
                owner: EntityId(99),
            },
        }
    }

    fn brain(style: &str, settings: &Settings) -> (Brain, ChaCha8Rng) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        (Brain::new(settings, style, 0, &mut rng), rng)
    }

    fn small() -> Settings {
        Settings {
            width: 16,
            height: 12,
            ..Settings::default()
        }
    }

    #[test]
    fn it_turns_away_from_the_wall_of_the_grid_it_was_given() {
        // Facing East at the east wall of a 16-wide grid (x = 15): straight is death.
        let (mut b, mut rng) = brain("wander", &small());
        let view = [cycle(1, (15, 6), Dir::East)];
        let h = b.decide(ME, &view, 0.0, &mut rng).heading;
        assert!(
            matches!(h, crate::tron::Heading::North | crate::tron::Heading::South),
            "{h:?}"
        );
    }

    #[test]
    fn it_avoids_a_dead_end_pocket() {
        // Facing North; the cell to the west opens into a one-cell pocket, east is open.
        let (mut b, mut rng) = brain("wander", &Settings::default());
        let mut view = vec![cycle(1, (10, 10), Dir::North)];
        let walls = [(10, 9), (9, 9), (8, 10), (9, 11)];
        view.extend(
            walls
                .iter()
                .enumerate()
                .map(|(i, &c)| trail(10 + i as u32, c)),
        );
        let h = b.decide(ME, &view, 0.0, &mut rng).heading;
        assert_eq!(h, crate::tron::Heading::East);
    }

    #[test]
    fn a_chaser_heads_for_its_target() {
        let (mut b, mut rng) = brain("chase", &Settings::default());
        let view = [
            cycle(1, (10, 10), Dir::North),
            cycle(2, (30, 10), Dir::East),
        ];
        let h = b.decide(ME, &view, 0.0, &mut rng).heading;
        assert_eq!(h, crate::tron::Heading::East);
    }

    #[test]
    fn dead_or_missing_cycles_keep_their_heading() {
        let (mut b, mut rng) = brain("chase", &Settings::default());
        assert_eq!(b.decide(ME, &[], 0.0, &mut rng), TronInput::default());
        let mut dead = cycle(1, (3, 3), Dir::East);
        dead.kind = EntityKind::Cycle {
            heading: 1,
            alive: false,
            score: 0,
            phase: 0,
        };
        assert_eq!(b.decide(ME, &[dead], 0.0, &mut rng), TronInput::default());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, rng_seed: RngSeed::Fixed(3), ..ProptestConfig::default() })]

        /// Whatever the surroundings, the brain never steers into a wall, trail or cycle when
        /// one of its three ways is free.
        #[test]
        fn it_never_picks_a_blocked_way_when_a_free_one_exists(
            x in 0i32..16, y in 0i32..12, facing in 0u8..4, chase in any::<bool>(),
            near in proptest::collection::vec((-2i32..=2, -2i32..=2, any::<bool>()), 0..12),
            now in 0.0f64..10.0,
        ) {
            let settings = small();
            let (b, mut rng) = brain(if chase { "chase" } else { "wander" }, &settings);
            let facing = Dir::from_wire(facing).unwrap_or(Dir::North);
            let head = (x, y);
            let mut view = vec![cycle(1, head, facing)];
            let mut taken = FnvHashSet::default();
            taken.insert(head);
            for (i, &(dx, dy, is_cycle)) in near.iter().enumerate() {
                let at = (x + dx, y + dy);
                if !taken.insert(at) {
                    continue;
                }
                let id = 2 + i as u32;
                view.push(if is_cycle { cycle(id, at, Dir::South) } else { trail(id, at) });
            }
            view.sort_by_key(|e| e.id);
            let free = |c: (i32, i32)| b.index(c).is_some() && !taken.contains(&c);
            let ways = [facing, facing.left(), facing.right()];
            let any_free = ways.iter().any(|d| free(d.next(head)));
            let h = b.clone().decide(ME, &view, now, &mut rng).heading;
            let d = Dir::from_heading(h).expect("a brain always names a direction");
            prop_assert_ne!(d, facing.opposite());
            if any_free {
                prop_assert!(free(d.next(head)), "{:?} from {:?} facing {:?}", d, head, facing);
            }
        }
    }
}
