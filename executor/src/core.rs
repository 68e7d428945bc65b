//! The state of one loop, shared (`Rc`) by the `EventLoop` and the handles
//! that live on its thread (`JoinHandle`, `CallbackHandle`, `Sleep`).
//!
//! Every field is loop-thread only: `Cell`s and `RefCell`s, no locks. The one
//! rule that keeps the `RefCell`s from ever panicking: **no borrow is held
//! while user code runs.** User code is a task's `poll`, a callback, and any
//! `Drop` of a user value (futures, outputs, wakers, closures). So the code
//! below always takes what it needs out of a `RefCell`, lets the borrow go,
//! and only then polls, calls or drops.

use crate::builder::PanicPolicy;
use crate::callbacks::{CallbackHandle, Callbacks, LocalCallback};
use crate::handle::Handle;
use crate::join_handle::{JoinError, JoinHandle};
use crate::message::Message;
use crate::metrics::{bump, Counters, Metrics};
use crate::panic::{catch, drop_caught, panic_message, PanicHook, Payload, UnhandledPanic};
use crate::run_to_outcome::{run_to_outcome, JoinHandleSink};
use crate::task::{task_label, BoxFuture, JoinInterest, Outcome, Stage, Task, WakerPair};
use crate::timers::{Expiry, Timers};
use looplet_injector::Injector;
use looplet_waker::{ReadyQueue, TaskId, TaskWaker};
use slab::Slab;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// Finished tasks' wakers kept for reuse (see [`Core::recycle_waker`]).
const WAKER_POOL_MAX: usize = 1024;

pub(crate) struct Core {
    pub loop_id: u64,
    /// The thread the loop belongs to (`EventLoop` is `!Send`): a
    /// `RemoteHandle` refuses to block it, since the loop could never run.
    pub loop_thread: std::thread::ThreadId,
    pub injector: Arc<Injector<Message>>,
    pub ready: Rc<ReadyQueue>,
    pub tasks: RefCell<Slab<Task>>,
    pub callbacks: RefCell<Callbacks>,
    pub timers: RefCell<Timers>,
    pub counters: Counters,
    /// `stop()` was called: `run` returns after the current turn.
    pub stop_requested: Cell<bool>,
    /// Set by the `Propagate` panic policy: `run`/`block_on` re-raise it.
    pub propagate: RefCell<Option<String>>,
    next_generation: Cell<u64>,
    /// Names of the named tasks, by generation (kept out of `Task`: see there).
    names: RefCell<HashMap<u64, Box<str>>>,
    waker_pool: RefCell<Vec<WakerPair>>,
    panic_policy: PanicPolicy,
    panic_hook: PanicHook,
}

impl Core {
    pub fn new(
        loop_id: u64,
        injector: Arc<Injector<Message>>,
        panic_policy: PanicPolicy,
        panic_hook: PanicHook,
    ) -> Self {
        Core {
            loop_id,
            loop_thread: std::thread::current().id(),
            injector,
            ready: Rc::new(ReadyQueue::new()),
            tasks: RefCell::new(Slab::new()),
            callbacks: RefCell::default(),
            timers: RefCell::default(),
            counters: Counters::default(),
            stop_requested: Cell::new(false),
            propagate: RefCell::new(None),
            next_generation: Cell::new(1),
            names: RefCell::default(),
            waker_pool: RefCell::new(Vec::new()),
            panic_policy,
            panic_hook,
        }
    }

    /// The loop's clock. One place, so that a manual clock can replace it.
    pub fn now(&self) -> Instant {
        Instant::now()
    }

    pub fn handle(&self) -> Handle {
        Handle::new(Arc::clone(&self.injector), self.loop_thread)
    }

    // ----- spawning -------------------------------------------------------

    /// Spawns a task whose output a `JoinHandle` will collect.
    /// Takes an owned `Rc` because the `JoinHandle` keeps it (no extra clone).
    pub fn spawn<F>(self: Rc<Self>, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        // `run_to_outcome` runs the future and drops it before the outcome is
        // delivered (see there, also for why nothing wraps it).
        let erased: BoxFuture = Box::pin(run_to_outcome(future, JoinHandleSink));
        let id = self.insert_task(erased, name, JoinInterest::Handle(None));
        JoinHandle::new(id, self)
    }

