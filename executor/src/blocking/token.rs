//! `CancelToken`: how a blocking job hears "stop".
//!
//! A thread cannot be killed: there is no safe way to stop code in the
//! middle of a `read(2)` or a tight loop, and its locks, files and
//! allocations would be left half-done. What *can* be done is to ask, and
//! to make asking cheap to hear. So every job on the blocking pool is
//! handed a token, and the job looks at it where stopping is safe:
//!
//! ```text
//!   the loop thread                          the job's thread
//!   ───────────────                          ────────────────
//!   handle.cancel(), drop(handle),           loop {
//!   the awaiting task cancelled,               token.check()?;           ← between steps
//!   shutdown_blocking ──► token.cancel()       step();
//!                           │                  token.wait_timeout(1 s);  ← instead of sleep(1 s):
//!                           └─ flag + notify ──────────────────────────────  returns at once
//!                                            }
//! ```
//!
//! The flag is an atomic, so `is_cancelled` and `check` cost one load. A
//! job that must pause uses [`CancelToken::wait_timeout`] instead of
//! `thread::sleep`: it sleeps on a condition variable that `cancel`
//! notifies, so "sleep a second between polls" ends the moment the job is
//! cancelled, not a second later.
//!
//! Why the wait cannot miss the cancel: `cancel` sets the flag *before* it
//! takes the lock to notify; `wait_timeout` reads the flag *under* that lock
//! before it sleeps. If the waiter read the flag first, it was asleep (the
//! lock released inside the wait) when the canceller took the lock, and the
//! notify reaches it; if the canceller came first, the waiter sees the flag.
//! The loom model `loom_cancel_vs_wait_timeout_never_misses` checks it.

use crate::clock::deadline_after;
use crate::sync::{Arc, AtomicBool, Condvar, Mutex};
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A request to stop, shared between whoever may cancel a blocking job and
/// the job itself. [`spawn_blocking`](crate::spawn_blocking) hands one to
/// every job; clones share the same flag (give one to a helper thread).
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::CancelToken;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let (started, running) = std::sync::mpsc::channel();
/// let poller = event_loop.spawn_blocking(move |token: &CancelToken| {
///     started.send(()).unwrap();
///     let mut polls = 0;
///     // asyncio's `while True: poll(); time.sleep(1)`, but it can be told to stop:
///     while !token.wait_timeout(Duration::from_secs(1)) {
///         polls += 1;
///     }
///     polls
/// });
/// running.recv_timeout(Duration::from_secs(10)).unwrap(); // on a pool thread now
/// poller.cancel(); // the wait returns at once, not a second later
/// assert_eq!(event_loop.block_on(poller).unwrap(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct CancelToken {
    state: Arc<TokenState>,
}

struct TokenState {
    cancelled: AtomicBool,
    /// Guards nothing but the sleep: see the module docs for why the flag
    /// is read under it before a wait.
    lock: Mutex<()>,
    cancelled_signal: Condvar,
}

/// The error of [`CancelToken::check`]: the job was asked to stop.
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::{CancelToken, Cancelled};
/// fn copy_in_chunks(token: &CancelToken, chunks: u32) -> Result<u32, Cancelled> {
///     for done in 0..chunks {
///         token.check()?; // between chunks: where stopping is safe
///         let _ = done; // … copy one chunk …
///     }
///     Ok(chunks)
/// }
/// let token = CancelToken::new();
/// assert_eq!(copy_in_chunks(&token, 3), Ok(3));
/// token.cancel();
/// assert_eq!(copy_in_chunks(&token, 3), Err(Cancelled));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the blocking job was cancelled")
    }
}

impl std::error::Error for Cancelled {}

