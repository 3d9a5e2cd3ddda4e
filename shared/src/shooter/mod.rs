//! The top-down arena shooter: Arena's first game, and the reference for writing one.
//!
//! # Layout
//! - [`world`]: the pure, deterministic simulation ([`World`], which is the [`Game`]).
//! - [`entity`]: what a snapshot carries of a player or projectile, and its delta.
//! - [`event`]: hits, kills and respawns.
//! - [`rules`]: the tuning (speeds, damage, cooldowns), in seconds and world units.
//! - [`map`]: the map text format, its parser and validator, and the embedded default map.
//! - [`collision`]: circle, segment and box geometry used by the simulation.
//! - [`predict`]: client-side prediction of the client's own player.
//! - [`brain`]: how a bot plays.

pub mod brain;
pub mod collision;
pub mod entity;
pub mod event;
pub mod map;
pub mod predict;
pub mod rules;
pub mod world;

use std::sync::Arc;

use glam::Vec2;
use serde::{Deserialize, Serialize};

pub use brain::Brain;
pub use entity::{Entity, EntityDelta, EntityKind};
pub use event::GameEvent;
pub use map::{Map, MapError};
pub use predict::Predictor;
pub use rules::Rules;
pub use world::{Command, Mover, PlayerInput, World};

use crate::game::{EntityId, Game, Rewind};

/// The shooter's messages, as its clients speak them.
pub type ClientMsg = crate::protocol::ClientMsg<PlayerInput>;
/// The shooter's server messages.
pub type ServerMsg = crate::protocol::ServerMsg<Settings, Entity, GameEvent>;
/// The shooter's snapshots.
pub type Snapshot = crate::protocol::Snapshot<Entity, GameEvent>;
/// The shooter's input message.
pub type Input = crate::protocol::Input<PlayerInput>;
/// The shooter's room events.
pub type RoomEvent = crate::protocol::RoomEvent<GameEvent>;

/// What a shooter room is created with and every client is told in `Welcome`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The tuning, so clients predict with the server's numbers.
    pub rules: Rules,
    /// The map, so clients draw and predict.
    pub map: Map,
}

impl Game for World {
    const NAME: &'static str = "shooter";
    const DESCRIPTION: &'static str =
        "Top-down arena shooter: move, aim and fire; projectiles fly for a second.";
    type Settings = Settings;
    type Input = PlayerInput;
    type Entity = Entity;
    type Event = GameEvent;
    type Predictor = Predictor;
    type Brain = Brain;

    fn new(settings: &Settings, tick_rate: u16, seed: u64) -> Self {
        World::new(
            Arc::new(settings.map.clone()),
            settings.rules.clone(),
            u32::from(tick_rate),
            seed,
        )
    }

    fn join(&mut self, name: &str) -> EntityId {
        self.apply(Command::Join { name: name.into() })
            .unwrap_or_default()
    }

    fn save(&self) -> Option<Vec<u8>> {
        World::save(self)
    }

    fn restore(settings: &Settings, tick_rate: u16, bytes: &[u8]) -> Option<Self> {
        World::restore(
            Arc::new(settings.map.clone()),
            settings.rules.clone(),
            u32::from(tick_rate),
            bytes,
        )
    }

    fn leave(&mut self, player: EntityId) {
        self.apply(Command::Leave { player });
    }

    fn input(&mut self, player: EntityId, input: PlayerInput, seen: Rewind) {
        World::input(self, player, input, seen);
    }

    fn step(&mut self) {
        World::step(self);
    }

    fn tick(&self) -> u64 {
        World::tick(self)
    }

    fn drain_events(&mut self, out: &mut Vec<GameEvent>) {
        out.extend(World::drain_events(self));
    }

    fn entities(&self, out: &mut Vec<Entity>) {
        self.snapshot_into(out);
    }

    fn area(&self) -> Vec2 {
        self.map().size
    }

    fn state_hash(&self) -> u64 {
        World::state_hash(self)
    }

