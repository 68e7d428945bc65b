//! `RemoteHandle`: a task's outcome, delivered to any thread — always.
//!
//! Python's `run_coroutine_threadsafe` completes the caller's future from a
//! callback on the loop; if the coroutine raises `SystemExit`, the callback
//! re-raises before completing it, and `result()` waits forever. Here the
//! completion cannot be forgotten because it is *structural*: the
//! [`Completer`] travels with the task (inside the message, then inside the
//! task's future), and if it is dropped without having completed — the
//! message was never run, the loop was dropped, the thread unwound — its
//! `Drop` resolves the handle `LoopClosed` (or `Cancelled`, if the caller
//! asked for that). Every path ends in a resolution.
//!
//! ```text
//!   Handle::spawn ──► Message::Spawn(closure{ future, Completer }) ──► loop spawns
//!        │                 │ dropped unrun (loop closed)                 │ task runs:
//!        │                 └──► Completer::drop ──► LoopClosed           ├─ Ready(v)  ──► Ok(v)
//!        ▼                                                               ├─ panic(p)  ──► Panicked(p)
//!   RemoteHandle ◄──────────────── Shared { Mutex<State>, Condvar } ◄────├─ cancel()  ──► Cancelled
//!    .wait() / .wait_timeout() / .await                                  └─ loop drop ──► LoopClosed
//! ```

use crate::join_handle::JoinError;
use crate::panic::{catch, Payload};
use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

enum State<T> {
    /// Not finished. `awaiter`: the waker of whoever awaits the handle;
    /// `task`: the remote task's own waker, so `cancel()` can wake it.
    Pending {
        awaiter: Option<Waker>,
        task: Option<Waker>,
    },
    Done(Result<T, JoinError>),
    /// The outcome was handed to the caller.
    Taken,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    finished: Condvar,
    cancel_requested: AtomicBool,
}

/// Creates a connected completer/handle pair.
pub(crate) fn pair<T>() -> (Completer<T>, RemoteHandle<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::Pending {
            awaiter: None,
            task: None,
        }),
        finished: Condvar::new(),
        cancel_requested: AtomicBool::new(false),
    });
    (
        Completer {
            shared: Arc::clone(&shared),
        },
        RemoteHandle { shared },
    )
}

/// The loop's end: resolves the handle exactly once, by `complete` or by `Drop`.
pub(crate) struct Completer<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Completer<T> {
    pub fn complete(self, outcome: Result<T, JoinError>) {
        self.resolve(outcome);
    }

    /// True if the caller asked to cancel. Registers the task's waker on the
    /// first call, so that a later `cancel()` can wake the task.
    fn cancel_requested(&self, cx: &Context<'_>, registered: &mut bool) -> bool {
        if !*registered {
            *registered = true;
            if let State::Pending { task, .. } = &mut *self.shared.state.lock() {
                *task = Some(cx.waker().clone());
            }
        }
        self.shared.cancel_requested.load(Ordering::Acquire)
    }

    fn resolve(&self, outcome: Result<T, JoinError>) {
        let mut state = self.shared.state.lock();
        let State::Pending { awaiter, task } = &mut *state else {
            return; // already resolved
        };
        let awaiter = awaiter.take();
        let task = task.take();
        *state = State::Done(outcome);
        drop(state);
        self.shared.finished.notify_all();
        if let Some(awaiter) = awaiter {
            awaiter.wake();
        }
        drop(task);
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        // Reached without `complete`: the task never ran to its end.
        if matches!(*self.shared.state.lock(), State::Pending { .. }) {
            let reason = if self.shared.cancel_requested.load(Ordering::Acquire) {
                JoinError::Cancelled
            } else {
                JoinError::LoopClosed
            };
            self.resolve(Err(reason));
        }
    }
}

