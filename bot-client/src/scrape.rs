//! The server's own view of a run: its `/metrics` scraped once a second over plain HTTP/1.1
//! (`--metrics-url`, by default derived from `--url`), turned into per-second series (CPU,
//! RSS, tick time, overruns, skipped snapshots, dropped inputs, connections closed by code)
//! and whole-run figures: the report's `server` section.
//!
//! Optional by design: when the URL does not answer, the section says why and the run goes on.
//!
//! Server CPU: the Prometheus process collector counts `arena_process_cpu_seconds_total` in
//! whole seconds, too coarse for a share per second. When the server listens on this machine
//! the scraper reads its CPU time from `/proc` instead ([`crate::process`]); otherwise it uses
//! the metric, over windows of [`COARSE_CPU_WINDOW`]. `cpu_source` says which.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior};

use crate::exposition::{Exposition, MAX_EXPOSITION, bucket_delta, bucket_quantile};
use crate::process;
use crate::timeline::{Merge, SAMPLE_PERIOD, reduce, round3, series};

/// How long one scrape may take before it counts as failed.
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);

/// The window over which a whole-second CPU counter is turned into a share of a core.
pub const COARSE_CPU_WINDOW: Duration = Duration::from_secs(10);

/// The metric names read (the server's registry prefixes them with `arena_`).
mod names {
    pub const CPU: &str = "arena_process_cpu_seconds_total";
    pub const RSS: &str = "arena_process_resident_memory_bytes";
    pub const TICK: &str = "arena_tick_seconds";
    pub const TICKS: &str = "arena_tick_seconds_count";
    pub const OVERRUNS: &str = "arena_tick_overruns_total";
    pub const SKIPPED: &str = "arena_skipped_snapshots_total";
    pub const DROPPED: &str = "arena_dropped_inputs_total";
    pub const PLAYERS: &str = "arena_players";
    pub const OPEN: &str = "arena_connections_open";
    pub const CLOSED: &str = "arena_connections_closed_total";
}

series! {
    /// The server per scrape interval (one second), from the start of the run.
    ServerSeries /
    /// One point of a [`ServerSeries`].
    ServerPoint {
        /// Seconds since the fleet started, at the later of the two scrapes.
        t_s: f64 = Last,
        /// CPU time used over the interval (or the last `COARSE_CPU_WINDOW` when read from
        /// the whole-second metric), % of one core.
        cpu_percent: f64 = Mean,
        /// Resident memory at the scrape, bytes.
        rss_bytes: f64 = Max,
        /// Tick time (simulation plus handing out snapshots, all rooms), median, ms.
        tick_p50_ms: Option<f64> = Mean,
        /// Tick time, p99, ms (from the histogram's buckets: as fine as they are).
        tick_p99_ms: Option<f64> = Max,
        /// Room ticks run per second, all rooms.
        ticks_per_s: f64 = Mean,
        /// Ticks that started late or were skipped.
        overruns: f64 = Sum,
        /// Snapshots replaced unsent (a session had not taken the previous one).
        skipped_snapshots: f64 = Sum,
        /// Inputs dropped, all reasons.
        dropped_inputs: f64 = Sum,
        /// Players seated.
        players: f64 = Mean,
        /// WebSocket connections open.
        connections_open: f64 = Mean,
    }
}

/// [`ServerSeries`] plus the connections closed in each interval by close code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerTimeline {
    /// The per-interval series.
    #[serde(flatten)]
    pub series: ServerSeries,
    /// Connections closed per interval, by close code (one series per code seen; zero before
    /// a code first appeared).
    #[serde(default)]
    pub closed_by_code: BTreeMap<String, Vec<f64>>,
    /// Closes counted for the point not yet pushed.
    #[serde(skip)]
    pending_closed: BTreeMap<String, f64>,
}

impl ServerTimeline {
    /// Empty, one point per `interval_s`.
    pub fn new(interval_s: f64) -> Self {
        Self {
            series: ServerSeries::new(interval_s),
            ..Self::default()
        }
    }

    /// Adds a raw point and the closes of its interval, halving the resolution as
    /// [`ServerSeries::push`] does.
    pub fn push(&mut self, p: ServerPoint, closed: &BTreeMap<String, f64>, period_s: f64) {
        for (code, n) in closed {
            *self.pending_closed.entry(code.clone()).or_default() += n;
        }
        let before = (self.series.len(), self.series.interval_s);
        self.series.push(p, period_s);
        self.follow(before);
    }

