//! The frame layer between actix-web-actors and a session: reassembles fragmented messages up to
//! a limit (actix hands `Continuation` items to the actor and does not), validates the UTF-8 of
//! fragmented text as it arrives so a bad byte fails at once, and maps every WebSocket protocol
//! error to its RFC 6455 §7.4.1 close code.

use actix_http::ws::Item;
use actix_web_actors::ws::{CloseReason, Message, ProtocolError};
use bytes::{Bytes, BytesMut};

use crate::close::{Farewell, code};

/// A complete message, or a control frame, ready for the session.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// A whole text message, valid UTF-8.
    Text(String),
    /// A whole binary message.
    Binary(Bytes),
    /// A ping to answer with this payload.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The peer closes the connection.
    Close(Option<CloseReason>),
}

struct Partial {
    text: bool,
    /// Frames received for this message so far.
    fragments: usize,
    buf: BytesMut,
    /// Prefix of `buf` already validated as UTF-8 (complete characters only).
    utf8_valid: usize,
}

/// Reassembles one connection's messages.
pub struct Assembler {
    max_message: usize,
    /// Most frames one message may be split into: empty continuation frames cost the server a
    /// frame's work each and carry nothing, so their number is bounded, not only their bytes.
    max_fragments: usize,
    partial: Option<Partial>,
}

impl Assembler {
    /// An assembler that refuses messages longer than `max_message` bytes or split into more
    /// than `max_fragments` frames.
    pub fn new(max_message: usize, max_fragments: usize) -> Self {
        Self {
            max_message,
            max_fragments: max_fragments.max(1),
            partial: None,
        }
    }

    /// Feeds one item from actix; returns a complete message when one is ready.
    pub fn push(
        &mut self,
        item: Result<Message, ProtocolError>,
    ) -> Result<Option<Incoming>, Farewell> {
        let msg = item.map_err(protocol_farewell)?;
        Ok(match msg {
            Message::Text(text) => {
                self.expect_no_partial()?;
                Some(Incoming::Text(text.to_string()))
            }
            Message::Binary(bytes) => {
                self.expect_no_partial()?;
                self.check_size(bytes.len())?;
                Some(Incoming::Binary(bytes))
            }
            Message::Continuation(item) => self.continuation(item)?,
            Message::Ping(payload) => Some(Incoming::Ping(payload)),
            Message::Pong(_) => Some(Incoming::Pong),
            Message::Close(reason) => Some(Incoming::Close(reason)),
            Message::Nop => None,
        })
    }

    fn continuation(&mut self, item: Item) -> Result<Option<Incoming>, Farewell> {
        let (first, text, chunk, last) = match item {
            Item::FirstText(b) => (true, true, b, false),
            Item::FirstBinary(b) => (true, false, b, false),
            Item::Continue(b) => (false, false, b, false),
            Item::Last(b) => (false, false, b, true),
        };
        if first {
            self.expect_no_partial()?;
            self.partial = Some(Partial {
                text,
                fragments: 0,
                buf: BytesMut::new(),
                utf8_valid: 0,
            });
        }
        let Some(partial) = self.partial.as_mut() else {
            return Err(protocol("continuation frame without a message to continue"));
        };
        partial.fragments += 1;
        if partial.fragments > self.max_fragments {
            return Err(Farewell::TooManyFragments(self.max_fragments));
        }
        let total = partial.buf.len() + chunk.len();
        if total > self.max_message {
            return Err(too_big(total, self.max_message));
        }
        partial.buf.extend_from_slice(&chunk);
        if partial.text {
            validate_utf8_prefix(partial, last)?;
        }
        if !last {
            return Ok(None);
        }
        let Some(done) = self.partial.take() else {
            return Ok(None);
        };
        let bytes = done.buf.freeze();
        if done.text {
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| invalid_utf8())?;
            Ok(Some(Incoming::Text(text)))
        } else {
            Ok(Some(Incoming::Binary(bytes)))
        }
    }

    fn expect_no_partial(&self) -> Result<(), Farewell> {
        match self.partial {
            Some(_) => Err(protocol(
                "new data frame while a fragmented message is unfinished",
            )),
            None => Ok(()),
        }
    }

    fn check_size(&self, len: usize) -> Result<(), Farewell> {
        if len > self.max_message {
            Err(too_big(len, self.max_message))
        } else {
            Ok(())
        }
    }
}

/// Validates what arrived since the last call; an incomplete character at the very end is
/// allowed until the final fragment.
fn validate_utf8_prefix(partial: &mut Partial, last: bool) -> Result<(), Farewell> {
    match std::str::from_utf8(&partial.buf[partial.utf8_valid..]) {
        Ok(_) => {
            partial.utf8_valid = partial.buf.len();
            Ok(())
        }
        Err(e) if e.error_len().is_none() && !last => {
            partial.utf8_valid += e.valid_up_to();
            Ok(())
        }
        Err(_) => Err(invalid_utf8()),
    }
}

