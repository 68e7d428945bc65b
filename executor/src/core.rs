//! The state of one loop: its tasks, ready queue, callbacks and timers, its
//! counters and its panic policy. The `EventLoop` owns it through an `Rc`;
//! a `JoinHandle` shares that `Rc`, a `CallbackHandle` keeps a `Weak`, and a
//! `Sleep` (which is `Send`) names its timer by loop id and key and finds
//! the loop through `context`.
//!
//! Every field is loop-thread only: `Cell`s and `RefCell`s, no locks, and
//! all of them private. The one rule that keeps the `RefCell`s from ever
//! panicking: **no borrow is held while user code runs.** User code is a
//! task's `poll`, a callback, and any `Drop` of a user value (futures,
//! outputs, wakers, closures). So every method below takes what it needs
//! out of a `RefCell`, lets the borrow go, and only then polls, calls or
//! drops. The handles above this file reach the state only through these
//! methods, so the rule is kept here, in one file.
//!
//! `Core` knows no handle type: the files above it (`join_handle.rs`,
//! `callback_handle.rs`, `time.rs`, `handle.rs`) build their handles from
//! the ids and keys it returns.

use crate::blocking::pool::BlockingPool;
use crate::callbacks::{CallbackKey, Callbacks, LocalCallback};
use crate::clock::Clock;
use crate::introspection::{SlowPoll, SlowPollHook, TaskInfo};
use crate::io::reactor::{Direction, Reactor, Readiness, SourceKey};
use crate::message::Message;
use crate::metrics::{bump, Counters, Metrics};
use crate::outcome::{panic_message, BoxFuture, JoinError, Outcome, Payload};
use crate::panic::{catch, drop_caught, PanicHook, PanicPolicy, UnhandledPanic};
use crate::task::{task_label, Removed, Stage, TaskSlab};
use crate::timers::{Expiry, TimerKey, Timers};
use looplet_injector::Injector;
use looplet_waker::{ReadyQueue, TaskId};
use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// What `Core::polling` holds between task polls: generation 0 names no
/// task (`TaskSlab` starts at 1).
const NOT_POLLING: TaskId = TaskId::new(0, 0);

/// One loop's state (see the module docs). Loop thread only.
pub(crate) struct Core {
    loop_id: u64,
    /// The thread the loop belongs to (`EventLoop` is `!Send`): a
    /// `RemoteHandle` refuses to block it, since the loop could never run.
    loop_thread: ThreadId,
    injector: Arc<Injector<Message>>,
    ready: Rc<ReadyQueue>,
    tasks: RefCell<TaskSlab>,
    callbacks: RefCell<Callbacks>,
    timers: RefCell<Timers>,
    counters: Counters,
    /// A stop was asked for: the driving call running now (or the next one)
    /// returns after its turn and consumes the request.
    stop_requested: Cell<bool>,
    /// The task being polled right now (`NOT_POLLING` if none): what
    /// `looplet::is_cancelled` and `looplet::cancelled` ask about.
    polling: Cell<TaskId>,
    /// Set by the `Propagate` panic policy: the driving call re-raises it.
    panic_to_propagate: RefCell<Option<String>>,
    panic_policy: PanicPolicy,
    panic_hook: PanicHook,
    /// The loop's blocking pool (thread-safe itself; shared with every
    /// `BlockingHandle`).
    blocking: BlockingPool,
    /// What "now" means to the loop's timers (see `clock.rs`).
    clock: Clock,
    /// Tasks are tracked and polls timed (`track_tasks` or a slow-poll
    /// threshold): the one test the poll path makes when both are off.
    time_polls: bool,
    slow_poll: Option<SlowPollWatch>,
    /// The I/O sources registered in the loop's `Poll` (`io/reactor.rs`),
    /// and that `Poll`'s registry to add and remove them.
    reactor: RefCell<Reactor>,
    /// How many sources the reactor holds, readable without a borrow: the
    /// turn asks it every time, and a loop without sockets must pay ~nothing.
    io_source_count: Cell<usize>,
    registry: mio::Registry,
    /// Wakers taken by an I/O dispatch, woken once the reactor's borrow is
    /// released (kept to reuse its allocation).
    io_to_wake: RefCell<Vec<Waker>>,
}

