//! Configuring a loop: `EventLoop::builder()…build()`.

use crate::blocking::report::{print_still_running, BlockingReport, BlockingReportHook};
use crate::clock::Clock;
use crate::event_loop::EventLoop;
use crate::introspection::{print_slow_poll, SlowPoll, SlowPollHook};
use crate::panic::{print_unhandled, PanicHook, PanicPolicy, UnhandledPanic};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Builds an [`EventLoop`] with non-default settings.
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::{EventLoop, PanicPolicy};
/// let event_loop = EventLoop::builder()
///     .name("ui")
///     .panic_policy(PanicPolicy::StopLoop)
///     .on_unhandled_panic(|p| eprintln!("[ui] {} died: {}", p.task, p.message))
///     .build()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a builder does nothing until .build() is called"]
pub struct Builder {
    pub(crate) name: Option<String>,
    pub(crate) panic_policy: PanicPolicy,
    pub(crate) panic_hook: PanicHook,
    pub(crate) wake_hook: Option<Arc<dyn Fn() + Send + Sync>>,
    pub(crate) blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) blocking_shutdown_timeout: Duration,
    pub(crate) blocking_report_hook: BlockingReportHook,
    pub(crate) clock: Clock,
    pub(crate) slow_poll_threshold: Option<Duration>,
    pub(crate) slow_poll_hook: SlowPollHook,
    pub(crate) track_tasks: bool,
    pub(crate) io_interval: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            name: None,
            panic_policy: PanicPolicy::Continue,
            panic_hook: Box::new(print_unhandled),
            wake_hook: None,
            blocking_threads: Builder::DEFAULT_BLOCKING_THREADS,
            blocking_keep_alive: Builder::DEFAULT_BLOCKING_KEEP_ALIVE,
            blocking_shutdown_timeout: Builder::DEFAULT_BLOCKING_SHUTDOWN_TIMEOUT,
            blocking_report_hook: Box::new(print_still_running),
            clock: Clock::system(),
            slow_poll_threshold: None,
            slow_poll_hook: Box::new(print_slow_poll),
            track_tasks: false,
            io_interval: Builder::DEFAULT_IO_INTERVAL,
        }
    }
}

