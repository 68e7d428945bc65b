//! Running a remote task's future to its end, in an order a waiter on
//! another thread can rely on.
//!
//! A local task needs no wrapper: its box holds the user's future itself,
//! and the loop catches its panics and drops it before the `JoinHandle`
//! sees the outcome (`Core::poll_task`). A *remote* task must also hear
//! from its `RemoteHandle` (an abort or a cancel made on another thread) and
//! hand its outcome to that handle, typed, so it runs its future through
//! [`run_to_outcome`]:
//!
//! 1. poll it, each poll under `catch_unwind` (a panic becomes the outcome),
//!    unless the [`OutcomeSink`] says the task was cancelled meanwhile;
//! 2. once it is done, **drop it** — before anyone sees the outcome, so a
//!    waiter knows the task's destructors have run — again under
//!    `catch_unwind`: a panicking `Drop` becomes the outcome, and the output
//!    it would have replaced is dropped (not leaked);
//! 3. hand the outcome to the task's [`OutcomeSink`].
//!
//! Why not simply `future.await` inside an `async` block? Because when the
//! awaited future's `Drop` panics right after it produced its output, that
//! output is "in flight" and rustc leaks it during the unwind
//! (rust-lang/rust#47949). Here the output is an ordinary local when the
//! drop happens, so nothing can be lost.
//!
//! The future is pinned with `pin!` inside this `async fn`'s own state — a
//! safe pin projection — and kept in an `Option` so it can be dropped in
//! place (`Pin::set(None)`) at exactly the moment we choose.

use crate::outcome::JoinError;
use crate::panic::{catch, drop_caught};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll};

/// Who receives a task's outcome — its `RemoteHandle` — and how that
/// receiver may cancel the task from outside.
pub(crate) trait OutcomeSink<T> {
    /// Called on the loop thread before every poll: hand over to the loop
    /// what the receiver asked for since the last poll (a `RemoteHandle`'s
    /// soft-cancel requests, which arrive on another thread).
    fn before_poll(&mut self) {}

    /// Asked before every poll: once it says yes (a hard cancel), the future
    /// is dropped without being polled again and the outcome is `Cancelled`.
    fn cancel_requested(&self) -> bool;

    /// Called each time a poll returns `Pending`: make sure a cancel that
    /// comes later wakes the task (through `cx`'s waker), and wake it now if
    /// one came already. Arming only here, not before the first poll, keeps
    /// tasks that finish in one poll free of any registration cost.
    fn register_cancel_waker(&mut self, cx: &Context<'_>);

    /// Takes the outcome (the future is already dropped). The loop keeps
    /// nothing of it: a remote task is removed as soon as it ends.
    fn deliver(self, outcome: Result<T, JoinError>);
}

/// Runs `future` to its end, drops it, and hands the outcome to `sink`.
///
/// For `Handle::spawn` this is the *whole* task: it boxes
/// `run_to_outcome(future, sink)` directly, with no `async` wrapper around
/// it, because each wrapper would store the user's future once more
/// (docs/02 tells why). `Handle::spawn_with`'s task is `run_remote_with`,
/// which builds its future on the loop and then awaits this.
pub(crate) async fn run_to_outcome<F: Future, R: OutcomeSink<F::Output>>(future: F, mut sink: R) {
    let mut future = pin!(Some(future));
    let outcome = poll_fn(|cx| {
        sink.before_poll();
        if sink.cancel_requested() {
            return Poll::Ready(Err(JoinError::Cancelled));
        }
        let running = future
            .as_mut()
            .as_pin_mut()
            .expect("polled after completion");
        match catch(|| running.poll(cx)) {
            Ok(Poll::Pending) => {
                sink.register_cancel_waker(cx);
                Poll::Pending
            }
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(JoinError::Panicked(payload))),
        }
    })
    .await;
    let outcome = match catch(|| future.set(None)) {
        Ok(()) => outcome,
        Err(payload) => {
            // The destructor panicked: that panic is the outcome now. The
            // output it replaces is dropped here, under `catch_unwind` too.
            let _ = drop_caught(outcome);
            Err(JoinError::Panicked(payload))
        }
    };
    sink.deliver(outcome)
}
