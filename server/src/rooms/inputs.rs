//! One connection's input queue: filled by its session, drained by its room one input per tick.
//!
//! Inputs do not travel through the room's mailbox. A mailbox is shared by every player of the
//! room, so one client's burst could fill it and crowd out everybody else's inputs; here each
//! seat has its own bounded queue, and a burst costs only the client that sent it. The queue is
//! also the connection's claim on its seat's inputs: when the room lets go of a connection
//! (resumed elsewhere, detached, left) it closes that connection's queue, and whatever the old
//! connection still sends is refused and counted instead of steering the player.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use arena_shared::protocol::Input;

/// Why an input was not queued (the label of `arena_dropped_inputs_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputDrop {
    /// The queue was full: the oldest queued input was dropped to make room for this one.
    Overflow,
    /// Its sequence number is not above the newest one queued or applied (duplicate, reordered).
    Stale,
    /// The connection no longer holds the seat (resumed elsewhere, detached, left).
    NotSeated,
    /// It arrived before the `Welcome` (the join was still in flight).
    BeforeWelcome,
}

impl InputDrop {
    /// Every reason, for registering the metric's series up front.
    pub const ALL: [Self; 4] = [
        Self::Overflow,
        Self::Stale,
        Self::NotSeated,
        Self::BeforeWelcome,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Overflow => "overflow",
            Self::Stale => "stale",
            Self::NotSeated => "not_seated",
            Self::BeforeWelcome => "before_welcome",
        }
    }
}

#[derive(Debug)]
struct State<I> {
    pending: VecDeque<Input<I>>,
    /// The newest sequence number queued or applied: anything not above it is stale.
    newest: u32,
    /// Set when the room lets go of the connection.
    closed: bool,
}

/// A bounded queue of one connection's inputs, shared by its session and its room.
#[derive(Debug)]
pub struct InputQueue<I> {
    state: Mutex<State<I>>,
    capacity: usize,
}

impl<I> InputQueue<I> {
    /// An empty, open queue holding at most `capacity` inputs (at least one).
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                pending: VecDeque::with_capacity(capacity.max(1)),
                newest: 0,
                closed: false,
            }),
            capacity: capacity.max(1),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<I>> {
        // Every update is a plain push, pop or assignment, so a poisoned lock is consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues an input (session side). `Ok(())` = queued; `Err(Overflow)` = queued, but the
    /// oldest input was dropped for it; any other `Err` = this input was dropped.
    pub fn push(&self, input: Input<I>) -> Result<(), InputDrop> {
        let mut state = self.state();
        if state.closed {
            return Err(InputDrop::NotSeated);
        }
        if input.seq <= state.newest {
            return Err(InputDrop::Stale);
        }
        state.newest = input.seq;
        let overflow = state.pending.len() >= self.capacity;
        if overflow {
            state.pending.pop_front();
        }
        state.pending.push_back(input);
        if overflow {
            Err(InputDrop::Overflow)
        } else {
            Ok(())
        }
    }

    /// The oldest queued input (room side, once per tick).
    pub fn pop(&self) -> Option<Input<I>> {
        self.state().pending.pop_front()
    }

    /// Inputs waiting.
    pub fn len(&self) -> usize {
        self.state().pending.len()
    }

    /// Whether no input is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes this queue continue a seat whose inputs were applied up to `seq` (a resume): only
    /// newer inputs are accepted, so a client can continue its numbering.
    pub fn continue_after(&self, seq: u32) {
        let mut state = self.state();
        state.newest = state.newest.max(seq);
    }

    /// The room has let go of the connection: drop what is queued and refuse the rest.
    pub fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        state.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seq: u32) -> Input<u8> {
        Input {
            seq,
            ..Input::default()
        }
    }

    #[test]
    fn every_reason_has_a_registered_metric_series() {
        let labels: Vec<_> = InputDrop::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels, crate::operations::metrics::DROPPED_INPUT_REASONS);
    }

    #[test]
    fn inputs_come_out_in_order_and_stale_ones_are_refused() {
        let q = InputQueue::new(4);
        assert_eq!(q.push(input(1)), Ok(()));
        assert_eq!(q.push(input(3)), Ok(()));
        assert_eq!(q.push(input(2)), Err(InputDrop::Stale));
        assert_eq!(q.push(input(3)), Err(InputDrop::Stale));
        assert_eq!(q.pop().map(|i| i.seq), Some(1));
        assert_eq!(q.pop().map(|i| i.seq), Some(3));
        assert_eq!(q.pop(), None);
        // Applied inputs still count: a replay of seq 1 after it was applied is stale.
        assert_eq!(q.push(input(1)), Err(InputDrop::Stale));
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_stays_bounded() {
        let q = InputQueue::new(2);
        assert_eq!(q.push(input(1)), Ok(()));
        assert_eq!(q.push(input(2)), Ok(()));
        assert_eq!(q.push(input(3)), Err(InputDrop::Overflow));
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|i| i.seq), Some(2));
    }

    #[test]
    fn a_closed_queue_refuses_everything_and_a_resumed_one_continues_the_numbering() {
        let old = InputQueue::new(4);
        assert_eq!(old.push(input(5)), Ok(()));
        old.close();
        assert!(old.is_empty());
        assert_eq!(old.push(input(6)), Err(InputDrop::NotSeated));

        let new = InputQueue::new(4);
        new.continue_after(5);
        assert_eq!(new.push(input(5)), Err(InputDrop::Stale));
        assert_eq!(new.push(input(6)), Ok(()));
    }
}
