//! The games this server hosts and the maps (settings) each can be played on.
//!
//! The rooms layer is generic over [`Game`]; the catalog is where the server's binary says
//! which games exist (see `crate::games`). Settings are held type-erased, one entry per game,
//! and handed back typed to the lobby when it opens a room of that game.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use arena_shared::Game;
use serde::Serialize;

/// One game's entry.
struct Entry {
    description: &'static str,
    /// Maps by name: each an `Arc<G::Settings>` of this entry's game.
    maps: BTreeMap<String, Arc<dyn Any + Send + Sync>>,
    default_map: String,
}

/// The games a server hosts.
#[derive(Default)]
pub struct Catalog {
    games: BTreeMap<&'static str, Entry>,
    /// The game of `/ws` (the first one added).
    default_game: Option<&'static str>,
}

/// Why a game could not be added.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Two games with one name.
    #[error("game {0} is registered twice")]
    Duplicate(&'static str),
    /// A game with no map.
    #[error("game {0} has no map")]
    NoMaps(&'static str),
    /// A game or map name that is not `[a-z0-9-]+`.
    #[error("{0:?} is not a valid game or map name (lowercase letters, digits and '-')")]
    BadName(String),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// One game as `GET /api/games` lists it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GameInfo {
    /// The name (`/ws/NAME`, `arena-bot --game NAME`).
    pub name: &'static str,
    /// One line about it.
    pub description: &'static str,
    /// Its maps; a room option `map` names one.
    pub maps: Vec<String>,
    /// The map a room gets when none is asked for.
    pub default_map: String,
    /// Whether `/ws` plays it.
    pub default: bool,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds game `G` with its maps (name, settings); the first map is its default. The first
    /// game added is the server's default (`/ws`).
    pub fn add<G: Game>(
        &mut self,
        maps: impl IntoIterator<Item = (String, G::Settings)>,
    ) -> Result<&mut Self, CatalogError> {
        if !valid_name(G::NAME) {
            return Err(CatalogError::BadName(G::NAME.into()));
        }
        if self.games.contains_key(G::NAME) {
            return Err(CatalogError::Duplicate(G::NAME));
        }
        let mut default_map = None;
        let mut table = BTreeMap::new();
        for (name, settings) in maps {
            if !valid_name(&name) {
                return Err(CatalogError::BadName(name));
            }
            default_map.get_or_insert_with(|| name.clone());
            let settings: Arc<dyn Any + Send + Sync> = Arc::new(settings);
            table.insert(name, settings);
        }
        let default_map = default_map.ok_or(CatalogError::NoMaps(G::NAME))?;
        self.games.insert(
            G::NAME,
            Entry {
                description: G::DESCRIPTION,
                maps: table,
                default_map,
            },
        );
        self.default_game.get_or_insert(G::NAME);
        Ok(self)
    }

    /// The settings of `G`'s map `map` (its default map when `None`), with the map's name.
    pub fn settings<G: Game>(
        &self,
        map: Option<&str>,
    ) -> Result<(String, Arc<G::Settings>), String> {
        let entry = self
            .games
            .get(G::NAME)
            .ok_or_else(|| format!("this server does not host {}", G::NAME))?;
        let name = map.unwrap_or(&entry.default_map);
        let settings = entry.maps.get(name).ok_or_else(|| {
            let known: Vec<&str> = entry.maps.keys().map(String::as_str).collect();
            format!(
                "{} has no map {name:?} (maps: {})",
                G::NAME,
                known.join(", ")
            )
        })?;
        // Entries are only ever inserted by `add::<G>` under `G::NAME`.
        let typed = Arc::clone(settings)
            .downcast::<G::Settings>()
            .map_err(|_| format!("map {name:?} of {} has the wrong settings type", G::NAME))?;
        Ok((name.to_owned(), typed))
    }

    /// The game `/ws` plays.
    pub fn default_game(&self) -> Option<&'static str> {
        self.default_game
    }

    /// Whether the server hosts a game of this name.
    pub fn hosts(&self, name: &str) -> bool {
        self.games.contains_key(name)
    }

    /// Every game, by name.
    pub fn list(&self) -> Vec<GameInfo> {
        self.games
            .iter()
            .map(|(&name, e)| GameInfo {
                name,
                description: e.description,
                maps: e.maps.keys().cloned().collect(),
                default_map: e.default_map.clone(),
                default: self.default_game == Some(name),
            })
            .collect()
    }
}