/// The settings a `Core` is made with (from the `Builder`).
pub(crate) struct CoreSettings {
    pub panic_policy: PanicPolicy,
    pub panic_hook: PanicHook,
    pub blocking: BlockingPool,
    pub clock: Clock,
    pub slow_poll: Option<SlowPollWatch>,
    pub track_tasks: bool,
}

/// `Builder::slow_poll_threshold` and its hook.
pub(crate) struct SlowPollWatch {
    pub threshold: Duration,
    pub hook: SlowPollHook,
}

/// What [`Core::poll_join`] found.
pub(crate) enum JoinPoll {
    /// The task finished and was removed: its outcome.
    Ready(Outcome),
    /// Not finished; the awaiting waker is registered.
    Pending,
}

impl Core {
    pub fn new(
        loop_id: u64,
        injector: Arc<Injector<Message>>,
        registry: mio::Registry,
        settings: CoreSettings,
    ) -> Self {
        let CoreSettings {
            panic_policy,
            panic_hook,
            blocking,
            clock,
            slow_poll,
            track_tasks,
        } = settings;
        let tasks = TaskSlab::new(loop_id, Arc::clone(&injector));
        Core {
            reactor: RefCell::default(),
            io_source_count: Cell::new(0),
            registry,
            io_to_wake: RefCell::default(),
            time_polls: track_tasks || slow_poll.is_some(),
            slow_poll,
            loop_id,
            loop_thread: std::thread::current().id(),
            injector,
            ready: Rc::new(ReadyQueue::new()),
            tasks: RefCell::new(tasks),
            callbacks: RefCell::default(),
            timers: RefCell::default(),
            counters: Counters::default(),
            stop_requested: Cell::new(false),
            polling: Cell::new(NOT_POLLING),
            panic_to_propagate: RefCell::new(None),
            panic_policy,
            panic_hook,
            blocking,
            clock,
        }
    }

    // ----- identity -------------------------------------------------------

    /// Tells this loop's wakers and timers from those of another loop on
    /// the same thread.
    pub fn loop_id(&self) -> u64 {
        self.loop_id
    }

    pub fn loop_thread(&self) -> ThreadId {
        self.loop_thread
    }

    /// The sending side of the loop's inbox, for handles and wakers.
    pub fn injector(&self) -> &Arc<Injector<Message>> {
        &self.injector
    }

    /// The queue same-thread wakes push to (see `context::enter`).
    pub fn ready_queue(&self) -> &Rc<ReadyQueue> {
        &self.ready
    }

    /// The loop's blocking pool (`spawn_blocking`).
    pub fn blocking_pool(&self) -> &BlockingPool {
        &self.blocking
    }

    /// Now, by the loop's clock: what every timer of the loop reads.
    #[inline]
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    // ----- tasks ----------------------------------------------------------

    /// Adds a task whose outcome a `JoinHandle` will collect (E1).
    pub fn add_joined_task(
        &self,
        future: BoxFuture,
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
    ) -> TaskId {
        let id = self.add_task(future, name, false);
        if self.time_polls {
            self.tasks.borrow_mut().track(id, Some(spawned_at));
        }
        id
    }

    /// Adds a task nobody joins: a remote task, boxed by `Handle::spawn` on
    /// its own thread or by `spawn_with`'s closure here. It reports through
    /// its own completer; the loop only drops it when it finishes.
    pub fn adopt_detached(&self, future: BoxFuture) -> TaskId {
        let id = self.add_task(future, None, true);
        if self.time_polls {
            self.tasks.borrow_mut().track(id, None);
        }
        id
    }

    #[inline]
    fn add_task(&self, future: BoxFuture, name: Option<Box<str>>, detached: bool) -> TaskId {
        let id = self.tasks.borrow_mut().insert(future, name, detached);
        bump(&self.counters.tasks_spawned);
        self.ready.push(id);
        id
    }

