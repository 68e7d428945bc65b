//! `EventLoop`: the run loop itself.
//!
//! ## One turn
//!
//! ```text
//!  ┌─► 0. sockets, if due ─────── with sockets: poll without waiting every
//!  │                              `io_interval` turns (a busy loop hears them too)
//!  │   1. drain the injector ──── remote wakes → ready queue
//!  │                              remote calls → callback queue
//!  │                              remote spawns → new tasks (ready)
//!  │   2. fire expired timers ─── sleeping tasks → ready queue
//!  │                              call_later callbacks → callback queue
//!  │   3. nothing ready? sleep ── announce SLEEPING, re-check the injector,
//!  │      (then 1 and 2 again)     epoll_wait(timeout = next timer): socket
//!  │                              events wake their tasks
//!  │   4. run a snapshot ──────── the callbacks and tasks ready *now*;
//!  │                              what they make ready runs next turn
//!  └── repeat (run, block_on, run_until_stalled, run_for) / return (turn)
//! ```
//!
//! Running a *snapshot* is what keeps the loop fair: a task that wakes itself
//! (`yield_now`) goes to the back of the queue and runs next turn, after the
//! injector and the timers have been looked at again.
//!
//! Sleeping before running (step 3 before 4) means that when `turn(timeout)`
//! waits, whatever woke it is run in the same call.
//!
//! ## Driven by a host
//!
//! A GUI or game loop calls [`turn`](EventLoop::turn) or
//! [`run_for`](EventLoop::run_for) once per frame and sleeps on its own;
//! between those calls the loop counts as asleep, so a submission wakes the
//! host (the fd, [`AsRawFd`], and the builder's `wake_hook`).
//! docs/07-embedding.md tells the whole story.

use crate::blocking::handle::{spawn_on, BlockingHandle};
use crate::blocking::pool::{BlockingPool, PoolConfig};
use crate::blocking::report::{BlockingReport, BlockingReportHook};
use crate::blocking::token::CancelToken;
use crate::builder::Builder;
use crate::callback_handle::CallbackHandle;
use crate::clock::Clock;
use crate::clock::{deadline_after, host_timeout};
use crate::context;
use crate::core::{Core, CoreSettings, SlowPollWatch};
use crate::handle::Handle;
use crate::introspection::TaskInfo;
use crate::io::reactor::Readiness;
use crate::join_handle::JoinHandle;
use crate::message::Message;
use crate::metrics::Metrics;
use crate::outcome::JoinError;
use crate::panic::catch;
use crate::precise_timer::PreciseTimer;
use looplet_injector::Inbox;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// The token of the injector's wake fd in the loop's `mio::Poll`: near the
/// top of the range, where no other source's token (a small slab slot
/// number) will ever reach. Any such number would do.
const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX - 1);

/// The token of the precise timer (`precise_timer.rs`), next to the wake fd's.
const TIMER_TOKEN: mio::Token = mio::Token(usize::MAX - 2);

/// How much later than its precise timer the loop's `epoll_wait` times out
/// by itself: only a backstop, should the timerfd ever fail to fire.
const TIMER_BACKSTOP: Duration = Duration::from_millis(2);

/// At most this many injected messages are taken per turn, so a flood from
/// other threads cannot keep the loop from running what is already ready.
/// The rest is taken next turn (the loop does not sleep while any is left).
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let handle = event_loop.handle();
/// for _ in 0..looplet::MAX_MESSAGES_PER_TURN + 1 {
///     handle.call_soon_threadsafe(|| ()).unwrap();
/// }
/// assert_eq!(event_loop.turn(Some(Duration::ZERO)).callbacks, looplet::MAX_MESSAGES_PER_TURN as u64);
/// assert_eq!(event_loop.turn(Some(Duration::ZERO)).callbacks, 1, "the rest, next turn");
/// # Ok::<(), std::io::Error>(())
/// ```
pub const MAX_MESSAGES_PER_TURN: usize = 1024;

/// Gives every loop a distinct id, so a waker can tell "my loop runs on this
/// thread" from "some other loop runs on this thread".
static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(1);

/// What a host-driven call did, and when the host should call again.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::time::Duration;
/// let mut event_loop = looplet::EventLoop::new()?;
/// event_loop.call_later(Duration::from_millis(20), || ());
/// let tick = event_loop.run_for(Duration::from_millis(2));
/// assert!(tick.is_idle() && !tick.stopped);
/// // The host may sleep until the timer: call again at `tick.next_deadline`.
/// assert!(tick.next_deadline.is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Turns taken.
    pub turns: u64,
    /// Task polls.
    pub polls: u64,
    /// Callbacks run.
    pub callbacks: u64,
    /// When the loop next has work: `Some(now or earlier)` if it is ready
    /// already, the next timer's deadline, or `None` (only a wake will do).
    /// A host sleeping in a millisecond poller uses
    /// [`EventLoop::host_timeout`] instead (rounded up).
    pub next_deadline: Option<Instant>,
    /// A stop request ended this call (and was consumed by it): `stop()`,
    /// `Handle::stop()`, or a panic under `PanicPolicy::StopLoop`.
    pub stopped: bool,
}

