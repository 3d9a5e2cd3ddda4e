//! Interest management: which entities one player can see.
//!
//! A [`TickView`] is a tick's entities, sorted by id, with a [`SpatialGrid`] over their
//! positions. It is built once per snapshot and shared by every session of the room; each
//! session asks it for the entities inside its player's view box, in time proportional to what
//! is near the player, not to the room's size.

use glam::Vec2;

use crate::game::{EntityId, Game, Replicate};
use crate::grid::SpatialGrid;

/// Grid cell for view queries, units: a view box spans a handful of cells.
const VIEW_CELL: f32 = 128.0;

/// One tick's entities, queryable by area.
#[derive(Clone, Debug)]
pub struct TickView<E> {
    tick: u64,
    entities: Vec<E>,
    grid: SpatialGrid,
}

impl<E: Replicate> TickView<E> {
    /// The game's entities after its latest tick.
    pub fn of<G: Game<Entity = E>>(game: &G) -> Self {
        let mut entities = Vec::new();
        game.entities(&mut entities);
        Self::new(game.tick(), entities, game.area())
    }

    /// A view over `entities` (any order) on an arena of `size`.
    pub fn new(tick: u64, mut entities: Vec<E>, size: Vec2) -> Self {
        entities.sort_unstable_by_key(|e| e.id());
        let mut grid = SpatialGrid::new(size, VIEW_CELL);
        grid.rebuild(entities.iter().map(|e| e.position()));
        Self {
            tick,
            entities,
            grid,
        }
    }

    /// The tick.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Every entity, sorted by id.
    pub fn entities(&self) -> &[E] {
        &self.entities
    }

    /// One entity by id.
    pub fn entity(&self, id: EntityId) -> Option<&E> {
        self.entities
            .binary_search_by_key(&id, |e| e.id())
            .ok()
            .map(|i| &self.entities[i])
    }

    /// Appends to `out`, sorted by id, the entities within `half_extents` of `centre` on both
    /// axes, plus `always` (the viewer itself) wherever it is. `scratch` is reused between calls.
    pub fn in_view(
        &self,
        centre: Vec2,
        half_extents: Vec2,
        always: EntityId,
        scratch: &mut Vec<usize>,
        out: &mut Vec<E>,
    ) {
        let (min, max) = (centre - half_extents, centre + half_extents);
        scratch.clear();
        self.grid.query(min, max, |i| {
            let p = self.entities[i].position();
            if p.cmpge(min).all() && p.cmple(max).all() {
                scratch.push(i);
            }
        });
        if let Ok(me) = self.entities.binary_search_by_key(&always, |e| e.id())
            && !scratch.contains(&me)
        {
            scratch.push(me);
        }
        // Indices follow id order, so sorting them sorts the view by id.
        scratch.sort_unstable();
        out.extend(scratch.iter().map(|&i| self.entities[i].clone()));
    }
}
