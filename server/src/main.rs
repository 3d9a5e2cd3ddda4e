//! `arena-server`: run an Arena game server.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;

use arena_server::Config;
use arena_server::ticket::{Claims, MIN_SECRET_LEN, TicketAuthority, unix_now};
use arena_shared::ticket::SPECTATOR_NAME;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// An authoritative multiplayer arena server over WebSocket.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Address to listen on (overrides the config file). Port 0 picks a free port.
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// TOML configuration file; keys left out keep the defaults of assets/server.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Simulation ticks per second (overrides the config file).
    #[arg(long)]
    tick_rate: Option<u16>,
    /// Snapshots per second, a divisor of the tick rate; 0 = one per tick (overrides the
    /// config file).
    #[arg(long)]
    snapshot_rate: Option<u16>,
    /// Players per room (overrides the config file).
    #[arg(long)]
    max_players: Option<usize>,
    /// Send every player every entity in full each snapshot: no deltas, no view box. The
    /// baseline to compare the netcode against.
    #[arg(long)]
    full_snapshots: bool,
    /// Also serve `GET /echo`: an echo WebSocket through Arena's frame layer, with a 16 MiB
    /// message limit, for the Autobahn|Testsuite. Off by default.
    #[arg(long)]
    echo: bool,
    /// Join the fleet whose directory is this Redis (`redis://host:port`): register this
    /// process and its rooms there (overrides the config file's `fleet_url`).
    #[arg(long, value_name = "REDIS_URL")]
    fleet: Option<String>,
    /// The WebSocket URL clients reach this process on, as the fleet lists it (default:
    /// `ws://<bound address>/ws`).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// This process's id in the fleet (default: the Agones GameServer's name under
    /// `--agones`, else random).
    #[arg(long, value_name = "ID")]
    server_id: Option<String>,
    /// Run as an Agones GameServer, talking to the SDK server on localhost
    /// (`AGONES_SDK_GRPC_PORT`, default 9357); needs a build with the `agones` feature.
    #[arg(long)]
    agones: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print a join ticket signed with the configured ticket secret (`auth = "ticket"`): to
    /// play (`--name`), or to watch a room (`--spectate ROOM`).
    Ticket {
        /// The player's name (it replaces the name the client sends); spectator tickets
        /// default to "spectator".
        #[arg(long, required_unless_present = "spectate")]
        name: Option<String>,
        /// The room the ticket admits to; omit to let the player choose.
        #[arg(long, conflicts_with = "spectate")]
        room: Option<String>,
        /// Issue a spectator ticket: it grants watching ROOM (`/ws?spectate=ROOM`, the state
        /// endpoint), not playing.
        #[arg(long, value_name = "ROOM")]
        spectate: Option<String>,
        /// Seconds the ticket stays valid (at most the config's max_ticket_ttl_s).
        #[arg(long, default_value_t = 60)]
        ttl: u64,
        /// The fleet server id that alone accepts it (a server in a fleet accepts only
        /// tickets naming it).
        #[arg(long, value_name = "ID")]
        server: Option<String>,
    },
    /// Re-simulate a replay at full speed and check every recorded state hash; exit 0 only
    /// when it verifies. With `--at TICK`, print the state after that tick as JSON instead.
    Replay {
        /// The replay file.
        file: std::path::PathBuf,
        /// Print every replicated entity after this tick as JSON (no hash checks).
        #[arg(long)]
        at: Option<u64>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let config = match load_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("arena-server: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Cmd::Replay { file, at }) = &cli.command {
        return match at {
            Some(tick) => replay_at(file, *tick),
            None => replay(file),
        };
    }
    if let Some(Cmd::Ticket {
        name,
        room,
        spectate,
        ttl,
        server,
    }) = cli.command
    {
        let claims = match spectate {
            Some(watched) => Claims {
                name: name.unwrap_or_else(|| SPECTATOR_NAME.into()),
                server,
                ..Claims::spectator(watched, 0, 0)
            },
            None => Claims {
                server,
                ..Claims::player(name.unwrap_or_default(), room, 0, 0)
            },
        };
        return issue_ticket(&config, claims, ttl);
    }
    let listener = match TcpListener::bind(config.bind) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("arena-server: cannot bind {}: {e}", config.bind);
            return ExitCode::from(1);
        }
    };
    let result = actix_rt::System::new().block_on(async move {
        let addr = listener.local_addr()?;
        // The one line on stdout: scripts and tests wait for it to learn the real port.
        println!("listening on http://{addr}");
        arena_server::run(listener, config, shutdown_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arena-server: {e}");
            ExitCode::from(1)
        }
    }
}

