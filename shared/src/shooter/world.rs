//! The simulation: a pure, deterministic top-down arena shooter.
//!
//! A [`World`] changes only through [`World::apply`] (a [`Command`]: join, leave, input) and
//! [`World::step`] (one fixed-`dt` tick). It owns a seeded ChaCha RNG and iterates players in id
//! order, so the same seed and the same commands at the same ticks always produce the same world
//! ([`World::state_hash`] proves it). That is what lets a room be replayed from its log, bots
//! predict with the server's own code, and benches measure the real tick.

use std::collections::{BTreeMap, VecDeque};
use std::hash::Hasher;
use std::sync::Arc;

use fnv::FnvHasher;
use glam::Vec2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::game::{EntityId, Rewind};
use crate::grid::SpatialGrid;
use crate::quant;
use crate::shooter::collision::{
    Rect, push_circle_out_of_rect, segment_enters_rect, segment_touches_circle,
};
use crate::shooter::entity::{Entity, EntityKind};
use crate::shooter::event::GameEvent;
use crate::shooter::map::Map;
use crate::shooter::rules::Rules;

/// What a player wants this tick. Arrives from the network, so [`World`] sanitises it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlayerInput {
    /// Desired direction of travel; longer than 1 is clamped to 1.
    pub move_dir: Vec2,
    /// Direction to aim; a zero vector keeps the previous aim.
    pub aim: Vec2,
    /// Trigger held.
    pub fire: bool,
}

impl PlayerInput {
    /// The input with non-finite numbers zeroed and `move_dir` clamped to length 1, so no
    /// client can push NaN or a speed hack into the simulation.
    pub fn sanitized(self) -> Self {
        let finite = |v: Vec2| if v.is_finite() { v } else { Vec2::ZERO };
        Self {
            move_dir: finite(self.move_dir).clamp_length_max(1.0),
            aim: finite(self.aim),
            fire: self.fire,
        }
    }
}

/// Everything that can change a world between ticks. A room's log of these, with its seed,
/// reproduces the room exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// A player enters; they are assigned the next id and spawn at once.
    Join {
        /// Display name (already validated by the caller).
        name: String,
    },
    /// A player leaves; their projectiles keep flying.
    Leave {
        /// Who.
        player: EntityId,
    },
    /// A player's new input, held until the next one.
    Input {
        /// Whose.
        player: EntityId,
        /// The input.
        input: PlayerInput,
    },
}

/// A player in the world.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Player {
    /// Entity id.
    pub id: EntityId,
    /// Display name.
    pub name: String,
    /// Centre.
    pub pos: Vec2,
    /// Velocity, units/s.
    pub vel: Vec2,
    /// Unit aim vector, at wire precision.
    pub aim: Vec2,
    /// `aim` as the wire's angle, kept beside it so neither the tick nor a snapshot pays an
    /// `atan2` for a player whose aim did not change.
    pub aim_angle: u16,
    /// The input aim `aim` was last derived from.
    aim_from: Vec2,
    /// The input being held.
    pub input: PlayerInput,
    /// How far back the player was looking when it sent `input`: its shots are judged
    /// against the others as they were that long before each tick of their flight.
    pub rewind: Rewind,
    /// Health; 0 while dead.
    pub health: u8,
    /// Kills.
    pub score: u32,
    /// Deaths.
    pub deaths: u32,
    /// Ticks until the player may fire again.
    pub cooldown: u32,
    /// Ticks until respawn; meaningful only while dead.
    pub respawn_in: u32,
    /// False while dead.
    pub alive: bool,
}

/// A projectile in flight.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Projectile {
    /// Entity id.
    pub id: EntityId,
    /// Who fired it.
    pub owner: EntityId,
    /// Centre.
    pub pos: Vec2,
    /// Velocity, units/s.
    pub vel: Vec2,
    /// Ticks left before it expires.
    pub ttl: u32,
    /// Its owner's rewind when it was fired: it flies in its owner's timeline, hitting players
    /// where its owner saw them (lag compensation).
    pub rewind: Rewind,
}

/// One tick's living players, kept for rewinding hit tests.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Frame {
    tick: u64,
    /// Every living player, in id order: id, position and life (deaths so far). A life changes
    /// only by dying, so a player with the same life then and now has not died or respawned
    /// (teleported) in between.
    players: Vec<(EntityId, Vec2, u32)>,
}

