//! Reports as one self-contained HTML page each: no script, no style sheet or font from
//! anywhere, every chart an inline `<svg>` ([`crate::chart`]). A page is a view of a JSON
//! report (or two, or a sweep's rows): it shows nothing the JSON does not hold.
//!
//! - [`report_page`]: one run: settings and verdict at the top (a failed run's rooms and
//!   their replays right under it), then the bots' and the server's series over time, then
//!   the latency distributions.
//! - [`compare_page`]: two runs: the verdict and the table of figures, then every chart with
//!   both runs overlaid (the base run faint).
//!
//! Each chart is a `<figure class="chart" id="chart-...">` holding the `<svg>`; a chart with no
//! data in the report is left out and listed under "not drawn", with why.

use std::fmt::Write as _;

use crate::chart::{self, Axes, Bars, Line, Marks};
use crate::compare::{Comparison, Verdict, number, tolerance_text};
use crate::report::{Distribution, Report};
use crate::scrape::ServerTimeline;
use crate::timeline::Timeline;

/// Most points a chart draws per series; longer series are merged down (as the report does
/// past its own bound: counts add up, p99s keep the larger).
pub const MAX_DRAWN_POINTS: usize = 1_200;

/// Text for HTML, escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1000px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.verdict { font-size: 1.3em; font-weight: bold; padding: 0.5em 0.8em; border-radius: 4px; }
.verdict.pass { background: #e6f4ea; color: #1e6b32; } .verdict.fail { background: #fce8e6; color: #a0231b; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
td, th { padding: 0.2em 0.7em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.regressed td { background: #fce8e6; } tr.better td { background: #e6f4ea; }
figure.chart { margin: 1em 0; } figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.85em; color: #555; }
.note { color: #555; } .missing { color: #a0231b; }
footer { margin-top: 3em; font-size: 0.8em; color: #777; }
.scroll { overflow-x: auto; }
";

/// The page shell around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n\
         <footer>Written by arena-bot {} (charts: plotters, SVG). Self-contained: no script, \
         nothing loaded from anywhere.</footer>\n</body>\n</html>\n",
        escape(title),
        env!("CARGO_PKG_VERSION")
    )
}

/// A chart in its `<figure>`, or why it is not drawn.
pub struct Drawn {
    /// `chart-...`.
    pub id: String,
    /// Caption.
    pub title: String,
    /// The `<svg>`, or why there is none.
    pub svg: Result<String, String>,
    /// Under the chart.
    pub caption: String,
    /// `lines` or `bars`: what its data are drawn as (`data-kind`, for a test that checks
    /// they were).
    pub kind: &'static str,
}

impl Drawn {
    fn html(&self, out: &mut String) {
        if let Ok(svg) = &self.svg {
            let _ = writeln!(
                out,
                "<figure class=\"chart\" id=\"{}\" data-kind=\"{}\" data-title=\"{}\">\n{svg}<figcaption>{}</figcaption>\n</figure>",
                escape(&self.id),
                self.kind,
                escape(&self.title),
                escape(&self.caption)
            );
        }
    }
}

/// The figures of charts left out, as a list.
fn not_drawn(charts: &[Drawn], out: &mut String) {
    let missing: Vec<&Drawn> = charts.iter().filter(|c| c.svg.is_err()).collect();
    if missing.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">Not drawn:</p>\n<ul class=\"not-drawn\">"
    );
    for c in missing {
        let why = c.svg.as_ref().err().map_or("", String::as_str);
        let _ = writeln!(out, "<li>{}: {}</li>", escape(&c.title), escape(why));
    }
    let _ = writeln!(out, "</ul>");
}

/// One run as a chart source: a label ("" for a lone run) and whether it is drawn faint.
#[derive(Clone, Copy)]
pub struct Run<'a> {
    /// Added to each series label: `base`, `new`; empty for a single run.
    pub label: &'a str,
    /// The report.
    pub report: &'a Report,
    /// Drawn faint (the base of a comparison).
    pub faint: bool,
}

type BotColumn = fn(&Timeline) -> Vec<Option<f64>>;
type DistributionOf = fn(&Report) -> &Distribution;
type ServerColumn = fn(&ServerTimeline) -> Vec<Option<f64>>;

fn some(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|x| Some(*x)).collect()
}

