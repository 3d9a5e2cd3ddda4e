//! Two reports, figure by figure (`arena-bot compare BASE.json NEW.json`): every number of the
//! two runs with their ratio, and for the figures that have a better direction a verdict
//! against a tolerance, so a CI job can fail on a regression.
//!
//! A figure regresses when it moves the wrong way past its tolerance *and* past its noise
//! floor: for a lower-is-better figure when `new > base × tolerance + floor`, for a
//! higher-is-better one when `new < base × tolerance − floor`. The tolerance is the worst
//! acceptable ratio NEW/BASE (above 1 for lower-is-better figures, below 1 for
//! higher-is-better ones); the floor, in the figure's unit, keeps a loopback RTT going from
//! 0.2 to 0.3 ms from counting as a 50% regression.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::report::Report;

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Latencies, costs, failures.
    Lower,
    /// Rates, completions.
    Higher,
}

/// A figure with a verdict: its short name, where it is in the JSON, and its defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Known {
    /// Short name for `--tolerance NAME=RATIO` and the table.
    pub name: &'static str,
    /// Dotted path in the report's JSON.
    pub path: &'static str,
    /// Which way is better.
    pub direction: Direction,
    /// Default worst acceptable ratio NEW/BASE.
    pub tolerance: f64,
    /// Noise floor: a change smaller than this never counts, in `unit`.
    pub floor: f64,
    /// Unit of the figure.
    pub unit: &'static str,
}

const fn lower(
    name: &'static str,
    path: &'static str,
    tolerance: f64,
    floor: f64,
    unit: &'static str,
) -> Known {
    Known {
        name,
        path,
        direction: Direction::Lower,
        tolerance,
        floor,
        unit,
    }
}

const fn higher(
    name: &'static str,
    path: &'static str,
    tolerance: f64,
    floor: f64,
    unit: &'static str,
) -> Known {
    Known {
        name,
        path,
        direction: Direction::Higher,
        tolerance,
        floor,
        unit,
    }
}

/// Every figure with a verdict, in table order, with its default tolerance and floor. The
/// defaults suit a shared 2-core machine, where runs of one build an hour apart differ by 3×
/// in loopback RTT p99 (1.4 against 9.5 ms), by 1.8× in server CPU per bot, and by a lone
/// 100-200 ms stall in input-to-ack max: scheduling-bound tails are judged by floors that
/// matter to a player (5 ms), server CPU loosely (tighten it with `--tolerance` for an
/// interleaved A/B), and the p99 input-to-ack (one tick plus a little, run after run), the
/// snapshot rate and every count of failures strictly.
pub const KNOWN: &[Known] = &[
    lower("failed", "failed", 1.0, 0.0, "bots"),
    lower(
        "unexpected_disconnects",
        "unexpected_disconnects",
        1.0,
        0.0,
        "bots",
    ),
    lower("protocol_errors", "protocol_errors", 1.0, 0.0, "bots"),
    lower("desyncs", "desyncs", 1.0, 0.0, "snapshots"),
    higher("completed", "completed", 1.0, 0.0, "bots"),
    higher("stalled_cut_off", "stalled_cut_off", 1.0, 0.0, "bots"),
    higher("snapshot_rate", "snapshot_rate_hz", 0.98, 0.1, "Hz"),
    lower("bytes_per_bot_s", "bytes_per_bot_s", 1.1, 0.0, "B/s"),
    lower("rtt_p50", "rtt_ms.p50", 1.5, 1.0, "ms"),
    lower("rtt_p99", "rtt_ms.p99", 2.0, 10.0, "ms"),
    lower("rtt_p999", "rtt_ms.p999", 3.0, 10.0, "ms"),
    lower("rtt_max", "rtt_ms.max", 4.0, 50.0, "ms"),
    lower("input_ack_p50", "input_ack_ms.p50", 1.1, 2.0, "ms"),
    lower("input_ack_p99", "input_ack_ms.p99", 1.2, 2.0, "ms"),
    lower("input_ack_p999", "input_ack_ms.p999", 1.5, 10.0, "ms"),
    lower("input_ack_max", "input_ack_ms.max", 4.0, 100.0, "ms"),
    lower("jitter_p50", "snapshot_jitter_ms.p50", 1.5, 1.0, "ms"),
    lower("jitter_p99", "snapshot_jitter_ms.p99", 2.0, 5.0, "ms"),
    lower("jitter_max", "snapshot_jitter_ms.max", 3.0, 50.0, "ms"),
    lower(
        "prediction_error_p50",
        "prediction_error.p50",
        1.5,
        0.01,
        "units",
    ),
    lower(
        "prediction_error_p99",
        "prediction_error.p99",
        1.5,
        0.05,
        "units",
    ),
    lower(
        "prediction_error_max",
        "prediction_error.max",
        2.0,
        1.0,
        "units",
    ),
    lower(
        "observer_latency_p50",
        "observers.update_latency_ms.p50",
        1.2,
        2.0,
        "ms",
    ),
    lower(
        "observer_latency_p99",
        "observers.update_latency_ms.p99",
        1.2,
        5.0,
        "ms",
    ),
    lower(
        "observer_bytes_down",
        "observers.per_observer_bytes_down_per_s",
        1.1,
        0.0,
        "B/s",
    ),
    higher(
        "observer_updates",
        "observers.per_observer_updates_per_s",
        0.95,
        0.0,
        "/s",
    ),
    lower(
        "server_cpu_per_bot",
        "server.cpu_us_per_bot_s",
        2.0,
        0.0,
        "µs/bot-s",
    ),
    lower(
        "server_peak_rss",
        "server.peak_rss_bytes",
        1.25,
        4_194_304.0,
        "bytes",
    ),
    lower("tick_p50", "server.tick_p50_ms", 1.5, 0.1, "ms"),
    lower("tick_p99", "server.tick_p99_ms", 1.5, 0.5, "ms"),
    lower("tick_overruns", "server.overruns", 2.0, 5.0, "ticks"),
    lower(
        "skipped_snapshots",
        "server.skipped_snapshots",
        2.0,
        10.0,
        "snapshots",
    ),
    lower(
        "dropped_inputs",
        "server.dropped_inputs",
        2.0,
        10.0,
        "inputs",
    ),
];

