//! Arena maps: a small line-oriented text format (documented in `assets/maps/default.map`),
//! its parser, and validation with an error that names the line at fault.

use std::path::Path;

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::shooter::collision::Rect;

/// The default map, compiled in so the server runs from any directory.
pub const DEFAULT_MAP_TEXT: &str = include_str!("../../../assets/maps/default.map");

/// Largest accepted arena side, in units: keeps coordinates well inside f32's exact range.
pub const MAX_MAP_SIDE: f32 = 20_000.0;
/// Smallest accepted arena side, in units.
pub const MIN_MAP_SIDE: f32 = 100.0;
/// Most walls a map may hold: the map travels in every `Welcome`, so it must stay small.
pub const MAX_WALLS: usize = 1024;
/// Most spawn points a map may hold.
pub const MAX_SPAWNS: usize = 256;
/// Longest map name.
pub const MAX_MAP_NAME_LEN: usize = 32;
/// Clearance a spawn point must have from every wall and the border, in units. Matches the
/// default player radius so a player never spawns overlapping a wall.
pub const SPAWN_WALL_CLEARANCE: f32 = 16.0;

/// A parsed, validated map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Map {
    /// Short identifier of the map.
    pub name: String,
    /// Width and height of the arena; the border at `0` and `size` is solid.
    pub size: Vec2,
    /// Solid boxes inside the arena.
    pub walls: Vec<Rect>,
    /// Where players (re)spawn.
    pub spawns: Vec<Vec2>,
}

/// Why a map was rejected.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The file could not be read.
    #[error("cannot read map {path}: {source}")]
    Io {
        /// The file that was asked for.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A line is malformed or describes something impossible.
    #[error("map line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The map as a whole is incomplete.
    #[error("map is invalid: {0}")]
    Invalid(String),
}

impl Map {
    /// The embedded default map.
    pub fn default_map() -> Self {
        // The embedded text is checked by a unit test, so this cannot fail in a built binary.
        Self::parse(DEFAULT_MAP_TEXT).expect("embedded default map is valid")
    }

    /// Reads and parses a map file.
    pub fn load(path: &Path) -> Result<Self, MapError> {
        let text = std::fs::read_to_string(path).map_err(|source| MapError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and validates map text.
    pub fn parse(text: &str) -> Result<Self, MapError> {
        let mut name = None;
        let mut size: Option<Vec2> = None;
        let mut walls = Vec::new();
        let mut spawns = Vec::new();
        // Walls and spawns are checked against the size once it is known; remember their lines.
        let mut wall_lines = Vec::new();
        let mut spawn_lines = Vec::new();

        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let err = |message: String| MapError::Line { line, message };
            let mut words = content.split_whitespace();
            let directive = words.next().unwrap_or_default();
            let args: Vec<&str> = words.collect();
            match directive {
                "name" => {
                    let [value] = args[..] else {
                        return Err(err("`name` takes one word".into()));
                    };
                    if value.len() > MAX_MAP_NAME_LEN
                        || !value
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        return Err(err(format!(
                            "name must be 1..={MAX_MAP_NAME_LEN} of [A-Za-z0-9_-], got {value:?}"
                        )));
                    }
                    name = Some(value.to_owned());
                }
                "size" => {
                    let [w, h] = numbers::<2>(&args).map_err(err)?;
                    for side in [w, h] {
                        if !(MIN_MAP_SIDE..=MAX_MAP_SIDE).contains(&side) {
                            return Err(err(format!(
                                "size must be between {MIN_MAP_SIDE} and {MAX_MAP_SIDE}, got {side}"
                            )));
                        }
                    }
                    size = Some(Vec2::new(w, h));
                }
                "wall" => {
                    let [x, y, w, h] = numbers::<4>(&args).map_err(err)?;
                    if w <= 0.0 || h <= 0.0 {
                        return Err(err(format!(
                            "wall needs a positive width and height, got {w} x {h}"
                        )));
                    }
                    if walls.len() == MAX_WALLS {
                        return Err(err(format!("more than {MAX_WALLS} walls")));
                    }
                    walls.push(Rect::from_corner_size(Vec2::new(x, y), Vec2::new(w, h)));
                    wall_lines.push(line);
                }
                "spawn" => {
                    let [x, y] = numbers::<2>(&args).map_err(err)?;
                    if spawns.len() == MAX_SPAWNS {
                        return Err(err(format!("more than {MAX_SPAWNS} spawn points")));
                    }
                    spawns.push(Vec2::new(x, y));
                    spawn_lines.push(line);
                }
                other => {
                    return Err(err(format!(
                        "unknown directive {other:?} (expected name, size, wall or spawn)"
                    )));
                }
            }
        }

        let size = size.ok_or_else(|| MapError::Invalid("missing `size WIDTH HEIGHT`".into()))?;
        let bounds = Rect {
            min: Vec2::ZERO,
            max: size,
        };
        for (wall, &line) in walls.iter().zip(&wall_lines) {
            if !bounds.contains(wall.min) || !bounds.contains(wall.max) {
                return Err(MapError::Line {
                    line,
                    message: format!("wall lies outside the {} x {} arena", size.x, size.y),
                });
            }
        }
        if spawns.is_empty() {
            return Err(MapError::Invalid("no spawn points (`spawn X Y`)".into()));
        }
        let inner = Rect {
            min: Vec2::splat(SPAWN_WALL_CLEARANCE),
            max: size - SPAWN_WALL_CLEARANCE,
        };
        for (spawn, &line) in spawns.iter().zip(&spawn_lines) {
            if !inner.contains(*spawn) {
                return Err(MapError::Line {
                    line,
                    message: format!(
                        "spawn point must be at least {SPAWN_WALL_CLEARANCE} units inside the border"
                    ),
                });
            }
            if walls
                .iter()
                .any(|w| w.overlaps_circle(*spawn, SPAWN_WALL_CLEARANCE))
            {
                return Err(MapError::Line {
                    line,
                    message: format!(
                        "spawn point is within {SPAWN_WALL_CLEARANCE} units of a wall"
                    ),
                });
            }
        }
        Ok(Map {
            name: name.unwrap_or_else(|| "unnamed".into()),
            size,
            walls,
            spawns,
        })
    }
}

