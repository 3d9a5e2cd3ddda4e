//! Coins: the smallest complete Arena game. Each player is a dot that walks one step per tick in
//! the direction it holds; a coin sits somewhere on the field, and whoever reaches it scores and
//! sends it somewhere else. It shows every part of the seam in [`arena_shared::game`]: settings
//! sent in `Welcome`, an input, one replicated entity declared with `replicate!`, an event, a
//! deterministic step, a bot brain, and (because it is this simple) no prediction.

use arena_shared::game::{Brain, EntityId, Game, NoPrediction, Position, Rewind};
use glam::Vec2;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What a room is created with; every client gets it in `Welcome`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Side of the square field, world units.
    pub size: f32,
    /// Distance a dot walks per tick.
    pub step: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            size: 512.0,
            step: 8.0,
        }
    }
}

/// A player's controls: where to walk (each axis -1, 0 or 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Walk {
    /// -1 left, 1 right.
    pub dx: i8,
    /// -1 up, 1 down.
    pub dy: i8,
}

/// What clients see: the dots and the coin (`coin == true`, score 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thing {
    /// Its id.
    pub id: EntityId,
    /// Where it is, at the wire's 1/8-unit precision.
    #[serde(with = "arena_shared::quant::serde_vec::pos")]
    pub pos: Vec2,
    /// Coins collected (dots).
    pub score: u32,
    /// Whether this is the coin.
    pub coin: bool,
}

arena_shared::replicate! {
    /// What changed about a thing since the client's acknowledged view.
    Thing => ThingDelta, position: pos,
    fields { pos: Position, score: u32, coin: bool }
}

/// Something worth a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CoinEvent {
    /// A player reached the coin.
    Scored {
        /// Who.
        player: EntityId,
    },
}

/// The whole state of a room.
pub struct Coins {
    settings: Settings,
    tick: u64,
    rng: ChaCha8Rng,
    next_id: u32,
    /// Players in id order (a Vec kept sorted), so every step visits them the same way.
    dots: Vec<(Thing, Walk)>,
    coin: Thing,
    events: Vec<CoinEvent>,
}

/// The coin's id: players get 2, 3, ...
const COIN: EntityId = EntityId(1);

impl Coins {
    fn random_spot(&mut self) -> Vec2 {
        let s = self.settings.size;
        arena_shared::quant::snap_pos(Vec2::new(
            self.rng.random_range(0.0..s),
            self.rng.random_range(0.0..s),
        ))
    }
}

impl Game for Coins {
    const NAME: &'static str = "coins";
    const DESCRIPTION: &'static str = "Walk to the coin before anyone else does.";
    type Settings = Settings;
    type Input = Walk;
    type Entity = Thing;
    type Event = CoinEvent;
    type Predictor = NoPrediction;
    type Brain = Greedy;

    fn new(settings: &Settings, _tick_rate: u16, seed: u64) -> Self {
        let mut game = Self {
            settings: settings.clone(),
            tick: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_id: COIN.0 + 1,
            dots: Vec::new(),
            coin: Thing {
                id: COIN,
                pos: Vec2::ZERO,
                score: 0,
                coin: true,
            },
            events: Vec::new(),
        };
        game.coin.pos = game.random_spot();
        game
    }

    fn join(&mut self, _name: &str) -> EntityId {
        let id = EntityId(self.next_id);
        self.next_id += 1;
        let pos = self.random_spot();
        let dot = Thing {
            id,
            pos,
            score: 0,
            coin: false,
        };
        self.dots.push((dot, Walk::default()));
        id
    }

    fn leave(&mut self, player: EntityId) {
        self.dots.retain(|(d, _)| d.id != player);
    }

    fn input(&mut self, player: EntityId, input: Walk, _: Rewind) {
        if let Some((_, walk)) = self.dots.iter_mut().find(|(d, _)| d.id == player) {
            // From the network: anything but -1, 0, 1 is clamped.
            *walk = Walk {
                dx: input.dx.clamp(-1, 1),
                dy: input.dy.clamp(-1, 1),
            };
        }
    }

    fn step(&mut self) {
        self.tick += 1;
        let (size, step) = (self.settings.size, self.settings.step);
        let mut scored = None;
        for (dot, walk) in &mut self.dots {
            let to = dot.pos + Vec2::new(f32::from(walk.dx), f32::from(walk.dy)) * step;
            dot.pos = arena_shared::quant::snap_pos(to.clamp(Vec2::ZERO, Vec2::splat(size)));
            if scored.is_none() && dot.pos.distance(self.coin.pos) <= step {
                dot.score += 1;
                scored = Some(dot.id);
            }
        }
        if let Some(player) = scored {
            self.events.push(CoinEvent::Scored { player });
            self.coin.pos = self.random_spot();
        }
    }

    fn tick(&self) -> u64 {
        self.tick
    }

    fn drain_events(&mut self, out: &mut Vec<CoinEvent>) {
        out.append(&mut self.events);
    }

    fn entities(&self, out: &mut Vec<Thing>) {
        out.push(self.coin.clone());
        out.extend(self.dots.iter().map(|(d, _)| d.clone()));
    }

    fn area(&self) -> Vec2 {
        Vec2::splat(self.settings.size)
    }

    fn state_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |v: u64| h = (h ^ v).wrapping_mul(0x0100_0000_01b3);
        // Everything the next step depends on: the RNG's position, ids, held inputs.
        mix(self.tick);
        mix(self.rng.get_word_pos() as u64);
        mix(u64::from(self.next_id));
        for t in std::iter::once(&self.coin).chain(self.dots.iter().map(|(d, _)| d)) {
            mix(u64::from(t.id.0));
            mix(u64::from(t.pos.x.to_bits()) << 32 | u64::from(t.pos.y.to_bits()));
            mix(u64::from(t.score));
        }
        for (_, walk) in &self.dots {
            mix(u64::from(walk.dx as u8) << 8 | u64::from(walk.dy as u8));
        }
        h
    }
}

/// A bot that walks straight at the coin.
pub struct Greedy;

impl Brain<Coins> for Greedy {
    fn new(_: &Settings, _style: &str, _index: usize, _rng: &mut dyn RngCore) -> Self {
        Self
    }

    fn decide(&mut self, me: EntityId, view: &[Thing], _: f64, _: &mut dyn RngCore) -> Walk {
        let find = |pred: &dyn Fn(&Thing) -> bool| view.iter().find(|t| pred(t)).map(|t| t.pos);
        let (Some(own), Some(coin)) = (find(&|t| t.id == me), find(&|t| t.coin)) else {
            return Walk::default();
        };
        let axis = |d: f32| {
            if d > 1.0 {
                1
            } else if d < -1.0 {
                -1
            } else {
                0
            }
        };
        Walk {
            dx: axis(coin.x - own.x),
            dy: axis(coin.y - own.y),
        }
    }
}
