//! `JoinHandle`: the loop-thread handle to a task's outcome.
//!
//! Awaiting a handle yields `Result<T, JoinError>` *as a value*. If the task
//! that awaits is itself cancelled, it is simply dropped — the handle's
//! result is never confused with the waiter's own cancellation (asyncio's
//! `CancelledError` ambiguity cannot arise).

use crate::clock::deadline_after;
use crate::context::{self, current};
use crate::core::{Core, JoinPoll};
use crate::outcome::{BoxFuture, JoinError};
use crate::time::sleep_until;
use looplet_waker::TaskId;
use std::fmt;
use std::future::{poll_fn, Future};
use std::marker::PhantomData;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

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
    #[track_caller]
    pub(crate) fn spawn<F>(core: Rc<Core>, future: F, name: Option<Box<str>>) -> Self
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        // The box holds the future itself, nothing around it: the loop
        // catches its panics and drops it before the outcome is collected
        // (`Core::poll_task`).
        let erased: BoxFuture = Box::pin(future);
        let id = core.add_joined_task(erased, name, std::panic::Location::caller());
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
        // Called between driving calls the loop is not current, but the future's
        // destructors may need it (a `Sleep` cancels its timer).
        context::as_current_if_none(&self.core, || self.core.abort(self.id));
    }

    /// Soft cancel: asks the task to stop and wakes it; inside it
    /// `looplet::cancelled()` resolves and `looplet::is_cancelled()` is true,
    /// so it can clean up, even asynchronously, and return. Nothing is
    /// dropped (that is [`abort`](Self::abort)). Returns false if the task
    /// had already finished (there is nothing to cancel); asking twice is
    /// harmless, and counted (`looplet::cancel_requests`).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(async {
    ///     looplet::cancelled().await;
    ///     "stopped on request"
    /// });
    /// assert!(task.cancel());
    /// assert_eq!(event_loop.block_on(task).unwrap(), "stopped on request");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.core.request_cancel(self.id)
    }

    /// How many times the task was asked to cancel so far. 0 once its
    /// outcome was collected, and for a task its loop dropped unfinished; a
    /// finished task keeps its count while its outcome waits here.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(std::future::pending::<()>());
    /// task.cancel();
    /// task.cancel();
    /// assert_eq!(task.cancel_requests(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel_requests(&self) -> u32 {
        self.core.cancel_requests(self.id)
    }

    /// Soft cancel, wait up to `grace` for the task to end, then abort it:
    /// the outcome, once the task's destructors have run. A task that
    /// cleans up in time returns what it returns; one that ignores the
    /// request (or takes too long) is aborted and yields `Err(Cancelled)`;
    /// one that had finished already yields its outcome.
    ///
    /// If the task awaiting this is itself aborted or dropped meanwhile, the
    /// target's cancellation carries on without it, grace and abort
    /// included: the two cancellations never mix.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let polite = event_loop.spawn(async {
    ///     looplet::cancelled().await;
    ///     "flushed"
    /// });
    /// let stubborn = event_loop.spawn(std::future::pending::<&str>());
    /// event_loop.block_on(async {
    ///     let grace = Duration::from_millis(5);
    ///     assert_eq!(polite.cancel_and_wait(grace).await.unwrap(), "flushed");
    ///     assert!(stubborn.cancel_and_wait(grace).await.unwrap_err().is_cancelled());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn cancel_and_wait(self, grace: Duration) -> Result<T, JoinError>
    where
        T: 'static,
    {
        self.cancel();
        let deadline = deadline_after(self.core.now(), grace);
        let mut guard = FinishOnDrop {
            handle: Some(self),
            deadline,
        };
        let handle = guard.handle.as_mut().expect("set just above");
        let outcome = wait_or_abort(handle, deadline).await;
        guard.handle = None; // collected: nothing left to finish
        outcome
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

/// Waits for `handle` until `deadline`, then aborts the task and collects
/// the `Cancelled` that the abort leaves (at once: `abort` drops the future
/// before it returns).
async fn wait_or_abort<T: 'static>(
    handle: &mut JoinHandle<T>,
    deadline: Instant,
) -> Result<T, JoinError> {
    let mut grace = pin!(sleep_until(deadline));
    let ended = poll_fn(|cx| {
        if let Poll::Ready(outcome) = Pin::new(&mut *handle).poll(cx) {
            return Poll::Ready(Some(outcome));
        }
        grace.as_mut().poll(cx).map(|()| None)
    })
    .await;
    match ended {
        Some(outcome) => outcome,
        None => {
            handle.abort();
            handle.await
        }
    }
}

/// `cancel_and_wait`'s promise, kept even if its own future is dropped
/// halfway (the waiting task was aborted): the rest of the procedure, the
/// grace and then the abort, goes on in a task of its own.
struct FinishOnDrop<T: 'static> {
    handle: Option<JoinHandle<T>>,
    deadline: Instant,
}

impl<T: 'static> Drop for FinishOnDrop<T> {
    fn drop(&mut self) {
        let Some(mut handle) = self.handle.take() else {
            return;
        };
        if handle.is_finished() {
            return; // dropping the handle discards the outcome (a panic goes to the hook)
        }
        let core = Rc::clone(&handle.core);
        let deadline = self.deadline;
        let rest = async move {
            let _ = wait_or_abort(&mut handle, deadline).await;
        };
        drop(JoinHandle::spawn(
            core,
            rest,
            Some("cancel_and_wait (its waiter was dropped)".into()),
        ));
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
