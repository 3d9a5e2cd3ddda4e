//! `--room-option KEY=VALUE`: how the bots ask for their room to be set up when their `Hello`
//! creates it ([`RoomOptions`]), and those options in words for the reports.

use arena_shared::RoomOptions;

/// The keys `--room-option` accepts, as the server's `RoomOptions` names them.
pub const KEYS: &[&str] = &["map", "max_players", "tick_rate", "snapshot_rate"];

/// Room options from `KEY=VALUE` items; `None` when there are none (the server's defaults).
/// The server checks the values against its limits (and refuses with `BadOptions`); this only
/// checks that each is a key it has and a number where one is due.
pub fn parse(items: &[String]) -> Result<Option<RoomOptions>, String> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut options = RoomOptions::default();
    for item in items {
        let (key, value) = item
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| format!("--room-option {item}: expected KEY=VALUE"))?;
        let number = || {
            value.parse::<u16>().map_err(|_| {
                format!("--room-option {key}: {value:?} is not a whole number up to 65535")
            })
        };
        match key {
            "map" if !value.is_empty() => options.map = Some(value.to_owned()),
            "map" => return Err("--room-option map: needs a map's name".into()),
            "max_players" => options.max_players = Some(number()?),
            "tick_rate" => options.tick_rate = Some(number()?),
            "snapshot_rate" => options.snapshot_rate = Some(number()?),
            other => {
                return Err(format!(
                    "--room-option {other}: unknown key; the keys are {}",
                    KEYS.join(", ")
                ));
            }
        }
    }
    Ok(Some(options))
}

/// The options in words, `map large, 8 seats, 60 ticks/s` (the ones set).
pub fn describe(options: &RoomOptions) -> String {
    let mut parts = Vec::new();
    if let Some(map) = &options.map {
        parts.push(format!("map {map}"));
    }
    if let Some(n) = options.max_players {
        parts.push(format!("{n} seats"));
    }
    if let Some(n) = options.tick_rate {
        parts.push(format!("{n} ticks/s"));
    }
    if let Some(n) = options.snapshot_rate {
        parts.push(format!("{n} snapshots/s"));
    }
    if parts.is_empty() {
        "the server's defaults".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(s: &[&str]) -> Vec<String> {
        s.iter().map(|i| (*i).to_owned()).collect()
    }

    #[test]
    fn options_parse_and_read_back_in_words() {
        assert_eq!(parse(&[]), Ok(None));
        let options = parse(&items(&["map=large", " tick_rate = 60", "max_players=8"]))
            .expect("valid")
            .expect("some");
        assert_eq!(
            options,
            RoomOptions {
                map: Some("large".into()),
                max_players: Some(8),
                tick_rate: Some(60),
                snapshot_rate: None,
            }
        );
        assert_eq!(describe(&options), "map large, 8 seats, 60 ticks/s");
        assert_eq!(describe(&RoomOptions::default()), "the server's defaults");
    }

    #[test]
    fn a_bad_item_says_what_is_wrong() {
        let err = |s: &str| parse(&items(&[s])).expect_err("refused");
        assert!(err("tick_rate").contains("KEY=VALUE"));
        assert!(err("tick_rate=fast").contains("whole number"));
        assert!(err("tick_rate=70000").contains("whole number"));
        assert!(err("map=").contains("map's name"));
        assert!(err("gravity=1").contains("unknown key") && err("gravity=1").contains("tick_rate"));
    }
}