fn scaled(v: &[f64], by: f64) -> Vec<Option<f64>> {
    v.iter().map(|x| Some(x / by)).collect()
}

/// A time chart: id, title, y axis, its series (label, column).
struct TimeChart<C: 'static> {
    id: &'static str,
    title: &'static str,
    y: &'static str,
    series: &'static [(&'static str, C)],
}

const BOT_CHARTS: &[TimeChart<BotColumn>] = &[
    TimeChart {
        id: "chart-bots",
        title: "Bots connected",
        y: "bots",
        series: &[("connected", |t| some(&t.connected))],
    },
    TimeChart {
        id: "chart-events",
        title: "Joins, churn cuts, resumes",
        y: "per interval",
        series: &[
            ("joins", |t| some(&t.joins)),
            ("churn cuts", |t| some(&t.churns)),
            ("resumes", |t| some(&t.resumes)),
        ],
    },
    TimeChart {
        id: "chart-messages",
        title: "Messages per second",
        y: "messages/s",
        series: &[
            ("received", |t| some(&t.messages_in_per_s)),
            ("sent", |t| some(&t.messages_out_per_s)),
        ],
    },
    TimeChart {
        id: "chart-bytes",
        title: "Payload bytes per second",
        y: "KiB/s",
        series: &[
            ("received", |t| scaled(&t.bytes_in_per_s, 1024.0)),
            ("sent", |t| scaled(&t.bytes_out_per_s, 1024.0)),
        ],
    },
    TimeChart {
        id: "chart-rtt",
        title: "Ping round trip (RTT)",
        y: "ms",
        series: &[
            ("p50", |t| t.rtt_p50_ms.clone()),
            ("p99", |t| t.rtt_p99_ms.clone()),
        ],
    },
    TimeChart {
        id: "chart-input-ack",
        title: "Input to acknowledgement",
        y: "ms",
        series: &[
            ("p50", |t| t.input_ack_p50_ms.clone()),
            ("p99", |t| t.input_ack_p99_ms.clone()),
        ],
    },
    TimeChart {
        id: "chart-snapshot-rate",
        title: "Snapshot rate per connected bot",
        y: "Hz",
        series: &[("snapshots/s", |t| t.snapshot_rate_hz.clone())],
    },
    TimeChart {
        id: "chart-jitter",
        title: "Snapshot arrival jitter",
        y: "ms",
        series: &[
            ("p50", |t| t.jitter_p50_ms.clone()),
            ("p99", |t| t.jitter_p99_ms.clone()),
        ],
    },
    TimeChart {
        id: "chart-prediction",
        title: "Prediction error at reconciliation",
        y: "world units",
        series: &[
            ("p50", |t| t.prediction_error_p50.clone()),
            ("p99", |t| t.prediction_error_p99.clone()),
        ],
    },
];

const SERVER_CHARTS: &[TimeChart<ServerColumn>] = &[
    TimeChart {
        id: "chart-server-cpu",
        title: "Server CPU",
        y: "% of one core",
        series: &[("cpu", |t| some(&t.series.cpu_percent))],
    },
    TimeChart {
        id: "chart-server-rss",
        title: "Server resident memory",
        y: "MiB",
        series: &[("RSS", |t| scaled(&t.series.rss_bytes, 1024.0 * 1024.0))],
    },
    TimeChart {
        id: "chart-server-tick",
        title: "Server tick time",
        y: "ms",
        series: &[
            ("p50", |t| t.series.tick_p50_ms.clone()),
            ("p99", |t| t.series.tick_p99_ms.clone()),
        ],
    },
    TimeChart {
        id: "chart-server-trouble",
        title: "Tick overruns, skipped snapshots, dropped inputs",
        y: "per interval",
        series: &[
            ("tick overruns", |t| some(&t.series.overruns)),
            ("skipped snapshots", |t| some(&t.series.skipped_snapshots)),
            ("dropped inputs", |t| some(&t.series.dropped_inputs)),
        ],
    },
];