impl CancelToken {
    /// A token nobody has cancelled. The pool makes one per job; make your
    /// own to call a job's function without a loop (in a unit test, say).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let token = looplet::CancelToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn new() -> Self {
        CancelToken {
            state: Arc::new(TokenState {
                cancelled: AtomicBool::new(false),
                lock: Mutex::new(()),
                cancelled_signal: Condvar::new(),
            }),
        }
    }

    /// Asks the job to stop: from now on `is_cancelled` is true, `check`
    /// fails, and every `wait_timeout` (those asleep now too) returns
    /// `true` at once. Idempotent.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let token = looplet::CancelToken::new();
    /// let job_side = token.clone();
    /// token.cancel();
    /// token.cancel(); // harmless
    /// assert!(job_side.is_cancelled(), "clones share the request");
    /// ```
    pub fn cancel(&self) {
        if self.state.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        // Take the lock before notifying, so a waiter that read the flag as
        // false is asleep by now (see the module docs).
        let _guard = self.state.lock.lock();
        self.state.cancelled_signal.notify_all();
    }

    /// True once the job was asked to stop. One atomic load: cheap enough
    /// for every iteration of a loop.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let job = event_loop.spawn_blocking(|token| {
    ///     let mut steps = 0_u64;
    ///     while !token.is_cancelled() && steps < 1_000_000 {
    ///         steps += 1;
    ///     }
    ///     steps
    /// });
    /// assert!(event_loop.block_on(job).unwrap() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::Acquire)
    }

    /// `Err(Cancelled)` once the job was asked to stop: made for `?` in a
    /// job that returns a `Result` (see [`Cancelled`]).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let token = looplet::CancelToken::new();
    /// assert_eq!(token.check(), Ok(()));
    /// token.cancel();
    /// assert_eq!(token.check(), Err(looplet::Cancelled));
    /// ```
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    /// Sleeps up to `timeout`, or less if the job is cancelled meanwhile:
    /// `true` means cancelled (at once if it already was), `false` means
    /// the time ran out. Use it wherever a job would `thread::sleep`.
    /// `Duration::MAX` waits for the cancel alone.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let token = looplet::CancelToken::new();
    /// assert!(!token.wait_timeout(Duration::from_millis(1)), "timed out: not cancelled");
    /// let canceller = token.clone();
    /// std::thread::spawn(move || canceller.cancel());
    /// let start = Instant::now();
    /// assert!(token.wait_timeout(Duration::from_secs(30)), "woken by the cancel");
    /// assert!(start.elapsed() < Duration::from_secs(30));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        if self.is_cancelled() {
            return true;
        }
        let deadline = deadline_after(Instant::now(), timeout);
        let mut guard = self.state.lock.lock();
        loop {
            if self.is_cancelled() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            self.state.cancelled_signal.wait_until(&mut guard, deadline);
        }
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_wakes_a_waiter_that_is_already_asleep() {
        let token = CancelToken::new();
        let waiter = token.clone();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(waiter.wait_timeout(Duration::MAX)).unwrap());
        std::thread::sleep(Duration::from_millis(5)); // most likely asleep by now
        token.cancel();
        assert_eq!(
            finished.recv_timeout(Duration::from_secs(10)),
            Ok(true),
            "the cancel woke the wait"
        );
    }

    #[test]
    fn a_wait_after_the_cancel_returns_at_once_and_says_cancelled() {
        let token = CancelToken::new();
        token.cancel();
        assert!(token.wait_timeout(Duration::MAX));
        assert_eq!(token.check(), Err(Cancelled));
    }

    #[test]
    fn a_wait_that_times_out_says_not_cancelled() {
        let token = CancelToken::new();
        assert!(!token.wait_timeout(Duration::ZERO));
        assert!(!token.wait_timeout(Duration::from_millis(1)));
        assert_eq!(token.check(), Ok(()));
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use super::*;

    /// `cancel` on one thread, `wait_timeout(MAX)` on another: the wait
    /// always ends (loom has no clock, so it could only end by the notify
    /// or by seeing the flag). Fails if `cancel` notifies without taking
    /// the lock first.
    #[test]
    fn loom_cancel_vs_wait_timeout_never_misses() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let token = CancelToken::new();
            let canceller = token.clone();
            let thread = loom::thread::spawn(move || canceller.cancel());
            assert!(token.wait_timeout(Duration::MAX));
            thread.join().unwrap();
        });
    }
}
