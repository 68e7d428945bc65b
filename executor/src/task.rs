//! A task, as the loop stores it in its slab.
//!
//! ## The life of a task
//!
//! ```text
//!                 spawn()                     the loop pops it from the ready queue
//!   (nothing) ─────────────► Queued ─────────────────────────────────────► Polling
//!                              ▲                                             │
//!                              │ waker.wake()                                │ poll() → Pending
//!                              │                                             ▼
//!                              └──────────────────────────────────────── Waiting
//!
//!   Polling ── poll() → Ready ────────► Finished ── JoinHandle polled ──► (removed)
//!   Polling ── poll() panics ─────────► Finished(Panicked)
//!   Waiting/Queued ── abort() ────────► Finished(Cancelled)   (future dropped now)
//!   Polling ── abort() by itself ─────► Finished(Cancelled)   (dropped after this poll)
//!   any ── loop dropped ──────────────► (removed); JoinHandle → LoopClosed
//!   Finished ── JoinHandle dropped ───► (removed)
//!   Finished, detached ───────────────► (removed at once; a panic goes to the hook)
//! ```
//!
//! `Queued` and `Waiting` are not stored: both are [`Stage::Pending`], told
//! apart only by whether the task's id is in the ready queue (the waker's
//! `queued` flag). `Polling` is real: while its `poll` runs, the future is
//! *out* of the slab, held by the loop on its stack, so that the task may
//! spawn, wake or abort other tasks (which borrow the slab) without conflict.

use crate::join_handle::JoinError;
use crate::message::Message;
use looplet_waker::TaskWaker;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Waker;

/// How a task ended: the user's output, still type-erased, or why not.
/// The output is boxed as `dyn Any` so one slab can hold tasks of every
/// output type; for `()` the box is zero-sized and costs no allocation.
pub(crate) type Outcome = Result<Box<dyn Any>, JoinError>;

/// The type-erased future the loop polls: the user's future wrapped by
/// [`settle`](crate::settle::settle), producing the task's [`Outcome`].
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Outcome>>>;

/// Where a task is in its life (see the module docs).
pub(crate) enum Stage {
    /// Queued or waiting: the future is here.
    Pending(BoxFuture),
    /// The loop is polling it right now; the future is on the loop's stack.
    Polling,
    /// Done; the outcome waits for the `JoinHandle` to collect it.
    Finished(Outcome),
}

/// Who will collect the outcome.
pub(crate) enum Joiner {
    /// A `JoinHandle` exists; `Some(waker)` once it has been polled.
    Handle(Option<Waker>),
    /// The handle was dropped: the task is detached and is removed on finish.
    Detached,
}

/// One slab entry.
pub(crate) struct Task {
    pub generation: u64,
    pub stage: Stage,
    pub joiner: Joiner,
    pub waker: Arc<TaskWaker<Message>>,
    pub name: Option<Box<str>>,
    /// `abort()` was called while the task was being polled (by itself):
    /// the loop drops the future right after this poll.
    pub abort_requested: bool,
}

impl Task {
    /// The name used in panic reports: the given name, or `task #N`.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) => name.to_string(),
            None => format!("task #{}", self.generation),
        }
    }
}
