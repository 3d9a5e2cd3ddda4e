//! What browsers and observers use, over real sockets: the page, the `arena.json.v1`
//! subprotocol, spectators, and the polled state endpoint with its ETag.

mod common;

use arena_bot::Connection;
use arena_server::Config;
use arena_shared::protocol::{ClientMsg, ErrorCode, Input};
use arena_shared::{PROTOCOL_VERSION, ServerMsg};
use common::{TestServer, WAIT, close_code, config, http_request};
use futures_util::{SinkExt, StreamExt};
use glam::Vec2;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/ws{query}` offering `protocols`; returns the socket and the subprotocol chosen.
async fn open(server: &TestServer, query: &str, protocols: &str) -> (Ws, Option<String>) {
    let mut req = format!("ws://{}/ws{query}", server.addr)
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        protocols.parse().expect("header value"),
    );
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade");
    let chosen = resp
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (ws, chosen)
}

/// The next text message as JSON; the close frame (or end) as `Err`.
async fn next_json(ws: &mut Ws) -> Result<Value, Option<CloseFrame>> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time");
        match msg {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).expect("JSON")),
            Some(Ok(Message::Close(f))) => return Err(f),
            None | Some(Err(_)) => return Err(None),
            Some(Ok(_)) => {}
        }
    }
}

async fn next_of(ws: &mut Ws, variant: &str) -> Value {
    loop {
        let msg = next_json(ws).await.expect("connection open");
        if let Some(body) = msg.get(variant) {
            return body.clone();
        }
    }
}

#[tokio::test]
async fn the_page_and_its_script_are_served() {
    let server = TestServer::start(config());
    let (status, page) = server.http_get("/");
    assert_eq!(status, 200);
    assert!(
        page.contains("<canvas") && page.contains("/app.js"),
        "{page}"
    );
    let (status, script) = server.http_get("/app.js");
    assert_eq!(status, 200);
    assert!(script.contains("arena.json.v1"));
}

#[tokio::test]
async fn a_browser_plays_over_json_text_frames() {
    let server = TestServer::start(config());
    let (mut ws, chosen) = open(&server, "", "chat.v2, arena.json.v1").await;
    assert_eq!(chosen.as_deref(), Some("arena.json.v1"));
    let hello = json!({"Hello": {"protocol_version": PROTOCOL_VERSION, "name": "web",
        "room": "r", "ticket": null, "resume": null}});
    ws.send(Message::text(hello.to_string()))
        .await
        .expect("send");
    let welcome = next_of(&mut ws, "Welcome").await;
    let me = welcome["player_id"].as_u64().expect("player id");
    assert_eq!(welcome["room"], "r");
    assert_eq!(welcome["map"]["name"], "default");

    // Move right for a while: the player's x grows in the complete snapshots it receives.
    let x_of = |snap: &Value| {
        snap["created"]
            .as_array()
            .and_then(|es| es.iter().find(|e| e["id"].as_u64() == Some(me)))
            .and_then(|e| e["pos"][0].as_f64())
    };
    let first = next_of(&mut ws, "Snapshot").await;
    assert_eq!(first["baseline"], 0);
    let start = x_of(&first).expect("own player in view");
    let mut last = start;
    for seq in 1..=15 {
        let input = json!({"Input": {"seq": seq, "ack": 0, "move_dir": [1.0, 0.0],
            "aim": [1.0, 0.0], "fire": false}});
        ws.send(Message::text(input.to_string()))
            .await
            .expect("send");
        last = x_of(&next_of(&mut ws, "Snapshot").await).expect("own player");
    }
    assert!(last > start + 10.0, "moved right: {start} -> {last}");

    // A binary frame is not part of this subprotocol.
    ws.send(Message::binary(vec![1u8, 2, 3]))
        .await
        .expect("send");
    let closed = loop {
        if let Err(frame) = next_json(&mut ws).await {
            break frame;
        }
    };
    assert_eq!(close_code(&closed), Some(1003));
}

#[tokio::test]
async fn unknown_subprotocols_are_refused_at_the_handshake() {
    let server = TestServer::start(config());
    let (status, body) = http_request(
        server.addr,
        "GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: mqtt, arena.json.v9\r\n\r\n",
    );
    assert_eq!(status, 400);
    assert!(
        body.contains("mqtt, arena.json.v9") && body.contains("arena.json.v1"),
        "{body}"
    );
}

#[tokio::test]
async fn a_spectator_sees_the_whole_room_and_may_not_play() {
    let server = TestServer::start(Config {
        // Players far apart: a player's view box would not hold both; a spectator's does.
        map: common::map_file(
            "spectate",
            "name corridor\nsize 2400 400\nspawn 100 200\nspawn 2300 200\n",
        ),
        view_width: 1000.0,
        view_height: 1000.0,
        ..config()
    });
    let (_ann, ann) = server.player("ann", Some("s")).await;
    let (_bob, bob) = server.player("bob", Some("s")).await;

    let (mut ws, _) = open(&server, "?spectate=s", "arena.json.v1").await;
    let watching = next_of(&mut ws, "Spectating").await;
    assert_eq!(watching["room"], "s");
    assert!(watching["origin_unix_ms"].as_u64().is_some_and(|t| t > 0));
    let snap = next_of(&mut ws, "Snapshot").await;
    let ids: Vec<u64> = snap["created"]
        .as_array()
        .expect("entities")
        .iter()
        .filter_map(|e| e["id"].as_u64())
        .collect();
    for p in [ann.player_id, bob.player_id] {
        assert!(ids.contains(&u64::from(p.0)), "{ids:?} lacks {p}");
    }
    let rooms = server.rooms();
    assert_eq!(rooms[0]["spectators"], 1);

    // Spectators only watch.
    let input = json!({"Input": {"seq": 1, "ack": 0, "move_dir": [1.0, 0.0], "aim": [1.0, 0.0], "fire": true}});
    ws.send(Message::text(input.to_string()))
        .await
        .expect("send");
    let error = next_of(&mut ws, "Error").await;
    assert_eq!(error["code"], "UnexpectedMessage");
    let closed = loop {
        if let Err(frame) = next_json(&mut ws).await {
            break frame;
        }
    };
    assert_eq!(close_code(&closed), Some(1008));
}

#[tokio::test]
async fn spectating_a_room_that_does_not_exist_is_refused() {
    let server = TestServer::start(config());
    let mut conn = Connection::connect(&format!("ws://{}/ws?spectate=nowhere", server.addr))
        .await
        .expect("upgrade");
    let refused = conn
        .wait_for(WAIT, |m| match m {
            ServerMsg::Error { code, .. } => Some(*code),
            _ => None,
        })
        .await
        .expect("an error");
    assert_eq!(refused, ErrorCode::NoSuchRoom);
    let (status, _) = server.http_get("/ws?spectate=bad%20name");
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_state_endpoint_serves_json_with_an_etag() {
    // Two ticks a second, so a state stays current long enough to ask for it again.
    let server = TestServer::start(Config {
        tick_rate: 2,
        ..config()
    });
    let (mut player, welcome) = server.player("ann", Some("polled")).await;
    let input = Input {
        seq: 1,
        move_dir: Vec2::X,
        ..Input::default()
    };
    player.send(&ClientMsg::Input(input)).await.expect("send");

    let get = |extra: &str| {
        http_request(
            server.addr,
            &format!(
                "GET /api/rooms/polled/state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n"
            ),
        )
    };
    let head = |extra: &str| {
        let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
        use std::io::{Read, Write};
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        write!(
            stream,
            "GET /api/rooms/polled/state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n"
        )
        .expect("write");
        let mut raw = String::new();
        let _ = stream.read_to_string(&mut raw);
        raw
    };
    common::eventually("the room has ticked", || get("").0 == 200).await;
    let etag_of = |raw: &str| {
        raw.lines()
            .find_map(|l| {
                let (name, value) = l.split_once(": ")?;
                name.eq_ignore_ascii_case("etag").then(|| value.to_owned())
            })
            .expect("an ETag header")
    };
    let raw = head("");
    let mut etag = etag_of(&raw);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let state: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(state["room"], "polled");
    assert_eq!(state["tick_rate"], 2);
    assert_eq!(etag, format!("\"{}\"", state["tick"]));
    assert!(
        state["entities"]
            .as_array()
            .is_some_and(|es| es.iter().any(|e| e["id"] == welcome.player_id.0)),
        "{state}"
    );

    // Asking again with the ETag costs a 304 until the next tick.
    let mut saw_304 = false;
    for _ in 0..5 {
        let raw = head(&format!("If-None-Match: {etag}\r\n"));
        if raw.starts_with("HTTP/1.1 304") {
            saw_304 = true;
            break;
        }
        etag = etag_of(&raw); // a tick passed in between: ask for the new one
    }
    assert!(saw_304, "an unchanged state is answered 304");
    assert_eq!(get("").0, 200);
    let (status, _) = http_request(
        server.addr,
        "GET /api/rooms/none/state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 404);
}

#[tokio::test]
async fn observers_measure_push_and_polling_on_the_wire() {
    use arena_bot::fleet::{FleetSpec, run_fleet};
    use arena_bot::observe::Transport;
    use std::time::Duration;
    let server = TestServer::start(config());
    for transport in [Transport::Ws, Transport::WsJson, Transport::Poll] {
        let spec = FleetSpec {
            room: Some("watched".into()),
            observers: 3,
            transport,
            // Faster than the 30 Hz tick, so some polls find nothing new.
            poll_interval: Duration::from_millis(10),
            ..FleetSpec::simple(server.url(), 2, Duration::from_secs(2))
        };
        let report = run_fleet(spec).await;
        assert!(report.passed(), "{}", report.human());
        let o = report.observers.as_ref().expect("an observer report");
        assert_eq!(o.observers, 3);
        assert!(
            o.updates > 30 && o.update_latency_ms.samples >= o.updates,
            "{}",
            report.human()
        );
        assert!(o.bytes_sent > 0 && o.bytes_received > o.bytes_sent);
        match transport {
            Transport::Ws | Transport::WsJson => {
                assert!(o.per_observer_updates_per_s > 20.0, "{}", report.human())
            }
            Transport::Poll => assert!(o.not_modified > 0, "{}", report.human()),
        }
    }
}