impl Builder {
    /// How many blocking pool threads may run at once by default: 64.
    pub const DEFAULT_BLOCKING_THREADS: usize = 64;
    /// How long an idle blocking pool thread lives by default: 10 s.
    pub const DEFAULT_BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);
    /// How long dropping the loop waits for cancelled blocking jobs by
    /// default: 1 s.
    pub const DEFAULT_BLOCKING_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

    /// How often a loop that never sleeps looks at its sockets by default:
    /// every 8 turns.
    pub const DEFAULT_IO_INTERVAL: u32 = 8;

    /// A builder with the defaults.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::Builder::new().build()?; // the same as EventLoop::new()
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the loop (shown in `Debug` output).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::builder().name("audio").build()?;
    /// assert!(format!("{event_loop:?}").contains("audio"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What to do when a task panics; see [`PanicPolicy`].
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use looplet::PanicPolicy;
    /// let mut event_loop = looplet::EventLoop::builder()
    ///     .panic_policy(PanicPolicy::Propagate)
    ///     .build()?;
    /// let _task = event_loop.spawn(async { panic!("bug") });
    /// let raised = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| event_loop.run()));
    /// assert!(raised.is_err(), "the panic came out of run()");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn panic_policy(mut self, policy: PanicPolicy) -> Self {
        self.panic_policy = policy;
        self
    }

    /// Called on the loop thread for a panic nobody will see otherwise: a
    /// detached task, a callback, a `Drop` run by the loop. The default
    /// prints one line to stderr. A panic that turns up after the loop is
    /// gone (a `RemoteHandle` holding one, dropped unread later) has no hook
    /// to go to and is printed to stderr.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::builder()
    ///     .on_unhandled_panic(|p| eprintln!("[game] {} crashed: {}", p.task, p.message))
    ///     .build()?;
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_unhandled_panic(mut self, hook: impl Fn(&UnhandledPanic<'_>) + 'static) -> Self {
        self.panic_hook = Box::new(hook);
        self
    }

    /// Called whenever the loop must be woken while it sleeps or is between
    /// host-driven calls, on the thread that issues the wake (the submitting
    /// thread, or the loop thread handing back with work pending): how a GUI
    /// or game loop learns that `turn`/`run_for` has work.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let wakes = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&wakes);
    /// // A GUI would post an event to its own loop here (winit's EventLoopProxy, say).
    /// let event_loop = looplet::EventLoop::builder()
    ///     .wake_hook(move || { counter.fetch_add(1, Ordering::Relaxed); })
    ///     .build()?;
    /// event_loop.handle().call_soon_threadsafe(|| ()).unwrap();
    /// assert_eq!(wakes.load(Ordering::Relaxed), 1, "the loop was not running: woken");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wake_hook(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.wake_hook = Some(Arc::new(hook));
        self
    }

    /// The most blocking pool threads that run at once
    /// ([`DEFAULT_BLOCKING_THREADS`](Self::DEFAULT_BLOCKING_THREADS) unless
    /// set). Threads start when jobs need them; jobs beyond the cap wait in
    /// a FIFO queue for the next free thread.
    ///
    /// # Panics
    /// If `threads` is 0: no job could ever run.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::builder().blocking_threads(2).build()?;
    /// let jobs: Vec<_> = (0..8).map(|i| event_loop.spawn_blocking(move |_| i)).collect();
    /// assert!(event_loop.metrics().blocking_threads_alive <= 2);
    /// for (i, job) in jobs.into_iter().enumerate() {
    ///     assert_eq!(event_loop.block_on(job).unwrap(), i);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn blocking_threads(mut self, threads: usize) -> Self {
        assert!(
            threads > 0,
            "Builder::blocking_threads(0): a blocking pool needs at least one thread"
        );
        self.blocking_threads = threads;
        self
    }

    /// How long an idle blocking pool thread waits for another job before
    /// it exits ([`DEFAULT_BLOCKING_KEEP_ALIVE`](Self::DEFAULT_BLOCKING_KEEP_ALIVE)
    /// unless set).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let event_loop = looplet::EventLoop::builder()
    ///     .blocking_keep_alive(Duration::from_secs(60)) // bursts of file I/O: keep threads warm
    ///     .build()?;
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// How long dropping the loop waits for its blocking jobs, after
    /// cancelling them all, before it reports the ones still running and
    /// goes on ([`DEFAULT_BLOCKING_SHUTDOWN_TIMEOUT`](Self::DEFAULT_BLOCKING_SHUTDOWN_TIMEOUT)
    /// unless set). `EventLoop::shutdown_blocking` takes its own timeout.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let event_loop = looplet::EventLoop::builder()
    ///     .blocking_shutdown_timeout(Duration::from_millis(200)) // a game's exit
    ///     .build()?;
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.blocking_shutdown_timeout = timeout;
        self
    }

    /// Called with the [`BlockingReport`] when the loop is dropped (on the
    /// loop thread). The default prints one stderr line per job still
    /// running and nothing when all ended.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::sync::{Arc, Mutex};
    /// let reports = Arc::new(Mutex::new(Vec::new()));
    /// let log = Arc::clone(&reports);
    /// let event_loop = looplet::EventLoop::builder()
    ///     .on_blocking_report(move |report| log.lock().unwrap().push(report.to_string()))
    ///     .build()?;
    /// drop(event_loop);
    /// assert_eq!(reports.lock().unwrap().len(), 1, "one report, at the drop");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_blocking_report(mut self, hook: impl Fn(&BlockingReport) + 'static) -> Self {
        self.blocking_report_hook = Box::new(hook);
        self
    }

    /// The clock the loop's timers follow (the system's unless set). A
    /// [`Clock::manual`] one moves only when advanced: deterministic timers
    /// for tests and frame-locked games (see [`Clock`]).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let clock = looplet::Clock::manual();
    /// let mut event_loop = looplet::EventLoop::builder().clock(clock.clone()).build()?;
    /// let deadline = clock.now() + Duration::from_secs(5);
    /// event_loop.call_later(Duration::from_secs(5), || ());
    /// assert_eq!(event_loop.next_timer(), Some(deadline), "in the clock's time");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Times every task poll and reports each one that takes `threshold` or
    /// longer to the [`on_slow_poll`](Self::on_slow_poll) hook (default: one
    /// stderr line), counted in `Metrics::slow_polls`: jank detection, the
    /// task named with its spawn site. Off by default (then no poll is
    /// timed).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let event_loop = looplet::EventLoop::builder()
    ///     .slow_poll_threshold(Duration::from_millis(4)) // a quarter of a 60 Hz frame
    ///     .build()?;
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Self {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Called on the loop thread, right after the poll, for each poll at or
    /// over [`slow_poll_threshold`](Self::slow_poll_threshold) (see
    /// [`SlowPoll`] for an example).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let event_loop = looplet::EventLoop::builder()
    ///     .slow_poll_threshold(Duration::from_millis(4))
    ///     .on_slow_poll(|slow| eprintln!("jank: {slow}"))
    ///     .build()?;
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_slow_poll(mut self, hook: impl Fn(&SlowPoll<'_>) + 'static) -> Self {
        self.slow_poll_hook = Box::new(hook);
        self
    }

    /// Keeps, per task, its poll count, the time of its last poll and its
    /// spawn site, for [`EventLoop::tasks`]. Off by default: it costs a
    /// clock read and a table update per poll.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::builder().track_tasks(true).build()?;
    /// let task = event_loop.spawn(async { looplet::yield_now().await });
    /// event_loop.run_until_stalled();
    /// assert!(task.is_finished());
    /// assert_eq!(event_loop.tasks()[0].polls, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn track_tasks(mut self, on: bool) -> Self {
        self.track_tasks = on;
        self
    }

    /// A loop that is never idle (a task always ready) never sleeps in
    /// `epoll_wait`, where it learns that a socket is ready; so it also
    /// polls for I/O without waiting every `turns` turns
    /// ([`DEFAULT_IO_INTERVAL`](Self::DEFAULT_IO_INTERVAL) unless set; 1 means
    /// every turn). Only a loop with sockets pays for it.
    ///
    /// # Panics
    /// If `turns` is 0.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::builder().io_interval(1).build()?; // a server: I/O first
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn io_interval(mut self, turns: u32) -> Self {
        assert!(
            turns > 0,
            "Builder::io_interval(0): the loop must look at its sockets"
        );
        self.io_interval = turns;
        self
    }

    /// Creates the loop (opens its `epoll` and `eventfd`).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::builder().build()?;
    /// event_loop.run_until_stalled();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<EventLoop> {
        EventLoop::from_builder(self)
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("panic_policy", &self.panic_policy)
            .field("wake_hook", &self.wake_hook.is_some())
            .field("blocking_threads", &self.blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("blocking_shutdown_timeout", &self.blocking_shutdown_timeout)
            .field("clock", &self.clock)
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("track_tasks", &self.track_tasks)
            .finish_non_exhaustive()
    }
}