fn label(series: &str, run: &Run) -> String {
    if run.label.is_empty() {
        series.to_owned()
    } else {
        format!("{series} ({})", run.label)
    }
}

fn caption(runs: &[Run], interval: impl Fn(&Report) -> f64) -> String {
    let per: Vec<String> = runs
        .iter()
        .map(|r| {
            let i = interval(r.report);
            let i = if i > 0.0 { i } else { 1.0 };
            if r.label.is_empty() {
                format!("one point per {i} s")
            } else {
                format!("{}: one point per {i} s", r.label)
            }
        })
        .collect();
    format!("x: seconds since the run started; {}", per.join(", "))
}

fn pair(t: &[f64], v: Vec<Option<f64>>) -> Vec<(f64, Option<f64>)> {
    t.iter().copied().zip(v).collect()
}

/// The bots' charts over time for one or more runs (overlaid).
pub fn bot_charts(runs: &[Run]) -> Vec<Drawn> {
    let views: Vec<Timeline> = runs
        .iter()
        .map(|r| r.report.timeline.at_most(MAX_DRAWN_POINTS))
        .collect();
    BOT_CHARTS
        .iter()
        .map(|spec| {
            let mut lines = Vec::new();
            for (run, view) in runs.iter().zip(&views) {
                for (i, (name, column)) in spec.series.iter().enumerate() {
                    lines.push(Line {
                        label: label(name, run),
                        color: chart::color(i),
                        faint: run.faint,
                        points: pair(&view.t_s, column(view)),
                    });
                }
            }
            let mut marks = Vec::new();
            if matches!(spec.id, "chart-bots" | "chart-events") {
                for (run, view) in runs.iter().zip(&views) {
                    // On the bots connected then, or at their count.
                    let at = if spec.id == "chart-bots" {
                        &view.connected
                    } else {
                        &view.disconnects
                    };
                    let points: Vec<(f64, f64, f64)> = view
                        .t_s
                        .iter()
                        .zip(&view.disconnects)
                        .zip(at)
                        .filter(|((_, d), _)| **d > 0.0)
                        .map(|((t, d), y)| (*t, *y, *d))
                        .collect();
                    marks.push(Marks {
                        label: label("unexpected disconnects", run),
                        color: chart::color(3),
                        points,
                    });
                }
            }
            let axes = Axes {
                title: spec.title,
                x: "seconds since start",
                y: spec.y,
            };
            let svg = if chart::has_data(&lines) {
                chart::lines(&axes, &lines, &marks, None, false)
            } else {
                Err("no samples in this run".into())
            };
            let mut caption = caption(runs, |r| r.timeline.interval_s);
            if matches!(spec.id, "chart-bots" | "chart-events") {
                let total: f64 = views.iter().flat_map(|v| v.disconnects.iter()).sum();
                let _ = write!(
                    caption,
                    "; triangles: unexpected disconnects ({total} in all), {}",
                    if spec.id == "chart-bots" {
                        "on the bots connected then"
                    } else {
                        "at their count"
                    }
                );
            }
            Drawn {
                id: spec.id.to_owned(),
                title: spec.title.to_owned(),
                svg,
                caption,
                kind: "lines",
            }
        })
        .collect()
}

