//! `arena-bot`: a fleet of headless bots against an Arena server.

use std::env::VarError;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use arena_bot::brain::Behavior;
use arena_bot::fleet::{FleetSpec, run_fleet};
use arena_bot::observe::Transport;
use arena_bot::report::Thresholds;
use arena_bot::ticket::{DEFAULT_SECRET_ENV, DEFAULT_TTL_S, Minter};
use arena_shared::ticket::MIN_SECRET_LEN;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Headless Arena bots: connect N bots, play for a while, report, and exit 0 only if every bot
/// connected, played the whole duration, saw no protocol error, and every threshold held.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Server WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Number of bots.
    #[arg(long, default_value_t = 10)]
    bots: usize,
    /// Seconds the fleet plays once every bot has started.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds over which connects are spread (soak tests: avoid a thundering herd).
    #[arg(long, default_value_t = 0.0)]
    ramp: f64,
    /// Bots per minute, fleet-wide, that cut their connection and resume with their token.
    #[arg(long, default_value_t = 0.0)]
    churn: f64,
    /// Seconds between progress lines on stderr; 0 = none.
    #[arg(long, default_value_t = 5.0)]
    progress: f64,
    /// Fail if the p99 ping round trip exceeds this, ms.
    #[arg(long)]
    max_p99_rtt_ms: Option<f64>,
    /// Fail if the p99 input-to-acknowledgement exceeds this, ms.
    #[arg(long)]
    max_p99_input_ack_ms: Option<f64>,
    /// Fail if more bots than this lose their connection before the end.
    #[arg(long, default_value_t = 0)]
    max_unexpected_disconnects: usize,
    /// Fail if snapshots arrive slower than this per bot, Hz.
    #[arg(long)]
    min_snapshot_rate: Option<f64>,
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
    /// Extra bots that join once the ramp is over and then stop reading; the run fails unless
    /// the server cuts every one of them off (slow-client backpressure).
    #[arg(long, default_value_t = 0)]
    stall: usize,
    /// Observers of `--room` that watch without playing, from the end of the ramp.
    #[arg(long, default_value_t = 0)]
    observers: usize,
    /// How observers watch: `ws` (a spectator WebSocket, pushed, bincode), `ws-json` (the same in
    /// JSON, as a browser) or `poll`
    /// (`GET /api/rooms/{room}/state` with If-None-Match).
    #[arg(long, value_enum, default_value_t = Transport::Ws)]
    transport: Transport,
    /// Polling period of `--transport poll` observers, ms.
    #[arg(long, default_value_t = 100)]
    poll_interval_ms: u64,
    /// Runtime worker threads (all bots share them).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Environment variable holding the server's ticket secret [default: ARENA_TICKET_SECRET,
    /// the one the server reads]. When it is set, every bot mints its own single-use join
    /// ticket and every observer a spectator ticket: servers with `auth = "ticket"` need them,
    /// others ignore them. Naming a variable that is not set is an error.
    #[arg(long, value_name = "VAR")]
    ticket_secret_env: Option<String>,
    /// Lifetime of each minted ticket, seconds (at most the server's max_ticket_ttl_s).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TTL_S)]
    ticket_ttl: u64,
}

/// The minter for the secret in the environment, if there is one: from the variable named by
/// `--ticket-secret-env`, else from `ARENA_TICKET_SECRET` when that is set and not empty.
fn ticket_minter(cli: &Cli) -> Result<Option<Minter>, String> {
    let (var, named) = match &cli.ticket_secret_env {
        Some(var) => (var.as_str(), true),
        None => (DEFAULT_SECRET_ENV, false),
    };
    let secret = match std::env::var(var) {
        Ok(secret) if !secret.is_empty() => secret,
        Ok(_) | Err(VarError::NotPresent) if !named => return Ok(None),
        Ok(_) | Err(VarError::NotPresent) => {
            return Err(format!("--ticket-secret-env: {var} is not set"));
        }
        Err(VarError::NotUnicode(_)) => return Err(format!("{var} is not valid UTF-8")),
    };
    if secret.len() < MIN_SECRET_LEN {
        return Err(format!(
            "the ticket secret in {var} must be at least {MIN_SECRET_LEN} bytes"
        ));
    }
    if !(1..=7 * 86_400).contains(&cli.ticket_ttl) {
        return Err("--ticket-ttl must be 1..=604800".into());
    }
    eprintln!(
        "arena-bot: minting tickets with the secret in {var} (valid {} s)",
        cli.ticket_ttl
    );
    Ok(Some(Minter::new(secret.as_bytes(), cli.ticket_ttl)))
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
    let seconds = |v: f64| v.is_finite() && (0.0..=86_400.0).contains(&v);
    if !(seconds(cli.duration) && cli.duration > 0.0 && seconds(cli.ramp) && seconds(cli.progress))
    {
        eprintln!(
            "arena-bot: --duration, --ramp and --progress must be between 0 and 86400 seconds"
        );
        return ExitCode::from(2);
    }
    if !(cli.churn.is_finite() && cli.churn >= 0.0) {
        eprintln!("arena-bot: --churn must be zero or more");
        return ExitCode::from(2);
    }
    if cli.observers > 0 && cli.room.is_none() {
        eprintln!("arena-bot: --observers needs --room");
        return ExitCode::from(2);
    }
    if !(1..=600_000).contains(&cli.poll_interval_ms) {
        eprintln!("arena-bot: --poll-interval-ms must be 1..=600000");
        return ExitCode::from(2);
    }
    if cli.bots == 0
        || cli.bots > 100_000
        || cli.stall > 100_000
        || cli.observers > 100_000
        || cli.threads == 0
    {
        eprintln!(
            "arena-bot: --bots must be 1..=100000, --stall at most 100000, --threads at least 1"
        );
        return ExitCode::from(2);
    }
    let tickets = match ticket_minter(&cli) {
        Ok(t) => t,
        Err(why) => {
            eprintln!("arena-bot: {why}");
            return ExitCode::from(2);
        }
    };
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
        ramp: Duration::from_secs_f64(cli.ramp),
        churn_per_min: cli.churn,
        room: cli.room,
        behavior: cli.behavior,
        seed: cli.seed,
        progress: (cli.progress > 0.0).then(|| Duration::from_secs_f64(cli.progress)),
        stalled: cli.stall,
        observers: cli.observers,
        transport: cli.transport,
        poll_interval: Duration::from_millis(cli.poll_interval_ms),
        tickets,
    };
    let thresholds = Thresholds {
        max_p99_rtt_ms: cli.max_p99_rtt_ms,
        max_p99_input_ack_ms: cli.max_p99_input_ack_ms,
        max_unexpected_disconnects: cli.max_unexpected_disconnects,
        min_snapshot_rate: cli.min_snapshot_rate,
    };
    let mut report = runtime.block_on(run_fleet(spec));
    let verdict = report.verdict(&thresholds);
    report.result = match &verdict {
        Ok(()) => "pass".into(),
        Err(why) => why.clone(),
    };
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
    match verdict {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("arena-bot: FAIL: {why}");
            ExitCode::from(1)
        }
    }
}
