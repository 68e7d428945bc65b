//! The injector itself: a queue, a wake fd and the [`SleepState`] that
//! decides when the fd must be written.

use crate::sleep_state::{SleepState, Wake};
use crossbeam_channel::{Receiver, Sender};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// A function called every time the loop must be woken, on the thread that
/// issues the wake (a producer, or the loop itself handing back to its host
/// with work pending): how a GUI or game host that drives the loop learns it
/// has work.
pub type WakeHook = Arc<dyn Fn() + Send + Sync>;

/// The loop has been dropped: the message is handed back, never stranded.
#[derive(PartialEq, Eq)]
pub struct Refused<T>(pub T);

impl<T> fmt::Debug for Refused<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Refused(..)")
    }
}

impl<T> fmt::Display for Refused<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop is closed")
    }
}

impl<T> std::error::Error for Refused<T> {}

/// The sending side: shared by every thread that feeds the loop.
pub struct Injector<T> {
    queue: Sender<T>,
    state: SleepState,
    waker: mio::Waker,
    wake_hook: Option<WakeHook>,
    wake_syscalls: AtomicU64,
    closed: AtomicBool,
}

/// The receiving side: owned by the loop thread. Dropping it closes the loop
/// to new messages and drops the queued ones.
pub struct Inbox<T> {
    queue: Receiver<T>,
    injector: Arc<Injector<T>>,
}

/// Creates the injector and its inbox. The wake fd is registered with
/// `registry` under `token`; the loop recognises its events by that token.
pub fn channel<T>(
    registry: &mio::Registry,
    token: mio::Token,
    wake_hook: Option<WakeHook>,
) -> io::Result<(Arc<Injector<T>>, Inbox<T>)> {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let injector = Arc::new(Injector {
        queue: sender,
        state: SleepState::new(),
        waker: mio::Waker::new(registry, token)?,
        wake_hook,
        wake_syscalls: AtomicU64::new(0),
        closed: AtomicBool::new(false),
    });
    let inbox = Inbox {
        queue: receiver,
        injector: Arc::clone(&injector),
    };
    Ok((injector, inbox))
}

impl<T> Injector<T> {
    /// Queues `message` for the loop and wakes it if (and only if) it could
    /// be asleep. Fails, returning the message, once the loop is gone.
    pub fn push(&self, message: T) -> Result<(), Refused<T>> {
        // Push first, then look at the state: see `SleepState` for why this
        // order makes a lost wakeup impossible.
        self.queue
            .send(message)
            .map_err(|rejected| Refused(rejected.into_inner()))?;
        if self.state.notify() == Wake::Needed {
            self.wake();
        }
        Ok(())
    }

    /// How many times the wake fd has been written (each one is a syscall).
    pub fn wake_syscalls(&self) -> u64 {
        self.wake_syscalls.load(Relaxed)
    }

    /// True once the loop's [`Inbox`] has been dropped: every later
    /// [`push`](Self::push) fails with [`Refused`].
    pub fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Writes the wake fd and calls the host's wake hook.
    fn wake(&self) {
        self.wake_syscalls.fetch_add(1, Relaxed);
        // `wake` fails only if the fd is gone, i.e. the poller was dropped
        // with the loop; there is nobody left to wake, so ignoring is right.
        let _ = self.waker.wake();
        if let Some(hook) = &self.wake_hook {
            hook();
        }
    }
}

impl<T> Inbox<T> {
    /// Takes the next message, if any. Never blocks.
    pub fn try_recv(&self) -> Option<T> {
        // `Disconnected` cannot happen: this inbox holds a sender through its
        // `injector`, so the only error is `Empty`.
        self.queue.try_recv().ok()
    }

    /// Number of messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True if no message is waiting.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The sending side, to hand out to other threads.
    pub fn injector(&self) -> &Arc<Injector<T>> {
        &self.injector
    }

    /// Announces that the loop is about to sleep and checks the queue one
    /// last time. Returns `true` if the loop may sleep now; `false` if a
    /// message slipped in (the loop is marked awake again and must drain).
    ///
    /// After a `true`, the loop sleeps and then calls [`woke_up`](Self::woke_up).
    #[must_use = "the loop may sleep only if this returned true"]
    pub fn prepare_to_sleep(&self) -> bool {
        self.injector.state.announce_sleep();
        if self.queue.is_empty() {
            true
        } else {
            self.injector.state.woke_up();
            false
        }
    }

    /// Marks the loop awake: producers stop issuing wake syscalls.
    /// Returns whether a producer had woken it.
    pub fn woke_up(&self) -> bool {
        self.injector.state.woke_up()
    }

