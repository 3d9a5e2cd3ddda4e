//! The simulation: light cycles on a grid, pure and deterministic.
//!
//! A [`Tron`] changes only through joins, leaves, inputs and [`Tron::step`]. It owns a seeded
//! ChaCha RNG (spawn cells and facings are its only draws) and visits cycles in id order, so
//! the same settings, seed, tick rate and calls always give the same game
//! ([`Tron::state_hash`] proves it).
//!
//! # Rules
//! - Each living cycle moves one cell on the ticks its pace says (its phase gains
//!   [`Settings::moves_per_second`] a tick and moves it on reaching the tick rate), in the
//!   heading its player holds; a reversal is ignored.
//! - The cell it leaves becomes a trail cell. A trail holds at most `trail_length` cells; the
//!   oldest goes first (before anyone moves, so a cycle may follow its own tail's end).
//! - All cycles moving on a tick move at once. Each is judged against the grid as it stands
//!   with the new trail cells laid: leaving the grid, or entering a trail cell or a cycle that
//!   did not move, crashes it; so does entering the same cell as another mover (both crash:
//!   head-on). Swapping cells crashes both, into each other's fresh trail.
//! - A crash into another cycle's trail or body scores that cycle a point; a head-on scores
//!   nobody. A crashed cycle loses its whole trail and respawns `respawn_s` later on a random
//!   free cell, facing its longest free run.

use std::collections::{BTreeMap, VecDeque};
use std::hash::Hasher;

use fnv::FnvHasher;
use glam::Vec2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::game::EntityId;
use crate::tron::entity::{Entity, EntityKind};
use crate::tron::event::TronEvent;
use crate::tron::input::{Heading, TronInput};
use crate::tron::motion::{Dir, Pace, centre};
use crate::tron::settings::Settings;

/// Random cells tried for a spawn with room around it before taking any free cell.
const SPAWN_TRIES: u32 = 32;
/// Cells around a spawn (in each direction) that should be empty and inside the grid.
const SPAWN_CLEARANCE: i32 = 2;

/// One cell of a trail.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct TrailCell {
    id: EntityId,
    cell: (u16, u16),
}

/// A player's cycle.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Cycle {
    id: EntityId,
    name: String,
    /// The head's cell; where it crashed while dead.
    cell: (u16, u16),
    /// The direction of the last move (or of the spawn).
    facing: Dir,
    /// The heading the player holds, taken at the next move.
    want: Heading,
    /// See [`Pace`]; 0 at spawn.
    phase: u16,
    alive: bool,
    score: u32,
    deaths: u32,
    /// Ticks until respawn; meaningful only while dead.
    respawn_in: u32,
    /// Oldest first.
    trail: VecDeque<TrailCell>,
}

/// What [`Tron::save`] keeps: everything but the settings and what they give.
#[derive(Serialize, Deserialize)]
struct Saved<C, O> {
    tick: u64,
    seed: u64,
    rng: ChaCha8Rng,
    next_id: u32,
    reserved: Vec<u32>,
    cycles: C,
    occupied: O,
}

/// One cycle's move on a tick.
#[derive(Clone, Copy, Debug)]
struct Move {
    id: EntityId,
    /// The cell entered; `None` outside the grid.
    to: Option<(u16, u16)>,
    /// `None` while the move stands; the crash's `into` once judged a crash.
    crash: Option<Option<EntityId>>,
    /// Whether the crash was head-on (nobody scores).
    head_on: bool,
}

/// The state of one tron room, advanced in fixed ticks: the [`crate::game::Game`].
#[derive(Clone, Debug)]
pub struct Tron {
    /// Within bounds ([`Settings::clamped`]).
    settings: Settings,
    pace: Pace,
    respawn_ticks: u32,
    tick: u64,
    seed: u64,
    rng: ChaCha8Rng,
    /// The next entity id to hand out (never 0).
    next_id: u32,
    /// Ids alive when `next_id` last wrapped around, ascending: skipped until it wraps again,
    /// so even a room that outlives four billion trail cells never hands out a living id.
    reserved: Vec<u32>,
    cycles: BTreeMap<EntityId, Cycle>,
    /// What fills each cell, row by row: the owning cycle's id, 0 for nothing. Holds every
    /// trail cell and every living cycle's head; a cell never holds two.
    occupied: Vec<u32>,
    events: Vec<TronEvent>,
}