    /// Merges what is pending (the end of the run).
    pub fn flush(&mut self) {
        let before = (self.series.len(), self.series.interval_s);
        self.series.flush();
        self.follow(before);
    }

    /// After the series was given a point: if it took one (and maybe halved), the close
    /// counts take theirs (and halve too).
    fn follow(&mut self, (len, interval): (usize, f64)) {
        let halved = self.series.interval_s != interval;
        if !halved && self.series.len() == len {
            return;
        }
        let pending = std::mem::take(&mut self.pending_closed);
        for code in pending.keys() {
            self.closed_by_code
                .entry(code.clone())
                .or_insert_with(|| vec![0.0; len]);
        }
        for (code, v) in &mut self.closed_by_code {
            v.resize(len, 0.0);
            v.push(pending.get(code).copied().unwrap_or(0.0));
        }
        if halved {
            let factor = (self.series.interval_s / interval).round() as usize;
            for v in self.closed_by_code.values_mut() {
                *v = reduce(v, factor, Merge::Sum);
            }
        }
    }

    /// A copy of at most `points` points, for drawing.
    pub fn at_most(&self, points: usize) -> Self {
        let factor = self.series.len().div_ceil(points.max(1)).max(1);
        if factor == 1 {
            return self.clone();
        }
        Self {
            series: self.series.reduced(factor),
            closed_by_code: self
                .closed_by_code
                .iter()
                .map(|(k, v)| (k.clone(), reduce(v, factor, Merge::Sum)))
                .collect(),
            pending_closed: BTreeMap::new(),
        }
    }
}

/// The server over a run: the report's `server` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerReport {
    /// The URL scraped.
    pub metrics_url: String,
    /// Scrapes answered.
    pub scrapes: u64,
    /// Scrapes that failed (refused, timed out, not 200, too large).
    pub failed_scrapes: u64,
    /// Why the last failed scrape failed; with no answered scrape, the section holds nothing
    /// else.
    pub error: Option<String>,
    /// Where the CPU figures come from: `/proc` of the process listening on the port, or the
    /// whole-second metric.
    #[serde(default)]
    pub cpu_source: String,
    /// Seconds between the first and the last answered scrape: what the figures below cover.
    pub observed_s: f64,
    /// Server CPU seconds over that time.
    pub cpu_seconds: f64,
    /// The same as a share of one core, %.
    pub cpu_percent: f64,
    /// Server CPU per second of play of one bot, µs (`cpu_seconds` over the bots' summed
    /// connected time): what one player costs.
    pub cpu_us_per_bot_s: f64,
    /// Largest resident memory seen at a scrape, bytes.
    pub peak_rss_bytes: f64,
    /// Resident memory at the first scrape (before the bots), bytes.
    pub start_rss_bytes: f64,
    /// Tick time over the run, median, ms.
    pub tick_p50_ms: Option<f64>,
    /// Tick time over the run, p99, ms.
    pub tick_p99_ms: Option<f64>,
    /// Room ticks run.
    pub ticks: f64,
    /// Late or skipped ticks.
    pub overruns: f64,
    /// Snapshots replaced unsent.
    pub skipped_snapshots: f64,
    /// Inputs dropped.
    pub dropped_inputs: f64,
    /// Connections closed, by close code.
    pub closed_by_code: BTreeMap<String, f64>,
    /// Per second.
    pub timeline: ServerTimeline,
}