    /// Adds a task nobody joins: a remote task, boxed by `Handle::spawn` on
    /// its own thread or by `spawn_with`'s closure here. It reports through
    /// its own completer; the loop only drops it when it finishes.
    pub fn adopt_detached(&self, task: BoxFuture) -> TaskId {
        self.insert_task(task, None, JoinInterest::Detached)
    }

    fn insert_task(
        &self,
        future: BoxFuture,
        name: Option<Box<str>>,
        join_interest: JoinInterest,
    ) -> TaskId {
        let generation = self.next_generation.get();
        self.next_generation.set(generation + 1);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let slot = u32::try_from(entry.key()).expect("looplet: more than u32::MAX live tasks");
        let id = TaskId::new(slot, generation);
        entry.insert(Task {
            generation,
            stage: Stage::Stored(future),
            join_interest,
            waker: self.new_waker(id),
        });
        drop(tasks);
        if let Some(name) = name {
            self.names.borrow_mut().insert(generation, name);
        }
        bump(&self.counters.tasks_spawned);
        // A new task starts queued (its waker's `queued` flag is set).
        self.ready.push(id);
        id
    }

    /// The name of task `generation` for a report, while it is still in the
    /// slab: its given name, or `task #N`.
    fn label(&self, generation: u64) -> String {
        let name = self.names.borrow().get(&generation).cloned();
        task_label(generation, name)
    }

    /// Removes and returns the name of task `generation`, if it has one.
    /// Called whenever a task leaves the slab.
    #[inline]
    pub fn take_name(&self, generation: u64) -> Option<Box<str>> {
        let mut names = self.names.borrow_mut();
        if names.is_empty() {
            return None; // the common case: no named task at all, no hashing
        }
        names.remove(&generation)
    }

    /// A waker for a new task: a recycled one when possible, so that steady
    /// spawning allocates only the future's box.
    fn new_waker(&self, id: TaskId) -> WakerPair {
        if let Some(wakers) = self.waker_pool.borrow_mut().pop() {
            wakers.reuse_for(id);
            return wakers;
        }
        WakerPair::new(TaskWaker::new(id, self.loop_id, Arc::clone(&self.injector)))
    }

    /// Keeps a finished task's waker if nobody else holds a clone: no stale
    /// waker can then exist for it, so the next task may safely reuse it.
    pub fn recycle_waker(&self, wakers: WakerPair) {
        if let Some(waker) = wakers.into_reusable() {
            let mut pool = self.waker_pool.borrow_mut();
            if pool.len() < WAKER_POOL_MAX {
                pool.push(waker);
            }
        }
    }

    // ----- polling --------------------------------------------------------

    /// Polls the task `id` once, if `id` still names a pending task.
    /// A stale id (the task finished, its slot reused) is ignored: this is
    /// what makes an old waker harmless.
    /// Returns whether it polled.
    pub fn poll_task(self: &Rc<Self>, id: TaskId) -> bool {
        let (mut future, waker) = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(task) = tasks.get_mut(id.slot()) else {
                return false;
            };
            if task.generation != id.generation() || !matches!(task.stage, Stage::Stored(_)) {
                return false;
            }
            let polling = Stage::Polling {
                abort_requested: false,
            };
            let Stage::Stored(future) = std::mem::replace(&mut task.stage, polling) else {
                unreachable!("checked just above");
            };
            // From here on, a wake (even one from inside this poll) queues the task again.
            (future, task.waker.take_for_poll())
        };
        bump(&self.counters.polls);

        let result = catch(|| future.as_mut().poll(&mut Context::from_waker(&waker)));