impl Tron {
    /// A new, empty game ticking `tick_rate` times a second, reproducible from `seed`. Settings
    /// out of bounds are clamped into them ([`Settings::clamped`]).
    pub fn new(settings: &Settings, tick_rate: u16, seed: u64) -> Self {
        let settings = settings.clamped();
        let tick_rate = tick_rate.max(1);
        let respawn_ticks = (settings.respawn_s * f32::from(tick_rate)).round().max(1.0) as u32;
        let cells = usize::from(settings.width) * usize::from(settings.height);
        Self {
            pace: Pace::new(settings.moves_per_second, tick_rate),
            respawn_ticks,
            settings,
            tick: 0,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_id: 1,
            reserved: Vec::new(),
            cycles: BTreeMap::new(),
            occupied: vec![0; cells],
            events: Vec::new(),
        }
    }

    /// The whole state as bincode bytes (a replay keyframe); [`Tron::restore`] reads them.
    pub fn save(&self) -> Option<Vec<u8>> {
        let saved = Saved {
            tick: self.tick,
            seed: self.seed,
            rng: self.rng.clone(),
            next_id: self.next_id,
            reserved: self.reserved.clone(),
            cycles: self.cycles.values().collect::<Vec<_>>(),
            occupied: &self.occupied,
        };
        crate::game::save_state(&saved)
    }

    /// The game [`Tron::save`] wrote, with the settings and tick rate it was created with.
    pub fn restore(settings: &Settings, tick_rate: u16, bytes: &[u8]) -> Option<Self> {
        let saved: Saved<Vec<Cycle>, Vec<u32>> = crate::game::load_state(bytes)?;
        let mut game = Self::new(settings, tick_rate, saved.seed);
        if saved.occupied.len() != game.occupied.len() {
            return None;
        }
        game.tick = saved.tick;
        game.rng = saved.rng;
        game.next_id = saved.next_id;
        game.reserved = saved.reserved;
        game.cycles = saved.cycles.into_iter().map(|c| (c.id, c)).collect();
        game.occupied = saved.occupied;
        Some(game)
    }

    /// The settings played by (clamped into bounds).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The seed the game was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Ticks stepped so far.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Cycles in the game, living or not.
    pub fn cycle_count(&self) -> usize {
        self.cycles.len()
    }

    /// Cycles plus trail cells: the size of a snapshot.
    pub fn entity_count(&self) -> usize {
        self.cycles.len() + self.cycles.values().map(|c| c.trail.len()).sum::<usize>()
    }

    /// A player enters with `name`; its cycle spawns at once (or as soon as a cell is free).
    pub fn join(&mut self, name: &str) -> EntityId {
        let id = self.allocate_id();
        self.cycles.insert(
            id,
            Cycle {
                id,
                name: name.into(),
                cell: (0, 0),
                facing: Dir::North,
                want: Heading::Keep,
                phase: 0,
                alive: false,
                score: 0,
                deaths: 0,
                respawn_in: 1,
                trail: VecDeque::new(),
            },
        );
        self.spawn(id);
        id
    }

    /// A player leaves, taking its cycle and trail with it (idempotent).
    pub fn leave(&mut self, player: EntityId) {
        if let Some(c) = self.cycles.remove(&player) {
            vacate(&mut self.occupied, self.settings.width, &c);
        }
    }

    /// `player`'s input from the next tick on. Any value is acceptable.
    pub fn input(&mut self, player: EntityId, input: TronInput) {
        if let Some(c) = self.cycles.get_mut(&player) {
            c.want = input.heading;
        }
    }

    /// Moves the events since the last call to `out`.
    pub fn drain_events(&mut self, out: &mut Vec<TronEvent>) {
        out.append(&mut self.events);
    }

