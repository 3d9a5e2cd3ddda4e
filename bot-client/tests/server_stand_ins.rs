//! The bots against tiny stand-in servers on `127.0.0.1:0`, over real TCP: what the bots say
//! when the server refuses them at the HTTP level, and the tickets they present.

use std::sync::Arc;
use std::time::Duration;

use arena_bot::bot::{BotSpec, run_bot};
use arena_bot::brain::Behavior;
use arena_bot::connection::{MAX_REASON_CHARS, http_reason};
use arena_bot::live::Live;
use arena_bot::observe::{ObserverOutcome, Transport, run_observer};
use arena_bot::ticket::Minter;
use arena_bot::{ClientError, Connection};
use arena_shared::protocol::{CLIENT_DECODE_LIMIT, ClientMsg, decode_client};
use arena_shared::ticket::{self, Claims};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

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
    let result = Connection::connect(&format!("ws://{addr}/ws")).await;
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
async fn a_bot_sends_its_own_join_ticket_in_hello() {
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(stream)
            .await
            .expect("upgrade");
        match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                decode_client(&bytes, CLIENT_DECODE_LIMIT).expect("a client message")
            }
            other => panic!("expected Hello, got {other:?}"),
        }
    });
    let now = Instant::now();
    let spec = BotSpec {
        url: format!("ws://{addr}/ws"),
        index: 7,
        room: Some("duel".into()),
        behavior: Behavior::Wander,
        start_at: now,
        end_at: now + Duration::from_secs(2),
        churn_per_s: 0.0,
        seed: 1,
        tickets: Some(Minter::new(SECRET, 60)),
    };
    // The stand-in never welcomes the bot: its run fails, after sending Hello.
    let outcome = run_bot(spec, now, Arc::new(Live::new())).await;
    assert!(!outcome.connected);
    let ClientMsg::Hello { name, ticket, .. } = server.await.expect("stand-in server") else {
        panic!("the first message is not Hello");
    };
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

/// One ticketed observer of room `duel` on `transport`, for at most 5 s.
async fn observe(transport: Transport, addr: String, poll_interval: Duration) -> ObserverOutcome {
    let now = Instant::now();
    run_observer(
        transport,
        addr,
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
        upgrade.starts_with("GET /ws?spectate=duel&ticket=v2."),
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
    let outcome = run_observer(
        Transport::Poll,
        addr,
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
