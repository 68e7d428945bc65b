//! Loom models of the sleep/notify handshake in [`SleepState`].
//!
//! Run with (a separate target dir keeps the loom build away from the normal one):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p looplet-injector --release --test loom_sleep_state
//! ```
//!
//! Without `--cfg loom` this file compiles to nothing. With it, `loom` must be
//! a `[target.'cfg(loom)'.dependencies]` entry of `injector/Cargo.toml`, not a
//! dev-dependency: the library itself (`src/sync.rs`) uses loom's atomics, and
//! an integration test links the library as built without dev-dependencies.
//!
//! ## What is modelled
//!
//! The real [`SleepState`] is used unchanged: under `cfg(loom)` its atomic and
//! its `fence` come from `loom::sync::atomic`, so loom explores the
//! interleavings of its operations and the stale values a weak-memory load
//! may return. The two things around it that are not atomics of ours are
//! replaced by loom counters:
//!
//! * **The queue** (crossbeam's channel) is a counter of messages pushed. A
//!   push is a `Relaxed` increment and the loop's "is it empty?" is a
//!   `Relaxed` load compared with how many it has already taken. `Relaxed` is
//!   deliberately weaker than crossbeam: the only thing that may make the
//!   push visible to the loop's last check is the pair of `SeqCst` fences
//!   inside `notify` and `announce_sleep`, which is exactly the claim of the
//!   ordering argument in `sleep_state.rs`.
//! * **The eventfd** (`mio::Waker`) is a counter of wake syscalls. A wake is a
//!   `Release` increment and a parked loop notices it with an `Acquire` load:
//!   writing an eventfd and returning from `epoll_wait` on it synchronise
//!   through the kernel, so that much ordering is real.
//!
//! A producer does what `Injector::push` does: push, then `notify()`, then a
//! wake syscall if and only if it got [`Wake::Needed`]. The loop does what
//! `Inbox::prepare_to_sleep` and the executor around it do: `announce_sleep()`,
//! look at the queue once more, then either park (queue empty) or call
//! `woke_up()` and drain.
//!
//! "Parked" is a loop that waits for the wake counter to move. A parked loop
//! whose wake never comes is *stuck forever*; the models finish such a run
//! (once the producers are done) and then fail if anything is still queued:
//! a loop asleep for good on a non-empty queue is the lost wakeup.
//!
//! Every model runs with a preemption bound of 3, which takes well under a
//! second in `--release`. `LOOM_MAX_PREEMPTIONS=8` searches deeper (about
//! 340,000 executions for the two-cycle model, some 25 s) and passes too.
//! With `--nocapture` each model prints how many executions it explored.
//!
//! ## Sanity check: the models can fail
//!
//! A model that passes whatever the code does proves nothing, so each one was
//! checked, by hand and not shipped as a test, to fail against a broken
//! protocol:
//!
//! * a producer that looks at the state *before* pushing,
//!
//!   ```text
//!   let wake = state.notify();      // reads AWAKE …
//!   pushed.fetch_add(1, Relaxed);   // … then pushes: the loop already looked
//!   ```
//!
//!   fails `push_vs_park_never_loses_a_wakeup` and
//!   `loop_that_wakes_up_then_sleeps_again_is_woken_again` (lost wakeup);
//! * keeping the right order but deleting either `fence(SeqCst)` (the one in
//!   `notify` or the one in `announce_sleep`) fails the same two models. No
//!   sequentially consistent interleaving loses a wakeup then; loom finds the
//!   store-buffering execution in which each side's store is not yet visible
//!   to the other side's load;
//! * `notify` storing `NOTIFIED` instead of winning a CAS fails
//!   `two_producers_wake_a_sleeping_loop_at_most_once` and
//!   `claim_wake_and_producer_wake_are_coalesced` (two wakes);
//! * a sticky `NOTIFIED` (`woke_up` not resetting it, `announce_sleep` not
//!   overwriting it) passes the one-cycle models but fails
//!   `loop_that_wakes_up_then_sleeps_again_is_woken_again`: the second
//!   message sees `NOTIFIED` from the first cycle and skips the wake.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::Arc;
use loom::thread;
use looplet_injector::{SleepState, Wake};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// What the producers and the loop share: the real state plus the two mocks.
struct Shared {
    state: SleepState,
    /// Mock queue: how many messages have ever been pushed. The loop keeps
    /// its own count of how many it has taken; the difference is queued.
    pushed: AtomicUsize,
    /// Mock eventfd: how many wake syscalls producers (or the loop) issued.
    wake_syscalls: AtomicUsize,
}