        let mut tasks = self.tasks.borrow_mut();
        let task = &mut tasks[id.slot()];
        task.waker.put_back(waker);
        let aborted = matches!(
            task.stage,
            Stage::Polling {
                abort_requested: true
            }
        );
        if matches!(result, Ok(Poll::Pending)) && !aborted {
            task.stage = Stage::Stored(future); // the common case: wait for a wake
            return true;
        }
        drop(tasks);
        match result {
            Ok(Poll::Pending) => {
                // It aborted itself during this poll.
                self.drop_future(id, future);
                self.finish(id, Err(JoinError::Cancelled));
            }
            Ok(Poll::Ready(outcome)) => {
                // `run_to_outcome` already dropped the user's future (and caught the
                // panics of its polls and of its `Drop` into `outcome`).
                drop(future);
                self.finish(id, outcome);
            }
            Err(payload) => {
                // `run_to_outcome` catches the user future's panics, so this is a
                // panic around it: a remote task's output dropped on the loop
                // because its handle is gone, say. It is still the task's
                // outcome (reported to the hook if detached), never the loop's.
                self.drop_future(id, future);
                self.finish(id, Err(JoinError::Panicked(payload)));
            }
        }
        true
    }

    /// Drops a task's future outside any borrow; a panic in its `Drop` is
    /// reported, never propagated. The drop runs with this loop as the
    /// current one (if no loop is current), so destructors that talk to their
    /// loop — a `Sleep` cancelling its timer — work even when `abort()` is
    /// called by the host between turns.
    fn drop_future(self: &Rc<Self>, id: TaskId, future: BoxFuture) {
        let what = || format!("{} (while dropping it)", self.label(id.generation()));
        self.drop_user_value(what, future);
    }

    /// Drops a user value the loop was asked to discard (an aborted task's
    /// future, a cancelled callback) with this loop current; a panic in its
    /// `Drop` is reported as `what()` (built only then), never propagated.
    pub fn drop_user_value<T>(self: &Rc<Self>, what: impl FnOnce() -> String, value: T) {
        let dropped = crate::context::as_current_if_none(self, || drop_caught(value));
        if let Err(payload) = dropped {
            self.report_unhandled(&what(), payload);
        }
    }

    /// Records a task's end: hands the outcome to its `JoinHandle`, or, for
    /// a detached task, removes it at once.
    pub fn finish(&self, id: TaskId, outcome: Outcome) {
        if let Err(JoinError::Panicked(payload)) = &outcome {
            self.note_task_panic(&self.label(id.generation()), panic_message(payload));
        }
        let mut tasks = self.tasks.borrow_mut();
        let Some(task) = tasks
            .get_mut(id.slot())
            .filter(|task| task.generation == id.generation())
        else {
            // The task's own destructor dropped the loop (`abort()` drops the
            // future between turns), and the shutdown removed the task: no
            // handle can collect the outcome any more (it reads `LoopClosed`).
            drop(tasks);
            self.discard_outcome(|| task_label(id.generation(), None), outcome);
            return;
        };
        match &mut task.join_interest {
            JoinInterest::Handle(join_waker) => {
                let join_waker = join_waker.take();
                task.stage = Stage::Finished(outcome);
                drop(tasks);
                if let Some(join_waker) = join_waker {
                    join_waker.wake();
                }
            }
            JoinInterest::Detached => {
                let task = tasks.remove(id.slot());
                drop(tasks);
                self.recycle_waker(task.waker);
                let name = self.take_name(task.generation);
                self.discard_outcome(|| task_label(task.generation, name), outcome);
            }
        }
    }

    /// Disposes of an outcome nobody will collect: a panic goes to the
    /// unhandled-panic hook; an output is dropped (under `catch_unwind`).
    /// `name` is only called (it allocates) when there is something to report.
    pub fn discard_outcome(&self, name: impl FnOnce() -> String, outcome: Outcome) {
        match outcome {
            Err(JoinError::Panicked(payload)) => self.report_unhandled(&name(), payload),
            Err(_) => {}
            Ok(output) => {
                if let Err(payload) = drop_caught(output) {
                    self.report_unhandled(&format!("{} (dropping its output)", name()), payload);
                }
            }
        }
    }

    /// Hard cancel: drops the task's future now, or right after the current
    /// poll if the task is aborting itself.
    pub fn abort(self: &Rc<Self>, id: TaskId) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(task) = tasks
            .get_mut(id.slot())
            .filter(|t| t.generation == id.generation())
        else {
            return;
        };
        match task.stage {
            Stage::Polling {
                ref mut abort_requested,
            } => *abort_requested = true,
            Stage::Finished(_) => {}
            Stage::Stored(_) => {
                let polling = Stage::Polling {
                    abort_requested: false,
                };
                let Stage::Stored(future) = std::mem::replace(&mut task.stage, polling) else {
                    unreachable!("matched just above");
                };
                drop(tasks);
                self.drop_future(id, future);
                self.finish(id, Err(JoinError::Cancelled));
            }
        }
    }

    // ----- panics ---------------------------------------------------------

    /// Counts a task's panic and applies the [`PanicPolicy`]. Local tasks
    /// come here from [`finish`](Self::finish); remote tasks, which catch
    /// their own panics to hand them to their `RemoteHandle`, call it directly.
    pub fn note_task_panic(&self, task: &str, message: &str) {
        bump(&self.counters.panics);
        match self.panic_policy {
            PanicPolicy::Continue => {}
            PanicPolicy::StopLoop => self.stop_requested.set(true),
            PanicPolicy::Propagate => {
                let mut slot = self.propagate.borrow_mut();
                if slot.is_none() {
                    *slot = Some(format!("{task} panicked: {message}"));
                }
            }
        }
    }

    pub fn report_unhandled(&self, task: &str, payload: Payload) {
        let report = UnhandledPanic {
            task,
            message: panic_message(&payload),
            payload: &payload,
        };
        // A panicking hook must not take the loop down either.
        let _ = catch(|| (self.panic_hook)(&report));
    }

    // ----- callbacks and timers -------------------------------------------

    pub fn call_soon(self: &Rc<Self>, callback: LocalCallback) -> CallbackHandle {
        bump(&self.counters.call_soon);
        let mut callbacks = self.callbacks.borrow_mut();
        let key = callbacks.insert(callback);
        callbacks.schedule(key);
        CallbackHandle {
            key,
            timer: None,
            core: Rc::downgrade(self),
        }
    }

    pub fn call_at(self: &Rc<Self>, deadline: Instant, callback: LocalCallback) -> CallbackHandle {
        let key = self.callbacks.borrow_mut().insert(callback);
        let timer = self
            .timers
            .borrow_mut()
            .insert(deadline, Expiry::Callback(key));
        CallbackHandle {
            key,
            timer: Some(timer),
            core: Rc::downgrade(self),
        }
    }

    /// Moves every expired timer's work to the ready queues.
    #[inline]
    pub fn fire_timers(&self) -> u64 {
        if self.timers.borrow().len() == 0 {
            return 0; // no timers: do not even read the clock
        }
        self.fire_expired_timers()
    }

    fn fire_expired_timers(&self) -> u64 {
        let now = self.now();
        let mut fired = 0;
        loop {
            let due = self.timers.borrow_mut().pop_expired(now);
            match due {
                None => break,
                Some(Expiry::Wake(waker)) => waker.wake(),
                Some(Expiry::Callback(key)) => self.callbacks.borrow_mut().schedule(key),
            }
            fired += 1;
        }
        self.counters
            .timers_fired
            .set(self.counters.timers_fired.get() + fired);
        fired
    }

    /// Runs up to `count` scheduled callbacks, each under `catch_unwind`,
    /// stopping early once `until` has passed (checked after each one).
    /// Returns how many ran and how many of the `count` queue slots are left
    /// (only a stop at `until` leaves any).
    #[inline]
    pub fn run_callbacks(&self, count: usize, until: Option<Instant>) -> (u64, usize) {
        if count == 0 {
            return (0, 0);
        }
        self.run_scheduled_callbacks(count, until)
    }

    fn run_scheduled_callbacks(&self, count: usize, until: Option<Instant>) -> (u64, usize) {
        let mut ran = 0;
        let mut left = count;
        while left > 0 {
            left -= 1;
            let Some(slot) = self.callbacks.borrow_mut().pop_slot() else {
                left = 0;
                break;
            };
            let Some(callback) = slot else {
                continue; // cancelled
            };
            ran += 1;
            if let Err(payload) = catch(callback) {
                bump(&self.counters.panics);
                self.report_unhandled("callback", payload);
            }
            if until.is_some_and(|end| Instant::now() >= end) {
                break;
            }
        }
        self.counters
            .callbacks_run
            .set(self.counters.callbacks_run.get() + ran);
        (ran, left)
    }

    /// How many callbacks and tasks are ready right now: a turn's snapshot.
    #[inline]
    pub fn ready_counts(&self) -> (usize, usize) {
        (self.callbacks.borrow().scheduled(), self.ready.len())
    }

    /// True if a turn run now would have something to do.
    #[inline]
    pub fn has_ready_work(&self) -> bool {
        !self.ready.is_empty() || self.callbacks.borrow().scheduled() > 0
    }

    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.borrow_mut().next_deadline()
    }

    // ----- introspection and teardown -------------------------------------

    pub fn metrics(&self) -> Metrics {
        let c = &self.counters;
        Metrics {
            tasks_spawned: c.tasks_spawned.get(),
            tasks_alive: self.tasks.borrow().len() as u64,
            polls: c.polls.get(),
            local_wakes: self.ready.local_wakes(),
            remote_wakes: c.remote_wakes.get(),
            call_soon: c.call_soon.get(),
            call_soon_threadsafe: c.call_soon_threadsafe.get(),
            remote_spawns: c.remote_spawns.get(),
            wake_syscalls: self.injector.wake_syscalls(),
            sleeps: c.sleeps.get(),
            turns: c.turns.get(),
            panics: c.panics.get(),
            callbacks_run: c.callbacks_run.get(),
            timers_fired: c.timers_fired.get(),
        }
    }

    /// Drops every unfinished task, callback and timer. Each such task's
    /// `JoinHandle` then resolves `LoopClosed`; each remote task's completer,
    /// dropped with its future, resolves its `RemoteHandle` `LoopClosed`.
    /// A *finished* task whose `JoinHandle` is alive keeps its outcome: the
    /// handle can still collect it after the loop is gone.
    pub fn shutdown(&self) {
        // Dropping a future may drop JoinHandles, Sleeps or CallbackHandles of
        // this very loop, which borrow these RefCells: take each thing out
        // first, then drop it with no borrow held. Repeat until nothing is
        // left, since a destructor may spawn or schedule more.
        loop {
            let unfinished: Vec<usize> = self
                .tasks
                .borrow()
                .iter()
                .filter(|(_, task)| !matches!(task.stage, Stage::Finished(_)))
                .map(|(slot, _)| slot)
                .collect();
            let callbacks = self.callbacks.borrow_mut().take_all();
            let timers = self.timers.borrow_mut().take_all();
            if unfinished.is_empty() && callbacks.is_empty() && timers.is_empty() {
                break;
            }
            for slot in unfinished {
                let Some(task) = self.tasks.borrow_mut().try_remove(slot) else {
                    continue; // removed by an earlier destructor
                };
                let name = task_label(task.generation, self.take_name(task.generation));
                let join_waker = match task.join_interest {
                    JoinInterest::Handle(waker) => waker,
                    JoinInterest::Detached => None,
                };
                if let Err(payload) = drop_caught(task.stage) {
                    self.report_unhandled(&format!("{name} (dropped with its loop)"), payload);
                }
                if let Some(waker) = join_waker {
                    waker.wake();
                }
            }
            for item in callbacks {
                if let Err(payload) = drop_caught(item) {
                    self.report_unhandled("a callback (dropped with its loop)", payload);
                }
            }
            for item in timers {
                if let Err(payload) = drop_caught(item) {
                    self.report_unhandled("a timer (dropped with its loop)", payload);
                }
            }
        }
        while self.ready.pop().is_some() {}
    }
}
