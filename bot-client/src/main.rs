//! `arena-bot`: a fleet of headless bots against an Arena server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use arena_bot::brain::Behavior;
use arena_bot::fleet::{FleetSpec, run_fleet};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Headless Arena bots: connect N bots, play for a while, report, and exit 0 only if every bot
/// connected, played the whole duration and saw no protocol error.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Server WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Number of bots.
    #[arg(long, default_value_t = 10)]
    bots: usize,
    /// Seconds each bot plays.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Room for every bot; omit for quick-play.
    #[arg(long)]
    room: Option<String>,
    /// Play style.
    #[arg(long, value_enum, default_value_t = Behavior::Mixed)]
    behavior: Behavior,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Base seed for the bots' random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runtime worker threads (all bots share them).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    if !(cli.duration.is_finite() && cli.duration > 0.0 && cli.duration <= 86_400.0) {
        eprintln!("arena-bot: --duration must be between 0 and 86400 seconds");
        return ExitCode::from(2);
    }
    if cli.bots == 0 || cli.bots > 100_000 || cli.threads == 0 {
        eprintln!("arena-bot: --bots must be 1..=100000 and --threads at least 1");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("arena-bot: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let spec = FleetSpec {
        url: cli.url,
        bots: cli.bots,
        duration: Duration::from_secs_f64(cli.duration),
        room: cli.room,
        behavior: cli.behavior,
        seed: cli.seed,
    };
    let report = runtime.block_on(run_fleet(spec));
    print!("{}", report.human());
    if let Some(path) = cli.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(&path, json + "\n"));
        if let Err(e) = written {
            eprintln!("arena-bot: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
