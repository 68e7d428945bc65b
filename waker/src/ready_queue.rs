//! The local ready queue, and how a waker finds it.
//!
//! For the whole of a driving call (every turn of `run`, `block_on`, `turn`,
//! …) a loop *enters* its thread: it records "loop N is running here, this
//! is its ready queue" in a thread-local. A waker on the same thread finds
//! the queue there and pushes without any synchronisation; a waker anywhere
//! else (another thread, or this thread between driving calls) finds nothing
//! and takes the inject path.

use crate::TaskId;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

/// The FIFO of tasks that are ready to be polled. Loop-thread only (`!Send`).
#[derive(Default)]
pub struct ReadyQueue {
    queue: RefCell<VecDeque<TaskId>>,
    local_wakes: Cell<u64>,
}

impl ReadyQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a task (spawned, or woken by the loop itself).
    pub fn push(&self, id: TaskId) {
        self.queue.borrow_mut().push_back(id);
    }

    /// Takes the task at the front.
    pub fn pop(&self) -> Option<TaskId> {
        let mut queue = self.queue.borrow_mut();
        let id = queue.pop_front();
        if queue.is_empty() {
            // Rewind the ring buffer to its start. Once a burst has grown it
            // (a million spawns), a queue that only ever advances would walk
            // the whole buffer, a cache miss every few entries; rewound, the
            // usual short queue stays in the same few cache lines.
            queue.clear();
        }
        id
    }

    /// Number of queued tasks.
    pub fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// True if no task is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.borrow().is_empty()
    }

    /// How many wakes took the same-thread path.
    pub fn local_wakes(&self) -> u64 {
        self.local_wakes.get()
    }

    fn push_from_waker(&self, id: TaskId) {
        self.local_wakes.set(self.local_wakes.get() + 1);
        self.push(id);
    }
}

impl fmt::Debug for ReadyQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyQueue")
            .field("len", &self.len())
            .field("local_wakes", &self.local_wakes())
            .finish()
    }
}

struct Running {
    loop_id: u64,
    ready: Rc<ReadyQueue>,
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

/// Proof that a loop is running on this thread; leaving it (dropping) ends
/// the same-thread path for that loop's wakers.
#[must_use = "the loop counts as running only while this guard lives"]
pub struct RunningGuard {
    _not_send: std::marker::PhantomData<Rc<()>>,
}

/// Records that loop `loop_id` runs on this thread with this ready queue.
///
/// # Panics
/// If a loop is already running on this thread: loops do not nest.
pub fn enter(loop_id: u64, ready: Rc<ReadyQueue>) -> RunningGuard {
    RUNNING.with(|running| {
        let mut running = running.borrow_mut();
        assert!(
            running.is_none(),
            "looplet: a loop is already running on this thread; loops cannot be nested"
        );
        *running = Some(Running { loop_id, ready });
    });
    RunningGuard {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        // `try_with`: during thread teardown the slot may already be gone.
        let _ = RUNNING.try_with(|running| running.borrow_mut().take());
    }
}

impl fmt::Debug for RunningGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RunningGuard")
    }
}

/// The same-thread path: pushes `id` if loop `loop_id` is running on this
/// thread right now. Returns `false` (pushing nothing) otherwise.
pub(crate) fn push_if_running_here(loop_id: u64, id: TaskId) -> bool {
    RUNNING
        .try_with(|running| match &*running.borrow() {
            Some(running) if running.loop_id == loop_id => {
                running.ready.push_from_waker(id);
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}
