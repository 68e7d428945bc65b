//! Running a user's future to its end, in an order a waiter can rely on.
//!
//! Every task — local or remote — runs its future through [`settle`]:
//!
//! 1. poll it, each poll under `catch_unwind` (a panic becomes the outcome);
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

/// Runs `future` to its end and drops it before returning its outcome.
/// `cancelled` is asked before every poll; once it says yes, the future is
/// dropped without being polled again and the outcome is `Cancelled`.
pub(crate) async fn settle<F: Future>(
    future: F,
    mut cancelled: impl FnMut(&Context<'_>) -> bool,
) -> Result<F::Output, JoinError> {
    let mut future = pin!(Some(future));
    let outcome = poll_fn(|cx| {
        if cancelled(cx) {
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