    /// The kill feed concerns the whole room; a hit or a respawn only where the client can see
    /// it, or when it is the client's own shot.
    fn event_relevant(
        event: &GameEvent,
        viewer: EntityId,
        sees: &dyn Fn(EntityId) -> bool,
    ) -> bool {
        let sees = |id: EntityId| id == viewer || sees(id);
        match event {
            GameEvent::Killed { .. } => true,
            GameEvent::Hit {
                shooter, victim, ..
            } => *shooter == viewer || sees(*victim),
            GameEvent::Respawned { player, .. } => sees(*player),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        DecodeError, ErrorCode, PROTOCOL_VERSION, SnapshotParts, decode_client, decode_server,
        encode, encode_snapshot_into, peek_hello_version,
    };

    fn samples() -> (Vec<ClientMsg>, Vec<ServerMsg>) {
        let clients = vec![
            ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                name: "ann".into(),
                room: Some("r1".into()),
                ticket: Some("v1.a.b".into()),
                resume: None,
                options: None,
            },
            ClientMsg::Hello {
                protocol_version: 7,
                name: "bob".into(),
                room: None,
                ticket: None,
                resume: Some("1.2.3".into()),
                options: Some(crate::protocol::RoomOptions {
                    map: Some("large".into()),
                    max_players: Some(8),
                    tick_rate: Some(60),
                    snapshot_rate: Some(20),
                }),
            },
            ClientMsg::Input(Input {
                seq: 42,
                ack: 9,
                behind: 300,
                controls: PlayerInput {
                    move_dir: Vec2::new(0.5, -1.0),
                    aim: Vec2::X,
                    fire: true,
                },
            }),
            ClientMsg::Chat {
                text: "gg ✓".into(),
            },
            ClientMsg::Ping {
                client_time: u64::MAX,
            },
            ClientMsg::Leave,
        ];
        let id = EntityId(3);
        let events = [
            RoomEvent::Joined {
                player: id,
                name: "ann".into(),
            },
            RoomEvent::Left { player: id },
            RoomEvent::Game(GameEvent::Hit {
                shooter: id,
                victim: EntityId(4),
                damage: 25,
                health: 75,
                at: Vec2::new(10.0, 20.0),
            }),
            RoomEvent::Game(GameEvent::Killed {
                killer: id,
                victim: EntityId(4),
            }),
            RoomEvent::Game(GameEvent::Respawned {
                player: id,
                pos: Vec2::new(1.0, 2.0),
            }),
            RoomEvent::Chat {
                from: id,
                text: "hi".into(),
            },
        ];
        let mut servers = vec![
            ServerMsg::Welcome {
                player_id: id,
                room: "r1".into(),
                tick_rate: 30,
                snapshot_rate: 30,
                view: Some((1600.0, 1000.0)),
                settings: Settings {
                    rules: Rules::default(),
                    map: Map::default_map(),
                },
                players: vec![(id, "ann".into())],
                resume_token: "1.3.abc".into(),
                last_input_seq: 41,
            },
            ServerMsg::Snapshot(Snapshot {
                tick: 9,
                baseline: 7,
                last_input_seq: 42,
                queued_inputs: 2,
                changed: vec![
                    EntityDelta {
                        id: EntityId(2),
                        pos: Some((-3, 100)),
                        alive: Some(false),
                        ..EntityDelta::default()
                    },
                    EntityDelta {
                        id: EntityId(5),
                        ..EntityDelta::default()
                    },
                ],
                removed: vec![EntityId(6)],
                events: Vec::new(),
                created: vec![
                    Entity {
                        id,
                        pos: Vec2::new(1.5, 2.5),
                        vel: Vec2::ZERO,
                        kind: EntityKind::Player {
                            // Snapped, as everything the simulation produces.
                            aim: crate::quant::aim_to_wire(Vec2::Y),
                            health: 100,
                            score: 2,
                            deaths: 1,
                            alive: true,
                        },
                    },
                    Entity {
                        id: EntityId(8),
                        pos: Vec2::ONE,
                        vel: Vec2::X,
                        kind: EntityKind::Projectile { owner: id },
                    },
                ],
            }),
            ServerMsg::Pong {
                client_time: 5,
                server_tick: 6,
            },
            ServerMsg::Error {
                code: ErrorCode::RoomFull,
                message: "room r1 is full (8/8)".into(),
            },
        ];
        if let Some(ServerMsg::Snapshot(s)) = servers.get_mut(1) {
            s.events = events.into_iter().map(|e| (1, e)).collect();
        }
        (clients, servers)
    }

