//! The `std::task::Wake` implementation of a looplet task.

use crate::ready_queue::push_if_running_here;
use crate::TaskId;
use looplet_injector::Injector;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::AcqRel, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Wake, Waker};

/// The waker of one task. `M` is the executor's injector message type; it
/// must be buildable from a [`TaskId`] ("this task is ready").
pub struct TaskWaker<M> {
    /// The task's `TaskId`, as two atomics so that the loop can rename this
    /// waker for another task (see [`recycle`](Self::recycle) and
    /// [`lend`](Self::lend)).
    slot: AtomicU32,
    generation: AtomicU64,
    loop_id: u64,
    /// `true` from the wake that queues the task until the loop takes it off
    /// the queue to poll it. Later wakes in that window are duplicates and
    /// do nothing: a task is never queued twice.
    queued: AtomicBool,
    injector: Arc<Injector<M>>,
}

impl<M: From<TaskId> + Send + 'static> TaskWaker<M> {
    /// A waker for task `id` of loop `loop_id`, marked *queued* (as a task
    /// that is on the ready queue).
    pub fn new(id: TaskId, loop_id: u64, injector: Arc<Injector<M>>) -> Arc<Self> {
        Arc::new(TaskWaker {
            slot: AtomicU32::new(id.slot() as u32),
            generation: AtomicU64::new(id.generation()),
            loop_id,
            queued: AtomicBool::new(true),
            injector,
        })
    }

    /// The std `Waker` handed to the task's `poll`.
    pub fn into_waker(self: Arc<Self>) -> Waker {
        Waker::from(self)
    }
}

impl<M> TaskWaker<M> {
    /// The task this waker wakes.
    pub fn id(&self) -> TaskId {
        TaskId::new(self.slot.load(Relaxed), self.generation.load(Relaxed))
    }

    /// Reuses this waker for another task, `id`, which is on the ready queue.
    ///
    /// Call it only while *every* reference to this waker is the caller's
    /// own (the loop checks the reference count): then no stale clone of the
    /// old task's waker exists that could wake the new task by mistake, and
    /// no other thread can be reading the id. The caller must also have
    /// *synchronised* with the last foreign use of the old waker (the
    /// executor's check is a `Relaxed` count read followed by an `Acquire`
    /// fence, pairing with `Arc`'s `Release` decrement), so that an old
    /// wake can never read the new id. Given that, `Relaxed` stores are
    /// enough: the new task's waker reaches another thread only through
    /// something that synchronises (a channel, a lock), which carries them.
    pub fn recycle(&self, id: TaskId) {
        self.slot.store(id.slot() as u32, Relaxed);
        self.generation.store(id.generation(), Relaxed);
        self.queued.store(true, Relaxed);
    }

    /// Names task `id` for one poll that is about to start: like
    /// [`recycle`](Self::recycle) followed by [`start_poll`](Self::start_poll),
    /// but with plain stores (no read-modify-write), which is what lending
    /// one waker to poll after poll is for. The same conditions as for
    /// `recycle` apply: every reference to this waker is the caller's own,
    /// and the caller has synchronised with the last foreign use of it.
    pub fn lend(&self, id: TaskId) {
        self.slot.store(id.slot() as u32, Relaxed);
        self.generation.store(id.generation(), Relaxed);
        self.queued.store(false, Relaxed);
    }

    /// True while the task is on the ready queue (for introspection: a
    /// snapshot that may be stale by the time it is read).
    pub fn is_queued(&self) -> bool {
        self.queued.load(Relaxed)
    }

    /// Called by the loop just before it polls the task: from now on, a wake
    /// queues the task again (it may be woken during its own poll).
    ///
    /// A swap, not a store: a waker on another thread may have made the
    /// task's readiness visible and then *collapsed* its wake (the flag was
    /// still set). Its `swap(true, AcqRel)` released that readiness; this
    /// `AcqRel` swap reads the flag it wrote and so acquires it, and the poll
    /// that follows is guaranteed to see what the waker saw. A plain store
    /// would synchronise with nothing, and the poll could miss the event.
    pub fn start_poll(&self) {
        self.queued.swap(false, AcqRel);
    }
}

impl<M: From<TaskId> + Send + 'static> Wake for TaskWaker<M> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, AcqRel) {
            return; // already queued: a duplicate wake collapses here
        }
        // SAME-THREAD PATH: the loop is running on this very thread.
        let id = self.id();
        if push_if_running_here(self.loop_id, id) {
            return;
        }
        // INJECT PATH: another thread, or this thread between driving calls. If the
        // loop is gone the injector refuses the id; a waker that outlives its
        // loop is a no-op.
        let _ = self.injector.push(M::from(id));
    }
}

