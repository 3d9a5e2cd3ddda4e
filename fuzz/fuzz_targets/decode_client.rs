//! Untrusted bytes into the server's decoder, for every game's inputs: a message or a typed
//! error, never a panic, and whatever decodes must re-encode stably.
#![no_main]

use arena_shared::protocol::{decode_client, encode, peek_hello_version};
use arena_shared::{shooter, tron};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    let _ = peek_hello_version(data);
    check::<shooter::PlayerInput>(data);
    check::<tron::TronInput>(data);
});

fn check<I: Serialize + DeserializeOwned>(data: &[u8]) {
    if let Ok(msg) = decode_client::<I>(data, 64 * 1024) {
        // Compared as bytes: a float field may be NaN, which is never == itself.
        let bytes = encode(&msg).expect("a decoded message re-encodes");
        let again = decode_client::<I>(&bytes, 64 * 1024).expect("and decodes again");
        assert_eq!(encode(&again).expect("re-encodes"), bytes);
    }
}
