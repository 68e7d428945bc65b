//! Running a user's future to its end, in an order a waiter can rely on.
//!
//! Every task — local or remote — runs its future through [`settle`]:
//!
//! 1. poll it, each poll under `catch_unwind` (a panic becomes the outcome),
//!    unless a [`Cancel`] says the task was cancelled meanwhile;
//! 2. once it is done, **drop it** — before anyone sees the outcome, so a
//!    waiter knows the task's destructors have run — again under
//!    `catch_unwind`: a panicking `Drop` becomes the outcome, and the output
//!    it would have replaced is dropped (not leaked);
//! 3. return the outcome.
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

use crate::join_handle::JoinError;
use crate::panic::{catch, drop_caught};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll};

/// How a caller of [`settle`] can cancel the future from outside.
pub(crate) trait Cancel {
    /// Asked before every poll: once it says yes, the future is dropped
    /// without being polled again and the outcome is `Cancelled`.
    fn requested(&self) -> bool;

    /// Called each time a poll returns `Pending`: make sure a cancel that
    /// comes later wakes the task (through `cx`'s waker), and wake it now if
    /// one came already. Arming only here, not before the first poll, keeps
    /// tasks that finish in one poll free of any registration cost.
    fn arm(&mut self, cx: &Context<'_>);
}

/// For tasks nothing can cancel softly (local tasks, until soft
/// cancellation arrives; `abort` drops the future instead).
pub(crate) struct NeverCancelled;

impl Cancel for NeverCancelled {
    fn requested(&self) -> bool {
        false
    }
    fn arm(&mut self, _: &Context<'_>) {}
}

/// Runs `future` to its end and drops it before returning its outcome.
/// `cancel` is asked before every poll (see [`Cancel`]).
pub(crate) async fn settle<F: Future>(
    future: F,
    mut cancel: impl Cancel,
) -> Result<F::Output, JoinError> {
    let mut future = pin!(Some(future));
    let outcome = poll_fn(|cx| {
        if cancel.requested() {
            return Poll::Ready(Err(JoinError::Cancelled));
        }
        let running = future
            .as_mut()
            .as_pin_mut()
            .expect("polled after completion");
        match catch(|| running.poll(cx)) {
            Ok(Poll::Pending) => {
                cancel.arm(cx);
                Poll::Pending
            }
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(JoinError::Panicked(payload))),
        }
    })
    .await;
    match catch(|| future.set(None)) {
        Ok(()) => outcome,
        Err(payload) => {
            // The destructor panicked: that panic is the outcome now. The
            // output it replaces is dropped here, under `catch_unwind` too.
            let _ = drop_caught(outcome);
            Err(JoinError::Panicked(payload))
        }
    }
}