/// Feeds raw bytes, as a client would send them on an upgraded connection, through actix-http's
/// frame decoder and the [`Assembler`], the way a session does; returns how many complete
/// messages came out before the bytes ran out or a close was decided. The fuzz target and the
/// frame-layer property test call this; it must never panic.
pub fn feed_raw(bytes: &[u8], max_message: usize, max_fragments: usize) -> Result<usize, Farewell> {
    use actix_codec::Decoder;
    use actix_http::ws::{Codec, Frame};
    use bytestring::ByteString;

    let mut codec = Codec::new().max_size(max_message);
    let mut buf = bytes::BytesMut::from(bytes);
    let mut assembler = Assembler::new(max_message, max_fragments);
    let mut complete = 0;
    loop {
        let frame = match codec.decode(&mut buf) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(complete),
            Err(e) => return Err(protocol_farewell(e)),
        };
        // The conversion actix-web-actors' WsStream makes before a session sees the frame.
        let item = match frame {
            Frame::Text(data) => ByteString::try_from(data)
                .map(Message::Text)
                .map_err(|e| ProtocolError::Io(std::io::Error::other(e.to_string()))),
            Frame::Binary(data) => Ok(Message::Binary(data)),
            Frame::Ping(p) => Ok(Message::Ping(p)),
            Frame::Pong(p) => Ok(Message::Pong(p)),
            Frame::Close(reason) => Ok(Message::Close(reason)),
            Frame::Continuation(item) => Ok(Message::Continuation(item)),
        };
        match assembler.push(item)? {
            Some(Incoming::Close(_)) => return Ok(complete),
            Some(_) => complete += 1,
            None => {}
        }
    }
}

fn protocol(detail: &str) -> Farewell {
    Farewell::Protocol {
        code: code::PROTOCOL,
        detail: detail.to_owned(),
    }
}

fn invalid_utf8() -> Farewell {
    Farewell::Protocol {
        code: code::INVALID,
        detail: "text message is not valid UTF-8".into(),
    }
}

/// The 1009 ending for a message (or a declared frame) of `len` bytes over `max`.
pub(super) fn too_big(len: impl std::fmt::Display, max: usize) -> Farewell {
    Farewell::Protocol {
        code: code::TOO_BIG,
        detail: format!("message of {len}+ bytes exceeds the {max}-byte limit"),
    }
}

