//! `JoinHandle`: the loop-thread handle to a task's outcome.
//!
//! Awaiting a handle yields `Result<T, JoinError>` *as a value*. If the task
//! that awaits is itself cancelled, it is simply dropped — the handle's
//! result is never confused with the waiter's own cancellation (asyncio's
//! `CancelledError` ambiguity cannot arise).

use crate::core::Core;
use crate::panic::Payload;
use crate::task::{task_label, JoinInterest, Stage};
use looplet_waker::TaskId;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Why a task has no output.
pub enum JoinError {
    /// The task was aborted (or cancelled) before it finished.
    Cancelled,
    /// The task panicked; the payload is the one given to `panic!`.
    Panicked(Payload),
    /// The loop was dropped (or unwound) before the task finished.
    LoopClosed,
}

impl JoinError {
    /// True for [`JoinError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// True for [`JoinError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// True for [`JoinError::LoopClosed`].
    pub fn is_loop_closed(&self) -> bool {
        matches!(self, JoinError::LoopClosed)
    }

    /// The panic payload, e.g. to `std::panic::resume_unwind` it.
    ///
    /// # Panics
    /// If the error is not [`JoinError::Panicked`].
    pub fn into_panic(self) -> Payload {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(other) => panic!("JoinError::into_panic called on {other:?}"),
        }
    }

    /// The panic payload, or the error itself if it is not a panic.
    pub fn try_into_panic(self) -> Result<Payload, JoinError> {
        match self {
            JoinError::Panicked(payload) => Ok(payload),
            other => Err(other),
        }
    }

    /// The panic message, if this is a panic with a string payload.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(payload) => Some(crate::panic::panic_message(payload)),
            _ => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panicked(payload) => f
                .debug_tuple("Panicked")
                .field(&crate::panic::panic_message(payload))
                .finish(),
            JoinError::LoopClosed => f.write_str("LoopClosed"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(payload) => {
                write!(f, "task panicked: {}", crate::panic::panic_message(payload))
            }
            JoinError::LoopClosed => f.write_str("event loop closed before the task finished"),
        }
    }
}

impl std::error::Error for JoinError {}

/// A handle to a task spawned on this thread's loop. Awaiting it yields the
/// task's output or a [`JoinError`]. Dropping it *detaches* the task: it keeps
/// running, and a panic in it goes to the unhandled-panic hook.
///
/// `JoinHandle` is `!Send`: it is used on the loop thread. From other
/// threads, use [`Handle::spawn`](crate::Handle::spawn) and its `RemoteHandle`.
#[must_use = "dropping a JoinHandle detaches the task; await it to get its result"]
pub struct JoinHandle<T> {
    id: TaskId,
    core: Rc<Core>,
    /// The output was taken: polling again is a bug, dropping is a no-op.
    done: bool,
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(id: TaskId, core: Rc<Core>) -> Self {
        JoinHandle {
            id,
            core,
            done: false,
            _output: PhantomData,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Hard cancel: the task's future is dropped now (or, if the task is
    /// aborting itself, right after its current poll). Awaiting the handle
    /// then yields `Err(JoinError::Cancelled)`. No effect on a finished task.
    pub fn abort(&self) {
        self.core.abort(self.id);
    }

    /// True once the task has an outcome (or the loop is gone).
    pub fn is_finished(&self) -> bool {
        let tasks = self.core.tasks.borrow();
        match tasks.get(self.id.slot()) {
            Some(task) if task.generation == self.id.generation() => {
                matches!(task.stage, Stage::Finished(_))
            }
            _ => true,
        }
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, crate::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "JoinHandle polled after it completed");
        let mut tasks = self.core.tasks.borrow_mut();
        let slot = self.id.slot();
        let Some(task) = tasks
            .get_mut(slot)
            .filter(|t| t.generation == self.id.generation())
        else {
            // Only the loop's shutdown removes a task whose handle is alive.
            drop(tasks);
            self.done = true;
            return Poll::Ready(Err(JoinError::LoopClosed));
        };
        if let Stage::Finished(_) = task.stage {
            let task = tasks.remove(slot);
            drop(tasks);
            self.done = true;
            self.core.take_name(task.generation);
            self.core.recycle_waker(task.waker);
            let Stage::Finished(outcome) = task.stage else {
                unreachable!("matched just above");
            };
            return Poll::Ready(outcome.map(|output| {
                *output
                    .downcast::<T>()
                    .expect("a JoinHandle's type always matches its task's output")
            }));
        }
        let replaced = match &mut task.join_interest {
            JoinInterest::Handle(Some(waker)) if waker.will_wake(cx.waker()) => None,
            JoinInterest::Handle(slot) => slot.replace(cx.waker().clone()),
            JoinInterest::Detached => {
                unreachable!("a live JoinHandle means the task is not detached")
            }
        };
        // The old waker may be another executor's, and the last reference to
        // its task: dropping it can run arbitrary code (even drop one of our
        // JoinHandles), so it is dropped only after the borrow is released.
        drop(tasks);
        drop(replaced);
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut tasks = self.core.tasks.borrow_mut();
        let slot = self.id.slot();
        let Some(task) = tasks
            .get_mut(slot)
            .filter(|t| t.generation == self.id.generation())
        else {
            return;
        };
        if let Stage::Finished(_) = task.stage {
            // Finished but never collected: dispose of it outside the borrow.
            let task = tasks.remove(slot);
            drop(tasks);
            self.core.recycle_waker(task.waker);
            if let Stage::Finished(outcome) = task.stage {
                let generation = task.generation;
                let name = self.core.take_name(generation);
                self.core
                    .discard_outcome(|| task_label(generation, name), outcome);
            }
        } else {
            // Dropping a waker is user code too: take it out first.
            let old = std::mem::replace(&mut task.join_interest, JoinInterest::Detached);
            drop(tasks);
            drop(old);
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