/// A living player as the projectile hit tests index it.
#[derive(Clone, Copy, Debug)]
struct Target {
    id: EntityId,
    pos: Vec2,
    life: u32,
    /// False once killed earlier in this tick.
    alive: bool,
}

/// The state of one arena, advanced in fixed ticks.
#[derive(Clone, Debug)]
pub struct World {
    map: Arc<Map>,
    rules: Rules,
    /// Player movement, shared with client-side prediction.
    mover: Mover,
    fire_cooldown_ticks: u32,
    respawn_ticks: u32,
    projectile_ttl_ticks: u32,
    tick: u64,
    seed: u64,
    rng: ChaCha8Rng,
    next_id: u32,
    players: BTreeMap<EntityId, Player>,
    projectiles: Vec<Projectile>,
    events: Vec<GameEvent>,
    /// Living players bucketed by position, rebuilt each tick for projectile hit tests.
    grid: SpatialGrid,
    /// Scratch: living players as the grid indexes them.
    targets: Vec<Target>,
    /// The living players of the last [`Rewind::MAX_MS`] of ticks, oldest first, newest = now.
    history: VecDeque<Frame>,
    /// Frames kept in `history`.
    history_len: usize,
    /// The farthest a living player can move in one tick, walls and rounding included: how far
    /// to widen a rewound shot's search of the present grid per tick rewound.
    max_step: f32,
}

/// What [`World::save`] keeps: everything the next ticks depend on that the map, rules and
/// tick rate do not give (those come with the settings), and nothing derived each tick.
#[derive(Serialize, Deserialize)]
struct Saved<P, S, H> {
    tick: u64,
    seed: u64,
    rng: ChaCha8Rng,
    next_id: u32,
    players: P,
    projectiles: S,
    history: H,
}

/// Grid cell size, units: a few player diameters, so a projectile's path for one tick touches
/// one to four cells.
const GRID_CELL: f32 = 64.0;

impl World {
    /// A new, empty world ticking `tick_rate` times a second, reproducible from `seed`.
    pub fn new(map: Arc<Map>, rules: Rules, tick_rate: u32, seed: u64) -> Self {
        let tick_rate = tick_rate.max(1);
        let ticks = |secs: f32| (secs * tick_rate as f32).round().max(0.0) as u32;
        let size = map.size;
        // Speed is capped, so the move is at most max_speed * dt; pushing out of walls undoes
        // part of a move, never more than it; snapping adds under a wire step.
        let max_step = 2.0 * rules.max_speed / tick_rate as f32 + 1.0;
        Self {
            mover: Mover::new(&map, &rules, tick_rate),
            fire_cooldown_ticks: ticks(rules.fire_cooldown_s),
            respawn_ticks: ticks(rules.respawn_delay_s).max(1),
            projectile_ttl_ticks: ticks(rules.projectile_lifetime_s).max(1),
            map,
            rules,
            tick: 0,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_id: 1,
            players: BTreeMap::new(),
            projectiles: Vec::new(),
            events: Vec::new(),
            grid: SpatialGrid::new(size, GRID_CELL),
            targets: Vec::new(),
            history: VecDeque::new(),
            history_len: (Rewind::MAX_MS * tick_rate).div_ceil(1000) as usize + 1,
            max_step,
        }
    }

    /// The number of ticks stepped so far.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The seed the world was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The map the world plays on.
    pub fn map(&self) -> &Arc<Map> {
        &self.map
    }

    /// The rules the world plays by.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// A player by id.
    pub fn player(&self, id: EntityId) -> Option<&Player> {
        self.players.get(&id)
    }

    /// All players, in id order.
    pub fn players(&self) -> impl Iterator<Item = &Player> {
        self.players.values()
    }

    /// All projectiles in flight.
    pub fn projectiles(&self) -> &[Projectile] {
        &self.projectiles
    }

    /// Players plus projectiles: the size of a snapshot.
    pub fn entity_count(&self) -> usize {
        self.players.len() + self.projectiles.len()
    }

