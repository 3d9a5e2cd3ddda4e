//! The report's JSON form: written indented for people, with every array of numbers on one
//! line (a per-second series is one line, not thousands), and read back with errors that say
//! which file is wrong and why.

use std::path::Path;

use serde_json::Value;

use crate::report::Report;

/// The report as indented JSON with arrays of numbers on one line, newline-terminated.
pub fn to_string(report: &Report) -> Result<String, serde_json::Error> {
    Ok(compact_number_arrays(&serde_json::to_string_pretty(
        report,
    )?))
}

/// Writes the report to `path`.
pub fn write(report: &Report, path: &Path) -> Result<(), String> {
    let text = to_string(report).map_err(|e| format!("cannot encode the report: {e}"))?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads an arena-bot JSON report: the typed report and the raw document (for figures the
/// types do not name). The error names the file and says what is wrong with it.
pub fn read(path: &Path) -> Result<(Report, Value), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a report from text (see [`read`]).
pub fn parse(text: &str) -> Result<(Report, Value), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    if !value.is_object() || value.get("bots").is_none() || value.get("result").is_none() {
        return Err("not an arena-bot report (no `bots` and `result`)".into());
    }
    let report: Report = serde_json::from_value(value.clone())
        .map_err(|e| format!("not an arena-bot report this version can read ({e})"))?;
    if report.report_version > crate::report::REPORT_VERSION {
        return Err(format!(
            "report version {} is newer than this arena-bot reads ({})",
            report.report_version,
            crate::report::REPORT_VERSION
        ));
    }
    Ok((report, value))
}

fn is_number_line(line: &str) -> bool {
    let item = line.trim().trim_end_matches(',');
    item == "null"
        || (!item.is_empty()
            && item
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
}

/// Joins, in serde_json's indented output, every array whose items are all numbers (or null)
/// onto the line that opens it.
pub fn compact_number_arrays(pretty: &str) -> String {
    let lines: Vec<&str> = pretty.lines().collect();
    let mut out = String::with_capacity(pretty.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.ends_with('[') {
            let items = lines[i + 1..]
                .iter()
                .take_while(|l| is_number_line(l))
                .count();
            let close = lines.get(i + 1 + items).map(|l| l.trim());
            if items > 0 && matches!(close, Some("]" | "],")) {
                out.push_str(line);
                for (k, item) in lines[i + 1..=i + items].iter().enumerate() {
                    if k > 0 {
                        out.push(' ');
                    }
                    out.push_str(item.trim());
                }
                out.push_str(close.unwrap_or("]"));
                out.push('\n');
                i += items + 2;
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_arrays_go_on_one_line_and_nothing_else_changes() {
        let v = serde_json::json!({
            "t_s": [1.0, 2.5, -3e-7],
            "gaps": [null, 1, null],
            "names": ["a", "b"],
            "empty": [],
            "nested": {"x": [1, 2]},
            "n": 3
        });
        let pretty = serde_json::to_string_pretty(&v).expect("json");
        let compact = compact_number_arrays(&pretty);
        assert!(
            compact.contains("\"t_s\": [1.0, 2.5, -3e-7]\n"),
            "{compact}"
        );
        assert!(compact.contains("\"gaps\": [null, 1, null],"), "{compact}");
        assert!(compact.contains("\"x\": [1, 2]\n"), "{compact}");
        assert!(compact.contains("\"names\": [\n"), "{compact}");
        let back: Value = serde_json::from_str(&compact).expect("still JSON");
        assert_eq!(back, v);
    }

    #[test]
    fn a_report_round_trips_and_strangers_are_refused() {
        let report = Report {
            bots: 3,
            result: "pass".into(),
            report_version: crate::report::REPORT_VERSION,
            ..Report::default()
        };
        let text = to_string(&report).expect("json");
        let (back, raw) = parse(&text).expect("reads");
        assert_eq!(back.bots, 3);
        assert_eq!(raw["result"], "pass");
        assert!(parse("{").is_err_and(|e| e.contains("not JSON")));
        assert!(parse("[1]").is_err_and(|e| e.contains("not an arena-bot report")));
        assert!(
            parse("{\"bots\": 1, \"result\": \"pass\"}")
                .is_err_and(|e| e.contains("missing field"))
        );
        let future = text.replace("\"report_version\": 2", "\"report_version\": 99");
        assert!(parse(&future).is_err_and(|e| e.contains("newer")));
    }
}
