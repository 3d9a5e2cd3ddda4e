//! `arena-bot compare` as CI runs it: the real binary on crafted JSON reports, judged by its
//! exit status and what it prints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// A passing 100-bot run's report, as `--json` writes it, with the given p99 input-to-ack.
fn report(input_ack_p99: f64) -> Value {
    let latency = |p50: f64, p99: f64| json!({"p50": p50, "p99": p99, "p999": p99 * 1.1, "max": p99 * 1.5, "samples": 30000});
    let mut run = json!({
        "report_version": 2,
        "settings": {"url": "ws://127.0.0.1:8080/ws", "bots": 100, "behavior": "mixed", "duration_s": 30.0},
        "bots": 100, "connected": 100, "failed": 0, "unexpected_disconnects": 0,
        "protocol_errors": 0, "completed": 100,
        "messages_sent": 93310, "messages_received": 128893, "snapshots_received": 89941,
        "events_received": 35852, "bytes_sent": 1861711, "bytes_received": 59908536,
        "churns": 0, "resumes": 0,
        "rtt_ms": latency(0.45, 1.23),
        "input_ack_ms": latency(33.3, input_ack_p99),
        "snapshot_jitter_ms": latency(0.4, 1.6),
        "prediction_error": {"p50": 0.0, "p99": 0.0, "max": 0.0, "samples": 29000},
        "desyncs": 0, "bytes_per_bot_s": 19969.5, "stalled": 0, "stalled_cut_off": 0,
        "observers": null, "snapshot_rate_hz": 29.98, "duration_s": 30.0, "bot_seconds": 3000.0,
        "problems": [], "result": "pass"
    });
    run["server"] = json!({
        "metrics_url": "http://127.0.0.1:8080/metrics", "scrapes": 31, "failed_scrapes": 0,
        "error": null, "cpu_source": "/proc", "observed_s": 30.0, "cpu_seconds": 0.93,
        "cpu_percent": 3.1, "cpu_us_per_bot_s": 310.0, "peak_rss_bytes": 8178892.0,
        "start_rss_bytes": 5872025.0, "tick_p50_ms": 0.2, "tick_p99_ms": 0.8, "ticks": 6300.0,
        "overruns": 0.0, "skipped_snapshots": 0.0, "dropped_inputs": 0.0,
        "closed_by_code": {"1000": 100.0}
    });
    run
}

/// A directory of this test's own (tests run in parallel).
fn dir(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("compare-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(v).expect("json")).expect("write");
    path
}

fn compare(args: &[&Path], extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arena-bot"))
        .arg("compare")
        .args(args)
        .args(extra)
        .output()
        .expect("run arena-bot")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn equal_runs_pass_and_write_an_overlay_page() {
    let d = dir("equal");
    let (a, b) = (
        write(&d, "a.json", &report(34.8)),
        write(&d, "b.json", &report(34.8)),
    );
    let page = d.join("compare.html");
    let out = compare(&[&a, &b], &["--html", page.to_str().expect("utf-8")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("| input_ack_p99 | ms | 34.8 | 34.8 | 1.00 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| server_cpu_per_bot | µs/bot-s | 310 | 310 | 1.00 |"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("figures within tolerance)"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(page).expect("page");
    assert!(html.contains("class=\"verdict pass\">no regression"));
}

#[test]
fn a_regressed_p99_fails_with_exit_1_and_names_the_figure() {
    let d = dir("regressed");
    let (a, b) = (
        write(&d, "a.json", &report(34.8)),
        write(&d, "b.json", &report(69.2)),
    );
    let out = compare(&[&a, &b], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let last = stdout.lines().last().expect("a verdict line");
    assert!(
        last.starts_with(
            "verdict: REGRESSED: input_ack_p99 34.8 → 69.2 ms (1.99×, tolerance ≤ 1.2× + 2 ms)"
        ),
        "{last}"
    );
    assert!(
        stdout.contains("| input_ack_p99 | ms | 34.8 | 69.2 | 1.99 | ≤ 1.2× + 2 ms | REGRESSED |")
    );
    // A looser tolerance for the figures that moved lets it pass.
    let loose = compare(
        &[&a, &b],
        &[
            "--tolerance",
            "input_ack_p99=2.5,input_ack_p999=2.5",
            "--tolerance",
            "input_ack_max=2.5",
        ],
    );
    assert_eq!(loose.status.code(), Some(0), "{}", text(&loose.stdout));
    // The same figures the other way round are better, not a regression.
    assert_eq!(compare(&[&b, &a], &[]).status.code(), Some(0));
}

#[test]
fn files_that_cannot_be_compared_exit_2_with_a_reason() {
    let d = dir("refused");
    let good = write(&d, "good.json", &report(34.8));
    let stranger = write(&d, "stranger.json", &json!({"benchmarks": []}));
    let mut bigger = report(34.8);
    bigger["bots"] = json!(1000);
    let bigger = write(&d, "bigger.json", &bigger);
    let missing = d.join("missing.json");
    for (args, extra, says) in [
        (vec![&good, &missing], vec![], "cannot read"),
        (vec![&good, &stranger], vec![], "not an arena-bot report"),
        (
            vec![&good, &bigger],
            vec![],
            "different fleets: bots 100 vs 1000",
        ),
        (
            vec![&good, &good],
            vec!["--tolerance", "rtt_p99=0.5"],
            "must be 1 or more",
        ),
        (
            vec![&good, &good],
            vec!["--tolerance", "nonsense=2"],
            "no figure nonsense",
        ),
    ] {
        let paths: Vec<&Path> = args.iter().map(|p| p.as_path()).collect();
        let out = compare(&paths, &extra);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{says}: {stderr}");
        assert!(stderr.contains(says), "{says}: {stderr}");
    }
    let anyway = compare(&[&good, &bigger], &["--allow-mismatch"]);
    assert_eq!(anyway.status.code(), Some(0), "{}", text(&anyway.stderr));
}
