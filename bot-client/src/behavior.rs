//! The fleet's play style (`--behavior`), which each bot hands its game's brain as a style
//! name ([`arena_shared::game::Brain::new`]). A game that has no such style plays its default.

use serde::{Deserialize, Serialize};

/// A bot's play style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    /// Roam in random directions (shooter: firing now and then).
    Wander,
    /// Go after the nearest other player (shooter: and shoot at it).
    Chase,
    /// Half the bots wander, half chase (the brain picks by bot number).
    Mixed,
}

impl Behavior {
    /// The style name a game's brain is given.
    pub fn style(self) -> &'static str {
        match self {
            Self::Wander => "wander",
            Self::Chase => "chase",
            Self::Mixed => "mixed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The style name is the one `--behavior` and the JSON report use, so a brain, the
    /// command line and a report never disagree about what a style is called.
    #[test]
    fn the_style_is_the_flags_and_the_reports_name() {
        for b in [Behavior::Wander, Behavior::Chase, Behavior::Mixed] {
            let json = serde_json::to_string(&b).expect("serialises");
            assert_eq!(json, format!("\"{}\"", b.style()));
            let flag = clap::ValueEnum::to_possible_value(&b).expect("a flag value");
            assert_eq!(flag.get_name(), b.style());
        }
    }
}
