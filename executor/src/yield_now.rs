//! `yield_now`: step aside for one turn.
//!
//! A task that computes for a long time holds the loop: nothing else runs
//! until its poll returns. `yield_now().await` returns `Pending` once, after
//! waking its own task, so the task goes to the back of the ready queue and
//! runs again next turn, after everything that was ready before it, and
//! after the injector and the timers have been looked at again (the turn's
//! snapshot, see `event_loop.rs`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields once: the task is queued behind everything already ready, and
/// runs again next turn (so a yielding loop cannot starve timers or I/O).
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let counter = event_loop.spawn(async {
///     for _ in 0..3 {
///         looplet::yield_now().await; // let the others run
///     }
/// });
/// let tick = event_loop.run_until_stalled();
/// assert!(counter.is_finished() && tick.turns >= 4, "one turn per yield");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// event_loop.block_on(looplet::yield_now());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