impl Tick {
    /// True if the call ran nothing.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// assert!(event_loop.run_until_stalled().is_idle(), "nothing to run");
    /// event_loop.call_soon(|| ());
    /// let tick = event_loop.run_until_stalled();
    /// assert_eq!((tick.callbacks, tick.is_idle()), (1, false));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_idle(&self) -> bool {
        self.polls == 0 && self.callbacks == 0
    }

    fn add(&mut self, other: Tick) {
        self.turns += other.turns;
        self.polls += other.polls;
        self.callbacks += other.callbacks;
        self.stopped |= other.stopped;
    }
}

/// A single-threaded event loop.
///
/// `EventLoop` is `!Send`: it, its `call_soon` and its `JoinHandle`s belong
/// to the thread that created it. Other threads use a [`Handle`]. Moving the
/// loop to another thread to call `call_soon` there does not compile:
///
/// ```text
/// error[E0277]: `Rc<looplet_executor::core::Core>` cannot be sent between threads safely
///   = help: within `{closure}`, the trait `Send` is not implemented for `Rc<…::Core>`
/// note: required because it appears within the type `EventLoop`
/// ```
///
/// That is what the compiler says: it names the field that makes the loop
/// `!Send` (the shared state its handles point to, behind an `Rc`), then
/// the `EventLoop` that holds it. The cure is the same whatever it names:
/// keep the loop on its thread and send a [`Handle`] instead. (A marker
/// field cannot replace that line in safe Rust: the compiler reports every
/// `!Send` field, so the `Rc` would still be named.)
///
/// ```compile_fail,E0277
/// # use looplet_executor as looplet;
/// let event_loop = looplet::EventLoop::new().unwrap();
/// std::thread::spawn(move || {
///     event_loop.call_soon(|| println!("never compiles: EventLoop is !Send"));
/// });
/// ```
///
/// ```compile_fail,E0277
/// # use looplet_executor as looplet;
/// let event_loop = looplet::EventLoop::new().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(|| event_loop.call_soon(|| ())); // nor by reference: !Sync
/// });
/// ```
pub struct EventLoop {
    core: Rc<Core>,
    inbox: Inbox<Message>,
    poll: mio::Poll,
    events: mio::Events,
    /// Wakes `epoll_wait` at a timer's deadline to the microsecond.
    precise_timer: PreciseTimer,
    /// Turns since the last look at the sockets; a busy loop that never
    /// sleeps still looks every `io_interval` turns.
    turns_without_io: u32,
    io_interval: u32,
    name: Option<String>,
    /// What is left of a turn's snapshot (callback slots, ready tasks) that
    /// `run_for`'s budget cut short; the next turn runs it before anything
    /// that became ready later.
    rest_of_snapshot: Option<(usize, usize)>,
    /// How long the drop waits for blocking jobs, and whom it tells.
    blocking_shutdown_timeout: Duration,
    blocking_report_hook: BlockingReportHook,
}

