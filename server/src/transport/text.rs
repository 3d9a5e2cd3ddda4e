//! Player names, room names and chat lines: what a client may send, cleaned or refused.

use arena_shared::protocol::{MAX_CHAT_CHARS, MAX_NAME_CHARS, MAX_ROOM_NAME_CHARS};

/// A display name: control characters removed, whitespace trimmed, 1..=24 characters.
pub fn player_name(raw: &str) -> Result<String, String> {
    let clean: String = raw.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    let len = clean.chars().count();
    if len == 0 {
        return Err("name is empty".into());
    }
    if len > MAX_NAME_CHARS {
        return Err(format!(
            "name has {len} characters; at most {MAX_NAME_CHARS}"
        ));
    }
    Ok(clean.to_owned())
}

/// A room name: 1..=32 of `[A-Za-z0-9_-]`, taken as is (names are identifiers, not text).
pub fn room_name(raw: &str) -> Result<String, String> {
    let len = raw.chars().count();
    if len == 0 || len > MAX_ROOM_NAME_CHARS {
        return Err(format!(
            "room name must have 1..={MAX_ROOM_NAME_CHARS} characters"
        ));
    }
    if !raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("room name may use only letters, digits, '-' and '_'".into());
    }
    Ok(raw.to_owned())
}

/// A chat line: control characters removed, trimmed, cut to 200 characters; `None` if nothing
/// is left to say.
pub fn chat_line(raw: &str) -> Option<String> {
    let clean: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CHAT_CHARS)
        .collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_or_refused() {
        assert_eq!(player_name("  ann\u{7}\n ").as_deref(), Ok("ann"));
        assert!(player_name(" \t ").is_err());
        assert!(player_name(&"x".repeat(25)).is_err());
        assert_eq!(
            player_name(&"é".repeat(24)).map(|n| n.chars().count()),
            Ok(24)
        );
    }

    #[test]
    fn room_names_are_identifiers() {
        assert!(room_name("duel-1_b").is_ok());
        for bad in ["", "a b", "../x", "ä", &"r".repeat(33)] {
            assert!(room_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chat_is_stripped_and_bounded() {
        assert_eq!(
            chat_line("hi\u{1b}[31m there").as_deref(),
            Some("hi[31m there")
        );
        assert_eq!(chat_line("\n\r"), None);
        assert_eq!(
            chat_line(&"y".repeat(500)).map(|t| t.len()),
            Some(MAX_CHAT_CHARS)
        );
    }
}