    /// Polls the task `id` once (E2, then E3, E5 or E7), if `id` still names
    /// a stored task. A stale id (the task finished, its slot reused) is
    /// ignored: this is what makes an old waker harmless. Returns whether it
    /// polled.
    pub fn poll_task(&self, id: TaskId) -> bool {
        let Some((mut future, waker, lent)) = self.tasks.borrow_mut().start_poll(id) else {
            return false;
        };
        bump(&self.counters.polls);

        // Task polls do not nest (a task cannot poll another task of its
        // loop), so the task being polled is a plain cell.
        self.polling.set(id);
        let result = if self.time_polls {
            self.poll_timed(id, &mut future, &waker)
        } else {
            catch(|| {
                let mut cx = Context::from_waker(&waker);
                future.as_mut().poll_outcome(&mut cx)
            })
        };
        self.polling.set(NOT_POLLING);

        // A panic in `poll` ends the task like a return: it is the outcome.
        let result =
            result.unwrap_or_else(|payload| Poll::Ready(Err(JoinError::Panicked(payload))));
        let outcome = match result {
            Poll::Pending => {
                let aborted = self.tasks.borrow_mut().end_poll(id, waker, lent, future);
                let Some(future) = aborted else {
                    return true; // E3, the common case: wait for a wake
                };
                // E7: it aborted itself during this poll.
                self.drop_future(id, future);
                Err(JoinError::Cancelled)
            }
            Poll::Ready(outcome) => {
                // E5: the future is dropped *before* its outcome is kept, so
                // whoever collects it knows the task's destructors have run.
                self.tasks.borrow_mut().put_back_waker(id, waker, lent);
                end_future(future, outcome)
            }
        };
        self.finish(id, outcome);
        true
    }

    /// A poll with tracking on: timed, then recorded. Out of line, so that
    /// the common poll path stays as small as it was before tracking existed.
    #[cold]
    #[inline(never)]
    fn poll_timed(
        &self,
        id: TaskId,
        future: &mut BoxFuture,
        waker: &Waker,
    ) -> Result<Poll<Outcome>, Payload> {
        let started = Instant::now();
        let result = catch(|| {
            let mut cx = Context::from_waker(waker);
            future.as_mut().poll_outcome(&mut cx)
        });
        self.note_poll(id, started);
        result
    }

    /// Records a timed poll of task `id` (tracking is on) and reports it if
    /// it was slow. The task is still in the slab (`Polling`), so its record
    /// and name are there.
    fn note_poll(&self, id: TaskId, started: Instant) {
        let ended = Instant::now();
        let record = self.tasks.borrow_mut().note_poll(id, ended);
        let Some(watch) = &self.slow_poll else {
            return;
        };
        let duration = ended.saturating_duration_since(started);
        if duration < watch.threshold {
            return;
        }
        bump(&self.counters.slow_polls);
        let label = self.label(id);
        let report = SlowPoll {
            task: &label,
            id,
            duration,
            spawned_at: record.and_then(|r| r.spawned_at),
        };
        if let Err(payload) = catch(|| (watch.hook)(&report)) {
            self.report_unhandled("the slow-poll hook", payload);
        }
    }

    /// Every task in the slab (`EventLoop::tasks`).
    pub fn task_infos(&self) -> Vec<TaskInfo> {
        self.tasks.borrow().infos(Instant::now())
    }

    /// Hard cancel: drops the task's future now (E6), or right after the
    /// current poll if the task is aborting itself (E7). The caller makes
    /// the loop current if it is not (`JoinHandle::abort`), since the
    /// future's destructors may need it.
    pub fn abort(&self, id: TaskId) {
        let future = self.tasks.borrow_mut().abort(id);
        if let Some(future) = future {
            self.drop_future(id, future);
            self.finish(id, Err(JoinError::Cancelled));
        }
    }

    /// Soft cancel (see `cancel.rs`): counts a request to cancel task `id`
    /// and wakes it, so that it sees `looplet::cancelled()` resolve. Nothing
    /// is dropped. False if the task finished or is gone.
    pub fn request_cancel(&self, id: TaskId) -> bool {
        let waker = self.tasks.borrow_mut().request_cancel(id, 1);
        match waker {
            Some(waker) => {
                std::task::Wake::wake_by_ref(&waker);
                true
            }
            None => false,
        }
    }

    /// Counts `requests` soft-cancel requests for the task being polled now
    /// (a remote task's, handed over before its poll: no wake needed).
    pub fn note_cancel_requests(&self, requests: u32) {
        if let Some(id) = self.polling() {
            let waker = self.tasks.borrow_mut().request_cancel(id, requests);
            drop(waker); // our own `Arc`: dropping it runs no user code
        }
    }

