//! `arena-bot`: a fleet of headless bots against an Arena server; `arena-bot compare` for two
//! of its reports, `render` for a report's page, `sweep` for the benchmark scripts' pages.

use std::env::VarError;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use arena_bot::behavior::Behavior;
use arena_bot::fleet::{FleetSpec, judge, run_fleet};
use arena_bot::observe::Transport;
use arena_bot::report::Thresholds;
use arena_bot::sweep::SweepSpec;
use arena_bot::ticket::{DEFAULT_SECRET_ENV, DEFAULT_TTL_S, Minter};
use arena_bot::{compare, games, html, json, netem, room_options, scrape, sweep};
use arena_shared::ticket::MIN_SECRET_LEN;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Headless Arena bots: connect N bots, play for a while, report, and exit 0 only if every bot
/// connected, played the whole duration, saw no protocol error, and every threshold held.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Instead of a run: compare two reports, draw one, or draw a sweep.
    #[command(subcommand)]
    command: Option<Command>,
    /// The game to play.
    #[arg(long, default_value = games::DEFAULT, value_parser = clap::builder::PossibleValuesParser::new(games::NAMES))]
    game: String,
    /// Server WebSocket URL. A path ending in `/ws` gets the game's name appended
    /// (`/ws/shooter`); any other URL is used as it is.
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
    /// Simulated network: every bot's sends and receives each wait this long, ms (a round trip
    /// of twice this), so a run on loopback sees a real network.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Up to this much more or less delay per message, ms, uniformly; order is kept.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
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
    /// How the room is set up if the bots create it (repeatable, or comma-separated): `map=NAME`,
    /// `max_players=N`, `tick_rate=HZ`, `snapshot_rate=HZ`, within the server's limits.
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    room_option: Vec<String>,
    /// Play style.
    #[arg(long, value_enum, default_value_t = Behavior::Mixed)]
    behavior: Behavior,
    /// Write the report as JSON to this file (with per-second series).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the report as one self-contained HTML page with charts to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// The server's Prometheus endpoint, scraped once a second during the run for the report's
    /// server section [default: http://HOST:PORT/metrics of --url]; `off` = do not scrape.
    #[arg(long, value_name = "URL")]
    metrics_url: Option<String>,
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
    /// Matchmake: every bot asks `POST /api/matchmake` at one of these (`http://HOST:PORT`,
    /// repeatable or comma-separated; bot i starts with the i-th, moving on when one does not
    /// answer) where to play, and connects where it is sent with the ticket it got.
    /// `--url` then only names the server whose metrics are scraped.
    #[arg(long, value_name = "URL", value_delimiter = ',')]
    matchmaker: Vec<String>,
    /// With --matchmaker: a bot whose server vanished (killed, or drained to the end)
    /// matchmakes again and plays on; counted as a rejoin in the report, not a disconnect.
    #[arg(long, requires = "matchmaker")]
    rejoin: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compare two JSON reports figure by figure: a Markdown table with each figure's ratio
    /// NEW/BASE and a verdict against its tolerance. Exit 0: nothing regressed; 1: something
    /// regressed past its tolerance (named in the last line); 2: the files cannot be compared.
    Compare {
        /// The reference run's JSON report.
        base: PathBuf,
        /// The run to judge.
        new: PathBuf,
        /// Worst acceptable NEW/BASE of a figure (repeatable, or comma-separated), e.g.
        /// `rtt_p99=1.2` (lower is better: 1 or more) or `snapshot_rate=0.95` (higher is
        /// better: at most 1). `--list` shows the figures and their defaults.
        #[arg(long, value_name = "NAME=RATIO", value_delimiter = ',')]
        tolerance: Vec<String>,
        /// Also write the comparison, with both runs' charts overlaid, as an HTML page.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Compare even if the runs ran different fleets (bots, behaviour, observers).
        #[arg(long)]
        allow_mismatch: bool,
    },
    /// List the figures `compare` judges, with their default tolerances and noise floors.
    Figures,
    /// Draw a JSON report as an HTML page (what `--html` writes at the end of a run).
    Render {
        /// The JSON report.
        report: PathBuf,
        /// Where to write the page.
        #[arg(long, value_name = "FILE")]
        html: PathBuf,
    },
    /// Draw a benchmark sweep: one JSON object per line (a run each) as charts of chosen
    /// fields against the swept one, and a table of every row. Each chart is also written as
    /// FILE-without-.html-FIELD.svg, to link from a README.
    Sweep {
        /// One JSON object per line.
        rows: PathBuf,
        /// Where to write the page.
        #[arg(long, value_name = "FILE")]
        html: PathBuf,
        /// The page's title.
        #[arg(long)]
        title: String,
        /// The swept field (the x axis).
        #[arg(long, value_name = "FIELD")]
        x: String,
        /// The x axis' description.
        #[arg(long, value_name = "TEXT")]
        x_label: Option<String>,
        /// The field whose values split the rows into lines.
        #[arg(long, value_name = "FIELD")]
        series: Option<String>,
        /// A field to chart, with its title (repeatable).
        #[arg(long, value_name = "FIELD=TITLE", required = true)]
        chart: Vec<String>,
        /// A target line on a field's chart (repeatable).
        #[arg(long, value_name = "FIELD=VALUE")]
        target: Vec<String>,
        /// A logarithmic x axis.
        #[arg(long)]
        log_x: bool,
        /// A line of text under the title (repeatable): the command, the machine.
        #[arg(long, value_name = "TEXT")]
        note: Vec<String>,
    },
}

