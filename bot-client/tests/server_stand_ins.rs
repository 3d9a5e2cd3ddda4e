//! The bots against tiny stand-in servers on `127.0.0.1:0`, over real TCP: what the bots say
//! when the server refuses them at the HTTP level, the tickets and room options they present,
//! the game endpoint they ask for, and one bot's play against a room of one, for each game.

use std::sync::Arc;
use std::time::Duration;

use arena_bot::Behavior;
use arena_bot::bot::{BotOutcome, BotSpec, run_bot};
use arena_bot::connection::{MAX_REASON_CHARS, http_reason};
use arena_bot::live::Live;
use arena_bot::netem::Delay;
use arena_bot::observe::{ObserverOutcome, Transport, run_observer};
use arena_bot::ticket::Minter;
use arena_bot::{ClientError, Connection};
use arena_shared::protocol::{self, CLIENT_DECODE_LIMIT, decode_client, encode};
use arena_shared::shooter::{
    ClientMsg, Entity, EntityKind, GameEvent, Map, RoomEvent, Rules, Settings, World,
};
use arena_shared::ticket::{self, Claims};
use arena_shared::tron::{self, Tron};
use arena_shared::{EntityId, Game, RoomOptions};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::Request;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const SECRET: &[u8] = b"an-arena-test-secret-of-32-bytes!!";
const WAIT: Duration = Duration::from_secs(10);
const REASON: &str = "too many connections from your address (limit 256)";

async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    (listener, addr)
}

/// Reads one request head (up to the blank line) from `stream`.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut byte))
            .await
            .expect("a request in time")
            .expect("read");
        assert!(n == 1, "the client closed mid-request: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("an ASCII request head")
}

/// Answers on `stream` with `status` and a plain-text `body`, in one write.
async fn answer(stream: &mut TcpStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.expect("write");
}

/// The ticket of a request head: from `Authorization: Bearer`, or the `ticket` query parameter.
fn ticket_in(head: &str) -> Claims {
    let bearer = head
        .lines()
        .find_map(|l| l.strip_prefix("Authorization: Bearer "));
    let query = head
        .lines()
        .next()
        .and_then(|l| l.split_once("&ticket="))
        .and_then(|(_, rest)| rest.split([' ', '&']).next());
    let ticket = bearer.or(query).expect("a ticket in the request");
    ticket::verify(SECRET, ticket).expect("a ticket signed with the secret")
}

#[tokio::test]
async fn an_http_refusal_of_the_upgrade_is_shown_with_the_servers_reason() {
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_head(&mut stream).await;
        answer(&mut stream, "429 Too Many Requests", REASON).await;
    });
    let result = Connection::<World>::connect(&format!("ws://{addr}/ws")).await;
    let Err(e @ ClientError::Connect(_)) = result else {
        panic!("expected a refused connect");
    };
    let text = e.to_string();
    assert!(text.contains("429 Too Many Requests"), "{text}");
    assert!(text.contains(REASON), "{text}");
    server.await.expect("stand-in server");
}

#[test]
fn a_refusal_body_is_quoted_as_one_bounded_line() {
    assert_eq!(http_reason(b"  server full\r\n"), "server full");
    assert_eq!(http_reason(b"a\x1b[31mb\nc"), "a [31mb c");
    assert_eq!(http_reason(b"bad \xff utf-8"), "bad \u{fffd} utf-8");
    let long = http_reason("é".repeat(10_000).as_bytes());
    assert_eq!(long.chars().count(), MAX_REASON_CHARS + 1);
    assert!(long.ends_with('…'));
    assert_eq!(
        http_reason(&[b'x'; MAX_REASON_CHARS]).len(),
        MAX_REASON_CHARS
    );
}

