//! # looplet-waker: how a task says "poll me again"
//!
//! A future that cannot finish yet returns `Poll::Pending` and keeps the
//! [`Waker`](std::task::Waker) it was given. Later — when a timer fires, a
//! message arrives, another task finishes — somebody calls `wake()`, and the
//! executor must poll that task again. This crate is that `Waker`.
//!
//! A looplet task's waker knows two things: the task's [`TaskId`] and the
//! loop it belongs to. Waking takes one of two paths, and they are kept
//! apart on purpose:
//!
//! ```text
//!   waker.wake()
//!     │  already queued?  ── yes ──► nothing (duplicate wakes collapse)
//!     ▼
//!   is this thread running the task's loop right now?
//!     ├─ yes: SAME-THREAD PATH ─► push the id onto the loop's ReadyQueue
//!     │                           (a RefCell<VecDeque>: no lock, no syscall)
//!     └─ no:  INJECT PATH ──────► Injector::push(id)   (the only cross-thread
//!                                 seam; wakes the loop only if it sleeps)
//! ```
//!
//! Because the id carries a *generation*, a waker that outlives its task is
//! harmless: the loop finds a different generation in the slot (or an empty
//! slot) and ignores it. A waker that outlives the whole loop is harmless too:
//! the injector refuses the push and the id is dropped.
//!
//! ```
//! use looplet_waker::{ReadyQueue, TaskId, TaskWaker};
//! use std::rc::Rc;
//! # #[derive(Debug)] struct Msg(TaskId);
//! # impl From<TaskId> for Msg { fn from(id: TaskId) -> Self { Msg(id) } }
//!
//! let poll = mio::Poll::new()?;
//! let (injector, _inbox) = looplet_injector::channel::<Msg>(poll.registry(), mio::Token(0), None)?;
//! let ready = Rc::new(ReadyQueue::new());
//! let id = TaskId::new(3, 1);
//! let task = TaskWaker::new(id, 42, injector); // a new task starts queued…
//! task.start_poll();                             // …until the loop polls it
//! let waker = task.into_waker();
//!
//! // While loop 42 runs on this thread, a wake is a local push.
//! let running = looplet_waker::enter(42, Rc::clone(&ready));
//! waker.wake_by_ref();
//! waker.wake_by_ref(); // collapsed: the task is already queued
//! assert_eq!(ready.pop(), Some(id));
//! assert_eq!(ready.pop(), None);
//! drop(running);
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

mod ready_queue;
mod task_id;
mod task_waker;

pub use ready_queue::{enter, ReadyQueue, RunningGuard};
pub use task_id::TaskId;
pub use task_waker::TaskWaker;