    /// How many times task `id` was asked to cancel.
    pub fn cancel_requests(&self, id: TaskId) -> u32 {
        self.tasks.borrow().cancel_requests(id)
    }

    /// The task being polled right now, if this is a task's poll.
    pub fn polling(&self) -> Option<TaskId> {
        let id = self.polling.get();
        (id != NOT_POLLING).then_some(id)
    }

    /// Drops a task's future outside any borrow; a panic in its `Drop` is
    /// reported, never propagated.
    fn drop_future(&self, id: TaskId, future: BoxFuture) {
        let what = || format!("{} (while dropping it)", self.label(id));
        self.drop_user_value(what, future);
    }

    /// The name of task `id` for a report, while it is in the slab.
    fn label(&self, id: TaskId) -> String {
        self.tasks.borrow().label(id.generation())
    }

    /// Drops a user value the loop was asked to discard (an aborted task's
    /// future, a cancelled callback); a panic in its `Drop` is reported as
    /// `what()` (built only then), never propagated.
    pub fn drop_user_value<T>(&self, what: impl FnOnce() -> String, value: T) {
        if let Err(payload) = drop_caught(value) {
            self.report_unhandled(&what(), payload);
        }
    }

    /// Records a task's end: keeps the outcome for its `JoinHandle`, or, for
    /// a detached task, removes it at once (E10).
    fn finish(&self, id: TaskId, outcome: Outcome) {
        if let Err(JoinError::Panicked(payload)) = &outcome {
            self.note_task_panic(&self.label(id), panic_message(payload));
        }
        let mut tasks = self.tasks.borrow_mut();
        let Some(task) = tasks.get_mut(id) else {
            // The task's own destructor dropped the loop (`abort()` drops the
            // future between driving calls), and the shutdown removed the task: no
            // handle can collect the outcome any more (it reads `LoopClosed`).
            drop(tasks);
            self.discard_outcome(|| task_label(id.generation(), None), outcome);
            return;
        };
        if task.stage.is_detached() {
            let removed = tasks.remove(id).expect("found just above");
            drop(tasks);
            self.discard_outcome(|| removed.label(), outcome);
            // `removed.stage` is `Polling`: nothing of the user's is left in it.
        } else {
            let join_waker = tasks.keep_outcome(id, outcome);
            drop(tasks);
            if let Some(join_waker) = join_waker {
                join_waker.wake();
            }
        }
    }

    /// True once task `id` has an outcome (or is gone: the loop shut down).
    pub fn is_finished(&self, id: TaskId) -> bool {
        match self.tasks.borrow().get(id) {
            Some(task) => task.stage.is_finished(),
            None => true,
        }
    }

    /// A `JoinHandle`'s poll: takes the outcome if the task finished (E8),
    /// else registers `waker` to be woken when it does. A task that is gone
    /// was dropped with its loop (E11): `LoopClosed`.
    #[inline]
    pub fn poll_join(&self, id: TaskId, waker: &Waker) -> JoinPoll {
        let mut tasks = self.tasks.borrow_mut();
        let Some(task) = tasks.get_mut(id) else {
            return JoinPoll::Ready(Err(JoinError::LoopClosed));
        };
        if let Stage::Finished(_) = task.stage {
            let removed = tasks.remove(id).expect("found just above");
            drop(tasks);
            let Stage::Finished(outcome) = removed.stage else {
                unreachable!("matched just above");
            };
            return JoinPoll::Ready(outcome);
        }
        debug_assert!(
            !task.stage.is_detached(),
            "a live JoinHandle means the task is not detached"
        );
        let replaced = tasks.set_join_waker(id, waker);
        // The old waker may be another executor's, and the last reference to
        // its task: dropping it can run arbitrary code (even drop one of our
        // JoinHandles), so it is dropped only after the borrow is released.
        drop(tasks);
        drop(replaced);
        JoinPoll::Pending
    }

