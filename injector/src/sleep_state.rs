//! The sleep/notify handshake between the loop and the threads that feed it.
//!
//! The problem it solves is the classic *lost wakeup*. The loop checks its
//! queue, finds it empty, and goes to sleep in `epoll_wait`. If a producer
//! pushes between the check and the sleep and does not wake the loop, the
//! message sits there until something else happens — perhaps forever. The
//! blunt fix (asyncio's `call_soon_threadsafe`, tokio's remote spawn) is to
//! write to the wake fd on *every* push: one syscall per message. This state
//! lets producers skip the syscall whenever the loop is known to be awake.
//!
//! ## The states
//!
//! | state      | holds while                                                     | a producer … |
//! |------------|-----------------------------------------------------------------|--------------|
//! | `AWAKE`    | the loop is inside a turn and will drain the queue before it sleeps | does nothing more |
//! | `SLEEPING` | the loop announced it is about to sleep, is asleep, or is between host-driven calls | must wake it |
//! | `NOTIFIED` | the wake has been claimed since the announcement (by a producer, or by the loop itself handing back to a host with work pending) | does nothing more |
//!
//! ```text
//!            announce_sleep()            notify() (producer) / claim_wake() (loop)
//!   AWAKE ───────────────────────► SLEEPING ─────────────────────────► NOTIFIED
//!     ▲                               │                                   │
//!     └────────── woke_up() ──────────┴───────────── woke_up() ───────────┘
//! ```
//!
//! ## Why no wakeup is lost (the ordering argument)
//!
//! (S for the sending producer, R for the receiving loop.)
//!
//! Producer, in this order:  (S1) push the message;  (S2) `fence(SeqCst)`;
//! (S3) read the state; if `SLEEPING`, CAS it to `NOTIFIED` and wake.
//!
//! Loop, in this order:  (R1) store `SLEEPING`;  (R2) `fence(SeqCst)`;
//! (R3) look at the queue; sleep only if it is empty.
//!
//! All `SeqCst` fences are totally ordered. If S2 comes before R2, the push
//! (S1, sequenced before S2) is visible to the loop's read R3, so the loop sees
//! the message and does not sleep. If R2 comes before S2, the store R1 is
//! visible to the producer's read S3, so the producer sees `SLEEPING` (or
//! `NOTIFIED`, meaning another producer already woke the loop) and the loop is
//! woken. There is no third order, so "the loop sleeps on a non-empty queue
//! with no wake pending" cannot happen. One more case: the producer may read
//! `AWAKE`, written by a loop that slept, woke and will announce again; then
//! that next announcement is ordered after S2, and its R3 sees the message
//! (docs/03 spells this out; the loom model
//! `loop_that_wakes_up_then_sleeps_again_is_woken_again` checks it). The loom model in
//! `tests/loom_sleep_state.rs` checks exactly this, with the queue and the
//! eventfd replaced by counters.
//!
//! Only one producer wins the CAS from `SLEEPING` to `NOTIFIED`, so a burst
//! of pushes against a sleeping loop costs one syscall, and pushes against an
//! awake loop cost none.

use crate::sync::{fence, AtomicU8};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

const AWAKE: u8 = 0;
const SLEEPING: u8 = 1;
const NOTIFIED: u8 = 2;

/// What a producer must do after pushing a message.
#[must_use = "a producer that ignores Wake::Needed leaves the loop asleep"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The loop is awake, or another producer already woke it: nothing to do.
    NotNeeded,
    /// This producer moved the state to `NOTIFIED`: it must issue the wake.
    Needed,
}

/// The one atomic byte shared by the loop and its producers.
/// See the module docs for the states and the ordering argument.
#[derive(Debug)]
pub struct SleepState {
    state: AtomicU8,
}

impl Default for SleepState {
    fn default() -> Self {
        Self::new()
    }
}

impl SleepState {
    /// A new state: the loop starts `AWAKE` (it drains before its first sleep).
    pub fn new() -> Self {
        SleepState {
            state: AtomicU8::new(AWAKE),
        }
    }

    /// Producer side, called *after* the message is in the queue (S2, S3).
    pub fn notify(&self) -> Wake {
        fence(SeqCst);
        // A plain load first: on the hot path (loop awake) we never write the
        // shared cache line, so producers do not contend with each other.
        if self.state.load(Relaxed) != SLEEPING {
            return Wake::NotNeeded;
        }
        match self
            .state
            .compare_exchange(SLEEPING, NOTIFIED, Relaxed, Relaxed)
        {
            Ok(_) => Wake::Needed,
            Err(_) => Wake::NotNeeded, // another producer won, or the loop woke
        }
    }

    /// Loop side, before it looks at the queue one last time (R1, R2).
    /// After this, the caller must check the queue and either sleep or call
    /// [`woke_up`](Self::woke_up).
    pub fn announce_sleep(&self) {
        self.state.store(SLEEPING, Relaxed);
        fence(SeqCst);
    }

    /// Loop side: back to `AWAKE` after sleeping (or after deciding not to).
    /// Returns whether a producer had issued a wake meanwhile.
    pub fn woke_up(&self) -> bool {
        self.state.swap(AWAKE, SeqCst) == NOTIFIED
    }

    /// Loop side, after [`announce_sleep`](Self::announce_sleep): claim the
    /// wake for itself. Used when the loop hands control back to a host with
    /// work already pending, so the host's poller sees the loop's fd
    /// readable. Returns [`Wake::Needed`] if the caller must issue the wake,
    /// exactly as a winning producer would; only one of them wins.
    pub fn claim_wake(&self) -> Wake {
        match self
            .state
            .compare_exchange(SLEEPING, NOTIFIED, SeqCst, SeqCst)
        {
            Ok(_) => Wake::Needed,
            Err(_) => Wake::NotNeeded,
        }
    }

    /// True while producers would have to wake the loop (for tests and docs).
    pub fn is_sleeping(&self) -> bool {
        self.state.load(SeqCst) == SLEEPING
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn awake_loop_needs_no_wake() {
        let s = SleepState::new();
        assert_eq!(s.notify(), Wake::NotNeeded);
    }

    #[test]
    fn only_the_first_producer_wakes_a_sleeping_loop() {
        let s = SleepState::new();
        s.announce_sleep();
        assert_eq!(s.notify(), Wake::Needed);
        assert_eq!(s.notify(), Wake::NotNeeded);
        assert!(s.woke_up(), "a producer had notified");
        assert!(!s.woke_up(), "already awake");
    }

    #[test]
    fn claim_wake_competes_with_producers() {
        let s = SleepState::new();
        s.announce_sleep();
        assert_eq!(s.claim_wake(), Wake::Needed);
        assert_eq!(s.notify(), Wake::NotNeeded);
        assert_eq!(s.claim_wake(), Wake::NotNeeded);
    }
}