    /// Applies one command. Returns the new player's id for [`Command::Join`].
    pub fn apply(&mut self, command: Command) -> Option<EntityId> {
        match command {
            Command::Join { name } => Some(self.join(name)),
            Command::Leave { player } => {
                self.players.remove(&player);
                None
            }
            Command::Input { player, input } => {
                self.input(player, input, Rewind::NONE);
                None
            }
        }
    }

    /// `player`'s new input, chosen while it saw the others `seen` in the past (bounded here
    /// by the history kept).
    pub fn input(&mut self, player: EntityId, input: PlayerInput, seen: Rewind) {
        let max = Rewind((self.history_len as u32 - 1) * Rewind::STEPS_PER_TICK);
        if let Some(p) = self.players.get_mut(&player) {
            p.input = input.sanitized();
            p.rewind = seen.min(max);
        }
    }

    fn join(&mut self, name: String) -> EntityId {
        let id = self.allocate_id();
        let pos = self.choose_spawn();
        self.players.insert(
            id,
            Player {
                id,
                name,
                pos,
                vel: Vec2::ZERO,
                aim: Vec2::X,
                aim_angle: 0,
                aim_from: Vec2::X,
                input: PlayerInput::default(),
                rewind: Rewind::NONE,
                health: self.rules.max_health,
                score: 0,
                deaths: 0,
                cooldown: 0,
                respawn_in: 0,
                alive: true,
            },
        );
        id
    }

    fn allocate_id(&mut self) -> EntityId {
        let id = EntityId(self.next_id);
        // Wrapping after 2^32 entities (years at any plausible fire rate) could only collide
        // with an entity that has lived that long; skip zero so it can mean "none" on the wire.
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// A spawn point with no living player within the clearance, chosen at random; any spawn
    /// point when none is free.
    fn choose_spawn(&mut self) -> Vec2 {
        let clearance_sq = self.rules.spawn_clearance * self.rules.spawn_clearance;
        let free: Vec<Vec2> = self
            .map
            .spawns
            .iter()
            .copied()
            .filter(|s| {
                self.players
                    .values()
                    .all(|p| !p.alive || p.pos.distance_squared(*s) >= clearance_sq)
            })
            .collect();
        let pool = if free.is_empty() {
            &self.map.spawns
        } else {
            &free
        };
        quant::snap_pos(pool[self.rng.random_range(0..pool.len())])
    }

    /// Takes the events produced since the last call.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, GameEvent> {
        self.events.drain(..)
    }

    /// Advances the world by one tick of `1 / tick_rate` seconds.
    pub fn step(&mut self) {
        self.tick += 1;
        let mut due_respawn = Vec::new();
        let mut fired = Vec::new();
        for player in self.players.values_mut() {
            if !player.alive {
                player.respawn_in = player.respawn_in.saturating_sub(1);
                if player.respawn_in == 0 {
                    due_respawn.push(player.id);
                }
                continue;
            }
            self.mover
                .step(&mut player.pos, &mut player.vel, player.input.move_dir);
            let aim = player.input.aim;
            if aim != player.aim_from && aim.length_squared() > 1e-12 {
                player.aim_angle = quant::aim_to_wire(aim);
                player.aim = quant::aim_from_wire(player.aim_angle);
                player.aim_from = aim;
            }
            player.cooldown = player.cooldown.saturating_sub(1);
            if player.input.fire && player.cooldown == 0 {
                player.cooldown = self.fire_cooldown_ticks;
                fired.push((
                    player.id,
                    player.pos,
                    player.aim * self.rules.projectile_speed,
                    player.rewind,
                ));
            }
        }
        // The shot leaves from where the shooter is now, never from a rewound position: the
        // shooter predicts itself, so it saw itself in the present.
        for (owner, pos, vel, rewind) in fired {
            let id = self.allocate_id();
            self.projectiles.push(Projectile {
                id,
                owner,
                pos,
                vel: quant::snap_vel(vel),
                ttl: self.projectile_ttl_ticks,
                rewind,
            });
        }
        for id in due_respawn {
            let pos = self.choose_spawn();
            if let Some(p) = self.players.get_mut(&id) {
                p.pos = pos;
                p.vel = Vec2::ZERO;
                p.health = self.rules.max_health;
                p.cooldown = 0;
                p.alive = true;
                self.events.push(GameEvent::Respawned { player: id, pos });
            }
        }
        self.record_frame();
        // Everything visible stays at wire precision (see `crate::quant`): players snap in
        // `Mover::step`, spawn points in `choose_spawn`, projectiles where they move.
        self.step_projectiles();
    }

