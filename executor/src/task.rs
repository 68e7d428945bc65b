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
//! `Queued` and `Waiting` are not stored: both are [`Stage::Stored`], told
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
use std::sync::atomic::{fence, Ordering::Acquire};
use std::sync::Arc;
use std::task::Waker;

/// How a task ended: the user's output, still type-erased, or why not.
/// The output is boxed as `dyn Any` so one slab can hold tasks of every
/// output type; for `()` the box is zero-sized and costs no allocation.
pub(crate) type Outcome = Result<Box<dyn Any>, JoinError>;

/// The type-erased future the loop polls: the user's future wrapped by
/// [`run_to_outcome`](crate::run_to_outcome::run_to_outcome), producing the task's [`Outcome`].
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Outcome>>>;

/// Where a task is in its life (see the module docs).
pub(crate) enum Stage {
    /// Queued or waiting: the future is here.
    Stored(BoxFuture),
    /// The loop is polling it right now; the future is on the loop's stack.
    /// `abort_requested`: the task called `abort()` on itself during this
    /// poll; the loop drops the future as soon as the poll returns.
    Polling { abort_requested: bool },
    /// Done; the outcome waits for the `JoinHandle` to collect it.
    Finished(Outcome),
}

/// Who will collect the outcome.
pub(crate) enum JoinInterest {
    /// A `JoinHandle` exists; `Some(waker)` once it has been polled.
    Handle(Option<Waker>),
    /// The handle was dropped: the task is detached and is removed on finish.
    Detached,
}

/// One slab entry.
pub(crate) struct Task {
    pub generation: u64,
    pub stage: Stage,
    pub join_interest: JoinInterest,
    pub waker: WakerPair,
    // A task's optional name is not stored here but in `Core::names`: few
    // tasks have one, and every byte of this struct is paid per live task.
}

/// A task's waker, kept in the two forms the loop needs.
///
/// `shared` is the `Arc` the loop owns: it re-arms the `queued` flag before
/// each poll. `std` is the same waker as a `std::task::Waker`, built once
/// with the pair. When the task ends, the pair is recycled for the next task
/// if no clone of it survived (see [`into_reusable`](Self::into_reusable)),
/// `std` included. A poll *moves* `std` out and lends it to the future by
/// reference, so polling costs no reference-count traffic (cloning and
/// dropping a `Waker` per poll are two atomic operations).
pub(crate) struct WakerPair {
    pub shared: Arc<TaskWaker<Message>>,
    pub std: Waker,
}

impl WakerPair {
    pub fn new(shared: Arc<TaskWaker<Message>>) -> Self {
        let std = Waker::from(Arc::clone(&shared));
        WakerPair { shared, std }
    }

    /// Lends the std waker out for one poll (see [`put_back`](Self::put_back)).
    pub fn take_for_poll(&mut self) -> Waker {
        self.shared.start_poll();
        std::mem::replace(&mut self.std, Waker::noop().clone())
    }

    /// Returns the waker lent by [`take_for_poll`](Self::take_for_poll).
    pub fn put_back(&mut self, waker: Waker) {
        self.std = waker;
    }

    /// These wakers, for the slot's next task, if no other reference to
    /// them exists any more (the task is over). Our two references — `shared`
    /// and the `std` waker built from it — are then the only ones: a count
    /// of 2 cannot be raised behind our back, since nobody else holds one to
    /// clone. The next task can use them without any stale waker being able
    /// to wake it by mistake; keeping the pair (rather than dropping `std`
    /// and building it again) saves two atomic operations per task.
    ///
    /// The count is read `Relaxed` (that is what `strong_count` does), so an
    /// `Acquire` fence follows, as in `Arc`'s own `drop`: another thread's
    /// last use of its clone (reading the id, swapping `queued`) is followed
    /// by its `Release` decrement, which this fence synchronises with; so
    /// that use happens before the renaming below and can never see it.
    pub fn into_reusable(self) -> Option<WakerPair> {
        if Arc::strong_count(&self.shared) != 2 {
            return None;
        }
        fence(Acquire);
        Some(self)
    }

    /// Points these (reusable) wakers at a new task.
    pub fn reuse_for(&self, id: looplet_waker::TaskId) {
        self.shared.recycle(id);
    }
}

/// The name used in panic reports: the given name (see `Core::take_name`),
/// or `task #N`. Built only when something is reported (formatting allocates).
pub(crate) fn task_label(generation: u64, name: Option<Box<str>>) -> String {
    match name {
        Some(name) => name.into_string(),
        None => format!("task #{generation}"),
    }
}