impl Shared {
    fn new() -> Arc<Self> {
        Arc::new(Shared {
            state: SleepState::new(),
            pushed: AtomicUsize::new(0),
            wake_syscalls: AtomicUsize::new(0),
        })
    }

    /// `Injector::push`: queue the message, then notify, then maybe wake.
    fn push(&self) -> Wake {
        self.pushed.fetch_add(1, Relaxed);
        let wake = self.state.notify();
        if wake == Wake::Needed {
            self.wake_syscall();
        }
        wake
    }

    /// `Injector::wake`: write the eventfd.
    fn wake_syscall(&self) {
        self.wake_syscalls.fetch_add(1, Release);
    }

    /// The loop's last look at the queue after `announce_sleep`.
    fn queue_is_empty(&self, taken: usize) -> bool {
        self.pushed.load(Relaxed) == taken
    }

    /// The loop drains: takes every message it can see. Returns the new total.
    fn drain(&self) -> usize {
        self.pushed.load(Relaxed)
    }
}

/// Runs `f` under loom with a preemption bound of 3 (unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise) and reports how many executions
/// were explored.
fn model<F>(name: &str, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    // Outside the model, so a plain std counter (tests run in parallel: one each).
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&executions);
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    eprintln!("{name}: {} executions explored", executions.load(Relaxed));
}

/// One producer pushes one message while the loop goes through one
/// announce / re-check / park-or-not. Whatever the interleaving, the message
/// is never stranded: either the loop's re-check saw it, or the loop parked
/// and a wake is on its way.
#[test]
fn push_vs_park_never_loses_a_wakeup() {
    model("push_vs_park_never_loses_a_wakeup", || {
        let shared = Shared::new();

        let producer = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.push())
        };

        // The loop: it has drained (nothing yet) and wants to sleep.
        shared.state.announce_sleep();
        let parked = shared.queue_is_empty(0);
        let seen = !parked;
        if seen {
            // The message slipped in: `prepare_to_sleep` returns false.
            let _ = shared.state.woke_up();
        }

        let _ = producer.join().unwrap();
        let wakes = shared.wake_syscalls.load(Relaxed);
        if parked {
            assert!(
                wakes >= 1,
                "lost wakeup: the loop parked and nobody woke it"
            );
        }
        assert!(
            seen || wakes >= 1,
            "the message is neither seen by the loop nor announced by a wake"
        );
        assert!(wakes <= 1, "one message, one producer: at most one wake");
    });
}

/// The loop announced sleep and parked on an empty queue before either
/// producer ran. Two producers then push concurrently: exactly one of them
/// wins the `SLEEPING -> NOTIFIED` transition and issues the syscall.
#[test]
fn two_producers_wake_a_sleeping_loop_at_most_once() {
    model("two_producers_wake_a_sleeping_loop_at_most_once", || {
        let shared = Shared::new();

        // The loop, before any producer exists.
        shared.state.announce_sleep();
        assert!(shared.queue_is_empty(0));
        assert!(shared.state.is_sleeping());

        let producers: Vec<_> = (0..2)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || shared.push())
            })
            .collect();
        let needed = producers
            .into_iter()
            .map(|p| p.join().unwrap())
            .filter(|&w| w == Wake::Needed)
            .count();

        assert_eq!(needed, 1, "exactly one producer must be told to wake");
        assert_eq!(
            shared.wake_syscalls.load(Relaxed),
            1,
            "a burst against a sleeping loop costs one syscall"
        );
        // The loop wakes, learns it was notified, and finds both messages.
        assert!(shared.state.woke_up(), "a producer had notified");
        assert_eq!(shared.drain(), 2);
    });
}