    /// The whole state as bincode bytes (a replay keyframe); [`World::restore`] reads them.
    pub fn save(&self) -> Option<Vec<u8>> {
        let saved = Saved {
            tick: self.tick,
            seed: self.seed,
            rng: self.rng.clone(),
            next_id: self.next_id,
            players: self.players.values().collect::<Vec<_>>(),
            projectiles: &self.projectiles,
            history: &self.history,
        };
        crate::game::save_state(&saved)
    }

    /// The world [`World::save`] wrote, on `map` under `rules` at `tick_rate` (as created).
    pub fn restore(map: Arc<Map>, rules: Rules, tick_rate: u32, bytes: &[u8]) -> Option<Self> {
        type Owned = Saved<Vec<Player>, Vec<Projectile>, VecDeque<Frame>>;
        let saved: Owned = crate::game::load_state(bytes)?;
        let mut world = Self::new(map, rules, tick_rate, saved.seed);
        world.tick = saved.tick;
        world.rng = saved.rng;
        world.next_id = saved.next_id;
        world.players = saved.players.into_iter().map(|p| (p.id, p)).collect();
        world.projectiles = saved.projectiles;
        world.history = saved.history;
        Some(world)
    }

    /// Bytes the rewind history holds: `tick_rate + 1` frames of 16 bytes per living player.
    pub fn history_bytes(&self) -> usize {
        self.history.len() * std::mem::size_of::<Frame>()
            + self
                .history
                .iter()
                .map(|f| f.players.capacity() * std::mem::size_of::<(EntityId, Vec2, u32)>())
                .sum::<usize>()
    }

    /// Remembers where the living players are this tick, for rewinding.
    fn record_frame(&mut self) {
        let mut frame = if self.history.len() >= self.history_len {
            self.history.pop_front().unwrap_or_default()
        } else {
            Frame::default()
        };
        frame.tick = self.tick;
        frame.players.clear();
        frame.players.extend(
            self.players
                .values()
                .filter(|p| p.alive)
                .map(|p| (p.id, p.pos, p.deaths)),
        );
        self.history.push_back(frame);
    }

    /// Where `target` was `rewind` before the present tick, if it was alive then in the life
    /// it is in now: a player who joined, died or respawned since cannot be hit where it was.
    /// Between two ticks the position is interpolated, as clients draw it.
    fn rewound(&self, target: &Target, rewind: Rewind) -> Option<Vec2> {
        let oldest = self.history.front()?.tick;
        let at = (self.tick * u64::from(Rewind::STEPS_PER_TICK))
            .saturating_sub(u64::from(rewind.0))
            .max(oldest * u64::from(Rewind::STEPS_PER_TICK));
        let tick = at / u64::from(Rewind::STEPS_PER_TICK);
        let frac = (at % u64::from(Rewind::STEPS_PER_TICK)) as f32 / Rewind::STEPS_PER_TICK as f32;
        let find = |tick: u64| {
            let frame = self.history.get(usize::try_from(tick - oldest).ok()?)?;
            let i = frame
                .players
                .binary_search_by_key(&target.id, |p| p.0)
                .ok()?;
            let (_, pos, life) = frame.players[i];
            (life == target.life).then_some(pos)
        };
        let from = find(tick)?;
        if frac == 0.0 {
            return Some(from);
        }
        Some(from.lerp(find(tick + 1)?, frac))
    }

