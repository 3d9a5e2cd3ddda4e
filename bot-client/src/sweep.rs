//! A benchmark sweep as a page of charts (`arena-bot sweep ROWS.jsonl --html OUT.html`): the
//! scripts (`scripts/capacity.sh`, `netcode.sh`, `polling.sh`) append one JSON object per run
//! to a file beside their Markdown table, and this draws chosen fields against the swept one
//! (bots, players in a room, observers), one line per value of a grouping field (full or delta
//! snapshots, the transport), then lists every row.
//!
//! ```text
//! {"bots": 500, "cpu_us_per_client_s": 283, "input_ack_p99_ms": 34.8, "pass": "yes"}
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::chart::{self, Axes, Line};
use crate::html::{Drawn, escape, page};

/// One run of a sweep: its fields in the order the script wrote them.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<(String, Value)>);

impl Row {
    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Row;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    fields.push((k, v));
                }
                Ok(Row(fields))
            }
        }
        d.deserialize_map(Ordered)
    }
}

/// Rows from text with one JSON object per line (blank lines skipped); an error names the line.
pub fn read_rows(text: &str) -> Result<Vec<Row>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("line {}: not a JSON object ({e})", i + 1))
        })
        .collect()
}

/// What to draw.
#[derive(Debug, Clone, Default)]
pub struct SweepSpec {
    /// The page's title.
    pub title: String,
    /// The swept field: the x axis.
    pub x: String,
    /// The x axis' description (default: the field's name).
    pub x_label: Option<String>,
    /// The field whose values split the rows into lines (none: one line).
    pub series: Option<String>,
    /// Fields to chart, each with its chart's title (also its y axis).
    pub charts: Vec<(String, String)>,
    /// A target line per field: stay under (or over) this.
    pub targets: BTreeMap<String, f64>,
    /// A logarithmic x axis.
    pub log_x: bool,
    /// Lines of text under the title (the command, the machine).
    pub notes: Vec<String>,
}

fn as_number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', "").parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The charts of a sweep, each `chart-<field>`.
pub fn charts(spec: &SweepSpec, rows: &[Row]) -> Vec<Drawn> {
    let mut groups: Vec<String> = Vec::new();
    for r in rows {
        let g = spec
            .series
            .as_ref()
            .and_then(|f| r.get(f))
            .map_or_else(String::new, as_text);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    spec.charts
        .iter()
        .map(|(field, title)| {
            let lines: Vec<Line> = groups
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let mut points: Vec<(f64, Option<f64>)> = rows
                        .iter()
                        .filter(|r| {
                            spec.series
                                .as_ref()
                                .and_then(|f| r.get(f))
                                .map_or_else(String::new, as_text)
                                == *g
                        })
                        .filter_map(|r| {
                            let y = as_number(r.get(field))?;
                            Some((as_number(r.get(&spec.x))?, Some(y)))
                        })
                        .collect();
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Line {
                        label: g.clone(),
                        color: chart::color(i),
                        faint: false,
                        points,
                    }
                })
                .collect();
            let target = spec.targets.get(field).map(|v| (*v, "target"));
            let x_label = spec.x_label.as_deref().unwrap_or(&spec.x);
            let svg = if chart::has_data(&lines) {
                chart::lines(
                    &Axes {
                        title,
                        x: x_label,
                        y: title,
                    },
                    &lines,
                    &[],
                    target,
                    spec.log_x,
                )
            } else {
                Err(format!("no row has numbers for {x_label} and {field}"))
            };
            Drawn {
                id: format!("chart-{field}"),
                title: title.clone(),
                svg,
                caption: format!("{field} against {}", spec.x),
                kind: "lines",
            }
        })
        .collect()
}