impl<M> fmt::Debug for TaskWaker<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskWaker")
            .field("id", &self.id())
            .field("loop_id", &self.loop_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{enter, ReadyQueue};
    use std::rc::Rc;

    #[derive(Debug, PartialEq)]
    struct Ready(TaskId);
    impl From<TaskId> for Ready {
        fn from(id: TaskId) -> Self {
            Ready(id)
        }
    }

    fn setup() -> (
        mio::Poll,
        Arc<Injector<Ready>>,
        looplet_injector::Inbox<Ready>,
    ) {
        let poll = mio::Poll::new().unwrap();
        let (injector, inbox) =
            looplet_injector::channel(poll.registry(), mio::Token(0), None).unwrap();
        (poll, injector, inbox)
    }

    #[test]
    fn same_thread_wake_pushes_locally_without_syscall() {
        let (_poll, injector, inbox) = setup();
        let ready = Rc::new(ReadyQueue::new());
        let id = TaskId::new(0, 1);
        let waker = TaskWaker::new(id, 1, Arc::clone(&injector));
        waker.start_poll();
        let _running = enter(1, Rc::clone(&ready));
        waker.clone().into_waker().wake();
        assert_eq!(ready.pop(), Some(id));
        assert_eq!(ready.local_wakes(), 1);
        assert!(inbox.is_empty());
        assert_eq!(injector.wake_syscalls(), 0);
    }

    #[test]
    fn wake_from_another_thread_goes_through_the_injector() {
        let (_poll, injector, inbox) = setup();
        let ready = Rc::new(ReadyQueue::new());
        let id = TaskId::new(2, 9);
        let task = TaskWaker::new(id, 1, injector);
        task.start_poll();
        let waker = task.into_waker();
        let _running = enter(1, Rc::clone(&ready));
        std::thread::scope(|s| {
            s.spawn(|| waker.wake_by_ref());
        });
        assert!(
            ready.is_empty(),
            "the foreign thread must not touch the local queue"
        );
        assert_eq!(inbox.try_recv(), Some(Ready(id)));
    }

    #[test]
    fn a_new_task_is_already_queued_so_its_first_wake_collapses() {
        let (_poll, injector, inbox) = setup();
        let waker = TaskWaker::new(TaskId::new(0, 1), 1, injector).into_waker();
        waker.wake_by_ref();
        assert!(inbox.is_empty());
    }

    #[test]
    fn duplicate_wakes_collapse_until_the_next_poll() {
        let (_poll, injector, inbox) = setup();
        let id = TaskId::new(0, 1);
        let task = TaskWaker::new(id, 1, injector);
        task.start_poll();
        let waker = task.clone().into_waker();
        std::thread::scope(|s| {
            s.spawn(|| {
                waker.wake_by_ref();
                waker.wake_by_ref();
            });
        });
        assert_eq!(inbox.try_recv(), Some(Ready(id)));
        assert_eq!(inbox.try_recv(), None, "second wake collapsed");
        task.start_poll();
        waker.wake_by_ref();
        assert_eq!(
            inbox.try_recv(),
            Some(Ready(id)),
            "wakeable again after a poll"
        );
    }

    #[test]
    fn wake_on_the_loop_thread_between_driving_calls_is_injected() {
        let (_poll, injector, inbox) = setup();
        let id = TaskId::new(0, 1);
        let task = TaskWaker::new(id, 1, injector);
        task.start_poll();
        task.clone().into_waker().wake(); // no loop entered on this thread
        assert_eq!(inbox.try_recv(), Some(Ready(id)));
    }

    #[test]
    fn waker_outliving_its_loop_is_a_noop() {
        let (poll, injector, inbox) = setup();
        let task = TaskWaker::new(TaskId::new(0, 1), 1, injector);
        task.start_poll();
        drop(inbox);
        drop(poll);
        task.into_waker().wake(); // must not panic
    }

    #[test]
    fn recycled_waker_names_the_new_task() {
        let (_poll, injector, _inbox) = setup();
        let task = TaskWaker::new(TaskId::new(0, 1), 1, injector);
        task.start_poll();
        task.recycle(TaskId::new(0, 2));
        assert_eq!(task.id(), TaskId::new(0, 2));
    }
}
