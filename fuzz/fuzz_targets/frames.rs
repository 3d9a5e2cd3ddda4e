//! Raw bytes of an upgraded connection through actix-http's frame decoder and Arena's frame
//! layer (reassembly, UTF-8 validation, close-code mapping), exactly as a session sees them.
#![no_main]

use arena_server::session::feed_raw;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(farewell) = feed_raw(data, 4096, 64) {
        let code = farewell.close_code();
        assert!(
            matches!(code, 1001 | 1002 | 1007 | 1009),
            "unexpected close code {code}"
        );
    }
});
