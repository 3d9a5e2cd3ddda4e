//! The games this arena-bot plays (`--game NAME`) and where each is served: the one place a
//! game name becomes a [`Game`] type. Adding a game is one entry in [`NAMES`] and one arm in
//! this module's `run_fleet` (which [`crate::fleet::run_fleet`] calls); everything else in the
//! crate is generic over [`Game`].

use arena_shared::Game;
use arena_shared::shooter::World;
use arena_shared::tron::Tron;

use crate::fleet::{self, FleetSpec};
use crate::report::Report;

/// The name of every game `--game` accepts, the default first.
pub const NAMES: &[&str] = &[World::NAME, Tron::NAME];

/// The game a fleet plays when none is named.
pub const DEFAULT: &str = World::NAME;

/// A game name this arena-bot does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown game {0:?}; this arena-bot plays: {names}", names = NAMES.join(", "))]
pub struct UnknownGame(pub String);

/// Runs the fleet on the game `spec.game` names.
pub(crate) async fn run_fleet(spec: FleetSpec) -> Result<Report, UnknownGame> {
    match spec.game.as_str() {
        World::NAME => Ok(fleet::run_game::<World>(spec).await),
        Tron::NAME => Ok(fleet::run_game::<Tron>(spec).await),
        other => Err(UnknownGame(other.to_owned())),
    }
}

/// The WebSocket URL of `game` on the server `url` names: a URL whose path ends in `/ws` (the
/// server's default game) gets `/{game}` appended to its path (`ws://host:8080/ws` becomes
/// `ws://host:8080/ws/shooter`), so the bots always say which game they play; any other URL
/// is taken to name a game's endpoint already and is used as it is.
pub fn game_url(url: &str, game: &str) -> String {
    let (before_query, query) = url.split_at(url.find(['?', '#']).unwrap_or(url.len()));
    // Only the path may end in /ws: `ws://ws` is a host called ws, not a path.
    let path_start = before_query.find("://").map_or(0, |i| i + 3);
    let path = before_query[path_start..]
        .find('/')
        .map_or("", |i| &before_query[path_start + i..]);
    if path.trim_end_matches('/').ends_with("/ws") {
        let base = before_query.trim_end_matches('/');
        format!("{base}/{game}{query}")
    } else {
        url.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_endpoint_becomes_the_games_own() {
        let cases = [
            ("ws://127.0.0.1:8080/ws", "ws://127.0.0.1:8080/ws/shooter"),
            ("ws://127.0.0.1:8080/ws/", "ws://127.0.0.1:8080/ws/shooter"),
            ("ws://h:1/ws?x=1", "ws://h:1/ws/shooter?x=1"),
            ("ws://proxy/arena/ws", "ws://proxy/arena/ws/shooter"),
            // Already a game's endpoint, or somewhere else entirely: left alone.
            ("ws://h:1/ws/tron", "ws://h:1/ws/tron"),
            ("ws://h:1/play", "ws://h:1/play"),
            ("ws://ws", "ws://ws"),
            ("ws://h:1/news", "ws://h:1/news"),
        ];
        for (given, expected) in cases {
            assert_eq!(game_url(given, "shooter"), expected, "{given}");
        }
    }

    /// Every listed name reaches a game of that name, and an unknown one lists them all.
    #[tokio::test]
    async fn every_listed_game_is_dispatched_and_others_are_refused() {
        assert_eq!(NAMES.first(), Some(&DEFAULT));
        for name in NAMES {
            let spec = FleetSpec {
                game: (*name).to_owned(),
                // Nothing listens on port 1: the run ends at the first connect.
                ..FleetSpec::simple(
                    "ws://127.0.0.1:1/ws".into(),
                    1,
                    std::time::Duration::from_millis(10),
                )
            };
            let report = run_fleet(spec).await.expect("a known game");
            assert_eq!(report.settings.game, *name);
            assert_eq!(report.settings.url, format!("ws://127.0.0.1:1/ws/{name}"));
        }
        let spec = FleetSpec {
            game: "chess".into(),
            ..FleetSpec::simple("ws://127.0.0.1:1/ws".into(), 1, Default::default())
        };
        let err = run_fleet(spec).await.expect_err("unknown");
        let text = err.to_string();
        assert!(
            text.contains("\"chess\"") && text.contains(DEFAULT),
            "{text}"
        );
    }
}