/// A loop that sleeps, is woken, drains, and goes to sleep again, against a
/// producer pushing two messages. The loop runs until it parks with no wake
/// coming (idle for good); at that point nothing may be left in the queue.
///
/// The eventfd is consumed on waking: a parked loop continues only when the
/// wake counter has moved past what it already consumed, and consuming takes
/// every pending wake at once (like reading an eventfd, which resets it), so
/// an earlier cycle's wake cannot be reused to cover a later one.
#[test]
fn loop_that_wakes_up_then_sleeps_again_is_woken_again() {
    const MESSAGES: usize = 2;
    // A cycle ends in a re-check that found a message (at most one per
    // message), in a consumed wake (at most one per message), or parked for
    // good (once): a loop that cycles more often spins without progress.
    const MAX_CYCLES: usize = 2 * MESSAGES + 1;

    model(
        "loop_that_wakes_up_then_sleeps_again_is_woken_again",
        || {
            let shared = Shared::new();
            let producer_done = Arc::new(AtomicBool::new(false));

            let producer = {
                let shared = Arc::clone(&shared);
                let done = Arc::clone(&producer_done);
                thread::spawn(move || {
                    for _ in 0..MESSAGES {
                        let _ = shared.push();
                    }
                    done.store(true, Release);
                })
            };

            let mut taken;
            let mut consumed_wakes = 0;
            let mut cycles = 0;
            loop {
                cycles += 1;
                assert!(cycles <= MAX_CYCLES, "the loop cycles without progress");

                // A turn: drain everything visible.
                taken = shared.drain();

                // `prepare_to_sleep`.
                shared.state.announce_sleep();
                if !shared.queue_is_empty(taken) {
                    let _ = shared.state.woke_up();
                    continue;
                }

                // Park: wait for the eventfd. If the producer has finished and no
                // wake is pending, no wake will ever come: stuck forever.
                let woken = loop {
                    let wakes = shared.wake_syscalls.load(Acquire);
                    if wakes > consumed_wakes {
                        consumed_wakes = wakes;
                        break true;
                    }
                    if producer_done.load(Acquire) {
                        // Everything the producer did is visible now.
                        let wakes = shared.wake_syscalls.load(Acquire);
                        if wakes > consumed_wakes {
                            consumed_wakes = wakes;
                            break true;
                        }
                        break false;
                    }
                    thread::yield_now();
                };
                if !woken {
                    break; // parked for good, having taken `taken` messages
                }
                let _ = shared.state.woke_up();
            }

            producer.join().unwrap();
            let pushed = shared.pushed.load(Relaxed);
            assert_eq!(pushed, MESSAGES);
            assert_eq!(
                pushed - taken,
                0,
                "lost wakeup: the loop is parked forever with messages queued"
            );
        },
    );
}

/// The loop announced sleep and, handing control back to a host with work
/// pending, claims the wake for itself while a producer pushes. The two race
/// for the same `SLEEPING -> NOTIFIED` transition: exactly one of them is
/// told to issue the wake, so the host hears about it exactly once.
#[test]
fn claim_wake_and_producer_wake_are_coalesced() {
    model("claim_wake_and_producer_wake_are_coalesced", || {
        let shared = Shared::new();

        // The loop, before the producer exists.
        shared.state.announce_sleep();

        let producer = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.push())
        };

        // `Inbox::return_to_host`.
        let claimed = shared.state.claim_wake();
        if claimed == Wake::Needed {
            shared.wake_syscall();
        }
        let pushed = producer.join().unwrap();

        let needed = [claimed, pushed]
            .iter()
            .filter(|&&w| w == Wake::Needed)
            .count();
        assert_eq!(needed, 1, "claim_wake {claimed:?}, producer {pushed:?}");
        assert_eq!(shared.wake_syscalls.load(Relaxed), 1);
        assert!(!shared.state.is_sleeping(), "the state is NOTIFIED");
        assert!(
            shared.state.woke_up(),
            "a wake was issued since the announcement"
        );
    });
}
