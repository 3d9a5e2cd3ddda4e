//! What browsers and observers use, over real sockets: the page, the `arena.json.v1`
//! subprotocol, spectators, and the polled state endpoint with its ETag.

mod common;

use arena_server::Config;
use arena_shared::PROTOCOL_VERSION;
use arena_shared::protocol::ErrorCode;
use arena_shared::shooter::PlayerInput;
use arena_shared::shooter::ServerMsg;
use arena_shared::shooter::{ClientMsg, Input};
use common::Connection;
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
    assert_eq!(welcome["settings"]["map"]["name"], "default");

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
        let input = json!({"Input": {"seq": seq, "ack": 0, "behind": 0, "controls": {"move_dir": [1.0, 0.0],
            "aim": [1.0, 0.0], "fire": false}}});
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
    let input = json!({"Input": {"seq": 1, "ack": 0, "behind": 0,
        "controls": {"move_dir": [1.0, 0.0], "aim": [1.0, 0.0], "fire": true}}});
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
    // Two ticks a second: the ETags a request offers below stay ahead of the room for a while.
    let server = TestServer::start(Config {
        tick_rate: 2,
        ..config()
    });
    let (mut player, welcome) = server.player("ann", Some("polled")).await;
    let input = Input {
        seq: 1,
        controls: PlayerInput {
            move_dir: Vec2::X,
            ..PlayerInput::default()
        },
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
    let etag = etag_of(&raw);
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

    // Asking again with the ETag costs a 304 while the state is unchanged. However many ticks
    // pass before the request lands, one of the tags it offers is current (If-None-Match takes
    // a list; ticks only grow, and a hundred take fifty seconds here).
    let tick = state["tick"].as_u64().expect("tick");
    let tags: Vec<String> = (tick..=tick + 100).map(|t| format!("\"{t}\"")).collect();
    let raw = head(&format!("If-None-Match: {}\r\n", tags.join(", ")));
    assert!(raw.starts_with("HTTP/1.1 304"), "{raw}");
    assert!(
        tags.contains(&etag_of(&raw)),
        "the 304 names its tick: {raw}"
    );
    // A tag the state never had, or none, gets the state itself.
    let raw = head("If-None-Match: \"not-a-tick\"\r\n");
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
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
    let pushing = TestServer::start(config());
    // Ten ticks a second against a poll every 10 ms: most polls find nothing new.
    let polled = TestServer::start(Config {
        tick_rate: 10,
        ..config()
    });
    let skipped = |server: &TestServer| {
        server
            .metrics()
            .require("arena_skipped_snapshots_total", &[])
    };
    for (server, transport, wanted) in [
        (&pushing, Transport::Ws, 30),
        (&pushing, Transport::WsJson, 30),
        (&polled, Transport::Poll, 10),
    ] {
        // Fleets run until their observers together have `wanted` updates (and, polling, a
        // 304), however many fleets that takes this machine; each must pass on its own.
        let deadline = std::time::Instant::now() + 3 * WAIT;
        let (mut updates, mut not_modified, mut sent, mut received) = (0, 0, 0, 0);
        let mut last = String::new();
        while updates < wanted || (transport == Transport::Poll && not_modified == 0) {
            assert!(
                std::time::Instant::now() < deadline,
                "{transport:?}: {updates} updates, {not_modified} not modified; the last \
                 fleet:\n{last}"
            );
            let skipped_before = skipped(server);
            let spec = FleetSpec {
                room: Some("watched".into()),
                observers: 3,
                transport,
                poll_interval: Duration::from_millis(10),
                ..FleetSpec::simple(server.url(), 2, Duration::from_secs(2))
            };
            let report = run_fleet(spec).await;
            last = report.human();
            assert!(report.passed(), "{last}");
            let o = report.observers.as_ref().expect("an observer report");
            assert_eq!(o.observers, 3);
            // Each update is a newer tick, and every tick from an observer's first update to
            // its last is recorded once: at least one per update.
            let ticks_covered = o.update_latency_ms.samples;
            assert!(ticks_covered >= o.updates, "{last}");
            match transport {
                Transport::Ws | Transport::WsJson => {
                    // Pushed: every one of those ticks reached its observer, unless the room
                    // replaced it unsent because the session had not taken the one before.
                    let skipped = skipped(server) - skipped_before;
                    assert!(
                        ticks_covered as f64 <= o.updates as f64 + skipped,
                        "{ticks_covered} ticks, {} pushed, {skipped} skipped: {last}",
                        o.updates
                    );
                }
                // Every poll is answered with a new state or a 304.
                Transport::Poll => {
                    assert_eq!(o.updates + o.not_modified, o.requests_or_messages, "{last}")
                }
            }
            updates += o.updates;
            not_modified += o.not_modified;
            (sent, received) = (sent + o.bytes_sent, received + o.bytes_received);
        }
        assert!(sent > 0 && received > sent, "{transport:?}: {last}");
    }
}