/// The page: title, notes, the charts, every row.
pub fn sweep_page(spec: &SweepSpec, rows: &[Row], drawn: &[Drawn]) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "<header>\n<h1>{}</h1>", escape(&spec.title));
    for n in &spec.notes {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(n));
    }
    let _ = writeln!(body, "</header>\n<section id=\"charts\">");
    for d in drawn {
        match &d.svg {
            Ok(svg) => {
                let _ = writeln!(
                    body,
                    "<figure class=\"chart\" id=\"{}\" data-kind=\"{}\">\n{svg}<figcaption>{}</figcaption>\n</figure>",
                    escape(&d.id),
                    d.kind,
                    escape(&d.caption)
                );
            }
            Err(why) => {
                let _ = writeln!(
                    body,
                    "<p class=\"missing\">{}: {}</p>",
                    escape(&d.title),
                    escape(why)
                );
            }
        }
    }
    let _ = writeln!(
        body,
        "</section>\n<section id=\"rows\">\n<h2>Runs</h2>\n<div class=\"scroll\">\n<table>"
    );
    let mut columns: Vec<&str> = Vec::new();
    for r in rows {
        for (k, _) in &r.0 {
            if !columns.contains(&k.as_str()) {
                columns.push(k);
            }
        }
    }
    let _ = write!(body, "<tr>");
    for c in &columns {
        let _ = write!(body, "<th>{}</th>", escape(c));
    }
    let _ = writeln!(body, "</tr>");
    for r in rows {
        let _ = write!(body, "<tr>");
        for c in &columns {
            let cell = match r.get(c) {
                Some(Value::Number(n)) => format!(
                    "<td class=\"n\">{}</td>",
                    crate::compare::number(n.as_f64())
                ),
                Some(Value::String(s))
                    if s.ends_with(".html") && !s.contains("://") && !s.starts_with('/') =>
                {
                    format!("<td><a href=\"{0}\">{0}</a></td>", escape(s))
                }
                Some(v) => format!("<td>{}</td>", escape(&as_text(v))),
                None => "<td></td>".to_owned(),
            };
            body.push_str(&cell);
        }
        let _ = writeln!(body, "</tr>");
    }
    let _ = writeln!(body, "</table>\n</div>\n</section>");
    page(&spec.title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &str = r#"{"players": 100, "mode": "full", "bytes": 113411, "report": "bots-full-100.html"}

{"players": 10, "mode": "full", "bytes": 9307, "report": "bots-full-10.html"}
{"players": 10, "mode": "delta", "bytes": "2,848", "report": "bots-delta-10.html"}
{"players": 100, "mode": "delta", "bytes": 5825, "note": "x<y"}
"#;

    #[test]
    fn rows_keep_their_order_and_bad_lines_are_named() {
        let rows = read_rows(ROWS).expect("rows");
        assert_eq!(rows.len(), 4);
        let keys: Vec<&str> = rows[0].0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["players", "mode", "bytes", "report"]);
        assert!(read_rows("{}\n[1]\n").is_err_and(|e| e.starts_with("line 2")));
    }

    #[test]
    fn a_sweep_draws_a_line_per_group_and_lists_every_row() {
        let rows = read_rows(ROWS).expect("rows");
        let spec = SweepSpec {
            title: "Netcode".into(),
            x: "players".into(),
            series: Some("mode".into()),
            charts: vec![
                ("bytes".into(), "bytes per client-s".into()),
                ("missing".into(), "nothing".into()),
            ],
            log_x: true,
            ..SweepSpec::default()
        };
        let drawn = charts(&spec, &rows);
        let svg = drawn[0].svg.as_ref().expect("drawn");
        // Two groups of two points: a polyline each (plus axes and legend samples).
        assert!(svg.matches("<polyline").count() >= 2);
        assert!(svg.contains("full") && svg.contains("delta"));
        assert!(drawn[1].svg.is_err());
        let html = sweep_page(&spec, &rows, &drawn);
        assert!(html.contains("<a href=\"bots-full-10.html\">"));
        assert!(html.contains("x&lt;y"));
        assert!(html.contains("<th>note</th>"));
        assert!(html.contains("id=\"chart-bytes\""));
    }
}