    /// The delta is the v3 encoding (the seam cost no byte); the input is v3's plus `behind`,
    /// one byte for an interpolation delay under about four ticks.
    #[test]
    fn input_and_delta_bytes_are_pinned() {
        let input = ClientMsg::Input(Input {
            seq: 42,
            ack: 9,
            behind: 96,
            controls: PlayerInput {
                move_dir: Vec2::new(0.5, -1.0),
                aim: Vec2::X,
                fire: true,
            },
        });
        assert_eq!(
            encode(&input).expect("encodes"),
            [
                1, 42, 9, 96, 0, 0, 0, 63, 0, 0, 128, 191, 0, 0, 128, 63, 0, 0, 0, 0, 1
            ]
        );
        let delta = EntityDelta {
            id: EntityId(2),
            pos: Some((-3, 100)),
            alive: Some(false),
            ..EntityDelta::default()
        };
        assert_eq!(encode(&delta).expect("encodes"), [2, 65, 5, 200, 0]);
    }

    #[test]
    fn every_message_round_trips() {
        let (clients, servers) = samples();
        for msg in clients {
            let bytes = encode(&msg).expect("encodes");
            let back: ClientMsg = decode_client(&bytes, 1 << 16).expect("decodes");
            assert_eq!(back, msg);
        }
        for msg in servers {
            let bytes = encode(&msg).expect("encodes");
            let back: ServerMsg = decode_server(&bytes, 1 << 20).expect("decodes");
            assert_eq!(back, msg);
        }
    }

    #[test]
    fn borrowed_snapshot_encoding_matches_the_owned_message() {
        let (_, servers) = samples();
        let Some(ServerMsg::Snapshot(snap)) = servers
            .into_iter()
            .find(|m| matches!(m, ServerMsg::Snapshot(_)))
        else {
            panic!("samples hold a snapshot");
        };
        let mut borrowed = Vec::new();
        let parts: SnapshotParts<'_, Entity, GameEvent> = SnapshotParts {
            tick: snap.tick,
            baseline: snap.baseline,
            last_input_seq: snap.last_input_seq,
            queued_inputs: snap.queued_inputs,
            created: &snap.created,
            changed: &snap.changed,
            removed: &snap.removed,
            events: &snap.events.iter().collect::<Vec<_>>(),
        };
        encode_snapshot_into(parts, &mut borrowed).expect("encodes");
        assert_eq!(
            borrowed,
            encode(&ServerMsg::Snapshot(snap)).expect("encodes")
        );
    }

    #[test]
    fn truncated_messages_give_typed_errors() {
        let (clients, _) = samples();
        for msg in clients {
            let bytes = encode(&msg).expect("encodes");
            for cut in 0..bytes.len() {
                let err = decode_client::<PlayerInput>(&bytes[..cut], 1 << 16)
                    .expect_err("truncated must fail");
                assert!(
                    matches!(err, DecodeError::Empty | DecodeError::Malformed(_)),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn oversized_and_padded_frames_are_refused() {
        let bytes = encode(&ClientMsg::Leave).expect("encodes");
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(matches!(
            decode_client::<PlayerInput>(&padded, 64),
            Err(DecodeError::TrailingBytes { extra: 1 })
        ));
        let chat = encode(&ClientMsg::Chat {
            text: "x".repeat(100),
        })
        .expect("encodes");
        assert!(matches!(
            decode_client::<PlayerInput>(&chat, 64),
            Err(DecodeError::TooLarge { max: 64, .. })
        ));
    }

    #[test]
    fn a_length_prefix_cannot_claim_more_than_the_decode_limit() {
        // Chat (variant 2) whose string claims u32::MAX bytes: varint marker 252 + 4 bytes.
        let hostile = [2u8, 252, 0xff, 0xff, 0xff, 0xff];
        let err = decode_client::<PlayerInput>(&hostile, 1 << 16).expect_err("must fail");
        assert!(matches!(err, DecodeError::Malformed(_)), "{err}");
    }

    #[test]
    fn hello_version_is_readable_across_versions() {
        let future = ClientMsg::Hello {
            protocol_version: 99,
            name: "x".into(),
            room: None,
            ticket: None,
            resume: None,
            options: None,
        };
        assert_eq!(
            peek_hello_version(&encode(&future).expect("encodes")),
            Some(99)
        );
        assert_eq!(
            peek_hello_version(&encode(&ClientMsg::Leave).expect("encodes")),
            None
        );
        assert_eq!(peek_hello_version(&[]), None);
    }
}
