//! `/metrics` as tests read it: a strict parser of the Prometheus text exposition format
//! (version 0.0.4), so an assertion names a series by its metric name and exact label set, `1`
//! never matches `10`, and a missing series is an error that lists what is there instead.
//!
//! Strict on purpose: a line that is not blank, a comment, a valid `# HELP` or `# TYPE`, or a
//! valid sample panics with its line number and text, and so do duplicate series, families split
//! into several groups, and histograms whose buckets do not add up. A change in the server's
//! output can then fail a test loudly, never make an assertion pass by not matching.
//!
//! Written here rather than taken from `prometheus-parse` (crates.io): that crate splits label
//! values on `,` and `=` without unescaping, silently skips lines and values it cannot read, and
//! merges every series of a histogram under its metric name, dropping labels such as `room`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// One sample line: a series (name and labels) and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The metric name as written, with any `_bucket`, `_sum` or `_count` suffix.
    pub name: String,
    /// Label names and unescaped values, sorted by name; names are unique.
    pub labels: Vec<(String, String)>,
    /// The value; `+Inf`, `-Inf` and `NaN` included. Timestamps are checked and dropped.
    pub value: f64,
}

impl Sample {
    /// The value of one label, if the series has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the series carries every one of `labels` (and possibly others).
    pub fn has_labels(&self, labels: &[(&str, &str)]) -> bool {
        labels.iter().all(|&(n, v)| self.label(n) == Some(v))
    }
}

/// `name{label="value",...} value`, with label values escaped as in the exposition format.
impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", series(&self.name, &self.labels))?;
        write!(f, " {}", self.value)
    }
}

/// A metric family's type from its `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// One scrape of `/metrics`, parsed.
#[derive(Debug)]
pub struct Metrics {
    /// Every sample, in the order of the text.
    samples: Vec<Sample>,
    /// Families by name, from their `# TYPE` lines.
    types: HashMap<String, MetricType>,
}

impl Metrics {
    /// Parses a whole exposition; panics on the first malformed line, naming it.
    pub fn parse(text: &str) -> Self {
        let mut parser = Parser::default();
        for (index, line) in text.split('\n').enumerate() {
            if let Err(why) = parser.line(line) {
                panic!("/metrics line {}: {why}: {line:?}", index + 1);
            }
        }
        let metrics = Self {
            samples: parser.samples,
            types: parser.types,
        };
        metrics.check_histograms();
        metrics
    }

    /// Every sample, in the order of the text.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The type declared for a family (the name without `_bucket`, `_sum`, `_count`).
    pub fn type_of(&self, family: &str) -> Option<MetricType> {
        self.types.get(family).copied()
    }

    /// The value of the series with exactly this name and exactly these labels (in any order):
    /// a series with more labels than asked for does not match.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted = sorted_labels(labels);
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// Like [`Metrics::value`], but a missing series panics, naming it and listing the series
    /// of the same name present (or, when there are none, the metric names that look alike).
    pub fn require(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        if let Some(value) = self.value(name, labels) {
            return value;
        }
        let wanted = series(name, &sorted_labels(labels));
        let same_name: Vec<String> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .map(ToString::to_string)
            .collect();
        if !same_name.is_empty() {
            panic!(
                "no series {wanted} in /metrics; series named {name}:\n  {}",
                same_name.join("\n  ")
            );
        }
        panic!(
            "no series {wanted} in /metrics, nor any named {name}; similar names: {}",
            self.similar_names(name)
        );
    }

