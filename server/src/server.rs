//! Starting and stopping the server: `run` takes an already-bound listener and a shutdown
//! future, so `main` and the integration tests start it the same way (tests on `127.0.0.1:0`).

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use actix::Actor;
use actix_web::{App, HttpServer, web};
use tokio::sync::watch;
use tracing::info;

use crate::fleet::{self, Fleet};
use crate::games::Games;
use crate::matchmaker::Matchmaker;
use crate::operations::config::{Auth, Config, ConfigError};
use crate::operations::metrics::Metrics;
use crate::operations::replays::ReplayStore;
use crate::operations::ticket::TicketAuthority;
use crate::rooms::lobby::Lobby;
use crate::rooms::messages::{Drain, ListRooms, Shutdown};
use crate::socket;
use crate::transport::http::{self, AppState};
use crate::transport::limits::ConnectionLimits;
use crate::transport::session::SessionDeps;

/// How often a drain checks whether the rooms are empty.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// A drain: asked for (SIGTERM or `POST /api/admin/drain`), then under way.
#[derive(Debug, Default)]
pub struct DrainState {
    /// Wakes the server to start draining (the admin call).
    pub requested: tokio::sync::Notify,
    /// Set once draining: `/readyz` answers 503 and the fleet lists the process as draining.
    pub draining: AtomicBool,
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration (or its map) is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Listening or serving failed.
    #[error("server I/O: {0}")]
    Io(#[from] std::io::Error),
    /// `--agones`, and no Agones SDK server to talk to.
    #[cfg(feature = "agones")]
    #[error(transparent)]
    Agones(#[from] crate::agones::AgonesError),
}

/// Serves Arena's own games ([`Games::builtin`]) on `listener` until `shutdown` resolves; see
/// [`run_with`].
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    config.validate()?;
    let games = Games::builtin(&config)?;
    run_with(listener, config, games, shutdown).await
}

/// Serves `games` on `listener` until `shutdown` resolves, then drains: new connections are
/// refused, every session is closed with 1001 "server shutting down", rooms close after their
/// current tick, and the call returns once connections are gone or `shutdown_timeout` passed.
/// Must run inside an actix system (`actix_rt::System`).
pub async fn run_with(
    listener: TcpListener,
    mut config: Config,
    games: Games,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    config.validate()?;
    // First: under Agones the GameServer's name is the default server id.
    #[cfg(feature = "agones")]
    let agones = crate::agones::Agones::join(&mut config).await?;
    // Resolved once: tickets, the fleet and `POST /api/matchmake` all name this process.
    if config.server_id.is_empty() {
        config.server_id = format!("arena-{:08x}", rand::random::<u32>());
    }
    if config.public_url.is_empty() {
        config.public_url = format!("ws://{}/ws", listener.local_addr()?);
    }
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::new());
    let catalog = Arc::new(games.catalog);
    let replays = (!config.replay_dir.as_os_str().is_empty())
        .then(|| {
            ReplayStore::start(
                &config.replay_dir,
                config.max_replay_bytes_per_room,
                config.max_replay_bytes,
            )
        })
        .transpose()?;
    let lobby = Lobby::new(config.clone(), catalog.clone(), metrics.clone(), replays).start();
    let (drain_tx, draining) = watch::channel(false);
    let drain = Arc::new(DrainState::default());
    let fleet = match config.fleet_url.as_str() {
        "" => None,
        url => {
            let (id, public_url) = (config.server_id.clone(), config.public_url.clone());
            let fleet = Fleet::new(url, id, public_url, config.fleet_ttl(), metrics.clone())
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
            info!(server = %fleet.id, url = %fleet.url, "joining the fleet");
            let fleet = Arc::new(fleet);
            let capacity = (
                (config.max_rooms * config.max_players).min(config.max_connections),
                config.max_rooms,
            );
            actix_rt::spawn(fleet::keep_registered(
                fleet.clone(),
                lobby.clone(),
                capacity,
                drain.clone(),
                draining.clone(),
            ));
            Some(fleet)
        }
    };
    // Matchmade seats come with a ticket whatever `auth` says; without a configured secret
    // this process signs its own with one that dies with it (no one else needs to check them).
    let secret = match config.ticket_secret.as_str() {
        "" => rand::random::<[u8; 32]>().to_vec(),
        given => given.as_bytes().to_vec(),
    };
    let authority = Arc::new(
        TicketAuthority::new(
            &secret,
            config.max_remembered_tickets,
            config.max_ticket_ttl_s,
        )
        .for_server(config.server_id.clone(), fleet.is_some()),
    );
    let tickets = (config.auth == Auth::Ticket).then(|| authority.clone());
    // Fleet peers seat each other's players only with the shared secret: a random one would
    // let no peer in.
    let forward_token =
        (!config.ticket_secret.is_empty()).then(|| Matchmaker::forward_token(&authority));
    if fleet.is_some() && forward_token.is_none() {
        tracing::warn!(
            "in a fleet without ticket_secret: POST /api/matchmake answers 503 until the fleet shares one"
        );
    }
    let matchmaker = Arc::new(Matchmaker::new(
        config.matchmake_per_ip_per_s,
        forward_token,
    ));
    let state = AppState {
        deps: SessionDeps {
            config: config.clone(),
            lobby: lobby.clone(),
            draining,
            tickets,
            matchmade: authority,
            metrics,
        },
        next_session: Arc::new(AtomicU64::new(1)),
        fleet,
        drain: drain.clone(),
        matchmaker,
        endpoints: Arc::new(games.endpoints),
        catalog,
        limits: ConnectionLimits::new(config.max_connections, config.max_connections_per_ip),
        spectator_limits: ConnectionLimits::new(
            config.max_connections,
            config.max_spectators_per_ip,
        ),
    };
    let workers = match config.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let echo = config.echo;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(|cfg| http::routes(cfg, echo))
    })
    .workers(workers)
    // Nagle on game traffic raised p99.9 RTT from ~10 ms to ~34 ms (shared/ACTIX-FACTS.md).
    .tcp_nodelay(true)
    .on_connect(socket::on_connect(config.socket_send_buffer))
    // Release the TCP connection as soon as a close handshake ends (default lingers 1 s).
    .client_disconnect_timeout(Duration::ZERO)
    // A connection that never sends its upgrade request is dropped (slowloris).
    .client_request_timeout(config.handshake_timeout())
    .shutdown_timeout(config.shutdown_timeout().as_secs().max(1))
    // Signals are ours: a plain actix stop would leave WebSocket clients without a close frame.
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    // Listening: Agones may hand the process out from now on.
    #[cfg(feature = "agones")]
    let agones = agones.map(|a| a.start(lobby.clone(), drain.clone(), drain_tx.subscribe()));
    let mut server = std::pin::pin!(server);
    tokio::select! {
        result = &mut server => return result.map_err(ServerError::from),
        () = shutdown => {}
        () = drain.requested.notified() => {}
    }
    // Draining: no new rooms or seats, the rooms play on until they are empty or the drain
    // timeout passes (resumes and spectators still come in).
    drain.draining.store(true, Ordering::Relaxed);
    let _ = lobby.send(Drain).await;
    let deadline = tokio::time::Instant::now() + config.drain_timeout();
    info!(
        timeout_s = config.drain_timeout_s,
        "draining: no new rooms or seats"
    );
    loop {
        let open = lobby.send(ListRooms).await.map_or(0, |r| r.len());
        if open == 0 || tokio::time::Instant::now() >= deadline {
            info!(rooms_left = open, "drain over");
            break;
        }
        tokio::select! {
            result = &mut server => return result.map_err(ServerError::from),
            () = tokio::time::sleep(DRAIN_POLL) => {}
        }
    }
    info!("shutting down: closing sessions and rooms");
    let _ = drain_tx.send(true);
    let _ = lobby.send(Shutdown).await;
    let stopped = handle.stop(true);
    // The server future is what processes the stop command: poll both together.
    match tokio::time::timeout(config.shutdown_timeout(), async {
        tokio::join!(stopped, &mut server).1
    })
    .await
    {
        Ok(result) => result?,
        Err(_) => tracing::warn!("drain deadline passed with connections still open; exiting"),
    }
    info!("stopped");
    #[cfg(feature = "agones")]
    if let Some(agones) = agones {
        agones.shutdown().await;
    }
    Ok(())
}
