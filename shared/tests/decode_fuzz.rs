//! Arbitrary bytes into the decoders: a typed error or a message, never a panic. bincode 2
//! accepts non-canonical varints, so a decoded message need not re-encode to the same bytes;
//! what must hold is that whatever decodes re-encodes stably.

use arena_shared::protocol::{encode, peek_hello_version};
use arena_shared::shooter::{ClientMsg, ServerMsg};

fn decode_client(bytes: &[u8], max: usize) -> Result<ClientMsg, arena_shared::DecodeError> {
    arena_shared::protocol::decode_client(bytes, max)
}

fn decode_server(bytes: &[u8], max: usize) -> Result<ServerMsg, arena_shared::DecodeError> {
    arena_shared::protocol::decode_server(bytes, max)
}
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, rng_seed: RngSeed::Fixed(0xA7E4A), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_client_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(msg) = decode_client(&bytes, 1 << 16) {
            // Compared as bytes: a float field may be NaN, which is never == itself.
            let bytes = encode(&msg).expect("re-encodes");
            let again = decode_client(&bytes, 1 << 16).expect("re-decodes");
            prop_assert_eq!(encode(&again).expect("re-encodes"), bytes);
        }
        let _ = peek_hello_version(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_server_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(msg) = decode_server(&bytes, 1 << 16) {
            let bytes = encode(&msg).expect("re-encodes");
            let again = decode_server(&bytes, 1 << 16).expect("re-decodes");
            prop_assert_eq!(encode(&again).expect("re-encodes"), bytes);
        }
    }

    #[test]
    fn mutated_valid_messages_never_panic(seed in any::<u64>(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let msg = ClientMsg::Hello { protocol_version: 1, name: format!("n{seed}"), room: Some("room".into()), ticket: None, resume: None, options: None };
        let mut bytes = encode(&msg).expect("encodes");
        for (at, byte) in flips {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        let _ = decode_client(&bytes, 1 << 16);
    }
}