impl ServerReport {
    /// One line for people: what the server spent, or why there is nothing to say.
    pub fn summary(&self) -> String {
        if self.scrapes == 0 {
            return format!(
                "metrics unavailable ({}): {}",
                self.metrics_url,
                self.error.as_deref().unwrap_or("no answer")
            );
        }
        let mib = |b: f64| b / 1024.0 / 1024.0;
        let tick = self
            .tick_p99_ms
            .map_or("none".to_owned(), |v| format!("{v:.2} ms"));
        let closed: Vec<String> = self
            .closed_by_code
            .iter()
            .filter(|(_, n)| **n > 0.0)
            .map(|(code, n)| format!("{n:.0}×{code}"))
            .collect();
        let failed = if self.failed_scrapes > 0 {
            format!(
                "; {} of {} scrapes failed (last: {})",
                self.failed_scrapes,
                self.scrapes + self.failed_scrapes,
                self.error.as_deref().unwrap_or("?")
            )
        } else {
            String::new()
        };
        format!(
            "cpu {:.1}% of a core ({:.0} µs per bot-s), RSS {:.1} MiB → peak {:.1} MiB, tick p99 {tick}, \
             {:.0} overruns in {:.0} ticks, {:.0} skipped snapshots, {:.0} dropped inputs, closed {}{failed}",
            self.cpu_percent,
            self.cpu_us_per_bot_s,
            mib(self.start_rss_bytes),
            mib(self.peak_rss_bytes),
            self.overruns,
            self.ticks,
            self.skipped_snapshots,
            self.dropped_inputs,
            if closed.is_empty() {
                "none".to_owned()
            } else {
                closed.join(", ")
            },
        )
    }
}

/// `http://host:port/metrics` for the server a `ws://host:port/...` URL points at.
pub fn metrics_url_for(ws_url: &str) -> Option<String> {
    crate::connection::authority(ws_url).map(|a| format!("http://{a}/metrics"))
}

/// `(host:port, /path)` of an `http://` URL.
pub fn split_http_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs can be scraped"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(|c: char| c.is_whitespace() || c == '@') {
        return Err(format!("{url}: no usable host"));
    }
    if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url}: the path has spaces or control characters"));
    }
    Ok((authority.to_owned(), path.to_owned()))
}

/// One `GET` over a fresh connection (`Connection: close`): the body of a 200 answer.
pub async fn fetch(authority: &str, path: &str) -> Result<String, String> {
    let (status, body) = get(authority, path, "text/plain").await?;
    let body = ok_body(status, body)?;
    String::from_utf8(body).map_err(|_| "the answer is not UTF-8".to_owned())
}

/// One `GET` over a fresh connection (`Connection: close`) asking for `accept`: the answer's
/// status and body, whatever the status (callers that tell a missing endpoint from a broken
/// one need the 404). No timeout of its own: callers bound it.
pub async fn get(authority: &str, path: &str, accept: &str) -> Result<(u16, Vec<u8>), String> {
    let mut stream = TcpStream::connect(authority)
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::with_capacity(64 * 1024);
    let limit = MAX_EXPOSITION + 64 * 1024;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
        if raw.len() > limit {
            return Err(format!("answer larger than {limit} bytes"));
        }
    }
    http_answer(&raw)
}

/// `body` if `status` is 200, else an error naming the status and what the body says.
pub fn ok_body(status: u16, body: Vec<u8>) -> Result<Vec<u8>, String> {
    if status != 200 {
        let reason = crate::connection::http_reason(&body);
        return Err(crate::connection::describe_status(status, Some(&reason)));
    }
    Ok(body)
}

/// The status and body of a complete HTTP/1.1 response read to its end.
pub(crate) fn http_answer(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("the answer ended inside its head".into()),
        Err(e) => return Err(format!("bad HTTP answer: {e}")),
    };
    let status = resp.code.unwrap_or(0);
    let header = |name: &str| {
        resp.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let body = &raw[head_len..];
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body)?
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.get(..len)
            .ok_or("the answer ended inside its body")?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

/// A chunked body, decoded.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let data = body.get(..size).ok_or("the answer ended inside a chunk")?;
        out.extend_from_slice(data);
        body = body
            .get(size + 2..)
            .ok_or("the answer ended inside a chunk")?;
    }
}

/// What one answered scrape said.
#[derive(Debug, Clone)]
struct Scraped {
    at: Instant,
    cpu: Option<f64>,
    rss: Option<f64>,
    tick_buckets: Vec<(f64, f64)>,
    ticks: Option<f64>,
    overruns: Option<f64>,
    skipped: Option<f64>,
    dropped: Option<f64>,
    players: Option<f64>,
    open: Option<f64>,
    closed: BTreeMap<String, f64>,
}