    /// Every series of `name` that carries all of `labels`, whatever other labels it has.
    pub fn samples_where(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name && s.has_labels(labels))
            .collect()
    }

    /// Every series, of any name, whose label `label` is `value`.
    pub fn samples_labelled(&self, label: &str, value: &str) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.label(label) == Some(value))
            .collect()
    }

    /// Distinct metric names that share a word with `name` (besides the namespace and the
    /// unit/suffix words every family has), for error messages.
    fn similar_names(&self, name: &str) -> String {
        const COMMON: &[&str] = &[
            "arena", "total", "seconds", "bytes", "bucket", "count", "sum",
        ];
        let words: Vec<&str> = name
            .split('_')
            .filter(|w| w.len() > 2 && !COMMON.contains(w))
            .collect();
        let mut similar: Vec<&str> = self
            .samples
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| n.split('_').any(|w| words.contains(&w)))
            .collect();
        similar.sort_unstable();
        similar.dedup();
        if similar.is_empty() {
            "none".to_owned()
        } else {
            similar.join(", ")
        }
    }

    /// Each histogram series (its labels without `le`) has buckets in increasing `le` order with
    /// non-decreasing counts, ending with `le="+Inf"`, whose count equals `_count`; and a `_sum`.
    fn check_histograms(&self) {
        type Key<'a> = (&'a str, Vec<(String, String)>);
        let mut buckets: BTreeMap<Key<'_>, Vec<(f64, f64)>> = BTreeMap::new();
        let mut parts: HashMap<Key<'_>, (Option<f64>, bool)> = HashMap::new();
        for s in &self.samples {
            let family = |suffix| {
                s.name
                    .strip_suffix(suffix)
                    .filter(|f| self.type_of(f) == Some(MetricType::Histogram))
            };
            let without_le = || -> Vec<(String, String)> {
                s.labels
                    .iter()
                    .filter(|(n, _)| n != "le")
                    .cloned()
                    .collect()
            };
            if let Some(f) = family("_bucket") {
                let le = s.label("le").and_then(parse_value).unwrap_or_else(|| {
                    panic!("/metrics: histogram bucket without a numeric le: {s}")
                });
                buckets
                    .entry((f, without_le()))
                    .or_default()
                    .push((le, s.value));
            } else if let Some(f) = family("_count") {
                parts.entry((f, without_le())).or_default().0 = Some(s.value);
            } else if let Some(f) = family("_sum") {
                parts.entry((f, without_le())).or_default().1 = true;
            }
        }
        for (key, bs) in &buckets {
            let shown = series(key.0, &key.1);
            let ordered = bs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
            assert!(
                ordered,
                "/metrics: histogram {shown}: buckets out of order: {bs:?}"
            );
            let last = bs.last().expect("an entry has a bucket");
            assert!(
                last.0 == f64::INFINITY,
                "/metrics: histogram {shown} has no le=\"+Inf\" bucket"
            );
            match parts.get(key) {
                Some(&(Some(count), true)) => assert!(
                    count == last.1,
                    "/metrics: histogram {shown}: _count {count} but the +Inf bucket has {}",
                    last.1
                ),
                _ => panic!("/metrics: histogram {shown} lacks its _count or _sum"),
            }
        }
        if let Some(key) = parts.keys().find(|k| !buckets.contains_key(*k)) {
            panic!(
                "/metrics: histogram {} has no buckets",
                series(key.0, &key.1)
            );
        }
    }
}

/// `name{a="x",b="y"}`, or `name` alone without labels.
fn series(name: &str, labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(n, v)| {
            let escaped = v
                .replace('\\', r"\\")
                .replace('"', "\\\"")
                .replace('\n', r"\n");
            format!("{n}=\"{escaped}\"")
        })
        .collect();
    format!("{name}{{{}}}", pairs.join(","))
}

/// Owned labels sorted by name; a label named twice is a mistake in the test.
fn sorted_labels(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut sorted: Vec<(String, String)> = labels
        .iter()
        .map(|&(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    sorted.sort();
    assert!(
        sorted.windows(2).all(|w| w[0].0 != w[1].0),
        "a label named twice: {labels:?}"
    );
    sorted
}

/// A sample value: `NaN`, `+Inf`, `-Inf`, or a decimal number (what Prometheus' own clients
/// write; Go's looser `ParseFloat` spellings such as `inf` or hex are refused).
fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => return Some(f64::NAN),
        "+Inf" => return Some(f64::INFINITY),
        "-Inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let valid = digits(int)
        && digits(frac)
        && !(int.is_empty() && frac.is_empty())
        && exponent.is_none_or(|e| !e.is_empty() && digits(e));
    if valid { s.parse().ok() } else { None }
}

fn is_metric_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn is_label_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Blanks and tabs: the only token separators of the format.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The first token of `s` (after any blanks) and what follows it, blanks skipped.
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(is_blank);
    let end = s.find(is_blank).unwrap_or(s.len());
    (&s[..end], s[end..].trim_start_matches(is_blank))
}

