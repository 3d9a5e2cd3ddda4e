//! Replays of real games verify bit for bit, and a changed input is caught at the next hash.

use arena_shared::game::{Brain, Game};
use arena_shared::replay::{self, Command, Recorder, ReplayError};
use arena_shared::tron::{self, Tron};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const TICK_RATE: u16 = 30;

/// Six tron bots for `ticks` ticks, recorded; returns the replay's bytes.
fn record_tron(ticks: u64, tamper_at: Option<u64>) -> Vec<u8> {
    let settings = tron::Settings::default();
    let header =
        replay::header_for::<Tron>("r", "default", settings.clone(), TICK_RATE, TICK_RATE, 9);
    let mut recorder = Recorder::new(&header).expect("header");
    let mut game = Tron::new(&settings, TICK_RATE, 9);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut bots = Vec::new();
    for i in 0..6 {
        let name = format!("bot{i}");
        let player = game.join(&name);
        recorder.command(Command::Join { name, player });
        bots.push((
            player,
            <Tron as Game>::Brain::new(&settings, "mixed", i, &mut rng),
        ));
    }
    let bots_first = bots[0].0;
    let mut view = Vec::new();
    for t in 1..=ticks {
        view.clear();
        game.entities(&mut view);
        view.sort_by_key(|e| e.id);
        for (player, brain) in &mut bots {
            let input = brain.decide(*player, &view, t as f64 / 30.0, &mut rng);
            game.input(*player, input);
            // What the recording claims was applied; a tampered one differs from the truth.
            // (For a second: an input that changes nothing, like one the next replaces before
            // the cycle moves, is not a desync.)
            let recorded = match tamper_at {
                // North and East in turn: one of them turns the cycle whichever way it heads.
                Some(at) if (at..at + 30).contains(&t) && *player == bots_first => {
                    tron::TronInput {
                        heading: if (t / 5) % 2 == 0 {
                            tron::Heading::North
                        } else {
                            tron::Heading::East
                        },
                    }
                }
                _ => input,
            };
            recorder.command(Command::Input {
                player: *player,
                input: recorded,
                seen: arena_shared::Rewind::NONE,
            });
        }
        game.step();
        let mut events = Vec::new();
        game.drain_events(&mut events);
        let roster = || {
            bots.iter()
                .map(|(p, _)| (*p, format!("bot{}", p.0)))
                .collect()
        };
        recorder.stepped(&game, roster).expect("records");
    }
    recorder.bytes().to_vec()
}

#[test]
fn a_recorded_tron_game_verifies_bit_for_bit() {
    let bytes = record_tron(600, None);
    let verified = replay::verify::<Tron>(&bytes).expect("verifies");
    assert_eq!(
        (verified.ticks, verified.hashes, verified.unread),
        (600, 20, 0)
    );
}

#[test]
fn a_changed_input_is_named_at_the_next_hash() {
    let bytes = record_tron(600, Some(100));
    match replay::verify::<Tron>(&bytes) {
        Err(ReplayError::Mismatch { tick, drifts, .. }) => {
            assert!((120..=150).contains(&tick), "{tick}");
            // The tampered bot is the first to join: its cycle is entity #1, and it is named.
            assert!(
                drifts.contains(&replay::Drift::Differs(arena_shared::EntityId(1))),
                "{drifts:?}"
            );
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn a_replay_cut_short_verifies_up_to_its_last_whole_record() {
    let bytes = record_tron(300, None);
    let cut = &bytes[..bytes.len() * 2 / 3];
    let verified = replay::verify::<Tron>(cut).expect("verifies what is there");
    assert!(
        verified.ticks > 100 && verified.ticks < 300 && verified.unread > 0,
        "{verified:?}"
    );
    assert!(matches!(
        replay::verify::<arena_shared::shooter::World>(&bytes),
        Err(ReplayError::Format(_))
    ));
}

#[test]
fn the_state_at_a_tick_is_the_game_as_it_was_then() {
    let bytes = record_tron(300, None);
    let settings = tron::Settings::default();
    // The same six bots, simulated again without the recording, to tick 150.
    let entities = replay::state_at::<Tron>(&bytes, 150).expect("reaches 150");
    let again = replay::state_at::<Tron>(&bytes, 150).expect("again");
    assert_eq!(entities, again);
    assert!(
        entities.len() >= 6,
        "six cycles and their trails: {}",
        entities.len()
    );
    let later = replay::state_at::<Tron>(&bytes, 151).expect("reaches 151");
    assert_ne!(entities, later, "a tick later, the cycles have moved");
    assert_eq!(replay::state_at::<Tron>(&bytes, 0).expect("start"), []);
    assert!(matches!(
        replay::state_at::<Tron>(&bytes, 301),
        Err(ReplayError::NoSuchTick {
            wanted: 301,
            last: 300
        })
    ));
    let _ = settings;
}

#[test]
fn keyframes_restore_the_game_exactly_and_a_damaged_one_is_caught() {
    let bytes = record_tron(2000, None);
    let verified = replay::verify::<Tron>(&bytes).expect("verifies");
    assert_eq!(verified.keyframes, 2, "ticks 900 and 1800");
    // From the keyframe at 1800, or from the start: the same game at 1850, with the roster.
    let mut loaded = replay::load::<Tron>(&bytes).expect("loads");
    assert_eq!(loaded.keyframes.len(), 2);
    assert_eq!(loaded.keyframes[1].roster.len(), 6);
    let (seeked, roster) = loaded.game_at(1850).expect("from the keyframe");
    loaded.keyframes.clear();
    let (simulated, _) = loaded.game_at(1850).expect("from the start");
    assert_eq!(seeked.tick(), 1850);
    assert_eq!(seeked.state_hash(), simulated.state_hash());
    assert_eq!(roster.len(), 6);

    // A keyframe whose state is not what the recording's game was at its tick.
    let (header, records) = replay::open::<Tron>(&bytes).expect("opens");
    let mut damaged = Vec::new();
    replay::write_frame(&header, &mut damaged).expect("encodes");
    for record in records {
        let mut record = record.expect("reads");
        if let replay::Record::Keyframe {
            tick: 900, state, ..
        } = &mut record
            && let Some(b) = state.last_mut()
        {
            *b ^= 1;
        }
        replay::write_frame(&record, &mut damaged).expect("encodes");
    }
    assert_eq!(
        replay::verify::<Tron>(&damaged),
        Err(ReplayError::KeyframeMismatch { tick: 900 })
    );
}