/// Parts of a report that are not figures: settings, series, text.
const NOT_FIGURES: &[&str] = &[
    "report_version",
    "settings",
    "timeline",
    "distributions",
    "problems",
    "result",
    "server.timeline",
    "server.metrics_url",
    "server.error",
    "observers.transport",
    "observers.failures",
];

/// How a figure came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within tolerance.
    Ok,
    /// Better past the tolerance.
    Better,
    /// Worse past the tolerance: the comparison fails.
    Regressed,
    /// No better direction: shown, not judged.
    Info,
    /// In one report only.
    Missing,
}

impl Verdict {
    /// The word in the table.
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Better => "better",
            Self::Regressed => "REGRESSED",
            Self::Info => "",
            Self::Missing => "missing",
        }
    }
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Short name (a known figure) or the JSON path.
    pub name: String,
    /// Value in the base run.
    pub base: Option<f64>,
    /// Value in the new run.
    pub new: Option<f64>,
    /// The rule it was judged by, if it has one.
    pub rule: Option<Known>,
    /// How it came out.
    pub verdict: Verdict,
}

impl Figure {
    /// NEW/BASE, when it means something (1 when both are 0).
    pub fn ratio(&self) -> Option<f64> {
        match (self.base, self.new) {
            (Some(b), Some(n)) if b != 0.0 => Some(n / b),
            (Some(b), Some(n)) if b == 0.0 && n == 0.0 => Some(1.0),
            _ => None,
        }
    }
}

/// Two runs compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Every figure: the judged ones first, in [`KNOWN`] order, then the rest.
    pub figures: Vec<Figure>,
    /// The base run's own result (`pass` or why it failed).
    pub base_result: String,
    /// The new run's own result.
    pub new_result: String,
    /// What regressed, one line each (empty: no regression).
    pub regressions: Vec<String>,
    /// Things worth knowing that are not regressions (figures one run lacks).
    pub notes: Vec<String>,
}

impl Comparison {
    /// Whether nothing regressed.
    pub fn passed(&self) -> bool {
        self.regressions.is_empty()
    }

    /// One line: `no regression (...)` or `REGRESSED: ...`.
    pub fn verdict(&self) -> String {
        if self.passed() {
            let judged = self
                .figures
                .iter()
                .filter(|f| matches!(f.verdict, Verdict::Ok | Verdict::Better))
                .count();
            format!("no regression ({judged} figures within tolerance)")
        } else {
            format!("REGRESSED: {}", self.regressions.join("; "))
        }
    }
}

