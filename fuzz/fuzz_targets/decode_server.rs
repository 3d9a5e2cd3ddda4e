//! Untrusted bytes into the bots' decoder, for every game (a client must survive a hostile
//! server too).
#![no_main]

use arena_shared::Game;
use arena_shared::protocol::{decode_server, encode};
use arena_shared::{shooter, tron};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check::<shooter::World>(data);
    check::<tron::Tron>(data);
});

fn check<G: Game>(data: &[u8]) {
    let decode = |bytes: &[u8]| {
        decode_server::<G::Settings, G::Entity, G::Event>(bytes, 1 << 20)
    };
    if let Ok(msg) = decode(data) {
        // Compared as bytes: a float field may be NaN, which is never == itself.
        let bytes = encode(&msg).expect("a decoded message re-encodes");
        let again = decode(&bytes).expect("and decodes again");
        assert_eq!(encode(&again).expect("re-encodes"), bytes);
    }
}
