//! The games this server hosts: the one module of the server that names a game.
//!
//! Everything else (sessions, lobby, rooms, snapshots, metrics) is generic over
//! [`arena_shared::Game`]; a [`Games`] value lists which games a server runs, with each game's
//! maps, and [`crate::run_with`] serves them. [`Games::builtin`] is what `arena-server` runs:
//! the shooter (the default game, on `/ws` and `/ws/shooter`) and tron (`/ws/tron`).

use std::path::Path;

use arena_shared::Game;
use arena_shared::shooter::{self, Map};
use arena_shared::tron;

use crate::operations::config::{Config, ConfigError};
use crate::rooms::catalog::{Catalog, CatalogError};
use crate::transport::http::Endpoints;

/// The shooter's large map (the default one tiled four by four), built in so every server
/// can host it by name.
const LARGE_MAP_TEXT: &str = include_str!("../../assets/maps/large.map");

/// The games a server hosts, with their maps and WebSocket endpoints.
#[derive(Default)]
pub struct Games {
    /// Each game's maps (settings), for the lobby and `GET /api/games`.
    pub(crate) catalog: Catalog,
    /// Each game's `/ws/{game}` upgrade.
    pub(crate) endpoints: Endpoints,
}

impl Games {
    /// No games yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds game `G` with its maps (name, settings), the first being its default map. The
    /// first game added is the server's default, played on `/ws`.
    pub fn add<G: Game>(
        &mut self,
        maps: impl IntoIterator<Item = (String, G::Settings)>,
    ) -> Result<&mut Self, CatalogError> {
        self.catalog.add::<G>(maps)?;
        self.endpoints.add::<G>();
        Ok(self)
    }

    /// Arena's own games: the shooter (with the configured map, named by its file stem, as
    /// its default, then the built-in `default` and `large` maps) and tron.
    pub fn builtin(config: &Config) -> Result<Self, ConfigError> {
        let shooter_settings = |map: Map| shooter::Settings {
            rules: config.rules.clone(),
            map,
        };
        let mut maps = Vec::new();
        if !config.map.as_os_str().is_empty() {
            let name = map_name(&config.map);
            maps.push((name, shooter_settings((*config.load_map()?).clone())));
        }
        for (name, text) in [
            ("default", shooter::map::DEFAULT_MAP_TEXT),
            ("large", LARGE_MAP_TEXT),
        ] {
            if maps.iter().all(|(n, _)| n != name) {
                let map = Map::parse(text).map_err(ConfigError::Map)?;
                maps.push((name.to_owned(), shooter_settings(map)));
            }
        }
        let mut games = Self::new();
        games
            .add::<shooter::World>(maps)
            .and_then(|g| {
                g.add::<tron::Tron>([
                    ("default".to_owned(), tron::Settings::default()),
                    (
                        "small".to_owned(),
                        tron::Settings {
                            width: 32,
                            height: 20,
                            ..tron::Settings::default()
                        },
                    ),
                ])
            })
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(games)
    }
}

/// Verifies a replay of any of Arena's games (`arena-server replay FILE`): its game's name,
/// and what verified, or why not.
pub fn verify_replay(
    bytes: &[u8],
) -> Result<(String, arena_shared::replay::Verified), arena_shared::replay::ReplayError> {
    use arena_shared::replay::{ReplayError, game_of, verify};
    let game = game_of(bytes)?;
    let verified = match game.as_str() {
        shooter::World::NAME => verify::<shooter::World>(bytes)?,
        tron::Tron::NAME => verify::<tron::Tron>(bytes)?,
        other => {
            return Err(ReplayError::Format(format!(
                "a replay of {other}, not hosted here"
            )));
        }
    };
    Ok((game, verified))
}

/// What `GET /api/replays/{id}` says of a replay of any of Arena's games: its game, room, map,
/// rates and how many ticks it holds (up to a recorded panic).
pub fn replay_summary(
    bytes: &[u8],
) -> Result<serde_json::Value, arena_shared::replay::ReplayError> {
    use arena_shared::replay::{ReplayError, game_of};
    fn of<G: Game>(bytes: &[u8]) -> Result<serde_json::Value, ReplayError> {
        let loaded = arena_shared::replay::load::<G>(bytes)?;
        let h = &loaded.header;
        Ok(serde_json::json!({
            "game": G::NAME,
            "room": h.room,
            "map": h.map,
            "tick_rate": h.tick_rate,
            "snapshot_rate": h.snapshot_rate,
            "ticks": loaded.ticks.len(),
            "keyframes": loaded.keyframes.iter().map(|k| k.tick).collect::<Vec<_>>(),
        }))
    }
    match game_of(bytes)?.as_str() {
        shooter::World::NAME => of::<shooter::World>(bytes),
        tron::Tron::NAME => of::<tron::Tron>(bytes),
        other => Err(ReplayError::Format(format!(
            "a replay of {other}, not hosted here"
        ))),
    }
}

/// The replicated entities of a replay of any of Arena's games after tick `at`, as JSON
/// (`arena-server replay FILE --at TICK`): `{"game", "room", "tick", "entities": [...]}`.
pub fn replay_state_json(
    bytes: &[u8],
    at: u64,
) -> Result<serde_json::Value, arena_shared::replay::ReplayError> {
    use arena_shared::replay::{ReplayError, game_of};
    fn of<G: Game>(bytes: &[u8], at: u64) -> Result<serde_json::Value, ReplayError> {
        let header = arena_shared::replay::header::<G>(bytes)?;
        let entities = arena_shared::replay::state_at::<G>(bytes, at)?;
        Ok(serde_json::json!({
            "game": G::NAME,
            "room": header.room,
            "tick": at,
            "entities": entities,
        }))
    }
    match game_of(bytes)?.as_str() {
        shooter::World::NAME => of::<shooter::World>(bytes, at),
        tron::Tron::NAME => of::<tron::Tron>(bytes, at),
        other => Err(ReplayError::Format(format!(
            "a replay of {other}, not hosted here"
        ))),
    }
}

/// A map file's name in room options: its stem, lowercased, with anything but letters, digits
/// and `-` replaced by `-`.
fn map_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(32)
        .collect();
    if name.is_empty() {
        "custom".into()
    } else {
        name
    }
}