impl Scraped {
    /// What `e` says; the CPU time from `/proc` of `pid` instead when there is one.
    fn read(e: &Exposition, at: Instant, pid: Option<u32>) -> Self {
        let mut closed = BTreeMap::new();
        for s in e.series(names::CLOSED).filter(|s| s.value.is_finite()) {
            let code = s.label("code").unwrap_or("none").chars().take(16).collect();
            *closed.entry(code).or_default() += s.value;
        }
        // Close codes are a small fixed set on a sane server; a hostile one stays bounded.
        while closed.len() > 32 {
            closed.pop_last();
        }
        Self {
            at,
            cpu: match pid {
                Some(pid) => process::cpu_seconds(pid),
                None => e.value(names::CPU),
            },
            rss: e.value(names::RSS),
            tick_buckets: e.buckets(names::TICK),
            ticks: e.value(names::TICKS),
            overruns: e.value(names::OVERRUNS),
            skipped: e.value(names::SKIPPED),
            dropped: e.sum(names::DROPPED),
            players: e.value(names::PLAYERS),
            open: e.value(names::OPEN),
            closed,
        }
    }
}

/// A counter's growth; a counter that shrank means the server restarted, and counts whole.
fn grew(before: Option<f64>, after: Option<f64>) -> f64 {
    match (before, after) {
        (Some(b), Some(a)) if a >= b => a - b,
        (_, Some(a)) => a,
        _ => 0.0,
    }
}

fn closes_between(a: &Scraped, b: &Scraped) -> BTreeMap<String, f64> {
    b.closed
        .iter()
        .map(|(code, n)| (code.clone(), grew(a.closed.get(code).copied(), Some(*n))))
        .collect()
}

fn ms(seconds: Option<f64>) -> Option<f64> {
    seconds.map(|s| s * 1000.0)
}

fn point_between(a: &Scraped, b: &Scraped, clock: Instant, cpu_percent: f64) -> ServerPoint {
    let dt = (b.at - a.at).as_secs_f64().max(1e-3);
    let ticks = bucket_delta(&a.tick_buckets, &b.tick_buckets);
    let ms = |s: Option<f64>| ms(s).map(round3);
    ServerPoint {
        t_s: round3((b.at - clock).as_secs_f64()),
        cpu_percent: round3(cpu_percent),
        rss_bytes: b.rss.unwrap_or(0.0),
        tick_p50_ms: ms(bucket_quantile(&ticks, 0.50)),
        tick_p99_ms: ms(bucket_quantile(&ticks, 0.99)),
        ticks_per_s: round3(grew(a.ticks, b.ticks) / dt),
        overruns: grew(a.overruns, b.overruns),
        skipped_snapshots: grew(a.skipped, b.skipped),
        dropped_inputs: grew(a.dropped, b.dropped),
        players: b.players.unwrap_or(0.0),
        connections_open: b.open.unwrap_or(0.0),
    }
}

/// Scrapes `url` once a second from `clock` (the first right away, before the bots connect)
/// until `stop` fires, then once more; the figures cover the first to the last answer. The
/// server's CPU comes from `/proc` of the local process listening on the URL's port, when
/// there is one.
pub async fn scrape(url: String, clock: Instant, stop: oneshot::Receiver<()>) -> ServerReport {
    let pid = match split_http_url(&url)
        .ok()
        .and_then(|(authority, _)| process::local_port(&authority))
    {
        Some(port) => tokio::task::spawn_blocking(move || process::find_listener(port))
            .await
            .ok()
            .flatten(),
        None => None,
    };
    scrape_with(url, clock, stop, pid).await
}