#[tokio::test]
async fn a_bot_sends_its_own_join_ticket_and_room_options_in_hello() {
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut path = String::new();
        // The result type is tungstenite's callback signature, not this test's to shrink.
        #[allow(clippy::result_large_err)]
        let note_path = |request: &Request, response| {
            path = request.uri().to_string();
            Ok(response)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(stream, note_path)
            .await
            .expect("upgrade");
        let hello: ClientMsg = match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                decode_client(&bytes, CLIENT_DECODE_LIMIT).expect("a client message")
            }
            other => panic!("expected Hello, got {other:?}"),
        };
        (path, hello)
    });
    let now = Instant::now();
    let options = RoomOptions {
        tick_rate: Some(60),
        ..RoomOptions::default()
    };
    let spec = BotSpec {
        url: format!("ws://{addr}/ws/shooter"),
        index: 7,
        room: Some("duel".into()),
        room_options: Some(options.clone()),
        behavior: Behavior::Wander,
        start_at: now,
        end_at: now + Duration::from_secs(2),
        churn_per_s: 0.0,
        seed: 1,
        tickets: Some(Minter::new(SECRET, 60)),
        network: Delay::default(),
        matchmakers: Vec::new(),
        rejoin: false,
    };
    // The stand-in never welcomes the bot: its run fails, after sending Hello.
    let outcome = run_bot::<World>(spec, now, Arc::new(Live::new())).await;
    assert!(!outcome.connected);
    let (path, hello) = server.await.expect("stand-in server");
    assert_eq!(path, "/ws/shooter");
    let ClientMsg::Hello {
        name,
        ticket,
        options: sent,
        ..
    } = hello
    else {
        panic!("the first message is not Hello");
    };
    assert_eq!(sent, Some(options));
    let claims = ticket::verify(SECRET, &ticket.expect("a ticket")).expect("signed");
    assert_eq!(claims.name, name);
    assert_eq!(
        (
            claims.name.as_str(),
            claims.room.as_deref(),
            claims.spectate
        ),
        ("bot-7", Some("duel"), false)
    );
}

/// A stand-in that answers the observer's wait for the room with 200, then refuses its next
/// request with `status` and `body`; the server task returns both request heads.
async fn room_then_refusal(
    status: &'static str,
    body: &'static str,
) -> (String, tokio::task::JoinHandle<(String, String)>) {
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let waited = read_head(&mut stream).await;
        answer(&mut stream, "200 OK", "{}").await;
        let (mut stream, _) = listener.accept().await.expect("accept");
        let refused = read_head(&mut stream).await;
        answer(&mut stream, status, body).await;
        (waited, refused)
    });
    (addr, server)
}

/// One ticketed shooter observer of room `duel` on `transport`, for at most 5 s.
async fn observe(transport: Transport, addr: String, poll_interval: Duration) -> ObserverOutcome {
    let now = Instant::now();
    run_observer::<World>(
        transport,
        format!("ws://{addr}/ws/shooter"),
        "duel".into(),
        poll_interval,
        now,
        now + Duration::from_secs(5),
        Some(Minter::new(SECRET, 60)),
    )
    .await
}

#[tokio::test]
async fn a_websocket_observer_presents_a_spectator_ticket_and_reports_a_refusal() {
    // The wait for the room (a state request), then the spectator upgrade, refused.
    let (addr, server) =
        room_then_refusal("403 Forbidden", "join ticket refused: ticket expired").await;
    let outcome = observe(Transport::Ws, addr, Duration::from_millis(100)).await;
    let failure = outcome.failure.expect("the upgrade was refused");
    assert!(
        failure.contains("403 Forbidden") && failure.contains("ticket expired"),
        "{failure}"
    );
    let (state, upgrade) = server.await.expect("stand-in server");
    assert!(
        upgrade.starts_with("GET /ws/shooter?spectate=duel&ticket=v3."),
        "{upgrade}"
    );
    for head in [&state, &upgrade] {
        let claims = ticket_in(head);
        assert!(claims.spectate);
        assert_eq!(claims.room.as_deref(), Some("duel"));
    }
}

#[tokio::test]
async fn a_polling_observer_sends_a_bearer_ticket_and_reports_a_refusal() {
    // The wait for the room, then the first poll, refused.
    let (addr, server) =
        room_then_refusal("401 Unauthorized", "this ticket is for another room").await;
    let outcome = observe(Transport::Poll, addr, Duration::from_millis(10)).await;
    let failure = outcome.failure.expect("the poll was refused");
    assert!(
        failure.contains("401 Unauthorized") && failure.contains("another room"),
        "{failure}"
    );
    let (waited, polled) = server.await.expect("stand-in server");
    assert!(polled.starts_with("GET /api/rooms/duel/state "), "{polled}");
    // One ticket serves every request of a poller.
    assert_eq!(ticket_in(&waited), ticket_in(&polled));
    assert!(ticket_in(&polled).spectate);
}