    /// Advances the game by one tick.
    pub fn step(&mut self) {
        self.tick += 1;
        // Those dead before this tick count down; those crashing in it start next tick.
        let mut due = Vec::new();
        for c in self.cycles.values_mut().filter(|c| !c.alive) {
            c.respawn_in = c.respawn_in.saturating_sub(1);
            if c.respawn_in == 0 {
                due.push(c.id);
            }
        }
        self.move_cycles();
        // After the moves, so a respawn avoids this tick's trail cells.
        for id in due {
            if self.spawn(id) {
                self.events.push(TronEvent::Respawned { player: id });
            }
        }
    }

    fn move_cycles(&mut self) {
        let (width, height) = (self.settings.width, self.settings.height);
        let mut moves = Vec::new();
        for c in self.cycles.values_mut().filter(|c| c.alive) {
            if !self.pace.tick(&mut c.phase) {
                continue;
            }
            c.facing = c.facing.turn(c.want);
            moves.push(Move {
                id: c.id,
                to: neighbour(width, height, c.cell, c.facing),
                crash: None,
                head_on: false,
            });
        }
        if moves.is_empty() {
            return;
        }
        // The cells left become trail, and trails too long lose their oldest cells.
        for m in &moves {
            let id = self.allocate_id();
            let Some(c) = self.cycles.get_mut(&m.id) else {
                continue;
            };
            c.trail.push_back(TrailCell { id, cell: c.cell });
            while c.trail.len() > usize::from(self.settings.trail_length) {
                if let Some(old) = c.trail.pop_front() {
                    let i = index(width, old.cell);
                    self.occupied[i] = 0;
                }
            }
        }
        // Judge every move against the grid as it stands now.
        let mut entering = Vec::with_capacity(moves.len());
        for (k, m) in moves.iter_mut().enumerate() {
            match m.to {
                None => m.crash = Some(None),
                Some(to) => match self.occupied[index(width, to)] {
                    0 => entering.push((index(width, to), k)),
                    owner => m.crash = Some(Some(EntityId(owner))),
                },
            }
        }
        // Movers entering one free cell all crash, each into the first of the others.
        entering.sort_unstable();
        for group in entering.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
            for &(_, k) in group {
                let me = moves[k].id;
                let other = group.iter().map(|&(_, j)| moves[j].id).find(|&o| o != me);
                moves[k].crash = Some(other);
                moves[k].head_on = true;
            }
        }
        for m in moves {
            match (m.crash, m.to) {
                (None, Some(to)) => {
                    self.occupied[index(width, to)] = m.id.0;
                    if let Some(c) = self.cycles.get_mut(&m.id) {
                        c.cell = to;
                    }
                }
                (crash, _) => self.crash(m.id, crash.flatten(), m.head_on),
            }
        }
    }

    fn crash(&mut self, id: EntityId, into: Option<EntityId>, head_on: bool) {
        let Some(c) = self.cycles.get_mut(&id) else {
            return;
        };
        vacate(&mut self.occupied, self.settings.width, c);
        c.trail.clear();
        c.alive = false;
        c.deaths += 1;
        c.respawn_in = self.respawn_ticks;
        if let Some(owner) = into.filter(|&o| o != id && !head_on)
            && let Some(o) = self.cycles.get_mut(&owner)
        {
            o.score += 1;
        }
        self.events.push(TronEvent::Crashed { player: id, into });
    }

    /// Brings cycle `id` to life on a free cell; false (to retry next tick) when none is free.
    fn spawn(&mut self, id: EntityId) -> bool {
        let Some((cell, facing)) = self.spawn_point() else {
            if let Some(c) = self.cycles.get_mut(&id) {
                c.respawn_in = 1;
            }
            return false;
        };
        let Some(c) = self.cycles.get_mut(&id) else {
            return false;
        };
        c.cell = cell;
        c.facing = facing;
        c.phase = 0;
        c.alive = true;
        c.respawn_in = 0;
        let i = index(self.settings.width, cell);
        self.occupied[i] = id.0;
        true
    }

    /// A random free cell, preferably with room around it, and the direction of its longest
    /// free run; `None` when the grid is full.
    fn spawn_point(&mut self) -> Option<((u16, u16), Dir)> {
        let (w, h) = (self.settings.width, self.settings.height);
        let mut found = None;
        for _ in 0..SPAWN_TRIES {
            let cell = (self.rng.random_range(0..w), self.rng.random_range(0..h));
            if self.has_room(cell) {
                found = Some(cell);
                break;
            }
        }
        if found.is_none() {
            let free = self.occupied.iter().filter(|&&o| o == 0).count();
            if free == 0 {
                return None;
            }
            let pick = self.rng.random_range(0..free);
            found = self
                .occupied
                .iter()
                .enumerate()
                .filter(|&(_, &o)| o == 0)
                .nth(pick)
                .and_then(|(i, _)| {
                    let (w, i) = (usize::from(w), i);
                    Some((u16::try_from(i % w).ok()?, u16::try_from(i / w).ok()?))
                });
        }
        let cell = found?;
        // The longest free run, ties to the first from a random start: cycles do not all
        // leave their spawns northward.
        let start = self.rng.random_range(0..4usize);
        let facing = (0..4)
            .map(|k| Dir::ALL[(start + k) % 4])
            .fold((Dir::North, None), |best, d| {
                let run = self.free_run(cell, d);
                match best.1 {
                    Some(b) if b >= run => best,
                    _ => (d, Some(run)),
                }
            })
            .0;
        Some((cell, facing))
    }

    /// Whether every cell within [`SPAWN_CLEARANCE`] of `cell` is inside the grid and empty.
    fn has_room(&self, (x, y): (u16, u16)) -> bool {
        let r = SPAWN_CLEARANCE;
        (-r..=r).all(|dy| {
            (-r..=r).all(|dx| {
                self.cell_at(i32::from(x) + dx, i32::from(y) + dy)
                    .is_some_and(|c| self.occupied[index(self.settings.width, c)] == 0)
            })
        })
    }

    /// Empty cells from `cell` (excluded) going `dir`.
    fn free_run(&self, cell: (u16, u16), dir: Dir) -> u32 {
        let mut run = 0;
        let mut at = cell;
        while let Some(next) = neighbour(self.settings.width, self.settings.height, at, dir) {
            if self.occupied[index(self.settings.width, next)] != 0 {
                break;
            }
            run += 1;
            at = next;
        }
        run
    }

    fn cell_at(&self, x: i32, y: i32) -> Option<(u16, u16)> {
        let x = u16::try_from(x).ok().filter(|&x| x < self.settings.width)?;
        let y = u16::try_from(y)
            .ok()
            .filter(|&y| y < self.settings.height)?;
        Some((x, y))
    }

    fn allocate_id(&mut self) -> EntityId {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if self.next_id == 0 {
                // Wrapped: from now on skip whatever is still alive.
                self.next_id = 1;
                self.reserved = self.live_ids();
            }
            if self.reserved.binary_search(&id).is_err() {
                return EntityId(id);
            }
        }
    }

    fn live_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .cycles
            .values()
            .flat_map(|c| std::iter::once(c.id.0).chain(c.trail.iter().map(|t| t.id.0)))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Appends every cycle, then every trail cell, to `out`.
    pub fn entities(&self, out: &mut Vec<Entity>) {
        let cell = self.settings.cell;
        let at = |(x, y): (u16, u16)| centre(cell, (i32::from(x), i32::from(y)));
        out.reserve(self.entity_count());
        out.extend(self.cycles.values().map(|c| Entity {
            id: c.id,
            pos: at(c.cell),
            kind: EntityKind::Cycle {
                heading: c.facing.wire(),
                alive: c.alive,
                score: c.score,
                phase: c.phase,
            },
        }));
        for c in self.cycles.values() {
            out.extend(c.trail.iter().map(|t| Entity {
                id: t.id,
                pos: at(t.cell),
                kind: EntityKind::Trail { owner: c.id },
            }));
        }
    }

    /// The playing area in world units.
    pub fn area(&self) -> Vec2 {
        self.settings.area()
    }

    /// A 64-bit FNV-1a digest of the whole state (including the RNG position, held inputs and
    /// the id counter): equal hashes mean equal games.
    pub fn state_hash(&self) -> u64 {
        let mut h = FnvHasher::default();
        h.write_u64(self.tick);
        h.write_u128(self.rng.get_word_pos());
        h.write_u32(self.next_id);
        h.write_usize(self.reserved.len());
        for &r in &self.reserved {
            h.write_u32(r);
        }
        for c in self.cycles.values() {
            h.write_u32(c.id.0);
            h.write_usize(c.name.len());
            h.write(c.name.as_bytes());
            h.write_u16(c.cell.0);
            h.write_u16(c.cell.1);
            h.write_u8(c.facing.wire());
            h.write_u8(c.want.to_wire().unwrap_or(u8::MAX));
            h.write_u16(c.phase);
            h.write_u8(u8::from(c.alive));
            h.write_u32(c.score);
            h.write_u32(c.deaths);
            h.write_u32(c.respawn_in);
            h.write_usize(c.trail.len());
            for t in &c.trail {
                h.write_u32(t.id.0);
                h.write_u16(t.cell.0);
                h.write_u16(t.cell.1);
            }
        }
        h.finish()
    }
}