    /// Hands control back to a host that drives the loop turn by turn.
    ///
    /// Between host-driven calls the loop counts as *asleep*: it is not
    /// draining its queue, so a producer must wake it (write the fd, call
    /// the wake hook) for the host to notice. This announces the sleep and,
    /// if work is already waiting — a message in the queue, or
    /// `local_work_pending` (tasks or callbacks made ready on the loop
    /// thread) — issues that wake itself, so the host's poller sees the
    /// loop's fd readable right away. The next turn starts with
    /// [`woke_up`](Self::woke_up).
    pub fn return_to_host(&self, local_work_pending: bool) {
        self.injector.state.announce_sleep();
        if (local_work_pending || !self.queue.is_empty())
            && self.injector.state.claim_wake() == Wake::Needed
        {
            self.injector.wake();
        }
    }

    /// True while producers would have to wake the loop.
    pub fn is_sleeping(&self) -> bool {
        self.injector.state.is_sleeping()
    }
}

impl<T> Drop for Inbox<T> {
    fn drop(&mut self) {
        self.injector.closed.store(true, Relaxed);
        // Dropping `queue` (the only receiver) disconnects the channel:
        // crossbeam drops every queued message now and makes every later
        // `send` return its message, so `push` reports `Refused` instead of
        // stranding it. That covers a push racing this drop too: it either
        // lands before the disconnect (and is dropped here) or is refused.
    }
}

impl<T> fmt::Debug for Injector<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Injector")
            .field("queued", &self.queue.len())
            .field("state", &self.state)
            .field("wake_syscalls", &self.wake_syscalls())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn pair<T>() -> (mio::Poll, Arc<Injector<T>>, Inbox<T>) {
        let poll = mio::Poll::new().unwrap();
        let (injector, inbox) = channel(poll.registry(), mio::Token(7), None).unwrap();
        (poll, injector, inbox)
    }

    #[test]
    fn push_to_an_awake_loop_makes_no_syscall() {
        let (_poll, injector, inbox) = pair();
        for i in 0..100 {
            injector.push(i).unwrap();
        }
        assert_eq!(injector.wake_syscalls(), 0);
        assert_eq!(inbox.len(), 100);
        assert_eq!(inbox.try_recv(), Some(0), "FIFO");
    }

    #[test]
    fn a_burst_against_a_sleeping_loop_makes_one_syscall() {
        let (_poll, injector, inbox) = pair();
        assert!(inbox.prepare_to_sleep());
        for i in 0..100 {
            injector.push(i).unwrap();
        }
        assert_eq!(injector.wake_syscalls(), 1);
        assert!(inbox.woke_up());
    }

    #[test]
    fn the_wake_makes_the_poller_return() {
        let (mut poll, injector, inbox) = pair();
        assert!(inbox.prepare_to_sleep());
        let producer = std::thread::spawn(move || injector.push(1).unwrap());
        let mut events = mio::Events::with_capacity(4);
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        producer.join().unwrap();
        assert!(events.iter().any(|e| e.token() == mio::Token(7)));
        inbox.woke_up();
        assert_eq!(inbox.try_recv(), Some(1));
    }

    #[test]
    fn a_message_that_slipped_in_cancels_the_sleep() {
        let (_poll, injector, inbox) = pair();
        injector.push(1).unwrap();
        assert!(!inbox.prepare_to_sleep());
        assert!(!inbox.is_sleeping());
    }

    #[test]
    fn returning_to_the_host_with_work_pending_wakes_it_once() {
        let poll = mio::Poll::new().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let hook: WakeHook = Arc::new(move || {
            counter.fetch_add(1, Relaxed);
        });
        let (injector, inbox) = channel::<u8>(poll.registry(), mio::Token(0), Some(hook)).unwrap();
        inbox.return_to_host(false);
        assert_eq!(calls.load(Relaxed), 0, "nothing pending: no wake");
        assert!(
            inbox.is_sleeping(),
            "between host turns the loop counts as asleep"
        );
        injector.push(1).unwrap();
        assert_eq!(calls.load(Relaxed), 1, "a producer wakes the host");
        inbox.woke_up();
        assert_eq!(inbox.try_recv(), Some(1));

        injector.push(2).unwrap(); // arrives while the loop is awake: no wake
        inbox.return_to_host(false);
        assert_eq!(
            calls.load(Relaxed),
            2,
            "queued work at hand-back wakes the host"
        );
        injector.push(3).unwrap();
        assert_eq!(calls.load(Relaxed), 2, "coalesced with the hand-back wake");
        inbox.woke_up();
        inbox.return_to_host(true);
        assert_eq!(
            calls.load(Relaxed),
            3,
            "local work pending wakes the host too"
        );
        assert_eq!(injector.wake_syscalls(), 3);
    }

    #[test]
    fn dropping_the_inbox_drops_queued_messages_and_refuses_new_ones() {
        let (_poll, injector, inbox) = pair();
        let witness = Arc::new(());
        injector.push(Arc::clone(&witness)).unwrap();
        drop(inbox);
        assert_eq!(Arc::strong_count(&witness), 1, "queued message dropped");
        assert!(injector.is_closed());
        let refused = injector.push(Arc::clone(&witness)).unwrap_err();
        assert_eq!(Arc::strong_count(&refused.0), 2, "handed back, not leaked");
    }
}