/// The server's charts over time for the runs that scraped it (overlaid).
pub fn server_charts(runs: &[Run]) -> Vec<Drawn> {
    let scraped: Vec<(Run, ServerTimeline)> = runs
        .iter()
        .filter_map(|r| {
            let s = r.report.server.as_ref()?;
            Some((*r, s.timeline.at_most(MAX_DRAWN_POINTS)))
        })
        .collect();
    let why_not = || {
        let reasons: Vec<String> = runs
            .iter()
            .map(|r| match &r.report.server {
                None => "not scraped".to_owned(),
                Some(s) if s.scrapes == 0 => format!(
                    "{} did not answer: {}",
                    s.metrics_url,
                    s.error.as_deref().unwrap_or("no scrape")
                ),
                Some(_) => "fewer than two scrapes".to_owned(),
            })
            .collect();
        format!("no server metrics ({})", reasons.join("; "))
    };
    let mut out: Vec<Drawn> = SERVER_CHARTS
        .iter()
        .map(|spec| {
            let mut lines = Vec::new();
            for (run, view) in &scraped {
                for (i, (name, column)) in spec.series.iter().enumerate() {
                    lines.push(Line {
                        label: label(name, run),
                        color: chart::color(i),
                        faint: run.faint,
                        points: pair(&view.series.t_s, column(view)),
                    });
                }
            }
            let axes = Axes {
                title: spec.title,
                x: "seconds since start",
                y: spec.y,
            };
            let svg = if chart::has_data(&lines) {
                chart::lines(&axes, &lines, &[], None, false)
            } else {
                Err(why_not())
            };
            Drawn {
                id: spec.id.to_owned(),
                title: spec.title.to_owned(),
                svg,
                caption: caption(runs, |r| {
                    r.server
                        .as_ref()
                        .map_or(1.0, |s| s.timeline.series.interval_s)
                }),
                kind: "lines",
            }
        })
        .collect();
    // Connections closed by close code: one series per code seen in any run.
    let mut codes: Vec<&String> = scraped
        .iter()
        .flat_map(|(_, v)| v.closed_by_code.keys())
        .collect();
    codes.sort();
    codes.dedup();
    let mut lines = Vec::new();
    for (run, view) in &scraped {
        for (i, code) in codes.iter().enumerate() {
            if let Some(v) = view.closed_by_code.get(*code) {
                lines.push(Line {
                    label: label(&format!("code {code}"), run),
                    color: chart::color(i),
                    faint: run.faint,
                    points: pair(&view.series.t_s, some(v)),
                });
            }
        }
    }
    let title = "Connections closed, by close code";
    let svg = if chart::has_data(&lines) {
        chart::lines(
            &Axes {
                title,
                x: "seconds since start",
                y: "closed per interval",
            },
            &lines,
            &[],
            None,
            false,
        )
    } else if scraped.is_empty() {
        Err(why_not())
    } else {
        Err("no connection closed during the run".into())
    };
    out.push(Drawn {
        id: "chart-server-closed".into(),
        title: title.into(),
        svg,
        caption: "1000 normal, 1001 going away, 1006 abnormal (no close frame), 1008 policy, \
                  1013 try again; 4xxx Arena's own"
            .into(),
        kind: "lines",
    });
    out
}

fn bars(d: &Distribution, run: &Run, i: usize) -> Option<Bars> {
    let total = d.samples();
    (total > 0 && d.edges_ms.len() == d.counts.len() + 1).then(|| Bars {
        label: if run.label.is_empty() {
            format!("{total} samples")
        } else {
            format!("{} ({total} samples)", run.label)
        },
        color: chart::color(i),
        edges: d.edges_ms.clone(),
        percents: d
            .counts
            .iter()
            .map(|c| *c as f64 * 100.0 / total as f64)
            .collect(),
    })
}

/// Histograms of the whole run's RTT and input-to-ack (runs overlaid).
pub fn distribution_charts(runs: &[Run]) -> Vec<Drawn> {
    let specs: [(&str, &str, DistributionOf); 2] = [
        ("chart-rtt-distribution", "RTT over the whole run", |r| {
            &r.distributions.rtt_ms
        }),
        (
            "chart-input-ack-distribution",
            "Input to acknowledgement over the whole run",
            |r| &r.distributions.input_ack_ms,
        ),
    ];
    specs
        .iter()
        .map(|(id, title, get)| {
            let sets: Vec<Bars> = runs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| bars(get(r.report), r, if r.faint { 0 } else { i.max(1) }))
                .collect();
            let svg = if sets.is_empty() {
                Err("no samples in this run".to_owned())
            } else {
                chart::histogram(
                    &Axes {
                        title,
                        x: "ms (log scale)",
                        y: "share of samples",
                    },
                    &sets,
                )
            };
            Drawn {
                id: (*id).to_owned(),
                title: (*title).to_owned(),
                svg,
                caption: "bins forty to a decade; bar height: share of the run's samples".into(),
                kind: "bars",
            }
        })
        .collect()
}