/// The running state of one parse.
#[derive(Default)]
struct Parser {
    samples: Vec<Sample>,
    types: HashMap<String, MetricType>,
    helped: HashSet<String>,
    /// The family whose samples are being read; every family is one contiguous group.
    current: Option<String>,
    /// Families whose group has ended.
    finished: HashSet<String>,
    /// Every series seen, to refuse a duplicate.
    seen: HashSet<(String, Vec<(String, String)>)>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), String> {
        let line = line.trim_matches(is_blank);
        if line.is_empty() {
            return Ok(());
        }
        match line.strip_prefix('#') {
            Some(comment) => self.comment(comment),
            None => self.sample(line),
        }
    }

    /// `# HELP name text`, `# TYPE name type`, or any other comment.
    fn comment(&mut self, rest: &str) -> Result<(), String> {
        let (keyword, rest) = token(rest);
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let (name, rest) = token(rest);
        if !is_metric_name(name) {
            return Err(format!("bad metric name {name:?} in # {keyword}"));
        }
        if keyword == "HELP" {
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
                    return Err("HELP text with an escape other than \\\\ or \\n".into());
                }
            }
            if !self.helped.insert(name.to_owned()) {
                return Err(format!("a second HELP for {name}"));
            }
            return Ok(());
        }
        let kind = match rest {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "untyped" => MetricType::Untyped,
            other => return Err(format!("unknown metric type {other:?}")),
        };
        if self.types.insert(name.to_owned(), kind).is_some() {
            return Err(format!("a second TYPE for {name}"));
        }
        if self.current.as_deref() == Some(name) || self.finished.contains(name) {
            return Err(format!("TYPE for {name} after its samples"));
        }
        Ok(())
    }

    /// `name[{labels}] value [timestamp]`.
    fn sample(&mut self, line: &str) -> Result<(), String> {
        let name_end = line
            .find(|c: char| c == '{' || is_blank(c))
            .ok_or("a metric name with no value")?;
        let (name, rest) = line.split_at(name_end);
        if !is_metric_name(name) {
            return Err(format!("bad metric name {name:?}"));
        }
        let (labels, rest) = match rest.trim_start_matches(is_blank).strip_prefix('{') {
            Some(inside) => parse_labels(inside)?,
            None => (Vec::new(), rest),
        };
        if !rest.starts_with(is_blank) {
            return Err("no blank between the series and its value".into());
        }
        let mut tokens = rest.split(is_blank).filter(|t| !t.is_empty());
        let value = tokens.next().ok_or("no value")?;
        let value = parse_value(value).ok_or_else(|| format!("bad value {value:?}"))?;
        if let Some(timestamp) = tokens.next() {
            timestamp
                .parse::<i64>()
                .map_err(|_| format!("bad timestamp {timestamp:?}"))?;
        }
        if let Some(extra) = tokens.next() {
            return Err(format!("unexpected {extra:?} after the timestamp"));
        }

        let family = self.family(name, &labels)?;
        if self.current.as_deref() != Some(family.as_str()) {
            if self.finished.contains(&family) {
                return Err(format!("samples of {family} are not in one group"));
            }
            if let Some(previous) = self.current.replace(family) {
                self.finished.insert(previous);
            }
        }
        if !self.seen.insert((name.to_owned(), labels.clone())) {
            return Err("a second sample of the same series".into());
        }
        self.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
        Ok(())
    }

    /// The family a sample belongs to, checking the labels its type requires or forbids.
    fn family(&self, name: &str, labels: &[(String, String)]) -> Result<String, String> {
        let has = |label: &str| labels.iter().any(|(n, _)| n == label);
        let typed = |family: &str| self.types.get(family).copied();
        for suffix in ["_bucket", "_count", "_sum"] {
            let Some(family) = name.strip_suffix(suffix) else {
                continue;
            };
            match (typed(family), suffix) {
                (Some(MetricType::Histogram), "_bucket") if !has("le") => {
                    return Err("a histogram bucket without le".into());
                }
                (Some(MetricType::Histogram | MetricType::Summary), "_count" | "_sum")
                    if has("le") || has("quantile") =>
                {
                    return Err(format!("{suffix} with an le or quantile label"));
                }
                (Some(MetricType::Histogram), _)
                | (Some(MetricType::Summary), "_count" | "_sum") => return Ok(family.to_owned()),
                _ => {}
            }
        }
        match typed(name) {
            Some(MetricType::Histogram) => Err("a histogram sample without a suffix".into()),
            Some(MetricType::Summary) if !has("quantile") => {
                Err("a summary sample without quantile".into())
            }
            _ => Ok(name.to_owned()),
        }
    }
}