    fn step_projectiles(&mut self) {
        let hit_radius = self.rules.player_radius + self.rules.projectile_radius;
        let mut targets = std::mem::take(&mut self.targets);
        targets.clear();
        // The frame just recorded holds exactly the living players, in id order: one walk of
        // the player map a tick, not two.
        let now = self.history.back().map_or(&[][..], |f| &f.players[..]);
        targets.extend(now.iter().map(|&(id, pos, life)| Target {
            id,
            pos,
            life,
            alive: true,
        }));
        self.grid.rebuild(targets.iter().map(|t| t.pos));
        let mut projectiles = std::mem::take(&mut self.projectiles);
        projectiles.retain_mut(|shot| {
            let from = shot.pos;
            let to = from + shot.vel * self.mover.dt;
            let wall_t = self
                .map
                .walls
                .iter()
                .chain(&self.mover.border)
                .filter_map(|w| segment_enters_rect(from, to, w))
                .fold(f32::INFINITY, f32::min);
            // A rewound shot is tested against where players were; none can have been farther
            // from where they are now than they can move in that time, so the present grid,
            // searched that much wider, still lists every candidate.
            let reach = Vec2::splat(hit_radius + shot.rewind.ticks().ceil() * self.max_step);
            // Earliest contact along the path; ties go to the lower id, so the result does not
            // depend on the order the grid lists candidates in.
            let mut victim: Option<(f32, EntityId, usize, Vec2)> = None;
            self.grid
                .query(from.min(to) - reach, from.max(to) + reach, |i| {
                    let target = &targets[i];
                    if !target.alive || target.id == shot.owner {
                        return;
                    }
                    let pos = if shot.rewind == Rewind::NONE {
                        target.pos
                    } else {
                        match self.rewound(target, shot.rewind) {
                            Some(pos) => pos,
                            None => return,
                        }
                    };
                    if let Some(t) = segment_touches_circle(from, to, pos, hit_radius)
                        && victim
                            .is_none_or(|(bt, bid, _, _)| t < bt || (t == bt && target.id < bid))
                    {
                        victim = Some((t, target.id, i, pos));
                    }
                });
            match victim {
                Some((t, victim, i, at)) if t <= wall_t => {
                    if self.damage(shot.owner, victim, at) {
                        targets[i].alive = false;
                    }
                    false
                }
                _ if wall_t.is_finite() => false,
                _ => {
                    shot.pos = quant::snap_pos(to);
                    shot.ttl = shot.ttl.saturating_sub(1);
                    shot.ttl > 0
                }
            }
        });
        self.projectiles = projectiles;
        self.targets = targets;
    }

    /// Applies one projectile's damage; true when it killed.
    fn damage(&mut self, shooter: EntityId, victim: EntityId, at: Vec2) -> bool {
        let damage = self.rules.projectile_damage;
        let Some(v) = self.players.get_mut(&victim) else {
            return false;
        };
        v.health = v.health.saturating_sub(damage);
        let health = v.health;
        self.events.push(GameEvent::Hit {
            shooter,
            victim,
            damage,
            health,
            at,
        });
        if health > 0 {
            return false;
        }
        v.alive = false;
        v.vel = Vec2::ZERO;
        v.deaths += 1;
        v.respawn_in = self.respawn_ticks;
        if let Some(s) = self.players.get_mut(&shooter) {
            s.score += 1;
        }
        self.events.push(GameEvent::Killed {
            killer: shooter,
            victim,
        });
        true
    }

    /// Appends every entity's visible state to `out`.
    pub fn snapshot_into(&self, out: &mut Vec<Entity>) {
        out.reserve(self.entity_count());
        out.extend(self.players.values().map(|p| Entity {
            id: p.id,
            pos: p.pos,
            vel: p.vel,
            kind: EntityKind::Player {
                aim: p.aim_angle,
                health: p.health,
                score: p.score,
                deaths: p.deaths,
                alive: p.alive,
            },
        }));
        out.extend(self.projectiles.iter().map(|s| Entity {
            id: s.id,
            pos: s.pos,
            vel: s.vel,
            kind: EntityKind::Projectile { owner: s.owner },
        }));
    }