fn settings_rows(r: &Report) -> Vec<(&'static str, String)> {
    let s = &r.settings;
    let mut rows = vec![
        ("game", s.game.clone()),
        ("server", s.url.clone()),
        ("bots", r.bots.to_string()),
        (
            "play",
            format!("{} s after a ramp of {} s", s.duration_s, s.ramp_s),
        ),
        (
            "room",
            s.room.clone().unwrap_or_else(|| "quick-play".to_owned()),
        ),
        (
            "behavior",
            s.behavior
                .map_or("?".to_owned(), |b| format!("{b:?}").to_lowercase()),
        ),
        ("churn", format!("{} cuts per minute", s.churn_per_min)),
        ("seed / threads", format!("{} / {}", s.seed, s.threads)),
    ];
    if let Some(options) = &s.room_options {
        rows.push(("room options", crate::room_options::describe(options)));
    }
    if s.stall > 0 {
        rows.push(("stalled bots", s.stall.to_string()));
    }
    if s.observers > 0 {
        rows.push((
            "observers",
            format!("{} by {:?}", s.observers, s.transport).to_lowercase(),
        ));
    }
    let t = &s.thresholds;
    let mut limits = vec![format!(
        "unexpected disconnects ≤ {}",
        t.max_unexpected_disconnects
    )];
    if let Some(v) = t.max_p99_rtt_ms {
        limits.push(format!("p99 RTT ≤ {v} ms"));
    }
    if let Some(v) = t.max_p99_input_ack_ms {
        limits.push(format!("p99 input-to-ack ≤ {v} ms"));
    }
    if let Some(v) = t.min_snapshot_rate {
        limits.push(format!("snapshot rate ≥ {v} Hz"));
    }
    rows.push(("pass limits", limits.join(", ")));
    rows.push((
        "server metrics",
        s.metrics_url
            .clone()
            .unwrap_or_else(|| "not scraped".into()),
    ));
    rows.push(("started", unix_time(s.started_unix_s)));
    rows.push(("machine", s.machine.clone()));
    rows.push((
        "arena-bot",
        format!("{} (report version {})", s.version, r.report_version),
    ));
    rows
}

