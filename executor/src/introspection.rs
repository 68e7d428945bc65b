//! What the loop can tell about its tasks while it runs: a report for each
//! slow poll, and a list of live tasks for a debug overlay.
//!
//! A single-threaded loop has one way to go wrong that no other runtime
//! shape has to the same degree: one task that computes for 50 ms between
//! two `.await`s freezes every other task, every timer and every frame for
//! those 50 ms. The loop cannot prevent it, but it can *name* it the moment
//! it happens: with `Builder::slow_poll_threshold`, every poll is timed and
//! one that takes longer is reported ([`SlowPoll`]: which task, how long,
//! where it was spawned). With `Builder::track_tasks`, the loop also keeps,
//! per task, its poll count and the time of its last poll, and
//! `EventLoop::tasks` lists them ([`TaskInfo`]).
//!
//! Both are off by default and cost nothing then: the records live in a
//! side table of the task slab that stays empty, and a poll is timed only
//! when one of them is on.

use looplet_waker::TaskId;
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

/// A poll that took longer than `Builder::slow_poll_threshold`: what the
/// `on_slow_poll` hook receives.
///
/// ```
/// # use looplet_executor as looplet;
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let mut event_loop = looplet::EventLoop::builder()
///     .slow_poll_threshold(Duration::from_millis(5))
///     .on_slow_poll(move |slow| log.lock().unwrap().push(slow.to_string()))
///     .build()?;
/// let hog = event_loop.spawn_named("physics", async {
///     std::thread::sleep(Duration::from_millis(10)); // blocks the loop: a bug
/// });
/// event_loop.block_on(hog).unwrap();
/// let seen = seen.lock().unwrap();
/// assert!(seen[0].starts_with("physics (spawned at "), "{}", seen[0]);
/// assert_eq!(event_loop.metrics().slow_polls, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SlowPoll<'a> {
    /// The task's name, or `task #N`.
    pub task: &'a str,
    /// The task's id.
    pub id: TaskId,
    /// How long the poll ran.
    pub duration: Duration,
    /// Where the task was spawned; `None` for a task submitted from another
    /// thread (`Handle::spawn`).
    pub spawned_at: Option<&'static Location<'static>>,
}

impl fmt::Display for SlowPoll<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.task)?;
        if let Some(at) = self.spawned_at {
            write!(f, " (spawned at {at})")?;
        }
        write!(f, " ran {:.1?} in one poll", self.duration)
    }
}

/// The hook type of [`Builder::on_slow_poll`](crate::Builder::on_slow_poll).
pub type SlowPollHook = Box<dyn Fn(&SlowPoll<'_>)>;

/// The default slow-poll hook: one line on stderr, like asyncio's debug
/// mode ("Executing <Task> took 0.2 seconds").
pub(crate) fn print_slow_poll(slow: &SlowPoll<'_>) {
    eprintln!("looplet: {slow}: nothing else ran meanwhile");
}

/// Where a task is in its life, as [`TaskInfo`] shows it (between driving
/// calls, where the host reads it: no task is being polled then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Ready: it runs at the next turn.
    Queued,
    /// Waiting for a wake (a timer, a message, another task).
    Waiting,
    /// Done; its outcome waits for its `JoinHandle` to collect it.
    Finished,
}

/// One live task, from [`EventLoop::tasks`](crate::EventLoop::tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// Its id.
    pub id: TaskId,
    /// Its name, if it was spawned with one.
    pub name: Option<String>,
    /// Queued, waiting or finished (a finished task is listed until its
    /// `JoinHandle` collects the outcome).
    pub state: TaskState,
    /// How many times it was polled (0 unless `Builder::track_tasks` is on).
    pub polls: u64,
    /// How long ago its last poll ended (`None` before its first poll, or
    /// unless `Builder::track_tasks` is on). A task waiting for a long time
    /// is not necessarily stuck; one that is `Queued` for long is starved.
    pub since_last_poll: Option<Duration>,
    /// Where it was spawned. `None` unless `Builder::track_tasks` or
    /// `slow_poll_threshold` is on, and always `None` for a task from
    /// another thread.
    pub spawned_at: Option<&'static Location<'static>>,
}

/// What the slab keeps per task while tracking is on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskRecord {
    pub spawned_at: Option<&'static Location<'static>>,
    pub polls: u64,
    pub last_poll: Option<Instant>,
}