    /// A 64-bit FNV-1a digest of the complete simulation state (including the RNG position and
    /// held inputs), stable across runs and machines of one build: equal hashes mean equal worlds.
    pub fn state_hash(&self) -> u64 {
        let mut h = FnvHasher::default();
        let v2 = |h: &mut FnvHasher, v: Vec2| {
            h.write_u32(v.x.to_bits());
            h.write_u32(v.y.to_bits());
        };
        h.write_u64(self.tick);
        h.write_u128(self.rng.get_word_pos());
        h.write_u32(self.next_id);
        for p in self.players.values() {
            h.write_u32(p.id.0);
            h.write(p.name.as_bytes());
            v2(&mut h, p.pos);
            v2(&mut h, p.vel);
            v2(&mut h, p.aim);
            v2(&mut h, p.input.move_dir);
            v2(&mut h, p.input.aim);
            h.write_u8(p.input.fire as u8);
            h.write_u8(p.health);
            h.write_u32(p.score);
            h.write_u32(p.deaths);
            h.write_u32(p.cooldown);
            h.write_u32(p.respawn_in);
            h.write_u8(p.alive as u8);
            // Hashed only when set, so a world without lag compensation keeps the digests it
            // had before rewinding existed (the golden test pins them).
            if p.rewind != Rewind::NONE {
                h.write_u32(p.rewind.0);
            }
        }
        for s in &self.projectiles {
            h.write_u32(s.id.0);
            h.write_u32(s.owner.0);
            v2(&mut h, s.pos);
            v2(&mut h, s.vel);
            h.write_u32(s.ttl);
            if s.rewind != Rewind::NONE {
                h.write_u32(s.rewind.0);
            }
        }
        h.finish()
    }
}

/// Player movement: the one piece of the simulation a client runs itself, to predict its own
/// player between snapshots. It needs only the map, the rules and the tick rate, so the server
/// and a client build identical movers and, on identical quantised state, get identical results.
#[derive(Clone, Debug)]
pub struct Mover {
    player_radius: f32,
    acceleration: f32,
    max_speed: f32,
    dt: f32,
    /// `exp(-friction * dt)`, computed once: the per-tick velocity damping.
    damping: f32,
    /// The map's walls.
    walls: Vec<Rect>,
    /// The arena's edge as four thick walls, so players and projectiles treat it like any wall.
    border: [Rect; 4],
}

impl Mover {
    /// The movement of players on `map` under `rules`, at `tick_rate` ticks per second.
    pub fn new(map: &Map, rules: &Rules, tick_rate: u32) -> Self {
        let dt = 1.0 / tick_rate.max(1) as f32;
        let thick = 1000.0;
        let size = map.size;
        let border = [
            Rect {
                min: Vec2::new(-thick, -thick),
                max: Vec2::new(size.x + thick, 0.0),
            },
            Rect {
                min: Vec2::new(-thick, size.y),
                max: Vec2::new(size.x + thick, size.y + thick),
            },
            Rect {
                min: Vec2::new(-thick, 0.0),
                max: Vec2::new(0.0, size.y),
            },
            Rect {
                min: Vec2::new(size.x, 0.0),
                max: Vec2::new(size.x + thick, size.y),
            },
        ];
        Self {
            player_radius: rules.player_radius,
            acceleration: rules.acceleration,
            max_speed: rules.max_speed,
            dt,
            // libm, not `f32::exp`: the platform's exp may round differently, and prediction
            // replays this very damping on the client, which must match the server bit for bit.
            damping: libm::expf(-rules.friction * dt),
            walls: map.walls.clone(),
            border,
        }
    }

    /// One tick of a living player's movement under `move_dir` (sanitised here): accelerate,
    /// damp, cap, integrate, slide along walls, and snap to wire precision.
    pub fn step(&self, pos: &mut Vec2, vel: &mut Vec2, move_dir: Vec2) {
        let move_dir = PlayerInput {
            move_dir,
            ..PlayerInput::default()
        }
        .sanitized()
        .move_dir;
        *vel += move_dir * self.acceleration * self.dt;
        *vel *= self.damping;
        *vel = vel.clamp_length_max(self.max_speed);
        *pos += *vel * self.dt;
        // A few passes settle corners, where pushing out of one wall can push into its
        // neighbour.
        for _ in 0..3 {
            let mut touched = false;
            for wall in self.walls.iter().chain(&self.border) {
                if let Some(push) = push_circle_out_of_rect(*pos, self.player_radius, wall) {
                    *pos += push;
                    let normal = push.normalize_or_zero();
                    let into_wall = vel.dot(normal);
                    if into_wall < 0.0 {
                        *vel -= normal * into_wall;
                    }
                    touched = true;
                }
            }
            if !touched {
                break;
            }
        }
        *pos = quant::snap_pos(*pos);
        *vel = quant::snap_vel(*vel);
    }
}