/// `2026-12-01 22:59:00 UTC` from Unix seconds.
pub fn unix_time(secs: u64) -> String {
    if secs == 0 {
        return "unknown".into();
    }
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

fn table(rows: &[(&str, String)], class: &str, out: &mut String) {
    let _ = writeln!(out, "<table class=\"{class}\">");
    for (k, v) in rows {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
    }
    let _ = writeln!(out, "</table>");
}

fn figures_rows(r: &Report) -> Vec<(&'static str, String)> {
    let lat = |l: &crate::report::Latency| {
        format!(
            "p50 {:.2} · p99 {:.2} · p99.9 {:.2} · max {:.2} ms ({} samples)",
            l.p50, l.p99, l.p999, l.max, l.samples
        )
    };
    let secs = r.duration_s.max(1e-9);
    let mut rows = vec![
        (
            "bots",
            format!(
                "{} connected, {} failed, {} completed, {} unexpected disconnects, {} protocol errors, {} desyncs",
                r.connected,
                r.failed,
                r.completed,
                r.unexpected_disconnects,
                r.protocol_errors,
                r.desyncs
            ),
        ),
        (
            "length",
            format!(
                "{:.1} s; {:.0} bot-seconds of play",
                r.duration_s, r.bot_seconds
            ),
        ),
        (
            "messages",
            format!(
                "{:.0}/s received, {:.0}/s sent; {} snapshots ({:.2} Hz per bot), {} events",
                r.messages_received as f64 / secs,
                r.messages_sent as f64 / secs,
                r.snapshots_received,
                r.snapshot_rate_hz,
                r.events_received
            ),
        ),
        (
            "bytes per bot",
            format!("{:.0} B/s received", r.bytes_per_bot_s),
        ),
        ("RTT", lat(&r.rtt_ms)),
        ("input to ack", lat(&r.input_ack_ms)),
        ("snapshot jitter", lat(&r.snapshot_jitter_ms)),
        (
            "prediction error",
            format!(
                "p50 {:.3} · p99 {:.3} · max {:.3} units ({} samples)",
                r.prediction_error.p50,
                r.prediction_error.p99,
                r.prediction_error.max,
                r.prediction_error.samples
            ),
        ),
    ];
    if let Some(ratio) = r.hit_ratio {
        rows.push((
            "aim",
            format!(
                "{} shots, {} hits, hit ratio {ratio:.3}; simulated network {} ± {} ms each way",
                r.shots, r.hits, r.settings.latency_ms, r.settings.jitter_ms
            ),
        ));
    }
    if r.churns > 0 {
        rows.push(("churn", format!("{} cuts, {} resumed", r.churns, r.resumes)));
    }
    if r.stalled > 0 {
        rows.push((
            "stalled",
            format!("{} of {} cut off", r.stalled_cut_off, r.stalled),
        ));
    }
    if let Some(o) = &r.observers {
        rows.push((
            "observers",
            format!(
                "{} ({:?}): {:.1} updates/s each, {:.0} B/s down each, update latency p50 {:.1} · p99 {:.1} ms",
                o.observers,
                o.transport,
                o.per_observer_updates_per_s,
                o.per_observer_bytes_down_per_s,
                o.update_latency_ms.p50,
                o.update_latency_ms.p99
            ),
        ));
    }
    if let Some(s) = &r.server {
        rows.push(("server", s.summary()));
        if s.scrapes > 0 {
            rows.push(("server CPU from", s.cpu_source.clone()));
        }
    }
    rows
}

/// Where a failed run sends people to look: its rooms and their replays, first after the
/// verdict. Nothing for a run that passed.
fn rooms_html(r: &Report, out: &mut String) {
    if r.rooms_involved.is_empty() && r.replay_lookup.is_none() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"rooms-involved\">\n<h2>Rooms involved</h2>\n<table class=\"rooms\">\n\
         <tr><th>room</th><th>bots</th><th>why</th><th>replays, newest first</th></tr>"
    );
    for room in &r.rooms_involved {
        let replays: Vec<String> = room
            .replays
            .iter()
            .map(|id| format!("<code>{}</code>", escape(id)))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&room.room),
            room.bots,
            escape(&room.why),
            if replays.is_empty() {
                "none".to_owned()
            } else {
                replays.join(", ")
            }
        );
    }
    let _ = writeln!(out, "</table>");
    if r.more_rooms_involved > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} more rooms not listed.</p>",
            r.more_rooms_involved
        );
    }
    if let Some(lookup) = &r.replay_lookup {
        let _ = writeln!(out, "<p class=\"note\">Replays: {}</p>", escape(lookup));
    }
    if r.rooms_involved.iter().any(|room| !room.replays.is_empty()) {
        let _ = writeln!(
            out,
            "<p class=\"note\">Re-simulate one, where the server runs, with <code>{}</code></p>",
            escape(crate::report::REPLAY_COMMAND)
        );
    }
    let _ = writeln!(out, "</section>");
}

fn verdict_html(pass: bool, text: &str, out: &mut String) {
    let _ = writeln!(
        out,
        "<p id=\"verdict\" class=\"verdict {}\">{}</p>",
        if pass { "pass" } else { "fail" },
        escape(text)
    );
}

fn section(id: &str, title: &str, charts: &[Drawn], out: &mut String) {
    let _ = writeln!(out, "<section id=\"{id}\">\n<h2>{}</h2>", escape(title));
    for c in charts {
        c.html(out);
    }
    not_drawn(charts, out);
    let _ = writeln!(out, "</section>");
}

fn all_scalars(r: &Report, out: &mut String) {
    let Ok(v) = serde_json::to_value(r) else {
        return;
    };
    let _ = writeln!(
        out,
        "<details><summary>Every figure in the JSON report</summary>\n<table class=\"all\">"
    );
    for (path, value) in crate::compare::scalars(&v) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&path),
            number(Some(value))
        );
    }
    let _ = writeln!(out, "</table>\n</details>");
}

