//! A uniform spatial grid over the arena: which points lie near a region, in time proportional
//! to the points there, not to all points. Rebuilt from scratch each tick (a counting sort into
//! flat arrays), so it allocates nothing once warm and has no incremental state to go stale.

use glam::Vec2;

/// Upper bound on cells, so a huge map with a small cell size cannot allocate without limit;
/// past it, cells grow instead.
const MAX_CELLS: usize = 1 << 20;

/// Points bucketed by cell, in compressed-row form.
#[derive(Clone, Debug)]
pub struct SpatialGrid {
    inv_cell: f32,
    cols: usize,
    rows: usize,
    /// `starts[c]..starts[c + 1]` indexes `items` for cell `c`.
    starts: Vec<u32>,
    /// Point indices, grouped by cell.
    items: Vec<u32>,
    /// Each point's cell, kept between the two passes of a rebuild.
    cell_of: Vec<u32>,
    /// Next free slot per cell during a rebuild; kept to reuse its allocation.
    fill: Vec<u32>,
}

impl SpatialGrid {
    /// An empty grid covering `[0, size]` with square cells of about `cell` units.
    pub fn new(size: Vec2, cell: f32) -> Self {
        let mut cell = cell.max(1.0);
        let dims = |cell: f32| {
            (
                (size.x / cell).ceil().max(1.0) as usize,
                (size.y / cell).ceil().max(1.0) as usize,
            )
        };
        let (mut cols, mut rows) = dims(cell);
        while cols * rows > MAX_CELLS {
            cell *= 2.0;
            (cols, rows) = dims(cell);
        }
        Self {
            inv_cell: 1.0 / cell,
            cols,
            rows,
            starts: vec![0; cols * rows + 1],
            items: Vec::new(),
            cell_of: Vec::new(),
            fill: Vec::new(),
        }
    }

    fn coords(&self, p: Vec2) -> (usize, usize) {
        // Saturating float-to-int casts clamp negatives and NaN to 0; `min` clamps the far side.
        let x = ((p.x * self.inv_cell) as usize).min(self.cols - 1);
        let y = ((p.y * self.inv_cell) as usize).min(self.rows - 1);
        (x, y)
    }

    /// Replaces the contents with `points`; point `i` is reported as index `i` by queries.
    pub fn rebuild(&mut self, points: impl ExactSizeIterator<Item = Vec2>) {
        self.starts.fill(0);
        self.cell_of.clear();
        for p in points {
            let (x, y) = self.coords(p);
            let cell = y * self.cols + x;
            self.cell_of.push(cell as u32);
            self.starts[cell + 1] += 1;
        }
        for c in 1..self.starts.len() {
            self.starts[c] += self.starts[c - 1];
        }
        self.items.clear();
        self.items.resize(self.cell_of.len(), 0);
        // In input order, so each cell lists its points in the order they were given.
        self.fill.clear();
        self.fill.extend_from_slice(&self.starts);
        for (i, &cell) in self.cell_of.iter().enumerate() {
            let slot = &mut self.fill[cell as usize];
            self.items[*slot as usize] = i as u32;
            *slot += 1;
        }
    }

    /// Calls `visit` with the index of every point in a cell that overlaps `[min, max]`: a
    /// superset of the points inside the box, which the caller filters exactly.
    pub fn query(&self, min: Vec2, max: Vec2, mut visit: impl FnMut(usize)) {
        let (x0, y0) = self.coords(min);
        let (x1, y1) = self.coords(max);
        for y in y0..=y1 {
            let row = y * self.cols;
            let (a, b) = (
                self.starts[row + x0] as usize,
                self.starts[row + x1 + 1] as usize,
            );
            // Cells of one row are contiguous in `items`.
            for &i in &self.items[a..b] {
                visit(i as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, rng_seed: RngSeed::Fixed(7), ..ProptestConfig::default() })]

        #[test]
        fn queries_find_every_point_in_the_box(
            points in proptest::collection::vec((0f32..1000.0, 0f32..600.0), 0..200),
            (ax, ay, w, h) in (0f32..1000.0, 0f32..600.0, 0f32..300.0, 0f32..300.0),
        ) {
            let points: Vec<Vec2> = points.into_iter().map(|(x, y)| Vec2::new(x, y)).collect();
            let mut grid = SpatialGrid::new(Vec2::new(1000.0, 600.0), 64.0);
            grid.rebuild(points.iter().copied());
            let (min, max) = (Vec2::new(ax, ay), Vec2::new(ax + w, ay + h));
            let mut found = Vec::new();
            grid.query(min, max, |i| found.push(i));
            let unique: std::collections::BTreeSet<_> = found.iter().copied().collect();
            prop_assert_eq!(unique.len(), found.len(), "no point is reported twice");
            for (i, p) in points.iter().enumerate() {
                if p.cmpge(min).all() && p.cmple(max).all() {
                    prop_assert!(unique.contains(&i), "point {} at {} missed", i, p);
                }
            }
        }
    }

    #[test]
    fn points_outside_the_arena_are_clamped_not_lost() {
        let mut grid = SpatialGrid::new(Vec2::new(100.0, 100.0), 10.0);
        grid.rebuild([Vec2::new(-5.0, 50.0), Vec2::new(f32::NAN, 1e9)].into_iter());
        let mut found = Vec::new();
        grid.query(Vec2::new(-10.0, -10.0), Vec2::new(200.0, 200.0), |i| {
            found.push(i)
        });
        found.sort_unstable();
        assert_eq!(found, vec![0, 1]);
    }
}