    /// A `JoinHandle` was dropped without collecting: a finished task's
    /// outcome is discarded (E9a; a panic goes to the hook); an unfinished
    /// task is detached and runs on (E9b).
    pub fn detach(&self, id: TaskId) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(task) = tasks.get_mut(id) else {
            return;
        };
        if let Stage::Finished(_) = task.stage {
            let removed = tasks.remove(id).expect("found just above");
            drop(tasks);
            let Removed {
                generation,
                stage: Stage::Finished(outcome),
                name,
                ..
            } = removed
            else {
                unreachable!("matched just above");
            };
            self.discard_outcome(|| task_label(generation, name), outcome);
        } else {
            // Dropping a waker is user code too: take it out first.
            let old = tasks.detach(id);
            drop(tasks);
            drop(old);
        }
    }

    /// Disposes of an outcome nobody will collect: a panic goes to the
    /// unhandled-panic hook; an output is dropped (under `catch_unwind`).
    /// `name` is only called (it allocates) when there is something to report.
    fn discard_outcome(&self, name: impl FnOnce() -> String, outcome: Outcome) {
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

    // ----- panics ---------------------------------------------------------

    /// Counts a task's panic and applies the [`PanicPolicy`]. Local tasks
    /// come here from [`finish`](Self::finish); remote tasks, which catch
    /// their own panics to hand them to their `RemoteHandle`, call it directly.
    pub fn note_task_panic(&self, task: &str, message: &str) {
        bump(&self.counters.panics);
        match self.panic_policy {
            PanicPolicy::Continue => {}
            PanicPolicy::StopLoop => self.request_stop(),
            PanicPolicy::Propagate => {
                let mut slot = self.panic_to_propagate.borrow_mut();
                if slot.is_none() {
                    *slot = Some(format!("{task} panicked: {message}"));
                }
            }
        }
    }

    /// Hands a panic nobody will see otherwise to the unhandled-panic hook.
    pub fn report_unhandled(&self, task: &str, payload: Payload) {
        let report = UnhandledPanic {
            task,
            message: panic_message(&payload),
            payload: &payload,
        };
        // A panicking hook must not take the loop down either.
        let _ = catch(|| (self.panic_hook)(&report));
    }

    /// A panic the `Propagate` policy is waiting to re-raise, if any.
    pub fn propagation_pending(&self) -> bool {
        self.panic_to_propagate.borrow().is_some()
    }

    /// Takes the message of the panic to re-raise (`Propagate`).
    pub fn take_propagated_panic(&self) -> Option<String> {
        self.panic_to_propagate.borrow_mut().take()
    }

    // ----- stopping -------------------------------------------------------

    /// Asks the loop to stop: the driving call running now, or the next one.
    pub fn request_stop(&self) {
        self.stop_requested.set(true);
    }

    /// True while a stop request waits to be consumed.
    #[inline]
    pub fn stop_requested(&self) -> bool {
        self.stop_requested.get()
    }

    /// Consumes a stop request: true if there was one.
    #[inline]
    pub fn take_stop_request(&self) -> bool {
        self.stop_requested.replace(false)
    }

    // ----- messages from other threads ------------------------------------

    /// Acts on one message taken from the injector.
    pub fn receive(&self, message: Message) {
        match message {
            Message::Wake(id) => {
                bump(&self.counters.remote_wakes);
                self.ready.push(id);
            }
            Message::WakeBlockOn => {} // the block_on waker set its flag already
            Message::Call(callback) => {
                bump(&self.counters.call_soon_threadsafe);
                let mut callbacks = self.callbacks.borrow_mut();
                let key = callbacks.insert(callback.into_inner());
                callbacks.schedule(key);
            }
            Message::Spawn(task) => {
                bump(&self.counters.remote_spawns);
                self.adopt_detached(task.into_inner());
            }
            Message::SpawnWith(make) => {
                bump(&self.counters.remote_spawns);
                let future = (make.into_inner())();
                self.adopt_detached(future);
            }
            Message::Stop => self.request_stop(),
            // The turn fires the timers it made due right after the drain.
            Message::ClockAdvanced => {}
            Message::Unhandled(unhandled) => {
                self.report_unhandled(&unhandled.what, unhandled.payload)
            }
        }
    }

    // ----- callbacks and timers -------------------------------------------

    /// Queues `callback` for the next run phase.
    pub fn call_soon(&self, callback: LocalCallback) -> CallbackKey {
        bump(&self.counters.call_soon);
        let mut callbacks = self.callbacks.borrow_mut();
        let key = callbacks.insert(callback);
        callbacks.schedule(key);
        key
    }

    /// Stores `callback` and a timer that schedules it at `deadline`.
    pub fn call_at(&self, deadline: Instant, callback: LocalCallback) -> (CallbackKey, TimerKey) {
        let key = self.callbacks.borrow_mut().insert(callback);
        let timer = self
            .timers
            .borrow_mut()
            .insert(deadline, Expiry::Callback(key));
        (key, timer)
    }

    /// Takes a callback out wherever it is (queued, or waiting in `timer`);
    /// `None` if it ran or was cancelled. The caller drops it.
    pub fn cancel_callback(
        &self,
        key: CallbackKey,
        timer: Option<TimerKey>,
    ) -> Option<LocalCallback> {
        let callback = self.callbacks.borrow_mut().take(key);
        if let Some(timer) = timer {
            // An `Expiry::Callback` holds only a key: nothing of the user's.
            let _ = self.timers.borrow_mut().cancel(timer);
        }
        callback
    }

    /// A timer that wakes `waker` at `deadline` (a `Sleep`).
    pub fn add_wake_timer(&self, deadline: Instant, waker: Waker) -> TimerKey {
        self.timers
            .borrow_mut()
            .insert(deadline, Expiry::Wake(waker))
    }

    /// Points the pending wake timer `key` at `waker`; false if `key` is no
    /// longer pending (it fired or was cancelled).
    pub fn update_wake_timer(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut timers = self.timers.borrow_mut();
        if !timers.is_pending(key) {
            return false;
        }
        let replaced = timers.update_waker(key, waker);
        // A replaced waker is dropped only once the borrow is released.
        drop(timers);
        drop(replaced);
        true
    }

    /// Removes a timer that has not fired (a dropped `Sleep`).
    pub fn cancel_timer(&self, key: TimerKey) {
        let expiry = self.timers.borrow_mut().cancel(key);
        drop(expiry); // a waker: dropped outside the borrow
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
            let expiry = self.timers.borrow_mut().pop_expired(now);
            match expiry {
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
            // Wall-clock time, not `self.now()`: the budget is the host's.
            if until.is_some_and(|end| Instant::now() >= end) {
                break;
            }
        }
        self.counters
            .callbacks_run
            .set(self.counters.callbacks_run.get() + ran);
        (ran, left)
    }

    /// Polls up to `count` ready tasks (a turn's snapshot); returns how many
    /// polls it made (stale ids are skipped, not counted).
    #[inline]
    pub fn run_tasks(&self, count: usize) -> u64 {
        let mut polls = 0;
        for _ in 0..count {
            let Some(id) = self.ready.pop() else { break };
            polls += u64::from(self.poll_task(id));
        }
        polls
    }

    /// [`run_tasks`](Self::run_tasks) with a budget: stops once `end` has
    /// passed, checked after each poll (a stale id spends nothing). Returns
    /// the polls made and how many of the `count` are left.
    pub fn run_tasks_until(&self, count: usize, end: Instant) -> (u64, usize) {
        let mut polls = 0;
        let mut left = count;
        while left > 0 {
            left -= 1;
            let Some(id) = self.ready.pop() else {
                return (polls, 0);
            };
            if self.poll_task(id) {
                polls += 1;
                // Wall-clock time, not `self.now()`: the budget is the host's.
                if Instant::now() >= end {
                    break;
                }
            }
        }
        (polls, left)
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

    /// The earliest pending timer's deadline.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.borrow_mut().next_deadline()
    }

    // ----- I/O sources (io/reactor.rs) -------------------------------------

    /// Registers `source` with the loop's `Poll`, readable and writable,
    /// edge-triggered.
    pub fn register_source(
        &self,
        source: &mut impl mio::event::Source,
    ) -> std::io::Result<SourceKey> {
        let (key, token) = self.reactor.borrow_mut().insert();
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        if let Err(error) = self.registry.register(source, token, interest) {
            let _ = self.reactor.borrow_mut().remove(key);
            return Err(error);
        }
        self.io_source_count.set(self.reactor.borrow().len());
        Ok(key)
    }

    /// Deregisters `source` and forgets it; an event already in flight for
    /// it names a slot of another generation and wakes nobody.
    pub fn deregister_source(&self, source: &mut impl mio::event::Source, key: SourceKey) {
        let _ = self.registry.deregister(source);
        let wakers = self.reactor.borrow_mut().remove(key);
        self.io_source_count.set(self.reactor.borrow().len());
        drop(wakers); // user code, possibly: outside the borrow
    }

    /// How many I/O sources are registered.
    #[inline]
    pub fn io_sources(&self) -> usize {
        self.io_source_count.get()
    }

    /// Is `key` ready in `direction`? If not, the task's waker waits for it.
    pub fn poll_io_ready(
        &self,
        key: SourceKey,
        direction: Direction,
        cx: &Context<'_>,
    ) -> Poll<()> {
        let (ready, replaced) = self.reactor.borrow_mut().poll_ready(key, direction, cx);
        drop(replaced);
        ready
    }

    /// An operation on `key` in `direction` would block: not ready any more.
    pub fn clear_io_ready(&self, key: SourceKey, direction: Direction) {
        self.reactor.borrow_mut().clear_ready(key, direction);
    }

    /// Sets the readiness the poller reported and wakes the waiting tasks.
    pub fn dispatch_io(&self, events: impl Iterator<Item = (mio::Token, Readiness)>) {
        let mut to_wake = self.io_to_wake.take();
        {
            let mut reactor = self.reactor.borrow_mut();
            for (token, readiness) in events {
                reactor.dispatch(token, readiness, &mut to_wake);
            }
        }
        for waker in to_wake.drain(..) {
            waker.wake();
        }
        *self.io_to_wake.borrow_mut() = to_wake;
    }

    // ----- introspection and teardown -------------------------------------

    #[inline]
    pub fn count_turn(&self) {
        bump(&self.counters.turns);
    }

    pub fn count_sleep(&self) {
        bump(&self.counters.sleeps);
    }

    pub fn metrics(&self) -> Metrics {
        let c = &self.counters;
        let blocking = self.blocking.stats();
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
            slow_polls: c.slow_polls.get(),
            blocking_jobs: blocking.jobs_submitted,
            blocking_threads_alive: blocking.threads_alive,
            blocking_threads_busy: blocking.threads_busy,
            blocking_jobs_queued: blocking.jobs_queued,
            blocking_jobs_abandoned: blocking.jobs_abandoned,
        }
    }

    /// Tasks in the slab, ready task ids, timers: for `Debug`.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.tasks.borrow().len(),
            self.ready.len(),
            self.timers.borrow().len(),
        )
    }

    /// Drops every unfinished task, callback and timer (E11). Each such
    /// task's `JoinHandle` then resolves `LoopClosed`; each remote task's
    /// completer, dropped with its future, resolves its `RemoteHandle`
    /// `LoopClosed`. A *finished* task whose `JoinHandle` is alive keeps its
    /// outcome: the handle can still collect it after the loop is gone.
    pub fn shutdown(&self) {
        // Dropping a future may drop JoinHandles, Sleeps or CallbackHandles of
        // this very loop, which borrow these RefCells: take each thing out
        // first, then drop it with no borrow held. Repeat until nothing is
        // left, since a destructor may spawn or schedule more.
        loop {
            let unfinished = self.tasks.borrow().unfinished();
            let callbacks = self.callbacks.borrow_mut().take_all();
            let timers = self.timers.borrow_mut().take_all();
            if unfinished.is_empty() && callbacks.is_empty() && timers.is_empty() {
                break;
            }
            for id in unfinished {
                let Some(removed) = self.tasks.borrow_mut().remove(id) else {
                    continue; // removed by an earlier destructor
                };
                let name = removed.label();
                let join_waker = removed.join_waker;
                if let Err(payload) = drop_caught(removed.stage) {
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

/// Drops a task's future once it has ended (E5), under `catch_unwind`: a
/// panicking `Drop` becomes the outcome, and the output it replaces is
/// dropped too (not leaked), its own panic ignored.
fn end_future(future: BoxFuture, outcome: Outcome) -> Outcome {
    match drop_caught(future) {
        Ok(()) => outcome,
        Err(payload) => {
            let _ = drop_caught(outcome);
            Err(JoinError::Panicked(payload))
        }
    }
}
