//! Soft cancellation: asking a task to stop, and the task hearing it.
//!
//! Rust has hard cancellation built in: dropping a future stops it at its
//! last `.await`, with no say of its own (`JoinHandle::abort`). That is
//! right for work that holds nothing, and wrong for work that must say
//! goodbye, flush a file or finish a frame: `Drop` cannot `.await`. So
//! looplet also has *soft* cancellation, which drops nothing:
//!
//! ```text
//!   JoinHandle::cancel()  ─┐                      inside the task
//!   RemoteHandle::cancel() ┼─► counts a request ─► looplet::cancelled().await resolves,
//!   (TaskGroup::cancel)   ─┘   and wakes the task  looplet::is_cancelled() is true:
//!                                                  it cleans up (even with .await) and returns
//! ```
//!
//! The request is counted in the loop's task slab (a side table: most tasks
//! are never cancelled and pay nothing), and the task is woken, so a
//! `cancelled()` it is waiting on is polled again and sees it. A task that
//! never looks keeps running: soft cancel is a request, and
//! `JoinHandle::cancel_and_wait` turns it into a deadline (soft cancel, a
//! grace period, then `abort`).
//!
//! Why this cannot lie, unlike asyncio's `task.cancel(); await task`: the
//! waiter learns how the target ended from the target's `JoinHandle`, as a
//! value (`Err(JoinError::Cancelled)`), while the waiter's *own*
//! cancellation is a drop of the waiter or a request counted for the
//! waiter's task. The two never travel through the same channel.

use crate::context;
use crate::core::Core;
use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};

/// The current loop and the task it is polling, for the functions below.
#[track_caller]
fn current_task(what: &str) -> (Rc<Core>, looplet_waker::TaskId) {
    let core = context::current(
        what,
        "only a task can be cancelled: spawn the code with EventLoop::spawn or looplet::spawn",
    );
    let Some(id) = core.polling() else {
        panic!(
            "{what} outside a task (in a callback, or in the block_on future, which \
             cannot be cancelled); spawn the code with looplet::spawn to make it cancellable"
        );
    };
    (core, id)
}

/// True if the task running this code was asked to cancel (soft
/// cancellation). False outside a task (in a callback, in `block_on`'s own
/// future, outside any loop).
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let worker = event_loop.spawn(async {
///     let mut done = 0;
///     while !looplet::is_cancelled() {
///         done += 1; // one step of work
///         looplet::yield_now().await;
///     }
///     done
/// });
/// event_loop.turn(Some(std::time::Duration::ZERO));
/// worker.cancel();
/// assert!(event_loop.block_on(worker).unwrap() >= 1, "it returned what it had done");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_cancelled() -> bool {
    cancel_requests() > 0
}

/// How many times the task running this code was asked to cancel (asyncio's
/// `Task.cancelling()`); 0 outside a task.
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let task = event_loop.spawn(async {
///     looplet::cancelled().await;
///     looplet::cancel_requests()
/// });
/// task.cancel();
/// task.cancel(); // a second request is counted, and harmless
/// assert_eq!(event_loop.block_on(task).unwrap(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn cancel_requests() -> u32 {
    let Some(core) = context::try_current() else {
        return 0;
    };
    match core.polling() {
        Some(id) => core.cancel_requests(id),
        None => 0,
    }
}

/// Resolves once the task running it is asked to cancel: the place for a
/// task's cleanup. Cancelling wakes the task, so a `cancelled()` it is
/// waiting on, alone or raced against other work, is polled again and
/// resolves.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let server = event_loop.spawn(async {
///     looplet::cancelled().await;
///     looplet::sleep(Duration::from_millis(1)).await; // asynchronous cleanup
///     "closed cleanly"
/// });
/// server.cancel();
/// assert_eq!(event_loop.block_on(server).unwrap(), "closed cleanly");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
/// When polled outside a task of a running loop: in a callback, or as (part
/// of) the `block_on` future, which no one can cancel, so waiting would
/// never end.
pub fn cancelled() -> WhenCancelled {
    WhenCancelled { _private: () }
}

/// The future of [`cancelled`].
#[must_use = "futures do nothing unless awaited"]
pub struct WhenCancelled {
    _private: (),
}

impl Future for WhenCancelled {
    type Output = ();

    #[track_caller]
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let (core, id) = current_task("looplet::cancelled polled");
        if core.cancel_requests(id) > 0 {
            Poll::Ready(())
        } else {
            // No waker to register: a cancel request wakes the whole task.
            Poll::Pending
        }
    }
}

impl fmt::Debug for WhenCancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WhenCancelled")
    }
}

/// Runs `future` until it completes (`Some(output)`) or the task running it
/// is asked to cancel (`None`; `future` is dropped at that point). The
/// common shape of a cancellable job: cleanup goes after it.
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let job = event_loop.spawn(async {
///     match looplet::until_cancelled(std::future::pending::<u32>()).await {
///         Some(answer) => answer,
///         None => 0, // cancelled: clean up here
///     }
/// });
/// job.cancel();
/// assert_eq!(event_loop.block_on(job).unwrap(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
/// Like [`cancelled`], when polled outside a task.
pub async fn until_cancelled<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cancelled = pin!(cancelled());
    std::future::poll_fn(|cx| {
        // Cancellation first: a task asked to stop does not start new work.
        if cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}