#[tokio::test]
async fn observers_without_a_minter_send_no_ticket_and_stop_at_a_refusal() {
    let (listener, addr) = listen().await;
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    // Refuses every request, and keeps them all until told to stop.
    let server = tokio::spawn(async move {
        let mut heads = Vec::new();
        loop {
            let (mut stream, _) = tokio::select! {
                accepted = listener.accept() => accepted.expect("accept"),
                _ = &mut stopped => return heads,
            };
            heads.push(read_head(&mut stream).await);
            answer(
                &mut stream,
                "401 Unauthorized",
                "this server requires a join ticket",
            )
            .await;
        }
    });
    let now = Instant::now();
    let outcome = run_observer::<World>(
        Transport::Poll,
        format!("ws://{addr}/ws/shooter"),
        "duel".into(),
        Duration::from_millis(10),
        now,
        now + Duration::from_secs(5),
        None,
    )
    .await;
    let failure = outcome.failure.expect("refused");
    assert!(failure.contains("requires a join ticket"), "{failure}");
    let _ = stop.send(());
    let heads = server.await.expect("stand-in server");
    // Asked once: a refusal is not a room still starting, to be retried until it appears.
    assert_eq!(
        heads.len(),
        1,
        "asked again after a refusal: {:?}",
        heads.last()
    );
    assert!(!heads[0].contains("Authorization"), "{}", heads[0]);
}

/// A shooter player standing still at `pos`.
fn player(id: EntityId, pos: glam::Vec2) -> Entity {
    Entity {
        id,
        pos,
        vel: glam::Vec2::ZERO,
        kind: EntityKind::Player {
            aim: 0,
            health: 100,
            score: 0,
            deaths: 0,
            alive: true,
        },
    }
}

/// A living tron cycle facing east in cell `(x, y)` of the default grid.
fn cycle(id: EntityId, (x, y): (f32, f32)) -> tron::Entity {
    let cell = tron::Settings::default().cell;
    tron::Entity {
        id,
        pos: glam::Vec2::new((x + 0.5) * cell, (y + 0.5) * cell),
        kind: tron::EntityKind::Cycle {
            heading: 1,
            alive: true,
            score: 0,
            phase: 0,
        },
    }
}

/// What the playing stand-in saw of its one bot.
struct Played<G: Game> {
    path: String,
    inputs: Vec<protocol::Input<G::Input>>,
    /// When each input arrived.
    arrived: Vec<Instant>,
    /// When the snapshot of each tick (from 1) was sent.
    sent: Vec<Instant>,
    pings: usize,
    left: bool,
}