/// Prints a ticket for `claims`, valid `ttl` seconds from now with a random nonce.
fn issue_ticket(config: &Config, mut claims: Claims, ttl: u64) -> ExitCode {
    if config.ticket_secret.len() < MIN_SECRET_LEN {
        eprintln!(
            "arena-server: set ticket_secret (or ARENA_TICKET_SECRET) to at least {MIN_SECRET_LEN} bytes"
        );
        return ExitCode::from(2);
    }
    if ttl == 0 || ttl > config.max_ticket_ttl_s {
        eprintln!(
            "arena-server: --ttl must be 1..={} (max_ticket_ttl_s)",
            config.max_ticket_ttl_s
        );
        return ExitCode::from(2);
    }
    if let Err(why) = arena_server::text::player_name(&claims.name) {
        eprintln!("arena-server: --name: {why}");
        return ExitCode::from(2);
    }
    if let Some(Err(why)) = claims.room.as_deref().map(arena_server::text::room_name) {
        let flag = if claims.spectate {
            "--spectate"
        } else {
            "--room"
        };
        eprintln!("arena-server: {flag}: {why}");
        return ExitCode::from(2);
    }
    let authority =
        TicketAuthority::new(config.ticket_secret.as_bytes(), 1, config.max_ticket_ttl_s);
    claims.expires = unix_now() + ttl;
    claims.nonce = rand::random();
    println!("{}", authority.issue(&claims));
    ExitCode::SUCCESS
}

fn load_config(cli: &Cli) -> Result<Config, arena_server::config::ConfigError> {
    let mut config = match &cli.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(bind) = cli.bind {
        config.bind = bind;
    }
    if let Some(rate) = cli.tick_rate {
        config.tick_rate = rate;
    }
    if let Some(rate) = cli.snapshot_rate {
        config.snapshot_rate = rate;
    }
    if let Some(max) = cli.max_players {
        config.max_players = max;
    }
    config.full_snapshots |= cli.full_snapshots;
    config.echo |= cli.echo;
    if let Some(url) = &cli.fleet {
        config.fleet_url = url.clone();
    }
    if let Some(url) = &cli.public_url {
        config.public_url = url.clone();
    }
    if let Some(id) = &cli.server_id {
        config.server_id = id.clone();
    }
    config.agones |= cli.agones;
    config.apply_env();
    config.validate()?;
    Ok(config)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `arena-server replay FILE --at TICK`: the state after that tick as JSON on stdout.
fn replay_at(file: &std::path::Path, tick: u64) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("arena-server: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let state = std::panic::catch_unwind(|| arena_server::games::replay_state_json(&bytes, tick));
    match state {
        Ok(Ok(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("arena-server: {}: {e}", file.display());
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "arena-server: {}: the game panicked before tick {tick}",
                file.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// `arena-server replay FILE`: one line, and exit 0 only when the replay verifies.
fn replay(file: &std::path::Path) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("arena-server: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    // A replay of a room whose game panicked panics again at the same tick: say so, like any
    // other outcome, instead of dying with it.
    let verified = std::panic::catch_unwind(|| arena_server::games::verify_replay(&bytes));
    let verified = match verified {
        Ok(v) => v,
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "non-text panic".into());
            println!("{}: the game panicked again: {why}", file.display());
            return ExitCode::FAILURE;
        }
    };
    match verified {
        Ok((game, v)) if v.unread > 0 => {
            println!(
                "{}: {game}, {} ticks verified ({} state hashes), then {} bytes that are not a \
                 whole record: cut short or damaged",
                file.display(),
                v.ticks,
                v.hashes,
                v.unread
            );
            ExitCode::FAILURE
        }
        Ok((game, v)) => {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{}: {game}, {} ticks verified ({} state hashes, {} keyframes) in {secs:.3} s: \
                 {:.0} ticks/s",
                file.display(),
                v.ticks,
                v.hashes,
                v.keyframes,
                v.ticks as f64 / secs.max(1e-9)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}: does not verify: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}