/// Reads `a="x",b="y"}` (after the `{`): the sorted labels and what follows the `}`.
/// Label pairs as parsed, in their order on the line.
type Labels = Vec<(String, String)>;

fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels: Vec<(String, String)> = Vec::new();
    loop {
        s = s.trim_start_matches(is_blank);
        if let Some(rest) = s.strip_prefix('}') {
            labels.sort();
            if labels.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err("a label named twice".into());
            }
            return Ok((labels, rest));
        }
        let name_end = s
            .find(|c: char| c == '=' || is_blank(c))
            .ok_or("a label without a value")?;
        let (name, rest) = s.split_at(name_end);
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        let rest = rest.trim_start_matches(is_blank);
        let rest = rest.strip_prefix('=').ok_or("a label without =")?;
        let rest = rest.trim_start_matches(is_blank);
        let mut chars = rest
            .strip_prefix('"')
            .ok_or("an unquoted label value")?
            .chars();
        let mut value = String::new();
        loop {
            match chars.next().ok_or("an unterminated label value")? {
                '"' => break,
                '\\' => value.push(match chars.next() {
                    Some('\\') => '\\',
                    Some('"') => '"',
                    Some('n') => '\n',
                    other => return Err(format!("a bad escape \\{other:?} in a label value")),
                }),
                c => value.push(c),
            }
        }
        labels.push((name.to_owned(), value));
        s = chars.as_str().trim_start_matches(is_blank);
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err("labels not separated by ,".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
# A comment, then families as the text format allows them.
# HELP http_requests_total Requests, by method and code.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{code="400", method="post",} 3
http_requests_total{code="4000",method="post"} 10
# HELP odd_path Escapes: a backslash \\ and a newline \n.
odd_path{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
 	 bare_gauge 	 -12.47
weird{problem="division by zero"} +Inf -3982045
not_a_number NaN
# TYPE latency_seconds histogram
latency_seconds_bucket{room="a",le="0.05"} 1
latency_seconds_bucket{room="a",le="0.1"} 2
latency_seconds_bucket{room="a",le="+Inf"} 3
latency_seconds_sum{room="a"} 0.4
latency_seconds_count{room="a"} 3
latency_seconds_bucket{room="b",le="+Inf"} 0
latency_seconds_sum{room="b"} 0
latency_seconds_count{room="b"} 0
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds_sum 9
rpc_seconds_count 40
"#;

    #[test]
    fn samples_are_read_with_their_exact_label_sets() {
        let m = Metrics::parse(TEXT);
        assert_eq!(m.samples().len(), 18);
        let post = |code| m.value("http_requests_total", &[("method", "post"), ("code", code)]);
        assert_eq!(post("200"), Some(1027.0));
        assert_eq!(post("400"), Some(3.0), "trailing comma, blanks, any order");
        assert_eq!(post("4000"), Some(10.0));
        assert_eq!(post("40"), None, "no prefix matches");
        assert_eq!(m.value("http_requests_total", &[("code", "200")]), None);
        assert_eq!(
            m.samples_where("http_requests_total", &[("method", "post")])
                .len(),
            3
        );
        let odd = m.samples_where("odd_path", &[]);
        assert_eq!(odd[0].label("path"), Some(r"C:\DIR\FILE.TXT"));
        assert_eq!(
            odd[0].label("error"),
            Some("Cannot find file:\n\"FILE.TXT\"")
        );
        assert_eq!(
            m.require(
                "odd_path",
                &[
                    ("error", "Cannot find file:\n\"FILE.TXT\""),
                    ("path", r"C:\DIR\FILE.TXT")
                ]
            ),
            1.458255915e9
        );
        assert_eq!(m.value("bare_gauge", &[]), Some(-12.47));
        assert_eq!(
            m.value("weird", &[("problem", "division by zero")]),
            Some(f64::INFINITY)
        );
        assert!(m.require("not_a_number", &[]).is_nan());
        assert_eq!(m.type_of("latency_seconds"), Some(MetricType::Histogram));
        assert_eq!(
            m.require("latency_seconds_bucket", &[("room", "a"), ("le", "+Inf")]),
            3.0
        );
        assert_eq!(m.require("latency_seconds_count", &[("room", "a")]), 3.0);
        assert_eq!(m.samples_labelled("room", "b").len(), 3);
        assert_eq!(m.require("rpc_seconds", &[("quantile", "0.5")]), 0.2);
        assert_eq!(
            odd[0].to_string(),
            r#"odd_path{error="Cannot find file:\n\"FILE.TXT\"",path="C:\\DIR\\FILE.TXT"} 1458255915"#
        );
    }

    /// The panic message of `f`.
    fn panic_of(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let panic = std::panic::catch_unwind(f).expect_err("should panic");
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }

    #[test]
    fn malformed_text_panics_naming_the_line() {
        // (text, the line the panic must quote)
        for (text, line) in [
            (r#"x{a="1} 1"#, r#"x{a="1} 1"#),
            (r#"x{a="\t"} 1"#, r#"x{a="\t"} 1"#),
            (r#"x{a=1} 1"#, r#"x{a=1} 1"#),
            (r#"x{a="1" b="2"} 1"#, r#"x{a="1" b="2"} 1"#),
            (r#"x{a="1",a="2"} 1"#, r#"x{a="1",a="2"} 1"#),
            (r#"x{1a="1"} 1"#, r#"x{1a="1"} 1"#),
            (r#"x{a="1"}1"#, r#"x{a="1"}1"#),
            ("x", "x"),
            ("x{}", "x{}"),
            ("x 1 2 3", "x 1 2 3"),
            ("x 1 1.5", "x 1 1.5"),
            ("x inf", "x inf"),
            ("x 0x10", "x 0x10"),
            ("x 1\r", "x 1\r"),
            ("x 1\nx 2", "x 2"),
            ("x 1\ny 1\nx{a=\"b\"} 1", "x{a=\"b\"} 1"),
            ("x 1\n# TYPE x counter", "# TYPE x counter"),
            ("# TYPE x counter\n# TYPE x gauge", "# TYPE x gauge"),
            ("# TYPE x countr", "# TYPE x countr"),
            ("# HELP x a\n# HELP x b", "# HELP x b"),
            (r"# HELP x tab\t", r"# HELP x tab\t"),
            ("# TYPE h histogram\nh 1", "h 1"),
            ("# TYPE h histogram\nh_bucket 1", "h_bucket 1"),
            ("# TYPE s summary\ns 1", "s 1"),
            (
                "# TYPE s summary\ns_sum{quantile=\"1\"} 1",
                "s_sum{quantile=\"1\"} 1",
            ),
        ] {
            let message = panic_of(|| {
                Metrics::parse(text);
            });
            assert!(
                message.contains(&format!("{line:?}")),
                "{text:?} gave {message:?}"
            );
        }
    }

    #[test]
    fn inconsistent_histograms_panic() {
        let head = "# TYPE h histogram\n";
        for (body, why) in [
            ("h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1", "no le=\"+Inf\""),
            ("h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1", "_count 1"),
            (
                "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1",
                "out of order",
            ),
            (
                "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1",
                "out of order",
            ),
            ("h_bucket{le=\"+Inf\"} 1\nh_count 1", "lacks"),
            ("h_sum 1\nh_count 1", "no buckets"),
        ] {
            let text = format!("{head}{body}\n");
            let message = panic_of(|| {
                Metrics::parse(&text);
            });
            assert!(message.contains(why), "{body:?} gave {message:?}");
        }
    }

    #[test]
    fn a_missing_series_is_named_with_what_is_there() {
        let m = Metrics::parse(TEXT);
        let message = panic_of(|| {
            m.require(
                "http_requests_total",
                &[("code", "500"), ("method", "post")],
            );
        });
        assert!(
            message.contains(r#"no series http_requests_total{code="500",method="post"}"#)
                && message.contains(r#"http_requests_total{code="4000",method="post"} 10"#),
            "{message}"
        );
        let message = panic_of(|| {
            m.require("http_requests", &[]);
        });
        assert!(
            message.contains("similar names: http_requests_total"),
            "{message}"
        );
    }
}