/// A room of game `G` with one bot in it: welcomes the first client with `settings`, sends it
/// `view` as a complete snapshot every tick (the first carrying `events`), answers its pings,
/// and closes normally when it leaves. The bot is entity 1.
async fn one_player_room<G: Game>(
    listener: TcpListener,
    broken: bool,
    settings: G::Settings,
    view: Vec<G::Entity>,
    mut events: Vec<(u64, protocol::RoomEvent<G::Event>)>,
) -> Played<G> {
    type Msg<G> =
        protocol::ServerMsg<<G as Game>::Settings, <G as Game>::Entity, <G as Game>::Event>;
    let (stream, _) = listener.accept().await.expect("accept");
    let mut path = String::new();
    #[allow(clippy::result_large_err)]
    let note_path = |request: &Request, response| {
        path = request.uri().to_string();
        Ok(response)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(stream, note_path)
        .await
        .expect("upgrade");
    let send = |msg: &Msg<G>| Message::Binary(encode(msg).expect("encodes").into());
    let decode = |bytes: &[u8]| -> protocol::ClientMsg<G::Input> {
        decode_client(bytes, CLIENT_DECODE_LIMIT).expect("a message of the game")
    };
    let Some(Ok(Message::Binary(hello))) = ws.next().await else {
        panic!("expected Hello");
    };
    let protocol::ClientMsg::Hello { name, .. } = decode(&hello) else {
        panic!("the first message is not Hello");
    };
    let me = EntityId(1);
    let welcome = Msg::<G>::Welcome {
        player_id: me,
        room: "duel".into(),
        tick_rate: 30,
        snapshot_rate: 30,
        view: None,
        settings,
        players: vec![(me, name)],
        resume_token: "token".into(),
        last_input_seq: 0,
    };
    ws.send(send(&welcome)).await.expect("send Welcome");
    let mut played = Played {
        path,
        inputs: Vec::new(),
        arrived: Vec::new(),
        sent: Vec::new(),
        pings: 0,
        left: false,
    };
    let mut tick = 0;
    let mut timer = tokio::time::interval(Duration::from_millis(33));
    loop {
        tokio::select! {
            _ = timer.tick() => {
                tick += 1;
                // Tick 10 is a delta against a view no client holds: a desync to recover from.
                let baseline = if tick == 10 && broken { 999_999 } else { 0 };
                let snapshot = protocol::Snapshot {
                    tick,
                    baseline,
                    last_input_seq: played.inputs.last().map_or(0, |i| i.seq),
                    created: view.clone(),
                    events: std::mem::take(&mut events),
                    ..protocol::Snapshot::default()
                };
                ws.send(send(&Msg::<G>::Snapshot(snapshot))).await.expect("send Snapshot");
                played.sent.push(Instant::now());
            }
            msg = ws.next() => {
                let Some(Ok(Message::Binary(bytes))) = msg else {
                    return played;
                };
                match decode(&bytes) {
                    protocol::ClientMsg::Input(input) => {
                        played.inputs.push(input);
                        played.arrived.push(Instant::now());
                    }
                    protocol::ClientMsg::Chat { .. } => {}
                    protocol::ClientMsg::Ping { client_time } => {
                        played.pings += 1;
                        let pong = Msg::<G>::Pong { client_time, server_tick: tick };
                        ws.send(send(&pong)).await.expect("send Pong");
                    }
                    protocol::ClientMsg::Leave => {
                        played.left = true;
                        let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
                        ws.close(Some(bye)).await.expect("close");
                        // Until the bot's answer to the close.
                        while let Some(Ok(_)) = ws.next().await {}
                        return played;
                    }
                    protocol::ClientMsg::Hello { .. } => panic!("a second Hello"),
                    protocol::ClientMsg::Playback(_) => panic!("a player steering a replay"),
                }
            }
        }
    }
}

/// One `G` bot (chasing) for 1.5 s against `room`, on `/ws/GAME`; what both sides saw.
async fn play_one<G: Game>(
    room: impl FnOnce(TcpListener) -> tokio::task::JoinHandle<Played<G>>,
) -> (BotOutcome, Played<G>) {
    play_one_over(Delay::default(), room).await
}

/// [`play_one`] over a simulated network.
async fn play_one_over<G: Game>(
    network: Delay,
    room: impl FnOnce(TcpListener) -> tokio::task::JoinHandle<Played<G>>,
) -> (BotOutcome, Played<G>) {
    let (listener, addr) = listen().await;
    let server = room(listener);
    let now = Instant::now();
    let spec = BotSpec {
        url: format!("ws://{addr}/ws/{}", G::NAME),
        index: 0,
        room: Some("duel".into()),
        room_options: None,
        behavior: Behavior::Chase,
        start_at: now,
        end_at: now + Duration::from_millis(1500),
        churn_per_s: 0.0,
        seed: 1,
        tickets: None,
        network,
        matchmakers: Vec::new(),
        rejoin: false,
    };
    let outcome = run_bot::<G>(spec, now, Arc::new(Live::new())).await;
    let played = tokio::time::timeout(WAIT, server)
        .await
        .expect("the stand-in ends")
        .expect("stand-in server");
    assert_eq!(played.path, format!("/ws/{}", G::NAME));
    assert!(outcome.connected && outcome.completed, "{outcome:?}");
    assert_eq!(outcome.protocol_error, None);
    assert!(played.left);
    assert!(outcome.snapshots >= 20, "{} snapshots", outcome.snapshots);
    assert!(played.pings >= 1 && !outcome.rtt_us.is_empty());
    assert!(outcome.input_ack_us.len() >= 10);
    // One input per snapshot at 30/30 Hz, numbered from 1 without gaps, each acknowledging a
    // snapshot the bot holds.
    assert!(played.inputs.len() >= 20, "{} inputs", played.inputs.len());
    for (n, input) in played.inputs.iter().enumerate() {
        assert_eq!(input.seq, n as u32 + 1);
        assert!(input.ack >= 1 || outcome.desyncs > 0);
    }
    (outcome, played)
}

#[tokio::test]
async fn a_shooter_bot_plays_counts_every_event_and_leaves_cleanly() {
    let (me, other) = (EntityId(1), EntityId(2));
    let events = vec![
        (
            1,
            RoomEvent::Joined {
                player: other,
                name: "ann".into(),
            },
        ),
        (
            1,
            RoomEvent::Chat {
                from: other,
                text: "hi".into(),
            },
        ),
        (
            1,
            RoomEvent::Game(GameEvent::Hit {
                shooter: other,
                victim: me,
                damage: 10,
                health: 90,
                at: glam::Vec2::ZERO,
            }),
        ),
        (
            1,
            RoomEvent::Game(GameEvent::Hit {
                shooter: me,
                victim: other,
                damage: 10,
                health: 90,
                at: glam::Vec2::new(600.0, 400.0),
            }),
        ),
    ];
    let settings = Settings {
        rules: Rules::default(),
        map: Map::default_map(),
    };
    let shot = Entity {
        id: EntityId(3),
        pos: glam::Vec2::new(420.0, 400.0),
        vel: glam::Vec2::new(720.0, 0.0),
        kind: EntityKind::Projectile { owner: me },
    };
    let view = vec![
        player(me, glam::Vec2::new(400.0, 400.0)),
        player(other, glam::Vec2::new(600.0, 400.0)),
        shot,
    ];
    let (outcome, played) = play_one::<World>(|listener| {
        tokio::spawn(one_player_room::<World>(
            listener, false, settings, view, events,
        ))
    })
    .await;
    assert_eq!(outcome.desyncs, 0);
    // Joins and chat are room events now, the hits the game's: all four are counted.
    assert_eq!(outcome.events, 4);
    // Its projectile, in every snapshot, is one shot; one hit was its own, one on it.
    assert_eq!((outcome.shots, outcome.hits), (1, 1));
    // A chaser 200 units from its target walks at it and fires.
    for input in &played.inputs {
        assert_eq!(input.controls.move_dir, glam::Vec2::X);
        assert!(input.controls.fire);
    }
}

#[tokio::test]
async fn a_bot_over_a_slow_network_waits_both_ways_and_says_how_far_behind_it_draws() {
    let me = EntityId(1);
    let settings = Settings {
        rules: Rules::default(),
        map: Map::default_map(),
    };
    let view = vec![
        player(me, glam::Vec2::new(400.0, 400.0)),
        player(EntityId(2), glam::Vec2::new(600.0, 400.0)),
    ];
    let one_way = Duration::from_millis(60);
    let network = Delay {
        latency: one_way,
        jitter: Duration::from_millis(5),
    };
    let (outcome, played) = play_one_over::<World>(network, |listener| {
        tokio::spawn(one_player_room::<World>(
            listener,
            false,
            settings,
            view,
            Vec::new(),
        ))
    })
    .await;
    // Each input left after the snapshot it acknowledges arrived, each way at least the
    // latency less the jitter.
    for (input, arrived) in played.inputs.iter().zip(&played.arrived) {
        let sent = played.sent[input.ack as usize - 1];
        assert!(
            *arrived - sent >= 2 * (one_way - Duration::from_millis(5)),
            "input {} acknowledging tick {} came back {:?} after it was sent",
            input.seq,
            input.ack,
            *arrived - sent
        );
        // 30 Hz snapshots of a 30 Hz tick: the browser draws one tick behind the newest.
        if input.seq > 1 {
            assert_eq!(input.behind, 64, "input {}", input.seq);
        }
    }
    let rtt_ms = outcome.rtt_us.value_at_quantile(0.5) as f64 / 1000.0;
    assert!(rtt_ms >= 110.0, "ping round trip {rtt_ms} ms");
}

#[tokio::test]
async fn a_bot_whose_snapshot_did_not_apply_says_so_at_once() {
    let me = EntityId(1);
    let settings = Settings {
        rules: Rules::default(),
        map: Map::default_map(),
    };
    let view = vec![player(me, glam::Vec2::new(400.0, 400.0))];
    let (outcome, played) = play_one::<World>(|listener| {
        tokio::spawn(one_player_room::<World>(
            listener,
            true,
            settings,
            view,
            Vec::new(),
        ))
    })
    .await;
    assert_eq!(outcome.desyncs, 1);
    // The inputs sent on the broken snapshot acknowledge nothing, so the server's next
    // snapshot is complete; the bot holds its course meanwhile.
    let after = played
        .inputs
        .iter()
        .skip_while(|i| i.ack < 9)
        .find(|i| i.ack != 9)
        .expect("inputs after the broken snapshot");
    assert_eq!(after.ack, 0, "{after:?}");
    assert!(played.inputs.iter().any(|i| i.ack > 10), "and play goes on");
}

#[tokio::test]
async fn a_tron_bot_plays_on_its_own_endpoint() {
    let (me, other) = (EntityId(1), EntityId(2));
    let events = vec![
        (
            1,
            protocol::RoomEvent::Joined {
                player: other,
                name: "ann".into(),
            },
        ),
        (1, protocol::RoomEvent::Left { player: other }),
        (
            1,
            protocol::RoomEvent::Game(tron::TronEvent::Crashed {
                player: other,
                into: None,
            }),
        ),
    ];
    let view = vec![cycle(me, (10.0, 10.0)), cycle(other, (30.0, 10.0))];
    let (outcome, _) = play_one::<Tron>(|listener| {
        tokio::spawn(one_player_room::<Tron>(
            listener,
            false,
            tron::Settings::default(),
            view,
            events,
        ))
    })
    .await;
    assert_eq!(outcome.desyncs, 0);
    assert_eq!(outcome.events, 3);
}