/// Parses `NAME=RATIO` tolerance overrides; NAME is a known figure's name or JSON path.
pub fn tolerances(overrides: &[String]) -> Result<BTreeMap<&'static str, f64>, String> {
    let mut out = BTreeMap::new();
    for o in overrides {
        let (name, ratio) = o
            .split_once('=')
            .ok_or_else(|| format!("--tolerance {o}: expected NAME=RATIO, e.g. rtt_p99=1.2"))?;
        let known = KNOWN
            .iter()
            .find(|k| k.name == name.trim() || k.path == name.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = KNOWN.iter().map(|k| k.name).collect();
                format!(
                    "--tolerance {o}: no figure {name}; known: {}",
                    names.join(", ")
                )
            })?;
        let ratio: f64 = ratio
            .trim()
            .parse()
            .map_err(|_| format!("--tolerance {o}: {ratio} is not a number"))?;
        let fits = match known.direction {
            Direction::Lower => ratio.is_finite() && ratio >= 1.0,
            Direction::Higher => ratio.is_finite() && ratio > 0.0 && ratio <= 1.0,
        };
        if !fits {
            return Err(format!(
                "--tolerance {o}: {} is {}-is-better, so its tolerance (the worst acceptable \
                 NEW/BASE) must be {}",
                known.name,
                if known.direction == Direction::Lower {
                    "lower"
                } else {
                    "higher"
                },
                if known.direction == Direction::Lower {
                    "1 or more"
                } else {
                    "above 0 and at most 1"
                }
            ));
        }
        out.insert(known.name, ratio);
    }
    Ok(out)
}

/// An error unless the two runs ran the same fleet (game, bots, behaviour, room options,
/// observers, stalled bots): comparing a 100-bot run with a 1,000-bot one is a mistake more
/// often than not, and a shooter run with a tron one always is.
pub fn same_fleet(base: &Report, new: &Report) -> Result<(), String> {
    let (b, n) = (&base.settings, &new.settings);
    let mut differ = Vec::new();
    if base.bots != new.bots {
        differ.push(format!("bots {} vs {}", base.bots, new.bots));
    }
    // Settings exist from report version 2 on; a version-1 report has none to differ in.
    if base.report_version >= 2 && new.report_version >= 2 {
        if b.game != n.game {
            differ.push(format!("game {} vs {}", b.game, n.game));
        }
        if b.room_options != n.room_options {
            let words = |o: &Option<arena_shared::RoomOptions>| {
                o.as_ref().map_or(
                    "the server's defaults".into(),
                    crate::room_options::describe,
                )
            };
            differ.push(format!(
                "room options {} vs {}",
                words(&b.room_options),
                words(&n.room_options)
            ));
        }
        if b.behavior != n.behavior {
            differ.push(format!("behavior {:?} vs {:?}", b.behavior, n.behavior));
        }
        if (b.observers, b.transport) != (n.observers, n.transport) {
            differ.push(format!(
                "observers {} {:?} vs {} {:?}",
                b.observers, b.transport, n.observers, n.transport
            ));
        }
        if b.stall != n.stall {
            differ.push(format!("stalled bots {} vs {}", b.stall, n.stall));
        }
        if b.room.is_some() != n.room.is_some() {
            differ.push("one room against quick-play".into());
        }
    }
    if differ.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the two runs ran different fleets: {}",
            differ.join(", ")
        ))
    }
}

