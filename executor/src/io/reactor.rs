//! The reactor: which I/O source is ready, and whom to wake.
//!
//! The loop already sleeps in a `mio::Poll` (for its wake fd and its
//! precise timer). Sockets join the same `Poll`: each registered source gets
//! an entry in a slab, and its mio `Token` carries the entry's slot and a
//! generation. When `epoll_wait` reports an event, the reactor sets the
//! source's readiness (read, write) and wakes the task waiting for it.
//!
//! ```text
//!   Async::new(socket) ──► Reactor::insert ──► Token { slot, generation } ──► registry.register
//!   task: read() → WouldBlock ──► clear read readiness, store the waker ──► Pending
//!   epoll_wait: event(token) ──► Reactor::dispatch ──► readiness set, waker taken ──► wake
//!   task polled again: read() → data
//! ```
//!
//! **Edge-triggered, kept per direction.** mio registers sources
//! edge-triggered: an event says "became ready", once. So readiness is
//! remembered here until an operation that returns `WouldBlock` clears it;
//! a reader and a writer each have their own bit and their own waker. No
//! event can slip between the `WouldBlock` and the clearing: events are
//! dispatched only by the loop, between task polls, and a task clears its
//! readiness inside its own poll.
//!
//! **Generations.** A source dropped while its event is still in flight
//! (already in epoll's ready list, say) frees its slot; the next source in
//! that slot has a new generation, so the old event names nobody.

use slab::Slab;
use std::task::{Context, Poll, Waker};

/// A direction of readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn bit(self) -> u8 {
        match self {
            Direction::Read => 1,
            Direction::Write => 2,
        }
    }

    fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// Names a registered source: its slab slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceKey(usize);

struct Source {
    generation: u32,
    /// `Direction::bit`s of the directions known to be ready.
    ready: u8,
    /// `Direction::bit`s of the directions closed (the peer hung up, or an
    /// error): sticky, never cleared, since no further edge will come.
    closed: u8,
    /// The waker waiting for each direction (`Direction::index`).
    wakers: [Option<Waker>; 2],
}

/// The loop's registered I/O sources (loop thread only).
#[derive(Default)]
pub(crate) struct Reactor {
    sources: Slab<Source>,
    last_generation: u32,
}

impl Reactor {
    /// How many sources are registered: with none, the loop never polls
    /// for I/O on its own (a loop without sockets pays nothing for them).
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Adds a source; returns its key and the token to register it with.
    pub fn insert(&mut self) -> (SourceKey, mio::Token) {
        self.last_generation = self.last_generation.wrapping_add(1);
        let generation = self.last_generation;
        let slot = self.sources.insert(Source {
            generation,
            ready: 0,
            closed: 0,
            wakers: [None, None],
        });
        (SourceKey(slot), token_of(slot, generation))
    }

    /// Removes a source (it was deregistered); hands back its wakers for
    /// the caller to drop outside any borrow.
    pub fn remove(&mut self, key: SourceKey) -> [Option<Waker>; 2] {
        self.sources
            .try_remove(key.0)
            .map_or([None, None], |s| s.wakers)
    }

    /// An event for `token`: marks the directions ready and pushes the
    /// wakers to wake onto `to_wake` (the caller wakes them after the
    /// borrow). A token of a source gone (slot reused or empty) is ignored.
    pub fn dispatch(&mut self, token: mio::Token, event: Readiness, to_wake: &mut Vec<Waker>) {
        let (slot, generation) = slot_of(token);
        let Some(source) = self.sources.get_mut(slot) else {
            return;
        };
        if source.generation != generation {
            return; // a dropped source's event: its slot belongs to another now
        }
        for (ready, closed, direction) in [
            (event.readable, event.read_closed, Direction::Read),
            (event.writable, event.write_closed, Direction::Write),
        ] {
            if closed {
                source.closed |= direction.bit();
            }
            if ready || closed {
                source.ready |= direction.bit();
                if let Some(waker) = source.wakers[direction.index()].take() {
                    to_wake.push(waker);
                }
            }
        }
    }

    /// Ready in `direction`? If not, `cx`'s waker is stored to be woken by
    /// the next event. Returns the waker it replaced, for the caller to drop
    /// outside the borrow.
    pub fn poll_ready(
        &mut self,
        key: SourceKey,
        direction: Direction,
        cx: &Context<'_>,
    ) -> (Poll<()>, Option<Waker>) {
        let Some(source) = self.sources.get_mut(key.0) else {
            return (Poll::Ready(()), None); // gone: let the operation report it
        };
        if (source.ready | source.closed) & direction.bit() != 0 {
            return (Poll::Ready(()), None);
        }
        let slot = &mut source.wakers[direction.index()];
        match slot {
            Some(current) if current.will_wake(cx.waker()) => (Poll::Pending, None),
            _ => (Poll::Pending, slot.replace(cx.waker().clone())),
        }
    }