/// One run's report as a page.
pub fn report_page(r: &Report) -> String {
    let pass = r.result == "pass";
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header>\n<h1>arena-bot report ({}): {} bots, {:.1} s</h1>",
        escape(&r.settings.game),
        r.bots,
        r.duration_s
    );
    verdict_html(
        pass,
        &if pass {
            "PASS".to_owned()
        } else {
            format!("FAIL: {}", r.result)
        },
        &mut body,
    );
    table(&settings_rows(r), "settings", &mut body);
    let _ = writeln!(body, "</header>");
    rooms_html(r, &mut body);
    let _ = writeln!(body, "<section id=\"figures\">\n<h2>Figures</h2>");
    table(&figures_rows(r), "figures", &mut body);
    if !r.problems.is_empty() {
        let _ = writeln!(body, "<p>First problems seen:</p>\n<ul class=\"problems\">");
        for p in &r.problems {
            let _ = writeln!(body, "<li>{}</li>", escape(p));
        }
        let _ = writeln!(body, "</ul>");
    }
    all_scalars(r, &mut body);
    let _ = writeln!(body, "</section>");
    let runs = [Run {
        label: "",
        report: r,
        faint: false,
    }];
    section(
        "over-time",
        "The bots over time",
        &bot_charts(&runs),
        &mut body,
    );
    section(
        "server",
        "The server over time",
        &server_charts(&runs),
        &mut body,
    );
    section(
        "distributions",
        "Distributions over the whole run",
        &distribution_charts(&runs),
        &mut body,
    );
    let title = format!(
        "arena-bot report: {} bots, {:.0} s: {}",
        r.bots,
        r.duration_s,
        if pass { "pass" } else { "FAIL" }
    );
    page(&title, &body)
}

