//! `JoinHandle`: the loop-thread handle to a task's outcome.
//!
//! Awaiting a handle yields `Result<T, JoinError>` *as a value*. If the task
//! that awaits is itself cancelled, it is simply dropped — the handle's
//! result is never confused with the waiter's own cancellation (asyncio's
//! `CancelledError` ambiguity cannot arise).

use crate::context::{self, current};
use crate::core::{Core, JoinPoll};
use crate::outcome::{BoxFuture, JoinError};
use crate::run_to_outcome::{run_to_outcome, JoinHandleSink};
use looplet_waker::TaskId;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A handle to a task spawned on this thread's loop. Awaiting it yields the
/// task's output or a [`JoinError`]. Dropping it *detaches* the task: it keeps
/// running, and a panic in it goes to the unhandled-panic hook.
///
/// `JoinHandle` is `!Send`: it is used on the loop thread. From other
/// threads, use [`Handle::spawn`](crate::Handle::spawn) and its `RemoteHandle`.
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let outcome = event_loop.block_on(async {
///     let task = looplet::spawn(async { panic!("boom") });
///     task.await // a value, not an unwinding: Err(JoinError::Panicked(..))
/// });
/// assert!(outcome.unwrap_err().is_panic());
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "dropping a JoinHandle detaches the task; await it to get its result"]
pub struct JoinHandle<T> {
    id: TaskId,
    core: Rc<Core>,
    /// The output was taken: polling again is a bug, dropping is a no-op.
    done: bool,
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    /// Spawns `future` on `core` and returns its handle. Takes an owned
    /// `Rc` because the handle keeps it (no extra clone).
    pub(crate) fn spawn<F>(core: Rc<Core>, future: F, name: Option<Box<str>>) -> Self
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        // `run_to_outcome` runs the future and drops it before the outcome
        // is delivered (see there, also for why nothing wraps it).
        let erased: BoxFuture = Box::pin(run_to_outcome(future, JoinHandleSink));
        let id = core.add_joined_task(erased, name);
        JoinHandle {
            id,
            core,
            done: false,
            _output: PhantomData,
        }
    }

    /// The task's id.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::new()?;
    /// let (a, b) = (event_loop.spawn(async {}), event_loop.spawn(async {}));
    /// assert_ne!(a.id(), b.id());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Hard cancel: the task's future is dropped now (or, if the task is
    /// aborting itself, right after its current poll). Awaiting the handle
    /// then yields `Err(JoinError::Cancelled)`. No effect on a finished task.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let forever = event_loop.spawn(std::future::pending::<()>());
    /// forever.abort();
    /// assert!(event_loop.block_on(forever).unwrap_err().is_cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn abort(&self) {
        // Called between turns the loop is not current, but the future's
        // destructors may need it (a `Sleep` cancels its timer).
        context::as_current_if_none(&self.core, || self.core.abort(self.id));
    }

    /// True once the task has an outcome (or the loop is gone).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(async {});
    /// assert!(!task.is_finished(), "it runs when the loop runs");
    /// event_loop.run_until_stalled();
    /// assert!(task.is_finished());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.core.is_finished(self.id)
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "JoinHandle polled after it completed");
        match self.core.poll_join(self.id, cx.waker()) {
            JoinPoll::Pending => Poll::Pending,
            JoinPoll::Ready(outcome) => {
                self.done = true;
                Poll::Ready(outcome.map(|output| {
                    *output
                        .downcast::<T>()
                        .expect("a JoinHandle's type always matches its task's output")
                }))
            }
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if !self.done {
            self.core.detach(self.id);
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("done", &self.done)
            .finish()
    }
}

// ----- the free functions: spawn on the current loop -------------------------

/// Spawns a task on the current loop.
///
/// # Panics
/// Outside a task or callback of a running loop.
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let sum = event_loop.block_on(async {
///     let parts: Vec<_> = (1..=3).map(|i| looplet::spawn(async move { i * 10 })).collect();
///     let mut sum = 0;
///     for part in parts {
///         sum += part.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 60);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn<F: Future + 'static>(future: F) -> JoinHandle<F::Output> {
    let core = current(
        "looplet::spawn called",
        "on the loop's thread, use EventLoop::spawn; from another thread, Handle::spawn",
    );
    JoinHandle::spawn(core, future, None)
}

/// Spawns a named task on the current loop.
///
/// # Panics
/// Outside a task or callback of a running loop.
///
/// ```
/// # use looplet_executor as looplet;
/// let mut event_loop = looplet::EventLoop::new()?;
/// event_loop.block_on(async {
///     let saver = looplet::spawn_named("autosave", async { /* … */ });
///     saver.await.unwrap();
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_named<F: Future + 'static>(name: &str, future: F) -> JoinHandle<F::Output> {
    let core = current(
        "looplet::spawn_named called",
        "on the loop's thread, use EventLoop::spawn_named",
    );
    JoinHandle::spawn(core, future, Some(name.into()))
}