    /// An operation in `direction` returned `WouldBlock`: not ready any more.
    pub fn clear_ready(&mut self, key: SourceKey, direction: Direction) {
        if let Some(source) = self.sources.get_mut(key.0) {
            source.ready &= !direction.bit();
        }
    }
}

/// What an event says, per direction. A closed or failed side is ready for
/// good (the next operation reports it: EOF, an error), so it is kept apart:
/// clearing readiness after a `WouldBlock` or a short read must not forget
/// it, as no further edge will announce it again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub readable: bool,
    pub writable: bool,
    pub read_closed: bool,
    pub write_closed: bool,
}

impl Readiness {
    pub fn of(event: &mio::event::Event) -> Readiness {
        Readiness {
            readable: event.is_readable(),
            writable: event.is_writable(),
            read_closed: event.is_read_closed() || event.is_error(),
            write_closed: event.is_write_closed() || event.is_error(),
        }
    }
}

/// The token of slot `slot` at `generation`: the generation in the high
/// 32 bits. (The loop's own tokens sit at the very top of the range,
/// where no slot number reaches.)
fn token_of(slot: usize, generation: u32) -> mio::Token {
    mio::Token(((generation as usize) << 32) | (slot & 0xFFFF_FFFF))
}

fn slot_of(token: mio::Token) -> (usize, u32) {
    (token.0 & 0xFFFF_FFFF, (token.0 >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Waker, Arc<Count>) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Waker::from(Arc::clone(&count)), count)
    }

    #[test]
    fn an_event_wakes_the_waiting_direction_only() {
        let mut reactor = Reactor::default();
        let (key, token) = reactor.insert();
        let (reader, reads) = waker();
        let (writer, writes) = waker();
        assert!(reactor
            .poll_ready(key, Direction::Read, &Context::from_waker(&reader))
            .0
            .is_pending());
        assert!(reactor
            .poll_ready(key, Direction::Write, &Context::from_waker(&writer))
            .0
            .is_pending());
        let mut to_wake = Vec::new();
        let event = Readiness {
            readable: true,
            ..Readiness::default()
        };
        reactor.dispatch(token, event, &mut to_wake);
        to_wake.drain(..).for_each(Waker::wake);
        assert_eq!(reads.0.load(Ordering::SeqCst), 1);
        assert_eq!(writes.0.load(Ordering::SeqCst), 0);
        let cx = Context::from_waker(&reader);
        assert!(reactor.poll_ready(key, Direction::Read, &cx).0.is_ready());
        reactor.clear_ready(key, Direction::Read);
        assert!(reactor.poll_ready(key, Direction::Read, &cx).0.is_pending());
    }

    #[test]
    fn a_closed_side_stays_ready_after_clearing() {
        let mut reactor = Reactor::default();
        let (key, token) = reactor.insert();
        let mut to_wake = Vec::new();
        let hung_up = Readiness {
            readable: true,
            read_closed: true,
            ..Readiness::default()
        };
        reactor.dispatch(token, hung_up, &mut to_wake);
        reactor.clear_ready(key, Direction::Read); // a short read took the last bytes
        let (w, _) = waker();
        let cx = Context::from_waker(&w);
        assert!(
            reactor.poll_ready(key, Direction::Read, &cx).0.is_ready(),
            "EOF is still to be read: no further edge would announce it"
        );
    }

    #[test]
    fn an_event_for_a_dropped_source_whose_slot_was_reused_wakes_nobody() {
        let mut reactor = Reactor::default();
        let (old, old_token) = reactor.insert();
        let _ = reactor.remove(old);
        let (new, new_token) = reactor.insert();
        assert_ne!(old_token, new_token, "same slot, new generation");
        let (w, wakes) = waker();
        let _ = reactor.poll_ready(new, Direction::Read, &Context::from_waker(&w));
        let mut to_wake = Vec::new();
        let event = Readiness {
            readable: true,
            writable: true,
            ..Readiness::default()
        };
        reactor.dispatch(old_token, event, &mut to_wake);
        assert!(to_wake.is_empty());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        let cx = Context::from_waker(&w);
        assert!(reactor.poll_ready(new, Direction::Read, &cx).0.is_pending());
    }
}
