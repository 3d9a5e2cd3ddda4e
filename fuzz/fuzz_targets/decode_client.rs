//! Untrusted bytes into the server's decoder: a message or a typed error, never a panic, and
//! whatever decodes must re-encode stably.
#![no_main]

use arena_shared::protocol::{decode_client, encode, peek_hello_version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = peek_hello_version(data);
    if let Ok(msg) = decode_client(data, 64 * 1024) {
        // Compared as bytes: a float field may be NaN, which is never == itself.
        let bytes = encode(&msg).expect("a decoded message re-encodes");
        let again = decode_client(&bytes, 64 * 1024).expect("and decodes again");
        assert_eq!(encode(&again).expect("re-encodes"), bytes);
    }
});