/// Two runs compared, as a page: the verdict, the table, the charts overlaid.
pub fn compare_page(c: &Comparison, base: (&str, &Report), new: (&str, &Report)) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header>\n<h1>arena-bot compare</h1>\n<p>base <b>{}</b> ({}) against new <b>{}</b> ({})</p>",
        escape(base.0),
        escape(&c.base_result),
        escape(new.0),
        escape(&c.new_result)
    );
    verdict_html(c.passed(), &c.verdict(), &mut body);
    for note in &c.notes {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(note));
    }
    let rows = [
        (
            "base",
            format!(
                "{} bots, {:.1} s, {}",
                base.1.bots,
                base.1.duration_s,
                unix_time(base.1.settings.started_unix_s)
            ),
        ),
        (
            "new",
            format!(
                "{} bots, {:.1} s, {}",
                new.1.bots,
                new.1.duration_s,
                unix_time(new.1.settings.started_unix_s)
            ),
        ),
    ];
    table(&rows, "settings", &mut body);
    let _ = writeln!(
        body,
        "</header>\n<section id=\"figures\">\n<h2>Figures</h2>\n<table class=\"compare\">\n\
         <tr><th>figure</th><th>unit</th><th>base</th><th>new</th><th>new/base</th><th>tolerance</th><th>verdict</th></tr>"
    );
    for f in &c.figures {
        let class = match f.verdict {
            Verdict::Regressed => " class=\"regressed\"",
            Verdict::Better => " class=\"better\"",
            _ => "",
        };
        let ratio = f.ratio().map_or("—".to_owned(), |r| format!("{r:.2}"));
        let _ = writeln!(
            body,
            "<tr{class}><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{ratio}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.name),
            escape(f.rule.map_or("", |k| k.unit)),
            number(f.base),
            number(f.new),
            escape(&f.rule.as_ref().map_or(String::new(), tolerance_text)),
            f.verdict.word()
        );
    }
    let _ = writeln!(body, "</table>\n</section>");
    let runs = [
        Run {
            label: "base",
            report: base.1,
            faint: true,
        },
        Run {
            label: "new",
            report: new.1,
            faint: false,
        },
    ];
    section(
        "over-time",
        "The bots over time (base faint)",
        &bot_charts(&runs),
        &mut body,
    );
    section(
        "server",
        "The server over time (base faint)",
        &server_charts(&runs),
        &mut body,
    );
    section(
        "distributions",
        "Distributions over the whole run",
        &distribution_charts(&runs),
        &mut body,
    );
    page(&format!("arena-bot compare: {}", c.verdict()), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Point;

    /// A report as a short run would leave it, without a server section.
    pub(crate) fn sample_report() -> Report {
        let mut r = Report {
            report_version: crate::report::REPORT_VERSION,
            bots: 2,
            connected: 2,
            completed: 2,
            duration_s: 5.0,
            result: "pass".into(),
            ..Report::default()
        };
        r.timeline = Timeline::new(1.0);
        for i in 1..=5 {
            r.timeline.push(
                Point {
                    t_s: f64::from(i),
                    connected: 2.0,
                    joins: if i == 1 { 2.0 } else { 0.0 },
                    disconnects: if i == 3 { 1.0 } else { 0.0 },
                    messages_in_per_s: 60.0,
                    messages_out_per_s: 62.0,
                    bytes_in_per_s: 9_000.0,
                    bytes_out_per_s: 1_000.0,
                    snapshot_rate_hz: Some(30.0),
                    rtt_p50_ms: Some(0.3),
                    rtt_p99_ms: Some(0.9),
                    input_ack_p50_ms: Some(33.0),
                    input_ack_p99_ms: Some(36.0),
                    jitter_p50_ms: Some(0.2),
                    jitter_p99_ms: Some(1.0),
                    prediction_error_p50: Some(0.0),
                    prediction_error_p99: Some(0.0),
                    ..Point::default()
                },
                1.0,
            );
        }
        r.distributions.rtt_ms = Distribution {
            edges_ms: vec![0.1, 0.126, 0.158],
            counts: vec![3, 7],
        };
        r.distributions.input_ack_ms = Distribution {
            edges_ms: vec![31.6, 39.8],
            counts: vec![10],
        };
        r
    }

    #[test]
    fn a_report_page_is_self_contained_with_a_chart_per_series() {
        let html = report_page(&sample_report());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("id=\"verdict\" class=\"verdict pass\">PASS</p>"));
        for id in [
            "chart-bots",
            "chart-events",
            "chart-messages",
            "chart-bytes",
            "chart-rtt",
            "chart-input-ack",
            "chart-snapshot-rate",
            "chart-jitter",
            "chart-prediction",
            "chart-rtt-distribution",
            "chart-input-ack-distribution",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        // No server section: its charts are listed as not drawn, with why.
        assert!(html.contains("no server metrics (not scraped)"));
        // Nothing to load: no script, no link, no URL but the SVG namespace.
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src="));
        let urls = html.matches("http").count();
        assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count());
    }

    #[test]
    fn text_from_the_report_is_escaped() {
        let mut r = sample_report();
        r.result = "<script>alert(1)</script>".into();
        r.problems = vec!["a & b".into()];
        let html = report_page(&r);
        assert!(!html.contains("<script>"));
        assert!(html.contains("FAIL: &lt;script&gt;"));
        assert!(html.contains("a &amp; b"));
    }

    #[test]
    fn a_failed_page_names_its_rooms_and_replays_first() {
        let passed = report_page(&sample_report());
        assert!(!passed.contains("id=\"rooms-involved\""));
        let mut r = sample_report();
        r.result = "snapshot rate 20.00 Hz per bot is below 28 Hz".into();
        r.rooms_involved = vec![crate::report::RoomInvolved {
            room: "lc".into(),
            bots: 3,
            why: "desync (1 bot)".into(),
            replays: vec!["1733520000-3-lc".into(), "<b>".into()],
        }];
        r.more_rooms_involved = 4;
        r.replay_lookup = Some("1 of 1 rooms found".into());
        let html = report_page(&r);
        let (at, figures) = (
            html.find("id=\"rooms-involved\""),
            html.find("id=\"figures\""),
        );
        assert!(at.is_some_and(|a| figures.is_some_and(|f| a < f)), "{html}");
        assert!(html.contains(
            "<tr><td>lc</td><td class=\"n\">3</td><td>desync (1 bot)</td>\
             <td><code>1733520000-3-lc</code>, <code>&lt;b&gt;</code></td></tr>"
        ));
        assert!(html.contains("4 more rooms not listed"));
        assert!(html.contains("Replays: 1 of 1 rooms found"));
        assert!(html.contains("arena-server replay &lt;replay_dir&gt;/&lt;id&gt;.replay"));
    }

    #[test]
    fn dates() {
        assert_eq!(unix_time(0), "unknown");
        assert_eq!(unix_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(unix_time(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