/// Parses exactly `N` finite numbers.
fn numbers<const N: usize>(args: &[&str]) -> Result<[f32; N], String> {
    if args.len() != N {
        return Err(format!("expected {N} numbers, got {}", args.len()));
    }
    let mut out = [0.0; N];
    for (slot, arg) in out.iter_mut().zip(args) {
        *slot = arg
            .parse::<f32>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{arg:?} is not a number"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_map_is_valid() {
        let map = Map::parse(DEFAULT_MAP_TEXT).expect("default map parses");
        assert_eq!(map.name, "default");
        assert_eq!(map.size, Vec2::new(1600.0, 1000.0));
        assert!(map.walls.len() >= 10);
        assert_eq!(map.spawns.len(), 10);
    }

    #[test]
    fn bad_maps_name_the_line_at_fault() {
        let cases = [
            ("size 500 500\nspawn 50 50\nbogus 1", 3, "unknown directive"),
            (
                "size 500 500\nwall 1 2 3\nspawn 50 50",
                2,
                "expected 4 numbers",
            ),
            (
                "size 500 500\nwall 1 2 x 4\nspawn 50 50",
                2,
                "\"x\" is not a number",
            ),
            (
                "size 500 500\nwall 400 400 200 10\nspawn 50 50",
                2,
                "outside",
            ),
            (
                "size 500 500\nwall 40 40 20 20\nspawn 50 50",
                3,
                "within 16 units of a wall",
            ),
            ("size 500 500\nspawn 5 50", 2, "inside the border"),
            ("size 50 500\nspawn 5 50", 1, "between"),
            ("size 500 500\nwall 1 1 0 5\nspawn 50 50", 2, "positive"),
        ];
        for (text, want_line, want_msg) in cases {
            match Map::parse(text) {
                Err(MapError::Line { line, message }) => {
                    assert_eq!(line, want_line, "{text:?}: {message}");
                    assert!(message.contains(want_msg), "{text:?}: {message}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn incomplete_maps_are_rejected() {
        assert!(matches!(Map::parse("spawn 1 1"), Err(MapError::Invalid(m)) if m.contains("size")));
        assert!(
            matches!(Map::parse("size 500 500"), Err(MapError::Invalid(m)) if m.contains("spawn"))
        );
    }
}
