//! Untrusted bytes into the bots' decoder (a client must survive a hostile server too).
#![no_main]

use arena_shared::protocol::{decode_server, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode_server(data, 1 << 20) {
        // Compared as bytes: a float field may be NaN, which is never == itself.
        let bytes = encode(&msg).expect("a decoded message re-encodes");
        let again = decode_server(&bytes, 1 << 20).expect("and decodes again");
        assert_eq!(encode(&again).expect("re-encodes"), bytes);
    }
});
