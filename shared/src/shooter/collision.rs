//! Geometry for the simulation: axis-aligned boxes (walls), circles (players) and segments
//! (a projectile's path during one tick). Every query is a pure function of its arguments.

use glam::Vec2;
use serde::{Deserialize, Serialize};

/// An axis-aligned rectangle, `min` inclusive to `max` inclusive. Walls are rectangles.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    /// The corner with the smallest coordinates.
    pub min: Vec2,
    /// The corner with the largest coordinates.
    pub max: Vec2,
}

impl Rect {
    /// A rectangle from its top-left corner and its size.
    pub fn from_corner_size(corner: Vec2, size: Vec2) -> Self {
        Self {
            min: corner,
            max: corner + size,
        }
    }

    /// Whether `p` lies inside or on the border.
    pub fn contains(&self, p: Vec2) -> bool {
        p.cmpge(self.min).all() && p.cmple(self.max).all()
    }

    /// The point of the rectangle nearest to `p` (`p` itself when inside).
    pub fn closest_point(&self, p: Vec2) -> Vec2 {
        p.clamp(self.min, self.max)
    }

    /// Whether a circle overlaps this rectangle.
    pub fn overlaps_circle(&self, center: Vec2, radius: f32) -> bool {
        self.closest_point(center).distance_squared(center) < radius * radius
    }
}

/// The smallest translation that moves a circle out of `rect`, or `None` when they do not
/// overlap. The direction of the result is the wall's surface normal at the contact, which is
/// what lets the caller cancel the velocity into the wall and keep the rest (sliding).
pub fn push_circle_out_of_rect(center: Vec2, radius: f32, rect: &Rect) -> Option<Vec2> {
    let closest = rect.closest_point(center);
    let delta = center - closest;
    let dist_sq = delta.length_squared();
    if dist_sq >= radius * radius {
        return None;
    }
    if dist_sq > 0.0 {
        let dist = dist_sq.sqrt();
        return Some(delta / dist * (radius - dist));
    }
    // The centre is inside the box: leave through the nearest face.
    let to_min = center - rect.min;
    let to_max = rect.max - center;
    let candidates = [
        (to_min.x, Vec2::new(-(to_min.x + radius), 0.0)),
        (to_max.x, Vec2::new(to_max.x + radius, 0.0)),
        (to_min.y, Vec2::new(0.0, -(to_min.y + radius))),
        (to_max.y, Vec2::new(0.0, to_max.y + radius)),
    ];
    candidates
        .into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, push)| push)
}

/// Where the segment `from -> to` first enters `rect`, as a fraction `t` in `[0, 1]` of its
/// length (`0` when it starts inside), or `None` when it misses. Slab method.
pub fn segment_enters_rect(from: Vec2, to: Vec2, rect: &Rect) -> Option<f32> {
    let dir = to - from;
    let mut t_enter = 0.0_f32;
    let mut t_exit = 1.0_f32;
    for axis in 0..2 {
        let (o, d, lo, hi) = (from[axis], dir[axis], rect.min[axis], rect.max[axis]);
        if d.abs() < f32::EPSILON {
            if o < lo || o > hi {
                return None;
            }
            continue;
        }
        let (mut t0, mut t1) = ((lo - o) / d, (hi - o) / d);
        if t0 > t1 {
            std::mem::swap(&mut t0, &mut t1);
        }
        t_enter = t_enter.max(t0);
        t_exit = t_exit.min(t1);
        if t_enter > t_exit {
            return None;
        }
    }
    Some(t_enter)
}

/// Where the segment `from -> to` first touches a circle, as a fraction `t` in `[0, 1]` of
/// its length (`0` when it starts inside), or `None` when it misses.
pub fn segment_touches_circle(from: Vec2, to: Vec2, center: Vec2, radius: f32) -> Option<f32> {
    let dir = to - from;
    let rel = from - center;
    let c = rel.length_squared() - radius * radius;
    if c <= 0.0 {
        return Some(0.0);
    }
    let a = dir.length_squared();
    if a < f32::EPSILON {
        return None;
    }
    let b = rel.dot(dir);
    let disc = b * b - a * c;
    if b >= 0.0 || disc < 0.0 {
        return None;
    }
    let t = (-b - disc.sqrt()) / a;
    (t <= 1.0).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall() -> Rect {
        Rect::from_corner_size(Vec2::new(100.0, 100.0), Vec2::new(50.0, 50.0))
    }

    #[test]
    fn circle_touching_a_face_is_pushed_along_the_normal() {
        let push = push_circle_out_of_rect(Vec2::new(95.0, 120.0), 10.0, &wall());
        assert_eq!(push, Some(Vec2::new(-5.0, 0.0)));
    }

    #[test]
    fn circle_clear_of_the_wall_is_not_pushed() {
        assert_eq!(
            push_circle_out_of_rect(Vec2::new(80.0, 120.0), 10.0, &wall()),
            None
        );
    }

    #[test]
    fn circle_centred_inside_leaves_through_the_nearest_face() {
        let push = push_circle_out_of_rect(Vec2::new(148.0, 125.0), 10.0, &wall());
        assert_eq!(push, Some(Vec2::new(12.0, 0.0)));
    }

    #[test]
    fn segment_through_a_wall_reports_its_entry() {
        let t = segment_enters_rect(Vec2::new(0.0, 125.0), Vec2::new(200.0, 125.0), &wall());
        assert_eq!(t, Some(0.5));
        let miss = segment_enters_rect(Vec2::new(0.0, 0.0), Vec2::new(200.0, 0.0), &wall());
        assert_eq!(miss, None);
    }

    #[test]
    fn segment_hits_circle_at_its_surface() {
        let t = segment_touches_circle(
            Vec2::ZERO,
            Vec2::new(100.0, 0.0),
            Vec2::new(60.0, 0.0),
            10.0,
        );
        assert_eq!(t, Some(0.5));
        let behind = segment_touches_circle(
            Vec2::ZERO,
            Vec2::new(-100.0, 0.0),
            Vec2::new(60.0, 0.0),
            10.0,
        );
        assert_eq!(behind, None);
    }
}
