//! Serves Coins, the smallest complete Arena game (see `game.rs`), beside Arena's own games:
//! `cargo run -p arena-server --example coins`, then connect to `ws://127.0.0.1:8080/ws/coins`.

mod game;

use std::net::TcpListener;

use arena_server::{Config, Games};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::default();
    // Arena's games plus this one; `Games::new()` alone would serve Coins only.
    let mut games = Games::builtin(&config)?;
    games.add::<game::Coins>([("default".to_owned(), game::Settings::default())])?;
    let listener = TcpListener::bind(config.bind)?;
    println!("coins on ws://{}/ws/coins", listener.local_addr()?);
    actix_rt::System::new().block_on(async {
        arena_server::run_with(listener, config, games, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })?;
    Ok(())
}