/// actix-http reports an oversized frame as `Overflow`, non-zero reserved bits as
/// `Io(InvalidData)` (its frame parser), and other framing faults as protocol errors. Both
/// invalid UTF-8 in a single text frame and a failing transport arrive as `Io(Other)` with only a
/// formatted message to tell them apart (actix-web-actors `WsStream`); the UTF-8 one is std's
/// `Utf8Error` text.
fn protocol_farewell(err: ProtocolError) -> Farewell {
    match err {
        ProtocolError::Overflow => Farewell::Protocol {
            code: code::TOO_BIG,
            detail: "frame exceeds the message size limit".into(),
        },
        ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => Farewell::Protocol {
            code: code::PROTOCOL,
            detail: format!("websocket protocol error: {e}"),
        },
        ProtocolError::Io(e) if e.to_string().contains("utf-8") => invalid_utf8(),
        ProtocolError::Io(e) => Farewell::ConnectionLost(e.to_string()),
        other => Farewell::Protocol {
            code: code::PROTOCOL,
            detail: format!("websocket protocol error: {other}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_in_too_many_fragments_is_refused_even_when_they_are_empty() {
        let mut a = Assembler::new(64, 4);
        let mut items = vec![Item::FirstBinary(Bytes::new())];
        items.extend((0..3).map(|_| Item::Continue(Bytes::new())));
        assert_eq!(feed(&mut a, items), Ok(None), "four fragments are allowed");
        let refused = feed(&mut a, vec![Item::Continue(Bytes::new())]).expect_err("fifth");
        assert_eq!(refused, Farewell::TooManyFragments(4));
        assert_eq!(refused.close_code(), 1008);
    }

    fn feed(a: &mut Assembler, items: Vec<Item>) -> Result<Option<Incoming>, Farewell> {
        let mut out = None;
        for item in items {
            out = a.push(Ok(Message::Continuation(item)))?;
        }
        Ok(out)
    }

    fn code_of(r: Result<Option<Incoming>, Farewell>) -> u16 {
        r.expect_err("must fail").close_code()
    }

    /// A client frame: FIN + opcode, masked with a fixed key.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let key = [1u8, 2, 3, 4];
        let mut out = vec![(u8::from(fin) << 7) | opcode];
        assert!(payload.len() < 126);
        out.push(0x80 | payload.len() as u8);
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    #[test]
    fn raw_bytes_go_through_the_real_decoder() {
        let mut wire = frame(false, 0x2, b"ab");
        wire.extend(frame(false, 0x0, b"cd"));
        wire.extend(frame(true, 0x9, b"ping"));
        wire.extend(frame(true, 0x0, b"e"));
        // binary "abcde" (ping counted as one item), then a close.
        wire.extend(frame(true, 0x8, &[0x03, 0xe8]));
        assert_eq!(feed_raw(&wire, 64, 16), Ok(2));
        let rsv = [0xc2, 0x80, 1, 2, 3, 4];
        assert_eq!(
            feed_raw(&rsv, 64, 16).map_err(|f| f.close_code()),
            Err(1002)
        );
        assert_eq!(
            feed_raw(&frame(true, 0x1, &[0xff]), 64, 16).map_err(|f| f.close_code()),
            Err(1007)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 2048,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0xF4A3E),
            ..Default::default()
        })]

        #[test]
        fn arbitrary_bytes_never_panic_the_frame_layer(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = feed_raw(&bytes, 64, 16);
        }
    }

    #[test]
    fn fragmented_binary_is_reassembled() {
        let mut a = Assembler::new(16, 16);
        let items = vec![
            Item::FirstBinary(Bytes::from_static(b"ab")),
            Item::Continue(Bytes::from_static(b"cd")),
            Item::Last(Bytes::from_static(b"e")),
        ];
        assert_eq!(
            feed(&mut a, items),
            Ok(Some(Incoming::Binary(Bytes::from_static(b"abcde"))))
        );
    }

    #[test]
    fn fragmented_text_may_split_a_character() {
        let mut a = Assembler::new(16, 16);
        let bytes = "é!".as_bytes();
        let items = vec![
            Item::FirstText(Bytes::copy_from_slice(&bytes[..1])),
            Item::Last(Bytes::copy_from_slice(&bytes[1..])),
        ];
        assert_eq!(feed(&mut a, items), Ok(Some(Incoming::Text("é!".into()))));
    }

    #[test]
    fn bad_utf8_fails_at_the_fragment_that_carries_it() {
        let mut a = Assembler::new(64, 16);
        assert_eq!(
            feed(&mut a, vec![Item::FirstText(Bytes::from_static(b"ok"))]),
            Ok(None)
        );
        let r = a.push(Ok(Message::Continuation(Item::Continue(
            Bytes::from_static(&[0xff]),
        ))));
        assert_eq!(code_of(r), 1007);
    }

    #[test]
    fn a_message_over_the_limit_is_1009_even_in_small_fragments() {
        let mut a = Assembler::new(4, 16);
        let items = vec![
            Item::FirstBinary(Bytes::from_static(b"abc")),
            Item::Continue(Bytes::from_static(b"de")),
        ];
        assert_eq!(code_of(feed(&mut a, items)), 1009);
        assert_eq!(
            code_of(Assembler::new(4, 16).push(Ok(Message::Binary(Bytes::from_static(b"abcde"))))),
            1009
        );
    }

    #[test]
    fn out_of_order_fragments_are_protocol_errors() {
        assert_eq!(
            code_of(feed(
                &mut Assembler::new(8, 16),
                vec![Item::Continue(Bytes::new())]
            )),
            1002
        );
        let mut a = Assembler::new(8, 16);
        assert_eq!(
            feed(&mut a, vec![Item::FirstBinary(Bytes::new())]),
            Ok(None)
        );
        assert_eq!(code_of(a.push(Ok(Message::Binary(Bytes::new())))), 1002);
    }

    #[test]
    fn actix_errors_map_to_close_codes() {
        let invalid = vec![0xc3, 0x28];
        let bad = String::from_utf8(invalid)
            .expect_err("invalid")
            .utf8_error();
        let utf8 = ProtocolError::Io(std::io::Error::other(format!("{bad}")));
        assert_eq!(code_of(Assembler::new(8, 16).push(Err(utf8))), 1007);
        let eof = ProtocolError::Io(std::io::Error::other(
            "A payload reached EOF, but is not complete.",
        ));
        let lost = Assembler::new(8, 16).push(Err(eof)).expect_err("must fail");
        assert!(lost.keeps_seat(), "{lost:?}");
        assert_eq!(
            code_of(Assembler::new(8, 16).push(Err(ProtocolError::Overflow))),
            1009
        );
        assert_eq!(
            code_of(Assembler::new(8, 16).push(Err(ProtocolError::BadOpCode))),
            1002
        );
    }
}
