//! The Prometheus text exposition format (what a server's `GET /metrics` answers), parsed
//! without trusting it: a line that does not parse is counted and skipped, never a panic.
//!
//! ```text
//! # HELP arena_tick_seconds Time to simulate one tick.
//! # TYPE arena_tick_seconds histogram
//! arena_tick_seconds_bucket{le="0.000025"} 12
//! arena_connections_closed_total{code="1000",reason="normal"} 3
//! arena_process_cpu_seconds_total 1.23
//! ```

/// Longest exposition accepted, bytes.
pub const MAX_EXPOSITION: usize = 4 * 1024 * 1024;

/// One sample line: a metric name, its labels, its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (`arena_tick_seconds_bucket`).
    pub name: String,
    /// Label pairs in the order given.
    pub labels: Vec<(String, String)>,
    /// The value (`+Inf`, `-Inf` and `NaN` included).
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed exposition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// Every sample that parsed.
    pub samples: Vec<Sample>,
    /// Lines that were neither a comment, blank, nor a sample.
    pub bad_lines: usize,
}

impl Exposition {
    /// Parses the text; bad lines are skipped and counted.
    pub fn parse(text: &str) -> Self {
        let mut out = Self::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_sample(line) {
                Some(s) => out.samples.push(s),
                None => out.bad_lines += 1,
            }
        }
        out
    }

    /// The value of an unlabelled (or the first) series of `name`.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value)
            .filter(|v| v.is_finite())
    }

    /// The sum over every series of `name` (all label values), or `None` when there is none.
    pub fn sum(&self, name: &str) -> Option<f64> {
        let mut found = false;
        let total = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.value.is_finite())
            .inspect(|_| found = true)
            .map(|s| s.value)
            .sum();
        found.then_some(total)
    }

    /// Every series of `name`.
    pub fn series<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The cumulative buckets of histogram `name` (its `_bucket` series), as (upper bound,
    /// count) sorted by bound; `+Inf` last. Empty when there are none.
    pub fn buckets(&self, name: &str) -> Vec<(f64, f64)> {
        let bucket = format!("{name}_bucket");
        let mut out: Vec<(f64, f64)> = self
            .series(&bucket)
            .filter_map(|s| Some((parse_value(s.label("le")?)?, s.value)))
            .filter(|(le, v)| !le.is_nan() && v.is_finite())
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

/// `name{labels} value [timestamp]`.
fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_ascii_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_labels(after)?;
        labels = parsed;
        rest = tail;
    }
    let mut fields = rest.split_ascii_whitespace();
    let value = parse_value(fields.next()?)?;
    // An optional timestamp (integer ms); anything more is not a sample.
    if let Some(ts) = fields.next() {
        ts.parse::<i64>().ok()?;
    }
    if fields.next().is_some() {
        return None;
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `k="v",k2="v2"}` and what follows the closing brace.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(tail) = s.strip_prefix('}') {
            return Some((labels, tail));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let after = s[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        labels.push((key.to_owned(), value));
        s = after[end + 1..].trim_start();
        if let Some(tail) = s.strip_prefix(',') {
            s = tail;
        } else if !s.starts_with('}') {
            return None;
        }
    }
}

/// A sample value: a float, `+Inf`, `-Inf`, `NaN`.
fn parse_value(v: &str) -> Option<f64> {
    match v {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// The `q` quantile of a histogram from its cumulative buckets (upper bound, count), the way
/// Prometheus's `histogram_quantile` does: linear within the bucket the rank falls in; in the
/// `+Inf` bucket, the largest finite bound. `None` without observations.
pub fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank && count > below {
            if le.is_infinite() {
                return Some(lower);
            }
            return Some(lower + (le - lower) * (rank - below) / (count - below));
        }
        if le.is_finite() {
            lower = le;
        }
        below = count;
    }
    Some(lower)
}

/// Per-bucket growth between two scrapes of one histogram (`later - earlier`, bucket by bucket
/// on matching bounds; a bucket that shrank means the server restarted, and counts whole).
pub fn bucket_delta(earlier: &[(f64, f64)], later: &[(f64, f64)]) -> Vec<(f64, f64)> {
    later
        .iter()
        .map(|&(le, count)| {
            let before = earlier.iter().find(|(l, _)| *l == le).map_or(0.0, |b| b.1);
            (
                le,
                if count >= before {
                    count - before
                } else {
                    count
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP arena_tick_seconds Time to simulate one tick.
# TYPE arena_tick_seconds histogram
arena_tick_seconds_bucket{le="0.001"} 90
arena_tick_seconds_bucket{le="0.002"} 99
arena_tick_seconds_bucket{le="+Inf"} 100
arena_tick_seconds_sum 0.1
arena_tick_seconds_count 100
arena_connections_closed_total{code="1000",reason="normal"} 3
arena_connections_closed_total{code="1006", reason="a \"quoted\" \\ reason\nsplit"} 2
arena_process_cpu_seconds_total 1.5
arena_process_resident_memory_bytes 1.2e7 1700000000000
garbage line here
arena_bad{le="0.1"
arena_nan NaN
"#;

    #[test]
    fn parses_samples_labels_escapes_and_skips_garbage() {
        let e = Exposition::parse(TEXT);
        assert_eq!(e.bad_lines, 2);
        assert_eq!(e.value("arena_process_cpu_seconds_total"), Some(1.5));
        assert_eq!(e.value("arena_process_resident_memory_bytes"), Some(1.2e7));
        assert_eq!(e.value("arena_nan"), None);
        assert_eq!(e.value("arena_missing"), None);
        assert_eq!(e.sum("arena_connections_closed_total"), Some(5.0));
        let odd = e
            .series("arena_connections_closed_total")
            .find(|s| s.label("code") == Some("1006"))
            .expect("1006");
        assert_eq!(odd.label("reason"), Some("a \"quoted\" \\ reason\nsplit"));
        assert_eq!(
            e.buckets("arena_tick_seconds"),
            vec![(0.001, 90.0), (0.002, 99.0), (f64::INFINITY, 100.0)]
        );
    }

    #[test]
    fn quantiles_interpolate_within_a_bucket() {
        let b = [(0.001, 90.0), (0.002, 99.0), (f64::INFINITY, 100.0)];
        let p50 = bucket_quantile(&b, 0.5).expect("p50");
        assert!((p50 - 0.001 * 50.0 / 90.0).abs() < 1e-12, "{p50}");
        assert_eq!(bucket_quantile(&b, 0.99), Some(0.002));
        // In the +Inf bucket: the largest finite bound.
        assert_eq!(bucket_quantile(&b, 1.0), Some(0.002));
        assert_eq!(
            bucket_quantile(&[(0.001, 0.0), (f64::INFINITY, 0.0)], 0.99),
            None
        );
        assert_eq!(bucket_quantile(&[], 0.99), None);
    }

    #[test]
    fn deltas_are_per_bucket_and_survive_a_restart() {
        let a = [(0.001, 90.0), (f64::INFINITY, 100.0)];
        let b = [(0.001, 95.0), (f64::INFINITY, 110.0)];
        assert_eq!(
            bucket_delta(&a, &b),
            vec![(0.001, 5.0), (f64::INFINITY, 10.0)]
        );
        let restarted = [(0.001, 1.0), (f64::INFINITY, 2.0)];
        assert_eq!(bucket_delta(&a, &restarted), restarted.to_vec());
    }

    #[test]
    fn never_panics_on_hostile_lines() {
        for line in [
            "{",
            "}",
            "a{",
            "a{b",
            "a{b=",
            "a{b=\"",
            "a{b=\"\\",
            "a{b=\"c\"",
            "a{b=\"c\"}",
            "a{b=\"c\"} x",
            "a 1 2 3",
            "a{=\"c\"} 1",
            "é 1",
            "a{b=\"c\",} 1",
        ] {
            let _ = Exposition::parse(line);
        }
        assert_eq!(Exposition::parse("a{b=\"c\",} 1").samples.len(), 1);
    }
}