/// Runs `future` as a remote task: panics are caught into the outcome, the
/// future is dropped *before* the outcome is delivered (so a waiter can rely
/// on its destructors having run), and a `cancel()` from the caller drops it
/// at its next poll.
pub(crate) async fn run_remote<F: Future>(future: F, completer: Completer<F::Output>) {
    // `pin!` inside an async fn: the future is pinned in this task's state,
    // a safe pin projection. It sits in an `Option` so it can be dropped
    // (`set(None)`) at a moment of our choosing, under `catch_unwind`.
    let mut future = pin!(Some(future));
    let mut registered = false;
    let outcome = poll_fn(|cx| {
        if completer.cancel_requested(cx, &mut registered) {
            return Poll::Ready(Err(JoinError::Cancelled));
        }
        let running = future
            .as_mut()
            .as_pin_mut()
            .expect("polled after completion");
        match catch(|| running.poll(cx)) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(JoinError::Panicked(payload))),
        }
    })
    .await;
    let outcome = match catch(|| future.set(None)) {
        Ok(()) => outcome,
        // The future's destructor panicked: that is the task's outcome now
        // (its output, if any, is dropped with `outcome`).
        Err(payload) => Err(JoinError::Panicked(payload)),
    };
    completer.complete(outcome);
}

/// The outcome of a task submitted from another thread with
/// [`Handle::spawn`](crate::Handle::spawn). It always resolves: `Ok`,
/// `Panicked`, `Cancelled` or `LoopClosed` — see the module docs.
///
/// Use it from any thread: [`wait`](Self::wait) blocks,
/// [`wait_timeout`](Self::wait_timeout) blocks for a bounded time, and it is
/// a `Future`, so another runtime (or another looplet loop) can await it.
///
/// A loop that is *stopped* but still alive keeps its pending tasks (a host
/// may run it again next frame), so their handles stay pending until the loop
/// runs again or is dropped; callers that must not block use
/// `wait_timeout` or [`is_finished`](Self::is_finished).
///
/// Dropping the handle detaches the task; it keeps running.
#[must_use = "dropping a RemoteHandle detaches the task; wait for or await it to get its result"]
pub struct RemoteHandle<T> {
    shared: Arc<Shared<T>>,
}

impl<T> RemoteHandle<T> {
    /// Blocks this thread until the task resolves.
    ///
    /// Do not call it on the loop's own thread while the loop is not running:
    /// nothing would run the task. From the loop thread, `.await` it instead.
    pub fn wait(self) -> Result<T, JoinError> {
        let mut state = self.shared.state.lock();
        while matches!(*state, State::Pending { .. }) {
            self.shared.finished.wait(&mut state);
        }
        Self::take(&mut state)
    }

    /// Blocks up to `timeout`. `None`: not finished yet (the handle stays
    /// usable); `Some(outcome)`: finished, and the outcome is handed over.
    ///
    /// # Panics
    /// If the outcome was already taken by an earlier call.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<T, JoinError>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock();
        while matches!(*state, State::Pending { .. }) {
            if self
                .shared
                .finished
                .wait_until(&mut state, deadline)
                .timed_out()
            {
                break;
            }
        }
        match *state {
            State::Pending { .. } => None,
            _ => Some(Self::take(&mut state)),
        }
    }

    /// Asks the loop to cancel the task: its future is dropped on the loop
    /// thread at its next poll (or before its first), and the handle resolves
    /// `Cancelled`. No effect if it already finished.
    pub fn cancel(&self) {
        self.shared.cancel_requested.store(true, Ordering::Release);
        let task = match &mut *self.shared.state.lock() {
            State::Pending { task, .. } => task.take(),
            _ => None,
        };
        // Wake outside the lock: the wake may go through the injector.
        if let Some(task) = task {
            task.wake();
        }
    }

    /// True once the task has resolved (whether or not the outcome was taken).
    pub fn is_finished(&self) -> bool {
        !matches!(*self.shared.state.lock(), State::Pending { .. })
    }

    fn take(state: &mut State<T>) -> Result<T, JoinError> {
        match std::mem::replace(state, State::Taken) {
            State::Done(outcome) => outcome,
            State::Taken => panic!("RemoteHandle: the outcome was already taken"),
            State::Pending { .. } => unreachable!("callers wait for completion first"),
        }
    }
}

impl<T> Future for RemoteHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.shared.state.lock();
        match &mut *state {
            State::Pending { awaiter, .. } => {
                match awaiter {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *awaiter = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            _ => Poll::Ready(Self::take(&mut state)),
        }
    }
}

impl<T> fmt::Debug for RemoteHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

// A payload is `Send`, so a `JoinError` is too: outcomes may cross threads.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<JoinError>();
    assert_send::<Payload>();
    assert_send::<RemoteHandle<u8>>();
};