/// The cell next to `cell` going `dir`, if inside a `width` × `height` grid.
fn neighbour(width: u16, height: u16, (x, y): (u16, u16), dir: Dir) -> Option<(u16, u16)> {
    let (dx, dy) = dir.delta();
    let x = u16::try_from(i32::from(x) + dx)
        .ok()
        .filter(|&x| x < width)?;
    let y = u16::try_from(i32::from(y) + dy)
        .ok()
        .filter(|&y| y < height)?;
    Some((x, y))
}

/// Empties the cells `c` fills: its trail, and its head while it lives.
fn vacate(occupied: &mut [u32], width: u16, c: &Cycle) {
    for t in &c.trail {
        occupied[index(width, t.cell)] = 0;
    }
    let head = index(width, c.cell);
    if occupied[head] == c.id.0 {
        occupied[head] = 0;
    }
}

/// The row-major index of `cell` in a grid `width` cells wide.
fn index(width: u16, (x, y): (u16, u16)) -> usize {
    usize::from(y) * usize::from(width) + usize::from(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `width` × `height` game at 30 ticks/s whose cycles move `moves_per_second` cells a
    /// second, with trails of `trail` cells and a one-second respawn.
    fn game(width: u16, height: u16, moves_per_second: u16, trail: u16) -> Tron {
        let settings = Settings {
            width,
            height,
            cell: 16.0,
            moves_per_second,
            trail_length: trail,
            respawn_s: 1.0,
        };
        Tron::new(&settings, 30, 7)
    }

    /// A cycle that joined and was then put on `cell`, facing `facing`, with phase `phase`.
    fn put(g: &mut Tron, cell: (u16, u16), facing: Dir, phase: u16) -> EntityId {
        let id = g.join("p");
        let width = g.settings.width;
        let Some(c) = g.cycles.get_mut(&id) else {
            panic!("joined cycle missing");
        };
        vacate(&mut g.occupied, width, c);
        assert_eq!(g.occupied[index(width, cell)], 0, "{cell:?} is taken");
        c.cell = cell;
        c.facing = facing;
        c.phase = phase;
        g.occupied[index(width, cell)] = id.0;
        id
    }

    fn steer(g: &mut Tron, id: EntityId, heading: Heading) {
        g.input(id, TronInput { heading });
    }

    fn cycle(g: &Tron, id: EntityId) -> &Cycle {
        g.cycles.get(&id).expect("cycle exists")
    }

    fn run(g: &mut Tron, ticks: u32) -> Vec<TronEvent> {
        let mut events = Vec::new();
        for _ in 0..ticks {
            g.step();
            g.drain_events(&mut events);
        }
        events
    }

    /// Every occupied cell is a living head or a trail cell, and every one of those is marked.
    fn assert_consistent(g: &Tron) {
        let mut expected = vec![0; g.occupied.len()];
        let width = g.settings.width;
        for c in g.cycles.values() {
            for t in &c.trail {
                assert_eq!(
                    expected[index(width, t.cell)],
                    0,
                    "two things in {:?}",
                    t.cell
                );
                expected[index(width, t.cell)] = c.id.0;
            }
            if c.alive {
                assert_eq!(
                    expected[index(width, c.cell)],
                    0,
                    "two things in {:?}",
                    c.cell
                );
                expected[index(width, c.cell)] = c.id.0;
            }
        }
        assert_eq!(g.occupied, expected);
    }

    #[test]
    fn a_cycle_moves_one_cell_every_tick_rate_over_moves_per_second_ticks() {
        let mut g = game(32, 32, 10, 48);
        let id = put(&mut g, (10, 10), Dir::East, 0);
        let mut xs = Vec::new();
        for _ in 0..9 {
            g.step();
            xs.push(cycle(&g, id).cell.0);
        }
        assert_eq!(xs, [10, 10, 11, 11, 11, 12, 12, 12, 13]);
        assert_eq!(cycle(&g, id).trail.len(), 3);
        assert_consistent(&g);
    }

    #[test]
    fn a_reversal_is_ignored_and_a_turn_waits_for_the_move() {
        let mut g = game(32, 32, 10, 48);
        let id = put(&mut g, (10, 10), Dir::East, 0);
        steer(&mut g, id, Heading::West);
        run(&mut g, 3);
        assert_eq!(cycle(&g, id).cell, (11, 10), "reversal ignored");
        assert_eq!(cycle(&g, id).facing, Dir::East);
        steer(&mut g, id, Heading::North);
        run(&mut g, 2);
        assert_eq!(cycle(&g, id).facing, Dir::East, "no turn between moves");
        // Held (and repeated) for the next move, then a reversal of the new facing.
        steer(&mut g, id, Heading::North);
        run(&mut g, 1);
        assert_eq!(cycle(&g, id).cell, (11, 9));
        steer(&mut g, id, Heading::South);
        run(&mut g, 3);
        assert_eq!(cycle(&g, id).cell, (11, 8));
        assert!(cycle(&g, id).alive);
    }

    #[test]
    fn holding_an_input_is_idempotent() {
        let mut once = game(32, 32, 10, 48);
        let mut every_tick = game(32, 32, 10, 48);
        let a = put(&mut once, (10, 10), Dir::East, 0);
        let b = put(&mut every_tick, (10, 10), Dir::East, 0);
        steer(&mut once, a, Heading::South);
        for _ in 0..20 {
            steer(&mut every_tick, b, Heading::South);
            once.step();
            every_tick.step();
            assert_eq!(once.state_hash(), every_tick.state_hash());
        }
        assert_eq!(cycle(&once, a).cell, (10, 16));
    }

    #[test]
    fn leaving_the_grid_is_a_crash_into_the_wall() {
        let mut g = game(16, 16, 30, 48);
        let id = put(&mut g, (13, 4), Dir::East, 0);
        let events = run(&mut g, 3);
        assert_eq!(
            events,
            [TronEvent::Crashed {
                player: id,
                into: None
            }]
        );
        let c = cycle(&g, id);
        assert!(!c.alive);
        assert_eq!(c.cell, (15, 4), "a crashed cycle stays where it crashed");
        assert!(c.trail.is_empty(), "its trail is gone");
        assert_eq!(c.deaths, 1);
        assert_consistent(&g);
        let mut out = Vec::new();
        g.entities(&mut out);
        assert_eq!(out.len(), 1, "no trail entities left: {out:?}");
    }

    #[test]
    fn a_crash_into_another_trail_scores_its_owner() {
        let mut g = game(32, 32, 30, 48);
        // B crosses row 10 going East and leaves (8..=12, 10) behind; A comes up from below.
        let b = put(&mut g, (8, 10), Dir::East, 0);
        let a = put(&mut g, (10, 14), Dir::North, 0);
        let events = run(&mut g, 4);
        assert_eq!(
            events,
            [TronEvent::Crashed {
                player: a,
                into: Some(b)
            }]
        );
        assert_eq!(cycle(&g, b).score, 1);
        assert_eq!(cycle(&g, a).score, 0);
        assert!(cycle(&g, b).alive);
        assert_consistent(&g);
    }

    #[test]
    fn a_crash_into_the_own_trail_scores_nobody() {
        let mut g = game(32, 32, 30, 48);
        let id = put(&mut g, (10, 10), Dir::East, 0);
        run(&mut g, 1);
        steer(&mut g, id, Heading::South);
        run(&mut g, 1);
        steer(&mut g, id, Heading::West);
        run(&mut g, 1);
        steer(&mut g, id, Heading::North);
        let events = run(&mut g, 1);
        assert_eq!(
            events,
            [TronEvent::Crashed {
                player: id,
                into: Some(id)
            }]
        );
        assert_eq!(cycle(&g, id).score, 0);
    }

    #[test]
    fn two_cycles_entering_one_cell_both_crash_and_nobody_scores() {
        let mut g = game(32, 32, 30, 48);
        let a = put(&mut g, (5, 5), Dir::East, 0);
        let b = put(&mut g, (7, 5), Dir::West, 0);
        let events = run(&mut g, 1);
        assert_eq!(
            events,
            [
                TronEvent::Crashed {
                    player: a,
                    into: Some(b)
                },
                TronEvent::Crashed {
                    player: b,
                    into: Some(a)
                },
            ]
        );
        assert_eq!((cycle(&g, a).score, cycle(&g, b).score), (0, 0));
        assert_eq!(g.occupied.iter().filter(|&&o| o != 0).count(), 0);
        assert_consistent(&g);
    }

    #[test]
    fn swapping_cells_crashes_both_into_the_other_trail() {
        let mut g = game(32, 32, 30, 48);
        let a = put(&mut g, (5, 5), Dir::East, 0);
        let b = put(&mut g, (6, 5), Dir::West, 0);
        let events = run(&mut g, 1);
        assert_eq!(events.len(), 2);
        assert!(events.contains(&TronEvent::Crashed {
            player: a,
            into: Some(b)
        }));
        assert_eq!((cycle(&g, a).score, cycle(&g, b).score), (1, 1));
    }

    #[test]
    fn moving_into_a_cycle_that_did_not_move_crashes_only_the_mover() {
        let mut g = game(32, 32, 10, 48);
        // A moves on the next tick, B two ticks later.
        let a = put(&mut g, (5, 5), Dir::East, 20);
        let b = put(&mut g, (6, 5), Dir::North, 0);
        let events = run(&mut g, 1);
        assert_eq!(
            events,
            [TronEvent::Crashed {
                player: a,
                into: Some(b)
            }]
        );
        assert!(cycle(&g, b).alive);
        assert_eq!(cycle(&g, b).score, 1);
        assert_consistent(&g);
    }

    #[test]
    fn a_trail_keeps_only_its_newest_cells() {
        let mut g = game(32, 32, 30, 3);
        let id = put(&mut g, (2, 2), Dir::East, 0);
        run(&mut g, 6);
        let cells: Vec<_> = cycle(&g, id).trail.iter().map(|t| t.cell).collect();
        assert_eq!(cells, [(5, 2), (6, 2), (7, 2)]);
        assert_consistent(&g);
        // The freed cells are free: a cycle may cross them.
        let other = put(&mut g, (3, 4), Dir::North, 0);
        run(&mut g, 3);
        assert!(cycle(&g, other).alive);
        assert_eq!(cycle(&g, other).cell, (3, 1));
    }

    #[test]
    fn a_short_trail_lets_a_cycle_follow_its_own_tail() {
        // A 2 × 2 loop with three trail cells: the oldest leaves the cell the head enters.
        let mut g = game(16, 16, 30, 3);
        let id = put(&mut g, (5, 5), Dir::East, 0);
        for heading in [Heading::East, Heading::South, Heading::West, Heading::North].repeat(3) {
            steer(&mut g, id, heading);
            assert_eq!(run(&mut g, 1), []);
        }
        assert_eq!(cycle(&g, id).cell, (5, 5));
        assert_consistent(&g);
    }

    #[test]
    fn a_crashed_cycle_respawns_after_respawn_s_on_a_free_cell() {
        let mut g = game(16, 16, 10, 48);
        let id = put(&mut g, (15, 4), Dir::East, 20);
        let other = put(&mut g, (2, 12), Dir::North, 0);
        let events = run(&mut g, 1);
        assert_eq!(events.len(), 1, "{events:?}");
        // respawn_s = 1 at 30 ticks/s.
        assert_eq!(run(&mut g, 29), []);
        assert!(!cycle(&g, id).alive);
        let events = run(&mut g, 1);
        assert!(
            events.contains(&TronEvent::Respawned { player: id }),
            "{events:?}"
        );
        let c = cycle(&g, id);
        assert!(c.alive);
        assert_eq!(c.phase, 0);
        assert!(cycle(&g, other).trail.iter().all(|t| t.cell != c.cell));
        assert_ne!(c.cell, cycle(&g, other).cell);
        assert!(g.free_run(c.cell, c.facing) > 0, "it faces open space");
        assert_consistent(&g);
    }

    #[test]
    fn a_full_grid_postpones_the_spawn() {
        let mut g = game(8, 8, 10, 48);
        g.occupied.fill(u32::MAX);
        let id = g.join("late");
        assert!(!cycle(&g, id).alive);
        assert_eq!(run(&mut g, 3), []);
        g.occupied.fill(0);
        assert_eq!(run(&mut g, 1), [TronEvent::Respawned { player: id }]);
        assert!(cycle(&g, id).alive);
    }

    #[test]
    fn leaving_takes_the_cycle_and_its_trail() {
        let mut g = game(32, 32, 30, 48);
        let a = put(&mut g, (5, 5), Dir::East, 0);
        let b = put(&mut g, (5, 20), Dir::East, 0);
        run(&mut g, 5);
        g.leave(a);
        g.leave(a);
        assert_eq!(g.cycle_count(), 1);
        assert_consistent(&g);
        let mut out = Vec::new();
        g.entities(&mut out);
        assert!(out.iter().all(|e| match e.kind {
            EntityKind::Cycle { .. } => e.id == b,
            EntityKind::Trail { owner } => owner == b,
        }));
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn ids_start_at_one_and_never_repeat_a_living_id_after_wrapping() {
        let mut g = game(32, 32, 30, 48);
        let a = put(&mut g, (5, 5), Dir::East, 0);
        assert_eq!(a, EntityId(1));
        run(&mut g, 4);
        g.next_id = u32::MAX - 1;
        let b = put(&mut g, (5, 20), Dir::East, 0);
        assert_eq!(b, EntityId(u32::MAX - 1));
        run(&mut g, 10);
        let mut out = Vec::new();
        g.entities(&mut out);
        let mut ids: Vec<u32> = out.iter().map(|e| e.id.0).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "duplicate ids");
        assert!(!ids.contains(&0));
        assert!(ids.contains(&u32::MAX), "the counter reached the top");
        // 1 (a) and a's four oldest trail cells 2..=5 were alive at the wrap: skipped.
        assert!(ids.contains(&6), "{ids:?}");
    }

    #[test]
    fn entities_show_cell_centres_and_facing() {
        let mut g = game(32, 32, 10, 48);
        let id = put(&mut g, (2, 3), Dir::South, 0);
        run(&mut g, 3);
        let mut out = Vec::new();
        g.entities(&mut out);
        assert_eq!(
            out,
            [
                Entity {
                    id,
                    pos: Vec2::new(40.0, 72.0),
                    kind: EntityKind::Cycle {
                        heading: 2,
                        alive: true,
                        score: 0,
                        phase: 0
                    }
                },
                Entity {
                    id: EntityId(id.0 + 1),
                    pos: Vec2::new(40.0, 56.0),
                    kind: EntityKind::Trail { owner: id }
                },
            ]
        );
    }

    #[test]
    fn settings_out_of_bounds_are_clamped() {
        let settings = Settings {
            width: 0,
            height: u16::MAX,
            cell: f32::NAN,
            moves_per_second: u16::MAX,
            trail_length: 0,
            respawn_s: f32::NEG_INFINITY,
        };
        let mut g = Tron::new(&settings, 0, 1);
        assert_eq!(g.settings().validate(), Ok(()));
        for i in 0..4 {
            g.join(&format!("p{i}"));
        }
        run(&mut g, 100);
        assert_consistent(&g);
    }
}