/// Writes `text` to `path`, or says why not.
fn write_file(path: &std::path::Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `arena-bot compare`: 0 no regression, 1 regressed, 2 cannot compare.
fn run_compare(
    base: &std::path::Path,
    new: &std::path::Path,
    tolerance: &[String],
    html_out: Option<&std::path::Path>,
    allow_mismatch: bool,
) -> ExitCode {
    let fail = |why: String| {
        eprintln!("arena-bot compare: {why}");
        ExitCode::from(2)
    };
    let overrides = match compare::tolerances(tolerance) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let (b, n) = match (json::read(base), json::read(new)) {
        (Ok(b), Ok(n)) => (b, n),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    if !allow_mismatch && let Err(e) = compare::same_fleet(&b.0, &n.0) {
        return fail(format!("{e} (--allow-mismatch compares them anyway)"));
    }
    let c = compare::compare((&b.0, &b.1), (&n.0, &n.1), &overrides);
    let (bn, nn) = (base.display().to_string(), new.display().to_string());
    print!("{}", compare::markdown(&c, &bn, &nn));
    if let Some(path) = html_out {
        let page = html::compare_page(&c, (&bn, &b.0), (&nn, &n.0));
        if let Err(e) = write_file(path, &page) {
            return fail(e);
        }
    }
    if c.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `arena-bot figures`.
fn list_figures() -> ExitCode {
    println!("| figure | JSON path | better | default tolerance |");
    println!("| --- | --- | --- | --- |");
    for k in compare::KNOWN {
        println!(
            "| {} | {} | {} | {} |",
            k.name,
            k.path,
            if k.direction == compare::Direction::Lower {
                "lower"
            } else {
                "higher"
            },
            compare::tolerance_text(k)
        );
    }
    println!(
        "
Every other number in the reports is listed by its JSON path, without a verdict."
    );
    ExitCode::SUCCESS
}

/// `arena-bot sweep`.
fn run_sweep(
    rows: &std::path::Path,
    out: &std::path::Path,
    spec: SweepSpec,
    charts: &[String],
    targets: &[String],
) -> ExitCode {
    let fail = |why: String| {
        eprintln!("arena-bot sweep: {why}");
        ExitCode::from(2)
    };
    let mut spec = spec;
    for c in charts {
        match c.split_once('=') {
            Some((f, t)) => spec.charts.push((f.trim().to_owned(), t.trim().to_owned())),
            None => spec.charts.push((c.trim().to_owned(), c.trim().to_owned())),
        }
    }
    for t in targets {
        match t
            .split_once('=')
            .and_then(|(f, v)| Some((f, v.trim().parse::<f64>().ok()?)))
        {
            Some((f, v)) => {
                spec.targets.insert(f.trim().to_owned(), v);
            }
            None => return fail(format!("--target {t}: expected FIELD=NUMBER")),
        }
    }
    let text = match std::fs::read_to_string(rows) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read {}: {e}", rows.display())),
    };
    let rows = match sweep::read_rows(&text) {
        Ok(r) => r,
        Err(e) => return fail(format!("{}: {e}", rows.display())),
    };
    let drawn = sweep::charts(&spec, &rows);
    let stem = out.with_extension("");
    for d in &drawn {
        if let Ok(svg) = &d.svg {
            let name = d.id.trim_start_matches("chart-");
            let svg_path = PathBuf::from(format!("{}-{name}.svg", stem.display()));
            if let Err(e) = write_file(&svg_path, svg) {
                return fail(e);
            }
        }
    }
    if let Err(e) = write_file(out, &sweep::sweep_page(&spec, &rows, &drawn)) {
        return fail(e);
    }
    ExitCode::SUCCESS
}

/// Runs a subcommand.
fn run_command(command: Command) -> ExitCode {
    match command {
        Command::Compare {
            base,
            new,
            tolerance,
            html,
            allow_mismatch,
        } => run_compare(&base, &new, &tolerance, html.as_deref(), allow_mismatch),
        Command::Figures => list_figures(),
        Command::Render { report, html: out } => {
            let page = json::read(&report).map(|(r, _)| html::report_page(&r));
            match page.and_then(|p| write_file(&out, &p)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("arena-bot render: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Sweep {
            rows,
            html: out,
            title,
            x,
            x_label,
            series,
            chart,
            target,
            log_x,
            note,
        } => {
            let spec = SweepSpec {
                title,
                x,
                x_label,
                series,
                log_x,
                notes: note,
                ..SweepSpec::default()
            };
            run_sweep(&rows, &out, spec, &chart, &target)
        }
    }
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
    let mut cli = Cli::parse();
    if let Some(command) = cli.command.take() {
        return run_command(command);
    }
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
    let max_delay = netem::MAX_DELAY.as_millis() as u64;
    if cli.latency_ms > max_delay || cli.jitter_ms > max_delay {
        eprintln!("arena-bot: --latency-ms and --jitter-ms must be at most {max_delay}");
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
    let metrics_url = match cli.metrics_url.as_deref() {
        Some("off") => None,
        Some(url) => match scrape::split_http_url(url) {
            Ok(_) => Some(url.to_owned()),
            Err(e) => {
                eprintln!("arena-bot: --metrics-url {e}");
                return ExitCode::from(2);
            }
        },
        None => scrape::metrics_url_for(&cli.url),
    };
    let room_options = match room_options::parse(&cli.room_option) {
        Ok(o) => o,
        Err(why) => {
            eprintln!("arena-bot: {why}");
            return ExitCode::from(2);
        }
    };
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
        game: cli.game,
        url: cli.url,
        bots: cli.bots,
        duration: Duration::from_secs_f64(cli.duration),
        ramp: Duration::from_secs_f64(cli.ramp),
        churn_per_min: cli.churn,
        room: cli.room,
        room_options,
        behavior: cli.behavior,
        seed: cli.seed,
        progress: (cli.progress > 0.0).then(|| Duration::from_secs_f64(cli.progress)),
        stalled: cli.stall,
        observers: cli.observers,
        transport: cli.transport,
        poll_interval: Duration::from_millis(cli.poll_interval_ms),
        tickets,
        metrics_url,
        network: netem::Delay {
            latency: Duration::from_millis(cli.latency_ms),
            jitter: Duration::from_millis(cli.jitter_ms),
        },
        matchmakers: cli.matchmaker,
        rejoin: cli.rejoin,
    };
    let thresholds = Thresholds {
        max_p99_rtt_ms: cli.max_p99_rtt_ms,
        max_p99_input_ack_ms: cli.max_p99_input_ack_ms,
        max_unexpected_disconnects: cli.max_unexpected_disconnects,
        min_snapshot_rate: cli.min_snapshot_rate,
    };
    let (report, verdict) = runtime.block_on(async {
        let mut report = run_fleet(spec).await;
        report.settings.threads = cli.threads;
        let verdict = judge(&mut report, &thresholds).await;
        (report, verdict)
    });
    print!("{}", report.human());
    if let Some(path) = cli.json
        && let Err(e) = json::write(&report, &path)
    {
        eprintln!("arena-bot: {e}");
        return ExitCode::from(1);
    }
    if let Some(path) = cli.html
        && let Err(e) = write_file(&path, &html::report_page(&report))
    {
        eprintln!("arena-bot: {e}");
        return ExitCode::from(1);
    }
    match verdict {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("arena-bot: FAIL: {why}");
            ExitCode::from(1)
        }
    }
}