impl EventLoop {
    /// A loop with the default settings.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// assert_eq!(event_loop.block_on(async { 1 + 1 }), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<EventLoop> {
        Builder::new().build()
    }

    /// A builder for a loop with other settings.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::builder().name("ui").build()?;
    /// assert!(format!("{event_loop:?}").contains("ui"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_builder(builder: Builder) -> io::Result<EventLoop> {
        let poll = mio::Poll::new()?;
        let (injector, inbox) =
            looplet_injector::channel(poll.registry(), WAKE_TOKEN, builder.wake_hook)?;
        let loop_id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        let blocking = BlockingPool::new(PoolConfig {
            max_threads: builder.blocking_threads,
            keep_alive: builder.blocking_keep_alive,
            // std refuses (panics on) a thread name with a NUL byte.
            thread_name: format!("{}-blocking", builder.name.as_deref().unwrap_or("looplet"))
                .replace('\0', "?"),
        });
        // A manual clock's `advance` wakes this loop, from any thread.
        let advanced = Arc::downgrade(&injector);
        builder.clock.on_advance(move || {
            if let Some(injector) = advanced.upgrade() {
                let _ = injector.push(Message::ClockAdvanced);
            }
        });
        let slow_poll = builder.slow_poll_threshold.map(|threshold| SlowPollWatch {
            threshold,
            hook: builder.slow_poll_hook,
        });
        let settings = CoreSettings {
            panic_policy: builder.panic_policy,
            panic_hook: builder.panic_hook,
            blocking,
            clock: builder.clock,
            slow_poll,
            track_tasks: builder.track_tasks,
        };
        let core = Core::new(loop_id, injector, poll.registry().try_clone()?, settings);
        // A loop that is not running counts as asleep: a submission made
        // before the first run/turn must wake whoever will drive it.
        inbox.return_to_host(false);
        let precise_timer = PreciseTimer::new(poll.registry(), TIMER_TOKEN)?;
        Ok(EventLoop {
            core: Rc::new(core),
            inbox,
            precise_timer,
            turns_without_io: 0,
            io_interval: builder.io_interval,
            poll,
            // Room for more events than the one wake fd yields, so that
            // sources registered later are read in one `poll` too.
            events: mio::Events::with_capacity(64),
            name: builder.name,
            rest_of_snapshot: None,
            blocking_shutdown_timeout: builder.blocking_shutdown_timeout,
            blocking_report_hook: builder.blocking_report_hook,
        })
    }

    /// A thread-safe handle for other threads.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.handle(); // Send + Sync + Clone: give it to other threads
    /// std::thread::spawn(move || handle.call_soon_threadsafe(|| println!("on the loop")));
    /// event_loop.turn(Some(Duration::from_secs(5))); // woken by the call
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::of(&self.core)
    }

    /// Spawns a task on this loop. It runs when the loop runs.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn(async { 6 * 7 });
    /// assert_eq!(event_loop.block_on(task).unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F: Future + 'static>(&self, future: F) -> JoinHandle<F::Output> {
        JoinHandle::spawn(Rc::clone(&self.core), future, None)
    }

    /// Spawns a named task (the name appears in panic reports).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let task = event_loop.spawn_named("loader", async { panic!("no file") });
    /// let error = event_loop.block_on(task).unwrap_err();
    /// assert_eq!(error.panic_message(), Some("no file"));
    /// // A panic nobody awaits is reported with the name: "looplet: loader panicked …".
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_named<F: Future + 'static>(&self, name: &str, future: F) -> JoinHandle<F::Output> {
        JoinHandle::spawn(Rc::clone(&self.core), future, Some(name.into()))
    }

    /// Runs `work` on the loop's blocking pool: what `looplet::spawn_blocking`
    /// does inside the loop, for the loop's own thread when the loop is not
    /// running (see there, and [`BlockingHandle`] for cancelling it).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let digest = event_loop.spawn_blocking(|_token| (1..=100_u64).sum::<u64>());
    /// assert_eq!(event_loop.block_on(digest).unwrap(), 5050);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, T>(&self, work: F) -> BlockingHandle<T>
    where
        F: FnOnce(&CancelToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_on(&self.core, work, None, Location::caller())
    }

    /// [`spawn_blocking`](Self::spawn_blocking) with a name for shutdown reports.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let saved = event_loop.spawn_blocking_named("save game", |_token| "slot 1");
    /// assert_eq!(event_loop.block_on(saved).unwrap(), "slot 1");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_blocking_named<F, T>(&self, name: &str, work: F) -> BlockingHandle<T>
    where
        F: FnOnce(&CancelToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_on(&self.core, work, Some(name), Location::caller())
    }

    /// Cancels every blocking job and waits up to `timeout` for the running
    /// ones to return: queued jobs are removed (their handles resolve
    /// `Cancelled`), running ones have their tokens set. Returns what
    /// happened, naming the jobs still running when it stopped waiting
    /// (their threads run on: nothing can stop a thread). It never waits
    /// longer than `timeout`. The pool stays open: jobs spawned later run
    /// as usual. A job it gave up on is listed again by the loop's drop,
    /// which does not wait for it a second time. Dropping the loop does the same, with
    /// `Builder::blocking_shutdown_timeout`, and hands the report to
    /// `Builder::on_blocking_report`.
    ///
    /// It blocks the loop thread while it waits: call it when the loop has
    /// nothing else to do (at exit, between levels).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let (started, running) = std::sync::mpsc::channel();
    /// let stubborn = event_loop.spawn_blocking_named("stubborn", move |_token| {
    ///     started.send(()).unwrap();
    ///     std::thread::sleep(Duration::from_millis(200)) // never looks at its token
    /// });
    /// running.recv_timeout(Duration::from_secs(10)).unwrap();
    /// let report = event_loop.shutdown_blocking(Duration::from_millis(20));
    /// assert_eq!(report.still_running.len(), 1, "{report}");
    /// assert_eq!(report.still_running[0].job.name.as_deref(), Some("stubborn"));
    /// // Its handle still gets what it returns, once it does:
    /// assert!(event_loop.block_on(stubborn).is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_blocking(&mut self, timeout: Duration) -> BlockingReport {
        self.core
            .blocking_pool()
            .shutdown(timeout, false, || JoinError::Cancelled)
    }

    /// Queues `callback` to run in the loop's next run phase, in FIFO order.
    ///
    /// Loop thread only. It never wakes anything: the caller *is* the loop
    /// thread, so the loop will see the queue before it sleeps. From another
    /// thread, use [`Handle::call_soon_threadsafe`].
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::{cell::RefCell, rc::Rc};
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// for i in 0..3 {
    ///     let log = Rc::clone(&log); // Rc: callbacks need not be Send
    ///     event_loop.call_soon(move || log.borrow_mut().push(i));
    /// }
    /// event_loop.run_until_stalled();
    /// assert_eq!(*log.borrow(), [0, 1, 2], "FIFO");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> CallbackHandle {
        CallbackHandle::call_soon(&self.core, Box::new(callback))
    }

    /// Runs `callback` after `delay`.
    /// `Duration::MAX` means "never" (the callback waits until cancelled or
    /// the loop is dropped).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let start = Instant::now();
    /// event_loop.call_later(Duration::from_millis(5), || println!("5 ms later"));
    /// event_loop.turn(None); // sleeps until the timer is due, then runs it
    /// assert!(start.elapsed() >= Duration::from_millis(5));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> CallbackHandle {
        let deadline = deadline_after(self.core.now(), delay);
        CallbackHandle::call_at(&self.core, deadline, Box::new(callback))
    }

    /// Runs `callback` at `deadline`. Timers fire in deadline order (ties in
    /// the order they were made); a deadline already past fires at the next
    /// turn, after the timers that fired before it was made.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let at = Instant::now() + Duration::from_millis(2);
    /// event_loop.call_at(at, || ());
    /// assert_eq!(event_loop.next_deadline(), Some(at));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_at(&self, deadline: Instant, callback: impl FnOnce() + 'static) -> CallbackHandle {
        CallbackHandle::call_at(&self.core, deadline, Box::new(callback))
    }

    /// Asks the loop to stop: the driving call running now, or else the next
    /// one (`run`, `turn`, `run_until_stalled`, `run_for`), returns after its
    /// current turn, and the request is consumed. So a host that stops its
    /// loop once can drive it again later; its `Tick` says `stopped`.
    /// `block_on` does not end on a stop (it waits for its future) and leaves
    /// the request for the next call.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// event_loop.stop();
    /// assert!(event_loop.run_until_stalled().stopped, "this call took the stop");
    /// assert!(!event_loop.run_until_stalled().stopped, "and consumed it");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(&self) {
        self.core.request_stop();
    }

    /// The loop's tasks, for a debug overlay: id, name, state, and, with
    /// `Builder::track_tasks(true)`, polls, time since the last poll and
    /// spawn site (without it those read 0 and `None`: tracking costs a
    /// little per poll, so it is opt-in).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use looplet::TaskState;
    /// let mut event_loop = looplet::EventLoop::builder().track_tasks(true).build()?;
    /// let idle = event_loop.spawn_named("idle", std::future::pending::<()>());
    /// event_loop.run_until_stalled();
    /// let tasks = event_loop.tasks();
    /// assert_eq!(tasks.len(), 1);
    /// assert_eq!(tasks[0].name.as_deref(), Some("idle"));
    /// assert_eq!((tasks[0].state, tasks[0].polls), (TaskState::Waiting, 1));
    /// assert!(tasks[0].spawned_at.is_some());
    /// # drop(idle);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.core.task_infos()
    }

    /// The clock the loop's timers follow (see [`Builder::clock`]).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::new()?;
    /// assert!(!event_loop.clock().is_manual(), "the system clock by default");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clock(&self) -> Clock {
        self.core.clock().clone()
    }

    /// The loop's counters.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// event_loop.call_soon(|| ());
    /// event_loop.run_until_stalled();
    /// let metrics = event_loop.metrics();
    /// assert_eq!(metrics.callbacks_run, 1);
    /// assert_eq!(metrics.wake_syscalls, 0, "call_soon never wakes");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.core.metrics()
    }

    /// When the loop next has work, for a host loop's own timer: now (or
    /// earlier) if something is ready, the next timer's deadline, or `None`.
    /// It is real time (`Instant::now()`'s): on a manual clock
    /// ([`Builder::clock`]) no timer becomes due while the host sleeps, so it
    /// is now or `None`; the clock's own next deadline is
    /// [`next_timer`](Self::next_timer).
    ///
    /// "Ready" includes a message from another thread that turns out to
    /// carry no work (a stale wake, say); the next driving call then takes
    /// it and returns without sleeping, so trusting this never blocks.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::{Duration, Instant};
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// assert_eq!(event_loop.next_deadline(), None, "only a wake brings work");
    /// event_loop.call_later(Duration::from_millis(50), || ());
    /// assert!(event_loop.next_deadline().unwrap() > Instant::now());
    /// event_loop.call_soon(|| ());
    /// assert!(event_loop.next_deadline().unwrap() <= Instant::now(), "ready now");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        let ready = self.core.has_ready_work() || !self.inbox.is_empty();
        if self.core.clock().is_manual() {
            // In real time, for the host: manual time does not pass while it
            // sleeps, so only a wake (an `advance` is one) brings work.
            return ready.then(Instant::now);
        }
        if ready {
            Some(self.core.now())
        } else {
            self.core.next_timer()
        }
    }

    /// The earliest timer's deadline, in the loop's clock's time: on a
    /// manual clock, how far to `advance` for the next timer to fire
    /// (`next_deadline` is the host's real time).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let clock = looplet::Clock::manual();
    /// let event_loop = looplet::EventLoop::builder().clock(clock.clone()).build()?;
    /// event_loop.call_later(Duration::from_secs(5), || ());
    /// assert_eq!(event_loop.next_timer(), Some(clock.now() + Duration::from_secs(5)));
    /// assert_eq!(event_loop.next_deadline(), None, "for the host: only a wake brings work");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn next_timer(&self) -> Option<Instant> {
        self.core.next_timer()
    }

    /// How long a host may sleep before it must drive the loop again:
    /// [`next_deadline`](Self::next_deadline) as a timeout, `Some(ZERO)` when
    /// work is ready, `None` when only a wake (the loop's fd, the wake hook)
    /// will bring work. It is rounded *up* to whole milliseconds, the unit of
    /// `poll(2)`, `epoll_wait` and most GUI toolkits: a host that rounded a
    /// 0.3 ms remainder down would wake at once and spin until the timer
    /// is due.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let _tick = event_loop.call_later(Duration::from_micros(300), || ());
    /// let timeout = event_loop.host_timeout().unwrap();
    /// assert!(timeout >= Duration::from_micros(300));
    /// assert_eq!(timeout.subsec_nanos() % 1_000_000, 0, "whole milliseconds");
    /// // A host would now sleep `timeout.as_millis()` in its own poller.
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn host_timeout(&self) -> Option<Duration> {
        if self.core.clock().is_manual() {
            // Manual time does not pass while the host sleeps: no timer can
            // become due then, only a wake (an `advance` is one) brings work.
            let ready = self.core.has_ready_work() || !self.inbox.is_empty();
            return ready.then_some(Duration::ZERO);
        }
        host_timeout(self.next_deadline(), self.core.now())
    }

    // ----- driving the loop -------------------------------------------------

    /// Runs until [`stop`](Self::stop) (or `Handle::stop`) is called.
    ///
    /// # Panics
    /// If called from inside a running loop on this thread (nested loops);
    /// re-raises a task's panic under `PanicPolicy::Propagate`.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let handle = event_loop.handle();
    /// let _worker = event_loop.spawn(async move {
    ///     // … work …
    ///     handle.stop(); // ends run() after this turn
    /// });
    /// event_loop.run();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn run(&mut self) {
        let _driving = self.begin_driving_call();
        loop {
            self.turn_once(None, None, None);
            let stopped = self.core.take_stop_request();
            if stopped || self.core.propagation_pending() {
                break;
            }
        }
        self.return_to_host();
        self.propagate_if_requested();
    }

    /// Runs `future` to completion on this loop, running the loop's other
    /// tasks meanwhile, and returns its output. `future` need not be
    /// `'static`. A panic in it propagates to the caller. `stop()` does not
    /// end `block_on` (it waits for its future); a pending stop is kept and
    /// ends the next `run` after one turn.
    ///
    /// # Panics
    /// If called from inside a running loop on this thread (nested loops).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let name = String::from("local");
    /// // The future may borrow locals; other tasks of the loop run meanwhile.
    /// let length = event_loop.block_on(async {
    ///     let child = looplet::spawn(async { 3 });
    ///     name.len() + child.await.unwrap()
    /// });
    /// assert_eq!(length, 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let _driving = self.begin_driving_call();
        let root = Arc::new(BlockOnWaker {
            woken: AtomicBool::new(true),
            loop_id: self.core.loop_id(),
            injector: Arc::clone(self.core.injector()),
        });
        let waker = Waker::from(Arc::clone(&root));
        let mut future = pin!(future);
        loop {
            if root.woken.swap(false, Ordering::AcqRel) {
                let polled = catch(|| future.as_mut().poll(&mut Context::from_waker(&waker)));
                match polled {
                    Ok(Poll::Ready(output)) => {
                        self.return_to_host();
                        return output;
                    }
                    Ok(Poll::Pending) => {}
                    Err(payload) => {
                        self.return_to_host();
                        std::panic::resume_unwind(payload);
                    }
                }
            }
            self.turn_once(None, Some(&root), None);
            if self.core.propagation_pending() {
                self.return_to_host();
                self.propagate_if_requested();
            }
        }
    }

    /// One turn: takes what is ready; if nothing is, waits up to `timeout`
    /// (`None`: until woken or the next timer) for something, then runs it.
    ///
    /// A pending stop request makes it skip the wait; it is consumed, and
    /// the tick says `stopped`. `Some(Duration::MAX)` is the same as `None`.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// event_loop.call_soon(|| ());
    /// let tick = event_loop.turn(Some(Duration::from_millis(16)));
    /// assert_eq!(tick.callbacks, 1, "work was ready: no wait");
    /// let tick = event_loop.turn(Some(Duration::ZERO)); // a poll that never blocks
    /// assert!(tick.is_idle());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn turn(&mut self, timeout: Option<Duration>) -> Tick {
        let _driving = self.begin_driving_call();
        let mut tick = self.turn_once(timeout, None, None);
        tick.stopped = self.core.take_stop_request();
        self.return_to_host();
        tick.next_deadline = self.next_deadline();
        self.propagate_if_requested();
        tick
    }

    /// Runs turns until nothing is ready; never blocks. (A task that always
    /// wakes itself keeps this going: frame-driven hosts use [`run_for`](Self::run_for).)
    /// A stop request ends it after the current turn (and is consumed).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let chain = event_loop.spawn(async {
    ///     looplet::spawn(async { 1 }).await.unwrap() + 1
    /// });
    /// let tick = event_loop.run_until_stalled(); // both tasks, over several turns
    /// assert!(tick.turns >= 2 && chain.is_finished());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn run_until_stalled(&mut self) -> Tick {
        self.run_while(None)
    }

    /// Like [`run_until_stalled`](Self::run_until_stalled), but returns once
    /// `budget` is spent: one frame's worth of work. The budget is checked
    /// after every task poll and every callback, inside a turn too, so only
    /// a single poll or callback that itself runs long can make it late.
    /// What did not fit stays queued, in order, for the next call. Each call
    /// runs at least one ready poll or callback, so even a zero budget makes
    /// progress. Wall-clock time: the budget is the host's, not the loop's.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// for _ in 0..10_000 {
    ///     event_loop.call_soon(|| std::hint::black_box(()));
    /// }
    /// // One frame's worth: what does not fit runs next call, in order.
    /// let mut frames = 0;
    /// loop {
    ///     frames += 1;
    ///     if event_loop.run_for(Duration::from_micros(200)).is_idle() {
    ///         break;
    ///     }
    /// }
    /// assert_eq!(event_loop.metrics().callbacks_run, 10_000);
    /// # let _ = frames;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn run_for(&mut self, budget: Duration) -> Tick {
        self.run_while(Some(deadline_after(Instant::now(), budget)))
    }

    #[track_caller]
    fn run_while(&mut self, until: Option<Instant>) -> Tick {
        let _driving = self.begin_driving_call();
        let mut tick = Tick::default();
        loop {
            let this = self.turn_once(Some(Duration::ZERO), None, until);
            tick.add(this);
            if self.core.take_stop_request() {
                tick.stopped = true;
                break;
            }
            if self.core.propagation_pending() {
                break;
            }
            // Stalled: this turn found nothing, and nothing arrived since.
            // (With an auto-advancing clock, only once no timer is left to
            // jump to: these calls never sleep, so they jump here.)
            let stalled = this.is_idle()
                && !self.core.has_ready_work()
                && self.inbox.is_empty()
                && !self.auto_advance();
            // Out of time, but never before the call ran something that was
            // ready: a turn that met only stale ids (the rest of a snapshot
            // whose tasks were aborted since) has spent nothing.
            let out_of_time = until.is_some_and(|end| Instant::now() >= end)
                && !(tick.is_idle() && self.core.has_ready_work());
            if stalled || out_of_time {
                break;
            }
        }
        self.return_to_host();
        tick.next_deadline = self.next_deadline();
        self.propagate_if_requested();
        tick
    }

    #[track_caller]
    fn begin_driving_call(&mut self) -> context::CurrentLoopGuard {
        let entered = context::enter(&self.core);
        let timer_fired = self
            .precise_timer
            .armed_for()
            .is_some_and(|at| at <= Instant::now());
        if self.inbox.woke_up() || timer_fired || self.core.io_sources() > 0 {
            // Someone wrote the wake fd, the precise timer fired, or a
            // socket may be ready, while we were away. Take those events
            // now: host-driven calls may never sleep in `epoll_wait`, and a
            // host polling our fd for readability would otherwise see it
            // readable forever and spin.
            self.poll_events(Some(Duration::ZERO));
        }
        entered
    }

    /// The loop is about to stop running: from now on, producers must wake
    /// it, and its fd becomes readable at its next timer deadline (or when
    /// a socket turns ready).
    fn return_to_host(&mut self) {
        if self.core.io_sources() > 0 {
            // Take the sockets' pending events (a fresh registration's, say)
            // so the fd is quiet for the host unless there is work; a task
            // they make ready counts as work pending just below.
            self.poll_events(Some(Duration::ZERO));
        }
        self.inbox.return_to_host(self.core.has_ready_work());
        if !self.core.clock().is_manual() {
            if let Some(deadline) = self.core.next_timer() {
                self.precise_timer.arm(deadline);
            }
        }
    }

    /// Re-raises a panic the `Propagate` policy recorded. The caller has
    /// handed the loop back to the host already (exactly once: a second
    /// hand-back would claim a second wake for the same one).
    fn propagate_if_requested(&self) {
        let message = self.core.take_propagated_panic();
        if let Some(message) = message {
            std::panic::resume_unwind(Box::new(message));
        }
    }

    /// One iteration (see the module docs). `max_wait`: the longest it may
    /// sleep (`Some(ZERO)`: never). `root`: the `block_on` future's waker.
    /// `until`: `run_for`'s budget, checked after each poll and callback.
    fn turn_once(
        &mut self,
        max_wait: Option<Duration>,
        root: Option<&BlockOnWaker>,
        until: Option<Instant>,
    ) -> Tick {
        self.core.count_turn();
        self.poll_io_if_due();
        let took_messages = self.drain_injector();
        self.core.fire_timers();

        let root_ready = root.is_some_and(|r| r.woken.load(Ordering::Acquire));
        // A pending stop ends `run` (and a host's turn) without sleeping;
        // `block_on` ignores it and waits for its future as usual.
        let stopping = self.core.stop_requested() && root.is_none();
        // The snapshot: what is ready at this moment (or what is left of a
        // snapshot that `run_for`'s budget cut short) runs this turn.
        let (mut callbacks, mut tasks) = match self.rest_of_snapshot.take() {
            Some(rest) => rest,
            None => self.core.ready_counts(),
        };
        // A turn that took messages does not sleep even if they carried no
        // work (a stale wake, a panic report): `next_deadline` counted them
        // as work, so a host that trusted it must not be blocked.
        let idle = callbacks == 0 && tasks == 0 && !root_ready && !stopping && !took_messages;
        if idle && max_wait != Some(Duration::ZERO) {
            self.sleep(max_wait);
            self.drain_injector();
            self.core.fire_timers();
            (callbacks, tasks) = self.core.ready_counts();
        }

        let (callbacks_run, callbacks_left) = self.core.run_callbacks(callbacks, until);
        let (polls, tasks_left) = match (callbacks_left, until) {
            (0, None) => (self.core.run_tasks(tasks), 0),
            (0, Some(end)) => self.core.run_tasks_until(tasks, end),
            _ => (0, tasks), // the budget ran out among the callbacks
        };
        if callbacks_left > 0 || tasks_left > 0 {
            // Cut short by the budget: the next turn resumes this snapshot,
            // so what did not fit runs first next call, in order.
            self.rest_of_snapshot = Some((callbacks_left, tasks_left));
        }
        Tick {
            turns: 1,
            polls,
            callbacks: callbacks_run,
            next_deadline: None,
            stopped: false,
        }
    }

    /// Waits up to `timeout` in `epoll_wait` and takes what it reports:
    /// the wake fd's event (the inbox is drained by the caller), the
    /// precise timer's (the timer is spent; until its event is seen, a
    /// passed deadline keeps the next driving call polling once, so the fd
    /// never stays readable for a host), and the sockets' readiness, which
    /// wakes the tasks waiting for it.
    fn poll_events(&mut self, timeout: Option<Duration>) {
        // EINTR and friends: treat as a spurious wakeup; the caller re-checks.
        let _ = self.poll.poll(&mut self.events, timeout);
        self.turns_without_io = 0;
        if self.events.iter().any(|event| event.token() == TIMER_TOKEN) {
            self.precise_timer.fired();
        }
        if self.core.io_sources() > 0 {
            let sources = self.events.iter().filter_map(|event| {
                let token = event.token();
                (token != WAKE_TOKEN && token != TIMER_TOKEN).then(|| (token, Readiness::of(event)))
            });
            self.core.dispatch_io(sources);
        }
    }

    /// A manual clock with auto-advance jumps to the next timer's deadline
    /// when the loop has nothing else to wait for. Returns whether it did.
    fn auto_advance(&self) -> bool {
        let clock = self.core.clock();
        clock.is_auto_advancing()
            && self.may_jump_the_clock()
            && self.core.next_timer().is_some_and(|at| clock.jump_to(at))
    }

    /// Auto-advance may jump only when the loop has nothing to wait for
    /// but timers: no message pending, no blocking job running or queued
    /// (its result is real time away).
    fn may_jump_the_clock(&self) -> bool {
        let pool = self.core.blocking_pool().stats();
        self.inbox.is_empty() && pool.threads_busy == 0 && pool.jobs_queued == 0
    }

    /// Step 0: a loop that does not sleep still looks at its sockets every
    /// `io_interval` turns, so a busy loop never starves them. A loop with
    /// no socket skips this with one test.
    #[inline]
    fn poll_io_if_due(&mut self) {
        if self.core.io_sources() == 0 {
            return;
        }
        self.turns_without_io += 1;
        if self.turns_without_io >= self.io_interval {
            self.poll_events(Some(Duration::ZERO));
        }
    }

    /// Step 1: moves up to [`MAX_MESSAGES_PER_TURN`] messages from other threads
    /// onto the local queues. Returns whether it took any.
    #[inline]
    fn drain_injector(&mut self) -> bool {
        // Most turns find the injector empty. `is_empty` is two plain loads;
        // `try_recv` on an empty queue would also pay a full memory fence.
        // A message that lands just after this check is not lost: it is
        // taken next turn, and the loop never sleeps without re-checking
        // (`prepare_to_sleep`).
        if self.inbox.is_empty() {
            return false;
        }
        self.take_messages();
        true
    }

    /// Moves up to [`MAX_MESSAGES_PER_TURN`] waiting messages onto the local queues.
    fn take_messages(&mut self) {
        for _ in 0..MAX_MESSAGES_PER_TURN {
            let Some(message) = self.inbox.try_recv() else {
                break;
            };
            self.core.receive(message);
        }
    }

    /// Step 3: sleeps in `epoll_wait` until woken, the next timer, or `max_wait`.
    fn sleep(&mut self, max_wait: Option<Duration>) {
        let timer = if self.core.clock().is_manual() {
            if self.auto_advance() {
                return; // the caller fires what is due now
            }
            // Manual time does not pass while the loop sleeps: only a
            // wake (an `advance` is one) can make a timer due.
            None
        } else {
            self.core.next_timer()
        };
        // Wake at the earlier of the next timer and the caller's limit, as
        // an instant: the timer's own deadline, so that sleeping again for
        // the same timer finds the precise timer armed already (no syscall).
        let now = Instant::now();
        let wake_at = match (max_wait.map(|wait| deadline_after(now, wait)), timer) {
            (Some(limit), Some(timer)) => Some(limit.min(timer)),
            (limit, timer) => limit.or(timer),
        };
        let timeout = wake_at.map(|at| at.saturating_duration_since(now));
        if timeout == Some(Duration::ZERO) || !self.inbox.prepare_to_sleep() {
            return; // a timer is due, or a message slipped in: do not sleep
        }
        // `epoll_wait` counts whole milliseconds: let the timerfd end the
        // sleep on time, with the millisecond timeout only as a backstop.
        let poll_timeout = match wake_at {
            Some(at) if self.precise_timer.arm(at) => {
                timeout.map(|t| t.saturating_add(TIMER_BACKSTOP))
            }
            _ => timeout,
        };
        self.core.count_sleep();
        // EINTR and friends: treat as a spurious wakeup; the caller re-checks.
        self.poll_events(poll_timeout);
        self.inbox.woke_up();
    }
}