/// [`scrape`], reading the server's CPU from `/proc/PID` when `pid` is given and from its
/// metrics otherwise.
pub async fn scrape_with(
    url: String,
    clock: Instant,
    mut stop: oneshot::Receiver<()>,
    pid: Option<u32>,
) -> ServerReport {
    let mut report = ServerReport {
        metrics_url: url.clone(),
        ..ServerReport::default()
    };
    let (authority, path) = match split_http_url(&url) {
        Ok(parts) => parts,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.cpu_source = match pid {
        Some(pid) => format!("/proc/{pid}/stat (the process listening on {authority})"),
        None => format!(
            "{} (whole seconds: CPU % over {} s windows)",
            names::CPU,
            COARSE_CPU_WINDOW.as_secs()
        ),
    };
    let period = SAMPLE_PERIOD.as_secs_f64();
    let mut timeline = ServerTimeline::new(period);
    let mut tick = tokio::time::interval_at(clock, SAMPLE_PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut first, mut last): (Option<Scraped>, Option<Scraped>) = (None, None);
    // Recent CPU readings, for a share of a core from a coarse counter.
    let mut recent: VecDeque<(Instant, Option<f64>)> = VecDeque::new();
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = &mut stop => true,
        };
        let at = Instant::now();
        match tokio::time::timeout(SCRAPE_TIMEOUT, fetch(&authority, &path)).await {
            Ok(Ok(text)) => {
                let now = Scraped::read(&Exposition::parse(&text), at, pid);
                report.scrapes += 1;
                report.peak_rss_bytes = report.peak_rss_bytes.max(now.rss.unwrap_or(0.0));
                recent.push_back((now.at, now.cpu));
                while pid.is_none()
                    && recent.len() > 2
                    && recent
                        .get(1)
                        .is_some_and(|r| now.at - r.0 >= COARSE_CPU_WINDOW)
                {
                    recent.pop_front();
                }
                if let Some(before) = &last {
                    // Precise readings: this interval; coarse ones: the window.
                    let (since, cpu_then) = match pid {
                        Some(_) => (before.at, before.cpu),
                        None => recent.front().copied().unwrap_or((before.at, before.cpu)),
                    };
                    let secs = (now.at - since).as_secs_f64().max(1e-3);
                    let cpu_percent = grew(cpu_then, now.cpu) / secs * 100.0;
                    let p = point_between(before, &now, clock, cpu_percent);
                    timeline.push(p, &closes_between(before, &now), period);
                }
                first.get_or_insert_with(|| now.clone());
                last = Some(now);
            }
            Ok(Err(e)) => {
                report.failed_scrapes += 1;
                report.error = Some(e);
            }
            Err(_) => {
                report.failed_scrapes += 1;
                report.error = Some(format!("no answer within {SCRAPE_TIMEOUT:?}"));
            }
        }
        if stopping {
            break;
        }
    }
    timeline.flush();
    if let (Some(a), Some(b)) = (&first, &last) {
        let observed = (b.at - a.at).as_secs_f64();
        report.observed_s = observed;
        report.cpu_seconds = grew(a.cpu, b.cpu);
        if observed > 0.0 {
            report.cpu_percent = report.cpu_seconds / observed * 100.0;
        }
        report.start_rss_bytes = a.rss.unwrap_or(0.0);
        let ticks = bucket_delta(&a.tick_buckets, &b.tick_buckets);
        report.tick_p50_ms = ms(bucket_quantile(&ticks, 0.50)).map(round3);
        report.tick_p99_ms = ms(bucket_quantile(&ticks, 0.99)).map(round3);
        report.ticks = grew(a.ticks, b.ticks);
        report.overruns = grew(a.overruns, b.overruns);
        report.skipped_snapshots = grew(a.skipped, b.skipped);
        report.dropped_inputs = grew(a.dropped, b.dropped);
        report.closed_by_code = closes_between(a, b);
        if report.failed_scrapes == 0 {
            report.error = None;
        }
    }
    report.timeline = timeline;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn urls() {
        assert_eq!(
            metrics_url_for("ws://127.0.0.1:8080/ws").as_deref(),
            Some("http://127.0.0.1:8080/metrics")
        );
        assert_eq!(metrics_url_for("wss://x/ws"), None);
        assert_eq!(
            split_http_url("http://127.0.0.1:9/metrics"),
            Ok(("127.0.0.1:9".into(), "/metrics".into()))
        );
        assert_eq!(split_http_url("http://h:1"), Ok(("h:1".into(), "/".into())));
        assert!(split_http_url("https://h/metrics").is_err());
        assert!(split_http_url("http:///metrics").is_err());
        assert!(split_http_url("http://h/a b").is_err());
    }

    /// What [`fetch`] makes of a whole answer.
    fn http_body(raw: &[u8]) -> Result<Vec<u8>, String> {
        let (status, body) = http_answer(raw)?;
        ok_body(status, body)
    }

    #[test]
    fn bodies_by_length_chunks_or_end_and_refusals() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(http_body(ok), Ok(b"abc".to_vec()));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert_eq!(http_body(chunked), Ok(b"abcde".to_vec()));
        assert_eq!(
            http_body(b"HTTP/1.1 200 OK\r\n\r\nrest"),
            Ok(b"rest".to_vec())
        );
        let refused = http_body(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
        assert!(refused.is_err_and(|e| e.contains("404") && e.contains("nope")));
        assert!(http_body(b"HTTP/1.1 200 OK\r\nContent-Le").is_err());
        assert!(http_body(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab").is_err());
        assert!(http_body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
        assert!(http_body(b"garbage").is_err());
    }

    /// A stand-in `/metrics` whose counters grow by a fixed step per answer.
    async fn stand_in() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Ok((mut s, _)) = listener.accept().await {
                n += 1;
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let body = format!(
                    "# TYPE arena_tick_seconds histogram\n\
                     arena_tick_seconds_bucket{{le=\"0.001\"}} {}\n\
                     arena_tick_seconds_bucket{{le=\"+Inf\"}} {}\n\
                     arena_tick_seconds_count {}\n\
                     arena_process_cpu_seconds_total {}\n\
                     arena_process_resident_memory_bytes {}\n\
                     arena_tick_overruns_total {}\n\
                     arena_connections_closed_total{{code=\"1000\",reason=\"normal\"}} {}\n",
                    n * 30,
                    n * 30,
                    n * 30,
                    n as f64 * 0.5,
                    1_000_000 * n,
                    n,
                    n * 2,
                );
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(answer.as_bytes()).await;
            }
        });
        format!("http://{addr}/metrics")
    }

    #[tokio::test]
    async fn scrapes_a_server_into_series_and_totals() {
        let url = stand_in().await;
        let (stop, stopped) = oneshot::channel();
        let clock = Instant::now();
        // The stand-in listens inside this very process: read its CPU from its metrics, not
        // from /proc of the test binary.
        let task = tokio::spawn(scrape_with(url, clock, stopped, None));
        tokio::time::sleep(Duration::from_millis(2_300)).await;
        let _ = stop.send(());
        let r = task.await.expect("scrape task");
        assert_eq!(r.error, None);
        assert_eq!(r.failed_scrapes, 0);
        assert_eq!(r.scrapes, 4, "at 0, 1 and 2 s and at the stop");
        assert_eq!(r.timeline.series.len(), 3);
        assert_eq!(r.overruns, 3.0);
        assert_eq!(r.ticks, 90.0);
        assert_eq!(r.closed_by_code.get("1000"), Some(&6.0));
        assert_eq!(r.timeline.closed_by_code.get("1000").map(Vec::len), Some(3));
        assert_eq!(r.peak_rss_bytes, 4_000_000.0);
        assert!(r.tick_p99_ms.is_some_and(|ms| ms <= 1.0));
        let cpu = r.timeline.series.cpu_percent[0];
        assert!(
            (20.0..80.0).contains(&cpu),
            "0.5 CPU-s in about a second: {cpu}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_reported_not_fatal() {
        // A port that was just free: nothing listens there.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(scrape(
            format!("http://{addr}/metrics"),
            Instant::now(),
            stopped,
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = stop.send(());
        let r = task.await.expect("scrape task");
        assert_eq!(r.scrapes, 0);
        assert!(r.failed_scrapes >= 2);
        assert!(r.error.is_some_and(|e| e.contains("connect")));
        assert!(r.timeline.series.is_empty());
    }

    #[test]
    fn closes_by_code_follow_the_series_through_halving() {
        let mut t = ServerTimeline::new(1.0);
        let none = BTreeMap::new();
        let mut one = BTreeMap::new();
        one.insert("1006".to_owned(), 1.0);
        let n = crate::timeline::MAX_POINTS + 2;
        for i in 0..n {
            let p = ServerPoint {
                t_s: i as f64,
                ..ServerPoint::default()
            };
            t.push(p, if i == 7 { &one } else { &none }, 1.0);
        }
        t.flush();
        let v = &t.closed_by_code["1006"];
        assert_eq!(v.len(), t.series.len());
        assert_eq!(v.iter().sum::<f64>(), 1.0);
        assert_eq!(t.series.interval_s, 2.0);
        let view = t.at_most(100);
        assert_eq!(view.closed_by_code["1006"].len(), view.series.len());
    }
}
