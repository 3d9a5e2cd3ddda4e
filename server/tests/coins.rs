//! The "Write your own game" example (`examples/coins`) as a newcomer runs it: its game on a
//! real server through `run_with`, and a client that walks to the coin and scores.

mod common;

#[path = "../examples/coins/game.rs"]
#[allow(dead_code)]
mod game;

use arena_bot::{Connection, Received};
use arena_server::Games;
use arena_shared::game::Brain;
use arena_shared::protocol::{ClientMsg, Input, RoomEvent, ServerMsg};
use common::{TestServer, WAIT, config};
use game::{CoinEvent, Coins, Greedy};

#[tokio::test]
async fn a_greedy_client_reaches_the_coin_on_a_server_of_its_own_game() {
    let mut games = Games::new();
    games
        .add::<Coins>([("default".to_owned(), game::Settings::default())])
        .expect("a valid game");
    let server = TestServer::start_with(config(), games);
    let (status, body) = server.http_get("/api/games");
    assert_eq!(status, 200);
    assert!(body.contains(r#""name":"coins""#), "{body}");

    // `/ws` plays the only game there is.
    let mut conn = Connection::<Coins>::connect(&server.url())
        .await
        .expect("upgrade");
    let welcome = conn.join("ann", None, WAIT).await.expect("join");
    assert_eq!(welcome.settings, game::Settings::default());
    let mut rng = rand::rng();
    let mut brain = Greedy::new(&welcome.settings, "", 0, &mut rng);
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seq = 0;
    let scorer = 'play: loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let snapshot = match conn.recv_timeout(left).await.expect("plays") {
            Received::Msg(ServerMsg::Snapshot(s)) => s,
            Received::Msg(_) => continue,
            Received::Closed(frame) => panic!("closed: {frame:?}"),
        };
        for (_, event) in &snapshot.events {
            if let RoomEvent::Game(CoinEvent::Scored { player }) = event {
                break 'play *player;
            }
        }
        // Never acknowledged, so every snapshot is complete: `created` is the whole view.
        let controls = brain.decide(welcome.player_id, &snapshot.created, 0.0, &mut rng);
        seq += 1;
        let input = Input {
            seq,
            ack: 0,
            behind: 0,
            controls,
        };
        conn.send(&ClientMsg::Input(input)).await.expect("input");
    };
    assert_eq!(scorer, welcome.player_id);
}