/// The waker of `block_on`'s root future: a flag, plus an injector message
/// when woken from another thread (to interrupt `epoll_wait`).
struct BlockOnWaker {
    woken: AtomicBool,
    loop_id: u64,
    injector: Arc<looplet_injector::Injector<Message>>,
}

impl Wake for BlockOnWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.woken.swap(true, Ordering::AcqRel) {
            return;
        }
        let loop_is_current = context::try_current().is_some_and(|c| c.loop_id() == self.loop_id);
        if !loop_is_current {
            let _ = self.injector.push(Message::WakeBlockOn);
        }
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        // The teardown runs with this loop as the current one (unless another
        // is), so that destructors that talk to it (`Sleep`) reach it.
        let (inbox, core) = (&self.inbox, &self.core);
        let discard_queued = || {
            while let Some(message) = inbox.try_recv() {
                match message {
                    // A panic sent back for the hook is still reported.
                    Message::Unhandled(unhandled) => {
                        core.report_unhandled(&unhandled.what, unhandled.payload)
                    }
                    // Dropping a Spawn message drops its completer, which
                    // resolves the RemoteHandle `LoopClosed`; a panic in the
                    // `Drop` of the user's values is reported, never raised.
                    other => {
                        if let Err(payload) = other.discard() {
                            core.report_unhandled("a submission dropped unrun", payload);
                        }
                    }
                }
            }
        };
        context::as_current_if_none(core, || {
            // 0. The blocking pool: closed to new jobs (a destructor below
            //    may try), queued jobs refused, running ones cancelled, so
            //    that no job starts while the tasks are dropped.
            let blocking = core
                .blocking_pool()
                .begin_shutdown(true, || JoinError::LoopClosed);
            // 1. Queued submissions.
            discard_queued();
            // 2. Tasks, callbacks, timers (remote tasks resolve `LoopClosed`
            //    too; a dropped task's BlockingHandle cancels its job).
            core.shutdown();
            // 3. Wait a bounded time for the jobs that were running, report.
            let report = core
                .blocking_pool()
                .finish_shutdown(blocking, self.blocking_shutdown_timeout);
            let _ = catch(|| (self.blocking_report_hook)(&report));
            // 4. Anything pushed meanwhile (a job's panic report, say).
            discard_queued();
        });
        // Then the `inbox` field is dropped, which closes the door: crossbeam
        // drops whatever slipped in since step 3, and later pushes are
        // refused and resolved by their senders.
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tasks, ready, timers) = self.core.sizes();
        f.debug_struct("EventLoop")
            .field("name", &self.name)
            .field("tasks", &tasks)
            .field("ready", &ready)
            .field("timers", &timers)
            .finish_non_exhaustive()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for EventLoop {
    /// The loop's `epoll` fd, borrowed (see [`AsRawFd`](std::os::fd::AsRawFd)).
    /// A host poller that must *own* its sources (calloop's `Generic`)
    /// takes a duplicate: `event_loop.as_fd().try_clone_to_owned()`, which
    /// names the same epoll instance.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::os::fd::AsFd;
    /// let event_loop = looplet::EventLoop::new()?;
    /// let owned = event_loop.as_fd().try_clone_to_owned()?; // for calloop::generic::Generic
    /// # drop(owned);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.poll.registry().as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for EventLoop {
    /// The loop's `epoll` fd: readable whenever the loop has been woken
    /// (a remote submission or wake arrived) and, on Linux, at its next
    /// timer deadline (its precise timer is armed when a driving call
    /// returns). Register it with a host's poller (GTK, calloop, …) and call
    /// `turn`/`run_until_stalled` when it is readable; it is quiet again
    /// after that call.
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.poll.as_raw_fd()
    }
}

/// Runs `future` to completion on a fresh loop and returns its output: the
/// one-liner for `main` (like `asyncio.run`). The loop is dropped before
/// this returns, so tasks the future spawned and did not await are dropped
/// with it (their handles resolve `LoopClosed`), and blocking jobs still
/// running are cancelled and waited for, up to
/// `Builder::DEFAULT_BLOCKING_SHUTDOWN_TIMEOUT` (1 s), then reported on
/// stderr. For another timeout, build the loop with
/// `EventLoop::builder().blocking_shutdown_timeout(..)` and `block_on`.
///
/// ```
/// # use looplet_executor as looplet;
/// let answer = looplet::run(async {
///     let child = looplet::spawn(async { 6 * 7 });
///     child.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
/// If the loop cannot be created (the process is out of file descriptors),
/// if called inside a running loop (loops do not nest: `.await` the future
/// there instead), and with the future's own panic.
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let mut event_loop = EventLoop::new()
        .unwrap_or_else(|error| panic!("looplet::run: cannot create an event loop: {error}"));
    event_loop.block_on(future)
}
