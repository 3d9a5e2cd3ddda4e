//! Refuses a WebSocket frame by its declared length, before its payload arrives.
//!
//! actix-http's frame decoder buffers a frame's whole declared payload before it checks the
//! size limit (by design, so a frame is never split), so a client that declares a 1 GiB frame
//! and sends its bytes slowly makes the server hold all of them. [`FrameGuard`] sits between the
//! request payload and the decoder: it follows the frame headers in the byte stream (the
//! payloads pass through untouched) and fails the stream the moment a header declares more than
//! the limit, leaving a note for the session so it can answer 1009.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::Stream;

/// The longest header: 2 bytes, an 8-byte extended length, a 4-byte mask.
const MAX_HEADER: usize = 14;

#[derive(Debug)]
enum State {
    /// Reading a frame header: the bytes so far.
    Header { buf: [u8; MAX_HEADER], have: usize },
    /// Passing over a frame's payload: bytes left.
    Payload { remaining: u64 },
}

impl State {
    fn header() -> Self {
        Self::Header {
            buf: [0; MAX_HEADER],
            have: 0,
        }
    }
}

/// `(header length, payload length)` once `head` holds enough of a header to know both.
fn lengths(head: &[u8]) -> Option<(usize, u64)> {
    let second = *head.get(1)?;
    let masked = second & 0x80 != 0;
    let (extended, short) = match second & 0x7f {
        126 => (2, None),
        127 => (8, None),
        n => (0, Some(u64::from(n))),
    };
    let header = 2 + extended + if masked { 4 } else { 0 };
    let payload = match short {
        Some(n) => n,
        None => {
            let ext = head.get(2..2 + extended)?;
            ext.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        }
    };
    Some((header, payload))
}

/// Where the guard tells its session what it refused: the declared length of the frame.
pub type Tripped = Rc<Cell<Option<u64>>>;

/// A request-payload stream that fails as soon as a frame header declares a payload longer
/// than `max` bytes.
pub struct FrameGuard<S> {
    inner: S,
    max: u64,
    state: State,
    tripped: Tripped,
    /// Set once tripped: the stream ends after its error.
    done: bool,
}

impl<S> FrameGuard<S> {
    /// Guards `inner`, refusing frames over `max` bytes; the refusal is noted in `tripped`.
    pub fn new(inner: S, max: usize, tripped: Tripped) -> Self {
        Self {
            inner,
            max: max as u64,
            state: State::header(),
            tripped,
            done: false,
        }
    }

    /// Follows the headers in `bytes`; `Err(declared)` for a frame over the limit.
    fn scan(&mut self, mut bytes: &[u8]) -> Result<(), u64> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Payload { remaining } => {
                    let n = (*remaining).min(bytes.len() as u64);
                    *remaining -= n;
                    bytes = &bytes[n as usize..];
                    if *remaining == 0 {
                        self.state = State::header();
                    }
                }
                State::Header { buf, have } => {
                    buf[*have] = bytes[0];
                    *have += 1;
                    bytes = &bytes[1..];
                    let Some((header, payload)) = lengths(&buf[..*have]) else {
                        continue;
                    };
                    if payload > self.max {
                        return Err(payload);
                    }
                    if *have == header {
                        self.state = if payload == 0 {
                            State::header()
                        } else {
                            State::Payload { remaining: payload }
                        };
                    }
                }
            }
        }
        Ok(())
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => match self.scan(&chunk) {
                Ok(()) => Poll::Ready(Some(Ok(chunk))),
                Err(declared) => {
                    self.tripped.set(Some(declared));
                    self.done = true;
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                }
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(max: usize) -> FrameGuard<()> {
        FrameGuard::new((), max, Tripped::default())
    }

    fn header(len: u64) -> Vec<u8> {
        let mut h = vec![0x82];
        match len {
            0..=125 => h.push(0x80 | len as u8),
            126..=0xffff => {
                h.push(0x80 | 126);
                h.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                h.push(0x80 | 127);
                h.extend_from_slice(&len.to_be_bytes());
            }
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    #[test]
    fn frames_within_the_limit_pass_in_any_split() {
        let mut wire = Vec::new();
        for len in [0u64, 5, 125, 126, 300] {
            wire.extend(header(len));
            wire.extend(std::iter::repeat_n(7u8, len as usize));
        }
        for split in [1, 2, 3, 7, 64, wire.len()] {
            let mut g = guard(300);
            for chunk in wire.chunks(split) {
                assert_eq!(g.scan(chunk), Ok(()), "split {split}");
            }
            assert!(matches!(g.state, State::Header { have: 0, .. }));
        }
    }

    #[test]
    fn a_frame_declared_too_long_is_refused_from_its_header_alone() {
        let mut g = guard(4096);
        assert_eq!(g.scan(&header(4096)), Ok(()));
        let mut g = guard(4096);
        let big = header(1 << 30);
        // The length is known before the mask and the payload arrive.
        assert_eq!(g.scan(&big[..9]), Ok(()));
        assert_eq!(g.scan(&big[9..10]), Err(1 << 30));
    }
}