/// Every number in a report's JSON that is a figure, by dotted path.
pub fn scalars(v: &Value) -> Vec<(String, f64)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, f64)>) {
        if NOT_FIGURES.contains(&path) {
            return;
        }
        match v {
            Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    out.push((path.to_owned(), x));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(v, &p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

fn judge(k: &Known, tolerance: f64, base: f64, new: f64) -> Verdict {
    match k.direction {
        Direction::Lower if new > base * tolerance + k.floor => Verdict::Regressed,
        Direction::Lower if new < base / tolerance - k.floor => Verdict::Better,
        Direction::Higher if new < base * tolerance - k.floor => Verdict::Regressed,
        Direction::Higher if new > base / tolerance + k.floor => Verdict::Better,
        _ => Verdict::Ok,
    }
}

/// Compares two reports (each typed and raw, as [`crate::json::read`] gives them), with
/// tolerance overrides from [`tolerances`].
pub fn compare(
    (base, base_raw): (&Report, &Value),
    (new, new_raw): (&Report, &Value),
    overrides: &BTreeMap<&'static str, f64>,
) -> Comparison {
    let mut b: BTreeMap<String, f64> = scalars(base_raw).into_iter().collect();
    let mut n: BTreeMap<String, f64> = scalars(new_raw).into_iter().collect();
    let mut notes = Vec::new();
    // A run whose server never answered its scrapes carries zeros, not measurements.
    for (figures, raw, which) in [(&mut b, base_raw, "base"), (&mut n, new_raw, "new")] {
        let scrapes = raw
            .pointer("/server/scrapes")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        if scrapes < 2.0 && figures.keys().any(|k| k.starts_with("server.")) {
            figures.retain(|k, _| !k.starts_with("server."));
            notes.push(format!(
                "the {which} run's server answered {scrapes} scrapes: its server figures are left out"
            ));
        }
    }
    let mut c = Comparison {
        figures: Vec::new(),
        base_result: base.result.clone(),
        new_result: new.result.clone(),
        regressions: Vec::new(),
        notes,
    };
    if base.result == "pass" && new.result != "pass" {
        c.regressions.push(format!(
            "the new run failed where the base passed: {}",
            new.result
        ));
    }
    for k in KNOWN {
        let (bv, nv) = (b.get(k.path).copied(), n.get(k.path).copied());
        if bv.is_none() && nv.is_none() {
            continue;
        }
        let tolerance = overrides.get(k.name).copied().unwrap_or(k.tolerance);
        let rule = Known { tolerance, ..*k };
        let verdict = match (bv, nv) {
            (Some(bv), Some(nv)) => judge(&rule, tolerance, bv, nv),
            _ => Verdict::Missing,
        };
        let figure = Figure {
            name: k.name.to_owned(),
            base: bv,
            new: nv,
            rule: Some(rule),
            verdict,
        };
        match verdict {
            Verdict::Regressed => c.regressions.push(format!(
                "{} {} → {} {} ({}, tolerance {})",
                k.name,
                number(bv),
                number(nv),
                k.unit,
                figure
                    .ratio()
                    .map_or("from 0".into(), |r| format!("{r:.2}×")),
                tolerance_text(&rule)
            )),
            // A figure the gate checked before and cannot check now is not a pass.
            Verdict::Missing if bv.is_some() && !k.path.starts_with("server.") => {
                c.regressions.push(format!(
                    "{} is missing from the new report (base {} {})",
                    k.name,
                    number(bv),
                    k.unit
                ))
            }
            Verdict::Missing => c.notes.push(format!(
                "{} is only in the {} report",
                k.name,
                if bv.is_some() { "base" } else { "new" }
            )),
            _ => {}
        }
        c.figures.push(figure);
    }
    let known_paths: Vec<&str> = KNOWN.iter().map(|k| k.path).collect();
    let mut rest: Vec<&String> = b.keys().chain(n.keys()).collect();
    rest.sort();
    rest.dedup();
    for path in rest {
        if known_paths.contains(&path.as_str()) {
            continue;
        }
        c.figures.push(Figure {
            name: path.clone(),
            base: b.get(path).copied(),
            new: n.get(path).copied(),
            rule: None,
            verdict: Verdict::Info,
        });
    }
    c
}

/// A figure's value for the table: whole numbers as they are, others to four significant
/// digits without trailing zeros.
pub fn number(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if !v.is_finite() => format!("{v}"),
        Some(v) if v == v.trunc() && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => {
            let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
            let s = format!("{v:.decimals$}");
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_owned()
            } else {
                s
            }
        }
    }
}

/// `≤ 1.2× + 2 ms` or `≥ 0.98× − 0.1 Hz`.
pub fn tolerance_text(k: &Known) -> String {
    let (cmp, sign) = match k.direction {
        Direction::Lower => ("≤", "+"),
        Direction::Higher => ("≥", "−"),
    };
    if k.floor > 0.0 {
        format!(
            "{cmp} {}× {sign} {} {}",
            k.tolerance,
            number(Some(k.floor)),
            k.unit
        )
    } else {
        format!("{cmp} {}×", k.tolerance)
    }
}

/// The comparison as a Markdown table and a verdict line.
pub fn markdown(c: &Comparison, base_name: &str, new_name: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "arena-bot compare: base {base_name} ({}) against new {new_name} ({})",
        c.base_result, c.new_result
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| figure | unit | base | new | new/base | tolerance | verdict |"
    );
    let _ = writeln!(s, "| --- | --- | ---: | ---: | ---: | --- | --- |");
    for f in &c.figures {
        let ratio = match (f.ratio(), f.base, f.new) {
            (Some(r), _, _) => format!("{r:.2}"),
            (None, Some(_), Some(_)) => "from 0".into(),
            _ => "—".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {ratio} | {} | {} |",
            f.name,
            f.rule.map_or("", |k| k.unit),
            number(f.base),
            number(f.new),
            f.rule.as_ref().map_or(String::new(), tolerance_text),
            f.verdict.word()
        );
    }
    let _ = writeln!(s);
    for note in &c.notes {
        let _ = writeln!(s, "note: {note}");
    }
    let _ = writeln!(s, "verdict: {}", c.verdict());
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Latency, REPORT_VERSION};

    fn run(rtt_p99: f64) -> (Report, Value) {
        let r = Report {
            report_version: REPORT_VERSION,
            bots: 10,
            connected: 10,
            completed: 10,
            snapshot_rate_hz: 30.0,
            rtt_ms: Latency {
                p50: 0.5,
                p99: rtt_p99,
                p999: rtt_p99,
                max: rtt_p99,
                samples: 100,
            },
            result: "pass".into(),
            ..Report::default()
        };
        let v = serde_json::to_value(&r).expect("json");
        (r, v)
    }

    fn cmp(a: &(Report, Value), b: &(Report, Value), o: &[&str]) -> Comparison {
        let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
        compare(
            (&a.0, &a.1),
            (&b.0, &b.1),
            &tolerances(&o).expect("tolerances"),
        )
    }

    #[test]
    fn equal_runs_pass_and_every_scalar_is_listed() {
        let c = cmp(&run(2.5), &run(2.5), &[]);
        assert!(c.passed(), "{}", c.verdict());
        assert!(c.figures.iter().all(|f| f.verdict != Verdict::Regressed));
        let names: Vec<&str> = c.figures.iter().map(|f| f.name.as_str()).collect();
        assert!(
            names.contains(&"rtt_p99") && names.contains(&"messages_sent"),
            "{names:?}"
        );
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("timeline") || n.starts_with("settings"))
        );
        let table = markdown(&c, "a.json", "b.json");
        assert!(
            table.contains("| rtt_p99 | ms | 2.5 | 2.5 | 1.00 | ≤ 2× + 10 ms | ok |"),
            "{table}"
        );
        assert!(
            table.ends_with("verdict: no regression (22 figures within tolerance)\n"),
            "{table}"
        );
    }

    #[test]
    fn a_figure_the_new_report_lost_is_a_regression() {
        let base = run(2.0);
        let mut new = run(2.0);
        if let Some(rtt) = new.1.get_mut("rtt_ms").and_then(Value::as_object_mut) {
            rtt.remove("p99");
        }
        let c = cmp(&base, &new, &[]);
        assert!(!c.passed());
        assert!(
            c.regressions
                .iter()
                .any(|r| r.starts_with("rtt_p99 is missing from the new report")),
            "{:?}",
            c.regressions
        );
    }

    #[test]
    fn a_server_that_was_never_scraped_is_not_compared() {
        let mut base = run(2.0);
        let mut new = run(2.0);
        base.1["server"] = serde_json::json!({"scrapes": 0, "cpu_us_per_bot_s": 0.0});
        new.1["server"] = serde_json::json!({"scrapes": 30, "cpu_us_per_bot_s": 310.0});
        let c = cmp(&base, &new, &[]);
        assert!(c.passed(), "{:?}", c.regressions);
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("base run's server answered 0")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_regressed_p99_fails_and_names_itself() {
        // 2 ms → 30 ms: 15× and 28 ms worse, past 2× + 10 ms.
        let c = cmp(&run(2.0), &run(30.0), &[]);
        assert!(!c.passed());
        assert!(
            c.regressions
                .iter()
                .any(|r| r.starts_with("rtt_p99 2 → 30 ms (15.00×, tolerance ≤ 2× + 10 ms)")),
            "{:?}",
            c.regressions
        );
        assert!(
            c.verdict().starts_with("REGRESSED: rtt_p99"),
            "{}",
            c.verdict()
        );
        // Within a looser tolerance it passes; an improvement is "better".
        assert!(cmp(&run(2.0), &run(30.0), &["rtt_p99=12", "rtt_p999=12"]).passed());
        let better = cmp(&run(30.0), &run(2.0), &[]);
        assert!(better.passed());
        let f = better
            .figures
            .iter()
            .find(|f| f.name == "rtt_p99")
            .expect("rtt_p99");
        assert_eq!(f.verdict, Verdict::Better);
    }

    #[test]
    fn noise_floors_and_counts_from_zero() {
        // 0.2 → 0.5 ms is 2.5×, but within the 5 ms floor.
        assert!(cmp(&run(0.2), &run(0.5), &[]).passed());
        let (mut a, mut b) = (run(1.0), run(1.0));
        b.0.unexpected_disconnects = 1;
        b.1 = serde_json::to_value(&b.0).expect("json");
        let c = cmp(&a, &b, &[]);
        assert!(
            c.regressions
                .iter()
                .any(|r| r.contains("unexpected_disconnects 0 → 1 bots (from 0")),
            "{:?}",
            c.regressions
        );
        // A failed new run fails the comparison whatever its figures.
        a.0.result = "pass".into();
        b.0.result = "3 unexpected disconnects".into();
        let c = compare((&a.0, &a.1), (&b.0, &b.1), &BTreeMap::new());
        assert!(c.regressions[0].contains("the new run failed"));
    }

    #[test]
    fn tolerances_are_checked() {
        assert_eq!(
            tolerances(&["rtt_p99=1.2".into()]).expect("ok")["rtt_p99"],
            1.2
        );
        assert_eq!(
            tolerances(&["rtt_ms.p99=1.3".into()]).expect("by path")["rtt_p99"],
            1.3
        );
        assert!(tolerances(&["rtt_p99".into()]).is_err());
        assert!(tolerances(&["nope=1.2".into()]).is_err_and(|e| e.contains("known: failed")));
        assert!(tolerances(&["rtt_p99=0.5".into()]).is_err_and(|e| e.contains("1 or more")));
        assert!(tolerances(&["snapshot_rate=1.5".into()]).is_err());
        assert!(tolerances(&["snapshot_rate=0.9".into()]).is_ok());
        assert!(tolerances(&["rtt_p99=x".into()]).is_err());
    }

    #[test]
    fn different_fleets_are_refused() {
        let (a, mut b) = (run(1.0), run(1.0));
        assert_eq!(same_fleet(&a.0, &b.0), Ok(()));
        b.0.bots = 20;
        assert!(same_fleet(&a.0, &b.0).is_err_and(|e| e.contains("bots 10 vs 20")));
        let (mut shooter, mut tron, mut faster) = (run(1.0), run(1.0), run(1.0));
        shooter.0.settings.game = "shooter".into();
        tron.0.settings.game = "tron".into();
        assert!(same_fleet(&shooter.0, &tron.0).is_err_and(|e| e.contains("game shooter vs tron")));
        faster.0.settings.room_options = Some(arena_shared::RoomOptions {
            tick_rate: Some(60),
            ..Default::default()
        });
        assert!(
            same_fleet(&a.0, &faster.0)
                .is_err_and(|e| e.contains("room options the server's defaults vs 60 ticks/s"))
        );
    }

    /// Reports written before `--game` existed were all of the shooter.
    #[test]
    fn a_report_without_a_game_is_a_shooter_run() {
        let mut old = serde_json::to_value(run(1.0).0).expect("json");
        if let Some(settings) = old["settings"].as_object_mut() {
            settings.remove("game");
            settings.remove("room_options");
        }
        let old: Report = serde_json::from_value(old).expect("reads");
        assert_eq!(old.settings.game, "shooter");
        assert_eq!(old.settings.room_options, None);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(Some(30.0)), "30");
        assert_eq!(number(Some(29.987)), "29.99");
        assert_eq!(number(Some(1234.56)), "1235");
        assert_eq!(number(Some(0.01234)), "0.01234");
        assert_eq!(number(Some(0.1)), "0.1");
        assert_eq!(number(None), "—");
    }
}
